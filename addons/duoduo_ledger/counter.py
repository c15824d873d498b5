"""Counters: rows of numbers kept up to date by adding to them.

Statistics derived from the ledger and the orders (a member's income per
day, a team's orders) are rows identified by key columns; an event adds its
deltas to the row, creating it when it is the first. Adding is one
statement, INSERT … ON CONFLICT DO UPDATE SET n = n + excluded.n, on
PostgreSQL and SQLite alike, so concurrent transactions add up instead of
overwriting each other (the row lock orders them) and no read-modify-write
can lose an update. The model needs a Unique constraint on exactly the key
columns (the conflict target).

Money counters are Numeric columns added Decimal deltas. SQLite keeps them
as binary floats: each sum is rounded back to the fen there, so the stored
value is always the double nearest the exact amount and reads back exact
(quantize what you read)."""
import datetime as dt
from decimal import Decimal

from sql import Conflict, Table
from sql.functions import Round

from trytond import backend
from trytond.transaction import Transaction


class _Excluded(Table):
    """The row an INSERT … ON CONFLICT could not insert, spelled in lower
    case: python-sql's Excluded quotes it as "EXCLUDED", which PostgreSQL
    (case-sensitive for quoted names) does not know"""

    def __init__(self):
        super().__init__('excluded')

    @property
    def alias(self):
        return 'excluded'

    @property
    def has_alias(self):
        return False


Excluded = _Excluded()


def _added(column, excluded, delta):
    total = column + excluded
    if backend.name == 'sqlite' and isinstance(delta, Decimal):
        return Round(total, 2)
    return total


def add_to(Model, keys, deltas):
    """Add `deltas` ({column: number}) to the row of Model whose key columns
    equal `keys` ({column: value}), inserting it with the deltas when there
    is none. Zero deltas are skipped; nothing at all is written when every
    delta is zero."""
    deltas = {name: value for name, value in deltas.items() if value}
    if not deltas:
        return
    table = Model.__table__()
    transaction = Transaction()
    key_names = list(keys)
    delta_names = list(deltas)
    columns = [getattr(table, n) for n in key_names + delta_names]
    values = [keys[n] for n in key_names] + [deltas[n] for n in delta_names]
    columns += [table.create_uid, table.create_date]
    values += [transaction.user, dt.datetime.now()]
    cursor = transaction.connection.cursor()
    cursor.execute(*table.insert(columns, [values],
            on_conflict=Conflict(table,
                indexed_columns=[getattr(table, n) for n in key_names],
                columns=[getattr(table, n) for n in delta_names],
                values=[_added(getattr(table, n), getattr(Excluded, n),
                        deltas[n])
                    for n in delta_names])))
