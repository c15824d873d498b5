"""What the ledger adds to members: their balances (sums of their lines,
searchable for finance: negative available balances are members who owe a
reversal), their income as the mini-program shows it, and their money
history."""
import datetime as dt
import operator
from decimal import Decimal

from sql import Literal, Null
from sql.aggregate import Count
from sql.operators import (
    Equal, Greater, GreaterEqual, Less, LessEqual, NotEqual)

from trytond import backend
from trytond.model import fields
from trytond.modules.duoduo_base.tools import (
    month_start, next_month, shanghai_bounds, shanghai_date)
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

from .income import WALLET_ACCOUNTS
from .ledger import BALANCE_FIELDS, ZERO, amount_column, money, sum_money
# the status of a history row
PENDING_STATUS, SETTLED_STATUS, VOID_STATUS = 0, 1, 2
MAX_PAGE_SIZE = 100
OPERATORS = {
    '=': (Equal, operator.eq),
    '!=': (NotEqual, operator.ne),
    '<': (Less, operator.lt),
    '<=': (LessEqual, operator.le),
    '>': (Greater, operator.gt),
    '>=': (GreaterEqual, operator.ge),
    }


class Member(metaclass=PoolMeta):
    __name__ = 'duoduo.member'

    balance_pending = fields.Function(fields.Numeric(
            "Pending", digits=(16, 2),
            help="Income waiting to be settled (frozen)."),
        'get_balances', searcher='search_balance')
    balance_available = fields.Function(fields.Numeric(
            "Available", digits=(16, 2),
            help="Money the member may withdraw; negative when a reversal "
            "took back more than was left."),
        'get_balances', searcher='search_balance')
    balance_withdrawing = fields.Function(fields.Numeric(
            "Withdrawing", digits=(16, 2),
            help="Withdrawals asked for and not paid yet."),
        'get_balances', searcher='search_balance')
    balance_paid = fields.Function(fields.Numeric(
            "Paid Out", digits=(16, 2),
            help="Withdrawals paid to the member."),
        'get_balances', searcher='search_balance')
    balance_points = fields.Function(fields.Numeric(
            "Points", digits=(16, 2),
            help="The member's points: earned minus spent."),
        'get_balances', searcher='search_balance')

    # --- balances ---

    @classmethod
    def get_balances(cls, members, names):
        Line = Pool().get('duoduo.ledger.line')
        balances = Line.member_balances(
            members, [BALANCE_FIELDS[n] for n in names])
        return {name: {m.id: balances[m.id][BALANCE_FIELDS[name]]
                for m in members}
            for name in names}

    @classmethod
    def search_balance(cls, name, clause):
        """Members whose balance `name` compares to the value: a grouped sum
        of the account's lines; members without lines hold 0.00"""
        Line = Pool().get('duoduo.ledger.line')
        line = Line.__table__()
        _, operator_, value = clause[:3]
        if operator_ not in OPERATORS or value is None:
            # e.g. "in", "like": the lists' filters compare; nothing else
            # matches a sum
            return [('id', '=', -1)]
        sql_operator, python_operator = OPERATORS[operator_]
        value = Decimal(str(value))
        account = BALANCE_FIELDS[name]
        total = sum_money(amount_column(line))
        bound = value
        if backend.name == 'sqlite':
            # sum_money adds integer fen there
            bound = value * 100
            bound = int(bound) if bound == int(bound) else float(bound)
        having = line.select(line.member,
            where=(line.account == account) & (line.member != Null),
            group_by=[line.member],
            having=sql_operator(total, bound))
        domain = [('id', 'in', having)]
        if python_operator(ZERO, value):
            # members with no line on the account hold 0.00 too
            with_lines = line.select(line.member,
                where=(line.account == account) & (line.member != Null))
            domain = ['OR', domain, [('id', 'not in', with_lines)]]
        return domain

    # --- income ---

    @classmethod
    def incomes(cls, members, at=None):
        """{member id: {balance, total_income, today_income}} as "my" page
        shows them.

        balance: available; total_income: the cash accounts' lines of the
        income kinds (accruals minus reversals: settlements net to zero per
        member, withdrawals are not income); today_income: the same posted
        in the Asia/Shanghai day holding `at` (naive UTC, default now).

        Read from the members' daily income rows (duoduo.ledger.member_day,
        derived from the lines), not from the lines: a team leader has a
        line for every team order."""
        MemberDay = Pool().get('duoduo.ledger.member_day')
        return MemberDay.incomes(members, at=at)

    def get_info(self):
        info = super().get_info()
        info.update(self.incomes([self])[self.id])
        return info

    def income_overview(self, at=None):
        """GET /user/income/: Decimal figures at `at` (naive UTC, default
        now), days and months of Asia/Shanghai.

        total_income: the income kinds on the cash accounts (accruals minus
        reversals); available_balance: member_available (negative when a
        reversal took back more than was left); frozen_balance:
        member_pending + member_withdrawing (what cannot be withdrawn
        now); today/yesterday/month_income: the income posted that day or
        month; total_withdraw: member_paid; pending_income: member_pending
        (awaiting settlement)."""
        MemberDay = Pool().get('duoduo.ledger.member_day')
        table = MemberDay.__table__()
        today = shanghai_date(at)
        one_day = dt.timedelta(days=1)
        income = MemberDay.income_condition
        return MemberDay.sums([self], table, {
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

    # --- money history ---

    def money_history(self, kinds=None, start=None, end=None,
            offset=0, limit=20):
        """GET /user/moneyhistory/: (total, rows), newest first.

        A row per ledger entry that changes the member's money held
        (member_pending + member_available; a settlement only moves it from
        one to the other: its time is the accrual row's settle_time).
        kinds: the entry kinds to list (None: all); start, end: naive UTC
        bounds of posted_at, start ≤ posted_at < end.

        A row: {entry (record), amount (the member's net, Decimal), status
        (PENDING_STATUS, SETTLED_STATUS or VOID_STATUS), settled_at}."""
        Entry = Pool().get('duoduo.ledger.entry')
        cursor = Transaction().connection.cursor()
        total = self._history_total(kinds, start, end)
        grouped = self._history_rows(kinds, start, end)
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
                    'entry': entry,
                    'amount': amount,
                    'status': status,
                    'settled_at': settled_at,
                    })
        return total, rows

    def _history_rows(self, kinds, start, end):
        """SQL: (entry, posted_at, net) of the member's history rows posted
        in [start, end) (None: unbounded) of the kinds (None: all)"""
        Line = Pool().get('duoduo.ledger.line')
        line = Line.__table__()
        where = ((line.member == self.id)
            & line.account.in_(WALLET_ACCOUNTS))
        if kinds is not None:
            where &= line.kind.in_(list(kinds) or [None])
        if start is not None:
            where &= line.posted_at >= start
        if end is not None:
            where &= line.posted_at < end
        net = sum_money(amount_column(line))
        return line.select(line.entry, line.posted_at, net.as_('net'),
            where=where, group_by=[line.entry, line.posted_at],
            having=net != 0)

    def _history_total(self, kinds, start, end):
        """How many history rows in [start, end): the whole Asia/Shanghai
        days from the daily counts (duoduo.ledger.history_day), the parts of
        days at either end from those days' lines only; never a count of all
        the member's lines"""
        HistoryDay = Pool().get('duoduo.ledger.history_day')
        cursor = Transaction().connection.cursor()

        def count_lines(start, end):
            if start is not None and end is not None and start >= end:
                return 0
            rows = self._history_rows(kinds, start, end)
            cursor.execute(*rows.select(Count(Literal(1))))
            return cursor.fetchone()[0]

        def day_start(day):
            return shanghai_bounds(day, day)[0]

        if start is not None and end is not None and start >= end:
            return 0
        first_day = last_day = None     # the whole days: [first, last)
        total = 0
        if start is not None:
            first_day = shanghai_date(start)
            if start != day_start(first_day):
                first_day += dt.timedelta(days=1)
                part_end = day_start(first_day)
                if end is not None and end <= part_end:
                    return count_lines(start, end)
                total += count_lines(start, part_end)
        if end is not None:
            last_day = shanghai_date(end)
            if end != day_start(last_day):
                part_start = day_start(last_day)
                total += count_lines(part_start, end)
        if (first_day is None or last_day is None
                or first_day < last_day):
            total += HistoryDay.count(self, kinds, first_day, last_day)
        return total

    @classmethod
    def _history_statuses(cls, entries):
        """{entry id: (status, settled at)} of history rows: an entry is
        final when posted (settled at its posting); addons whose entries
        wait for a settlement say otherwise"""
        return {e.id: (SETTLED_STATUS, e.posted_at) for e in entries}
