"""Level rules, the manual adjustment, the plan simulation and the balance
search, in the database: what staff and members would see of them."""
import datetime as dt
import itertools
import json
from decimal import Decimal

from trytond.model.exceptions import AccessError
from trytond.modules.duoduo_base.tests.testing import DatabaseTestCase
from trytond.modules.duoduo_ledger.exceptions import AdjustmentError
from trytond.modules.duoduo_commission.level import (
    LevelRuleValidationError, settled_commission)
from trytond.modules.duoduo_commission.plan import split
from trytond.modules.duoduo_commission.simulation import simulate
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction
from trytond.modules.duoduo_commission.ledger import order_origin

D = Decimal
_counter = itertools.count(1)
PAID_AT = dt.datetime(2026, 3, 10, 4, 0)  # 12:00 in Shanghai


class LevelTestCase(DatabaseTestCase):
    "Member levels, adjustments, simulation, balances"
    module = 'duoduo_commission'

    # --- the world ---

    def level(self, code):
        "The seeded level numbered code (a level given is returned as is)"
        if not isinstance(code, int):
            return code
        Level = Pool().get('duoduo.member.level')
        level, = Level.search([('code', '=', code)])
        return level

    def rules(self, *rules):
        "Replace the rules by (level code, min invites, min settled)"
        Rule = Pool().get('duoduo.member.level.rule')
        Rule.write(Rule.search([]), {'active': False})
        return Rule.create([{
                    'level': self.level(code).id,
                    'min_invites': invites,
                    'min_settled': D(settled),
                    } for code, invites, settled in rules])

    def member(self, level=0, referrer=None, **values):
        Member = Pool().get('duoduo.member')
        n = next(_counter)
        member, = Member.create([dict({
                        'phone': f'1370012{n:04d}',
                        'nickname': f'm{n}',
                        'level': self.level(level).id,
                        'referrer': referrer.id if referrer else None,
                        }, **values)])
        return member

    def pdd(self, buyer, status, promotion_fen=1000, order_sn=None,
            paid_at=PAID_AT, minutes=0):
        "PDD reports the buyer's order at status: the order"
        Order = Pool().get('duoduo.pdd.order')
        order_sn = order_sn or f'LEVEL-{next(_counter)}'
        paid = int(paid_at.replace(tzinfo=dt.timezone.utc).timestamp())
        Order.upsert_pdd_items([{
                    'order_sn': order_sn,
                    'order_status': status,
                    'promotion_amount': promotion_fen,
                    'order_amount': promotion_fen * 10,
                    'custom_parameters': json.dumps({'uid': buyer.pdd_uid}),
                    'order_pay_time': paid,
                    'order_modify_at': paid + 60 * (minutes + 1),
                    }])
        order, = Order.search([('order_sn', '=', order_sn)])
        return order

    def lines(self, order):
        Line = Pool().get('duoduo.ledger.line')
        return sorted((l.entry.key, l.account,
                l.member.id if l.member else None, l.amount)
            for l in Line.search([('origin', '=', order_origin(order.id))]))

    def reload(self, record):
        return record.__class__(record.id)

    # --- level rules ---

    @with_transaction()
    def test_invites_raise_the_referrer(self):
        "The second direct invitee raises the referrer; history says why"
        rule, = self.rules((1, 2, '0'))
        top = self.member()
        self.member(referrer=top)
        self.assertEqual(self.reload(top).level.code, 0)
        second = self.member(referrer=top)
        top = self.reload(top)
        self.assertEqual(top.level.code, 1)
        change, = top.level_changes
        self.assertEqual((change.from_level.code, change.to_level.code,
                change.cause, change.rule, change.invitee, change.invites),
            (0, 1, 'invite', rule, second, 2))

    @with_transaction()
    def test_settlement_raises_the_member(self):
        "Settled commission counts; frozen commission does not"
        self.rules((2, 0, '3.00'))
        buyer = self.member()
        order = self.pdd(buyer, 0)  # 10.00: 3.00 (30 %) frozen
        self.assertEqual(self.reload(buyer).balance_pending, D('3.00'))
        self.assertEqual(self.reload(buyer).level.code, 0)
        self.pdd(buyer, 5, order_sn=order.order_sn, minutes=1)
        buyer = self.reload(buyer)
        self.assertEqual(buyer.level.code, 2)
        change, = buyer.level_changes
        self.assertEqual((change.cause, change.settled, change.entry.order),
            ('settlement', D('3.00'), order))

    @with_transaction()
    def test_upgrade_never_rewrites_past_orders(self):
        """An upline raised by a rule keeps the split of the orders bought
        before; the next order uses the new level"""
        self.rules((2, 0, '1.00'))
        upline = self.member()
        # the buyer, locked, stays 普通用户 whatever she earns
        buyer = self.member(referrer=upline, level_locked=True)
        first = self.pdd(buyer, 0)
        shares_before, rest_before = first.commission_split()
        # 10.00: buyer 30 % = 3.00, 普通用户 upline 10 % = 1.00
        self.assertEqual({s.member.id: s.amount for s in shares_before},
            {buyer.id: D('3.00'), upline.id: D('1.00')})
        self.pdd(buyer, 5, order_sn=first.order_sn, minutes=1)
        self.assertEqual(self.reload(upline).level.code, 2)
        first = self.reload(first)
        lines_before = self.lines(first)

        # the upgrade happened during the settlement: the settlement moved
        # the shares of the accrual, not the new level's
        self.assertEqual(first.upline_1_level.code, 0)
        self.assertEqual(first.commission_split(),
            (shares_before, rest_before))
        available = {(m, a) for _, account, m, a in lines_before
            if account == 'member_available'}
        self.assertEqual(available,
            {(buyer.id, D('3.00')), (upline.id, D('1.00'))})

        second = self.pdd(buyer, 0)
        # 合伙人 upline: 15 %
        self.assertEqual(second.upline_1_level.code, 2)
        self.assertEqual({(m, a) for _, account, m, a in self.lines(second)
                if account == 'member_pending'},
            {(buyer.id, D('3.00')), (upline.id, D('1.50'))})
        self.assertEqual(self.lines(self.reload(first)), lines_before)

    @with_transaction()
    def test_never_down_never_locked(self):
        "Rules only raise, and never a locked member"
        self.rules((1, 1, '0'))
        partner = self.member(level=2)
        self.member(referrer=partner)
        self.assertEqual(self.reload(partner).level.code, 2)
        self.assertEqual(self.reload(partner).level_changes, ())
        locked = self.member(level_locked=True)
        self.member(referrer=locked)
        self.assertEqual(self.reload(locked).level.code, 0)
        # unlocked, the next invitee raises it
        Member = Pool().get('duoduo.member')
        Member.write([locked], {'level_locked': False})
        self.member(referrer=locked)
        self.assertEqual(self.reload(locked).level.code, 1)

    @with_transaction()
    def test_reversal_does_not_lower(self):
        "A reversal after settlement lowers the settled sum, not the level"
        self.rules((1, 0, '3.00'))
        buyer = self.member()
        order = self.pdd(buyer, 5)
        self.assertEqual(self.reload(buyer).level.code, 1)
        self.pdd(buyer, 10, order_sn=order.order_sn, minutes=1)
        buyer = self.reload(buyer)
        self.assertEqual(settled_commission([buyer])[buyer.id], D('0.00'))
        self.assertEqual(buyer.level.code, 1)

    @with_transaction()
    def test_settled_commission_is_the_sum_of_lines(self):
        """Settled commission: income types on available, withdrawing and
        paid; a withdrawal neither adds nor takes away"""
        pool = Pool()
        Entry = pool.get('duoduo.ledger.entry')
        Line = pool.get('duoduo.ledger.line')
        self.rules((2, 0, '999999.00'))
        buyer = self.member()
        self.pdd(buyer, 5, promotion_fen=1234)   # 3.70 settled
        self.pdd(buyer, 0, promotion_fen=1000)   # 3.00 frozen
        Entry.post('test-withdraw', [
                {'account': 'member_available', 'member': buyer,
                    'amount': D('-2.00')},
                {'account': 'member_withdrawing', 'member': buyer,
                    'amount': D('2.00')}], 'withdrawal')
        Entry.post('test-subsidy', [
                {'account': 'member_available', 'member': buyer,
                    'amount': D('0.33')},
                {'account': 'platform_margin', 'amount': D('-0.33')}], 'subsidy')
        expected = sum((l.amount for l in Line.search([
                        ('member', '=', buyer.id),
                        ('account', 'in', ['member_available',
                                'member_withdrawing', 'member_paid']),
                        ('kind', 'in', ['pull_new', 'commission', 'team_commission', 'subsidy', 'reversal']),
                        ])), D(0))
        self.assertEqual(expected, D('4.03'))
        self.assertEqual(settled_commission([buyer])[buyer.id], expected)

    @with_transaction()
    def test_rule_refused(self):
        "No rule grants 城市代理; a rule needs a threshold"
        Rule = Pool().get('duoduo.member.level.rule')
        for values in [
                {'level': self.level(3).id, 'min_invites': 1},
                {'level': self.level(1).id},
                {'level': self.level(1).id, 'min_invites': -1},
                ]:
            with self.subTest(values=values), \
                    self.assertRaises(LevelRuleValidationError):
                Rule.create([values])

    @with_transaction()
    def test_rules_follow_the_role_not_the_code(self):
        """Rules never touch a city agent nor grant a city agent's level,
        whatever the levels' numbers"""
        pool = Pool()
        Level = pool.get('duoduo.member.level')
        Rule = pool.get('duoduo.member.level.rule')
        seeded_agent = self.level(3)
        star, district = Level.create([
                {'name': '星级合伙人', 'code': 8, 'role': 'partner'},
                {'name': '区县代理', 'code': 9, 'role': 'city_agent'},
                ])
        self.rules((star, 1, '0'))
        # a city agent is not "raised" to a partner's level of higher code
        agent = self.member(level=seeded_agent)
        self.member(referrer=agent)
        self.assertEqual(self.reload(agent).level, seeded_agent)
        self.assertEqual(self.reload(agent).level_changes, ())
        # a member is
        member = self.member()
        self.member(referrer=member)
        self.assertEqual(self.reload(member).level, star)
        # a level that became a city agent's is no longer granted
        Level.write([star], {'role': 'city_agent'})
        other = self.member()
        self.member(referrer=other)
        self.assertEqual(self.reload(other).level.role, 'member')
        Level.write([star], {'role': 'partner'})

        # the seeded 城市代理 made a partner's level may be granted
        Level.write([seeded_agent], {'role': 'partner'})
        rule, = Rule.create([{'level': seeded_agent.id, 'min_invites': 5}])
        self.assertEqual(rule.level.code, 3)
        # a city agent's level is refused whatever its number
        Level.write([star], {'role': 'city_agent'})
        for level in [district, star]:
            with self.subTest(code=level.code), \
                    self.assertRaises(LevelRuleValidationError):
                Rule.create([{'level': level.id, 'min_invites': 1}])

    @with_transaction()
    def test_city_agent_found_by_role(self):
        """The city agent of an order is the member of the buyer's city whose
        level has the city agent role, whatever its number"""
        Level = Pool().get('duoduo.member.level')
        seeded_agent = self.level(3)
        district, = Level.create([
                {'name': '区县代理', 'code': 9, 'role': 'city_agent'}])
        Level.write([seeded_agent], {'role': 'partner'})
        # lower id, same city, but its level (code 3) is a partner's now
        self.member(level=seeded_agent, city='杭州')
        agent = self.member(level=district, city='杭州')
        self.member(level=district, city='宁波')
        order = self.pdd(self.member(city='杭州'), 0)
        self.assertEqual(order.city_agent, agent)
        self.assertEqual(order.get_city_agent(order.member), agent)
        self.assertIsNone(self.pdd(self.member(city='温州'), 0).city_agent)
        self.assertIsNone(self.pdd(self.member(), 0).city_agent)

    @with_transaction()
    def test_staff_change_in_history(self):
        "A level changed in the member form is recorded with the user"
        Member = Pool().get('duoduo.member')
        member = self.member()
        with Transaction().set_user(1):
            Member.write([member], {'level': self.level(3).id})
        change, = self.reload(member).level_changes
        self.assertEqual((change.cause, change.user.id, change.from_level.code,
                change.to_level.code), ('staff', 1, 0, 3))

    # --- manual adjustment ---

    def adjust(self, member, amount, reason, session=None, user=None):
        "Run the wizard's post transition as user: the session id"
        Wizard = Pool().get('duoduo.ledger.adjust', type='wizard')
        with Transaction().set_user(user if user is not None else 0):
            if session is None:
                session, _, _ = Wizard.create()
            Wizard.execute(session, {'start': {
                        'member': member.id, 'amount': amount,
                        'kind': 'subsidy', 'reason': reason}}, 'post')
        return session

    def finance_user(self):
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        user, = User.create([{
                    'name': 'finance', 'login': f'finance{next(_counter)}',
                    'groups': [('add', [ModelData.get_id(
                                    'duoduo_base', 'group_duoduo_finance')])],
                    }])
        return user.id

    @with_transaction()
    def test_adjustment_rechecks_the_group(self):
        """The transition refuses whoever is not in the finance group, even
        root, who passes the action's group check; a Duoduo administrator
        is refused by the action's group"""
        pool = Pool()
        Entry = pool.get('duoduo.ledger.entry')
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        member = self.member()
        boss, = User.create([{'name': 'boss', 'login': 'boss',
                    'groups': [('add', [ModelData.get_id(
                                    'duoduo_base', 'group_duoduo_admin')])],
                    }])
        with self.assertRaises(AccessError):
            self.adjust(member, D('1.00'), "test", user=0)
        with self.assertRaises(AccessError):
            self.adjust(member, D('1.00'), "test", user=boss.id)
        self.assertEqual(Entry.search([('members', '=', member.id)]), [])

    @with_transaction()
    def test_adjustment_posts_once_per_session(self):
        pool = Pool()
        Entry = pool.get('duoduo.ledger.entry')
        member = self.member()
        finance = self.finance_user()
        session = self.adjust(member, D('-1.25'), " 扣回 ", user=finance)
        self.adjust(member, D('-1.25'), " 扣回 ", session=session,
            user=finance)
        entry, = Entry.search([('members', '=', member.id)])
        self.assertEqual((entry.user.id, entry.reason, entry.kind),
            (finance, '扣回', 'subsidy'))
        self.assertEqual(sorted((l.account, l.amount) for l in entry.lines),
            [('member_available', D('-1.25')),
                ('platform_margin', D('1.25'))])
        self.assertEqual(self.reload(member).balance_available, D('-1.25'))
        # another session is another adjustment
        self.adjust(member, D('-1.25'), "扣回", user=finance)
        self.assertEqual(len(Entry.search([('members', '=', member.id)])), 2)

    @with_transaction()
    def test_adjustment_refused(self):
        member = self.member()
        finance = self.finance_user()
        for amount, reason in [(D('0'), "r"), (D('0.001'), "r"),
                (D('1.00'), "  "), (D('1.00'), None)]:
            with self.subTest(amount=amount, reason=reason), \
                    self.assertRaises(AdjustmentError):
                self.adjust(member, amount, reason, user=finance)
        self.assertEqual(self.reload(member).balance_available, D('0.00'))

    # --- simulation ---

    @with_transaction()
    def test_simulation_equals_split_and_writes_nothing(self):
        pool = Pool()
        Line = pool.get('duoduo.ledger.line')
        Plan = pool.get('duoduo.commission.plan')
        Wizard = pool.get('duoduo.commission.simulate', type='wizard')
        self.rules((1, 0, '999999.00'))
        agent = self.member(level=3, city='测试市')
        top = self.member(level=2)
        mid = self.member(level=1, referrer=top)
        buyer = self.member(referrer=mid, city='测试市')
        orders = [self.pdd(buyer, 0, promotion_fen=1234),
            self.pdd(mid, 5, promotion_fen=999),
            self.pdd(buyer, 0, promotion_fen=777,
                paid_at=PAID_AT + dt.timedelta(days=40))]  # not in March
        reversed_ = self.pdd(buyer, 4, promotion_fen=5000)
        self.assertEqual(self.reload(reversed_).commission_state, 'reversed')
        plan, = Plan.create([{'name': 'draft', 'active': False,
                    'versions': [('create', [{
                                    'valid_from': dt.datetime(2031, 1, 1),
                                    'differential': True,
                                    'city_agent_rate': D('0.05'),
                                    'rules': [('create', [
                                                {'depth': d, 'level':
                                                    self.level(c).id,
                                                    'rate': D(r)}
                                                for d, c, r in [
                                                    (0, 0, '0.30'),
                                                    (0, 1, '0.35'),
                                                    (1, 1, '0.30'),
                                                    (2, 2, '0.25')]])],
                                    }])]}])
        version, = plan.versions
        count = Line.search_count([])

        session, _, _ = Wizard.create()
        result = Wizard.execute(session, {'start': {
                    'version': version.id,
                    'start_date': dt.date(2026, 3, 1),
                    'end_date': dt.date(2026, 3, 31)}}, 'result')
        values = result['view']['defaults']
        Wizard.delete(session)
        self.assertEqual(Line.search_count([]), count)

        # by hand: the two March orders that are booked
        march = [self.reload(o) for o in orders[:2]]
        rates = version.rates()
        current, simulated = {}, {}
        platform_current = platform_simulated = D(0)
        for order in march:
            chain = [(getattr(order, f'upline_{d}'),
                    getattr(order, f'upline_{d}_level')) for d in [1, 2, 3]]
            buyer_ = (order.member, order.buyer_level)
            for target, version_rates, city_rate, differential in [
                    (current, order.plan_version.rates(),
                        order.plan_version.city_agent_rate,
                        order.plan_version.differential),
                    (simulated, rates, D('0.05'), True)]:
                shares, rest = split(order.promotion_amount, version_rates,
                    buyer_, chain, order.city_agent, city_rate,
                    differential)
                for share in shares:
                    target[share.member.id] = target.get(
                        share.member.id, D(0)) + share.amount
                if target is current:
                    platform_current += rest
                else:
                    platform_simulated += rest
        self.assertEqual(values['order_count'], 2)
        self.assertEqual(values['promotion_amount'], D('22.33'))
        self.assertEqual(values['platform_current'], platform_current)
        self.assertEqual(values['platform_simulated'], platform_simulated)
        self.assertEqual(values['platform_difference'],
            platform_simulated - platform_current)
        self.assertEqual({l['member']: (l['current'], l['simulated'])
                for l in values['lines']},
            {m: (current.get(m, D(0)), simulated.get(m, D(0)))
                for m in set(current) | set(simulated)})
        self.assertIn(agent.id, simulated)
        # the plan in force: what the ledger accrued for those orders
        accrued = {}
        for line in Line.search([('origin', 'in', [order_origin(o.id) for o in march]),
                    ('account', '=', 'member_pending'),
                    ('amount', '>', 0)]):
            accrued[line.member.id] = accrued.get(
                line.member.id, D(0)) + line.amount
        self.assertEqual(accrued, current)
        self.assertEqual(simulate(version, march)['simulated'], simulated)

    # --- balances ---

    @with_transaction()
    def test_search_balance(self):
        "The balance search agrees with the balances summed from the lines"
        pool = Pool()
        Member = pool.get('duoduo.member')
        Entry = pool.get('duoduo.ledger.entry')
        owes, rich, nothing = self.member(), self.member(), self.member()
        for key, member, amount in [('b1', owes, '-2.50'),
                ('b2', rich, '7.00'), ('b3', rich, '-0.50')]:
            Entry.post(key, [
                    {'account': 'member_available', 'member': member,
                        'amount': D(amount)},
                    {'account': 'platform_margin', 'amount': -D(amount)}],
                'subsidy')
        mine = [owes.id, rich.id, nothing.id]
        for clause, expected in [
                (('<', 0), {owes.id}),
                (('>', D('6.49')), {rich.id}),
                (('>=', D('6.50')), {rich.id}),
                (('=', 0), {nothing.id}),
                (('!=', 0), {owes.id, rich.id}),
                (('<=', 0), {owes.id, nothing.id}),
                ]:
            with self.subTest(clause=clause):
                found = {m.id for m in Member.search([
                            ('id', 'in', mine),
                            ('balance_available',) + clause])}
                self.assertEqual(found, expected)
                balances = {m.id: m.balance_available
                    for m in Member.browse(mine)}
                self.assertEqual(found, {i for i, b in balances.items()
                        if {'<': b < clause[1], '>': b > clause[1],
                            '>=': b >= clause[1], '=': b == clause[1],
                            '!=': b != clause[1],
                            '<=': b <= clause[1]}[clause[0]]})

    @with_transaction()
    def test_apply_to_members_after_lowering(self):
        "A lowered threshold raises existing members when staff apply it"
        Rule = Pool().get('duoduo.member.level.rule')
        rule, = self.rules((1, 3, '0'))
        top = self.member()
        self.member(referrer=top)
        self.member(referrer=top)
        locked = self.member(level_locked=True)
        self.member(referrer=locked)
        self.member(referrer=locked)
        self.assertEqual(self.reload(top).level.code, 0)
        Rule.write([rule], {'min_invites': 2})
        self.assertEqual(self.reload(top).level.code, 0)
        Rule.apply_to_members([rule])
        top = self.reload(top)
        self.assertEqual(top.level.code, 1)
        change, = top.level_changes
        self.assertEqual((change.cause, change.user.id), ('review', 1))
        self.assertEqual(self.reload(locked).level.code, 0)
