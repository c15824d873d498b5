import datetime as dt
import hashlib
import secrets

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.pool import Pool

from .exceptions import MemberDisabledError, MemberTokenError

REVOKE_REASONS = [
    (None, ""),
    ('logout', "Logout"),
    ('disabled', "Member Disabled"),
    ]


def hash_token(token):
    # tokens carry 256 random bits: a plain digest cannot be brute-forced
    return hashlib.sha256(token.encode('utf-8')).hexdigest()


class MemberToken(ModelSQL, ModelView):
    "Member Token"
    __name__ = 'duoduo.member.token'

    member = fields.Many2One(
        'duoduo.member', "Member", required=True, ondelete='CASCADE',
        readonly=True)
    token_hash = fields.Char(
        "Token Hash", required=True, readonly=True, loading='lazy')
    expires_at = fields.DateTime("Expires At", required=True, readonly=True)
    revoked_at = fields.DateTime("Revoked At", readonly=True)
    revoke_reason = fields.Selection(
        REVOKE_REASONS, "Revoke Reason", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('token_hash_unique', Unique(t, t.token_hash),
                'duoduo_base.msg_member_token_unique'),
            ]
        cls._sql_indexes.add(
            Index(t, (t.member, Index.Equality()),
                (t.revoked_at, Index.Equality())))

    def get_rec_name(self, name):
        return self.member.rec_name

    @classmethod
    def issue(cls, member):
        "A new token for member; only its hash is stored"
        Configuration = Pool().get('duoduo.configuration')
        days = Configuration(1).member_token_days
        token = secrets.token_urlsafe(32)
        cls.create([{
                    'member': member.id,
                    'token_hash': hash_token(token),
                    'expires_at': dt.datetime.now() + dt.timedelta(days=days),
                    }])
        return token

    @classmethod
    def find(cls, token):
        if not token or len(token) > 128:
            return None
        tokens = cls.search([('token_hash', '=', hash_token(token))], limit=1)
        return tokens[0] if tokens else None

    @classmethod
    def authenticate(cls, token):
        "The active member the token belongs to"
        record = cls.find(token)
        if record and record.member.state == 'disabled':
            raise MemberDisabledError(gettext(
                    'duoduo_base.msg_member_disabled'))
        if (not record or record.revoked_at
                or record.expires_at <= dt.datetime.now()):
            raise MemberTokenError(gettext(
                    'duoduo_base.msg_member_token_invalid'))
        return record.member

    @classmethod
    def revoke(cls, tokens, reason):
        cls.write([t for t in tokens if not t.revoked_at], {
                'revoked_at': dt.datetime.now(),
                'revoke_reason': reason,
                })

    @classmethod
    def logout(cls, token):
        record = cls.find(token)
        if record:
            cls.revoke([record], 'logout')

    @classmethod
    def revoke_members(cls, members, reason):
        cls.revoke(cls.search([
                    ('member', 'in', [m.id for m in members]),
                    ('revoked_at', '=', None),
                    ]), reason)
