"""Finance reports and the monthly reconciliation, from real PDD orders
(simulator items stored by the production upsert) through the commission
lifecycle.

Entries are never deleted and the database is shared, so every test puts
its orders and entries in an Asia/Shanghai month of its own, years before
today: the simulator's clock and the ledger's are moved there together.
The figures are read from the files a finance person opens: the ODS
content.xml, and the PDF's text (pdftotext) when LibreOffice is installed
(bin/ensure-libreoffice); the PDFs are kept, pass or fail, in
test-artifacts/report-*.pdf."""
import datetime as dt
import io
import itertools
import os
import pathlib
import shutil
import subprocess
import tempfile
import unittest
import zipfile
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

from lxml import etree
from support import CommissionWorld, committed

from trytond import backend
from trytond.exceptions import UserError
from trytond.model.exceptions import SQLConstraintError
from trytond.modules.duoduo_base.tests.testing import DatabaseTestCase
from trytond.pool import Pool
from trytond.transaction import Transaction
from trytond.modules.duoduo_commission.ledger import order_origin

D = Decimal
ARTIFACTS = pathlib.Path(__file__).parents[1] / 'test-artifacts'
ZERO = D('0.00')
SHANGHAI = ZoneInfo('Asia/Shanghai')
NS = {
    'office': 'urn:oasis:names:tc:opendocument:xmlns:office:1.0',
    'table': 'urn:oasis:names:tc:opendocument:xmlns:table:1.0',
    'text': 'urn:oasis:names:tc:opendocument:xmlns:text:1.0',
    }
CASH = ['member_pending', 'member_available', 'member_withdrawing',
    'member_paid']
has_pdf_tools = unittest.skipUnless(
    shutil.which('soffice') and shutil.which('pdftotext'),
    "LibreOffice and poppler-utils are not installed "
    "(bin/ensure-libreoffice)")

# a month of its own per test: 2021-01, 2021-03, ... (two months each)
_months = itertools.count(0, 2)


def sheet_rows(ods):
    """The rows of the ODS file's sheets, as a finance person reads them:
    [[(text, value or None), ...], ...] (value: office:value, a Decimal)"""
    with zipfile.ZipFile(io.BytesIO(ods)) as package:
        assert package.read('mimetype') == (
            b'application/vnd.oasis.opendocument.spreadsheet')
        content = etree.fromstring(package.read('content.xml'))
    rows = []
    for row in content.iterfind('.//table:table-row', NS):
        cells = []
        for cell in row.iterfind('table:table-cell', NS):
            text = ''.join(cell.itertext())
            value = cell.get(f'{{{NS["office"]}}}value')
            cells.append((text, D(value) if value is not None else None))
        rows.append(cells)
    return rows


def labels(rows):
    "The first cell's text of each row ('' for an empty row)"
    return [row[0][0] if row else '' for row in rows]


def row_values(rows, label):
    "The values of the (first) row whose first cell reads label"
    for row in rows:
        if row and row[0][0] == label:
            return [value for _, value in row[1:]]
    raise AssertionError(f"no row {label!r} in {labels(rows)}")


def keep(name, content):
    "Keep a report file in test-artifacts/ (per backend) to look at"
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f'report-{name}-{backend.name}.pdf').write_bytes(content)


def pdf_text(pdf):
    with tempfile.NamedTemporaryFile(suffix='.pdf') as file:
        file.write(pdf)
        file.flush()
        return subprocess.run(['pdftotext', '-layout', file.name, '-'],
            check=True, capture_output=True, text=True).stdout


class FinanceReportsTestCase(CommissionWorld, DatabaseTestCase):
    "Monthly settlement, member statement, reconciliation"
    module = 'duoduo_commission'
    seed = 20240301
    phone_prefix = '1370042'
    nickname_prefix = '报表会员'
    city_prefix = 'report-city-'

    def setUp(self):
        super().setUp()
        from trytond.modules.duoduo_base import tools
        # the ledger posts at the simulator's time: the test's month
        self.enterContext(mock.patch.object(tools, 'now', self.sim_now))
        n = next(_months)
        self.month = dt.date(2021 + n // 12, n % 12 + 1, 1)
        self.next_month = (self.month + dt.timedelta(days=32)).replace(day=1)
        self.at(self.month, 3)

    def at(self, month, day, hour=10):
        "Move the clocks to that day and hour of Asia/Shanghai"
        target = dt.datetime.combine(month.replace(day=day),
            dt.time(hour), tzinfo=SHANGHAI).timestamp()
        self.sim.offset += target - self.sim.now()

    # --- the world (members, orders: CommissionWorld) ---

    def unbooked(self):
        "The commission lifecycle switched off: PDD moves, nothing is booked"
        with committed():
            Order = Pool().get('duoduo.pdd.order')
        return mock.patch.object(Order, 'process_commission',
            lambda *args, **kwargs: None)

    def ledger_lines(self, item):
        "[(money_type, account, member id, amount)] of the order, by ORM"
        order_id = self.order_id(item)
        with committed():
            Line = Pool().get('duoduo.ledger.line')
            return [(l.kind, l.account,
                    l.member.id if l.member else None, l.amount)
                for l in Line.search([('origin', '=', order_origin(order_id))])]

    def withdraw_all(self, member_id, key):
        "The member withdraws every available fen (no withdraw addon yet)"
        with committed():
            available = Pool().get('duoduo.ledger.line').balance(
                member_id, 'member_available')
        self.withdraw(member_id, available, key)
        return available

    def report(self, name, ids, data):
        with committed():
            Report = Pool().get(name, type='report')
            extension, content, _, filename = Report.execute(ids, data)
            return extension, bytes(content), filename

    # --- monthly settlement ---

    def test_settlement(self):
        """The month's PDD commission, members' money by type, margin,
        withdrawals and negative balances, as the ODS shows them"""
        t = self.team()
        settled = self.buy(t['buyer'], order_amount=12345)
        reversed_ = self.buy(t['buyer'], order_amount=20000)
        pending = self.buy(t['buyer'], order_amount=5000)
        self.upsert(settled, reversed_, pending)
        self.move(settled, 5)
        self.move(reversed_, 5)
        withdrawn = self.withdraw_all(t['buyer'],
            f'test-report-withdrawal-{t["buyer"]}')
        # punished after settlement and withdrawal: the buyer owes it
        self.move(reversed_, 10)
        # next month's entries are not this month's
        self.at(self.next_month, 2)
        self.move(pending, 5)

        items = [settled, reversed_, pending]
        lines = {sn: self.ledger_lines(i)
            for sn, i in zip(['settled', 'reversed', 'pending'], items)}

        def member_sum(order, money_type, accounts=CASH):
            return sum((a for mt, acc, m, a in lines[order]
                    if mt == money_type and acc in accounts), ZERO)

        def accrued(order, money_type):
            return sum((a for mt, acc, m, a in lines[order]
                    if mt == money_type and acc == 'member_pending'
                    and a > 0), ZERO)

        buyer_share = {o: sum((a for mt, acc, m, a in lines[o]
                    if mt == 'commission' and acc == 'member_pending' and a > 0
                    and m == t['buyer']), ZERO) for o in lines}
        margin = {o: sum((a for mt, acc, m, a in lines[o]
                    if mt == 'commission' and acc == 'platform_margin'), ZERO)
            for o in lines}

        extension, ods, filename = self.report(
            'duoduo.commission.settlement', [],
            {'month': self.month, 'output_format': 'ods'})
        self.assertEqual(extension, 'ods')
        self.assertTrue(filename.startswith('Monthly Settlement'))
        rows = sheet_rows(ods)
        total_promotion = sum(map(self.promotion, items), ZERO)
        self.assertEqual(row_values(rows, 'Monthly Settlement'), [None])
        self.assertEqual(rows[0][1][0], self.month.strftime('%Y-%m'))
        self.assertEqual(row_values(rows, 'Booked (promotion_amount accrued)'),
            [total_promotion])
        self.assertEqual(row_values(rows, 'Reversed (audit failed, punished)'),
            [-self.promotion(reversed_)])
        self.assertEqual(row_values(rows, 'Net commission from PDD'),
            [total_promotion - self.promotion(reversed_)])

        # accrued, settled, reversed, net
        for money_type, label in [('commission', 'Commission (own purchase)'),
                ('team_commission', 'Team commission')]:
            all_accrued = sum((accrued(o, money_type) for o in lines), ZERO)
            settled_ = (accrued('settled', money_type)
                + accrued('reversed', money_type))
            taken_back = -accrued('reversed', money_type)
            self.assertEqual(row_values(rows, label), [
                    all_accrued, settled_, taken_back,
                    all_accrued + taken_back], label)
            self.assertGreater(all_accrued, 0)
        for label in ['New member bonus', 'Subsidy', 'Other reversals']:
            self.assertEqual(row_values(rows, label), [ZERO] * 4, label)
        # settlements net to zero on the members' cash accounts (the one
        # of next month too): what is left is accruals and reversals
        members_net = sum((member_sum(o, t_) for o in lines
                for t_ in ['commission', 'team_commission', 'reversal']),
                ZERO)
        self.assertEqual(row_values(rows, 'Members total')[3], members_net)
        self.assertEqual(row_values(rows, 'Platform margin'), [])
        margin_booked = sum(margin.values(), ZERO)
        self.assertEqual(row_values(rows, 'Booked')[0], margin_booked)
        self.assertEqual(row_values(rows, 'Reversed')[0], -margin['reversed'])
        self.assertEqual(row_values(rows, 'Net platform margin'),
            [margin_booked - margin['reversed']])
        self.assertEqual(members_net + margin_booked - margin['reversed'],
            total_promotion - self.promotion(reversed_))
        self.assertEqual(row_values(rows,
                'Unexplained (PDD net − members − points − margin)'), [ZERO])
        self.assertEqual(withdrawn,
            buyer_share['settled'] + buyer_share['reversed'])
        self.assertEqual(row_values(rows, 'Taken from available balances'),
            [withdrawn])
        self.assertEqual(row_values(rows, 'Paid out'), [ZERO])

        # the buyer owes the punished order's share; pending: the order
        # still frozen at the end of the month
        negative = {row[2][0]: [v for _, v in row[3:]]
            for row in rows[labels(rows).index('Member') + 1:]}
        with committed():
            buyer = Pool().get('duoduo.member')(t['buyer'])
            code = buyer.invitation_code
            # today: the pending order settled next month
            self.assertEqual(buyer.balance_available,
                buyer_share['pending'] - buyer_share['reversed'])
        self.assertEqual(negative[code],
            [-buyer_share['reversed'], buyer_share['pending']])

        # next month: the pending order settled, nothing booked
        _, ods, _ = self.report('duoduo.commission.settlement', [],
            {'month': self.next_month, 'output_format': 'ods'})
        rows = sheet_rows(ods)
        self.assertEqual(row_values(rows, 'Booked (promotion_amount accrued)'),
            [ZERO])
        self.assertEqual(row_values(rows, 'Commission (own purchase)'),
            [ZERO, buyer_share['pending'], ZERO, ZERO])

    def test_settlement_wizard(self):
        "The wizard asks the month and prints it, ODS by default"
        with committed():
            Wizard = Pool().get('duoduo.commission.settlement.wizard',
                type='wizard')
            session_id, _, _ = Wizard.create()
            result = Wizard.execute(session_id, {
                    'start': {'month': self.month.replace(day=17),
                        'output_format': 'ods'},
                    }, 'print_')
            action, = result['actions']
            self.assertEqual(action[0]['report_name'],
                'duoduo.commission.settlement')
            self.assertEqual(action[1], {
                    'month': self.month, 'output_format': 'ods'})
            Wizard.delete(session_id)

    @has_pdf_tools
    def test_settlement_pdf(self):
        "PDF when LibreOffice is there: the totals in the text"
        t = self.team()
        item = self.buy(t['buyer'], order_amount=31415)
        self.upsert(item)
        self.move(item, 5)
        extension, pdf, _ = self.report('duoduo.commission.settlement', [],
            {'month': self.month, 'output_format': 'pdf'})
        self.assertEqual(extension, 'pdf')
        keep('settlement', pdf)
        self.assertTrue(pdf.startswith(b'%PDF'))
        text = pdf_text(pdf)
        self.assertIn('Monthly Settlement', text)
        self.assertIn(self.month.strftime('%Y-%m'), text)
        self.assertRegex(text,
            r'Net commission from PDD\s+%s' % f'{self.promotion(item):,.2f}')

    def test_pdf_without_libreoffice(self):
        """Without LibreOffice a PDF asked for is refused in words, and ODS
        still comes out"""
        t = self.team()
        with tempfile.TemporaryDirectory() as empty, mock.patch.dict(
                os.environ, {'PATH': empty}):
            self.assertIsNone(shutil.which('soffice'))
            for name, ids, data in [
                    ('duoduo.commission.settlement', [], {
                            'month': self.month}),
                    ('duoduo.commission.member_statement', [t['buyer']], {
                            'model': 'duoduo.member',
                            'start_date': self.month,
                            'end_date': self.month.replace(day=28)}),
                    ]:
                with self.subTest(report=name):
                    with self.assertRaises(UserError) as cm:
                        self.report(name, ids,
                            dict(data, output_format='pdf'))
                    self.assertIn('LibreOffice', cm.exception.message)
                    self.assertIn('ODS', cm.exception.message)
                    extension, ods, _ = self.report(name, ids,
                        dict(data, output_format='ods'))
                    self.assertEqual(extension, 'ods')
                    self.assertTrue(sheet_rows(ods))

    # --- member statement ---

    def test_statement(self):
        """Opening balances, the period's entries, closing = opening + Σ;
        the closing balance is the member's"""
        t = self.team()
        before = self.buy(t['buyer'], order_amount=10000)
        self.upsert(before)
        self.move(before, 5)
        during = self.buy(t['buyer'], order_amount=40000)
        self.upsert(during)
        self.at(self.next_month, 5)
        self.move(during, 5)
        self.move(before, 4)
        late = self.buy(t['buyer'], order_amount=7000)
        self.upsert(late)

        start = self.next_month
        end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(
            days=1)
        extension, ods, _ = self.report(
            'duoduo.commission.member_statement', [t['buyer']], {
                'model': 'duoduo.member',
                'start_date': start, 'end_date': end,
                'output_format': 'ods'})
        self.assertEqual(extension, 'ods')
        rows = sheet_rows(ods)
        header = labels(rows)
        opening = row_values(rows, 'Opening balance')
        period = row_values(rows, 'Movements of the period')
        closing = row_values(rows, 'Closing balance')
        entries = rows[header.index('Opening balance') + 1:
            header.index('Movements of the period')]

        def buyer_share(item):
            return sum((a for mt, acc, m, a in self.ledger_lines(item)
                    if acc == 'member_pending' and a > 0 and mt == 'commission'
                    and m == t['buyer']), ZERO)

        # before the period: `before` settled, `during` accrued
        self.assertEqual(opening, [buyer_share(during), buyer_share(before),
                ZERO, ZERO, buyer_share(during) + buyer_share(before)])
        # in the period: `during` settled, `before` reversed, `late` accrued
        types = [row[1][0] for row in entries]
        self.assertEqual(sorted(types),
            sorted(['Commission', 'Reversal', 'Reversal', 'Commission']))
        amounts = [[v for _, v in row[4:]] for row in entries]
        self.assertEqual(period, [sum((a[i] for a in amounts), ZERO)
                for i in range(5)])
        self.assertEqual(closing, [o + p for o, p in zip(opening, period)])
        with committed():
            buyer = Pool().get('duoduo.member')(t['buyer'])
            self.assertEqual(closing[:4], [buyer.balance_pending,
                    buyer.balance_available, buyer.balance_withdrawing,
                    buyer.balance_paid])
        self.assertIn(during['order_sn'], [row[3][0] for row in entries])

    def test_statement_wizard(self):
        "From the member form: the period asked, and checked"
        t = self.team()
        with committed():
            Wizard = Pool().get('duoduo.commission.member_statement.wizard',
                type='wizard')
            session_id, _, _ = Wizard.create()
            with Transaction().set_context(active_model='duoduo.member',
                    active_id=t['buyer'], active_ids=[t['buyer']]):
                result = Wizard.execute(session_id, {
                        'start': {'start_date': self.month,
                            'end_date': self.month, 'output_format': 'ods'},
                        }, 'print_')
                action, = result['actions']
                self.assertEqual(action[1]['ids'], [t['buyer']])
                self.assertEqual(action[1]['start_date'], self.month)
                with self.assertRaises(UserError) as cm:
                    Wizard.execute(session_id, {
                            'start': {'start_date': self.next_month,
                                'end_date': self.month,
                                'output_format': 'ods'},
                            }, 'print_')
                self.assertIn('must start', cm.exception.message)
            Wizard.delete(session_id)
        with committed():
            Keyword = Pool().get('ir.action.keyword')
            keywords = Keyword.get_keyword('form_print',
                ('duoduo.member', t['buyer']))
            self.assertIn('Member Statement', [k['name'] for k in keywords])

    @has_pdf_tools
    def test_statement_pdf(self):
        "The PDF names the member and shows the closing balance"
        t = self.team()
        item = self.buy(t['buyer'], order_amount=22222)
        self.upsert(item)
        self.move(item, 5)
        extension, pdf, _ = self.report(
            'duoduo.commission.member_statement', [t['buyer']], {
                'model': 'duoduo.member',
                'start_date': self.month,
                'end_date': self.month.replace(day=28),
                'output_format': 'pdf'})
        self.assertEqual(extension, 'pdf')
        keep('member-statement', pdf)
        text = pdf_text(pdf)
        with committed():
            buyer = Pool().get('duoduo.member')(t['buyer'])
            nickname = buyer.nickname
            available = buyer.balance_available
        self.assertIn(nickname, text)
        self.assertIn('Member Statement', text)
        self.assertRegex(text, r'Closing balance\s+0\.00\s+%s\s+0\.00\s+0\.00'
            r'\s+%s' % (f'{available:,.2f}', f'{available:,.2f}'))

    # --- reconciliation ---

    def test_reconciliation(self):
        """PDD's settled commission against the ledger: only the orders that
        differ are listed, with why; computing again replaces them"""
        t = self.team()
        matched = self.buy(t['buyer'], order_amount=10000)
        self.upsert(matched)
        self.move(matched, 5)
        # PDD settled an order the ledger never booked
        with self.unbooked():
            not_booked = self.buy(t['buyer'], order_amount=15000)
            self.upsert(not_booked)
            self.move(not_booked, 5)
        # PDD changed the commission after it was booked
        changed = self.buy(t['buyer'], order_amount=30000)
        self.upsert(changed)
        booked_amount = self.promotion(changed)
        self.sim.orders[changed['order_sn']]['promotion_amount'] -= 123
        changed = self.move(changed, 5)
        # PDD failed the audit and the ledger did not follow
        not_settled = self.buy(t['buyer'], order_amount=8000)
        self.upsert(not_settled)
        with self.unbooked():
            self.move(not_settled, 4)
        # failed and reversed in the ledger: both sides 0
        reversed_ = self.buy(t['buyer'], order_amount=9000)
        self.upsert(reversed_)
        self.move(reversed_, 4)
        # still in progress: next month's business
        self.upsert(self.buy(t['buyer'], order_amount=6000))

        with committed():
            Line = Pool().get('duoduo.ledger.line')
            ledger_count = Line.search_count([])
            Reconciliation = Pool().get('duoduo.commission.reconciliation')
            reconciliation, = Reconciliation.create([{
                        'month': self.month.replace(day=20)}])
            self.assertEqual(reconciliation.month, self.month)
            self.assertEqual(reconciliation.state, 'draft')
            reconciliation_id = reconciliation.id
            Reconciliation.compute([reconciliation])

        expected = {
            not_booked['order_sn']: ('not_booked',
                self.promotion(not_booked), ZERO),
            changed['order_sn']: ('mismatch',
                self.promotion(changed), booked_amount),
            not_settled['order_sn']: ('not_settled',
                ZERO, self.promotion(not_settled)),
            }
        for _ in range(2):
            with committed():
                Reconciliation = Pool().get(
                    'duoduo.commission.reconciliation')
                reconciliation = Reconciliation(reconciliation_id)
                self.assertEqual(reconciliation.state, 'computed')
                self.assertEqual({l.order.order_sn: (l.issue, l.pdd_amount,
                            l.ledger_amount) for l in reconciliation.lines},
                    expected)
                for line in reconciliation.lines:
                    self.assertEqual(line.difference,
                        line.pdd_amount - line.ledger_amount)
                pdd_total = (self.promotion(matched)
                    + self.promotion(not_booked) + self.promotion(changed))
                ledger_total = (self.promotion(matched) + booked_amount
                    + self.promotion(not_settled))
                self.assertEqual((reconciliation.order_count,
                        reconciliation.difference_count,
                        reconciliation.pdd_total,
                        reconciliation.ledger_total,
                        reconciliation.difference_total),
                    (5, 3, pdd_total, ledger_total,
                        pdd_total - ledger_total))
                # the ledger is read, never written
                self.assertEqual(Pool().get('duoduo.ledger.line')
                    .search_count([]), ledger_count)
                # again: the same lines, replaced
                Reconciliation.compute([reconciliation])
        with committed():
            ReconciliationLine = Pool().get(
                'duoduo.commission.reconciliation.line')
            self.assertEqual(ReconciliationLine.search_count([
                        ('reconciliation', '=', reconciliation_id)]), 3)

        # the spreadsheet finance files: totals and the differences
        extension, ods, _ = self.report('duoduo.commission.reconciliation',
            [reconciliation_id], {})
        self.assertEqual(extension, 'ods')
        rows = sheet_rows(ods)
        self.assertEqual(row_values(rows, 'PDD settled'), [pdd_total])
        self.assertEqual(row_values(rows, 'Ledger income'), [ledger_total])
        self.assertEqual(row_values(rows, 'Difference'),
            [pdd_total - ledger_total])
        listed = rows[labels(rows).index('Order number') + 1:]
        self.assertEqual({row[0][0]: (row[3][0], row[4][1], row[5][1],
                    row[6][1]) for row in listed}, {
                not_booked['order_sn']: ('Settled at PDD, not booked',
                    self.promotion(not_booked), ZERO,
                    self.promotion(not_booked)),
                changed['order_sn']: ('Amounts differ',
                    self.promotion(changed), booked_amount, D('-1.23')),
                not_settled['order_sn']: ('Booked, not settled at PDD',
                    ZERO, self.promotion(not_settled),
                    -self.promotion(not_settled)),
                })

        # done: kept; deleting needs a reset to draft first
        with committed():
            Reconciliation = Pool().get('duoduo.commission.reconciliation')
            reconciliation = Reconciliation(reconciliation_id)
            Reconciliation.done([reconciliation])
            with self.assertRaises(UserError) as cm:
                Reconciliation.delete([reconciliation])
            self.assertIn('reset it to draft', cm.exception.message)
        with committed():
            Reconciliation = Pool().get('duoduo.commission.reconciliation')
            with self.assertRaises(SQLConstraintError):
                Reconciliation.create([{'month': self.month}])
            Transaction().rollback()

    def test_reconciliation_matching_month(self):
        "A month where PDD and the ledger agree: no line, totals equal"
        t = self.team()
        items = [self.buy(t['buyer'], order_amount=a)
            for a in [10000, 25000]]
        self.upsert(*items)
        for item in items:
            self.move(item, 5)
        with committed():
            Reconciliation = Pool().get('duoduo.commission.reconciliation')
            reconciliation, = Reconciliation.create([{'month': self.month}])
            Reconciliation.compute([reconciliation])
            reconciliation = Reconciliation(reconciliation.id)
            self.assertEqual(reconciliation.lines, ())
            total = sum(map(self.promotion, items), ZERO)
            self.assertEqual((reconciliation.order_count,
                    reconciliation.difference_count,
                    reconciliation.pdd_total, reconciliation.ledger_total,
                    reconciliation.difference_total),
                (2, 0, total, total, ZERO))

    # --- who may ---

    def staff(self, group):
        "A back-office user in duoduo_base's group (or none): its id"
        n = self.number()
        with committed():
            pool = Pool()
            ModelData = pool.get('ir.model.data')
            User = pool.get('res.user')
            groups = [ModelData.get_id('duoduo_base',
                    f'group_duoduo_{group}')] if group else []
            user, = User.create([{'name': f"Staff {group} {n}",
                        'login': f'report_{group}_{n}',
                        'groups': [('add', groups)]}])
            return user.id

    def test_finance_only(self):
        """Finance and admin print the settlement and reconcile; operators
        and other users cannot"""
        for group, allowed in [('finance', True), ('admin', True),
                ('operator', False), (None, False)]:
            user = self.staff(group)
            month = self.month.replace(year=self.month.year + 10)
            with self.subTest(group=group), committed() as transaction:
                pool = Pool()
                Report = pool.get('duoduo.commission.settlement',
                    type='report')
                Reconciliation = pool.get(
                    'duoduo.commission.reconciliation')
                # the action the wizard hands to the client
                action_id = pool.get('ir.model.data').get_id(
                    'duoduo_commission', 'report_settlement')
                with transaction.set_user(user), \
                        transaction.set_context(_check_access=True):
                    if allowed:
                        extension, _, _, _ = Report.execute([], {
                                'action_id': action_id, 'month': month,
                                'output_format': 'ods'})
                        self.assertEqual(extension, 'ods')
                        reconciliation, = Reconciliation.create([{
                                    'month': month}])
                        Reconciliation.compute([reconciliation])
                        self.assertEqual(reconciliation.state, 'computed')
                    else:
                        with self.assertRaises(UserError):
                            Report.execute([], {'action_id': action_id,
                                    'month': month, 'output_format': 'ods'})
                        with self.assertRaises(UserError):
                            Reconciliation.create([{'month': month}])
                transaction.rollback()
