"""The commission of a PDD order: the team it is split for, and its ledger
entries as PDD moves it through its statuses.

Snapshot. When an order first has a member (created attributed, or
attributed by a later sync), the team of that moment is stored with it and
never rewritten: the buyer's level, the uplines at depths 1–3 and their
levels, the city agent of the buyer's city, and the plan version in force
when the order was paid. Referrer moves and level changes afterwards change
nothing about it.

Lifecycle, from PDD's order_status (the phase the order is in):
    0, 1, 2, 3  pending   — the shares are posted frozen (member_pending, 预估)
    5           available — the frozen shares move to member_available
    4, 10       reversed  — every entry of the order still in effect is
                            reversed (money_type 5 维权), even after
                            settlement and even into a negative balance
    others      nothing   (-1 unpaid, 8 no commission, statuses PDD adds)

The order stores where it is (`commission_state`) with a generation (each
fresh accrual) and a step (each settlement or its undoing); ledger keys are
derived from (order id, generation, step, kind, money_type), so replaying a
status posts nothing and the ledger's unique key is the backstop. PDD may go
back (a regression):
    available → pending: the settlement is reversed (available back to
                         pending), as the same money_type;
    reversed → pending:  a fresh accrual, a new generation (and → available:
                         accrual then settlement);
    pending/available → pending/available: as above, nothing else.

Entries per money_type (an entry has one): the buyer's share (2 佣金) with
the platform's remainder, and the uplines' and city agent's shares (3 提成):
    accrual     pdd_receivable −P, member_pending +share…, platform_margin +rest
    settlement  member_pending −share, member_available +share (members only)
An order nobody is attributed to (yet) is accrued whole to the platform;
when it is attributed later (a member registers or gets the PID after
buying; detected in write()), that generation is reversed and the order is
accrued afresh for the team as at attribution (and settled again when PDD
had settled it).

Concurrency: deciding locks the order row (SELECT … FOR UPDATE on
PostgreSQL) and writes the state to it, so a second pass processing the
same change at the same time waits, then fails to serialize and is retried
by the sync (in_own_transaction), and finds nothing left to do."""
import datetime as dt
from decimal import Decimal

from sql import For

from trytond import backend
from trytond.model import fields
from trytond.modules.duoduo_base.level import CITY_AGENT
from trytond.modules.duoduo_base.team import ancestor_ids
from trytond.modules.duoduo_ledger.ledger import (
    CASH_ACCOUNTS, amount_column, money, stored_text, sum_money)
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .ledger import order_origin
from .plan import BUYER_KIND, MAX_DEPTH, TEAM_KIND
from .team_statistics import (
    CENT, ORDER_FIELDS, ZERO, _cursor, order_counted_for)

PENDING, AVAILABLE, REVERSED = 'pending', 'available', 'reversed'
PHASES = {
    0: PENDING, 1: PENDING, 2: PENDING, 3: PENDING,
    5: AVAILABLE,
    4: REVERSED, 10: REVERSED,
    }
REVERSAL_KIND = 'reversal'


def phase(order_status):
    "The commission phase of a PDD order_status, or None (nothing to do)"
    return PHASES.get(order_status)


class Order(metaclass=PoolMeta):
    __name__ = 'duoduo.pdd.order'

    team_snapshot_at = fields.DateTime("Team Snapshot At", readonly=True,
        help="When the buyer's team was stored with the order: the team "
        "that shares its commission, whatever changes later.")
    buyer_level = fields.Many2One('duoduo.member.level', "Buyer Level",
        readonly=True, ondelete='RESTRICT')
    upline_1 = fields.Many2One('duoduo.member', "Upline 1", readonly=True,
        ondelete='RESTRICT')
    upline_1_level = fields.Many2One('duoduo.member.level',
        "Upline 1 Level", readonly=True, ondelete='RESTRICT')
    upline_2 = fields.Many2One('duoduo.member', "Upline 2", readonly=True,
        ondelete='RESTRICT')
    upline_2_level = fields.Many2One('duoduo.member.level',
        "Upline 2 Level", readonly=True, ondelete='RESTRICT')
    upline_3 = fields.Many2One('duoduo.member', "Upline 3", readonly=True,
        ondelete='RESTRICT')
    upline_3_level = fields.Many2One('duoduo.member.level',
        "Upline 3 Level", readonly=True, ondelete='RESTRICT')
    city_agent = fields.Many2One('duoduo.member', "City Agent",
        readonly=True, ondelete='RESTRICT',
        help="The city agent (城市代理) of the buyer's city at attribution.")
    plan_version = fields.Many2One('duoduo.commission.plan.version',
        "Plan Version", readonly=True, ondelete='RESTRICT',
        help="The commission plan version in force when the order was paid.")
    commission_state = fields.Selection([
            (None, "Not Booked"),
            (PENDING, "Pending"),
            (AVAILABLE, "Available"),
            (REVERSED, "Reversed"),
            ], "Commission", readonly=True,
        help="Where the order's commission is in the ledger: frozen "
        "(pending), available to the members, or reversed.")
    commission_generation = fields.Integer("Commission Generation",
        readonly=True,
        help="How many times the commission was accrued afresh.")
    commission_step = fields.Integer("Commission Step", readonly=True,
        help="Settlements and their undoing within the generation.")
    ledger_lines = fields.One2Many('duoduo.ledger.line', 'origin',
        "Ledger Lines", readonly=True)
    statistics_member = fields.Many2One('duoduo.member',
        "Counted For", readonly=True, ondelete='RESTRICT',
        help="The member whose team statistics count the order.")
    statistics_day = fields.Date("Counted On", readonly=True,
        help="The Asia/Shanghai day the statistics count the order on.")
    statistics_amount = fields.Numeric("Counted Commission",
        digits=(16, 2), readonly=True)

    @classmethod
    def __register__(cls, module):
        exists = backend.TableHandler.table_exist(cls._table)
        counted = exists and cls.__table_handler__(module).column_exist(
            'statistics_member')
        super().__register__(module)
        if exists and not counted:
            # the statistics tables are new: fill them from what exists
            # (tryton.cfg registers the order after them: they exist here)
            Pool().get('duoduo.team.statistic').recompute()

    @classmethod
    def default_commission_generation(cls):
        return 0

    @classmethod
    def default_commission_step(cls):
        return 0

    # --- snapshot of the team at attribution ---

    @classmethod
    def create(cls, vlist):
        orders = super().create(vlist)
        cls.snapshot_team([o for o in orders if o.member])
        return orders

    @classmethod
    def write(cls, *args):
        actions = iter(args)
        attributed = []
        touched = set()
        for orders, values in zip(actions, actions):
            if values.get('member'):
                attributed.extend(o.id for o in orders if not o.member)
            if ORDER_FIELDS & set(values):
                touched.update(o.id for o in orders)
        super().write(*args)
        if attributed:
            cls.on_attributed(cls.browse(attributed))
        if touched:
            cls.count_in_statistics(cls.browse(sorted(touched)))

    @classmethod
    def snapshot_team(cls, orders):
        """Store the team of each order's member as it is now, once: an
        order that has its snapshot keeps it"""
        pool = Pool()
        Member = pool.get('duoduo.member')
        Version = pool.get('duoduo.commission.plan.version')
        now = dt.datetime.now()
        to_write = []
        for order in orders:
            if order.team_snapshot_at or not order.member:
                continue
            buyer = Member(order.member.id)
            values = {
                'team_snapshot_at': now,
                'buyer_level': buyer.level.id,
                }
            uplines = Member.browse(
                ancestor_ids(buyer.path)[:MAX_DEPTH] if buyer.path else [])
            for depth in range(1, MAX_DEPTH + 1):
                upline = uplines[depth - 1] if depth <= len(uplines) else None
                values[f'upline_{depth}'] = upline.id if upline else None
                values[f'upline_{depth}_level'] = (
                    upline.level.id if upline else None)
            agent = order.get_city_agent(buyer)
            values['city_agent'] = agent.id if agent else None
            version = Version.in_force(
                order.order_pay_time or order.order_create_time or now)
            values['plan_version'] = version.id if version else None
            to_write.extend(([order], values))
        if to_write:
            cls.write(*to_write)

    def get_city_agent(self, buyer):
        """The city agent (城市代理) who shares the order's commission, or
        None; buyer is the order's member as at attribution.

        This is the one place that answers it: an addon that knows the
        agents better (duoduo_agency, from approved applications and their
        regions) overrides it. The default only matches free text: the
        members whose level has the city_agent role and whose city equals
        the buyer's, the one of lowest id when there are several; None
        when the buyer has no city."""
        Member = Pool().get('duoduo.member')
        city = (buyer.city or '').strip()
        if not city:
            return None
        agents = Member.search([
                ('level.role', '=', CITY_AGENT),
                ('city', '=', city),
                ], order=[('id', 'ASC')], limit=1)
        return agents[0] if agents else None

    def commission_split(self):
        """([Share], platform remainder) of the order's commission, by its
        snapshot: everything to the platform without a member or a plan"""
        amount = self.promotion_amount or Decimal('0.00')
        if not self.member or not self.plan_version:
            return [], amount
        chain = [(getattr(self, f'upline_{d}'),
                getattr(self, f'upline_{d}_level'))
            for d in range(1, MAX_DEPTH + 1)]
        return self.plan_version.split(amount,
            (self.member, self.buyer_level), chain, self.city_agent)

    # --- the lifecycle ---

    @classmethod
    def on_status_changed(cls, changes):
        super().on_status_changed(changes)
        for order, _, new_status in changes:
            cls.process_commission(order, new_status)

    @classmethod
    def on_attributed(cls, orders):
        """Orders that got their member after they were first stored: take
        the team snapshot and split again what went to the platform"""
        for order in orders:
            order = cls._lock_commission(order)
            cls.snapshot_team([order])
            order = cls(order.id)
            state = order.commission_state
            if state not in {PENDING, AVAILABLE}:
                continue
            status = order.order_status
            values = cls._reverse_generation(order, status)
            order = cls._write_commission(order, values)
            cls.process_commission(order, status, _locked=True)

    @classmethod
    def process_commission(cls, order, order_status, _locked=False):
        """Bring the order's commission in the ledger to the phase of
        order_status; posting nothing when it is already there"""
        target = phase(order_status)
        if target is None:
            return
        if not _locked:
            order = cls._lock_commission(order)
        if order.member and not order.team_snapshot_at:
            cls.snapshot_team([order])
            order = cls(order.id)
        state = order.commission_state
        if state == target:
            return
        values = {'commission_state': target}
        if target == REVERSED:
            if state in {PENDING, AVAILABLE}:
                values.update(cls._reverse_generation(order, order_status))
        elif state in {None, REVERSED}:
            generation = (order.commission_generation or 0) + 1
            values.update(commission_generation=generation,
                commission_step=0)
            cls._accrue(order, generation, order_status)
            if target == AVAILABLE:
                values['commission_step'] = 1
                cls._settle(order, generation, 1, order_status)
        else:
            generation = order.commission_generation
            step = (order.commission_step or 0) + 1
            values['commission_step'] = step
            if target == AVAILABLE:
                cls._settle(order, generation, step, order_status)
            else:
                cls._unsettle(order, generation, step, order_status)
        cls._write_commission(order, values)

    @classmethod
    def _lock_commission(cls, order):
        """Lock the order's row until the transaction ends (PostgreSQL) and
        answer it afresh"""
        transaction = Transaction()
        if transaction.database.has_select_for():
            table = cls.__table__()
            cursor = transaction.connection.cursor()
            cursor.execute(*table.select(table.id,
                    where=table.id == order.id, for_=For('UPDATE')))
        return cls(order.id)

    @classmethod
    def _write_commission(cls, order, values):
        # written even when unchanged: a concurrent locker must see the row
        # changed to fail to serialize rather than decide on a stale state
        values = dict(values)
        values.setdefault('commission_state', order.commission_state)
        cls.write([order], values)
        return cls(order.id)

    # --- the entries ---

    def _commission_key(self, generation, step, kind):
        return f'duoduo.pdd.order:{self.id}:{generation}:{step}:{kind}'

    def _cause(self, step, order_status):
        "What an entry of the step says of its cause (what finance reads)"
        return {
            'origin': self,
            'order_status': order_status,
            'description': stored_text(
                f'duoduo_commission.msg_entry_{step}', order=self.order_sn),
            }

    @classmethod
    def _accrue(cls, order, generation, order_status):
        Entry = Pool().get('duoduo.ledger.entry')
        shares, remainder = order.commission_split()
        for kind in [BUYER_KIND, TEAM_KIND]:
            lines = [{
                    'account': 'member_pending',
                    'member': share.member,
                    'amount': share.amount,
                    } for share in shares if share.kind == kind]
            if kind == BUYER_KIND and remainder:
                lines.append({
                        'account': 'platform_margin',
                        'member': None,
                        'amount': remainder,
                        })
            total = sum((line['amount'] for line in lines), Decimal('0.00'))
            if not total:
                continue
            lines.append({
                    'account': 'pdd_receivable',
                    'member': None,
                    'amount': -total,
                    })
            Entry.post(order._commission_key(generation, 'accrue', kind),
                lines, kind, **order._cause('accrue', order_status))

    @classmethod
    def _entries(cls, keys):
        Entry = Pool().get('duoduo.ledger.entry')
        entries = Entry.search([('key', 'in', keys)])
        entries.sort(key=lambda e: keys.index(e.key))
        return entries

    def _accruals(self, generation):
        return self._entries([
                self._commission_key(generation, 'accrue', t)
                for t in [BUYER_KIND, TEAM_KIND]])

    def _settlements(self, generation, step):
        return self._entries([
                self._commission_key(generation, f'settle{step}', t)
                for t in [BUYER_KIND, TEAM_KIND]])

    @classmethod
    def _settle(cls, order, generation, step, order_status):
        "Move the generation's frozen shares to available"
        Entry = Pool().get('duoduo.ledger.entry')
        for accrual in order._accruals(generation):
            lines = []
            for line in accrual.lines:
                if line.account != 'member_pending' or not line.amount:
                    continue
                lines.append({'account': 'member_pending',
                        'member': line.member, 'amount': -line.amount})
                lines.append({'account': 'member_available',
                        'member': line.member, 'amount': line.amount})
            if lines:
                Entry.post(order._commission_key(generation, f'settle{step}',
                        accrual.kind), lines, accrual.kind,
                    **order._cause('settle', order_status))

    @classmethod
    def _unsettle(cls, order, generation, step, order_status):
        "Undo the last settlement: available back to pending (a regression)"
        Entry = Pool().get('duoduo.ledger.entry')
        for settlement in order._settlements(generation, step - 1):
            Entry.reverse(settlement, order._commission_key(generation,
                    f'unsettle{step}', settlement.kind),
                kind=settlement.kind,
                **order._cause('unsettle', order_status))

    @classmethod
    def _reverse_generation(cls, order, order_status):
        """Reverse every entry of the order's generation still in effect;
        the values to write on the order"""
        Entry = Pool().get('duoduo.ledger.entry')
        generation = order.commission_generation
        entries = order._accruals(generation)
        if order.commission_state == AVAILABLE:
            entries += order._settlements(
                generation, order.commission_step)
        for entry in entries:
            Entry.reverse(entry, f'{entry.key}:reversed',
                kind=REVERSAL_KIND,
                **order._cause('reverse', order_status))
        return {'commission_state': REVERSED}

    # --- what the member reads ---

    def member_share_estimate(self):
        """The buyer's current share of the order (pub_share_pre_fee): their
        lines on it in the ledger (accruals minus reversals, on the cash
        accounts), or, before anything is booked, their share under the
        plan by the order's team snapshot"""
        pool = Pool()
        Line = pool.get('duoduo.ledger.line')
        Entry = pool.get('duoduo.ledger.entry')
        if not self.member:
            return Decimal('0.00')
        if self.commission_state:
            line = Line.__table__()
            cursor = Transaction().connection.cursor()
            cursor.execute(*line.select(sum_money(amount_column(line)),
                    where=(line.origin == order_origin(self.id))
                    & (line.member == self.member.id)
                    & line.account.in_(CASH_ACCOUNTS)
                    & line.kind.in_(list(Entry.income_kinds()))))
            amount, = cursor.fetchone()
            return money(amount)
        if phase(self.order_status) in {None, REVERSED}:
            return Decimal('0.00')
        shares, _ = self.commission_split()
        return sum((s.amount for s in shares
                if int(s.member) == self.member.id), Decimal('0.00'))

    # --- orders stored before the module was activated ---

    @classmethod
    def book_unbooked(cls):
        """Book the commission of the orders that have a phase but were never
        booked (stored before duoduo_commission was activated): the count
        of orders booked. Run daily by a cron, and at its first tick after
        activation."""
        orders = cls.search([
                ('commission_state', '=', None),
                ('order_status', 'in', list(PHASES)),
                ], order=[('id', 'ASC')])
        for order in orders:
            cls.process_commission(order, order.order_status)
        return len(orders)

    @classmethod
    def view_attributes(cls):
        return super().view_attributes() + [
            ('//page[@id="commission"]', 'states', {
                    'invisible': ~Eval('team_snapshot_at')
                    & ~Eval('commission_state'),
                    }),
            ]

    # --- team statistics ---

    @classmethod
    def _clear_statistics_cache(cls):
        transaction = Transaction()
        transaction.counter += 1
        for cache in transaction.cache.values():
            cache.pop(cls.__name__, None)

    @classmethod
    def count_in_statistics(cls, orders):
        """Bring the statistics to what the orders count for now: nothing
        when they already are"""
        Statistic = Pool().get('duoduo.team.statistic')
        table = cls.__table__()
        cursor = _cursor()
        changed = False
        for order in orders:
            wanted = order_counted_for(
                order.member.id if order.member else None,
                order.commission_state, order.order_pay_time,
                order.order_create_time, order.promotion_amount)
            stored = None
            if order.statistics_member:
                stored = (order.statistics_member.id, order.statistics_day,
                    (order.statistics_amount or ZERO).quantize(CENT))
            if wanted == stored:
                continue
            if stored:
                Statistic.count_order(stored, -1)
            if wanted:
                Statistic.count_order(wanted, 1)
            member_id, day, amount = wanted or (None, None, None)
            cursor.execute(*table.update(
                    [table.statistics_member, table.statistics_day,
                        table.statistics_amount],
                    [member_id, day, amount], where=table.id == order.id))
            changed = True
        if changed:
            cls._clear_statistics_cache()
