import datetime as dt
import hashlib
import hmac
import secrets

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.pool import Pool

from .exceptions import (
    SmsCodeError, SmsRateLimitError, SmsSendError, SmsVendorThrottledError)
from .phone import mask_phone
from .sms_gateway import get_gateway
from .tools import advisory_lock, fresh_snapshot

SCENES = [
    ('login', "Login"),
    ('change_phone', "Change Phone"),
    ]
CODE_DIGITS = 6


class SmsCode(ModelSQL, ModelView):
    """SMS Verification Code

    One row per message sent: staff read it as the SMS log (the phone
    masked, never the code, which is kept only as an HMAC)."""
    __name__ = 'duoduo.sms.code'

    phone = fields.Char("Phone", required=True, readonly=True)
    phone_masked = fields.Function(
        fields.Char("Phone"), 'get_phone_masked',
        searcher='search_phone_masked')
    scene = fields.Selection(SCENES, "Scene", required=True, readonly=True)
    code_hash = fields.Char(
        "Code HMAC", required=True, readonly=True, loading='lazy')
    client_ip = fields.Char("Client Address", readonly=True)
    sent_at = fields.DateTime("Sent At", required=True, readonly=True)
    expires_at = fields.DateTime("Expires At", required=True, readonly=True)
    attempts = fields.Integer("Wrong Tries", required=True, readonly=True)
    state = fields.Selection([
            ('sent', "Sent"),
            ('used', "Used"),
            ('invalidated', "Invalidated"),
            ('failed', "Not Delivered"),
            ], "State", required=True, readonly=True)
    backend = fields.Char("Vendor", readonly=True)
    vendor_status = fields.Char("Vendor Status", readonly=True)
    vendor_message = fields.Char("Vendor Message", readonly=True)
    vendor_id = fields.Char("Vendor Message ID", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.phone, Index.Equality()),
                    (t.sent_at, Index.Range())),
                Index(t, (t.client_ip, Index.Equality()),
                    (t.sent_at, Index.Range())),
                })
        cls._order = [('sent_at', 'DESC'), ('id', 'DESC')]

    @classmethod
    def default_attempts(cls):
        return 0

    def get_phone_masked(self, name):
        return mask_phone(self.phone)

    @classmethod
    def search_phone_masked(cls, name, clause):
        return [('phone',) + tuple(clause[1:])]

    @staticmethod
    def _digest(phone, scene, code):
        Configuration = Pool().get('duoduo.configuration')
        key = Configuration(1).get_hmac_key()
        message = f'{phone}:{scene}:{code}'.encode('utf-8')
        return hmac.new(key, message, hashlib.sha256).hexdigest()

    @classmethod
    def send(cls, phone, scene, client_ip=None):
        """Send a new code to phone for scene; returns its validity in
        seconds. phone must already be normalized."""
        pool = Pool()
        Configuration = pool.get('duoduo.configuration')
        config = Configuration(1)
        now = dt.datetime.now()
        day_ago = now - dt.timedelta(days=1)
        # two requests for one phone check the limits one after the other
        # (the second in a snapshot that sees the code the first sent);
        # other phones keep flowing while a slow vendor answers
        advisory_lock(f'duoduo.sms.code:{phone}')
        with fresh_snapshot():
            last = cls.search([
                    ('phone', '=', phone),
                    ('state', '!=', 'failed'),
                    ], limit=1, order=[('sent_at', 'DESC')])
            if last and last[0].sent_at > now - dt.timedelta(
                    seconds=config.sms_resend_interval):
                wait = (last[0].sent_at - now).total_seconds() + (
                    config.sms_resend_interval)
                raise SmsRateLimitError(gettext(
                        'duoduo_base.msg_sms_resend_too_soon',
                        seconds=max(int(wait) + 1, 1)))
            # one address gets a share of a phone's codes only, so it
            # cannot use up the phone's daily limit alone
            if client_ip and cls.search_count([
                        ('phone', '=', phone),
                        ('client_ip', '=', client_ip),
                        ('sent_at', '>', day_ago),
                        ]) >= config.sms_daily_limit_phone_ip:
                raise SmsRateLimitError(gettext(
                        'duoduo_base.msg_sms_daily_limit_phone_ip'))
            # others, together, may: the phone's owner, at an address that
            # logged in to the phone before, still gets codes
            if cls.search_count([
                        ('phone', '=', phone),
                        ('sent_at', '>', day_ago),
                        ]) >= config.sms_daily_limit_phone and not (
                    cls.known_address(phone, client_ip)):
                raise SmsRateLimitError(gettext(
                        'duoduo_base.msg_sms_daily_limit_phone'))
            if client_ip and cls.search_count([
                        ('client_ip', '=', client_ip),
                        ('sent_at', '>', day_ago),
                        ]) >= config.sms_daily_limit_ip:
                raise SmsRateLimitError(gettext(
                        'duoduo_base.msg_sms_daily_limit_ip'))

        # Only the newest code of a phone and scene is valid. Written before
        # the vendor is called: a write that conflicted after it would make
        # the transaction start again and send a second SMS.
        cls.write(cls.search([
                    ('phone', '=', phone),
                    ('scene', '=', scene),
                    ('state', '=', 'sent'),
                    ]), {'state': 'invalidated'})
        code = ''.join(secrets.choice('0123456789')
            for _ in range(CODE_DIGITS))
        gateway = get_gateway()
        result = gateway.send(phone, code, scene, config.sms_code_ttl)
        cls.create([{
                    'phone': phone,
                    'scene': scene,
                    'code_hash': cls._digest(phone, scene, code),
                    'client_ip': client_ip,
                    'sent_at': now,
                    'expires_at': now + dt.timedelta(
                        seconds=config.sms_code_ttl),
                    'state': 'sent' if result.ok else 'failed',
                    'backend': gateway.name,
                    'vendor_status': result.status,
                    'vendor_message': (result.message or '')[:255],
                    'vendor_id': result.vendor_id,
                    }])
        if result.throttled:
            raise SmsVendorThrottledError(gettext(
                    'duoduo_base.msg_sms_vendor_throttled'))
        elif not result.ok:
            raise SmsSendError(gettext('duoduo_base.msg_sms_vendor_failed'))
        return config.sms_code_ttl

    @classmethod
    def known_address(cls, phone, client_ip):
        """Whether a code of phone asked from client_ip was used (a login or
        a phone change) within a member token's lifetime"""
        Configuration = Pool().get('duoduo.configuration')
        if not client_ip:
            return False
        since = dt.datetime.now() - dt.timedelta(
            days=Configuration(1).member_token_days)
        return bool(cls.search([
                    ('phone', '=', phone),
                    ('client_ip', '=', client_ip),
                    ('state', '=', 'used'),
                    ('sent_at', '>', since),
                    ], limit=1))

    @classmethod
    def check(cls, phone, scenes, code):
        """The valid code record matching code, counting a wrong try
        against the newest code (which dies after too many).

        scenes is the scene or the list of scenes whose codes are
        accepted: only the newest valid code among them is compared."""
        Configuration = Pool().get('duoduo.configuration')
        config = Configuration(1)
        now = dt.datetime.now()
        if isinstance(scenes, str):
            scenes = [scenes]
        records = cls.search([
                ('phone', '=', phone),
                ('scene', 'in', list(scenes)),
                ('state', '=', 'sent'),
                ('expires_at', '>', now),
                ], order=[('sent_at', 'DESC'), ('id', 'DESC')], limit=1)
        if not records:
            raise SmsCodeError(gettext('duoduo_base.msg_sms_code_invalid'))
        record, = records
        # a simultaneous try of the same code fails here and starts again,
        # then finds the code spent or its tries counted
        cls.lock([record])
        given = cls._digest(phone, record.scene, str(code or '').strip())
        if hmac.compare_digest(given, record.code_hash):
            return record
        attempts = record.attempts + 1
        values = {'attempts': attempts}
        if attempts >= config.sms_max_attempts:
            values['state'] = 'invalidated'
        cls.write([record], values)
        raise SmsCodeError(gettext('duoduo_base.msg_sms_code_invalid'))

    @classmethod
    def consume(cls, records):
        cls.write(records, {'state': 'used'})
