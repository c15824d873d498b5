"""A member's income as the mini-program shows it (收益模块).

`duoduo.ledger.member_day` holds, per member, Asia/Shanghai day, member
account and money_type, the sum of the member's ledger lines: derived from
the lines, added to by `Entry.on_posted` in the posting transaction
(counter.add_to, so concurrent postings add up), never edited. A team
leader has a line for every team order: the figures of /user/income/,
/user/my_info/ and the year history read these rows (at most one per day,
account and type) instead of summing lines. `MemberDay.recompute` rebuilds
it from the lines; the tests check it equals them.

The money history (/user/moneyhistory/) lists ledger entries, so it reads
the member's lines, by the member/account/posted_at index, a page at a
time."""
import collections
import datetime as dt
from decimal import Decimal

from sql import Cast, Literal, Null
from sql.aggregate import Count
from sql.conditionals import Case

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.pool import Pool, PoolMeta
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from . import counter
from .exceptions import LedgerChangeError
from .ledger import (
    ACCOUNTS, CASH_ACCOUNTS, INCOME_MONEY_TYPES, MEMBER_ACCOUNTS, MONEY_TYPES,
    ZERO, amount_column, in_ids, money, shanghai_bounds, shanghai_date,
    sum_money)

# the money the member holds: income arrives there (frozen, then
# available) and withdrawals leave from there; a history row is an entry
# that changes it (settlements move pending to available: no row)
WALLET_ACCOUNTS = ['member_pending', 'member_available']
# the contract's money_type names (收益明细 money_type_name)
MONEY_TYPE_NAMES = {
    1: '拉新', 2: '佣金', 3: '提成', 4: '补贴', 5: '维权', 6: '取现'}
PENDING_STATUS, SETTLED_STATUS, VOID_STATUS = 0, 1, 2
STATUS_NAMES = {
    PENDING_STATUS: '待结算', SETTLED_STATUS: '已结算', VOID_STATUS: '已失效'}
PERIODS = ['today', 'month', 'total']
MAX_PAGE_SIZE = 100


def unix_time(value):
    "Naive UTC datetime → UNIX seconds (0 for None)"
    if not value:
        return 0
    return int(value.replace(tzinfo=dt.timezone.utc).timestamp())


def from_unix_time(value):
    "UNIX seconds → naive UTC datetime"
    return dt.datetime.fromtimestamp(int(value), dt.timezone.utc).replace(
        tzinfo=None)


def month_start(day):
    return day.replace(day=1)


def next_month(day):
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def numeric(column):
    "A Numeric column to add exactly with sum_money"
    if backend.name == 'sqlite':
        return Cast(column, 'NUMERIC')
    return column


class MemberDay(ModelSQL, ModelView):
    """Member Income per Day

    The sum of a member's ledger lines per Asia/Shanghai day, account and
    money type: derived from the ledger, never edited."""
    __name__ = 'duoduo.ledger.member_day'

    member = fields.Many2One('duoduo.member', "Member", required=True,
        readonly=True, ondelete='RESTRICT')
    day = fields.Date("Day", required=True, readonly=True,
        help="The Asia/Shanghai date the lines were posted on.")
    account = fields.Selection(
        [(a, n) for a, n in ACCOUNTS if a in MEMBER_ACCOUNTS], "Account",
        required=True, readonly=True, sort=False)
    money_type = fields.Selection(MONEY_TYPES, "Money Type", required=True,
        readonly=True, sort=False)
    amount = fields.Numeric("Amount", digits=(16, 2), required=True,
        readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        # the conflict target of counter.add_to
        cls._sql_constraints += [
            ('member_day_unique',
                Unique(t, t.member, t.day, t.account, t.money_type),
                'duoduo_commission.msg_member_day_unique'),
            ]
        cls._sql_indexes.add(
            Index(t, (t.member, Index.Equality()), (t.day, Index.Range())))
        cls._order = [('day', 'DESC'), ('id', 'DESC')]

    @classmethod
    def __register__(cls, module):
        created = not backend.TableHandler.table_exist(cls._table)
        super().__register__(module)
        if created:
            # a database that already has lines: derive the rows from them
            cls.recompute()

    @classmethod
    def default_amount(cls):
        return ZERO

    @classmethod
    def create(cls, vlist):
        # rows are added to in SQL by add_entries, never created through
        # the ORM
        raise LedgerChangeError(gettext(
                'duoduo_commission.msg_member_day_derived'))

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        super().check_modification(
            mode, records, values=values, external=external)
        if mode in {'write', 'delete'} and records:
            raise LedgerChangeError(gettext(
                    'duoduo_commission.msg_member_day_derived'))

    @classmethod
    def add_entries(cls, entries):
        "Add the member lines of the entries just posted"
        deltas = collections.defaultdict(Decimal)
        for entry in entries:
            day = shanghai_date(entry.posted_at)
            for line in entry.lines:
                if line.member:
                    deltas[line.member.id, day, line.account,
                        entry.money_type] += line.amount
        for (member, day, account, money_type), amount in sorted(
                deltas.items()):
            counter.add_to(cls, {
                    'member': member,
                    'day': day,
                    'account': account,
                    'money_type': money_type,
                    }, {'amount': amount})

    @classmethod
    def from_lines(cls):
        """{(member id, day, account, money_type): Decimal} summed from the
        ledger lines (zero sums left out)"""
        Line = Pool().get('duoduo.ledger.line')
        line = Line.__table__()
        cursor = Transaction().connection.cursor()
        # lines of one entry share posted_at: a row per member and entry
        cursor.execute(*line.select(line.member, line.account,
                line.money_type, line.posted_at,
                sum_money(amount_column(line)),
                where=line.member != Null,
                group_by=[line.member, line.account, line.money_type,
                    line.posted_at]))
        result = collections.defaultdict(Decimal)
        for member, account, money_type, posted_at, amount in cursor:
            if isinstance(posted_at, str):
                posted_at = dt.datetime.fromisoformat(posted_at)
            result[member, shanghai_date(posted_at), account,
                money_type] += money(amount)
        return {k: v for k, v in result.items() if v}

    @classmethod
    def stored(cls):
        "{(member id, day, account, money_type): Decimal}, zeros left out"
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(table.member, table.day, table.account,
                table.money_type, sum_money(amount_column(table)),
                group_by=[table.member, table.day, table.account,
                    table.money_type]))
        result = {}
        for member, day, account, money_type, amount in cursor:
            if isinstance(day, str):
                day = dt.date.fromisoformat(day)
            amount = money(amount)
            if amount:
                result[member, day, account, money_type] = amount
        return result

    @classmethod
    def recompute(cls):
        "Rebuild every row from the ledger lines"
        table = cls.__table__()
        transaction = Transaction()
        cursor = transaction.connection.cursor()
        cursor.execute(*table.delete())
        rows = sorted(cls.from_lines().items())
        now = dt.datetime.now()
        for sub_rows in grouped_slice(rows, 500):
            cursor.execute(*table.insert([table.member, table.day,
                        table.account, table.money_type, table.amount,
                        table.create_uid, table.create_date],
                    [[m, d, a, t, amount, transaction.user, now]
                        for (m, d, a, t), amount in sub_rows]))

    @classmethod
    def sums(cls, members, table, columns):
        """{member id: {name: Decimal}} of the members' rows, one query (per
        slice): columns {name: SQL condition on table, cls.__table__()}"""
        cursor = Transaction().connection.cursor()
        amount = amount_column(table)
        names = list(columns)
        ids = [int(m) for m in members]
        result = {i: dict.fromkeys(names, ZERO) for i in ids}
        for sub_ids in grouped_slice(ids, backend.MAX_QUERY_PARAMS):
            cursor.execute(*table.select(table.member,
                    *[sum_money(Case((columns[n], amount),
                                else_=Literal(0)))
                        for n in names],
                    where=in_ids(table.member, sub_ids),
                    group_by=[table.member]))
            for member_id, *totals in cursor:
                result[member_id] = {
                    n: money(t) for n, t in zip(names, totals)}
        return result

    @classmethod
    def incomes(cls, members, at=None):
        """{member id: {balance, total_income, today_income}} for "my" page
        (Line.incomes)"""
        table = cls.__table__()
        today = shanghai_date(at)
        return cls.sums(members, table, {
                'balance': table.account == 'member_available',
                'total_income': cls.income_condition(table),
                'today_income': cls.income_condition(
                    table, today, today + dt.timedelta(days=1)),
                })

    @classmethod
    def income_condition(cls, table, start=None, end=None):
        """Income (money types 1–5 on the cash accounts) of the days in
        [start, end)"""
        condition = (table.account.in_(CASH_ACCOUNTS)
            & table.money_type.in_(INCOME_MONEY_TYPES))
        if start is not None:
            condition &= table.day >= start
        if end is not None:
            condition &= table.day < end
        return condition


class Entry(metaclass=PoolMeta):
    __name__ = 'duoduo.ledger.entry'

    @classmethod
    def on_posted(cls, entries):
        super().on_posted(entries)
        Pool().get('duoduo.ledger.member_day').add_entries(entries)


class Member(metaclass=PoolMeta):
    __name__ = 'duoduo.member'

    def income_overview(self, at=None):
        """GET /user/income/: Decimal figures at `at` (naive UTC, default
        now), days and months of Asia/Shanghai.

        total_income: money types 1–5 on the cash accounts (accruals minus
        reversals); available_balance: member_available (negative when a
        reversal took back more than was left); frozen_balance:
        member_pending + member_withdrawing (what cannot be withdrawn
        now); today/yesterday/month_income: the income posted that day or
        month; total_withdraw: member_paid; pending_income: member_pending
        (awaiting PDD's settlement)."""
        MemberDay = Pool().get('duoduo.ledger.member_day')
        table = MemberDay.__table__()
        today = shanghai_date(at)
        one_day = dt.timedelta(days=1)
        income = MemberDay.income_condition
        sums = MemberDay.sums([self], table, {
                'total_income': income(table),
                'available_balance': table.account == 'member_available',
                'frozen_balance': table.account.in_(
                    ['member_pending', 'member_withdrawing']),
                'today_income': income(table, today, today + one_day),
                'yesterday_income': income(table, today - one_day, today),
                'month_income': income(
                    table, month_start(today), next_month(today)),
                'total_withdraw': table.account == 'member_paid',
                'pending_income': table.account == 'member_pending',
                })[self.id]
        return sums

    def year_income(self, year):
        """GET /user/moneyhistory/year_history/: {year, total_income, months:
        [{month, income}] × 12} of the Asia/Shanghai calendar year"""
        MemberDay = Pool().get('duoduo.ledger.member_day')
        table = MemberDay.__table__()
        cursor = Transaction().connection.cursor()
        start, end = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
        cursor.execute(*table.select(table.day,
                sum_money(amount_column(table)),
                where=(table.member == self.id)
                & MemberDay.income_condition(table, start, end),
                group_by=[table.day]))
        months = dict.fromkeys(range(1, 13), ZERO)
        for day, amount in cursor:
            if isinstance(day, str):
                day = dt.date.fromisoformat(day)
            months[day.month] += money(amount)
        return {
            'year': year,
            'total_income': sum(months.values(), ZERO),
            'months': [{'month': m, 'income': a} for m, a in months.items()],
            }

    def money_history(self, money_type=None, start=None, end=None,
            offset=0, limit=20):
        """GET /user/moneyhistory/: (total, rows), newest first.

        A row per ledger entry that changes the member's money held
        (member_pending + member_available; a settlement only moves it from
        one to the other: its time is the accrual row's settle_time).
        money_type: 1–6 or None; start, end: naive UTC bounds of posted_at,
        start ≤ posted_at < end."""
        pool = Pool()
        Line = pool.get('duoduo.ledger.line')
        Entry = pool.get('duoduo.ledger.entry')
        line = Line.__table__()
        cursor = Transaction().connection.cursor()
        where = ((line.member == self.id)
            & line.account.in_(WALLET_ACCOUNTS))
        if money_type is not None:
            where &= line.money_type == str(money_type)
        if start is not None:
            where &= line.posted_at >= start
        if end is not None:
            where &= line.posted_at < end
        net = sum_money(amount_column(line))
        grouped = line.select(line.entry, line.posted_at, net.as_('net'),
            where=where, group_by=[line.entry, line.posted_at],
            having=net != 0)
        cursor.execute(*grouped.select(Count(Literal(1))))
        total, = cursor.fetchone()
        cursor.execute(*grouped.select(grouped.entry, grouped.net,
                order_by=[grouped.posted_at.desc, grouped.entry.desc],
                limit=min(max(limit, 1), MAX_PAGE_SIZE),
                offset=max(offset, 0)))
        page = [(entry_id, money(amount)) for entry_id, amount in cursor]
        entries = Entry.browse([e for e, _ in page])
        statuses = self._history_statuses(entries)
        rows = []
        for entry, (_, amount) in zip(entries, page):
            status, settled_at = statuses[entry.id]
            rows.append({
                    'id': entry.id,
                    'money_type': int(entry.money_type),
                    'money_type_name': MONEY_TYPE_NAMES[
                        int(entry.money_type)],
                    'order_num': entry.order.order_sn if entry.order else '',
                    'count': amount,
                    'status': status,
                    'status_name': STATUS_NAMES[status],
                    'create_time': unix_time(entry.posted_at),
                    'settle_time': unix_time(settled_at),
                    })
        return total, rows

    @classmethod
    def _history_statuses(cls, entries):
        """{entry id: (status, settled at)} of history rows.

        An order's accrual is 待结算 while its generation is current and not
        settled, 已结算 (at its settlement) once settled, 已失效 once its
        generation was reversed. Any other entry (a reversal, a withdrawal,
        a manual adjustment) is final when posted: 已结算 at its posting."""
        pool = Pool()
        Entry = pool.get('duoduo.ledger.entry')
        result = {}
        accruals = {}
        for entry in entries:
            parts = entry.key.split(':')
            if (entry.order and not entry.reversal_of and len(parts) == 5
                    and parts[0] == 'duoduo.pdd.order'
                    and parts[3] == 'accrue'):
                accruals[entry.id] = (entry, int(parts[2]))
            else:
                result[entry.id] = (SETTLED_STATUS, entry.posted_at)
        if not accruals:
            return result
        reversed_ = {e.reversal_of.id for e in Entry.search([
                    ('reversal_of', 'in', list(accruals)),
                    ])}
        settlement_keys = {}
        for entry_id, (entry, generation) in accruals.items():
            order = entry.order
            if entry_id in reversed_:
                result[entry_id] = (VOID_STATUS, None)
            elif (order.commission_state == 'available'
                    and order.commission_generation == generation):
                settlement_keys[order._commission_key(generation,
                        f'settle{order.commission_step}',
                        entry.money_type)] = entry_id
            else:
                result[entry_id] = (PENDING_STATUS, None)
        if settlement_keys:
            settled = {e.key: e.posted_at for e in Entry.search([
                        ('key', 'in', list(settlement_keys)),
                        ])}
            for key, entry_id in settlement_keys.items():
                result[entry_id] = (SETTLED_STATUS, settled.get(key))
        return result

    def own_order_statistics(self, period, at=None):
        """GET /user/order_detail/: {order_count, total_amount,
        total_commission} of the member's own orders (they are the buyer)
        whose commission stands (pending or available, not reversed), paid
        in the Asia/Shanghai day or month holding `at` (or ever: total).

        total_amount: Σ order_amount (元); total_commission: the member's
        current share of those orders in the ledger (their cash-account
        lines of money types 1–5 on them)."""
        pool = Pool()
        Order = pool.get('duoduo.pdd.order')
        Line = pool.get('duoduo.ledger.line')
        if period not in PERIODS:
            raise ValueError(f"unknown period {period!r}")
        order = Order.__table__()
        line = Line.__table__()
        cursor = Transaction().connection.cursor()
        where = ((order.member == self.id)
            & order.commission_state.in_(['pending', 'available']))
        today = shanghai_date(at)
        if period == 'today':
            start, end = shanghai_bounds(today, today + dt.timedelta(days=1))
        elif period == 'month':
            start, end = shanghai_bounds(
                month_start(today), next_month(today))
        if period != 'total':
            where &= (order.order_pay_time >= start) & (
                order.order_pay_time < end)
        cursor.execute(*order.select(Count(order.id),
                sum_money(numeric(order.order_amount)), where=where))
        count, amount = cursor.fetchone()
        cursor.execute(*line.join(order,
                condition=line.order == order.id).select(
                sum_money(amount_column(line)),
                where=where & (line.member == self.id)
                & line.account.in_(CASH_ACCOUNTS)
                & line.money_type.in_(INCOME_MONEY_TYPES)))
        commission, = cursor.fetchone()
        return {
            'order_count': count or 0,
            'total_amount': money(amount),
            'total_commission': money(commission),
            }
