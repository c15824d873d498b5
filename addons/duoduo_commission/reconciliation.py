"""Monthly reconciliation: what PDD settled for our orders in a month
against the income the ledger recorded for them.

PDD side of an order: its promotion_amount when PDD has it settled
(order_status 5), else 0. Ledger side: what the ledger booked as owed by
PDD for it, net of reversals: − Σ of its pdd_receivable lines (all of them,
like the PDD side is the order as PDD has it now).

The orders of a month (Asia/Shanghai): those PDD settled in it
(order_settle_time in the month, whatever their status now: one reversed
after settlement counts 0 at PDD), and those booked in the month (a
pdd_receivable line posted in it) that PDD neither settled in another
month nor still has in progress (status 0–3): reversed (4, 10) or out of the
lifecycle, where a booking left in the ledger is a difference.

Only differences become lines; the header counts and adds up every order
compared. Computing reads the ledger and writes nothing to it; computing
again replaces the lines."""
from collections import defaultdict
from decimal import Decimal

from sql import Null

from trytond import backend
from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import (
    Index, ModelSQL, ModelView, Unique, Workflow, fields)
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access

from trytond.modules.duoduo_ledger.ledger import (
    ZERO, amount_column, money, now, sum_money)

from .ledger import ORDER_MODEL, order_origin, order_origin_column
from .report import FlatSpreadsheetReport, month_bounds

SETTLED_STATUS = 5
IN_PROGRESS_STATUSES = [0, 1, 2, 3]
ISSUES = [
    ('not_booked', "Settled at PDD, not booked"),
    ('not_settled', "Booked, not settled at PDD"),
    ('mismatch', "Amounts differ"),
    ]


class ReconciliationError(UserError):
    pass


def issue(pdd_amount, ledger_amount):
    "The issue of an order whose two sides are the amounts; None: they match"
    if pdd_amount == ledger_amount:
        return None
    if not ledger_amount:
        return 'not_booked'
    if not pdd_amount:
        return 'not_settled'
    return 'mismatch'


class Reconciliation(Workflow, ModelSQL, ModelView):
    """Commission Reconciliation

    PDD's settled commission of a month against the ledger's income."""
    __name__ = 'duoduo.commission.reconciliation'

    _states = {'readonly': Eval('state') != 'draft'}

    month = fields.Date("Month", required=True, states=_states,
        help="Any day of the month (Asia/Shanghai); stored as its first day.")
    state = fields.Selection([
            ('draft', "Draft"),
            ('computed', "Computed"),
            ('done', "Done"),
            ], "State", readonly=True, required=True, sort=False)
    computed_at = fields.DateTime("Computed At", readonly=True)
    order_count = fields.Integer("Orders Compared", readonly=True)
    difference_count = fields.Integer("Differences", readonly=True)
    pdd_total = fields.Numeric("PDD Settled", digits=(16, 2), readonly=True,
        help="The promotion_amount of the month's orders PDD has settled.")
    ledger_total = fields.Numeric("Ledger Income", digits=(16, 2),
        readonly=True,
        help="What the ledger booked from PDD for the same orders, net of "
        "reversals.")
    difference_total = fields.Numeric("Difference", digits=(16, 2),
        readonly=True, help="PDD settled minus ledger income.")
    lines = fields.One2Many('duoduo.commission.reconciliation.line',
        'reconciliation', "Differences", readonly=True)
    note = fields.Text("Note",
        states={'readonly': Eval('state') == 'done'})

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('month_unique', Unique(t, t.month),
                'duoduo_commission.msg_reconciliation_month_unique'),
            ]
        cls._order = [('month', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('draft', 'computed'),
            ('computed', 'computed'),
            ('computed', 'done'),
            ('computed', 'draft'),
            ('done', 'draft'),
            }
        cls._buttons.update({
                'compute': {
                    'invisible': Eval('state') == 'done',
                    'icon': 'tryton-refresh',
                    'depends': ['state'],
                    },
                'done': {
                    'invisible': Eval('state') != 'computed',
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                'draft': {
                    'invisible': Eval('state') == 'draft',
                    'icon': 'tryton-back',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'draft'

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if values.get('month'):
            values['month'] = values['month'].replace(day=1)
        return values

    def get_rec_name(self, name):
        return self.month.strftime('%Y-%m') if self.month else ''

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        super().check_modification(
            mode, records, values=values, external=external)
        if mode == 'delete':
            for record in records:
                if record.state != 'draft':
                    raise ReconciliationError(gettext(
                            'duoduo_commission.msg_reconciliation_delete',
                            month=record.rec_name))

    @classmethod
    @ModelView.button
    @Workflow.transition('computed')
    def compute(cls, reconciliations):
        pool = Pool()
        Line = pool.get('duoduo.commission.reconciliation.line')
        to_create = []
        for reconciliation in reconciliations:
            compared = cls.compare(reconciliation.month)
            differences = [c for c in compared if c['issue']]
            pdd_total = sum((c['pdd_amount'] for c in compared), ZERO)
            ledger_total = sum((c['ledger_amount'] for c in compared), ZERO)
            reconciliation.computed_at = now()
            reconciliation.order_count = len(compared)
            reconciliation.difference_count = len(differences)
            reconciliation.pdd_total = pdd_total
            reconciliation.ledger_total = ledger_total
            reconciliation.difference_total = pdd_total - ledger_total
            to_create.extend(dict(c, reconciliation=reconciliation.id)
                for c in differences)
        cls.save(reconciliations)
        # the lines are the button's: nobody else creates or deletes them
        with without_check_access():
            Line.delete(Line.search([
                        ('reconciliation', 'in',
                            [r.id for r in reconciliations]),
                        ]))
            Line.create(to_create)

    @classmethod
    @ModelView.button
    @Workflow.transition('done')
    def done(cls, reconciliations):
        pass

    @classmethod
    @ModelView.button
    @Workflow.transition('draft')
    def draft(cls, reconciliations):
        pass

    @classmethod
    def compare(cls, month):
        """[{order, order_sn, order_status, settle_time, pdd_amount,
        ledger_amount, difference, issue}] of every order of the
        Asia/Shanghai month holding the date `month`, by order id"""
        pool = Pool()
        Order = pool.get('duoduo.pdd.order')
        LedgerLine = pool.get('duoduo.ledger.line')
        order = Order.__table__()
        line = LedgerLine.__table__()
        cursor = Transaction().connection.cursor()
        start, end = month_bounds(month)
        columns = [order.id, order.order_sn, order.order_status,
            order.order_settle_time, order.promotion_amount]

        orders = {}
        cursor.execute(*order.select(*columns,
                where=(order.order_settle_time >= start)
                & (order.order_settle_time < end)))
        for row in cursor:
            orders[row[0]] = row
        booked = line.select(line.origin,
            where=(line.account == 'pdd_receivable')
            & (line.posted_at >= start) & (line.posted_at < end)
            & line.origin.like(f'{ORDER_MODEL},%'),
            group_by=[line.origin])
        cursor.execute(*order.select(*columns,
                where=order_origin_column(order).in_(booked)
                & ~order.order_status.in_(IN_PROGRESS_STATUSES)
                & ((order.order_status != SETTLED_STATUS)
                    | (order.order_settle_time == Null))))
        for row in cursor:
            orders.setdefault(row[0], row)

        ledger = defaultdict(lambda: ZERO)
        for sub_ids in grouped_slice(list(orders), backend.MAX_QUERY_PARAMS):
            cursor.execute(*line.select(line.origin,
                    sum_money(amount_column(line)),
                    where=line.origin.in_([order_origin(i) for i in sub_ids])
                    & (line.account == 'pdd_receivable'),
                    group_by=[line.origin]))
            for origin, amount in cursor:
                ledger[int(origin.split(',')[1])] = -money(amount)

        result = []
        for order_id in sorted(orders):
            _, order_sn, status, settle_time, promotion = orders[order_id]
            pdd_amount = (Decimal(str(promotion or 0)).quantize(
                    Decimal('0.01'))
                if status == SETTLED_STATUS else ZERO)
            ledger_amount = ledger[order_id]
            result.append({
                    'order': order_id,
                    'order_sn': order_sn,
                    'order_status': status,
                    'settle_time': settle_time,
                    'pdd_amount': pdd_amount,
                    'ledger_amount': ledger_amount,
                    'difference': pdd_amount - ledger_amount,
                    'issue': issue(pdd_amount, ledger_amount),
                    })
        return result


class ReconciliationLine(ModelSQL, ModelView):
    """Commission Reconciliation Line

    An order whose PDD settlement and ledger income differ."""
    __name__ = 'duoduo.commission.reconciliation.line'

    reconciliation = fields.Many2One('duoduo.commission.reconciliation',
        "Reconciliation", required=True, readonly=True, ondelete='CASCADE')
    order = fields.Many2One('duoduo.pdd.order', "Order", required=True,
        readonly=True, ondelete='RESTRICT')
    order_sn = fields.Char("Order Number", readonly=True)
    order_status = fields.Integer("PDD Status", readonly=True)
    settle_time = fields.DateTime("Settled At (PDD)", readonly=True)
    pdd_amount = fields.Numeric("PDD Settled", digits=(16, 2),
        readonly=True)
    ledger_amount = fields.Numeric("Ledger Income", digits=(16, 2),
        readonly=True)
    difference = fields.Numeric("Difference", digits=(16, 2), readonly=True,
        help="PDD settled minus ledger income.")
    issue = fields.Selection(ISSUES, "Issue", readonly=True, sort=False)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.reconciliation, Index.Equality())))
        cls._order = [('reconciliation', 'DESC'), ('order', 'ASC'),
            ('id', 'ASC')]


class ReconciliationReport(FlatSpreadsheetReport):
    "The reconciliation's totals and differences, to file or send on"
    __name__ = 'duoduo.commission.reconciliation'
