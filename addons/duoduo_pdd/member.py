"""Members as PDD knows them: the attribution key and the partner's PID.

Every goods call carries custom_parameters {"uid": "<pdd_uid>"}: PDD echoes
it in the member's orders, and 备案 (authority binding) is keyed on it, so
the string must be the same everywhere. pdd_uid is random, not the database
id: members' ids must not leak into links they share."""
import datetime as dt
import json
import logging
import secrets

from sql import Null

from trytond.i18n import gettext
from trytond.model import Unique, fields
from trytond.modules.duoduo_base.level import ROLES, partner_pyson
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .exceptions import PddAuthorityError, PidAssignmentError

logger = logging.getLogger(__name__)

PDD_UID_ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz'
PDD_UID_LENGTH = 12
# PDD's limit for custom_parameters
CUSTOM_PARAMETERS_MAX_BYTES = 64


def new_pdd_uid():
    return ''.join(secrets.choice(PDD_UID_ALPHABET)
        for _ in range(PDD_UID_LENGTH))


def custom_parameters(uid):
    "The exact custom_parameters string for uid: compact JSON"
    return json.dumps({'uid': uid}, separators=(',', ':'))


def parse_custom_parameters(value):
    "The uid inside a custom_parameters string PDD echoes, or None"
    if not value:
        return None
    try:
        data = json.loads(value)
    except (TypeError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    uid = data.get('uid')
    return str(uid) if uid not in (None, '') else None


class Member(metaclass=PoolMeta):
    __name__ = 'duoduo.member'

    pdd_uid = fields.Char(
        "PDD Attribution Key", required=True, readonly=True,
        help="The uid sent to PDD in custom_parameters: PDD attributes the "
        "member's orders and 备案 with it.")
    # set by the PID's Assign wizard (orders of the PID are the member's)
    pdd_pid = fields.Many2One(
        'duoduo.pdd.pid', "PDD PID", ondelete='RESTRICT', readonly=True,
        domain=[
            ('status', '=', 'normal'),
            ['OR',
                ('member', '=', None),
                ('member', '=', Eval('id', -1)),
                ],
            ],
        states={
            'invisible': ~partner_pyson('level_role'),
            },
        help="The partner's own 推广位: their links and orders use it "
        "instead of the default PID.")
    pdd_authorized_at = fields.DateTime(
        "PDD Authorized At", readonly=True,
        help="When PDD confirmed the member's 备案 (authority binding); "
        "empty until then.")
    level_role = fields.Function(
        fields.Selection(ROLES, "Level Role"), 'on_change_with_level_role')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('pdd_uid_unique', Unique(t, t.pdd_uid),
                'duoduo_pdd.msg_member_pdd_uid_unique'),
            ('pdd_pid_unique', Unique(t, t.pdd_pid),
                'duoduo_pdd.msg_member_pdd_pid_unique'),
            ]

    @classmethod
    def __register__(cls, module):
        table_h = cls.__table_handler__(module)
        if not table_h.column_exist('pdd_uid'):
            # added here without a default: each existing member gets a key
            # of its own before the column becomes required and unique
            table_h.add_column('pdd_uid', cls.pdd_uid._sql_type)
        cls.backfill_pdd_uid()
        super().__register__(module)

    @classmethod
    def backfill_pdd_uid(cls):
        "Give a key to every member without one; returns how many"
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(table.id, where=table.pdd_uid == Null))
        ids = [i for i, in cursor]
        if not ids:
            return 0
        cursor.execute(*table.select(
                table.pdd_uid, where=table.pdd_uid != Null))
        taken = {u for u, in cursor}
        for member_id in ids:
            uid = new_pdd_uid()
            while uid in taken:
                uid = new_pdd_uid()
            taken.add(uid)
            cursor.execute(*table.update(
                    [table.pdd_uid], [uid], where=table.id == member_id))
        cls._clear_cache()
        logger.info("gave %d members their PDD attribution key", len(ids))
        return len(ids)

    # No default_pdd_uid: an upgrade would give its one value to every
    # existing member. Keys are made in preprocess_values, one per member.

    @classmethod
    def generate_pdd_uid(cls):
        while True:
            uid = new_pdd_uid()
            if not cls.search([('pdd_uid', '=', uid)], limit=1):
                return uid

    @fields.depends('level')
    def on_change_with_level_role(self, name=None):
        return self.level.role if self.level else None

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if mode == 'create' and not values.get('pdd_uid'):
            values['pdd_uid'] = cls.generate_pdd_uid()
        return values

    @classmethod
    def copy(cls, members, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('pdd_uid', None)
        default.setdefault('pdd_pid', None)
        default.setdefault('pdd_authorized_at', None)
        return super().copy(members, default=default)

    @classmethod
    def write(cls, *args):
        actions = iter(args)
        args = []
        for members, values in zip(actions, actions):
            if 'pdd_pid' in values and 'pdd_authorized_at' not in values:
                # 备案 is checked for a PID: a new one must be checked again
                values = dict(values, pdd_authorized_at=None)
            args.extend((members, values))
        super().write(*args)

    @classmethod
    def validate_fields(cls, members, field_names):
        super().validate_fields(members, field_names)
        if field_names & {'pdd_pid', 'level'}:
            for member in members:
                member.check_pdd_pid()

    def check_pdd_pid(self):
        if self.pdd_pid:
            self.check_pdd_partner(self.pdd_pid.p_id)

    def check_pdd_partner(self, p_id='-'):
        "Refuse a PID (p_id) for a member below partner"
        if not self.is_pdd_partner():
            raise PidAssignmentError(gettext(
                    'duoduo_pdd.msg_pid_member_not_partner',
                    member=self.rec_name, pid=p_id, level=self.level.name))

    def is_pdd_partner(self):
        """Partners (a level of role 合伙人 or 城市代理) may have a PID of
        their own"""
        return bool(self.level) and self.level.is_partner

    # --- what the goods routes and the order sync ask of a member ---

    def pdd_custom_parameters(self):
        "The custom_parameters string of every PDD call made for the member"
        value = custom_parameters(self.pdd_uid)
        assert len(value.encode('utf-8')) <= CUSTOM_PARAMETERS_MAX_BYTES
        return value

    def pdd_promotion_pid(self):
        "The member's own PID while PDD allows it, else the default PID"
        Configuration = Pool().get('duoduo.pdd.configuration')
        if self.pdd_pid and self.pdd_pid.status == 'normal':
            return self.pdd_pid.p_id
        return Configuration.get_pid()

    @classmethod
    def find_by_pdd_uid(cls, uid):
        "The member whose attribution key is uid, or None"
        if not uid:
            return None
        members = cls.search([('pdd_uid', '=', str(uid))], limit=1)
        return members[0] if members else None

    @classmethod
    def find_by_pdd_custom_parameters(cls, value):
        "The member named by the custom_parameters PDD echoes, or None"
        return cls.find_by_pdd_uid(parse_custom_parameters(value))

    def check_pdd_authority(self, force=False):
        """Whether PDD has the member's 备案 for their PID.

        A positive answer is kept (pdd_authorized_at) and the next checks
        make no call; a negative one is not: the member may authorize at any
        moment. force asks PDD again."""
        Configuration = Pool().get('duoduo.pdd.configuration')
        if self.pdd_authorized_at and not force:
            return True
        try:
            answer = Configuration.get_client().call(
                'pdd.ddk.member.authority.query',
                pid=self.pdd_promotion_pid(),
                custom_parameters=self.pdd_custom_parameters())
        except PddAuthorityError:
            bound = False
        else:
            bound = str(answer.get('bind')) == '1'
        if bound and not self.pdd_authorized_at:
            self._store_pdd_authorized_at(dt.datetime.now())
        elif not bound and self.pdd_authorized_at:
            self._store_pdd_authorized_at(None)
        return bound

    def forget_pdd_authority(self):
        """PDD answered 60001 for the member: their 备案 is gone, ask again
        next time"""
        if self.pdd_authorized_at:
            self._store_pdd_authorized_at(None)

    def _store_pdd_authorized_at(self, value):
        if Transaction().readonly:
            # a GET route: the cache waits for the next read-write request
            return
        self.__class__.write([self], {'pdd_authorized_at': value})

    def pdd_authority_link(self):
        """Where the member authorizes (备案) the PID and their uid:
        {mobile_url, short_url, we_app_info} from rp.prom.url.generate
        channel_type 10"""
        Configuration = Pool().get('duoduo.pdd.configuration')
        answer = Configuration.get_client().call(
            'pdd.ddk.rp.prom.url.generate',
            channel_type=10,
            p_id_list=[self.pdd_promotion_pid()],
            custom_parameters=self.pdd_custom_parameters(),
            generate_we_app=True,
            generate_short_url=True)
        urls = answer.get('url_list') or [{}]
        url = urls[0]
        return {
            'mobile_url': url.get('mobile_url') or url.get('url') or '',
            'short_url': (url.get('short_url')
                or url.get('mobile_short_url') or ''),
            'we_app_info': url.get('we_app_info') or None,
            }
