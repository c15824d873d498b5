"""Commission plans: who gets which share of PDD's commission on an order.

A plan has versions; the version in force when an order was paid splits it,
and a version that split an order is frozen, so changing the plan (a new
version) never rewrites history. A version gives rates (fractions of the
order's promotion_amount) by depth and member level: depth 0 is the buyer's
own purchase (自购), depths 1 to 3 the uplines as stored with the order at
attribution; plus a rate for the city agent of the buyer's city.

Rounding: each share is promotion_amount × rate rounded DOWN to the fen
(0.01 元), share by share; whatever the shares leave (their rounding
included) is the platform's. So Σ shares ≤ promotion_amount always and no
fen is ever created from nothing.

Differential (级差): an upline gets the rate of its level at its depth minus
the highest rate already due to a member below it in the chain (the buyer
included), never less than zero; so the team as a whole never earns more than
the highest rate among them.

Compliance caps depth at 3 and the worst case at 100 %: saving refuses a
version whose highest rate at depth 0 + at 1 + at 2 + at 3 + the city agent
rate exceeds 1. The bound is checked as it is with 级差 too (it is an upper
bound of both ways of splitting)."""
from collections import namedtuple
from decimal import ROUND_DOWN, Decimal

from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, Index, ModelSQL, ModelView, Unique, fields)
from trytond.pool import Pool

from .exceptions import (
    PlanActiveError, PlanValidationError, PlanVersionFrozenError)

FEN = Decimal('0.01')
MAX_DEPTH = 3
DEPTHS = range(MAX_DEPTH + 1)
# the ledger kinds of a share: the buyer's own purchase, the team's share
BUYER_KIND = 'commission'
TEAM_KIND = 'team_commission'

Share = namedtuple('Share', ['member', 'amount', 'kind', 'depth'])
Share.__doc__ = """A beneficiary's share of an order's commission.

depth: 0 the buyer, 1-3 the uplines, None the city agent."""


def _id(value):
    "The id of a record, or the value itself (an id or None)"
    return getattr(value, 'id', value)


def fen_down(amount, rate):
    "amount × rate rounded down to the fen (never up: no fen from nothing)"
    return (amount * rate).quantize(FEN, rounding=ROUND_DOWN)


def split(promotion_amount, rates, buyer, chain, city_agent=None,
        city_agent_rate=Decimal(0), differential=False):
    """([Share], platform remainder) of promotion_amount; a pure function.

    rates: {(depth, level id): rate} with rate a Decimal fraction;
    buyer: (member, level); chain: [(member, level)] for depths 1, 2, 3
    (nearest first, at most 3; members None where the chain stops);
    city_agent: a member or None. Members and levels are records or ids.
    Shares of zero are left out; Σ shares + remainder == promotion_amount."""
    if not isinstance(promotion_amount, Decimal):
        raise TypeError("promotion_amount must be a Decimal, not %r"
            % type(promotion_amount).__name__)
    if len(chain) > MAX_DEPTH:
        raise ValueError("the chain pays at most %d uplines" % MAX_DEPTH)
    shares = []
    if promotion_amount <= 0:
        return shares, promotion_amount
    highest = Decimal(0)
    for depth, (member, level) in enumerate([buyer] + list(chain)):
        if member is None:
            # the chain stops here: nobody further up is paid
            break
        rate = rates.get((depth, _id(level)), Decimal(0))
        if differential:
            paid = max(rate - highest, Decimal(0))
            highest = max(highest, rate)
        else:
            paid = rate
        amount = fen_down(promotion_amount, paid)
        if amount > 0:
            shares.append(Share(member, amount,
                    BUYER_KIND if depth == 0 else TEAM_KIND,
                    depth))
    if city_agent is not None and city_agent_rate:
        amount = fen_down(promotion_amount, city_agent_rate)
        if amount > 0:
            shares.append(Share(city_agent, amount, TEAM_KIND, None))
    remainder = promotion_amount - sum(s.amount for s in shares)
    assert remainder >= 0, (promotion_amount, shares)
    return shares, remainder


def worst_case(rates, city_agent_rate=Decimal(0)):
    """The largest fraction of the commission a version can pay: the highest
    rate at each depth plus the city agent's"""
    highest = {}
    for (depth, _), rate in rates.items():
        highest[depth] = max(highest.get(depth, Decimal(0)), rate)
    return sum(highest.values(), Decimal(0)) + (city_agent_rate or 0)


class Plan(DeactivableMixin, ModelSQL, ModelView):
    """Commission Plan

    How PDD's commission on members' orders is shared; one plan is active
    at a time and its versions say from when which rates apply."""
    __name__ = 'duoduo.commission.plan'

    name = fields.Char("Name", required=True)
    versions = fields.One2Many(
        'duoduo.commission.plan.version', 'plan', "Versions",
        help="Each order is split by the version in force when it was paid.")
    description = fields.Text("Description")

    @classmethod
    def validate(cls, plans):
        super().validate(plans)
        cls.check_one_active()

    @classmethod
    def check_one_active(cls):
        active = cls.search([('active', '=', True)], order=[('id', 'ASC')])
        if len(active) > 1:
            raise PlanActiveError(gettext(
                    'duoduo_commission.msg_plan_one_active',
                    plan=active[-1].rec_name, other=active[0].rec_name))


class PlanVersion(ModelSQL, ModelView):
    """Commission Plan Version

    The rates of a plan from a date on; frozen once it split an order."""
    __name__ = 'duoduo.commission.plan.version'

    plan = fields.Many2One('duoduo.commission.plan', "Plan", required=True,
        ondelete='CASCADE')
    valid_from = fields.DateTime("Valid From", required=True,
        help="Orders paid from this time on are split by this version "
        "(until a later version starts).")
    differential = fields.Boolean("Differential (级差)",
        help="An upline gets its level's rate minus the highest rate due to "
        "a member below it in the chain, never less than zero.")
    city_agent_rate = fields.Numeric("City Agent Rate", digits=(6, 4),
        required=True,
        help="Fraction of the commission for the city agent (城市代理) of "
        "the buyer's city; 0.03 is 3 %.")
    rules = fields.One2Many('duoduo.commission.plan.rule', 'version',
        "Rules")
    worst_case = fields.Function(fields.Numeric("Worst Case", digits=(6, 4),
            help="The largest fraction of the commission this version can "
            "pay out: at most 1."), 'on_change_with_worst_case')
    used = fields.Function(fields.Boolean("Used",
            help="Orders were split by this version: it can no longer "
            "change."), 'get_used')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._order = [('valid_from', 'DESC'), ('id', 'DESC')]
        cls._sql_indexes.add(
            Index(t, (t.plan, Index.Equality()),
                (t.valid_from, Index.Range())))

    @classmethod
    def default_differential(cls):
        return False

    @classmethod
    def default_city_agent_rate(cls):
        return Decimal(0)

    def get_rec_name(self, name):
        plan = self.plan.rec_name if self.plan else ''
        when = self.valid_from.strftime('%Y-%m-%d %H:%M') if (
            self.valid_from) else ''
        return f'{plan} @ {when}'

    @fields.depends('rules', 'city_agent_rate')
    def on_change_with_worst_case(self, name=None):
        return worst_case(self.rates(), self.city_agent_rate or Decimal(0))

    def rates(self):
        "{(depth, level id): rate} of the version's rules"
        return {(r.depth, _id(r.level)): r.rate or Decimal(0)
            for r in (self.rules or [])
            if r.depth is not None and r.level is not None}

    @classmethod
    def get_used(cls, versions, name):
        Order = Pool().get('duoduo.pdd.order')
        return {v.id: bool(Order.search([('plan_version', '=', v.id)],
                    limit=1, order=[])) for v in versions}

    def split(self, promotion_amount, buyer, chain, city_agent=None):
        """([Share], platform remainder) of promotion_amount; see split()

        buyer: (member, level); chain: [(member, level)] for depths 1..3 as
        stored with the order; city_agent: a member or None."""
        return split(promotion_amount, self.rates(), buyer, chain,
            city_agent=city_agent,
            city_agent_rate=self.city_agent_rate or Decimal(0),
            differential=bool(self.differential))

    @classmethod
    def in_force(cls, at):
        "The active plan's latest version valid from at or before; or None"
        versions = cls.search([
                ('plan.active', '=', True),
                ('valid_from', '<=', at),
                ], order=[('valid_from', 'DESC'), ('id', 'DESC')], limit=1)
        return versions[0] if versions else None

    @classmethod
    def validate_fields(cls, versions, field_names):
        super().validate_fields(versions, field_names)
        cls.check_worst_case(versions)

    @classmethod
    def check_worst_case(cls, versions):
        for version in versions:
            rate = version.city_agent_rate or Decimal(0)
            if not (0 <= rate <= 1):
                raise PlanValidationError(gettext(
                        'duoduo_commission.msg_plan_rate_range',
                        rate=rate, what=version.rec_name))
            total = worst_case(version.rates(), rate)
            if total > 1:
                raise PlanValidationError(gettext(
                        'duoduo_commission.msg_plan_version_worst_case',
                        version=version.rec_name,
                        percent=(total * 100).normalize()))

    @classmethod
    def check_frozen(cls, versions):
        "Refuse changing versions that already split an order"
        for version in versions:
            if version.id is not None and version.id >= 0 and version.used:
                raise PlanVersionFrozenError(gettext(
                        'duoduo_commission.msg_plan_version_frozen',
                        version=version.rec_name))

    @classmethod
    def check_modification(cls, mode, versions, values=None, external=False):
        super().check_modification(
            mode, versions, values=values, external=external)
        if mode in {'write', 'delete'}:
            cls.check_frozen(versions)


class PlanRule(ModelSQL, ModelView):
    """Commission Plan Rule

    The rate a member of a level gets at a depth: 0 for their own purchase,
    1 to 3 for their team's."""
    __name__ = 'duoduo.commission.plan.rule'

    version = fields.Many2One('duoduo.commission.plan.version', "Version",
        required=True, ondelete='CASCADE')
    depth = fields.Integer("Depth", required=True,
        help="0: the buyer's own purchase (自购); 1, 2, 3: the upline that "
        "many steps above the buyer. Compliance: never deeper than 3.")
    level = fields.Many2One('duoduo.member.level', "Level", required=True,
        ondelete='RESTRICT')
    rate = fields.Numeric("Rate", digits=(6, 4), required=True,
        help="Fraction of the order's commission; 0.10 is 10 %.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('version_depth_level_unique',
                Unique(t, t.version, t.depth, t.level),
                'duoduo_commission.msg_plan_rule_unique'),
            ]
        cls._order = [('depth', 'ASC'), ('level', 'ASC'), ('id', 'ASC')]

    @classmethod
    def default_rate(cls):
        return Decimal(0)

    def get_rec_name(self, name):
        return f'{self.depth}: {self.level.rec_name if self.level else ""}'

    @classmethod
    def validate_fields(cls, rules, field_names):
        super().validate_fields(rules, field_names)
        for rule in rules:
            if rule.depth is None or not (0 <= rule.depth <= MAX_DEPTH):
                raise PlanValidationError(gettext(
                        'duoduo_commission.msg_plan_rule_depth',
                        depth=rule.depth, max=MAX_DEPTH))
            if rule.rate is None or not (0 <= rule.rate <= 1):
                raise PlanValidationError(gettext(
                        'duoduo_commission.msg_plan_rate_range',
                        rate=rule.rate, what=rule.rec_name))
        Version = Pool().get('duoduo.commission.plan.version')
        Version.check_worst_case(Version.browse({r.version.id for r in rules}))

    @classmethod
    def check_modification(cls, mode, rules, values=None, external=False):
        super().check_modification(
            mode, rules, values=values, external=external)
        Version = Pool().get('duoduo.commission.plan.version')
        versions = {r.version for r in rules}
        if mode == 'write' and values and values.get('version'):
            versions.add(Version(values['version']))
        Version.check_frozen(Version.browse(versions))
