import datetime as dt
import secrets
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Unique, Workflow, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access

from .exceptions import (
    InvitationCodeError, MemberDisabledError, MemberValidationError,
    PhoneTakenError, PhoneValidationError, WechatBindError)
from .i18n import echo
from .phone import mask_phone, normalize_phone
from .search import rec_name_domain
from .team import TeamTree
from .wechat import WechatLoginError, code_to_session

# No 0/O, 1/I/L: members type these codes from a screenshot or a poster.
INVITATION_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ'
INVITATION_LENGTH = 6
# What a member may change about themselves with /user/change_info/
PROFILE_FIELDS = {
    'nickname': ('nickname', 1, 20),
    'alipay': ('alipay_account', 3, 64),
    'realname': ('real_name', 2, 20),
    }
# The codes /user/change_phone/ accepts: the contract's client asks them
# without a scene, so they are login codes; `scene=change_phone` is ours.
CHANGE_PHONE_SCENES = ['change_phone', 'login']
# Changes kept in the member's change log (duoduo.member.change): identity,
# team and payout; levels have their own history (duoduo_commission).
LOGGED_FIELDS = [
    ('phone', "Phone"),
    ('referrer', "Referrer"),
    ('alipay_account', "Alipay Account"),
    ('real_name', "Real Name"),
    ('wechat_openid', "WeChat OpenID"),
    ('wechat_unionid', "WeChat UnionID"),
    ]
# private (RPC clients cannot set context keys starting with "_"): the
# member who makes the change themself, through the mini-program
MEMBER_ACTOR_CONTEXT = '_duoduo_member_actor'


class Member(TeamTree, Workflow, ModelSQL, ModelView):
    "Member"
    __name__ = 'duoduo.member'
    _rec_name = 'nickname'

    phone = fields.Char("Phone", required=True, strip=True)
    nickname = fields.Char("Nickname", required=True)
    avatar = fields.Char("Avatar URL")
    invitation_code = fields.Char(
        "Invitation Code", required=True, readonly=True)
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
    changes = fields.One2Many('duoduo.member.change', 'member', "Changes",
        readonly=True,
        help="Who changed the member's phone, referrer or payout identity, "
        "and when.")

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
        return rec_name_domain(clause, ['nickname', 'phone', 'invitation_code'])

    # --- life cycle ---

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if values.get('phone') is not None:
            values['phone'] = cls.require_phone(values['phone'])
        if values.get('invitation_code'):
            values['invitation_code'] = values['invitation_code'].upper()
        elif mode == 'create':
            # not left to the default: create() computes a missing default
            # once for all the rows of one call
            values['invitation_code'] = cls.generate_invitation_code()
        if mode == 'create' and not values.get('nickname') and values.get(
                'phone'):
            values['nickname'] = gettext(
                'duoduo_base.msg_member_default_nickname',
                suffix=values['phone'][-4:])
        return values

    @classmethod
    def write(cls, *args):
        "Keep who changed the logged fields in the member's change log"
        Change = Pool().get('duoduo.member.change')
        logged = [name for name, _ in LOGGED_FIELDS]
        actions = iter(args)
        before = {}
        for members, values in zip(actions, actions):
            for name in logged:
                if name in values:
                    for member in members:
                        before.setdefault(
                            (member.id, name), member.logged_value(name))
        super().write(*args)
        if before:
            Change.record(before)

    def logged_value(self, name):
        "The value of field name as the change log shows it"
        value = getattr(self, name)
        if isinstance(value, ModelSQL):
            return value.rec_name
        return value or ''

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

    # --- what the mini-program asks of a member ---

    @classmethod
    def require_phone(cls, value):
        phone = normalize_phone(value)
        if not phone:
            raise PhoneValidationError(gettext(
                    'duoduo_base.msg_member_phone_invalid', phone=echo(value)))
        return phone

    @classmethod
    def check_phone(cls, value):
        "The member registered with the phone number value, or None"
        return cls.find_by_phone(cls.require_phone(value))

    @classmethod
    def count_phone_lookup(cls, client_ip):
        """Count a phone lookup (check_tel) of client_ip: an address may look
        up phone_lookup_limit_ip numbers an hour (429 past it), so lookups
        cannot list the members"""
        pool = Pool()
        Configuration = pool.get('duoduo.configuration')
        RateLimitHit = pool.get('duoduo.rate_limit.hit')
        if client_ip:
            RateLimitHit.hit(f'check_tel:{client_ip}',
                Configuration(1).phone_lookup_limit_ip, 3600,
                'duoduo_base.msg_phone_lookup_limit')

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
                    code=echo(invitation_code)))
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
        with self.as_actor():
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
        # A login code of a number proves its owner reads its SMS as well
        # as a change_phone code does, and the token says who the member
        # is. A login code spent here cannot log in any more, nor the
        # reverse. Both codes are checked before either is spent.
        codes = [
            SmsCode.check(old_phone, CHANGE_PHONE_SCENES, old_code),
            SmsCode.check(new_phone, CHANGE_PHONE_SCENES, new_code),
            ]
        SmsCode.consume(codes)
        with self.as_actor():
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
        with self.as_actor():
            self.__class__.write([self], values)

    def as_actor(self):
        "The member makes the changes of the block themself"
        return Transaction().set_context(**{MEMBER_ACTOR_CONTEXT: self.id})


class MemberChange(ModelSQL, ModelView):
    """Member Change

    A change of a member's phone, referrer or payout identity: the values
    before and after, when, and who made it (a staff user, or the member
    through the mini-program; neither when the system did). Written by the
    system in the transaction of the change, never edited."""
    __name__ = 'duoduo.member.change'

    member = fields.Many2One('duoduo.member', "Member", required=True,
        readonly=True, ondelete='CASCADE')
    changed_at = fields.DateTime("Changed At", required=True, readonly=True)
    field = fields.Selection(LOGGED_FIELDS, "Field", required=True,
        readonly=True)
    old_value = fields.Char("Old Value", readonly=True)
    new_value = fields.Char("New Value", readonly=True)
    user = fields.Many2One('res.user', "Staff User", readonly=True,
        ondelete='RESTRICT')
    actor_member = fields.Many2One('duoduo.member', "By the Member",
        readonly=True, ondelete='RESTRICT',
        help="Set when the member made the change in the mini-program.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('changed_at', 'DESC'), ('id', 'DESC')]

    @classmethod
    def record(cls, before):
        """Log the changes {(member id, field): old value} whose value
        changed, with the actor of the transaction"""
        Member = Pool().get('duoduo.member')
        transaction = Transaction()
        actor = transaction.context.get(MEMBER_ACTOR_CONTEXT)
        # root acting for a user (set_user(0, set_context=True)) keeps it
        user = transaction.user or transaction.context.get('user') or None
        now = dt.datetime.now()
        rows = []
        for (member_id, name), old in sorted(before.items()):
            new = Member(member_id).logged_value(name)
            if new != old:
                rows.append({
                        'member': member_id,
                        'changed_at': now,
                        'field': name,
                        'old_value': old,
                        'new_value': new,
                        'user': None if actor else user,
                        'actor_member': actor,
                        })
        if rows:
            with without_check_access():
                cls.create(rows)
