"""The ledger: posting, refusals, replays, immutability, reversals and
balances (sums of lines, checked against a naive Python sum)."""
import datetime as dt
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trytond.i18n import gettext
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

from trytond.modules.duoduo_base.tests.testing import DatabaseTestCase
from trytond.modules.duoduo_base.tools import shanghai_day
from trytond.modules.duoduo_ledger import ledger
from trytond.modules.duoduo_ledger.exceptions import (
    LedgerChangeError, LedgerPostError)
from trytond.modules.duoduo_ledger.tests import tools
from trytond.modules.duoduo_ledger.tests.tools import (
    MembersMixin, post_moves)
from trytond.modules.duoduo_commission.ledger import order_origin

D = Decimal


def clock(*args):
    "Patch the ledger's clock to the naive UTC datetime(*args)"
    return tools.clock(dt.datetime(*args))


class LedgerTestCase(MembersMixin, DatabaseTestCase):
    "The ledger of duoduo_commission"
    module = 'duoduo_commission'
    phone_prefix = '1391234'

    def order(self, order_sn='LEDGER-1'):
        Order = Pool().get('duoduo.pdd.order')
        order, = Order.create([{'order_sn': order_sn, 'order_status': 0}])
        return order

    def accrual(self, buyer, upline):
        "An order's commission of 10.00 split in pending shares"
        return [
            {'account': 'pdd_receivable', 'amount': D('-10.00')},
            {'account': 'member_pending', 'member': buyer,
                'amount': D('3.00')},
            {'account': 'member_pending', 'member': upline.id,
                'amount': D('1.50')},
            {'account': 'platform_margin', 'member': None,
                'amount': D('5.50')},
            ]

    def assertRefused(self, message_id, lines, kind='commission', key='k',
            **values):
        Entry = Pool().get('duoduo.ledger.entry')
        with self.assertRaises(LedgerPostError) as cm:
            Entry.post(key, lines, kind)
        self.assertEqual(cm.exception.message, gettext(
                f'duoduo_ledger.{message_id}', key=key,
                kind=kind, **values))

    # --- posting ---

    @with_transaction()
    def test_post_balanced_entry(self):
        pool = Pool()
        Entry = pool.get('duoduo.ledger.entry')
        Line = pool.get('duoduo.ledger.line')
        buyer, upline = self.members(2)
        order = self.order()
        with clock(2026, 11, 30, 16, 30):
            entry = Entry.post('order-1-pending-0',
                self.accrual(buyer, upline), 'commission',
                origin=order, order_status=0, description="Accrual")

        self.assertEqual(entry.key, 'order-1-pending-0')
        self.assertEqual(entry.kind, 'commission')
        self.assertEqual(entry.order, order)
        self.assertEqual(entry.order_status, 0)
        self.assertEqual(entry.description, "Accrual")
        self.assertEqual(entry.posted_at, dt.datetime(2026, 11, 30, 16, 30))
        self.assertEqual(entry.total, D('10.00'))
        self.assertEqual(entry.members, (buyer, upline))
        self.assertEqual(
            sorted((l.account, l.member, l.amount) for l in entry.lines),
            sorted([
                    ('member_pending', buyer, D('3.00')),
                    ('member_pending', upline, D('1.50')),
                    ('pdd_receivable', None, D('-10.00')),
                    ('platform_margin', None, D('5.50')),
                    ]))
        # the cause is copied on every line, for filtering
        for line in entry.lines:
            self.assertEqual(line.kind, 'commission')
            self.assertEqual(line.origin, order)
            self.assertEqual(line.posted_at, entry.posted_at)
        self.assertEqual(sum(l.amount for l in entry.lines), 0)
        # found by member, order and money type
        self.assertEqual(Entry.search([('members', '=', upline.id)]), [entry])
        self.assertEqual(Entry.search([('origin', '=', order_origin(order.id))]), [entry])
        self.assertEqual(Line.search_count([('member', '=', buyer.id)]), 1)

    @with_transaction()
    def test_post_refuses_wrong_lines(self):
        "Each refusal says what is wrong; nothing is written"
        pool = Pool()
        Entry = pool.get('duoduo.ledger.entry')
        member, = self.members(1)
        receivable = {'account': 'pdd_receivable', 'amount': D('-1.00')}

        self.assertRefused('msg_ledger_unbalanced', [
                receivable,
                {'account': 'member_pending', 'member': member,
                    'amount': D('0.99')},
                ], total=D('-0.01'))
        self.assertRefused('msg_ledger_amount_not_decimal', [
                receivable,
                {'account': 'member_pending', 'member': member,
                    'amount': 1.0},
                ], account='member_pending', amount='1.0')
        self.assertRefused('msg_ledger_amount_not_decimal', [
                {'account': 'pdd_receivable', 'amount': -1},
                {'account': 'platform_margin', 'amount': D(1)},
                ], account='pdd_receivable', amount='-1')
        self.assertRefused('msg_ledger_amount_not_decimal', [
                receivable,
                {'account': 'platform_margin', 'amount': D('NaN')},
                ], account='platform_margin', amount="Decimal('NaN')")
        self.assertRefused('msg_ledger_amount_precision', [
                {'account': 'pdd_receivable', 'amount': D('-1.005')},
                {'account': 'platform_margin', 'amount': D('1.005')},
                ], account='pdd_receivable', amount=D('-1.005'))
        self.assertRefused('msg_ledger_amount_too_large', [
                {'account': 'pdd_receivable', 'amount': -D('1E14')},
                {'account': 'platform_margin', 'amount': D('1E14')},
                ], account='pdd_receivable', amount=-D('1E14'))
        self.assertRefused('msg_ledger_member_required', [
                receivable,
                {'account': 'member_pending', 'amount': D('1.00')},
                ], account='member_pending')
        self.assertRefused('msg_ledger_member_required', [
                receivable,
                {'account': 'member_available', 'member': None,
                    'amount': D('1.00')},
                ], account='member_available')
        self.assertRefused('msg_ledger_member_forbidden', [
                receivable,
                {'account': 'platform_margin', 'member': member,
                    'amount': D('1.00')},
                ], account='platform_margin')
        self.assertRefused('msg_ledger_account_invalid', [
                receivable,
                {'account': 'cash', 'amount': D('1.00')},
                ], account='cash')
        self.assertRefused('msg_ledger_too_few_lines', [
                {'account': 'platform_margin', 'amount': D('0.00')},
                ])
        self.assertRefused('msg_ledger_kind_invalid', [
                receivable,
                {'account': 'platform_margin', 'amount': D('1.00')},
                ], kind='bonus')
        with self.assertRaises(LedgerPostError) as cm:
            Entry.post('', [receivable,
                    {'account': 'platform_margin', 'amount': D('1.00')}], 'commission')
        self.assertEqual(cm.exception.message,
            gettext('duoduo_ledger.msg_ledger_key_required'))
        with self.assertRaises(TypeError):
            Entry.post('k', [receivable,
                    {'account': 'platform_margin', 'amount': D('1.00')}], 'commission',
                colour='red')
        self.assertEqual(Entry.search_count([]), 0)

    @with_transaction()
    def test_fen_amounts_with_trailing_zeros_accepted(self):
        Entry = Pool().get('duoduo.ledger.entry')
        entry = Entry.post('k', [
                {'account': 'pdd_receivable', 'amount': D('-1.500')},
                {'account': 'platform_margin', 'amount': D('1.5')},
                ], 'commission')
        self.assertEqual(sorted(l.amount for l in entry.lines),
            [D('-1.50'), D('1.50')])

    @with_transaction()
    def test_replay_returns_the_entry_and_writes_nothing(self):
        pool = Pool()
        Entry = pool.get('duoduo.ledger.entry')
        Line = pool.get('duoduo.ledger.line')
        buyer, upline = self.members(2)
        with clock(2026, 11, 1):
            entry = Entry.post('order-1-pending-0',
                self.accrual(buyer, upline), 'commission')
        counts = Entry.search_count([]), Line.search_count([])

        with clock(2026, 11, 2):
            again = Entry.post('order-1-pending-0',
                self.accrual(buyer, upline), 'commission')
        self.assertEqual(again, entry)
        self.assertEqual((Entry.search_count([]), Line.search_count([])),
            counts)
        again, = Entry.browse([again.id])
        self.assertEqual(again.posted_at, dt.datetime(2026, 11, 1))
        self.assertIsNone(again.write_date)

        # the same key with other lines: the first entry stands, and a
        # warning says the key was reused
        with self.assertLogs(ledger.logger, 'WARNING'):
            other = Entry.post('order-1-pending-0', [
                    {'account': 'pdd_receivable', 'amount': D('-1.00')},
                    {'account': 'platform_margin', 'amount': D('1.00')},
                    ], 'commission')
        self.assertEqual(other, entry)
        self.assertEqual((Entry.search_count([]), Line.search_count([])),
            counts)

    # --- append-only ---

    @with_transaction()
    def test_entries_and_lines_cannot_be_changed(self):
        "Not by admin, not by root: corrections are new entries"
        pool = Pool()
        Entry = pool.get('duoduo.ledger.entry')
        Line = pool.get('duoduo.ledger.line')
        buyer, upline = self.members(2)
        entry = Entry.post('k', self.accrual(buyer, upline), 'commission')
        line = entry.lines[0]
        immutable = gettext('duoduo_ledger.msg_ledger_immutable')
        post_only = gettext('duoduo_ledger.msg_ledger_post_only')
        transaction = Transaction()

        for user in [0, 1]:
            with transaction.set_user(user), \
                    transaction.set_context(_check_access=False):
                for call in [
                        lambda: Entry.write([entry], {'description': "x"}),
                        lambda: Entry.write([entry], {}),
                        lambda: Entry.delete([entry]),
                        lambda: Line.write([line], {'amount': D('9.99')}),
                        lambda: Line.delete([line]),
                        ]:
                    with self.subTest(user=user), \
                            self.assertRaises(LedgerChangeError) as cm:
                        call()
                    self.assertEqual(cm.exception.message, immutable)
                for call in [
                        lambda: Entry.create([{
                                    'key': 'direct', 'kind': 'commission',
                                    'posted_at': dt.datetime(2026, 1, 1)}]),
                        lambda: Line.create([{
                                    'entry': entry.id,
                                    'account': 'platform_margin',
                                    'amount': D('1.00'), 'kind': 'commission',
                                    'posted_at': dt.datetime(2026, 1, 1)}]),
                        lambda: Entry.copy([entry]),
                        ]:
                    with self.subTest(user=user), \
                            self.assertRaises(LedgerChangeError) as cm:
                        call()
                    self.assertEqual(cm.exception.message, post_only)
        entry, = Entry.browse([entry.id])
        self.assertIsNone(entry.description)
        self.assertEqual(sorted(l.amount for l in entry.lines),
            [D('-10.00'), D('1.50'), D('3.00'), D('5.50')])

    @with_transaction()
    def test_staff_read_only(self):
        "Admin, finance and operator read the ledger; nobody edits it"
        pool = Pool()
        ModelAccess = pool.get('ir.model.access')
        ModelData = pool.get('ir.model.data')
        User = pool.get('res.user')
        models = ['duoduo.ledger.entry', 'duoduo.ledger.line']
        for group in ['admin', 'finance', 'operator', None]:
            groups = [ModelData.get_id('duoduo_base', f'group_duoduo_{group}')
                ] if group else []
            user, = User.create([{
                        'name': f"Staff {group}", 'login': f'staff_{group}',
                        'groups': [('add', groups)]}])
            with Transaction().set_user(user.id):
                access = ModelAccess.get_access(models)
            for model in models:
                with self.subTest(group=group, model=model):
                    self.assertEqual(access[model], {
                            'read': bool(group), 'write': False,
                            'create': False, 'delete': False})

    # --- reversals ---

    @with_transaction()
    def test_reverse_negates_every_line(self):
        pool = Pool()
        Entry = pool.get('duoduo.ledger.entry')
        Line = pool.get('duoduo.ledger.line')
        buyer, upline = self.members(2)
        order = self.order()
        accrual = Entry.post('o-pending', self.accrual(buyer, upline), 'commission',
            origin=order, order_status=0)
        settlement = Entry.post('o-settled', [
                {'account': 'member_pending', 'member': buyer,
                    'amount': D('-3.00')},
                {'account': 'member_available', 'member': buyer,
                    'amount': D('3.00')},
                ], 'commission', origin=order, order_status=5)
        # the member withdrew 2.00 of the 3.00 before PDD punished the order
        Entry.post('w-1', [
                {'account': 'member_available', 'member': buyer,
                    'amount': D('-2.00')},
                {'account': 'member_withdrawing', 'member': buyer,
                    'amount': D('2.00')},
                ], 'withdrawal')

        reversals = [
            Entry.reverse(entry, f'{entry.key}-reversed', order_status=10)
            for entry in [accrual, settlement]]
        for entry, reversal in zip([accrual, settlement], reversals):
            self.assertEqual(reversal.reversal_of, entry)
            self.assertEqual(reversal.kind, 'reversal')
            self.assertEqual(reversal.order, order)
            self.assertEqual(reversal.order_status, 10)
            # stored in the language members and finance read (zh_CN)
            self.assertEqual(reversal.description, f"冲回：{entry.key}")
            self.assertEqual(
                sorted((l.account, l.member, -l.amount)
                    for l in reversal.lines),
                sorted((l.account, l.member, l.amount) for l in entry.lines))
        # replaying a reversal is a no-op too
        self.assertEqual(
            Entry.reverse(accrual, 'o-pending-reversed'), reversals[0])

        # the order's lines net to zero; the member owes what was withdrawn
        self.assertEqual(sum(l.amount for l in Line.search(
                        [('origin', '=', order_origin(order.id))])), 0)
        self.assertEqual(Line.balance(buyer, 'member_available'), D('-2.00'))
        self.assertEqual(Line.balance(buyer, 'member_pending'), D('0.00'))
        self.assertEqual(Line.balance(upline, 'member_pending'), D('0.00'))
        buyer, = type(buyer).browse([buyer.id])
        self.assertEqual(buyer.balance_available, D('-2.00'))
        self.assertEqual(buyer.balance_withdrawing, D('2.00'))
        info = buyer.get_info()
        self.assertEqual(info['balance'], D('-2.00'))
        self.assertEqual(info['total_income'], D('0.00'))

    # --- balances ---

    @with_transaction()
    def test_balances_without_lines_are_zero(self):
        pool = Pool()
        Line = pool.get('duoduo.ledger.line')
        member, other = self.members(2)
        self.assertEqual(Line.balance(member, 'member_available'), D('0.00'))
        self.assertEqual(Line.balances([member, other], 'member_pending'),
            {member.id: D('0.00'), other.id: D('0.00')})
        self.assertEqual(member.balance_paid, D('0.00'))
        info = member.get_info()
        for name in ['balance', 'total_income', 'today_income']:
            self.assertEqual(info[name], D('0.00'))
            self.assertIsInstance(info[name], Decimal)
        self.assertEqual(info['team_count'], 0)

    def test_balances_are_sums_of_lines(self):
        "Random postings: every balance equals a naive sum of the amounts"
        member_accounts = [
            'member_pending', 'member_available', 'member_withdrawing',
            'member_paid', 'member_points']
        postings = st.lists(st.tuples(
                st.sampled_from(
                        ['commission', 'team_commission', 'subsidy', 'reversal',
                            'withdrawal']),
                st.lists(st.tuples(
                        st.integers(0, 2),
                        st.sampled_from(member_accounts),
                        st.integers(-10 ** 9, 10 ** 9)),
                    min_size=1, max_size=4)),
            max_size=8)

        @settings(max_examples=30, deadline=None,
            suppress_health_check=[HealthCheck.too_slow])
        @given(postings)
        @with_transaction()
        def check(postings):
            self.check_balances(postings, member_accounts)
        check()

    def check_balances(self, postings, member_accounts):
        pool = Pool()
        Entry = pool.get('duoduo.ledger.entry')
        Line = pool.get('duoduo.ledger.line')
        Member = pool.get('duoduo.member')
        members = self.members(3)
        expected = {}  # (member index, account) -> Decimal
        income = [D(0)] * 3
        for i, (kind, member_lines) in enumerate(postings):
            lines = []
            for index, account, fen in member_lines:
                amount = D(fen) / 100
                lines.append({'account': account, 'member': members[index],
                        'amount': amount})
                expected[index, account] = expected.get(
                    (index, account), D(0)) + amount
                if (kind != 'withdrawal'
                        and account in ledger.CASH_ACCOUNTS):
                    income[index] += amount
            lines.append({'account': 'pdd_receivable',
                    'amount': -sum(l['amount'] for l in lines)})
            Entry.post(f'random-{i}', lines, kind)

        for account in member_accounts:
            balances = Line.balances(members, account)
            for index, member in enumerate(members):
                want = expected.get((index, account), D(0))
                self.assertEqual(Line.balance(member, account), want)
                self.assertEqual(balances[member.id], want)
        for index, member in enumerate(members):
            self.assertEqual(
                Line.balance(member, ['member_pending', 'member_available']),
                expected.get((index, 'member_pending'), D(0))
                + expected.get((index, 'member_available'), D(0)))
        for index, member in enumerate(Member.browse(members)):
            for name, account in ledger.BALANCE_FIELDS.items():
                self.assertEqual(getattr(member, name),
                    expected.get((index, account), D(0)))
            info = member.get_info()
            self.assertEqual(info['balance'],
                expected.get((index, 'member_available'), D(0)))
            self.assertEqual(info['total_income'], income[index])
        # every entry balanced, and so the whole ledger
        for entry in Entry.search([]):
            self.assertEqual(sum(l.amount for l in entry.lines), 0)
        self.assertEqual(sum(l.amount for l in Line.search([])), 0)

    # --- "my" page ---

    def test_shanghai_day(self):
        day = shanghai_day
        self.assertEqual(day(dt.datetime(2026, 11, 30, 16, 30)),
            (dt.datetime(2026, 11, 30, 16), dt.datetime(2026, 12, 1, 16)))
        self.assertEqual(day(dt.datetime(2026, 11, 30, 15, 59)),
            (dt.datetime(2026, 11, 29, 16), dt.datetime(2026, 11, 30, 16)))

    @with_transaction()
    def test_get_info_today_in_shanghai(self):
        "A line posted at 16:30 UTC counts in the next Shanghai day"
        member, other = self.members(2)

        def post(key, at, kind, *moves):
            post_moves(key, dt.datetime(*at), kind, member, *moves)

        # 23:59:59 on 30 November in Shanghai
        post('a', (2026, 11, 30, 15, 59, 59), 'commission', ('member_pending', '1.00'))
        # 00:30 on 1 December in Shanghai
        post('b', (2026, 11, 30, 16, 30), 'team_commission', ('member_pending', '2.00'))
        # 00:00 on 2 December in Shanghai
        post('c', (2026, 12, 1, 16), 'subsidy', ('member_pending', '4.00'))
        # on 1 December: settled (pending to available) then withdrawn
        post('d', (2026, 12, 1, 1), 'commission',
            ('member_pending', '-2.00'), ('member_available', '2.00'))
        post('e', (2026, 12, 1, 2), 'withdrawal',
            ('member_available', '-0.50'), ('member_withdrawing', '0.50'))
        # points are not money
        post('f', (2026, 12, 1, 2), 'subsidy', ('member_points', '100.00'))

        with clock(2026, 12, 1, 2):  # 10:00 on 1 December in Shanghai
            info = member.get_info()
        self.assertEqual(info['balance'], D('1.50'))
        self.assertEqual(info['total_income'], D('7.00'))
        self.assertEqual(info['today_income'], D('2.00'))
        for name in ['balance', 'total_income', 'today_income']:
            self.assertIsInstance(info[name], Decimal)
        with clock(2026, 11, 30, 15, 59, 59):  # still 30 November
            self.assertEqual(member.get_info()['today_income'], D('1.00'))
        with clock(2026, 12, 1, 16):  # 2 December
            self.assertEqual(member.get_info()['today_income'], D('4.00'))
        self.assertEqual(other.get_info()['total_income'], D('0.00'))

