"""Simulate a plan version on past orders, writing nothing.

For each order paid in the period (Asia/Shanghai dates, both included)
whose commission is booked (pending or available: a reversed order pays
nobody under any plan), the chosen version splits its promotion_amount
for the team stored with the order at attribution (buyer, uplines and
their levels then, city agent); beside it, the order's split by the version
in force for it (what the ledger holds). Finance reads per-member totals and
the platform margin of both."""
import datetime as dt
from collections import defaultdict
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.model.exceptions import ValidationError
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.wizard import Button, StateView, Wizard

from trytond.modules.duoduo_base.tools import shanghai_bounds, shanghai_date
from .order import AVAILABLE, PENDING
from .plan import MAX_DEPTH

ZERO = Decimal('0.00')


class SimulationError(ValidationError):
    pass


def simulated_split(version, order):
    "([Share], platform remainder) of the order by version, as stored"
    amount = order.promotion_amount or ZERO
    if not order.member:
        return [], amount
    chain = [(getattr(order, f'upline_{d}'),
            getattr(order, f'upline_{d}_level'))
        for d in range(1, MAX_DEPTH + 1)]
    return version.split(amount, (order.member, order.buyer_level), chain,
        order.city_agent)


def simulate(version, orders):
    """What version would have paid for orders beside what they pay:
    {'orders', 'promotion', 'current': {member id: Decimal}, 'simulated':
    {...}, 'platform_current', 'platform_simulated'}"""
    current = defaultdict(lambda: ZERO)
    simulated = defaultdict(lambda: ZERO)
    result = {
        'orders': 0,
        'promotion': ZERO,
        'platform_current': ZERO,
        'platform_simulated': ZERO,
        }
    for order in orders:
        result['orders'] += 1
        result['promotion'] += order.promotion_amount or ZERO
        shares, remainder = order.commission_split()
        for share in shares:
            current[int(share.member)] += share.amount
        result['platform_current'] += remainder
        shares, remainder = simulated_split(version, order)
        for share in shares:
            simulated[int(share.member)] += share.amount
        result['platform_simulated'] += remainder
    result['current'] = dict(current)
    result['simulated'] = dict(simulated)
    return result


class SimulateStart(ModelView):
    "Simulate Plan"
    __name__ = 'duoduo.commission.simulate.start'

    version = fields.Many2One('duoduo.commission.plan.version',
        "Plan Version", required=True,
        help="Any version, typically a draft: one of an inactive plan or "
        "one valid from a later date (by default the version created "
        "last).")
    start_date = fields.Date("From", required=True,
        help="Orders paid from this day on (Asia/Shanghai).")
    end_date = fields.Date("To", required=True,
        domain=[('end_date', '>=', Eval('start_date', None))],
        help="Orders paid up to this day, included (Asia/Shanghai).")

    @classmethod
    def default_version(cls):
        "The version created last: typically the draft being prepared"
        Version = Pool().get('duoduo.commission.plan.version')
        versions = Version.search([], order=[('id', 'DESC')], limit=1)
        return versions[0].id if versions else None

    @classmethod
    def default_end_date(cls):
        return shanghai_date()

    @classmethod
    def default_start_date(cls):
        return shanghai_date().replace(day=1)

    def orders(self):
        "The orders the simulation splits"
        Order = Pool().get('duoduo.pdd.order')
        if self.end_date < self.start_date:
            raise SimulationError(gettext(
                    'duoduo_commission.msg_simulate_period'))
        start, end = shanghai_bounds(self.start_date,
            self.end_date + dt.timedelta(days=1))
        return Order.search([
                ('order_pay_time', '>=', start),
                ('order_pay_time', '<', end),
                ('team_snapshot_at', '!=', None),
                ('commission_state', 'in', [PENDING, AVAILABLE]),
                ], order=[('order_pay_time', 'ASC'), ('id', 'ASC')])


class SimulateResult(ModelView):
    "Simulate Plan"
    __name__ = 'duoduo.commission.simulate.result'

    version = fields.Many2One('duoduo.commission.plan.version',
        "Plan Version", readonly=True)
    start_date = fields.Date("From", readonly=True)
    end_date = fields.Date("To", readonly=True)
    order_count = fields.Integer("Orders", readonly=True)
    promotion_amount = fields.Numeric("PDD Commission", digits=(16, 2),
        readonly=True, help="The orders' promotion_amount.")
    members_current = fields.Numeric("Members (In Force)", digits=(16, 2),
        readonly=True)
    members_simulated = fields.Numeric("Members (Simulated)",
        digits=(16, 2), readonly=True)
    platform_current = fields.Numeric("Platform Margin (In Force)",
        digits=(16, 2), readonly=True)
    platform_simulated = fields.Numeric("Platform Margin (Simulated)",
        digits=(16, 2), readonly=True)
    platform_difference = fields.Numeric("Platform Margin Difference",
        digits=(16, 2), readonly=True)
    lines = fields.One2Many('duoduo.commission.simulate.result.line', None,
        "Members", readonly=True)


class SimulateResultLine(ModelView):
    "Simulate Plan Member"
    __name__ = 'duoduo.commission.simulate.result.line'

    member = fields.Many2One('duoduo.member', "Member", readonly=True)
    current = fields.Numeric("In Force", digits=(16, 2), readonly=True,
        help="What the plan in force pays the member for these orders.")
    simulated = fields.Numeric("Simulated", digits=(16, 2), readonly=True,
        help="What the chosen version would pay.")
    difference = fields.Numeric("Difference", digits=(16, 2), readonly=True,
        help="Simulated minus in force.")


class Simulate(Wizard):
    "Simulate Plan"
    __name__ = 'duoduo.commission.simulate'

    start = StateView('duoduo.commission.simulate.start',
        'duoduo_commission.simulate_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Simulate", 'result', 'tryton-ok', default=True),
            ])
    result = StateView('duoduo.commission.simulate.result',
        'duoduo_commission.simulate_result_view_form', [
            Button("Change", 'start', 'tryton-back'),
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def default_start(self, fields):
        values = {}
        if self.model and self.model.__name__ == (
                'duoduo.commission.plan.version') and self.record:
            values['version'] = self.record.id
        return values

    def default_result(self, fields):
        version = self.start.version
        figures = simulate(version, self.start.orders())
        current, simulated = figures['current'], figures['simulated']
        lines = []
        for member_id in sorted(set(current) | set(simulated)):
            was = current.get(member_id, ZERO)
            would = simulated.get(member_id, ZERO)
            lines.append({
                    'member': member_id,
                    'current': was,
                    'simulated': would,
                    'difference': would - was,
                    })
        return {
            'version': version.id,
            'start_date': self.start.start_date,
            'end_date': self.start.end_date,
            'order_count': figures['orders'],
            'promotion_amount': figures['promotion'],
            'members_current': sum(current.values(), ZERO),
            'members_simulated': sum(simulated.values(), ZERO),
            'platform_current': figures['platform_current'],
            'platform_simulated': figures['platform_simulated'],
            'platform_difference': (figures['platform_simulated']
                - figures['platform_current']),
            'lines': lines,
            }
