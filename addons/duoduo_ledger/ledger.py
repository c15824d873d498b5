"""The ledger: an append-only double-entry journal of members' money and
points.

Every movement is one entry (`duoduo.ledger.entry`) of lines
(`duoduo.ledger.line`) that add up to zero, in Decimal, fen-exact. A line's
amount is what its account holds: positive is owed to or held by the
holder (a member, the platform), so a receivable is negative while it is
owed.

What caused an entry is its `origin`, a reference to any model an addon
names in `Entry._get_origin()` (a PDD order, a withdrawal, an exchange…).
Accounts and kinds are words: addons add theirs in `__setup__`
(`Line.account`, `Entry.kind`) and say which kinds are income
(`Entry.income_kinds`). Accounts named `member_*` are held by a member,
every other by the platform. Points are accounts of their own
(`member_points` against `platform_points`), never cash.

`Entry.post` is the only writer: it checks the lines, and a key already
posted returns the entry posted under it, unchanged (replaying an event is
a no-op). `Entry.reverse` posts the negation of an entry. Entries and lines
are never written nor deleted, by anybody: corrections are new entries.

Balances are sums of lines (`Line.balance`, `Line.balances`), computed by
the database. PostgreSQL adds NUMERIC exactly; SQLite stores Decimal as
text and would add floats, so there the sums add integer fen.

Concurrency (PostgreSQL): posting takes a transaction-level advisory lock
on the key, so two transactions posting one key run one after the other.
The second may hold a snapshot older than the first's commit and not see
its entry; its insert then hits the unique key and post raises
DatabaseOperationalError, which the RPC dispatcher, the cron and the order
sync answer by running the transaction again; the new run finds the entry.
"""
import collections
import logging
from decimal import Decimal

from sql import Cast, Literal, Null
from sql.aggregate import Sum
from sql.conditionals import Case
from sql.functions import Round

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.model.exceptions import SQLConstraintError
from trytond.modules.duoduo_base import i18n, tools
from trytond.pool import Pool
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access

from .exceptions import LedgerChangeError, LedgerPostError

logger = logging.getLogger(__name__)

# the accounts of the ledger itself; addons append theirs to Line.account
ACCOUNTS = [
    ('member_pending', "Member Pending"),
    ('member_available', "Member Available"),
    ('member_withdrawing', "Member Withdrawing"),
    ('member_paid', "Member Paid Out"),
    ('member_points', "Member Points"),
    ('platform_margin', "Platform Margin"),
    ('platform_points', "Points Issued"),
    ]
# accounts held by a member (and only they carry one)
MEMBER_PREFIX = 'member_'
# the kinds of the ledger itself; addons append theirs to Entry.kind
KINDS = [
    ('subsidy', "Subsidy"),
    ('reversal', "Reversal"),
    ('withdrawal', "Withdrawal"),
    ]
# a member's money in cash: income moves between them (settlement moves
# pending to available, a withdrawal available to withdrawing to paid)
CASH_ACCOUNTS = [
    'member_pending', 'member_available', 'member_withdrawing', 'member_paid']
# Member Function field -> account
BALANCE_FIELDS = {
    'balance_pending': 'member_pending',
    'balance_available': 'member_available',
    'balance_withdrawing': 'member_withdrawing',
    'balance_paid': 'member_paid',
    'balance_points': 'member_points',
    }
CENT = Decimal('0.01')
ZERO = Decimal('0.00')
# Numeric(16, 2)
MAX_AMOUNT = Decimal(10) ** 14
POST_CONTEXT = '_duoduo_ledger_post'  # private: RPC clients cannot set it


def now():
    "The ledger's clock (tests move it)"
    return tools.now()


def sum_money(expression):
    """SQL SUM of a money expression, exact on both databases (read the
    result with `money`)"""
    if backend.name == 'sqlite':
        # SUM would add floats: add integer fen
        return Sum(Cast(Round(expression * 100), 'INTEGER'))
    return Sum(expression)


def money(value):
    "A Decimal in 元 from what `sum_money` answered (None: nothing summed)"
    if value is None:
        return ZERO
    if backend.name == 'sqlite':
        return (Decimal(int(value)) / 100).quantize(CENT)
    return Decimal(value).quantize(CENT)


def amount_column(table):
    "The amount column of ledger lines, to compare or add in SQL"
    if backend.name == 'sqlite':
        # stored as text: compared as text, and added as floats
        return Cast(table.amount, 'NUMERIC')
    return table.amount


def in_ids(column, ids):
    return fields.SQL_OPERATORS['in'](column, [int(i) for i in ids])


def reference(record):
    "A record (or 'model,id' text, or None) as the text a Reference stores"
    if record is None or isinstance(record, str):
        return record or None
    return f'{record.__name__},{record.id}'


def stored_text(message_id, **variables):
    """The text of a message to store with an entry (its description): in
    the language members and staff read ([duoduo] language), whoever posts
    and whatever translations the database loaded"""
    return i18n.file_text(message_id, i18n.member_language(), **variables)


def _id(value):
    "A record, an id or None as an id or None"
    return int(value) if value is not None else None


class ImmutableMixin:
    "Created by Entry.post only; never written nor deleted"
    __slots__ = ()

    @classmethod
    def create(cls, vlist):
        if not Transaction().context.get(POST_CONTEXT):
            raise LedgerChangeError(gettext(
                    'duoduo_ledger.msg_ledger_post_only'))
        return super().create(vlist)

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        super().check_modification(
            mode, records, values=values, external=external)
        # everybody, root included: a wrong entry is corrected by another
        if mode in {'write', 'delete'} and records:
            raise LedgerChangeError(gettext(
                    'duoduo_ledger.msg_ledger_immutable'))


class Entry(ImmutableMixin, ModelSQL, ModelView):
    """Ledger Entry

    One movement of money or points: balanced lines and their cause."""
    __name__ = 'duoduo.ledger.entry'

    key = fields.Char("Key", required=True, readonly=True,
        help="Idempotency key: posting a key again returns this entry.")
    posted_at = fields.DateTime("Posted At", required=True, readonly=True)
    kind = fields.Selection(KINDS, "Kind", required=True, readonly=True,
        sort=False, help="What the movement is to the member.")
    description = fields.Char("Description", readonly=True)
    origin = fields.Reference("Origin", selection='get_origin',
        readonly=True, help="What caused the entry.")
    reversal_of = fields.Many2One('duoduo.ledger.entry', "Reversal Of",
        readonly=True, ondelete='RESTRICT')
    user = fields.Many2One('res.user', "User", readonly=True,
        ondelete='RESTRICT', help="The staff member of a manual entry.")
    reason = fields.Text("Reason", readonly=True)
    lines = fields.One2Many('duoduo.ledger.line', 'entry', "Lines",
        readonly=True)
    total = fields.Function(fields.Numeric("Amount", digits=(16, 2),
            help="The sum of the positive lines."), 'get_total')
    members = fields.Function(fields.Many2Many(
            'duoduo.member', None, None, "Members"),
        'get_members', searcher='search_members')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('key_unique', Unique(t, t.key),
                'duoduo_ledger.msg_ledger_entry_key_unique'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.posted_at, Index.Range())),
                Index(t, (t.origin, Index.Equality())),
                Index(t, (t.reversal_of, Index.Equality())),
                })
        cls._order = [('posted_at', 'DESC'), ('id', 'DESC')]

    @classmethod
    def _get_origin(cls):
        "The models an entry may come from; addons add theirs"
        return []

    @classmethod
    def get_origin(cls):
        IrModel = Pool().get('ir.model')
        models = cls._get_origin()
        return [(None, '')] + [
            (m, IrModel.get_name(m)) for m in models]

    @classmethod
    def income_kinds(cls):
        """The kinds that are a member's income (accruals and their
        reversals; not what moves money out, like withdrawals)"""
        return {'subsidy', 'reversal'}

    @classmethod
    def _cause_fields(cls):
        """The fields `post` takes as the cause of an entry, besides its
        origin; addons add the fields they add to entries"""
        return {'description', 'reversal_of', 'user', 'reason'}

    def get_rec_name(self, name):
        if self.description:
            return self.description
        return self.key

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, value = clause[:3]
        if operator.startswith('!') or operator.startswith('not '):
            bool_op = 'AND'
        else:
            bool_op = 'OR'
        return [bool_op,
            ('description',) + tuple(clause[1:]),
            ('key',) + tuple(clause[1:]),
            ]

    @classmethod
    def get_total(cls, entries, name):
        Line = Pool().get('duoduo.ledger.line')
        line = Line.__table__()
        amount = amount_column(line)
        cursor = Transaction().connection.cursor()
        result = dict.fromkeys(map(int, entries), ZERO)
        for sub_ids in grouped_slice(entries, backend.MAX_QUERY_PARAMS):
            cursor.execute(*line.select(line.entry,
                    sum_money(Case((amount > 0, amount), else_=Literal(0))),
                    where=in_ids(line.entry, map(int, sub_ids)),
                    group_by=[line.entry]))
            for entry_id, total in cursor:
                result[entry_id] = money(total)
        return result

    @classmethod
    def get_members(cls, entries, name):
        Line = Pool().get('duoduo.ledger.line')
        line = Line.__table__()
        cursor = Transaction().connection.cursor()
        result = {e.id: [] for e in entries}
        for sub_ids in grouped_slice(entries, backend.MAX_QUERY_PARAMS):
            cursor.execute(*line.select(line.entry, line.member,
                    where=in_ids(line.entry, map(int, sub_ids))
                    & (line.member != Null),
                    group_by=[line.entry, line.member],
                    order_by=[line.entry, line.member]))
            for entry_id, member_id in cursor:
                result[entry_id].append(member_id)
        return result

    @classmethod
    def search_members(cls, name, clause):
        return [('lines.member',) + tuple(clause[1:])]

    # --- the only way money moves ---

    @classmethod
    def post(cls, key, lines, kind, origin=None, **cause):
        """Post the entry `key` of `lines`, or return the entry already
        posted under `key` (unchanged, nothing written).

        lines: [{'account', 'member' (record, id or None), 'amount'
        (Decimal)}]; kind: one of Entry.kind; origin: the record that caused
        it (a model of _get_origin) or None; cause: the fields of
        _cause_fields (description, reversal_of, user, reason, …). Raises
        LedgerPostError for lines that are not fen Decimals, that leave a
        member out or put one in where none goes, or that do not add up to
        zero."""
        pool = Pool()
        Line = pool.get('duoduo.ledger.line')
        unknown = set(cause) - cls._cause_fields()
        if unknown:
            raise TypeError(f"unknown causes: {', '.join(sorted(unknown))}")
        if not isinstance(key, str) or not key.strip():
            raise LedgerPostError(gettext(
                    'duoduo_ledger.msg_ledger_key_required'))
        if kind not in cls.kinds():
            raise LedgerPostError(gettext(
                    'duoduo_ledger.msg_ledger_kind_invalid',
                    key=key, kind=kind))
        origin = reference(origin)
        if origin and origin.split(',')[0] not in cls._get_origin():
            raise LedgerPostError(gettext(
                    'duoduo_ledger.msg_ledger_origin_invalid',
                    key=key, origin=origin))
        lines = [Line.check_post_values(key, values) for values in lines]
        if len(lines) < 2:
            raise LedgerPostError(gettext(
                    'duoduo_ledger.msg_ledger_too_few_lines', key=key))
        total = sum((line['amount'] for line in lines), ZERO)
        if total != 0:
            raise LedgerPostError(gettext(
                    'duoduo_ledger.msg_ledger_unbalanced',
                    key=key, total=total))
        cause = {name: (_id(value)
                if isinstance(cls._fields[name], fields.Many2One)
                else value)
            for name, value in cause.items()}

        with without_check_access():
            tools.advisory_lock(f'duoduo.ledger.entry:{key}', timeout=True)
            entry = cls._posted(key)
            if entry:
                entry._check_replay(lines, kind)
                return entry
            posted_at = now()
            common = {
                'kind': kind,
                'origin': origin,
                'posted_at': posted_at,
                }
            values = dict(cause, key=key, **common,
                lines=[('create', [dict(line, **common) for line in lines])])
            try:
                with Transaction().set_context(**{POST_CONTEXT: True}):
                    entry, = cls.create([values])
            except (SQLConstraintError, backend.DatabaseIntegrityError):
                if cls._posted_elsewhere(key):
                    # posted and committed after this transaction's snapshot
                    raise backend.DatabaseOperationalError(
                        f"ledger entry {key!r} was posted by a concurrent "
                        "transaction; run this one again")
                raise
            cls.on_posted([entry])
        return entry

    @classmethod
    def adjust(cls, key, member, amount, kind, reason, user):
        """Post under `key` a manual adjustment by the staff `user`: `amount`
        to the member's available balance, against the platform margin"""
        return cls.post(key, [{
                    'account': 'member_available',
                    'member': member,
                    'amount': amount,
                    }, {
                    'account': 'platform_margin',
                    'member': None,
                    'amount': -amount,
                    }], kind,
            description=stored_text('duoduo_ledger.msg_adjustment_description'),
            user=user, reason=reason)

    @classmethod
    def kinds(cls):
        "The kinds entries may have"
        return {k for k, _ in cls.kind.selection}

    @classmethod
    def on_posted(cls, entries):
        """Called in the posting transaction with the entries just posted
        (never for a replayed key): the place to keep aggregates derived
        from the lines (statistics, level rules) up to date. Extensions call
        super()."""
        pool = Pool()
        pool.get('duoduo.ledger.member_day').add_entries(entries)
        pool.get('duoduo.ledger.history_day').add_entries(entries)

    @classmethod
    def reverse(cls, entry, key, kind='reversal', **cause):
        """Post under `key` the entry that undoes `entry`: every line
        negated, reversal_of = entry; the origin defaults to entry's"""
        cause.setdefault('origin', entry.origin)
        cause.setdefault('description', stored_text(
                'duoduo_ledger.msg_ledger_reversal_description',
                entry=entry.rec_name))
        cause['reversal_of'] = entry
        lines = [{
                'account': line.account,
                'member': line.member,
                'amount': -line.amount,
                } for line in entry.lines]
        return cls.post(key, lines, kind, **cause)

    @classmethod
    def _posted(cls, key):
        entries = cls.search([('key', '=', key)], limit=1)
        return entries[0] if entries else None

    @classmethod
    def _posted_elsewhere(cls, key):
        "Whether a committed entry has the key, whatever this snapshot sees"
        if backend.name != 'postgresql':
            return False
        table = cls.__table__()
        transaction = Transaction()
        with transaction.new_transaction(readonly=True) as fresh:
            cursor = fresh.connection.cursor()
            cursor.execute(*table.select(table.id, where=table.key == key))
            return cursor.fetchone() is not None

    def _check_replay(self, lines, kind):
        "Log a replay whose lines differ: a key reused for another movement"
        def signature(lines):
            return collections.Counter(
                (l['account'], l['member'], l['amount']) for l in lines)
        posted = [{
                'account': l.account,
                'member': l.member.id if l.member else None,
                'amount': l.amount,
                } for l in self.lines]
        if (signature(posted) != signature(lines)
                or self.kind != kind):
            logger.warning("ledger key %r posted again with other lines "
                "(kept the entry %d)", self.key, self.id)


class Line(ImmutableMixin, ModelSQL, ModelView):
    """Ledger Line

    What one account gains (positive) or loses in an entry."""
    __name__ = 'duoduo.ledger.line'

    entry = fields.Many2One('duoduo.ledger.entry', "Entry", required=True,
        readonly=True, ondelete='RESTRICT')
    account = fields.Selection(ACCOUNTS, "Account", required=True,
        readonly=True, sort=False)
    member = fields.Many2One('duoduo.member', "Member", readonly=True,
        ondelete='RESTRICT', help="The holder of a member account.")
    amount = fields.Numeric("Amount", digits=(16, 2), required=True,
        readonly=True, help="What the account gains (negative: loses).")
    # the entry's, kept on its lines to sum them by kind and origin
    kind = fields.Selection('get_kinds', "Kind", required=True,
        readonly=True, sort=False)
    origin = fields.Reference("Origin", selection='get_origin',
        readonly=True)
    posted_at = fields.DateTime("Posted At", required=True, readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.entry, Index.Equality())),
                Index(t,
                    (t.member, Index.Equality()),
                    (t.account, Index.Equality()),
                    (t.posted_at, Index.Range())),
                Index(t, (t.origin, Index.Equality())),
                Index(t, (t.posted_at, Index.Range())),
                })
        cls._order = [('posted_at', 'DESC'), ('id', 'DESC')]

    @classmethod
    def get_kinds(cls):
        return Pool().get('duoduo.ledger.entry').kind.selection

    @classmethod
    def get_origin(cls):
        return Pool().get('duoduo.ledger.entry').get_origin()

    @classmethod
    def accounts(cls):
        "The accounts lines may have"
        return {a for a, _ in cls.account.selection}

    @classmethod
    def member_accounts(cls):
        "The accounts held by a member"
        return {a for a in cls.accounts() if a.startswith(MEMBER_PREFIX)}

    def get_rec_name(self, name):
        return f'{self.entry.rec_name} {self.account} {self.amount}'

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('entry.rec_name',) + tuple(clause[1:])]

    @classmethod
    def check_post_values(cls, key, values):
        "The values of a line to post, checked; raise LedgerPostError"
        unknown = set(values) - {'account', 'member', 'amount'}
        if unknown:
            raise TypeError(
                f"unknown line values: {', '.join(sorted(unknown))}")
        account = values.get('account')
        if account not in cls.accounts():
            raise LedgerPostError(gettext(
                    'duoduo_ledger.msg_ledger_account_invalid',
                    key=key, account=account))
        amount = values.get('amount')
        # never a float, nor an int standing for who knows which unit
        if not isinstance(amount, Decimal) or not amount.is_finite():
            raise LedgerPostError(gettext(
                    'duoduo_ledger.msg_ledger_amount_not_decimal',
                    key=key, account=account, amount=repr(amount)))
        if abs(amount) >= MAX_AMOUNT:
            raise LedgerPostError(gettext(
                    'duoduo_ledger.msg_ledger_amount_too_large',
                    key=key, account=account, amount=amount))
        if amount != amount.quantize(CENT):
            raise LedgerPostError(gettext(
                    'duoduo_ledger.msg_ledger_amount_precision',
                    key=key, account=account, amount=amount))
        member = _id(values.get('member'))
        member_accounts = cls.member_accounts()
        if account in member_accounts and member is None:
            raise LedgerPostError(gettext(
                    'duoduo_ledger.msg_ledger_member_required',
                    key=key, account=account))
        if account not in member_accounts and member is not None:
            raise LedgerPostError(gettext(
                    'duoduo_ledger.msg_ledger_member_forbidden',
                    key=key, account=account))
        return {
            'account': account,
            'member': member,
            'amount': amount.quantize(CENT),
            }

    # --- balances: sums of lines ---

    @classmethod
    def member_balances(cls, members, accounts):
        """{member id: {account: Decimal}} of the members on the accounts,
        one grouped query (per slice of members); 0.00 where no line"""
        line = cls.__table__()
        cursor = Transaction().connection.cursor()
        accounts = [accounts] if isinstance(accounts, str) else list(accounts)
        ids = [int(m) for m in members]
        result = {i: dict.fromkeys(accounts, ZERO) for i in ids}
        if not accounts:
            return result
        for sub_ids in grouped_slice(ids, backend.MAX_QUERY_PARAMS):
            cursor.execute(*line.select(line.member, line.account,
                    sum_money(amount_column(line)),
                    where=in_ids(line.member, sub_ids)
                    & line.account.in_(accounts),
                    group_by=[line.member, line.account]))
            for member_id, account, amount in cursor:
                result[member_id][account] = money(amount)
        return result

    @classmethod
    def balance(cls, member, accounts):
        "The Decimal sum of the member's lines on the account(s)"
        balances = cls.member_balances([member], accounts)[int(member)]
        return sum(balances.values(), ZERO)

    @classmethod
    def balances(cls, members, account):
        "{member id: Decimal} of the members on the account(s)"
        return {member_id: sum(amounts.values(), ZERO)
            for member_id, amounts in cls.member_balances(
                members, account).items()}
