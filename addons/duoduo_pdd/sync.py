"""Order sync: pdd.ddk.order.list.increment.get into duoduo.pdd.order.

A pass reads windows of at most 24 hours (PDD's limit) by update time: an
increment from the watermark minus the overlap (first run: the last 24
hours, or --since) to now; a back-check over the last 24 hours (hourly), 7
days (daily) or 60 days (monthly) that leaves the watermark alone. Each
window reads `total_count`, then its pages from the last to the first (an
order PDD updates while we page leaves the window and shifts the others
towards the first page, which we have not read yet, so none is missed) and
is stored in a transaction of its own together with the watermark: the
watermark never runs ahead of what was committed.

Only one pass runs at a time, all kinds together (PostgreSQL: an advisory
lock held for the pass; SQLite, a single-process demo database: a lock in
the process). Not a lock on the state row: each window's transaction
writes the watermark on that row, so a lock held on it for the whole pass
would block them, and one taken per window ends at each commit. An increment that finds another pass running skips — the
running one reads up to its own "now" and the next increment follows five
minutes later; the back-office button and the console script say so. A
back-check waits up to BACK_CHECK_WAIT for it instead, since a skipped
monthly back-check would come back only a month later.

A PDD error ends the pass as failed and is stored on the run and the state
(last_error); it never propagates out of the cron. The client retries
throttling (52101/70031) itself."""
import contextlib
import datetime as dt
import logging
import math
import threading
import time

from sql import Select

from trytond import backend
from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import (
    Index, ModelSingleton, ModelSQL, ModelView, fields)
from trytond.modules.duoduo_base import tools
from trytond.modules.duoduo_base.search import rec_name_domain
from trytond.modules.duoduo_base.tools import lock_id, own_transaction
from trytond.pool import Pool
from trytond.transaction import Transaction
from trytond.wizard import StateTransition, Wizard

from .exceptions import OrderSyncError
from .units import to_timestamp

logger = logging.getLogger(__name__)

API = 'pdd.ddk.order.list.increment.get'
WINDOW = dt.timedelta(hours=24)
PAGE_SIZE = 50
# increment.get answers only the last 90 days of updates
PDD_HISTORY = dt.timedelta(days=90) - dt.timedelta(hours=1)
BACK_CHECK_SPANS = {
    'hourly': dt.timedelta(hours=24),
    'daily': dt.timedelta(days=7),
    'monthly': dt.timedelta(days=60),
    }
# seconds a back-check waits for a running pass
BACK_CHECK_WAIT = 10 * 60
# tries of a transaction PostgreSQL refuses for a concurrent write
TRIES = 3
LOCK_KEY = lock_id('duoduo.pdd.order.sync')
KINDS = [
    ('increment', "Increment"),
    ('manual', "Manual"),
    ('hourly', "Last Day Back-Check"),
    ('daily', "Last Week Back-Check"),
    ('monthly', "Last 60 Days Back-Check"),
    ]
COUNTERS = ['calls', 'orders_read', 'orders_created', 'orders_updated',
    'orders_unchanged', 'orders_stale', 'orders_skipped', 'status_changes',
    'windows_done']

# SQLite serializes writers per database file and the demo runs one
# process: a lock per database in the process is enough there.
_process_locks = {}
_process_locks_guard = threading.Lock()


def now():
    "The sync's clock: naive UTC, whole seconds (PDD counts in seconds)"
    return tools.now().replace(microsecond=0)


def windows(start, end):
    "[start, end] cut in windows of at most 24 hours"
    result = []
    while start < end:
        stop = min(start + WINDOW, end)
        result.append((start, stop))
        start = stop
    return result


@contextlib.contextmanager
def sync_lock(wait=0):
    "Hold the sync lock for the block; yields False if not got in wait s"
    database = Transaction().database
    if backend.name != 'postgresql':
        with _process_locks_guard:
            lock = _process_locks.setdefault(database.name, threading.Lock())
        got = lock.acquire(timeout=wait) if wait else lock.acquire(False)
        try:
            yield got
        finally:
            if got:
                lock.release()
        return
    # a transaction-level advisory lock, held by a transaction that does
    # nothing else: released when the pass ends or its process dies
    with own_transaction() as holder:
        cursor = holder.connection.cursor()
        deadline = time.monotonic() + wait
        while True:
            cursor.execute(*Select([database.lock_id(LOCK_KEY)]))
            got, = cursor.fetchone()
            if got or time.monotonic() >= deadline:
                break
            time.sleep(1)
        yield bool(got)


class Sync(ModelSQL, ModelView):
    """PDD Order Sync

    One row per pass: what it read and stored, and how it ended."""
    __name__ = 'duoduo.pdd.order.sync'

    kind = fields.Selection(KINDS, "Kind", required=True, readonly=True,
        sort=False)
    state = fields.Selection([
            ('running', "Running"),
            ('done', "Done"),
            ('failed', "Failed"),
            ], "State", required=True, readonly=True, sort=False)
    started_at = fields.DateTime("Started At", required=True, readonly=True)
    finished_at = fields.DateTime("Finished At", readonly=True)
    duration = fields.Function(
        fields.TimeDelta("Duration"), 'get_duration')
    window_start = fields.DateTime("From", readonly=True,
        help="Start of the PDD update times read by the pass.")
    window_end = fields.DateTime("To", readonly=True,
        help="End of the PDD update times read by the pass.")
    committed_until = fields.DateTime("Committed Until", readonly=True,
        help="End of the last window stored.")
    moves_watermark = fields.Boolean("Moves Watermark", readonly=True)
    windows_total = fields.Integer("Windows", readonly=True)
    windows_done = fields.Integer("Windows Stored", readonly=True)
    calls = fields.Integer("PDD Calls", readonly=True)
    orders_read = fields.Integer("Orders Read", readonly=True)
    orders_created = fields.Integer("Orders Created", readonly=True)
    orders_updated = fields.Integer("Orders Updated", readonly=True)
    orders_unchanged = fields.Integer("Orders Unchanged", readonly=True)
    orders_stale = fields.Integer("Older Than Stored", readonly=True,
        help="Items older than what is stored for their order (kept "
        "out).")
    orders_skipped = fields.Integer("Unreadable Items", readonly=True)
    status_changes = fields.Integer("Status Changes", readonly=True)
    error = fields.Text("Error", readonly=True)
    user = fields.Many2One('res.user', "Started By", readonly=True,
        help="The staff member who asked for a manual pass.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.started_at, Index.Range())))
        cls._order = [('started_at', 'DESC'), ('id', 'DESC')]

    @classmethod
    def default_state(cls):
        return 'running'

    @classmethod
    def default_moves_watermark(cls):
        return False

    @classmethod
    def _zero(cls):
        return 0

    # the counters start at zero
    default_windows_total = default_windows_done = default_calls = _zero
    default_orders_read = default_orders_created = _zero
    default_orders_updated = default_orders_unchanged = _zero
    default_orders_stale = default_orders_skipped = _zero
    default_status_changes = _zero

    def get_rec_name(self, name):
        kinds = dict(self.fields_get(['kind'])['kind']['selection'])
        started = self.started_at.strftime('%Y-%m-%d %H:%M:%S') if (
            self.started_at) else ''
        return f'{kinds.get(self.kind, self.kind)} {started}'

    @classmethod
    def search_rec_name(cls, name, clause):
        return rec_name_domain(clause, ['kind', 'error'])

    def get_duration(self, name):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at

    def summary(self):
        "One line for the console and the logs"
        window = '-'
        if self.window_start and self.window_end:
            window = (f'{self.window_start:%Y-%m-%d %H:%M:%S} .. '
                f'{self.window_end:%Y-%m-%d %H:%M:%S} UTC')
        return (f'{self.kind} sync {self.state}: window {window}, '
            f'{self.windows_done}/{self.windows_total} windows, '
            f'{self.orders_read} read, {self.orders_created} created, '
            f'{self.orders_updated} updated, {self.orders_unchanged} '
            f'unchanged, {self.orders_stale} older than stored, '
            f'{self.status_changes} status changes')

    # --- entry points: cron, button, console ---

    @classmethod
    def run_increment(cls, since=None, kind='increment'):
        """One increment pass; the watermark follows each stored window.

        since: naive UTC datetime to read from instead of the watermark
        minus the overlap (first run: now - 24 h). Returns the run's id,
        or None when another pass was running. Never raises for PDD
        errors: they end the run as failed. Read the run in a new
        transaction (on PostgreSQL the caller's snapshot may predate it)."""
        pool = Pool()
        Configuration = pool.get('duoduo.pdd.configuration')
        SyncState = pool.get('duoduo.pdd.order.sync.state')
        user = Transaction().user
        with sync_lock() as locked:
            if not locked:
                logger.info("order sync %s skipped: another pass is running",
                    kind)
                return None
            end = now()
            if since is None:
                with own_transaction():
                    watermark = SyncState(1).watermark
                    overlap = dt.timedelta(
                        minutes=Configuration(1).sync_overlap or 0)
                since = (watermark - overlap) if watermark else end - WINDOW
            return cls._run(kind, since, end, moves_watermark=True,
                user=user)

    @classmethod
    def run_back_check(cls, kind):
        """A back-check over the last 24 h (hourly), 7 days (daily) or 60
        days (monthly); the watermark stays. Returns the run's id or None
        when another pass kept the lock past BACK_CHECK_WAIT."""
        span = BACK_CHECK_SPANS[kind]
        user = Transaction().user
        with sync_lock(wait=BACK_CHECK_WAIT) as locked:
            if not locked:
                logger.warning("order back-check %s skipped: another pass "
                    "ran for more than %s s", kind, BACK_CHECK_WAIT)
                return None
            end = now()
            return cls._run(kind, end - span, end, moves_watermark=False,
                user=user)

    @classmethod
    def back_check_hourly(cls):
        return cls.run_back_check('hourly')

    @classmethod
    def back_check_daily(cls):
        return cls.run_back_check('daily')

    @classmethod
    def back_check_monthly(cls):
        return cls.run_back_check('monthly')

    @classmethod
    def run_manual(cls, since=None):
        """An increment pass asked for by staff or the console; raises
        OrderSyncError when another pass runs or this one failed."""
        run_id = cls.run_increment(since=since, kind='manual')
        if run_id is None:
            raise OrderSyncError(gettext('duoduo_pdd.msg_order_sync_busy'))
        with own_transaction():
            run = cls(run_id)
            if run.state == 'failed':
                raise OrderSyncError(gettext(
                        'duoduo_pdd.msg_order_sync_failed', error=run.error))
        return run_id

    # --- the pass ---

    @classmethod
    def _run(cls, kind, start, end, moves_watermark, user=None):
        pool = Pool()
        Configuration = pool.get('duoduo.pdd.configuration')
        oldest = end - PDD_HISTORY
        if start < oldest:
            logger.warning("order sync from %s: PDD keeps 90 days of "
                "updates, reading from %s", start, oldest)
            start = oldest
        parts = windows(start, end)
        with own_transaction():
            cls._close_interrupted()
            run, = cls.create([{
                        'kind': kind,
                        'started_at': now(),
                        'window_start': start,
                        'window_end': end,
                        'windows_total': len(parts),
                        'moves_watermark': moves_watermark,
                        'user': user or None,
                        }])
            run_id = run.id
            client = Configuration.get_client()
        logger.info("order sync %s %s: %s .. %s in %d windows", kind, run_id,
            start, end, len(parts))
        try:
            for window_start, window_end in parts:
                cls._sync_window(run_id, client, window_start, window_end,
                    moves_watermark)
        except Exception as error:
            if isinstance(error, UserError):
                message = error.message
                logger.warning("order sync %s %s failed: %s", kind, run_id,
                    message)
            else:
                message = f'{type(error).__name__}: {error}'
                logger.exception("order sync %s %s failed", kind, run_id)
            cls._finish(run_id, 'failed', message)
        else:
            cls._finish(run_id, 'done')
            logger.info("order sync %s %s done", kind, run_id)
        return run_id

    @classmethod
    def _finish(cls, run_id, state, error=None):
        SyncState = Pool().get('duoduo.pdd.order.sync.state')
        finished = now()

        def write():
            cls.write([cls(run_id)], {
                    'state': state,
                    'error': error,
                    'finished_at': finished,
                    })
            if state == 'done':
                values = {'last_success_at': finished}
            else:
                values = {'last_error': error, 'last_error_at': finished}
            SyncState.write([SyncState(1)], values)
        tools.in_own_transaction(write, tries=TRIES)

    @classmethod
    def _close_interrupted(cls):
        "Runs left running by a process that died (we hold the lock)"
        runs = cls.search([('state', '=', 'running')])
        if runs:
            cls.write(runs, {
                    'state': 'failed',
                    'finished_at': now(),
                    'error': gettext('duoduo_pdd.msg_order_sync_interrupted'),
                    })

    @classmethod
    def fetch_window(cls, client, start, end):
        """The items PDD holds for orders updated in [start, end], pages
        read from the last to the first; (items, calls)."""
        params = {
            'start_update_time': to_timestamp(start),
            'end_update_time': to_timestamp(end),
            'page_size': PAGE_SIZE,
            'return_count': True,
            }
        first = client.call(API, page=1, **params)
        calls = 1
        try:
            total = int(first.get('total_count') or 0)
        except (TypeError, ValueError):
            total = 0
        items = list(first.get('order_list') or [])
        pages = math.ceil(total / PAGE_SIZE)
        if pages > 1:
            items = []
            for page in range(pages, 0, -1):
                answer = client.call(API, page=page, **params)
                calls += 1
                items.extend(answer.get('order_list') or [])
        return items, calls

    @classmethod
    def _sync_window(cls, run_id, client, start, end, moves_watermark):
        pool = Pool()
        Order = pool.get('duoduo.pdd.order')
        SyncState = pool.get('duoduo.pdd.order.sync.state')
        items, calls = cls.fetch_window(client, start, end)

        def store():
            run = cls(run_id)
            result = Order.upsert_pdd_items(items, sync=run)
            counts = {
                'calls': calls,
                'orders_read': result.read,
                'orders_created': result.created,
                'orders_updated': result.updated,
                'orders_unchanged': result.unchanged,
                'orders_stale': result.stale,
                'orders_skipped': result.skipped,
                'status_changes': len(result.changes),
                'windows_done': 1,
                }
            values = {name: (getattr(run, name) or 0) + counts[name]
                for name in COUNTERS}
            values['committed_until'] = end
            cls.write([run], values)
            if moves_watermark:
                state = SyncState(1)
                if not state.watermark or state.watermark < end:
                    SyncState.write([state], {'watermark': end})
            return result
        result = tools.in_own_transaction(store, tries=TRIES)
        logger.info("order sync window %s .. %s: %r", start, end, result)


class SyncState(ModelSingleton, ModelSQL, ModelView):
    """PDD Order Sync State

    Where the increment got to and how healthy the sync is."""
    __name__ = 'duoduo.pdd.order.sync.state'

    watermark = fields.DateTime("Synced Up To", readonly=True,
        help="Orders PDD updated before this time are stored; the next "
        "increment reads from it minus the overlap.")
    lag = fields.Function(fields.TimeDelta("Lag",
            help="How far the stored orders are behind now."), 'get_lag')
    lag_limit = fields.Function(fields.TimeDelta("Lag Limit",
            help="Staff are warned past it (PDD Settings)."),
        'get_lag_limit')
    last_success_at = fields.DateTime("Last Success", readonly=True)
    last_error_at = fields.DateTime("Last Error At", readonly=True)
    last_error = fields.Text("Last Error", readonly=True)
    lag_warned_at = fields.DateTime("Lag Warned At", readonly=True,
        help="When staff were warned of the current lag; cleared once "
        "the sync catches up.")
    running = fields.Function(fields.Boolean("Running"), 'get_running')
    recent_runs = fields.Function(fields.Many2Many(
            'duoduo.pdd.order.sync', None, None, "Recent Runs"),
        'get_recent_runs')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'sync_now': {
                    'icon': 'tryton-refresh',
                    },
                })

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        # the row exists before any pass writes it: two first passes never
        # race to create the singleton
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(table.id, limit=1))
        if not cursor.fetchone():
            cursor.execute(*table.insert(
                    [table.create_uid, table.create_date],
                    [[0, now()]]))

    def reference_time(self):
        "The time the lag counts from: the watermark, else the first run"
        Sync = Pool().get('duoduo.pdd.order.sync')
        if self.watermark:
            return self.watermark
        first = Sync.search([], order=[('started_at', 'ASC')], limit=1)
        return first[0].started_at if first else None

    def compute_lag(self, at=None):
        reference = self.reference_time()
        if reference is None:
            return None
        return max((at or now()) - reference, dt.timedelta(0))

    def get_lag(self, name):
        return self.compute_lag()

    def get_lag_limit(self, name):
        Configuration = Pool().get('duoduo.pdd.configuration')
        return dt.timedelta(minutes=Configuration(1).sync_lag_limit or 0)

    def get_running(self, name):
        Sync = Pool().get('duoduo.pdd.order.sync')
        return bool(Sync.search([('state', '=', 'running')], limit=1))

    def get_recent_runs(self, name):
        Sync = Pool().get('duoduo.pdd.order.sync')
        return [r.id for r in Sync.search([], limit=20)]

    @classmethod
    @ModelView.button
    def sync_now(cls, states):
        "One increment pass, from the back office"
        Pool().get('duoduo.pdd.order.sync').run_manual()

    @classmethod
    def check_sync_health(cls):
        """Warn staff once when the lag passes the limit (cron); the
        warning is sent again only after the sync caught up in between."""
        pool = Pool()
        Configuration = pool.get('duoduo.pdd.configuration')
        from trytond.modules.duoduo_base.notification import notify_staff
        state = cls(1)
        at = now()
        lag = state.compute_lag(at)
        limit = dt.timedelta(minutes=Configuration(1).sync_lag_limit or 0)
        if lag is not None and lag > limit:
            if not state.lag_warned_at:
                never = gettext('duoduo_pdd.msg_order_sync_never')
                notify_staff(
                    gettext('duoduo_pdd.msg_order_sync_lag_label'),
                    gettext('duoduo_pdd.msg_order_sync_lag_description',
                        watermark=(f'{state.watermark:%Y-%m-%d %H:%M} UTC'
                            if state.watermark else never),
                        lag=int(lag.total_seconds() // 60),
                        limit=int(limit.total_seconds() // 60),
                        error=state.last_error or gettext(
                            'duoduo_pdd.msg_order_sync_no_error')),
                    records=[state])
                cls.write([state], {'lag_warned_at': at})
                logger.warning("order sync lag %s over %s: staff warned",
                    lag, limit)
        elif state.lag_warned_at:
            cls.write([state], {'lag_warned_at': None})


class SyncNow(Wizard):
    "Sync PDD Orders Now"
    __name__ = 'duoduo.pdd.order.sync.now'
    start = StateTransition()

    def transition_start(self):
        Pool().get('duoduo.pdd.order.sync').run_manual()
        return 'end'

    def end(self):
        return 'reload'
