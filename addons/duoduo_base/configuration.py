import secrets

from sql import Literal

from trytond import config
from trytond.model import ModelSingleton, ModelSQL, ModelView, fields
from trytond.transaction import Transaction


class Configuration(ModelSingleton, ModelSQL, ModelView):
    "Duoduo Settings"
    __name__ = 'duoduo.configuration'

    member_token_days = fields.Integer(
        "Member Token Lifetime", required=True,
        domain=[('member_token_days', '>', 0)],
        help="Days a mini-program login stays valid.")
    sms_code_ttl = fields.Integer(
        "SMS Code Validity", required=True,
        domain=[('sms_code_ttl', '>=', 60)],
        help="Seconds a verification code can be used.")
    sms_resend_interval = fields.Integer(
        "SMS Resend Interval", required=True,
        domain=[('sms_resend_interval', '>=', 0)],
        help="Seconds before the same phone can get another code.")
    sms_max_attempts = fields.Integer(
        "SMS Wrong Tries", required=True,
        domain=[('sms_max_attempts', '>', 0)],
        help="Wrong tries after which a code is invalidated.")
    sms_daily_limit_phone = fields.Integer(
        "SMS Daily Limit per Phone", required=True,
        domain=[('sms_daily_limit_phone', '>', 0)],
        help="Codes one phone can get in 24 hours.")
    sms_daily_limit_ip = fields.Integer(
        "SMS Daily Limit per Address", required=True,
        domain=[('sms_daily_limit_ip', '>', 0)],
        help="Codes one client address can ask for in 24 hours.")
    sms_daily_limit_phone_ip = fields.Integer(
        "SMS Daily Limit per Phone and Address", required=True,
        domain=[('sms_daily_limit_phone_ip', '>', 0)],
        help="Codes one client address can ask for one phone in 24 hours: "
        "one address cannot use up a phone's daily limit. An address that "
        "logged in to the phone before is not held by the phone's limit.")
    phone_lookup_limit_ip = fields.Integer(
        "Phone Lookups per Address", required=True,
        domain=[('phone_lookup_limit_ip', '>', 0)],
        help="Phone numbers one client address can check (check_tel) in "
        "an hour.")
    # Keys the HMAC of stored SMS codes; generated once per database when no
    # [duoduo] secret is configured, never shown in a view.
    secret = fields.Char("Secret", readonly=True, loading='lazy')

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(table.id, table.secret, limit=1))
        row = cursor.fetchone()
        if not row:
            cursor.execute(*table.insert(
                    [table.secret, table.member_token_days,
                        table.sms_code_ttl, table.sms_resend_interval,
                        table.sms_max_attempts, table.sms_daily_limit_phone,
                        table.sms_daily_limit_ip,
                        table.sms_daily_limit_phone_ip,
                        table.phone_lookup_limit_ip],
                    [[secrets.token_hex(32), cls.default_member_token_days(),
                            cls.default_sms_code_ttl(),
                            cls.default_sms_resend_interval(),
                            cls.default_sms_max_attempts(),
                            cls.default_sms_daily_limit_phone(),
                            cls.default_sms_daily_limit_ip(),
                            cls.default_sms_daily_limit_phone_ip(),
                            cls.default_phone_lookup_limit_ip()]]))
        elif not row[1]:
            cursor.execute(*table.update(
                    [table.secret], [Literal(secrets.token_hex(32))],
                    where=table.id == row[0]))

    @classmethod
    def default_member_token_days(cls):
        return 30

    @classmethod
    def default_sms_code_ttl(cls):
        return 300

    @classmethod
    def default_sms_resend_interval(cls):
        return 60

    @classmethod
    def default_sms_max_attempts(cls):
        return 5

    @classmethod
    def default_sms_daily_limit_phone(cls):
        return 10

    @classmethod
    def default_sms_daily_limit_ip(cls):
        return 50

    @classmethod
    def default_sms_daily_limit_phone_ip(cls):
        return 5

    @classmethod
    def default_phone_lookup_limit_ip(cls):
        return 30

    def get_hmac_key(self):
        return (config.get('duoduo', 'secret') or self.secret).encode('utf-8')
