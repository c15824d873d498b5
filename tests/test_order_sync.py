"""PDD order sync against the loopback gateway, without HTTP routes: the
production client reads pdd.ddk.order.list.increment.get from the
simulator and the models store what it answers.

The sync commits window by window in transactions of its own, so every
step here runs in a transaction of its own too (committed), and results
are read in a new one: on PostgreSQL a transaction only sees what was
committed before its first query. The sync's clock follows the
simulator's."""
import contextlib
import datetime as dt
import io
import json
import os
import tempfile
import threading
import time
import unittest
from decimal import Decimal
from unittest import mock

from duoduo_simulators.pdd import PddSimulator
from support import simulated_pdd

from trytond import backend
from trytond.modules.duoduo_base.tests.testing import DatabaseTestCase
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.modules.duoduo_pdd.exceptions import OrderSyncError
from trytond.transaction import Transaction
from trytond.modules.duoduo_commission.ledger import order_origin

API = 'pdd.ddk.order.list.increment.get'
HOUR = 3600
DAY = 24 * HOUR
UTC = dt.timezone.utc

# SQLite serializes every writer (and :memory: is one connection per
# thread): simultaneous passes are a PostgreSQL matter
only_postgresql = unittest.skipUnless(
    backend.name == 'postgresql', "needs concurrent writers (PostgreSQL)")


def committed():
    "A transaction as root, committed at the end of the block"
    return Transaction().start(DB_NAME, 0)


class CallHook:
    """The production client, with a test hook run before each call (to
    change the simulator between two pages of one pass)"""

    def __init__(self, client, before):
        self.client = client
        self.before = before
        self.count = 0

    def call(self, api_type, **params):
        self.count += 1
        self.before(self.count, api_type, params)
        return self.client.call(api_type, **params)


class OrderSyncTestCase(DatabaseTestCase):
    "Order sync (duoduo.pdd.order, duoduo.pdd.order.sync)"
    module = 'duoduo_api'
    _phones = 0

    def setUp(self):
        super().setUp()
        from trytond.modules.duoduo_pdd import sync
        self.sync_module = sync
        self.sim = self.enterContext(PddSimulator())
        self.enterContext(simulated_pdd(self.sim))
        # the sync's clock is the simulator's (tests move it)
        self.enterContext(mock.patch.object(sync, 'now', self.sim_now))
        with committed():
            pool = Pool()
            # a clean slate: the ledger refuses deletions (append-only), so
            # the test empties its tables underneath
            cursor = Transaction().connection.cursor()
            for name in ['duoduo.ledger.line', 'duoduo.ledger.entry']:
                cursor.execute(*pool.get(name).__table__().delete())
            for name in ['duoduo.pdd.order.status', 'duoduo.pdd.order',
                    'duoduo.pdd.order.sync']:
                Model = pool.get(name)
                Model.delete(Model.search([]))
            SyncState = pool.get('duoduo.pdd.order.sync.state')
            SyncState.write([SyncState(1)], {
                    'watermark': None,
                    'last_success_at': None,
                    'last_error': None,
                    'last_error_at': None,
                    'lag_warned_at': None,
                    })

    def sim_now(self):
        return self.to_datetime(self.sim.now())

    @staticmethod
    def to_datetime(timestamp):
        return dt.datetime.fromtimestamp(int(timestamp), UTC).replace(
            tzinfo=None)

    # --- helpers ---

    def member(self, role='member', **values):
        "A member at the first level of role: (id, pdd_uid)"
        type(self)._phones += 1
        with committed():
            pool = Pool()
            Member = pool.get('duoduo.member')
            Level = pool.get('duoduo.member.level')
            level, = Level.search([('role', '=', role)], limit=1)
            member, = Member.create([{
                        'phone': f'1370020{self._phones:04d}',
                        'level': level.id,
                        **values,
                        }])
            return member.id, member.pdd_uid

    def partner_with_pid(self, p_id):
        with committed():
            Pid = Pool().get('duoduo.pdd.pid')
            pid, = Pid.create([{'p_id': p_id, 'name': 'partner',
                        'status': 'normal'}])
            pid_id = pid.id
        member_id, _ = self.member(role='partner', pdd_pid=pid_id)
        return member_id

    def run_increment(self, since=None):
        with committed():
            Sync = Pool().get('duoduo.pdd.order.sync')
            run_id = Sync.run_increment(since=since)
        return self.read_run(run_id)

    def back_check(self, kind):
        with committed():
            Sync = Pool().get('duoduo.pdd.order.sync')
            run_id = Sync.run_back_check(kind)
        return self.read_run(run_id)

    def read_run(self, run_id):
        "The run's fields as a dict, read afresh"
        self.assertIsNotNone(run_id)
        with committed():
            Sync = Pool().get('duoduo.pdd.order.sync')
            run, = Sync.read([run_id], [name for name in Sync._fields
                    if name not in {'duration'}])
            return run

    def orders(self):
        "{order_sn: order fields and history} read afresh"
        with committed():
            pool = Pool()
            Order = pool.get('duoduo.pdd.order')
            result = {}
            for order in Order.search([]):
                result[order.order_sn] = {
                    'id': order.id,
                    'order_status': order.order_status,
                    'status_name': order.status_name,
                    'tk_status': order.tk_status,
                    'order_modify_at': order.order_modify_at,
                    'order_amount': order.order_amount,
                    'promotion_amount': order.promotion_amount,
                    'member': order.member.id if order.member else None,
                    'attributed_by': order.attributed_by,
                    'history': [(h.previous_status, h.order_status,
                            h.changed_at, h.late)
                        for h in order.status_history],
                    'recorded': [h.recorded_at for h in order.status_history],
                    'syncs': [h.sync.id if h.sync else None
                        for h in order.status_history],
                    }
            return result

    def state(self):
        with committed():
            SyncState = Pool().get('duoduo.pdd.order.sync.state')
            state = SyncState(1)
            return {
                'watermark': state.watermark,
                'last_success_at': state.last_success_at,
                'last_error': state.last_error,
                'last_error_at': state.last_error_at,
                'lag': state.lag,
                'lag_warned_at': state.lag_warned_at,
                }

    def set_watermark(self, watermark):
        with committed():
            SyncState = Pool().get('duoduo.pdd.order.sync.state')
            SyncState.write([SyncState(1)], {'watermark': watermark})

    @contextlib.contextmanager
    def hooked_client(self, before):
        "Configuration.get_client answers the client wrapped in CallHook"
        Configuration = Pool(DB_NAME).get('duoduo.pdd.configuration')
        get_client = Configuration.get_client
        hooks = []

        def hooked():
            hook = CallHook(get_client(), before)
            hooks.append(hook)
            return hook
        with mock.patch.object(Configuration, 'get_client', hooked):
            yield hooks

    def page_calls(self):
        return [(int(c['start_update_time']), int(c['end_update_time']),
                int(c.get('page', 1))) for c in self.sim.calls(API)]

    def place_in_past(self, seconds_ago, **kwargs):
        "An order placed (and last modified) seconds_ago on the sim clock"
        offset = self.sim.offset
        self.sim.offset = offset - seconds_ago
        try:
            return self.sim.place_order(**kwargs)
        finally:
            self.sim.offset = offset

    # --- the tests ---

    def test_same_window_twice(self):
        "Sync is idempotent: the same window twice stores each order once"
        placed = [self.sim.place_order(quantity=i + 1) for i in range(3)]
        since = self.sim_now() - dt.timedelta(hours=1)

        first = self.run_increment(since=since)
        self.assertEqual(first['state'], 'done', first['error'])
        self.assertEqual((first['orders_read'], first['orders_created'],
                first['orders_updated'], first['orders_unchanged'],
                first['status_changes']), (3, 3, 0, 0, 3))

        second = self.run_increment(since=since)
        self.assertEqual(second['state'], 'done', second['error'])
        self.assertEqual((second['orders_read'], second['orders_created'],
                second['orders_updated'], second['orders_unchanged'],
                second['status_changes']), (3, 0, 0, 3, 0))

        orders = self.orders()
        self.assertEqual(set(orders), {o['order_sn'] for o in placed})
        for item in placed:
            order = orders[item['order_sn']]
            self.assertEqual(order['order_status'], 0)
            self.assertEqual(len(order['history']), 1)
            # amounts in 元 from PDD's 分
            self.assertEqual(order['order_amount'],
                (Decimal(item['order_amount']) / 100).quantize(
                    Decimal('0.01')))
            self.assertEqual(order['promotion_amount'],
                (Decimal(item['promotion_amount']) / 100).quantize(
                    Decimal('0.01')))

    def test_out_of_order_keeps_newest(self):
        "An item older than the stored one never overwrites it"
        item = self.sim.place_order()
        paid = dict(item)
        grouped = self.sim.set_order_status(item['order_sn'], 1, advance=60)
        received = self.sim.set_order_status(item['order_sn'], 2, advance=60)
        with committed():
            Order = Pool().get('duoduo.pdd.order')
            result = Order.upsert_pdd_items([received])
            self.assertEqual((result.created, len(result.changes)), (1, 1))
            # the same item again, then older ones
            result = Order.upsert_pdd_items([received])
            self.assertEqual(result.unchanged, 1)
            result = Order.upsert_pdd_items([paid, grouped])
            self.assertEqual((result.stale, result.updated, result.changes,
                    result.late_statuses), (2, 0, [], 2))
            # a late status is recorded once
            result = Order.upsert_pdd_items([grouped])
            self.assertEqual((result.stale, result.late_statuses), (1, 0))

        order = self.orders()[item['order_sn']]
        self.assertEqual(order['order_status'], 2)
        self.assertEqual(order['order_modify_at'],
            self.to_datetime(received['order_modify_at']))
        self.assertEqual(order['history'], [
                (None, 0, self.to_datetime(paid['order_modify_at']), True),
                (None, 1, self.to_datetime(grouped['order_modify_at']), True),
                (None, 2, self.to_datetime(received['order_modify_at']),
                    False),
                ])

        # in one batch, out of order: the newest still wins, in order
        other = self.sim.place_order()
        other_paid = dict(other)
        other_settled = self.sim.set_order_status(other['order_sn'], 5)
        with committed():
            Order = Pool().get('duoduo.pdd.order')
            result = Order.upsert_pdd_items([other_settled, other_paid])
            self.assertEqual([(old, new) for _, old, new in result.changes],
                [(None, 0), (0, 5)])
        self.assertEqual(self.orders()[other['order_sn']]['order_status'], 5)

    def test_pages_last_to_first(self):
        "More than one page: read from the last page to the first"
        placed = [self.sim.place_order() for _ in range(120)]
        since = self.sim_now() - dt.timedelta(minutes=30)
        # PDD's order: by update time, then order number
        first = min(placed, key=lambda o: (o['order_modify_at'],
                o['order_sn']))

        def before(count, api_type, params):
            # PDD updates the first order of page 1 after we read pages 3
            # and 2 would come next: it leaves the window and every other
            # order moves up a place. Read first to last, the first order
            # of page 2 would now sit on page 1, already read: missed.
            if count == 3:
                self.sim.set_order_status(first['order_sn'], 1, advance=5)

        with self.hooked_client(before):
            run = self.run_increment(since=since)
        self.assertEqual(run['state'], 'done', run['error'])
        pages = [page for _, _, page in self.page_calls()]
        self.assertEqual(pages, [1, 3, 2, 1])
        self.assertEqual(run['calls'], 4)
        # nothing missed: all but the order that left the window
        self.assertEqual(set(self.orders()),
            {o['order_sn'] for o in placed} - {first['order_sn']})
        # the next pass picks the changed order up
        run = self.run_increment()
        self.assertEqual((run['orders_created'], run['orders_updated']),
            (1, 0))
        self.assertEqual(
            self.orders()[first['order_sn']]['order_status'], 1)

    def test_windows_of_24_hours(self):
        "A long --since is read in windows of at most 24 hours"
        old = self.place_in_past(50 * HOUR)
        recent = self.place_in_past(2 * HOUR)
        since = self.sim_now() - dt.timedelta(hours=60)
        run = self.run_increment(since=since)
        self.assertEqual(run['state'], 'done', run['error'])
        self.assertEqual(run['windows_total'], 3)
        self.assertEqual(run['windows_done'], 3)
        windows = sorted({(start, end)
                for start, end, _ in self.page_calls()})
        self.assertEqual(len(windows), 3)
        self.assertTrue(all(end - start <= DAY for start, end in windows))
        self.assertEqual(self.to_datetime(windows[0][0]), since)
        for (_, end), (start, _) in zip(windows, windows[1:]):
            self.assertEqual(end, start)
        self.assertEqual(self.to_datetime(windows[-1][1]), run['window_end'])
        self.assertEqual(set(self.orders()),
            {old['order_sn'], recent['order_sn']})
        self.assertEqual(self.state()['watermark'], run['window_end'])

    def test_watermark_follows_committed_windows(self):
        "A failure mid-run leaves the watermark at the last stored window"
        first = self.place_in_past(50 * HOUR)
        second = self.place_in_past(30 * HOUR)
        now = self.sim_now()
        since = now - dt.timedelta(hours=60)
        windows = []

        def before(count, api_type, params):
            windows.append(int(params['start_update_time']))
            if len(set(windows)) == 2:
                # the second window's first call: PDD is down
                self.sim.fail_next(API, error_code=50000,
                    sub_msg='服务暂不可用')

        with self.hooked_client(before):
            run = self.run_increment(since=since)
        self.assertEqual(run['state'], 'failed')
        self.assertIn('服务暂不可用', run['error'])
        self.assertEqual(run['windows_done'], 1)
        end_of_first = since + dt.timedelta(hours=24)
        self.assertEqual(run['committed_until'], end_of_first)
        state = self.state()
        self.assertEqual(state['watermark'], end_of_first)
        self.assertIn('服务暂不可用', state['last_error'])
        self.assertIsNotNone(state['last_error_at'])
        self.assertEqual(set(self.orders()), {first['order_sn']})

        # the next pass starts from the watermark (minus the overlap)
        run = self.run_increment()
        self.assertEqual(run['state'], 'done', run['error'])
        self.assertEqual(run['window_start'],
            end_of_first - dt.timedelta(minutes=10))
        self.assertEqual(set(self.orders()),
            {first['order_sn'], second['order_sn']})
        state = self.state()
        self.assertEqual(state['watermark'], run['window_end'])
        self.assertIsNotNone(state['last_success_at'])

    def test_status_history(self):
        "Every status change is stored with PDD's time and the run"
        item = self.sim.place_order()
        sn = item['order_sn']
        runs, times = [], [item['order_modify_at']]
        runs.append(self.run_increment()['id'])
        for status in [1, 2, 3, 5]:
            times.append(self.sim.set_order_status(
                    sn, status, advance=600)['order_modify_at'])
            run = self.run_increment()
            self.assertEqual(run['status_changes'], 1)
            runs.append(run['id'])
        order = self.orders()[sn]
        self.assertEqual(order['history'], [
                (old, new, self.to_datetime(at), False)
                for old, new, at in zip([None, 0, 1, 2, 3], [0, 1, 2, 3, 5],
                    times)])
        self.assertEqual(order['syncs'], runs)
        self.assertTrue(all(order['recorded']))
        self.assertEqual((order['status_name'], order['tk_status']),
            ('settled', 12))

    def test_unknown_status_kept(self):
        "A status PDD adds later is stored as sent and the run succeeds"
        item = self.sim.place_order()
        self.sim.set_order_status(item['order_sn'], 42)
        run = self.run_increment()
        self.assertEqual(run['state'], 'done', run['error'])
        order = self.orders()[item['order_sn']]
        self.assertEqual((order['order_status'], order['status_name'],
                order['tk_status']), (42, 'unknown', 3))
        self.assertEqual([h[1] for h in order['history']], [42])
        # an unreadable item is skipped, not fatal
        with committed():
            Order = Pool().get('duoduo.pdd.order')
            result = Order.upsert_pdd_items([
                    {'order_sn': '', 'order_status': 1},
                    {'order_sn': 'x-1', 'order_status': 'paid'},
                    'garbage',
                    ])
            self.assertEqual((result.read, result.skipped), (3, 3))

    def test_attribution(self):
        "uid in custom_parameters first, then the partner owning the PID"
        member_id, uid = self.member()
        partner_pid = f'{self.sim.duo_id}_77000001'
        partner_id = self.partner_with_pid(partner_pid)
        by_uid = self.sim.place_order(
            custom_parameters=json.dumps({'uid': uid}, separators=(',', ':')))
        by_uid_on_partner_pid = self.sim.place_order(pid=partner_pid,
            custom_parameters=f'{{"uid":"{uid}","sid":"s1"}}')
        by_pid = self.sim.place_order(pid=partner_pid)
        unknown_uid_on_pid = self.sim.place_order(pid=partner_pid,
            custom_parameters='{"uid":"nobody"}')
        nobody = self.sim.place_order(custom_parameters='{"uid":"nobody"}')
        not_json = self.sim.place_order(custom_parameters='uid=1')
        run = self.run_increment()
        self.assertEqual(run['state'], 'done', run['error'])
        orders = self.orders()

        def attribution(item):
            order = orders[item['order_sn']]
            return order['member'], order['attributed_by']
        self.assertEqual(attribution(by_uid), (member_id, 'uid'))
        self.assertEqual(attribution(by_uid_on_partner_pid),
            (member_id, 'uid'))
        self.assertEqual(attribution(by_pid), (partner_id, 'pid'))
        self.assertEqual(attribution(unknown_uid_on_pid),
            (partner_id, 'pid'))
        self.assertEqual(attribution(nobody), (None, 'none'))
        self.assertEqual(attribution(not_json), (None, 'none'))

    def test_throttled_call_retried(self):
        "52101 once: the client retries and the pass succeeds"
        item = self.sim.place_order()
        self.sim.fail_next(API, error_code=52101, times=1)
        run = self.run_increment()
        self.assertEqual(run['state'], 'done', run['error'])
        self.assertEqual(len(self.sim.calls(API)), 2)
        self.assertIn(item['order_sn'], self.orders())

    def test_throttled_beyond_retries_fails_the_run(self):
        "Throttled past the retries: the run fails, the error is kept"
        self.sim.place_order()
        self.sim.fail_next(API, error_code=52101, times=10)
        run = self.run_increment()
        self.assertEqual(run['state'], 'failed')
        self.assertIn('52101', run['error'])
        self.assertIsNone(self.state()['watermark'])
        self.assertEqual(self.orders(), {})

    def test_back_check_finds_change_behind_watermark(self):
        "A change the increments missed is found by the back-check"
        item = self.sim.place_order()
        sn = item['order_sn']
        self.run_increment()
        watermark = self.state()['watermark']
        self.sim.advance(HOUR)
        # PDD records a change dated two hours back (behind the watermark
        # and its overlap): the increment cannot see it
        with self.sim.lock:
            self.sim.orders[sn].update({
                    'order_status': 4,
                    'order_modify_at': item['order_modify_at'] - 2 * HOUR
                    + 1,
                    })
        run = self.run_increment()
        self.assertEqual(run['orders_read'], 0)
        self.assertEqual(self.orders()[sn]['order_status'], 0)
        watermark = self.state()['watermark']

        run = self.back_check('hourly')
        self.assertEqual(run['state'], 'done', run['error'])
        self.assertEqual((run['kind'], run['moves_watermark']),
            ('hourly', False))
        self.assertEqual(run['window_end'] - run['window_start'],
            dt.timedelta(hours=24))
        # the newest known modify time wins: PDD's back-dated change is
        # older than what we stored, so it only joins the history
        order = self.orders()[sn]
        self.assertEqual(order['order_status'], 0)
        self.assertIn((None, 4, self.to_datetime(
                    item['order_modify_at'] - 2 * HOUR + 1), True),
            order['history'])
        self.assertEqual(self.state()['watermark'], watermark)

        # a plain missed update (newer than stored, older than the overlap)
        self.sim.advance(4 * HOUR)
        with self.sim.lock:
            self.sim.orders[sn].update({
                    'order_status': 2,
                    'order_modify_at': int(self.sim.now()) - 3 * HOUR,
                    })
        self.set_watermark(self.sim_now())
        self.assertEqual(self.run_increment()['orders_read'], 0)
        run = self.back_check('daily')
        self.assertEqual(run['state'], 'done', run['error'])
        self.assertEqual((run['orders_updated'], run['windows_total']),
            (1, 7))
        self.assertEqual(self.orders()[sn]['order_status'], 2)

    def test_hook_once_per_change(self):
        "on_status_changed: once per change, never for a replay"
        Order = Pool(DB_NAME).get('duoduo.pdd.order')
        calls = []

        def record(changes):
            calls.append([(order.order_sn, old, new)
                    for order, old, new in changes])
        with mock.patch.object(Order, 'on_status_changed',
                side_effect=record):
            item = self.sim.place_order()
            sn = item['order_sn']
            since = self.sim_now() - dt.timedelta(hours=1)
            self.run_increment(since=since)
            self.run_increment(since=since)        # replay
            self.sim.set_order_status(sn, 1)
            self.run_increment()
            self.run_increment(since=since)        # replay
            self.back_check('hourly')                # replay
        self.assertEqual(calls, [[(sn, None, 0)], [(sn, 0, 1)]])

    def test_one_pass_at_a_time(self):
        "A second pass skips while one holds the lock"
        self.sim.place_order()
        with committed():
            pool = Pool()
            Sync = pool.get('duoduo.pdd.order.sync')
            SyncState = pool.get('duoduo.pdd.order.sync.state')
            with self.sync_module.sync_lock() as got:
                self.assertTrue(got)
                self.assertIsNone(Sync.run_increment())
                with self.assertRaises(OrderSyncError):
                    SyncState.sync_now([SyncState(1)])
        self.assertEqual(self.sim.calls(API), [])
        run = self.run_increment()
        self.assertEqual(run['state'], 'done', run['error'])

    @only_postgresql
    def test_simultaneous_passes(self):
        "Two passes at once: one skips; a back-check waits its turn"
        placed = [self.sim.place_order() for _ in range(5)]
        barrier = threading.Barrier(2)
        results = [None, None]

        def increment(index):
            barrier.wait()
            with committed():
                Sync = Pool().get('duoduo.pdd.order.sync')
                results[index] = Sync.run_increment()
        # PDD answers slowly: the first pass holds the lock meanwhile
        self.sim.delay_next(1, api_type=API)
        threads = [threading.Thread(target=increment, args=(i,))
            for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertEqual(sorted(r is None for r in results), [False, True])
        run = self.read_run(next(r for r in results if r))
        self.assertEqual((run['state'], run['orders_created']), ('done', 5))
        self.assertEqual(set(self.orders()),
            {o['order_sn'] for o in placed})

        self.sim.delay_next(1, api_type=API)
        barrier = threading.Barrier(1)
        thread = threading.Thread(target=increment, args=(0,))
        thread.start()
        time.sleep(0.3)
        check = self.back_check('hourly')
        thread.join(60)
        increment_run = self.read_run(results[0])
        self.assertEqual((increment_run['state'], check['state']),
            ('done', 'done'))
        self.assertGreaterEqual(check['started_at'],
            increment_run['finished_at'])
        self.assertEqual(check['orders_unchanged'], 5)

    def test_cron_jobs(self):
        "The cron records call their methods without arguments"
        self.sim.place_order()
        with committed():
            pool = Pool()
            Cron = pool.get('ir.cron')
            ModelData = pool.get('ir.model.data')
            for name in ['cron_sync_increment', 'cron_sync_back_check_hourly',
                    'cron_sync_back_check_daily',
                    'cron_sync_back_check_monthly', 'cron_sync_check_health']:
                cron = Cron(ModelData.get_id('duoduo_pdd', name))
                Cron.run_once([cron])
        with committed():
            Sync = Pool().get('duoduo.pdd.order.sync')
            runs = Sync.search([], order=[('id', 'ASC')])
            self.assertEqual([(r.kind, r.state) for r in runs], [
                    ('increment', 'done'), ('hourly', 'done'),
                    ('daily', 'done'), ('monthly', 'done')])
            self.assertEqual(runs[-1].windows_total, 60)
        # PDD failing never makes the cron job fail
        self.sim.fail_next(API, error_code=50000, times=1)
        with committed():
            pool = Pool()
            Cron = pool.get('ir.cron')
            ModelData = pool.get('ir.model.data')
            Cron.run_once([Cron(ModelData.get_id(
                            'duoduo_pdd', 'cron_sync_increment'))])
        self.assertIsNotNone(self.state()['last_error'])

    def test_interrupted_run_closed(self):
        "A run left running by a dead process is closed by the next one"
        with committed():
            Sync = Pool().get('duoduo.pdd.order.sync')
            dead, = Sync.create([{'kind': 'increment',
                        'started_at': self.sim_now()}])
            dead_id = dead.id
        self.run_increment()
        dead = self.read_run(dead_id)
        self.assertEqual(dead['state'], 'failed')
        self.assertTrue(dead['error'])

    def test_sync_now_button(self):
        "The back-office button runs one manual increment"
        item = self.sim.place_order()
        with committed():
            pool = Pool()
            User = pool.get('res.user')
            SyncState = pool.get('duoduo.pdd.order.sync.state')
            admin, = User.search([('login', '=', 'admin')])
            with Transaction().set_user(admin.id):
                SyncState.sync_now([SyncState(1)])
        with committed():
            Sync = Pool().get('duoduo.pdd.order.sync')
            run, = Sync.search([])
            self.assertEqual((run.kind, run.state, run.user.login),
                ('manual', 'done', 'admin'))
        self.assertIn(item['order_sn'], self.orders())

        # a failure shows to staff and is kept on the run
        self.sim.fail_next(API, error_code=10000, sub_msg='参数错误')
        with committed():
            SyncState = Pool().get('duoduo.pdd.order.sync.state')
            with self.assertRaises(OrderSyncError) as cm:
                SyncState.sync_now([SyncState(1)])
            self.assertIn('参数错误', cm.exception.message)
        self.assertIn('参数错误', self.state()['last_error'])

    def test_console_script(self):
        "duoduo-sync-orders runs one pass, prints a summary, exits 0 or 1"
        from duoduo_tools import sync_orders
        item = self.sim.place_order()
        with tempfile.NamedTemporaryFile('w', suffix='.conf',
                delete=False) as conf:
            conf.write('# the test process is configured already\n')
        self.addCleanup(os.unlink, conf.name)
        since = (self.sim_now() - dt.timedelta(hours=2)).replace(
            tzinfo=UTC).astimezone(dt.timezone(dt.timedelta(hours=8)))

        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = sync_orders.main(['-c', conf.name, '-d', DB_NAME,
                    '--since', since.isoformat()])
        self.assertEqual(code, 0, err.getvalue())
        line = out.getvalue().strip()
        self.assertEqual(len(line.splitlines()), 1)
        self.assertIn('1 created', line)
        self.assertIn(f'{since.astimezone(UTC):%Y-%m-%d %H:%M:%S}', line)
        self.assertIn(item['order_sn'], self.orders())

        self.sim.fail_next(API, error_code=10000, sub_msg='参数错误')
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = sync_orders.main(['-c', conf.name, '-d', DB_NAME])
        self.assertEqual(code, 1)
        self.assertEqual(out.getvalue(), '')
        self.assertIn('参数错误', err.getvalue())

        self.assertEqual(sync_orders.parse_since('2024-05-01T08:00:00+08:00'),
            dt.datetime(2024, 5, 1, 0, 0))
        self.assertEqual(sync_orders.parse_since('2024-05-01 00:00'),
            dt.datetime(2024, 5, 1, 0, 0))

    def test_health_warning_once_per_episode(self):
        "Staff are warned once when the lag passes the limit"
        def check():
            with committed():
                SyncState = Pool().get('duoduo.pdd.order.sync.state')
                SyncState.check_sync_health()

        def warnings():
            with committed():
                Notification = Pool().get('res.notification')
                return Notification.search_count([
                        ('model', '=', 'duoduo.pdd.order.sync.state'),
                        ])

        before = warnings()
        self.set_watermark(self.sim_now() - dt.timedelta(minutes=30))
        check()
        self.assertEqual(warnings(), before)

        self.set_watermark(self.sim_now() - dt.timedelta(minutes=90))
        check()
        after_first = warnings()
        self.assertGreater(after_first, before)
        self.assertIsNotNone(self.state()['lag_warned_at'])
        self.assertGreaterEqual(self.state()['lag'],
            dt.timedelta(minutes=90))
        check()
        self.assertEqual(warnings(), after_first)

        # caught up, then behind again: a new episode, a new warning
        self.assertEqual(self.run_increment()['state'], 'done')
        check()
        self.assertIsNone(self.state()['lag_warned_at'])
        self.sim.advance(2 * HOUR)
        check()
        self.assertEqual(warnings() - after_first, after_first - before)

    def test_member_orders_and_contract_rows(self):
        "What GET /tbk/tbkorder/ lists: a member's own orders, filtered"
        member_id, uid = self.member()
        other_id, other_uid = self.member()
        custom = json.dumps({'uid': uid}, separators=(',', ':'))
        paid = self.place_in_past(3 * HOUR, custom_parameters=custom,
            quantity=2)
        received = self.sim.place_order(custom_parameters=custom)
        settled = self.sim.place_order(custom_parameters=custom)
        refused = self.sim.place_order(custom_parameters=custom)
        unknown = self.sim.place_order(custom_parameters=custom)
        self.sim.place_order(custom_parameters=json.dumps(
                {'uid': other_uid}, separators=(',', ':')))
        self.sim.set_order_status(received['order_sn'], 2)
        settled = self.sim.set_order_status(settled['order_sn'], 5)
        self.sim.set_order_status(refused['order_sn'], 4)
        self.sim.set_order_status(unknown['order_sn'], 42)
        self.assertEqual(self.run_increment(
                since=self.sim_now() - dt.timedelta(hours=4))['state'],
            'done')

        with committed():
            pool = Pool()
            Order = pool.get('duoduo.pdd.order')
            Member = pool.get('duoduo.member')
            member = Member(member_id)

            def sns(**kwargs):
                total, orders = Order.member_orders(member, **kwargs)
                return total, {o.order_sn for o in orders}
            self.assertEqual(sns()[0], 5)
            self.assertEqual(sns(status=3), (2, {paid['order_sn'],
                        unknown['order_sn']}))
            self.assertEqual(sns(status=14), (1, {received['order_sn']}))
            self.assertEqual(sns(status=12), (1, {settled['order_sn']}))
            self.assertEqual(sns(status=13), (1, {refused['order_sn']}))
            self.assertEqual(sns(status=99), (0, set()))
            created = paid['order_create_time']
            self.assertEqual(sns(start=created, end=created),
                (1, {paid['order_sn']}))
            self.assertEqual(sns(start=created + 1)[0], 4)
            self.assertEqual(sns(end=created), (1, {paid['order_sn']}))
            self.assertEqual(sns(end=created - 1)[0], 0)
            self.assertEqual(sns(status=3, start=created + 1),
                (1, {unknown['order_sn']}))
            total, first = Order.member_orders(member, page=1, page_size=2)
            _, third = Order.member_orders(member, page=3, page_size=2)
            self.assertEqual((total, len(first), len(third)), (5, 2, 1))
            self.assertEqual(Order.member_orders(Member(other_id))[0], 1)
            self.assertEqual(Order.member_orders(None), (0, []))

            order, = Order.search([('order_sn', '=', paid['order_sn'])])
            row = order.contract_row()
            # the member's own share, frozen in the ledger until PDD settles
            Line = Pool().get('duoduo.ledger.line')
            share = sum(l.amount for l in Line.search([
                        ('origin', '=', order_origin(order.id)),
                        ('member', '=', member_id),
                        ('account', '=', 'member_pending'),
                        ]))
            self.assertGreater(share, 0)
            self.assertEqual(row, {
                    'id': order.id,
                    'trade_id': paid['order_sn'],
                    'item_title': paid['goods_name'],
                    'pict_url': paid['goods_thumbnail_url'],
                    'item_num': 2,
                    'pay_price': (Decimal(paid['order_amount']) / 100
                        ).quantize(Decimal('0.01')),
                    'commission': (Decimal(paid['promotion_amount']) / 100
                        ).quantize(Decimal('0.01')),
                    'pub_share_pre_fee': share,
                    'tk_status': 3,
                    'create_time': paid['order_create_time'],
                    'earning_time': 0,
                    })
            order, = Order.search([('order_sn', '=', settled['order_sn'])])
            row = order.contract_row()
            self.assertEqual((row['tk_status'], row['earning_time']),
                (12, settled['order_settle_time']))
            # the back office's filters
            self.assertEqual(Order.search_count([
                        ('member', '=', member_id),
                        ('status_name', '=', 'unknown')]), 1)
            self.assertEqual(Order.search_count([
                        ('member', '=', member_id),
                        ('tk_status', '!=', 3)]), 3)



if __name__ == '__main__':
    unittest.main()
