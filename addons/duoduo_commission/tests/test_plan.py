"""Commission plans: the pure split (rounding, differential, city agent)
and what saving a plan refuses."""
import datetime as dt
import unittest
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from trytond.modules.duoduo_base.tests.testing import DatabaseTestCase
from trytond.modules.duoduo_commission.exceptions import (
    PlanActiveError, PlanValidationError, PlanVersionFrozenError)
from trytond.modules.duoduo_commission.plan import (
    Share, fen_down, split, worst_case)
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction

D = Decimal
# level ids standing for 普通用户, 超级会员, 合伙人, 城市代理
NORMAL, SUPER, PARTNER, AGENT = 10, 11, 12, 13


class SplitTestCase(unittest.TestCase):
    "The split, a pure function"

    rates = {
        (0, NORMAL): D('0.30'), (0, SUPER): D('0.40'),
        (0, PARTNER): D('0.50'),
        (1, NORMAL): D('0.10'), (1, SUPER): D('0.12'),
        (1, PARTNER): D('0.15'),
        (2, NORMAL): D('0.05'), (2, PARTNER): D('0.05'),
        (3, NORMAL): D('0.02'), (3, PARTNER): D('0.02'),
        }

    def test_shares_rounded_down_remainder_to_platform(self):
        "Each share is rounded down to the fen; the platform keeps the rest"
        shares, rest = split(D('0.99'), self.rates, ('buyer', NORMAL), [
                ('u1', PARTNER), ('u2', NORMAL), ('u3', NORMAL)],
            city_agent='agent', city_agent_rate=D('0.03'))
        # 0.297 → 0.29, 0.1485 → 0.14, 0.0495 → 0.04, 0.0198 → 0.01,
        # 0.0297 → 0.02: 0.50 paid, 0.49 kept (0.3267 + rounding)
        self.assertEqual(shares, [
                Share('buyer', D('0.29'), 'commission', 0),
                Share('u1', D('0.14'), 'team_commission', 1),
                Share('u2', D('0.04'), 'team_commission', 2),
                Share('u3', D('0.01'), 'team_commission', 3),
                Share('agent', D('0.02'), 'team_commission', None),
                ])
        self.assertEqual(rest, D('0.49'))
        self.assertEqual(sum(s.amount for s in shares) + rest, D('0.99'))

    def test_never_rounded_up(self):
        "A share worth less than a fen is not paid at all"
        shares, rest = split(D('0.03'), self.rates, ('buyer', NORMAL),
            [('u1', NORMAL)])
        # 0.009 and 0.003: nothing; never 0.01 from nothing
        self.assertEqual(shares, [])
        self.assertEqual(rest, D('0.03'))
        self.assertEqual(fen_down(D('0.07'), D('0.99')), D('0.06'))

    def test_chain_stops_at_the_first_missing_upline(self):
        shares, rest = split(D('100.00'), self.rates, ('buyer', SUPER),
            [('u1', NORMAL), (None, None), ('u3', NORMAL)])
        self.assertEqual([(s.member, s.amount) for s in shares],
            [('buyer', D('40.00')), ('u1', D('10.00'))])
        self.assertEqual(rest, D('50.00'))

    def test_level_without_rule_gets_nothing(self):
        shares, _ = split(D('100.00'), self.rates, ('buyer', AGENT),
            [('u1', SUPER), ('u2', SUPER)])
        # no (0, 城市代理) and no (2, 超级会员) rule
        self.assertEqual([(s.member, s.amount) for s in shares],
            [('u1', D('12.00'))])

    def test_differential(self):
        """级差: an upline gets its rate minus the highest rate due below it,
        never negative"""
        rates = {
            (0, NORMAL): D('0.30'), (0, SUPER): D('0.40'),
            (0, PARTNER): D('0.50'),
            (1, NORMAL): D('0.30'), (1, SUPER): D('0.40'),
            (1, PARTNER): D('0.50'),
            (2, NORMAL): D('0.30'), (2, SUPER): D('0.40'),
            (2, PARTNER): D('0.50'),
            (3, NORMAL): D('0.30'), (3, SUPER): D('0.40'),
            (3, PARTNER): D('0.50'),
            }
        chain = [('u1', SUPER), ('u2', NORMAL), ('u3', PARTNER)]
        shares, rest = split(D('100.00'), rates, ('buyer', NORMAL), chain,
            differential=True)
        # buyer 30 %; 超级会员 above: 40 - 30; 普通用户 above them: 30 - 40
        # < 0 → nothing; 合伙人 on top: 50 - 40
        self.assertEqual([(s.member, s.amount, s.depth) for s in shares], [
                ('buyer', D('30.00'), 0),
                ('u1', D('10.00'), 1),
                ('u3', D('10.00'), 3),
                ])
        self.assertEqual(rest, D('50.00'))
    def test_city_agent(self):
        shares, rest = split(D('10.00'), {}, ('buyer', NORMAL), [],
            city_agent='agent', city_agent_rate=D('0.03'))
        self.assertEqual(shares,
            [Share('agent', D('0.30'), 'team_commission', None)])
        self.assertEqual(rest, D('9.70'))
        # no city agent, or a zero rate: nothing
        self.assertEqual(split(D('10.00'), {}, ('buyer', NORMAL), [],
                city_agent=None, city_agent_rate=D('0.03')),
            ([], D('10.00')))

    def test_refuses_floats_and_deep_chains(self):
        with self.assertRaises(TypeError):
            split(9.99, self.rates, ('buyer', NORMAL), [])
        with self.assertRaises(ValueError):
            split(D('1.00'), self.rates, ('buyer', NORMAL),
                [('u1', NORMAL)] * 4)

    def test_nothing_to_split(self):
        self.assertEqual(split(D('0.00'), self.rates, ('b', NORMAL), []),
            ([], D('0.00')))

    def test_worst_case(self):
        self.assertEqual(worst_case(self.rates, D('0.03')), D('0.75'))
        self.assertEqual(worst_case({}), D('0'))


LEVELS = [NORMAL, SUPER, PARTNER, AGENT]
rate_st = st.decimals(min_value=0, max_value=1, places=4)
rates_st = st.dictionaries(
    st.tuples(st.integers(0, 3), st.sampled_from(LEVELS)), rate_st,
    max_size=16)
member_st = st.tuples(st.integers(1, 50), st.sampled_from(LEVELS))
amount_st = st.decimals(min_value=0, max_value=D('99999.99'), places=2)


def bounded(rates, city_rate):
    "rates scaled down so the version passes the 100 % check"
    total = worst_case(rates, city_rate)
    if total <= 1:
        return rates, city_rate
    scale = total
    return ({k: (v / scale).quantize(D('0.0001'), rounding='ROUND_DOWN')
            for k, v in rates.items()},
        (city_rate / scale).quantize(D('0.0001'), rounding='ROUND_DOWN'))


class SplitPropertyTestCase(unittest.TestCase):
    "The split over random plans and chains"

    @settings(max_examples=30, deadline=None)
    @given(amount_st, rates_st, rate_st, member_st,
        st.lists(member_st, max_size=3), st.booleans(), st.booleans())
    def test_split_invariants(self, amount, rates, city_rate, buyer, chain,
            has_agent, differential):
        rates, city_rate = bounded(rates, city_rate)
        self.assertLessEqual(worst_case(rates, city_rate), 1)
        shares, rest = split(amount, rates, buyer, chain,
            city_agent=99 if has_agent else None, city_agent_rate=city_rate,
            differential=differential)
        paid = sum((s.amount for s in shares), D(0))
        # nothing created from nothing, nothing lost
        self.assertLessEqual(paid, amount)
        self.assertGreaterEqual(rest, 0)
        self.assertEqual(paid + rest, amount)
        for share in shares:
            self.assertGreater(share.amount, 0)
            self.assertEqual(share.amount, share.amount.quantize(D('0.01')))
            self.assertEqual(share.kind, 'commission' if share.depth == 0
                else 'team_commission')
        # each share is its rate rounded down: less than a fen under it
        if not differential:
            levels = [buyer] + chain
            for share in shares:
                if share.depth is None:
                    exact = amount * city_rate
                else:
                    exact = amount * rates[(share.depth,
                            levels[share.depth][1])]
                self.assertLessEqual(share.amount, exact)
                self.assertLess(exact - share.amount, D('0.01'))
        else:
            # the team never earns more than its highest rate
            team = [s for s in shares if s.depth is not None]
            highest = max([rates.get((d, lvl), D(0))
                    for d, (_, lvl) in enumerate([buyer] + chain)],
                default=D(0))
            self.assertLessEqual(sum((s.amount for s in team), D(0)),
                amount * highest)
        # a pure function: the same input, the same split
        self.assertEqual(split(amount, rates, buyer, chain,
                city_agent=99 if has_agent else None,
                city_agent_rate=city_rate, differential=differential),
            (shares, rest))


class PlanTestCase(DatabaseTestCase):
    "Commission plans in the database"
    module = 'duoduo_commission'

    def level(self, code):
        Level = Pool().get('duoduo.member.level')
        level, = Level.search([('code', '=', code)])
        return level

    def new_version(self, rules, city_agent_rate=D('0'), valid_from=None,
            plan=None, differential=False):
        pool = Pool()
        Plan = pool.get('duoduo.commission.plan')
        Version = pool.get('duoduo.commission.plan.version')
        if plan is None:
            plan, = Plan.search([])
        version, = Version.create([{
                    'plan': plan.id,
                    'valid_from': valid_from or dt.datetime(2024, 1, 1),
                    'differential': differential,
                    'city_agent_rate': city_agent_rate,
                    'rules': [('create', [{
                                    'depth': depth,
                                    'level': self.level(code).id,
                                    'rate': rate,
                                    } for depth, code, rate in rules])],
                    }])
        return version

    @with_transaction()
    def test_default_plan(self):
        "The default plan pays at most 75 % and splits like the design says"
        pool = Pool()
        Plan = pool.get('duoduo.commission.plan')
        Version = pool.get('duoduo.commission.plan.version')
        plan, = Plan.search([])
        version, = plan.versions
        self.assertEqual(version.worst_case, D('0.75'))
        self.assertEqual(Version.in_force(dt.datetime(2025, 6, 1)), version)
        self.assertIsNone(Version.in_force(dt.datetime(2019, 12, 31)))
        normal, partner = self.level(0), self.level(2)
        shares, rest = version.split(D('10.00'), ('buyer', normal), [
                ('u1', partner), ('u2', normal), ('u3', normal)],
            city_agent='agent')
        self.assertEqual([(s.member, s.amount) for s in shares], [
                ('buyer', D('3.00')), ('u1', D('1.50')), ('u2', D('0.50')),
                ('u3', D('0.20')), ('agent', D('0.30'))])
        self.assertEqual(rest, D('4.50'))

    @with_transaction()
    def test_worst_case_over_100_refused(self):
        "A version that could pay out more than the commission is refused"
        with self.assertRaises(PlanValidationError) as cm:
            self.new_version([
                    (0, 2, D('0.60')), (0, 0, D('0.10')),
                    (1, 0, D('0.30')), (2, 0, D('0.05')),
                    (3, 0, D('0.02'))], city_agent_rate=D('0.04'))
        self.assertIn('101', str(cm.exception))
        # exactly 100 % is allowed
        version = self.new_version([
                (0, 2, D('0.60')), (1, 0, D('0.30')), (2, 0, D('0.05')),
                (3, 0, D('0.02'))], city_agent_rate=D('0.03'))
        self.assertEqual(version.worst_case, D('1'))
        # with 级差 the same bound holds
        with self.assertRaises(PlanValidationError):
            self.new_version([(0, 0, D('0.6')), (1, 1, D('0.6'))],
                differential=True)
        # raising a rule of a saved version goes through the same check
        Rule = Pool().get('duoduo.commission.plan.rule')
        rule, = [r for r in version.rules if r.depth == 1]
        with self.assertRaises(PlanValidationError):
            Rule.write([rule], {'rate': D('0.31')})
        with self.assertRaises(PlanValidationError):
            Pool().get('duoduo.commission.plan.version').write([version], {
                    'city_agent_rate': D('0.05')})

    @with_transaction()
    def test_depth_and_rates_refused(self):
        "Depth beyond 3 (compliance) and rates outside 0–1 are refused"
        with self.assertRaises(PlanValidationError) as cm:
            self.new_version([(4, 0, D('0.01'))])
        self.assertIn('Depth 4', str(cm.exception))
        with self.assertRaises(PlanValidationError):
            self.new_version([(-1, 0, D('0.01'))])
        with self.assertRaises(PlanValidationError):
            self.new_version([(0, 0, D('-0.01'))])
        with self.assertRaises(PlanValidationError):
            self.new_version([(0, 0, D('1.5'))])
        with self.assertRaises(PlanValidationError):
            self.new_version([], city_agent_rate=D('1.01'))

    @with_transaction()
    def test_one_active_plan(self):
        pool = Pool()
        Plan = pool.get('duoduo.commission.plan')
        first, = Plan.search([])
        second, = Plan.create([{'name': "Second", 'active': False}])
        Plan.write([first], {'active': False})
        Plan.write([second], {'active': True})
        self.assertEqual(Plan.search([]), [second])
        # (last: a refused save leaves the transaction to roll back)
        with self.assertRaises(PlanActiveError):
            Plan.create([{'name': "Third"}])

    @with_transaction()
    def test_in_force(self):
        "The latest version valid from the payment time or before"
        pool = Pool()
        Version = pool.get('duoduo.commission.plan.version')
        default, = Version.search([])
        newer = self.new_version([(0, 0, D('0.35'))],
            valid_from=dt.datetime(2025, 3, 1))
        self.assertEqual(Version.in_force(dt.datetime(2025, 2, 28, 23)),
            default)
        self.assertEqual(Version.in_force(dt.datetime(2025, 3, 1)), newer)
        # versions of an inactive plan are never in force
        Plan = pool.get('duoduo.commission.plan')
        Plan.write(Plan.search([]), {'active': False})
        self.assertIsNone(Version.in_force(dt.datetime(2025, 3, 1)))

    @with_transaction()
    def test_used_version_frozen(self):
        "A version that split an order cannot change: create a new one"
        pool = Pool()
        Member = pool.get('duoduo.member')
        Order = pool.get('duoduo.pdd.order')
        Version = pool.get('duoduo.commission.plan.version')
        Rule = pool.get('duoduo.commission.plan.rule')
        version = self.new_version([(0, 0, D('0.35'))],
            valid_from=dt.datetime(2025, 3, 1))
        self.assertFalse(version.used)
        # unused: it can still be corrected
        Version.write([version], {'city_agent_rate': D('0.01')})
        Rule.write(list(version.rules), {'rate': D('0.36')})

        member, = Member.create([{'phone': '13700000001'}])
        order, = Order.create([{
                    'order_sn': 'frozen-1', 'order_status': 0,
                    'member': member.id, 'attributed_by': 'uid',
                    'promotion_amount': D('1.00'),
                    'order_pay_time': dt.datetime(2025, 3, 2),
                    }])
        self.assertEqual(order.plan_version, version)
        version = Version(version.id)
        self.assertTrue(version.used)
        for change in [
                lambda: Version.write([version], {
                        'city_agent_rate': D('0.02')}),
                lambda: Version.write([version], {
                        'valid_from': dt.datetime(2025, 4, 1)}),
                lambda: Version.delete([version]),
                lambda: Rule.write(list(version.rules), {'rate': D('0.3')}),
                lambda: Rule.delete(list(version.rules)),
                lambda: Rule.create([{'version': version.id, 'depth': 1,
                            'level': self.level(0).id,
                            'rate': D('0.01')}]),
                ]:
            with self.assertRaises(PlanVersionFrozenError):
                change()
        # a new version is the way to change the plan
        newer = self.new_version([(0, 0, D('0.20'))],
            valid_from=dt.datetime(2025, 5, 1))
        self.assertFalse(newer.used)

