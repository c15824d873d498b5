"""PIDs (推广位): the promotion positions of the 多多进宝 account.

Generated through pdd.ddk.goods.pid.generate, named after the partner they
are for (seed 002: "创建推广位是尽量填写合伙人的真实姓名"), listed and
refreshed with pdd.ddk.goods.pid.query. A partner's own PID is stored on the
member (duoduo.member pdd_pid); member here is its mirror."""
import datetime as dt

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, Unique, fields
from trytond.modules.duoduo_base.level import partner_domain
from trytond.modules.duoduo_base.search import rec_name_domain
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import PidAssignmentError, PidGenerateError
from .units import from_timestamp

# pdd.ddk.goods.pid.generate makes 1 to 100 PIDs per call
MAX_GENERATE = 100
QUERY_PAGE_SIZE = 100
# pid.query status: 0 正常, 1 封禁
STATUSES = {0: 'normal', 1: 'banned'}



def name_lines(text):
    "The non-empty lines of text, stripped"
    return [line.strip() for line in (text or '').splitlines()
        if line.strip()]


class Pid(ModelSQL, ModelView):
    "PDD PID"
    __name__ = 'duoduo.pdd.pid'
    _rec_name = 'p_id'

    p_id = fields.Char("PID", required=True, readonly=True, strip=True,
        help="PDD's id of the 推广位, e.g. 13796493_181628841.")
    name = fields.Char("Name", readonly=True,
        help="The name given at PDD, usually the partner's.")
    media_id = fields.Char("Media ID", readonly=True,
        help="The media (e.g. the mini-program) PDD binds the PID to.")
    status = fields.Selection([
            ('normal', "Normal"),
            ('banned', "Banned"),
            ], "Status", required=True, readonly=True, sort=False,
        help="Banned (封禁) PIDs earn nothing: their partner's links fall "
        "back to the default PID.")
    pdd_created_at = fields.DateTime("Created at PDD", readonly=True)
    synced_at = fields.DateTime("Last Seen at PDD", readonly=True)
    members = fields.One2Many(
        'duoduo.member', 'pdd_pid', "Members", readonly=True, size=1)
    member = fields.Function(
        fields.Many2One('duoduo.member', "Partner"),
        'get_member', searcher='search_member')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('p_id_unique', Unique(t, t.p_id),
                'duoduo_pdd.msg_pid_unique'),
            ]
        cls._order = [('pdd_created_at', 'DESC NULLS FIRST'), ('id', 'DESC')]
        cls._buttons.update({
                'sync_from_pdd': {
                    'icon': 'tryton-refresh',
                    },
                'assign': {
                    'icon': 'tryton-forward',
                    'readonly': Eval('status') != 'normal',
                    'depends': ['status'],
                    },
                })

    @classmethod
    def view_attributes(cls):
        # PYSON in a view is set here, encoded: sao cannot read Python text
        return super().view_attributes() + [
            ('/tree/field[@name="status"]', 'visual',
                If(Eval('status') == 'banned', 'danger', ''), ['status']),
            ]

    @classmethod
    def default_status(cls):
        return 'normal'

    def get_rec_name(self, name):
        if self.name:
            return f'{self.name} ({self.p_id})'
        return self.p_id

    @classmethod
    def search_rec_name(cls, name, clause):
        return rec_name_domain(clause, ['p_id', 'name'])

    def get_member(self, name):
        return self.members[0].id if self.members else None

    @classmethod
    def search_member(cls, name, clause):
        return [('members' + clause[0][len(name):], *clause[1:])]

    @classmethod
    def find(cls, p_id):
        pids = cls.search([('p_id', '=', p_id)], limit=1)
        return pids[0] if pids else None

    @classmethod
    def upsert(cls, items):
        """Create or update PIDs from PDD's p_id_list items; returns them in
        the order given"""
        now = dt.datetime.now()
        values = {}
        for item in items:
            p_id = str(item.get('p_id') or '').strip()
            if not p_id:
                continue
            row = {
                'name': item.get('pid_name') or None,
                'synced_at': now,
                }
            if item.get('media_id') not in (None, '', 0):
                row['media_id'] = str(item['media_id'])
            if item.get('create_time'):
                row['pdd_created_at'] = from_timestamp(item['create_time'])
            if item.get('status') is not None:
                row['status'] = STATUSES.get(int(item['status']), 'normal')
            values[p_id] = row
        existing = {p.p_id: p for p in cls.search(
                [('p_id', 'in', list(values))])}
        to_write = []
        for p_id, row in values.items():
            pid = existing.get(p_id)
            if pid:
                changed = {k: v for k, v in row.items()
                    if k == 'synced_at' or getattr(pid, k) != v}
                to_write.extend(([pid], changed))
        if to_write:
            cls.write(*to_write)
        created = cls.create([dict(row, p_id=p_id)
                for p_id, row in values.items() if p_id not in existing])
        by_p_id = {**existing, **{p.p_id: p for p in created}}
        return [by_p_id[p_id] for p_id in values]

    @classmethod
    def generate(cls, number, names=None, media_id=None):
        """Have PDD create number PIDs named names (one each, optional);
        returns them"""
        Configuration = Pool().get('duoduo.pdd.configuration')
        names = [n.strip() for n in names or [] if n and n.strip()]
        if not (1 <= number <= MAX_GENERATE):
            raise PidGenerateError(gettext(
                    'duoduo_pdd.msg_pid_generate_number', max=MAX_GENERATE))
        if names and len(names) != number:
            raise PidGenerateError(gettext(
                    'duoduo_pdd.msg_pid_generate_names',
                    names=len(names), number=number))
        answer = Configuration.get_client().call(
            'pdd.ddk.goods.pid.generate', number=number,
            p_id_name_list=names or None,
            media_id=(media_id or '').strip() or None)
        items = answer.get('p_id_list') or []
        for item in items:
            item.setdefault('status', 0)
        return cls.upsert(items)

    @classmethod
    @ModelView.button
    def sync_from_pdd(cls, pids):
        "Button (whatever the records): read every PID of the account"
        cls.sync_all()

    @classmethod
    def sync_all(cls):
        """Read every PID of the account from PDD (pid.query, page after
        page) and store them; returns how many PDD listed"""
        Configuration = Pool().get('duoduo.pdd.configuration')
        client = Configuration.get_client()
        items, page = [], 1
        while True:
            answer = client.call('pdd.ddk.goods.pid.query',
                page=page, page_size=QUERY_PAGE_SIZE)
            batch = answer.get('p_id_list') or []
            items.extend(batch)
            total = int(answer.get('total_count') or 0)
            if (not batch or len(batch) < QUERY_PAGE_SIZE
                    or len(items) >= total):
                break
            page += 1
        cls.upsert(items)
        return len(items)

    @classmethod
    @ModelView.button_action('duoduo_pdd.wizard_pid_assign')
    def assign(cls, pids):
        pass

    def assign_to(self, member):
        """Make this PID member's own (None: nobody's); the previous holder
        loses it"""
        Member = Pool().get('duoduo.member')
        if member:
            member.check_pdd_partner(self.p_id)
        if member and self.status != 'normal':
            raise PidAssignmentError(gettext(
                    'duoduo_pdd.msg_pid_banned', pid=self.p_id))
        previous = list(self.members)
        if previous and previous != [member]:
            Member.write(previous, {'pdd_pid': None})
        if member and member.pdd_pid != self:
            Member.write([member], {'pdd_pid': self.id})


class PidGenerateStart(ModelView):
    "Generate PDD PIDs"
    __name__ = 'duoduo.pdd.pid.generate.start'

    member = fields.Many2One(
        'duoduo.member', "Partner",
        domain=[
            *partner_domain(),
            ('pdd_pid', '=', None),
            ],
        help="A partner without a PID: the new PID is named after them and "
        "becomes theirs.")
    number = fields.Integer(
        "Number", required=True,
        domain=[('number', '>=', 1), ('number', '<=', MAX_GENERATE)],
        states={
            'readonly': Eval('member', None) != None,  # noqa: E711
            })
    names = fields.Text(
        "Names",
        help="One name per line, one line per PID; PDD shows them in "
        "推广位管理. Name them after the partner.")
    media_id = fields.Char(
        "Media ID", help="Optional: the media to bind the PIDs to.")

    @classmethod
    def default_number(cls):
        return 1

    @fields.depends('member', 'names', 'number')
    def on_change_member(self):
        if self.member:
            self.number = 1
            self.names = self.member.real_name or self.member.nickname

    @fields.depends('names', 'number')
    def on_change_names(self):
        lines = name_lines(self.names)
        if lines:
            self.number = len(lines)


class PidGenerate(Wizard):
    "Generate PDD PIDs"
    __name__ = 'duoduo.pdd.pid.generate'
    start = StateView('duoduo.pdd.pid.generate.start',
        'duoduo_pdd.pid_generate_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Generate", 'generate', 'tryton-ok', default=True),
            ])
    generate = StateTransition()

    def default_start(self, fields):
        defaults = {'number': 1}
        context = Transaction().context
        if context.get('active_model') == 'duoduo.member' and context.get(
                'active_id'):
            member = Pool().get('duoduo.member')(context['active_id'])
            if member.is_pdd_partner() and not member.pdd_pid:
                defaults.update({
                        'member': member.id,
                        'names': member.real_name or member.nickname,
                        })
        return defaults

    def transition_generate(self):
        Pid = Pool().get('duoduo.pdd.pid')
        member = self.start.member
        names = name_lines(self.start.names)
        number = self.start.number
        if member:
            # checked before PDD creates anything
            member.check_pdd_partner()
            number = 1
            names = names[:1] or [member.real_name or member.nickname]
        pids = Pid.generate(number, names, self.start.media_id)
        if member and pids:
            pids[0].assign_to(member)
        return 'end'


class PidAssignStart(ModelView):
    "Assign a PDD PID"
    __name__ = 'duoduo.pdd.pid.assign.start'

    pid = fields.Many2One('duoduo.pdd.pid', "PID", readonly=True)
    member = fields.Many2One(
        'duoduo.member', "Partner",
        domain=partner_domain(),
        help="Leave empty to take the PID back.")


class PidAssign(Wizard):
    "Assign a PDD PID"
    __name__ = 'duoduo.pdd.pid.assign'
    start = StateView('duoduo.pdd.pid.assign.start',
        'duoduo_pdd.pid_assign_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Assign", 'assign', 'tryton-ok', default=True),
            ])
    assign = StateTransition()

    def default_start(self, fields):
        return {
            'pid': self.record.id,
            'member': self.record.member.id if self.record.member else None,
            }

    def transition_assign(self):
        self.record.assign_to(self.start.member)
        return 'end'


class PidSync(Wizard):
    "Sync PDD PIDs"
    __name__ = 'duoduo.pdd.pid.sync'
    start_state = 'sync'
    sync = StateTransition()

    def transition_sync(self):
        Pool().get('duoduo.pdd.pid').sync_all()
        return 'end'
