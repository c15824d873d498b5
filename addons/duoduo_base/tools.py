"""The toolbox every duoduo addon shares: the clock and the Asia/Shanghai
calendar, UNIX time, named advisory locks, and work done in a transaction
of its own.

Times are stored as Tryton stores them, naive UTC; members and staff count
days and months in Asia/Shanghai."""
import contextlib
import datetime as dt
import hashlib
import logging
import time
from zoneinfo import ZoneInfo

from sql import Select

from trytond import backend
from trytond.transaction import Transaction

logger = logging.getLogger(__name__)

TIMEZONE = ZoneInfo('Asia/Shanghai')


# --- the clock and the calendar ---

def now():
    "Now as naive UTC, like every Tryton DateTime"
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def shanghai_date(at=None):
    "The Asia/Shanghai calendar date holding `at` (naive UTC, default now)"
    if at is None:
        at = now()
    return at.replace(tzinfo=dt.timezone.utc).astimezone(TIMEZONE).date()


def shanghai_bounds(start_date, end_date):
    """[start, end) in naive UTC of the Asia/Shanghai dates from start_date
    up to (not including) end_date"""
    return tuple(
        dt.datetime.combine(d, dt.time(), tzinfo=TIMEZONE).astimezone(
            dt.timezone.utc).replace(tzinfo=None)
        for d in [start_date, end_date])


def shanghai_day(at=None):
    """[start, end) of the Asia/Shanghai day holding `at` (naive UTC, default
    now), as naive UTC datetimes"""
    day = shanghai_date(at)
    return shanghai_bounds(day, day + dt.timedelta(days=1))


def month_start(day):
    "The first day of the month of `day`"
    return day.replace(day=1)


def next_month(day):
    "The first day of the month after the month of `day`"
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


# --- UNIX time ---

def unix_time(value):
    "A naive UTC datetime as UNIX seconds; None is 0"
    if not value:
        return 0
    return int(value.replace(tzinfo=dt.timezone.utc).timestamp())


def from_unix_time(value):
    "UNIX seconds as a naive UTC datetime"
    return dt.datetime.fromtimestamp(int(value), dt.timezone.utc).replace(
        tzinfo=None)


# --- locks and transactions ---

def lock_id(name):
    "The PostgreSQL advisory lock id of a name (a positive bigint)"
    digest = hashlib.sha256(str(name).encode('utf-8')).hexdigest()
    return int(digest[:15], 16)


def advisory_lock(name, timeout=10):
    """Hold the lock `name` until the transaction ends (PostgreSQL).

    Transactions locking the same name run one after the other; others go
    on. timeout: seconds to wait before the database refuses (the caller's
    transaction is then retried like any lock conflict); True for
    trytond's default. SQLite needs none: it serializes writers."""
    transaction = Transaction()
    if backend.name != 'postgresql':
        return
    cursor = transaction.connection.cursor()
    cursor.execute(*Select([
                transaction.database.lock_id(lock_id(name), timeout=timeout)]))


def fresh_snapshot(readonly=True):
    """A context holding a transaction that sees what others committed until
    now, committed when the block ends (PostgreSQL).

    PostgreSQL runs ours in repeatable read: its snapshot may predate what
    a transaction that held a lock before us committed. SQLite needs none:
    a writer with a stale snapshot fails and starts again."""
    if backend.name == 'postgresql':
        return Transaction().new_transaction(readonly=readonly)
    return contextlib.nullcontext(Transaction())


@contextlib.contextmanager
def own_transaction():
    """A transaction of its own as root, committed when the block ends,
    that never touches the caller's transaction"""
    transaction = Transaction()
    context = dict(transaction.context or {}, _check_access=False)
    with Transaction(new=True).start(
            transaction.database.name, 0, context=context) as own:
        yield own


def in_own_transaction(func, tries=5):
    """func() in a transaction of its own, committed; started again when
    the database refuses it for a concurrent write"""
    for attempt in range(1, tries + 1):
        try:
            with own_transaction():
                return func()
        except backend.DatabaseOperationalError:
            if attempt >= tries:
                raise
            logger.info("write conflict in %s, try %d",
                getattr(func, '__qualname__', func), attempt + 1)
            time.sleep(0.1 * attempt)
