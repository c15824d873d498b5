"""Finance reports from the ledger: the monthly settlement and a member's
statement for a period.

The templates are flat OpenDocument spreadsheets (.fods, plain XML kept
readable in git) with Genshi directives; Tryton renders them as 'xml'
templates (so their texts are translated like any report's) and
`FlatSpreadsheetReport` turns the result into what was asked: an ODS file
(zipped here, no LibreOffice needed) or a PDF converted by LibreOffice
(`soffice`, Tryton's [report] convert_command). A PDF asked for where
LibreOffice is missing is refused with a message saying so (ODS is always
there); a conversion that fails otherwise comes out as ODS.

Every figure is a sum of ledger lines computed by the database, exact
(ledger.sum_money), over Asia/Shanghai days: a month runs from its first day
00:00 in Shanghai to the next month's."""
import datetime as dt
import io
import shlex
import shutil
import types
import zipfile

from lxml import etree
from sql import Literal, Null
from sql.conditionals import Case

from trytond.config import config
from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import Pool
from trytond.report import Report
from trytond.transaction import Transaction
from trytond.wizard import Button, StateReport, StateView, Wizard

from trytond.modules.duoduo_base.tools import (
    TIMEZONE, shanghai_bounds, shanghai_date)
from trytond.modules.duoduo_ledger.ledger import (
    CASH_ACCOUNTS, ZERO, amount_column, money, sum_money)

OFFICE = 'urn:oasis:names:tc:opendocument:xmlns:office:1.0'
MANIFEST = 'urn:oasis:names:tc:opendocument:xmlns:manifest:1.0'
ODS_MIMETYPE = 'application/vnd.oasis.opendocument.spreadsheet'
# the parts of a flat document each file of the package holds
PACKAGE_PARTS = {
    'content.xml': ('document-content', [
            'scripts', 'font-face-decls', 'automatic-styles', 'body']),
    'styles.xml': ('document-styles', [
            'font-face-decls', 'styles', 'automatic-styles',
            'master-styles']),
    'meta.xml': ('document-meta', ['meta']),
    'settings.xml': ('document-settings', ['settings']),
    }
OUTPUT_FORMATS = [
    ('ods', "Spreadsheet (ODS)"),
    ('pdf', "PDF"),
    ]
# the kinds members are credited by, as the mini-program's money types
# 1-4 list them (a kind no addon posts yet reads zero), the reversals (5)
# and withdrawals (6)
ACCRUAL_KINDS = ['pull_new', 'commission', 'team_commission', 'subsidy']
REVERSAL_KIND = 'reversal'
WITHDRAWAL_KIND = 'withdrawal'


class ReportPeriodError(UserError):
    pass


class ReportConverterMissing(UserError):
    "The PDF converter (LibreOffice) is not installed"
    pass


def convert_executable():
    "The program Tryton's report conversion runs (LibreOffice's soffice)"
    command = config.get('report', 'convert_command', default='soffice')
    words = shlex.split(command or '') or ['soffice']
    return words[0]


def flat_to_package(flat):
    """The ODS package (bytes) of a flat OpenDocument spreadsheet (bytes or
    str): each part of the flat document goes to its file of the package"""
    if isinstance(flat, str):
        flat = flat.encode('utf-8')
    root = etree.fromstring(flat)
    version = root.get(f'{{{OFFICE}}}version', '1.3')
    content = io.BytesIO()
    with zipfile.ZipFile(content, 'w') as package:
        # first and stored: how readers recognise the format
        package.writestr(zipfile.ZipInfo('mimetype'), ODS_MIMETYPE,
            compress_type=zipfile.ZIP_STORED)
        for filename, (tag, parts) in PACKAGE_PARTS.items():
            document = etree.Element(f'{{{OFFICE}}}{tag}', nsmap=root.nsmap)
            document.set(f'{{{OFFICE}}}version', version)
            for part in parts:
                element = root.find(f'{{{OFFICE}}}{part}')
                if element is not None:
                    document.append(etree.fromstring(
                            etree.tostring(element)))
            package.writestr(filename, etree.tostring(document,
                    xml_declaration=True, encoding='UTF-8'),
                compress_type=zipfile.ZIP_DEFLATED)
        manifest = etree.Element(f'{{{MANIFEST}}}manifest',
            nsmap={'manifest': MANIFEST})
        manifest.set(f'{{{MANIFEST}}}version', version)
        for path, media_type in [('/', ODS_MIMETYPE)] + [
                (f, 'text/xml') for f in PACKAGE_PARTS]:
            entry = etree.SubElement(manifest, f'{{{MANIFEST}}}file-entry')
            entry.set(f'{{{MANIFEST}}}full-path', path)
            entry.set(f'{{{MANIFEST}}}media-type', media_type)
            if path == '/':
                entry.set(f'{{{MANIFEST}}}version', version)
        package.writestr('META-INF/manifest.xml', etree.tostring(manifest,
                xml_declaration=True, encoding='UTF-8'),
            compress_type=zipfile.ZIP_DEFLATED)
    return content.getvalue()


def month_bounds(month):
    "[start, end) in naive UTC of the Asia/Shanghai month of the date"
    first = month.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return shanghai_bounds(first, following)


class FlatSpreadsheetReport(Report):
    """A report of a flat ODS template (template_extension 'xml'): ODS, or
    PDF when data['output_format'] or the action's extension asks for it"""
    __slots__ = ()

    @classmethod
    def _execute(cls, records, header, data, action):
        with Transaction().set_context(Transaction().context):
            report_context = cls.get_context(records, header, data)
            flat = cls.render(action, report_context)
        output_format = (data or {}).get('output_format') or (
            'pdf' if action.extension == 'pdf' else 'ods')
        return cls.convert_flat(action, flat, output_format)

    @classmethod
    def convert_flat(cls, action, flat, output_format):
        "(extension, content) of the rendered flat spreadsheet"
        if isinstance(flat, str):
            flat = flat.encode('utf-8')
        if output_format == 'pdf':
            executable = convert_executable()
            if not shutil.which(executable):
                raise ReportConverterMissing(gettext(
                        'duoduo_commission.msg_report_pdf_no_libreoffice',
                        command=executable))
            # Tryton's conversion by LibreOffice, of the flat file as is;
            # one try: trytond 8.0's retries run an emptied argument list
            # (an IndexError instead of the ODS fallback)
            extension, content = cls.convert(types.SimpleNamespace(
                    template_extension='fods', extension='pdf',
                    report_name=action.report_name), flat, retry=0)
            if extension == 'pdf':
                return extension, content
        return 'ods', flat_to_package(flat)

    @classmethod
    def get_context(cls, records, header, data):
        context = super().get_context(records, header, data)
        context['money'] = cls.format_money
        context['shanghai_time'] = cls.format_shanghai_time
        return context

    @staticmethod
    def format_money(value):
        "What the cell shows of an amount: 1,234.50"
        return f'{value or ZERO:,.2f}'

    @staticmethod
    def format_shanghai_time(value):
        "A naive UTC datetime as Asia/Shanghai 2024-03-01 18:30 ('' for None)"
        if not value:
            return ''
        return value.replace(tzinfo=dt.timezone.utc).astimezone(
            TIMEZONE).strftime('%Y-%m-%d %H:%M')


class SettlementReport(FlatSpreadsheetReport):
    "Monthly Settlement"
    __name__ = 'duoduo.commission.settlement'

    @classmethod
    def get_context(cls, records, header, data):
        context = super().get_context(records, header, data)
        month = data.get('month') or SettlementStart.default_month()
        context['settlement'] = cls.figures(month)
        return context

    @classmethod
    def figures(cls, month):
        """The settlement of the Asia/Shanghai month holding the date
        `month`, from the lines posted in it (a dict, Decimals):

        pdd_booked / pdd_reversed / pdd_net: commission receivable from PDD
        booked by accruals, taken back by reversals (negative), net;
        members: per money type 1-5 {accrued, settled, reversed, net} of the
        members' cash accounts: accrued = credited by entries of the type,
        settled = moved to available, reversed = taken back by reversals
        (money type 5) of entries of the type; reversals of nothing known
        (manual 维权) are the row of type 5;
        margin_*: the platform's margin booked, reversed, net;
        withdrawn: left available for withdrawals (type 6), paid_out: paid;
        negative: members whose available balance is below zero at the end
        of the month."""
        pool = Pool()
        Line = pool.get('duoduo.ledger.line')
        Entry = pool.get('duoduo.ledger.entry')
        line = Line.__table__()
        entry = Entry.__table__()
        original = Entry.__table__()
        cursor = Transaction().connection.cursor()
        start, end = month_bounds(month)

        cursor.execute(*line
            .join(entry, condition=line.entry == entry.id)
            .join(original, 'LEFT',
                condition=entry.reversal_of == original.id)
            .select(line.account, line.kind, original.kind,
                sum_money(amount_column(line)),
                where=(line.posted_at >= start) & (line.posted_at < end),
                group_by=[line.account, line.kind, original.kind]))
        sums = {}
        for account, money_type, original_type, amount in cursor:
            key = (account, money_type, original_type)
            sums[key] = sums.get(key, ZERO) + money(amount)

        def total(accounts, money_types=None, originals=None):
            return sum((amount for (a, t, o), amount in sums.items()
                    if a in accounts
                    and (money_types is None or t in money_types)
                    and (originals is None or o in originals)), ZERO)

        rows = []
        for kind in ACCRUAL_KINDS + [REVERSAL_KIND]:
            if kind == REVERSAL_KIND:
                accrued = settled = ZERO
                reversed_ = sum((amount for (a, t, o), amount in sums.items()
                        if a in CASH_ACCOUNTS and t == REVERSAL_KIND
                        and o not in ACCRUAL_KINDS), ZERO)
            else:
                accrued = total(CASH_ACCOUNTS, [kind])
                settled = total(['member_available'], [kind])
                reversed_ = total(CASH_ACCOUNTS, [REVERSAL_KIND], [kind])
            rows.append({
                    'kind': kind,
                    'accrued': accrued,
                    'settled': settled,
                    'reversed': reversed_,
                    'net': accrued + reversed_,
                    })
        members_total = {name: sum((r[name] for r in rows), ZERO)
            for name in ['accrued', 'settled', 'reversed', 'net']}
        income_types = ACCRUAL_KINDS + [REVERSAL_KIND]
        non_reversal = ACCRUAL_KINDS + [WITHDRAWAL_KIND]
        result = {
            'month': month.replace(day=1),
            'last_day': (month.replace(day=1) + dt.timedelta(days=32)
                ).replace(day=1) - dt.timedelta(days=1),
            'start': start,
            'end': end,
            'pdd_booked': -total(['pdd_receivable'], non_reversal),
            'pdd_reversed': -total(['pdd_receivable'], [REVERSAL_KIND]),
            'members': rows,
            'members_total': members_total,
            'points': total(['member_points'], income_types),
            'margin_booked': total(['platform_margin'], non_reversal),
            'margin_reversed': total(['platform_margin'], [REVERSAL_KIND]),
            'withdrawn': -total(['member_available'], [WITHDRAWAL_KIND]),
            'paid_out': total(['member_paid'], [WITHDRAWAL_KIND]),
            }
        result['pdd_net'] = result['pdd_booked'] + result['pdd_reversed']
        result['margin_net'] = (
            result['margin_booked'] + result['margin_reversed'])
        # every entry adds up to zero: what PDD owes went to the members
        # and the platform; anything else is shown, not hidden
        result['unexplained'] = (result['pdd_net'] - members_total['net']
            - result['points'] - result['margin_net'])
        result['negative'] = cls.negative_balances(end)
        return result

    @classmethod
    def negative_balances(cls, at):
        """[{member, available, pending}] of the members whose available
        balance from the lines posted before `at` is negative, lowest
        first"""
        pool = Pool()
        Line = pool.get('duoduo.ledger.line')
        Member = pool.get('duoduo.member')
        line = Line.__table__()
        cursor = Transaction().connection.cursor()
        amount = amount_column(line)
        available = sum_money(Case(
                (line.account == 'member_available', amount),
                else_=Literal(0)))
        pending = sum_money(Case(
                (line.account == 'member_pending', amount),
                else_=Literal(0)))
        cursor.execute(*line.select(line.member, available, pending,
                where=(line.posted_at < at) & (line.member != Null)
                & line.account.in_(['member_available', 'member_pending']),
                group_by=[line.member],
                having=available < 0))
        rows = [(member_id, money(a), money(p))
            for member_id, a, p in cursor]
        rows.sort(key=lambda r: (r[1], r[0]))
        members = {m.id: m for m in Member.browse([r[0] for r in rows])}
        return [{
                'member': members[member_id],
                'available': available_,
                'pending': pending_,
                } for member_id, available_, pending_ in rows]


class StatementReport(FlatSpreadsheetReport):
    "Member Statement"
    __name__ = 'duoduo.commission.member_statement'

    @classmethod
    def get_context(cls, records, header, data):
        context = super().get_context(records, header, data)
        today = shanghai_date()
        start_date = data.get('start_date') or today.replace(day=1)
        end_date = data.get('end_date') or today
        context['statements'] = [
            cls.statement(r, start_date, end_date) for r in records]
        return context

    @classmethod
    def statement(cls, member, start_date, end_date):
        """The member's statement of the Asia/Shanghai days from start_date
        to end_date (included): opening and closing balances per cash
        account (lines posted before the period, before its end) and the
        period's entries with what each did to each account. closing =
        opening + the Σ of the entries' amounts."""
        pool = Pool()
        Line = pool.get('duoduo.ledger.line')
        Entry = pool.get('duoduo.ledger.entry')
        line = Line.__table__()
        cursor = Transaction().connection.cursor()
        start, end = shanghai_bounds(
            start_date, end_date + dt.timedelta(days=1))
        amount = amount_column(line)
        member_id = int(member)

        def balances(at):
            cursor.execute(*line.select(line.account, sum_money(amount),
                    where=(line.member == member_id)
                    & (line.posted_at < at)
                    & line.account.in_(CASH_ACCOUNTS),
                    group_by=[line.account]))
            result = dict.fromkeys(CASH_ACCOUNTS, ZERO)
            for account, total in cursor:
                result[account] = money(total)
            return result

        cursor.execute(*line.select(line.entry, line.account,
                sum_money(amount),
                where=(line.member == member_id)
                & (line.posted_at >= start) & (line.posted_at < end)
                & line.account.in_(CASH_ACCOUNTS),
                group_by=[line.entry, line.account]))
        per_entry = {}
        for entry_id, account, total in cursor:
            per_entry.setdefault(entry_id, dict.fromkeys(CASH_ACCOUNTS, ZERO))
            per_entry[entry_id][account] = money(total)
        entries = sorted(Entry.browse(list(per_entry)),
            key=lambda e: (e.posted_at, e.id))
        rows = [{
                'entry': e,
                'date': shanghai_date(e.posted_at),
                'kind': e.kind,
                'description': e.description or '',
                'order': e.origin.rec_name if e.origin else '',
                'amounts': per_entry[e.id],
                'total': sum(per_entry[e.id].values(), ZERO),
                } for e in entries]
        period = {a: sum((r['amounts'][a] for r in rows), ZERO)
            for a in CASH_ACCOUNTS}
        return {
            'member': member,
            'start_date': start_date,
            'end_date': end_date,
            'opening': balances(start),
            'rows': rows,
            'period': period,
            'closing': balances(end),
            'accounts': CASH_ACCOUNTS,
            }


class SettlementStart(ModelView):
    "Monthly Settlement"
    __name__ = 'duoduo.commission.settlement.start'

    month = fields.Date("Month", required=True,
        help="Any day of the month (Asia/Shanghai) to report on.")
    output_format = fields.Selection(OUTPUT_FORMATS, "Format",
        required=True)

    @classmethod
    def default_month(cls):
        # the month just closed
        return (shanghai_date().replace(day=1) - dt.timedelta(days=1)
            ).replace(day=1)

    @classmethod
    def default_output_format(cls):
        return 'ods'


class Settlement(Wizard):
    "Monthly Settlement"
    __name__ = 'duoduo.commission.settlement.wizard'
    start = StateView('duoduo.commission.settlement.start',
        'duoduo_commission.settlement_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Print", 'print_', 'tryton-print', default=True),
            ])
    print_ = StateReport('duoduo.commission.settlement')

    def do_print_(self, action):
        return action, {
            'month': self.start.month.replace(day=1),
            'output_format': self.start.output_format,
            }


class StatementStart(ModelView):
    "Member Statement"
    __name__ = 'duoduo.commission.member_statement.start'

    start_date = fields.Date("From", required=True)
    end_date = fields.Date("To", required=True,
        help="Included (Asia/Shanghai days).")
    output_format = fields.Selection(OUTPUT_FORMATS, "Format",
        required=True)

    @classmethod
    def default_start_date(cls):
        return shanghai_date().replace(day=1)

    @classmethod
    def default_end_date(cls):
        return shanghai_date()

    @classmethod
    def default_output_format(cls):
        return 'pdf'


class Statement(Wizard):
    "Member Statement"
    __name__ = 'duoduo.commission.member_statement.wizard'
    start = StateView('duoduo.commission.member_statement.start',
        'duoduo_commission.member_statement_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Print", 'print_', 'tryton-print', default=True),
            ])
    print_ = StateReport('duoduo.commission.member_statement')

    def do_print_(self, action):
        if self.start.start_date > self.start.end_date:
            raise ReportPeriodError(gettext(
                    'duoduo_commission.msg_report_period_order',
                    start=self.start.start_date, end=self.start.end_date))
        return action, {
            'ids': [r.id for r in self.records],
            'model': 'duoduo.member',
            'start_date': self.start.start_date,
            'end_date': self.start.end_date,
            'output_format': self.start.output_format,
            }

