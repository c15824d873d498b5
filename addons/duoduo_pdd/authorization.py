"""多多进宝 authorization (OAuth) of the 推手 accounts the app acts for.

Staff open the authorize link (jinbao.pinduoduo.com/open.html) with a
signed state; PDD sends the browser back to /pdd/oauth/callback/ with a code
that create_from_code exchanges (pdd.pop.auth.token.create). The access token
lasts a day and is refreshed from cron before it expires
(pdd.pop.auth.token.refresh); the refresh token itself lapses after about a
month (seed 002: "一个月后需要重新授权") and nothing can renew it but a new
authorization, so staff are warned days before, and at once when a refresh
fails: a lapsed authorization silently breaks links. Tokens are never shown."""
import datetime as dt
import hashlib
import hmac
import logging
import math
import secrets
import time
from urllib.parse import urlencode

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Unique, fields
from trytond.modules.duoduo_base.notification import notify_staff
from trytond.modules.duoduo_base.search import rec_name_domain
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.tools import timezone as tz
from trytond.transaction import without_check_access
from trytond.wizard import StateAction, Wizard

from .configuration import config_value
from .exceptions import (
    AuthorizationSetupError, AuthorizationStateError, PddError)
from .units import from_timestamp

logger = logging.getLogger(__name__)

DEFAULT_AUTHORIZE_URL = 'https://jinbao.pinduoduo.com/open.html'
# the signed state of the authorize link is accepted this long (PDD's code
# itself lives 10 minutes)
STATE_TTL = 10 * 60
STATE_PURPOSE = b'duoduo-pdd-oauth'
# access tokens are refreshed when less than this is left
REFRESH_MARGIN = dt.timedelta(hours=6)
# one expiry warning per authorization a day, however often cron runs
WARN_INTERVAL = dt.timedelta(hours=20)



def token_values(answer, now):
    "The stored values of a token.create/refresh answer"
    values = {}
    for name in ['access_token', 'refresh_token']:
        if answer.get(name):
            values[name] = answer[name]
    for field, at, seconds in [
            ('expires_at', 'expires_at', 'expires_in'),
            ('refresh_expires_at', 'refresh_token_expires_at',
                'refresh_token_expires_in'),
            ]:
        if answer.get(at):
            values[field] = from_timestamp(answer[at])
        elif answer.get(seconds):
            values[field] = now + dt.timedelta(seconds=int(answer[seconds]))
    scope = answer.get('scope')
    if isinstance(scope, (list, tuple)):
        values['scope'] = '\n'.join(str(s) for s in scope)
    elif scope:
        values['scope'] = str(scope)
    return values


def days_until(value, now):
    "Whole days left until value, a part of a day counting as one"
    seconds = (value - now).total_seconds()
    return max(math.ceil(seconds / 86400), 0)


def local_time(value):
    "A naive UTC datetime in the server's time zone, for messages"
    return value.replace(tzinfo=tz.UTC).astimezone(tz.SERVER).strftime(
        '%Y-%m-%d %H:%M')


class Authorization(ModelSQL, ModelView):
    "PDD Authorization"
    __name__ = 'duoduo.pdd.authorization'
    _rec_name = 'owner_name'

    owner_id = fields.Char("Owner ID", required=True, readonly=True,
        help="PDD's id of the authorizing 多多进宝 account.")
    owner_name = fields.Char("Account", readonly=True)
    # never in a view; field access denies them to every user
    access_token = fields.Char(
        "Access Token", readonly=True, loading='lazy')
    refresh_token = fields.Char(
        "Refresh Token", readonly=True, loading='lazy')
    scope = fields.Text("APIs", readonly=True)
    state = fields.Selection([
            ('active', "Active"),
            ('failed', "Refresh Failed"),
            ('expired', "Lapsed"),
            ], "State", required=True, readonly=True, sort=False)
    authorized_at = fields.DateTime("Authorized At", readonly=True)
    expires_at = fields.DateTime("Token Expires At", readonly=True,
        help="The access token lasts about a day and is refreshed before.")
    refresh_expires_at = fields.DateTime(
        "Authorization Lapses At", readonly=True,
        help="After this the account must be authorized again: refreshing "
        "cannot extend it.")
    last_refresh_at = fields.DateTime("Last Refresh", readonly=True)
    last_error = fields.Text("Last Error", readonly=True)
    last_error_at = fields.DateTime("Last Error At", readonly=True)
    warned_at = fields.DateTime("Staff Warned At", readonly=True)
    expiry = fields.Function(fields.Selection([
                ('valid', "Valid"),
                ('expiring', "Lapsing Soon"),
                ('lapsed', "Lapsed"),
                ], "Expiry"), 'get_expiry')
    days_left = fields.Function(
        fields.Integer("Days Left"), 'get_days_left')
    authorize_link = fields.Function(
        fields.Char("Authorize Again",
            help="Open it logged in as the account to renew the "
            "authorization (valid 10 minutes)."),
        'get_authorize_link')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('owner_id_unique', Unique(t, t.owner_id),
                'duoduo_pdd.msg_authorization_owner_unique'),
            ]
        cls._order = [('refresh_expires_at', 'ASC NULLS FIRST'),
            ('id', 'ASC')]
        cls._buttons.update({
                'refresh': {
                    'icon': 'tryton-refresh',
                    'invisible': Eval('state') == 'expired',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def view_attributes(cls):
        # PYSON in a view is set here, encoded: sao cannot read Python text
        lapsing = If(Eval('expiry') == 'lapsed', 'danger',
            If(Eval('expiry') == 'expiring', 'warning', ''))
        return super().view_attributes() + [
            ('/tree/field[@name="refresh_expires_at"]', 'visual', lapsing,
                ['expiry']),
            ('/tree/field[@name="days_left"]', 'visual', lapsing, ['expiry']),
            ('/tree/field[@name="state"]', 'visual',
                If(Eval('state') != 'active', 'danger', ''), ['state']),
            ]

    @classmethod
    def default_state(cls):
        return 'active'

    def get_rec_name(self, name):
        return self.owner_name or self.owner_id

    @classmethod
    def search_rec_name(cls, name, clause):
        return rec_name_domain(clause, ['owner_name', 'owner_id'])

    @classmethod
    def warn_days(cls):
        Configuration = Pool().get('duoduo.pdd.configuration')
        return Configuration(1).authorization_warn_days

    @classmethod
    def get_expiry(cls, authorizations, name):
        now = dt.datetime.now()
        warn = dt.timedelta(days=cls.warn_days())
        result = {}
        for authorization in authorizations:
            lapses = authorization.refresh_expires_at
            if authorization.state == 'expired' or (lapses and lapses <= now):
                result[authorization.id] = 'lapsed'
            elif authorization.state == 'failed' or (
                    lapses and lapses - now <= warn):
                result[authorization.id] = 'expiring'
            else:
                result[authorization.id] = 'valid'
        return result

    def get_days_left(self, name):
        if not self.refresh_expires_at:
            return None
        return days_until(self.refresh_expires_at, dt.datetime.now())

    def get_authorize_link(self, name):
        try:
            return self.authorize_url()
        except AuthorizationSetupError:
            return ''

    # --- the authorize link and its signed state ---

    @classmethod
    def _state_key(cls):
        Configuration = Pool().get('duoduo.configuration')
        with without_check_access():
            return Configuration(1).get_hmac_key()

    @classmethod
    def _state_mac(cls, payload):
        return hmac.new(cls._state_key(), STATE_PURPOSE + b':'
            + payload.encode('ascii'), hashlib.sha256).hexdigest()[:32]

    @classmethod
    def sign_state(cls, now=None):
        "A state for the authorize link: nonce.issued.mac, valid 10 minutes"
        issued = int(now if now is not None else time.time())
        payload = f'{secrets.token_urlsafe(9)}.{issued}'
        return f'{payload}.{cls._state_mac(payload)}'

    @classmethod
    def verify_state(cls, state, now=None):
        now = now if now is not None else time.time()
        try:
            nonce, issued, mac = (state or '').split('.')
            issued = int(issued)
            payload = f'{nonce}.{issued}'
            valid = hmac.compare_digest(mac, cls._state_mac(payload))
        except (ValueError, UnicodeEncodeError):
            valid = False
        if not valid:
            raise AuthorizationStateError(gettext(
                    'duoduo_pdd.msg_authorization_state_invalid'))
        if not (issued - 60 <= now <= issued + STATE_TTL):
            raise AuthorizationStateError(gettext(
                    'duoduo_pdd.msg_authorization_state_expired'))

    @classmethod
    def authorize_url(cls):
        "The 多多进宝 authorize page for staff to open"
        Configuration = Pool().get('duoduo.pdd.configuration')
        configuration = Configuration(1)
        client_id = configuration.setting('client_id')
        redirect_uri = configuration.setting('redirect_uri')
        if not client_id or not redirect_uri:
            raise AuthorizationSetupError(gettext(
                    'duoduo_pdd.msg_authorization_not_configured'))
        base = config_value('authorize_url', DEFAULT_AUTHORIZE_URL)
        query = urlencode({
                'response_type': 'code',
                'client_id': client_id,
                'redirect_uri': redirect_uri,
                'state': cls.sign_state(),
                'view': 'web',
                })
        return f"{base}{'&' if '?' in base else '?'}{query}"

    # --- the callback ---

    @classmethod
    def create_from_code(cls, code, state):
        """Exchange the code PDD gave the callback and store the account's
        tokens (one row per account); returns the authorization"""
        Configuration = Pool().get('duoduo.pdd.configuration')
        cls.verify_state(state)
        answer = Configuration.get_client().call(
            'pdd.pop.auth.token.create', code=code)
        owner_id = str(answer.get('owner_id') or '').strip()
        if not owner_id or not answer.get('access_token'):
            raise PddError('pdd.pop.auth.token.create',
                error_msg='no owner_id or access_token in the answer',
                request_id=answer.get('request_id'))
        now = dt.datetime.now()
        values = token_values(answer, now)
        values.update({
                'owner_name': answer.get('owner_name') or None,
                'state': 'active',
                'authorized_at': now,
                'last_error': None,
                'last_error_at': None,
                'warned_at': None,
                })
        with without_check_access():
            authorizations = cls.search([('owner_id', '=', owner_id)])
            if authorizations:
                cls.write(authorizations, values)
                authorization, = authorizations
            else:
                authorization, = cls.create([dict(values, owner_id=owner_id)])
        logger.info("PDD account %s authorized until %s", owner_id,
            values.get('refresh_expires_at'))
        return authorization

    # --- refresh and warnings ---

    @classmethod
    @ModelView.button
    def refresh(cls, authorizations):
        "Refresh the access tokens now"
        cls.refresh_now(authorizations)

    @classmethod
    @without_check_access
    def refresh_now(cls, authorizations):
        """Refresh each authorization's tokens; a failure is stored, and
        staff are notified when an authorization stops working"""
        Configuration = Pool().get('duoduo.pdd.configuration')
        client = Configuration.get_client()
        now = dt.datetime.now()
        # records of a button carry its context: read the tokens without it
        for authorization in cls.browse([a.id for a in authorizations]):
            if (authorization.refresh_expires_at
                    and authorization.refresh_expires_at <= now):
                authorization.lapse()
                continue
            try:
                answer = client.call('pdd.pop.auth.token.refresh',
                    refresh_token=authorization.refresh_token)
            except PddError as error:
                authorization.fail(error.message)
                continue
            values = token_values(answer, now)
            values.update({
                    'state': 'active',
                    'last_refresh_at': now,
                    'last_error': None,
                    'last_error_at': None,
                    })
            if answer.get('owner_name'):
                values['owner_name'] = answer['owner_name']
            cls.write([authorization], values)

    def fail(self, error):
        "A refresh failed: keep the error; warn staff when it starts failing"
        notify = self.state != 'failed'
        self.__class__.write([self], {
                'state': 'failed',
                'last_error': error,
                'last_error_at': dt.datetime.now(),
                })
        logger.warning("refreshing the PDD authorization of %s failed: %s",
            self.owner_id, error)
        if notify:
            notify_staff(
                gettext('duoduo_pdd.msg_authorization_refresh_failed_label',
                    account=self.rec_name),
                gettext('duoduo_pdd.msg_authorization_refresh_failed',
                    account=self.rec_name, error=error),
                records=[self])

    def lapse(self):
        "The authorization lapsed: nothing but a new one helps"
        if self.state == 'expired':
            return
        self.__class__.write([self], {
                'state': 'expired',
                'last_error': gettext('duoduo_pdd.msg_authorization_lapsed',
                    account=self.rec_name),
                'last_error_at': dt.datetime.now(),
                })
        notify_staff(
            gettext('duoduo_pdd.msg_authorization_lapsed_label',
                account=self.rec_name),
            gettext('duoduo_pdd.msg_authorization_lapsed',
                account=self.rec_name),
            records=[self])

    @classmethod
    def refresh_tokens(cls):
        "Cron: refresh the access tokens that expire within 6 hours"
        now = dt.datetime.now()
        due = cls.search([
                ('state', 'in', ['active', 'failed']),
                ['OR',
                    ('expires_at', '=', None),
                    ('expires_at', '<', now + REFRESH_MARGIN),
                    ],
                ])
        if due:
            cls.refresh_now(due)

    @classmethod
    def warn_expiring(cls):
        """Cron, daily: warn staff of each authorization that lapses within
        the configured days (and mark the lapsed ones)"""
        now = dt.datetime.now()
        horizon = now + dt.timedelta(days=cls.warn_days())
        for authorization in cls.search([
                    ('state', '!=', 'expired'),
                    ('refresh_expires_at', '!=', None),
                    ('refresh_expires_at', '<=', horizon),
                    ]):
            if authorization.refresh_expires_at <= now:
                authorization.lapse()
                continue
            if (authorization.warned_at
                    and now - authorization.warned_at < WARN_INTERVAL):
                continue
            days = days_until(authorization.refresh_expires_at, now)
            notify_staff(
                gettext('duoduo_pdd.msg_authorization_expiring_label',
                    account=authorization.rec_name, days=days),
                gettext('duoduo_pdd.msg_authorization_expiring',
                    account=authorization.rec_name,
                    date=local_time(authorization.refresh_expires_at),
                    days=days),
                records=[authorization])
            cls.write([authorization], {'warned_at': now})

    @classmethod
    @without_check_access
    def get_access_token(cls, owner_id=None):
        """A valid access token (of owner_id, else of any active account)
        for the pdd.ddk.oauth.* APIs; None if there is none"""
        domain = [
            ('state', '=', 'active'),
            ('expires_at', '>', dt.datetime.now()),
            ]
        if owner_id:
            domain.append(('owner_id', '=', str(owner_id)))
        authorizations = cls.search(domain,
            order=[('expires_at', 'DESC')], limit=1)
        return authorizations[0].access_token if authorizations else None


class AuthorizationAuthorize(Wizard):
    "Authorize a 多多进宝 Account"
    __name__ = 'duoduo.pdd.authorization.authorize'
    start_state = 'open_'
    open_ = StateAction('duoduo_pdd.url_authorize')

    def do_open_(self, action):
        Authorization = Pool().get('duoduo.pdd.authorization')
        action['url'] = Authorization.authorize_url()
        return action, {}
