"""A member's income per day, derived from the ledger.

`duoduo.ledger.member_day` holds, per member, Asia/Shanghai day, member
account and kind, the sum of the member's ledger lines: derived from the
lines, added to by `Entry.on_posted` in the posting transaction
(counter.add_to, so concurrent postings add up), never edited. A team
leader has a line for every team order: the figures of "my" page, the
income overview and the year history read these rows (at most one per day,
account and kind) instead of summing lines. `MemberDay.recompute` rebuilds
it from the lines; the tests check it equals them."""
import collections
import datetime as dt
from decimal import Decimal

from sql import Literal, Null
from sql.aggregate import Sum
from sql.conditionals import Case

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.modules.duoduo_base.tools import shanghai_date
from trytond.pool import Pool
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from . import counter
from .exceptions import LedgerChangeError
from .ledger import (
    CASH_ACCOUNTS, ZERO, amount_column, in_ids, money, sum_money)

# the money a member holds: income arrives there (frozen, then available)
# and withdrawals leave from there; a money history row is an entry that
# changes it (a settlement moves pending to available: no row)
WALLET_ACCOUNTS = ['member_pending', 'member_available']


class DerivedFromLines:
    """Rows derived from the ledger lines: built from them when the table is
    created (a database that already has lines), rebuilt by recompute(),
    added to in SQL in the posting transaction (counter.add_to), never
    created, written nor deleted through the ORM.

    A model says its key columns (_derived_keys, the conflict target of
    counter.add_to), the column it adds to (_derived_value) and how to read
    {key tuple: value} from the lines (from_lines)."""
    __slots__ = ()
    _derived_keys = ()
    _derived_value = None

    @classmethod
    def __register__(cls, module):
        created = not backend.TableHandler.table_exist(cls._table)
        super().__register__(module)
        if created:
            cls.recompute()

    @classmethod
    def get_kinds(cls):
        return Pool().get('duoduo.ledger.entry').kind.selection

    @classmethod
    def create(cls, vlist):
        raise LedgerChangeError(gettext(
                'duoduo_ledger.msg_ledger_derived'))

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        super().check_modification(
            mode, records, values=values, external=external)
        if mode in {'write', 'delete'} and records:
            raise LedgerChangeError(gettext(
                    'duoduo_ledger.msg_ledger_derived'))

    @classmethod
    def from_lines(cls):
        "{key tuple: value} read from the ledger lines (zeros left out)"
        raise NotImplementedError

    @classmethod
    def add(cls, deltas):
        "Add {key tuple: value} to the rows, in key order"
        for key, delta in sorted(deltas.items()):
            counter.add_to(cls, dict(zip(cls._derived_keys, key)),
                {cls._derived_value: delta})

    @classmethod
    def recompute(cls):
        "Rebuild every row from the ledger lines"
        table = cls.__table__()
        transaction = Transaction()
        cursor = transaction.connection.cursor()
        cursor.execute(*table.delete())
        columns = [getattr(table, n)
            for n in [*cls._derived_keys, cls._derived_value]]
        rows = sorted(cls.from_lines().items())
        now = dt.datetime.now()
        for sub_rows in grouped_slice(rows, 500):
            cursor.execute(*table.insert(
                    columns + [table.create_uid, table.create_date],
                    [[*key, value, transaction.user, now]
                        for key, value in sub_rows]))


class MemberDay(DerivedFromLines, ModelSQL, ModelView):
    """Member Income per Day

    The sum of a member's ledger lines per Asia/Shanghai day, account and
    money type: derived from the ledger, never edited."""
    __name__ = 'duoduo.ledger.member_day'
    _derived_keys = ('member', 'day', 'account', 'kind')
    _derived_value = 'amount'

    member = fields.Many2One('duoduo.member', "Member", required=True,
        readonly=True, ondelete='RESTRICT')
    day = fields.Date("Day", required=True, readonly=True,
        help="The Asia/Shanghai date the lines were posted on.")
    account = fields.Selection('get_accounts', "Account",
        required=True, readonly=True, sort=False)
    kind = fields.Selection('get_kinds', "Kind", required=True,
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
                Unique(t, t.member, t.day, t.account, t.kind),
                'duoduo_ledger.msg_member_day_unique'),
            ]
        cls._sql_indexes.add(
            Index(t, (t.member, Index.Equality()), (t.day, Index.Range())))
        cls._order = [('day', 'DESC'), ('id', 'DESC')]

    @classmethod
    def default_amount(cls):
        return ZERO

    @classmethod
    def get_accounts(cls):
        Line = Pool().get('duoduo.ledger.line')
        member_accounts = Line.member_accounts()
        return [(a, n) for a, n in Line.account.selection
            if a in member_accounts]

    @classmethod
    def add_entries(cls, entries):
        "Add the member lines of the entries just posted"
        deltas = collections.defaultdict(Decimal)
        for entry in entries:
            day = shanghai_date(entry.posted_at)
            for line in entry.lines:
                if line.member:
                    deltas[line.member.id, day, line.account,
                        entry.kind] += line.amount
        cls.add(deltas)

    @classmethod
    def from_lines(cls):
        """{(member id, day, account, kind): Decimal} summed from the
        ledger lines (zero sums left out)"""
        Line = Pool().get('duoduo.ledger.line')
        line = Line.__table__()
        cursor = Transaction().connection.cursor()
        # lines of one entry share posted_at: a row per member and entry
        cursor.execute(*line.select(line.member, line.account,
                line.kind, line.posted_at,
                sum_money(amount_column(line)),
                where=line.member != Null,
                group_by=[line.member, line.account, line.kind,
                    line.posted_at]))
        result = collections.defaultdict(Decimal)
        for member, account, kind, posted_at, amount in cursor:
            if isinstance(posted_at, str):
                posted_at = dt.datetime.fromisoformat(posted_at)
            result[member, shanghai_date(posted_at), account,
                kind] += money(amount)
        return {k: v for k, v in result.items() if v}

    @classmethod
    def stored(cls):
        "{(member id, day, account, kind): Decimal}, zeros left out"
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(table.member, table.day, table.account,
                table.kind, sum_money(amount_column(table)),
                group_by=[table.member, table.day, table.account,
                    table.kind]))
        result = {}
        for member, day, account, kind, amount in cursor:
            if isinstance(day, str):
                day = dt.date.fromisoformat(day)
            amount = money(amount)
            if amount:
                result[member, day, account, kind] = amount
        return result

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
        (the member's get_info)"""
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
        """Income (the income kinds on the cash accounts) of the days in
        [start, end)"""
        Entry = Pool().get('duoduo.ledger.entry')
        condition = (table.account.in_(CASH_ACCOUNTS)
            & table.kind.in_(list(Entry.income_kinds())))
        if start is not None:
            condition &= table.day >= start
        if end is not None:
            condition &= table.day < end
        return condition


class HistoryDay(DerivedFromLines, ModelSQL, ModelView):
    """Member Money History per Day

    How many rows a member's money history has per Asia/Shanghai day and
    kind: entries that change the money the member holds (pending +
    available). Derived from the ledger like the daily income, so that the
    history's total is a sum of days, not a count of a leader's lines."""
    __name__ = 'duoduo.ledger.history_day'
    _derived_keys = ('member', 'day', 'kind')
    _derived_value = 'rows'

    member = fields.Many2One('duoduo.member', "Member", required=True,
        readonly=True, ondelete='RESTRICT')
    day = fields.Date("Day", required=True, readonly=True)
    kind = fields.Selection('get_kinds', "Kind", required=True,
        readonly=True, sort=False)
    rows = fields.Integer("Rows", required=True, readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('history_day_unique', Unique(t, t.member, t.day, t.kind),
                'duoduo_ledger.msg_history_day_unique'),
            ]
        cls._sql_indexes.add(
            Index(t, (t.member, Index.Equality()), (t.day, Index.Range())))
        cls._order = [('day', 'DESC'), ('id', 'DESC')]

    @classmethod
    def default_rows(cls):
        return 0

    @classmethod
    def add_entries(cls, entries):
        "Count the history rows of the entries just posted"
        counts = collections.Counter()
        for entry in entries:
            day = shanghai_date(entry.posted_at)
            nets = collections.defaultdict(Decimal)
            for line in entry.lines:
                if line.member and line.account in WALLET_ACCOUNTS:
                    nets[line.member.id] += line.amount
            for member, net in nets.items():
                if net:
                    counts[member, day, entry.kind] += 1
        cls.add(counts)

    @classmethod
    def from_lines(cls):
        "{(member id, day, kind): rows} counted from the ledger lines"
        Line = Pool().get('duoduo.ledger.line')
        line = Line.__table__()
        cursor = Transaction().connection.cursor()
        net = sum_money(amount_column(line))
        cursor.execute(*line.select(line.member, line.kind, line.posted_at,
                where=(line.member != Null)
                & line.account.in_(WALLET_ACCOUNTS),
                group_by=[line.member, line.entry, line.kind,
                    line.posted_at],
                having=net != 0))
        result = collections.Counter()
        for member, kind, posted_at in cursor:
            if isinstance(posted_at, str):
                posted_at = dt.datetime.fromisoformat(posted_at)
            result[member, shanghai_date(posted_at), kind] += 1
        return dict(result)

    @classmethod
    def stored(cls):
        "{(member id, day, kind): rows}, zeros left out"
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(table.member, table.day, table.kind,
                table.rows, where=table.rows != 0))
        result = {}
        for member, day, kind, rows in cursor:
            if isinstance(day, str):
                day = dt.date.fromisoformat(day)
            result[member, day, kind] = rows
        return result

    @classmethod
    def count(cls, member, kinds=None, start_day=None, end_day=None):
        """The member's history rows of the days in [start_day, end_day)
        (None: unbounded) and kinds (None: all)"""
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        where = table.member == int(member)
        if kinds is not None:
            where &= table.kind.in_(list(kinds) or [None])
        if start_day is not None:
            where &= table.day >= start_day
        if end_day is not None:
            where &= table.day < end_day
        cursor.execute(*table.select(Sum(table.rows), where=where))
        total, = cursor.fetchone()
        return int(total or 0)
