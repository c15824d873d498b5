import datetime as dt
import secrets
from decimal import Decimal

import phonenumbers
from sql.aggregate import Count
from sql.functions import Substring
from sql.operators import Concat, Like

from trytond.i18n import gettext
from trytond.model import (
    Index, ModelSQL, ModelView, Unique, Workflow, fields)
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import (
    InvitationCodeError, MemberDisabledError, MemberValidationError,
    PhoneTakenError, PhoneValidationError, ReferrerCycleError,
    WechatBindError)
from .wechat import WechatLoginError, code_to_session

# No 0/O, 1/I/L: members type these codes from a screenshot or a poster.
INVITATION_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ'
INVITATION_LENGTH = 6
# The commission scheme pays three levels; compliance forbids deeper chains.
TEAM_DEPTH = 3
MOBILE_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    }
# What a member may change about themselves with /user/change_info/
PROFILE_FIELDS = {
    'nickname': ('nickname', 1, 20),
    'alipay': ('alipay_account', 3, 64),
    'realname': ('real_name', 2, 20),
    }


def normalize_phone(value):
    "The bare 11-digit mainland mobile number, or None when it is not one"
    if not value or not isinstance(value, str):
        return None
    try:
        number = phonenumbers.parse(value.strip(), 'CN')
    except phonenumbers.NumberParseException:
        return None
    if (number.country_code != 86
            or not phonenumbers.is_valid_number(number)
            or phonenumbers.number_type(number) not in MOBILE_TYPES):
        return None
    return str(number.national_number)


def mask_phone(phone):
    if not phone or len(phone) < 7:
        return phone
    return phone[:3] + '****' + phone[-4:]


class Member(Workflow, ModelSQL, ModelView):
    "Member"
    __name__ = 'duoduo.member'
    _rec_name = 'nickname'

    phone = fields.Char("Phone", required=True, strip=True)
    nickname = fields.Char("Nickname", required=True)
    avatar = fields.Char("Avatar URL")
    invitation_code = fields.Char(
        "Invitation Code", required=True, readonly=True)
    referrer = fields.Many2One(
        'duoduo.member', "Referrer", ondelete='RESTRICT',
        states={
            'readonly': Eval('id', -1) >= 0,
            },
        help="The member who invited this one; staff change it with "
        "\"Change Referrer\".")
    referrals = fields.One2Many(
        'duoduo.member', 'referrer', "Direct Invitees", readonly=True)
    # Materialized path of ids from the root down to this member
    # ("3/17/42/"): a team at depth N is one indexed prefix query.
    path = fields.Char("Path", readonly=True)
    depth = fields.Integer("Depth", readonly=True)
    level = fields.Many2One(
        'duoduo.member.level', "Level", required=True, ondelete='RESTRICT')
    alipay_account = fields.Char("Alipay Account")
    real_name = fields.Char("Real Name")
    city = fields.Char("City")
    district = fields.Char("District")
    registered_at = fields.DateTime("Registered At", readonly=True)
    wechat_openid = fields.Char("WeChat OpenID", readonly=True)
    wechat_unionid = fields.Char("WeChat UnionID", readonly=True)
    state = fields.Selection([
            ('active', "Active"),
            ('disabled', "Disabled"),
            ], "State", readonly=True, required=True, sort=False)
    team_size_1 = fields.Function(
        fields.Integer("Direct Team"), 'get_team_sizes')
    team_size_2 = fields.Function(
        fields.Integer("Second-Level Team"), 'get_team_sizes')
    team_size_3 = fields.Function(
        fields.Integer("Third-Level Team"), 'get_team_sizes')
    team_size = fields.Function(
        fields.Integer("Whole Team",
            help="Every member below, at any depth."),
        'get_team_sizes')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('phone_unique', Unique(t, t.phone),
                'duoduo_base.msg_member_phone_unique'),
            ('invitation_code_unique', Unique(t, t.invitation_code),
                'duoduo_base.msg_member_invitation_code_unique'),
            ('wechat_openid_unique', Unique(t, t.wechat_openid),
                'duoduo_base.msg_member_wechat_openid_unique'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.path, Index.Similarity(begin=True)),
                    (t.depth, Index.Range())),
                Index(t, (t.referrer, Index.Equality())),
                })
        cls._order = [('registered_at', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('active', 'disabled'),
            ('disabled', 'active'),
            }
        cls._buttons.update({
                'disable': {
                    'invisible': Eval('state') != 'active',
                    'depends': ['state'],
                    },
                'enable': {
                    'invisible': Eval('state') != 'disabled',
                    'depends': ['state'],
                    },
                'change_referrer': {
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'active'

    @classmethod
    def default_level(cls):
        level = Pool().get('duoduo.member.level').get_default()
        return level.id if level else None

    @classmethod
    def default_registered_at(cls):
        return dt.datetime.now()

    @classmethod
    def default_invitation_code(cls):
        return cls.generate_invitation_code()

    @classmethod
    def generate_invitation_code(cls):
        while True:
            code = ''.join(secrets.choice(INVITATION_ALPHABET)
                for _ in range(INVITATION_LENGTH))
            if not cls.search([('invitation_code', '=', code)], limit=1):
                return code

    def get_rec_name(self, name):
        return f'{self.nickname} ({mask_phone(self.phone)})'

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, operand, *extra = clause
        if operator.startswith('!') or operator.startswith('not '):
            bool_op = 'AND'
        else:
            bool_op = 'OR'
        return [bool_op,
            ('nickname', operator, operand, *extra),
            ('phone', operator, operand, *extra),
            ('invitation_code', operator, operand, *extra),
            ]

    @property
    def phone_masked(self):
        return mask_phone(self.phone)

    # --- the team tree ---

    def team_domain(self, depths=range(1, TEAM_DEPTH + 1)):
        "Domain of the members at the given depths below this one"
        return [
            ('path', 'like', self.path + '%'),
            ('depth', 'in', [self.depth + d for d in depths]),
            ]

    @classmethod
    def get_team_sizes(cls, members, names):
        result = {n: {m.id: 0 for m in members} for n in names}
        for member in members:
            counts = member.team_counts(max_depth=None)
            for depth, name in enumerate(
                    ['team_size_1', 'team_size_2', 'team_size_3'], 1):
                if name in result:
                    result[name][member.id] = counts.get(depth, 0)
            if 'team_size' in result:
                result['team_size'][member.id] = sum(counts.values())
        return result

    def team_counts(self, max_depth=TEAM_DEPTH):
        """{relative depth: number of members} below this member, counted
        in the database with the path index"""
        if not self.path:
            return {}
        table = self.__table__()
        cursor = Transaction().connection.cursor()
        where = (Like(table.path, self.path + '%')
            & (table.depth > self.depth))
        if max_depth is not None:
            where &= table.depth <= self.depth + max_depth
        cursor.execute(*table.select(
                table.depth, Count(table.id),
                where=where, group_by=[table.depth]))
        return {depth - self.depth: count for depth, count in cursor}

    @classmethod
    def _set_paths(cls, members):
        "Path and depth of newly created members, parents first"
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        parent_ids = {m.referrer.id for m in members if m.referrer}
        # read from the table: cached records predate the paths set here
        paths = {}
        if parent_ids:
            cursor.execute(*table.select(table.id, table.path,
                    where=table.id.in_(list(parent_ids))))
            paths.update(cursor)
        for member in members:
            prefix = paths[member.referrer.id] if member.referrer else ''
            path = paths[member.id] = f'{prefix}{member.id}/'
            cursor.execute(*table.update(
                    [table.path, table.depth], [path, path.count('/') - 1],
                    where=table.id == member.id))
        cls._clear_cache()

    @classmethod
    def _clear_cache(cls):
        "Forget cached members after paths were changed in SQL"
        transaction = Transaction()
        transaction.counter += 1
        for cache in transaction.cache.values():
            cache.pop(cls.__name__, None)

    @classmethod
    def _check_move(cls, member, referrer):
        if referrer and referrer.path.startswith(member.path):
            raise ReferrerCycleError(gettext(
                    'duoduo_base.msg_member_referrer_cycle',
                    member=member.rec_name, referrer=referrer.rec_name))

    @classmethod
    def _move_subtree(cls, member, referrer):
        "Re-root member's whole subtree under referrer in one UPDATE"
        cls._check_move(member, referrer)
        old_prefix = member.path
        new_prefix = (referrer.path if referrer else '') + f'{member.id}/'
        delta = new_prefix.count('/') - old_prefix.count('/')
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.update(
                [table.path, table.depth],
                [Concat(new_prefix,
                        Substring(table.path, len(old_prefix) + 1)),
                    table.depth + delta],
                where=Like(table.path, old_prefix + '%')))
        cls._clear_cache()

    # --- life cycle ---

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if values.get('phone') is not None:
            phone = normalize_phone(values['phone'])
            if not phone:
                raise PhoneValidationError(gettext(
                        'duoduo_base.msg_member_phone_invalid',
                        phone=values['phone']))
            values['phone'] = phone
        if values.get('invitation_code'):
            values['invitation_code'] = values['invitation_code'].upper()
        if mode == 'create' and not values.get('nickname') and values.get(
                'phone'):
            values['nickname'] = gettext(
                'duoduo_base.msg_member_default_nickname',
                suffix=values['phone'][-4:])
        return values

    @classmethod
    def create(cls, vlist):
        referrers = [v['referrer'] for v in vlist if v.get('referrer')]
        if referrers:
            # a concurrent move of the referrer would leave a stale path
            cls.lock(cls.browse(referrers))
        members = super().create(vlist)
        cls._set_paths(members)
        return cls.browse(members)

    @classmethod
    def write(cls, *args):
        actions = iter(args)
        moves = []
        for members, values in zip(actions, actions):
            if 'referrer' in values:
                moves.append((members, values['referrer']))
        if moves:
            # moves rewrite paths of whole subtrees
            cls.lock()
            for members, referrer_id in moves:
                referrer = cls(referrer_id) if referrer_id else None
                for member in members:
                    cls._check_move(member, referrer)
        super().write(*args)
        for members, referrer_id in moves:
            referrer = cls(referrer_id) if referrer_id else None
            for member in members:
                # re-read: a previous move may have changed this path
                member = cls(member.id)
                cls._move_subtree(member, referrer)

    @classmethod
    @ModelView.button
    @Workflow.transition('disabled')
    def disable(cls, members):
        Token = Pool().get('duoduo.member.token')
        Token.revoke_members(members, 'disabled')

    @classmethod
    @ModelView.button
    @Workflow.transition('active')
    def enable(cls, members):
        pass

    @classmethod
    @ModelView.button_action('duoduo_base.wizard_member_change_referrer')
    def change_referrer(cls, members):
        pass

    # --- what the mini-program asks of a member ---

    @classmethod
    def require_phone(cls, value):
        phone = normalize_phone(value)
        if not phone:
            raise PhoneValidationError(gettext(
                    'duoduo_base.msg_member_phone_invalid', phone=value))
        return phone

    @classmethod
    def find_by_phone(cls, phone):
        members = cls.search([('phone', '=', phone)], limit=1)
        return members[0] if members else None

    def check_active(self):
        if self.state != 'active':
            raise MemberDisabledError(gettext(
                    'duoduo_base.msg_member_disabled'))

    @classmethod
    def find_inviter(cls, invitation_code):
        code = (invitation_code or '').strip().upper()
        members = cls.search([('invitation_code', '=', code)], limit=1)
        if not code or not members:
            raise InvitationCodeError(gettext(
                    'duoduo_base.msg_member_invitation_code_unknown',
                    code=invitation_code))
        return members[0]

    @classmethod
    def send_code(cls, phone, scene, client_ip=None, token=None):
        """Send a verification code; returns its validity in seconds.

        Codes to change a phone go to the member's own number or to a free
        one, and only for a logged-in member."""
        pool = Pool()
        SmsCode = pool.get('duoduo.sms.code')
        Token = pool.get('duoduo.member.token')
        phone = cls.require_phone(phone)
        if scene == 'change_phone':
            member = Token.authenticate(token)
            owner = cls.find_by_phone(phone)
            if owner and owner != member:
                raise PhoneTakenError(gettext(
                        'duoduo_base.msg_member_phone_taken', phone=phone))
        else:
            member = cls.find_by_phone(phone)
            if member:
                member.check_active()
        return SmsCode.send(phone, scene, client_ip=client_ip)

    def get_info(self):
        """Figures the mini-program shows on "my" page; the money addons
        extend it from the ledger."""
        return {
            'balance': Decimal('0.00'),
            'total_income': Decimal('0.00'),
            'today_income': Decimal('0.00'),
            'team_count': sum(self.team_counts().values()),
            }

    @classmethod
    def login_by_sms(cls, phone, code, invitation_code=None):
        """Log in with a verification code, registering unknown phones.

        Returns (member, token, registered)."""
        pool = Pool()
        SmsCode = pool.get('duoduo.sms.code')
        Token = pool.get('duoduo.member.token')
        phone = cls.require_phone(phone)
        member = cls.find_by_phone(phone)
        if member:
            member.check_active()
        elif invitation_code:
            # checked before the code is spent: a typo must not cost a code
            inviter = cls.find_inviter(invitation_code)
            inviter.check_active()
        sms_code = SmsCode.check(phone, 'login', code)
        SmsCode.consume([sms_code])
        registered = False
        if not member:
            member, = cls.create([{
                        'phone': phone,
                        'referrer': inviter.id if invitation_code else None,
                        }])
            registered = True
        return member, Token.issue(member), registered

    def change_profile(self, kind, value):
        "Change one of the fields a member edits: nickname, alipay, realname"
        field, min_length, max_length = PROFILE_FIELDS[kind]
        value = (value or '').strip()
        if not (min_length <= len(value) <= max_length):
            label = self.fields_get([field])[field]['string']
            raise MemberValidationError(gettext(
                    'duoduo_base.msg_member_profile_length',
                    field=label, min=min_length, max=max_length))
        self.__class__.write([self], {field: value})

    def change_phone(self, old_phone, old_code, new_phone, new_code):
        pool = Pool()
        SmsCode = pool.get('duoduo.sms.code')
        old_phone = self.require_phone(old_phone)
        new_phone = self.require_phone(new_phone)
        if old_phone != self.phone:
            raise MemberValidationError(gettext(
                    'duoduo_base.msg_member_old_phone_mismatch'))
        if new_phone == self.phone or self.find_by_phone(new_phone):
            raise PhoneTakenError(gettext(
                    'duoduo_base.msg_member_phone_taken', phone=new_phone))
        # both codes are checked before either is spent
        codes = [
            SmsCode.check(old_phone, 'change_phone', old_code),
            SmsCode.check(new_phone, 'change_phone', new_code),
            ]
        SmsCode.consume(codes)
        self.__class__.write([self], {'phone': new_phone})

    def bind_wechat(self, js_code):
        "Store the openid/unionid WeChat gives for a wx.login code"
        try:
            session = code_to_session(js_code)
        except WechatLoginError as error:
            raise WechatBindError(error.member_message) from error
        other = self.search([
                ('wechat_openid', '=', session['openid']),
                ('id', '!=', self.id),
                ], limit=1)
        if other:
            raise WechatBindError(gettext(
                    'duoduo_base.msg_member_wechat_taken'))
        values = {'wechat_openid': session['openid']}
        if session.get('unionid'):
            values['wechat_unionid'] = session['unionid']
        self.__class__.write([self], values)


class MemberChangeReferrerStart(ModelView):
    "Change Referrer"
    __name__ = 'duoduo.member.change_referrer.start'

    member = fields.Many2One('duoduo.member', "Member", readonly=True)
    referrer = fields.Many2One(
        'duoduo.member', "New Referrer",
        domain=[('id', '!=', Eval('member', -1))],
        help="Leave empty to make the member a root of their own team.")


class MemberChangeReferrer(Wizard):
    "Change Referrer"
    __name__ = 'duoduo.member.change_referrer'

    start = StateView(
        'duoduo.member.change_referrer.start',
        'duoduo_base.member_change_referrer_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Change", 'change', 'tryton-ok', default=True),
            ])
    change = StateTransition()

    def default_start(self, fields):
        return {
            'member': self.record.id,
            'referrer': self.record.referrer.id
            if self.record.referrer else None,
            }

    def transition_change(self):
        referrer = self.start.referrer
        self.model.write([self.record], {
                'referrer': referrer.id if referrer else None,
                })
        return 'end'
