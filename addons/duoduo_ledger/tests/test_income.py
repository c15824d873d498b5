"""Members' income per day (duoduo.ledger.member_day): derived from the
ledger lines and equal to them after any posting sequence (replays and
reversals included), rebuilt from them, never edited; and the booking of
orders stored before the module was activated."""
import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trytond.i18n import gettext
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

from trytond.modules.duoduo_base.tests.testing import DatabaseTestCase
from trytond.modules.duoduo_ledger.exceptions import LedgerChangeError
from trytond.modules.duoduo_ledger.tests.tools import (
    MembersMixin, clock, post_moves)

D = Decimal
SHANGHAI = ZoneInfo('Asia/Shanghai')
MEMBER_ACCOUNTS = [
    'member_pending', 'member_available', 'member_withdrawing',
    'member_paid', 'member_points']
# around midnight in Shanghai (16:00 UTC) and around a month's end
TIMES = [
    dt.datetime(2026, 11, 30, 15, 59, 59),
    dt.datetime(2026, 11, 30, 16, 0),
    dt.datetime(2026, 11, 30, 16, 30),
    dt.datetime(2026, 12, 1, 2, 0),
    dt.datetime(2026, 12, 31, 16, 0),
    ]


def shanghai(at):
    "The Shanghai date of naive UTC `at`, computed here independently"
    return at.replace(tzinfo=dt.timezone.utc).astimezone(SHANGHAI).date()


class IncomeTestCase(MembersMixin, DatabaseTestCase):
    "Members' daily income and the order backfill (duoduo_commission)"
    module = 'duoduo_commission'
    phone_prefix = '1392345'

    # --- the aggregate equals the lines ---

    def test_member_day_equals_lines(self):
        """Random postings at random times, replays and reversals: the rows
        are the lines summed per member, Shanghai day, account and type"""
        postings = st.lists(st.one_of(
                st.tuples(st.just('post'),
                    st.sampled_from(
                        ['commission', 'team_commission', 'subsidy', 'reversal',
                            'withdrawal']),
                    st.sampled_from(TIMES),
                    st.lists(st.tuples(
                            st.integers(0, 2),
                            st.sampled_from(MEMBER_ACCOUNTS),
                            st.integers(-10 ** 6, 10 ** 6)),
                        min_size=1, max_size=4)),
                st.tuples(st.just('replay'), st.integers(0, 20)),
                st.tuples(st.just('reverse'), st.integers(0, 20),
                    st.sampled_from(TIMES))),
            max_size=10)

        @settings(max_examples=40, deadline=None,
            suppress_health_check=[HealthCheck.too_slow])
        @given(postings)
        @with_transaction()
        def check(postings):
            self.check_member_day(postings)
        check()

    def check_member_day(self, postings):
        pool = Pool()
        Entry = pool.get('duoduo.ledger.entry')
        MemberDay = pool.get('duoduo.ledger.member_day')
        members = self.members(3)
        ids = {m.id for m in members}
        expected = {}
        posted = []  # (key, lines, kind, at)

        def add(lines, kind, at):
            for line in lines:
                if line.get('member') is not None:
                    key = (int(line['member']), shanghai(at),
                        line['account'], kind)
                    expected[key] = expected.get(key, D(0)) + line['amount']

        for i, posting in enumerate(postings):
            if posting[0] == 'post':
                _, kind, at, member_lines = posting
                lines = [{'account': account, 'member': members[index],
                        'amount': D(fen) / 100}
                    for index, account, fen in member_lines]
                lines.append({'account': 'pdd_receivable',
                        'amount': -sum(l['amount'] for l in lines)})
                with clock(at):
                    Entry.post(f'income-{i}', lines, kind)
                posted.append((f'income-{i}', lines, kind, at))
                add(lines, kind, at)
            elif posting[0] == 'replay' and posted:
                key, lines, kind, _ = posted[posting[1] % len(posted)]
                # another day: a replay posts nothing, whenever it comes
                with clock(TIMES[-1]):
                    Entry.post(key, lines, kind)
            elif posting[0] == 'reverse' and posted:
                _, index, at = posting
                key, lines, kind, _ = posted[index % len(posted)]
                entry, = Entry.search([('key', '=', key)])
                with clock(at):
                    Entry.reverse(entry, f'{key}:reversed')
                reversal = [dict(l, amount=-l['amount']) for l in lines]
                if f'{key}:reversed' not in {p[0] for p in posted}:
                    posted.append((f'{key}:reversed', reversal, 'reversal', at))
                    add(reversal, 'reversal', at)

        def mine(rows):
            return {k: v for k, v in rows.items() if k[0] in ids and v}
        expected = mine(expected)
        self.assertEqual(mine(MemberDay.from_lines()), expected)
        self.assertEqual(mine(MemberDay.stored()), expected)
        MemberDay.recompute()
        self.assertEqual(mine(MemberDay.stored()), expected)
        self.check_history_counts(members)

    def check_history_counts(self, members):
        """The money history's daily counts equal the lines, and its total
        equals a count of the rows whatever the bounds (whole days, parts
        of days at either end, unbounded)"""
        HistoryDay = Pool().get('duoduo.ledger.history_day')
        ids = {m.id for m in members}

        def mine(rows):
            return {k: v for k, v in rows.items() if k[0] in ids}
        self.assertEqual(mine(HistoryDay.stored()),
            mine(HistoryDay.from_lines()))
        second = dt.timedelta(seconds=1)
        bounds = [None, TIMES[0], TIMES[1], TIMES[2] + second, TIMES[4]]
        cursor = Transaction().connection.cursor()
        for member in members:
            for start in bounds:
                for end in bounds:
                    for kinds in [None, ['commission', 'reversal']]:
                        rows = member._history_rows(kinds, start, end)
                        cursor.execute(*rows.select(rows.entry))
                        self.assertEqual(
                            member._history_total(kinds, start, end),
                            len(cursor.fetchall()),
                            (member.id, start, end, kinds))

    @with_transaction()
    def test_register_fills_from_existing_lines(self):
        """Activating on a database that has lines: the table is created
        and filled from them"""
        pool = Pool()
        Entry = pool.get('duoduo.ledger.entry')
        MemberDay = pool.get('duoduo.ledger.member_day')
        member, = self.members(1)
        with clock(TIMES[0]):
            Entry.post('register-a', [
                    {'account': 'member_pending', 'member': member,
                        'amount': D('1.25')},
                    {'account': 'pdd_receivable', 'amount': D('-1.25')},
                    ], 'commission')
        with clock(TIMES[2]):
            Entry.post('register-b', [
                    {'account': 'member_pending', 'member': member,
                        'amount': D('-1.25')},
                    {'account': 'member_available', 'member': member,
                        'amount': D('1.25')},
                    ], 'commission')
        before = MemberDay.stored()
        cursor = Transaction().connection.cursor()
        cursor.execute(f'DROP TABLE "{MemberDay._table}"')
        MemberDay.__register__('duoduo_commission')
        self.assertEqual(MemberDay.stored(), before)
        self.assertEqual(
            {k: v for k, v in before.items() if k[0] == member.id}, {
                (member.id, dt.date(2026, 11, 30), 'member_pending', 'commission'):
                    D('1.25'),
                (member.id, dt.date(2026, 12, 1), 'member_pending', 'commission'):
                    D('-1.25'),
                (member.id, dt.date(2026, 12, 1), 'member_available', 'commission'):
                    D('1.25'),
                })

    @with_transaction()
    def test_member_day_cannot_be_edited(self):
        "Not by admin, not by root: it is derived from the lines"
        pool = Pool()
        Entry = pool.get('duoduo.ledger.entry')
        MemberDay = pool.get('duoduo.ledger.member_day')
        member, = self.members(1)
        Entry.post('edit-a', [
                {'account': 'member_pending', 'member': member,
                    'amount': D('2.00')},
                {'account': 'pdd_receivable', 'amount': D('-2.00')},
                ], 'commission')
        row, = MemberDay.search([('member', '=', member.id)])
        self.assertEqual(row.amount, D('2.00'))
        derived = gettext('duoduo_ledger.msg_ledger_derived')
        transaction = Transaction()
        for user in [0, 1]:
            with transaction.set_user(user), \
                    transaction.set_context(_check_access=False):
                for call in [
                        lambda: MemberDay.write([row], {'amount': D('9')}),
                        lambda: MemberDay.delete([row]),
                        lambda: MemberDay.create([{
                                    'member': member.id,
                                    'day': dt.date(2026, 1, 1),
                                    'account': 'member_available',
                                    'kind': 'subsidy',
                                    'amount': D('100.00')}]),
                        ]:
                    with self.subTest(user=user), \
                            self.assertRaises(LedgerChangeError) as cm:
                        call()
                    self.assertEqual(cm.exception.message, derived)
        row, = MemberDay.search([('member', '=', member.id)])
        self.assertEqual(row.amount, D('2.00'))

    @with_transaction()
    def test_staff_read_only(self):
        pool = Pool()
        ModelAccess = pool.get('ir.model.access')
        ModelData = pool.get('ir.model.data')
        User = pool.get('res.user')
        for group in ['admin', 'finance', 'operator', None]:
            groups = [ModelData.get_id('duoduo_base', f'group_duoduo_{group}')
                ] if group else []
            user, = User.create([{
                        'name': f"Income {group}", 'login': f'income_{group}',
                        'groups': [('add', groups)]}])
            with Transaction().set_user(user.id):
                access = ModelAccess.get_access(['duoduo.ledger.member_day'])
            self.assertEqual(access['duoduo.ledger.member_day'], {
                    'read': bool(group), 'write': False,
                    'create': False, 'delete': False}, group)

    # --- the figures of the income routes ---

    @with_transaction()
    def test_income_overview_and_year(self):
        member, other = self.members(2)

        def post(key, at, kind, *moves):
            post_moves(key, at, kind, member, *moves)

        # 23:59:59 on 30 November in Shanghai
        post('o-a', TIMES[0], 'commission', ('member_pending', '1.00'))
        # 00:30 on 1 December in Shanghai
        post('o-b', TIMES[2], 'team_commission', ('member_pending', '2.00'))
        # 10:00 on 1 December: a settlement, a withdrawal asked and paid
        post('o-c', TIMES[3], 'commission',
            ('member_pending', '-1.00'), ('member_available', '1.00'))
        post('o-d', TIMES[3], 'withdrawal',
            ('member_available', '-0.40'), ('member_withdrawing', '0.40'))
        post('o-e', TIMES[3], 'withdrawal',
            ('member_withdrawing', '-0.30'), ('member_paid', '0.30'))
        # 2 December
        post('o-f', dt.datetime(2026, 12, 1, 16), 'reversal',
            ('member_available', '-0.25'))

        with clock(dt.datetime(2026, 12, 1, 3)):
            overview = member.income_overview()
        # every posting counts in the totals; today is 1 December
        self.assertEqual(overview, {
                'total_income': D('2.75'),
                'available_balance': D('0.35'),
                'frozen_balance': D('2.10'),
                'today_income': D('2.00'),
                'yesterday_income': D('1.00'),
                'month_income': D('1.75'),
                'total_withdraw': D('0.30'),
                'pending_income': D('2.00'),
                })
        with clock(dt.datetime(2026, 12, 1, 16)):
            overview = member.income_overview()
        self.assertEqual((overview['today_income'],
                overview['yesterday_income'], overview['month_income'],
                overview['total_income'], overview['available_balance']),
            (D('-0.25'), D('2.00'), D('1.75'), D('2.75'), D('0.35')))
        self.assertEqual(other.income_overview(),
            dict.fromkeys(overview, D('0.00')))

        year = member.year_income(2026)
        self.assertEqual(year['year'], 2026)
        self.assertEqual(year['total_income'], D('2.75'))
        self.assertEqual([m['month'] for m in year['months']],
            list(range(1, 13)))
        self.assertEqual({m['month']: m['income'] for m in year['months']
                if m['income']}, {11: D('1.00'), 12: D('1.75')})
        self.assertEqual(member.year_income(2025)['total_income'],
            D('0.00'))

    # --- orders stored before the module was activated ---

    @with_transaction()
    def test_book_unbooked(self):
        """Orders with a PDD phase and no commission booked yet are booked
        by the cron; others are left alone; running again books nothing"""
        pool = Pool()
        Order = pool.get('duoduo.pdd.order')
        Cron = pool.get('ir.cron')
        ModelData = pool.get('ir.model.data')
        Member = pool.get('duoduo.member')
        buyer, = self.members(1)
        values = {'member': buyer.id, 'promotion_amount': D('10.00'),
            'order_amount': D('100.00'),
            'order_pay_time': dt.datetime(2026, 11, 1)}
        # created as the sync stored them before the module's hook existed
        pending, settled, unpaid, failed = Order.create([
                dict(values, order_sn='BACKFILL-0', order_status=0),
                dict(values, order_sn='BACKFILL-5', order_status=5),
                dict(values, order_sn='BACKFILL--1', order_status=-1),
                dict(values, order_sn='BACKFILL-4', order_status=4),
                ])
        self.assertEqual([o.commission_state for o in Order.browse(
                    [pending, settled, unpaid, failed])], [None] * 4)
        # a booked order, untouched
        self.assertEqual(Order.book_unbooked(), 3)
        pending, settled, unpaid, failed = Order.browse(
            [pending, settled, unpaid, failed])
        self.assertEqual(
            [o.commission_state for o in [pending, settled, unpaid, failed]],
            ['pending', 'available', None, 'reversed'])
        buyer = Member(buyer.id)
        # the default plan: 30 % to a 普通用户 buying for themselves
        self.assertEqual((buyer.balance_pending, buyer.balance_available),
            (D('3.00'), D('3.00')))
        self.assertEqual(pending.member_share_estimate(), D('3.00'))
        self.assertEqual(failed.member_share_estimate(), D('0.00'))
        self.assertEqual(Order.book_unbooked(), 0)

        cron = Cron(ModelData.get_id(
                'duoduo_commission', 'cron_book_unbooked_orders'))
        self.assertEqual(cron.method, 'duoduo.pdd.order|book_unbooked')
        self.assertEqual((cron.interval_number, cron.interval_type),
            (1, 'days'))
        # no next call yet: the first cron tick after activation runs it
        self.assertIsNone(cron.next_call)

    @with_transaction()
    def test_share_estimate_before_booking(self):
        "An order not booked yet shows the buyer's share under the plan"
        Order = Pool().get('duoduo.pdd.order')
        buyer, = self.members(1)
        order, = Order.create([{'order_sn': 'ESTIMATE-1', 'order_status': 1,
                    'member': buyer.id, 'promotion_amount': D('0.99'),
                    'order_pay_time': dt.datetime(2026, 11, 1)}])
        self.assertIsNone(order.commission_state)
        # 30 % of 0.99 rounded down to the fen
        self.assertEqual(order.member_share_estimate(), D('0.29'))
        other, = Order.create([{'order_sn': 'ESTIMATE-2',
                    'order_status': 1, 'promotion_amount': D('0.99')}])
        self.assertEqual(other.member_share_estimate(), D('0.00'))
