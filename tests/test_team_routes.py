"""The contract's team module (团队模块) through HTTP: /member/myTeam,
/user/team_members/ and /user/team_ranking/ answer from the stored team
statistics, which follow registrations, orders moving through PDD's
statuses (the simulator and the production upsert), ledger postings,
referrer moves and city changes.

Every step runs in a committed transaction of its own; members and orders
are new in every test (the database is shared), so the tests assert on
their own members only, except the comparisons with a recompute from
scratch, which cover the whole database."""
import datetime as dt
import json
import threading
import unittest
from decimal import Decimal
from unittest import mock

from support import CommissionWorld, ContractTestCase, committed

from trytond import backend
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction

D = Decimal
CENT = D('0.01')
SHANGHAI = dt.timezone(dt.timedelta(hours=8))

only_postgresql = unittest.skipUnless(
    backend.name == 'postgresql', "needs concurrent writers (PostgreSQL)")


def utc(at):
    "naive UTC of an aware datetime"
    return at.astimezone(dt.timezone.utc).replace(tzinfo=None)


def shanghai_midnight(at):
    "naive UTC of the Asia/Shanghai midnight starting the day holding at"
    local = at.replace(tzinfo=dt.timezone.utc).astimezone(SHANGHAI)
    return utc(local.replace(hour=0, minute=0, second=0, microsecond=0))


class TeamRoutesTestCase(CommissionWorld, ContractTestCase):
    "团队模块 routes"
    seed = 20240601
    phone_prefix = '1370042'
    nickname_prefix = 't'

    def setUp(self):
        super().setUp()
        # the statistics' clock: "today" of the routes
        self.now = self.sim_now()
        from trytond.modules.duoduo_commission import team_statistics
        self.enterContext(mock.patch.object(
                team_statistics, 'now', lambda: self.now))

    # --- the world (more in CommissionWorld) ---

    def member(self, referrer=None, level=0, city=None, registered_at=None,
            nickname=None):
        "A new member invited by referrer, registered at registered_at"
        return super().member(level, referrer, city, nickname,
            registered_at=registered_at or self.now)

    def buy(self, member_id, paid_at=None, order_amount=10000,
            goods_sign=None):
        "The member buys through its link, paid at paid_at: the stored item"
        item = super().buy(member_id, order_amount=order_amount,
            goods_sign=goods_sign)
        if paid_at:
            timestamp = int(paid_at.replace(
                    tzinfo=dt.timezone.utc).timestamp())
            self.sim.orders[item['order_sn']]['order_pay_time'] = timestamp
            item['order_pay_time'] = timestamp
        self.upsert(item)
        return item

    def change_referrer(self, member_id, referrer_id):
        "As staff do it: the Change Referrer wizard"
        # (a move locks the members' table: Tryton starts the transaction
        # again with the lock)
        with Transaction().start(DB_NAME, 0,
                _lock_tables=['duoduo_member']) as transaction:
            pool = Pool()
            Wizard = pool.get('duoduo.member.change_referrer',
                type='wizard')
            Member = pool.get('duoduo.member')
            with Transaction().set_context(active_model='duoduo.member',
                    active_id=member_id, active_ids=[member_id]):
                session_id, _, _ = Wizard.create()
                Wizard.execute(session_id, {'start': {
                            'member': member_id,
                            'referrer': referrer_id,
                            }}, 'change')
                Wizard.delete(session_id)
            self.assertEqual(
                Member(member_id).referrer.id if referrer_id else None,
                referrer_id)
            transaction.commit()

    def income(self, member_id):
        "The member's total income as the ledger says (my_info)"
        with committed():
            return Pool().get('duoduo.member')(member_id).get_info()[
                'total_income']

    def bonus(self, member_id, amount):
        "A bonus (income of kind subsidy) posted to the member"
        with committed() as transaction:
            Entry = Pool().get('duoduo.ledger.entry')
            Entry.post(f'test-team-bonus:{member_id}:{self.number()}', [
                    {'account': 'member_available', 'member': member_id,
                        'amount': amount},
                    {'account': 'platform_margin', 'member': None,
                        'amount': -amount},
                    ], 'subsidy', description="test bonus")
            transaction.commit()

    def assert_recompute_agrees(self):
        "The incremental rows equal those rebuilt from scratch"
        with committed() as transaction:
            pool = Pool()
            Statistic = pool.get('duoduo.team.statistic')
            Order = pool.get('duoduo.pdd.order')

            def orders():
                return {(o.id, o.statistics_member and o.statistics_member.id,
                        o.statistics_day, o.statistics_amount)
                    for o in Order.search([])}
            before, counted = Statistic.snapshot(), orders()
            Statistic.recompute()
            Order._clear_statistics_cache()
            self.assertEqual(Statistic.snapshot(), before)
            self.assertEqual(orders(), counted)
            transaction.rollback()

    # --- what the member sees ---

    def my_team(self, token, header=False):
        if header:
            status, payload = self.post('/member/myTeam', {}, token=token)
        else:
            status, payload = self.post('/member/myTeam', {'token': token})
        self.assertEqual(status, 200, payload)
        self.assertEqual(set(payload), {'team', 'city', 'upper'})
        return payload

    def members(self, token, **query):
        payload = self.assertReply(self.get('/user/team_members/',
                token=token, query=query), 200, 200)
        return payload['data']

    def ranking(self, token, **query):
        payload = self.assertReply(self.get('/user/team_ranking/',
                token=token, query=query), 200, 200)
        return payload['data']['list']

    @staticmethod
    def block(num=0, invalid=0, pre='0.00', today=0, yesterday=0,
            today_sales=0, sales=0):
        return {'num': num, 'invaild_num': invalid, 'pre': float(D(pre)),
            'today': today, 'yesterday': yesterday,
            'today_sales': today_sales, 'sales': sales}

    # --- the tests ---

    def test_my_team(self):
        "Team depth 1-3 and the city; orders counted while not reversed"
        city = f'团队市{self.number()}'
        top = self.member(nickname='队长', city=city)
        a1 = self.member(top, city=city)
        self.member(top)   # a direct invitee outside the city
        b1 = self.member(a1, city=city)
        c1 = self.member(b1)
        d1 = self.member(c1, city=city)   # depth 4: not in top's team
        token = self.token(top)
        self.assertEqual(self.my_team(token), {
                'team': self.block(4, 4, today=4),
                'city': self.block(4, 4, today=4),
                'upper': '',
                })
        self.assertEqual(self.my_team(self.token(a1))['upper'], '队长')

        orders = [self.buy(b1), self.buy(b1), self.buy(c1), self.buy(d1)]
        pre = self.promotion(*orders[:3])
        self.assertEqual(self.my_team(token), {
                'team': self.block(4, 2, pre, 4, 0, 3, 3),
                # the city: top, a1, b1, d1; orders of b1 and d1
                'city': self.block(4, 2,
                    self.promotion(orders[0], orders[1], orders[3]),
                    4, 0, 3, 3),
                'upper': '',
                })
        # the header works as well as the body, and the answer is bare
        self.assertEqual(self.my_team(token, header=True)['team']['sales'], 3)

        # through the statuses: settled still counts; reversed does not
        for status in [1, 2, 3, 5]:
            self.move(orders[2], status)
        self.assertEqual(self.my_team(token)['team']['sales'], 3)
        self.move(orders[2], 4)
        team = self.my_team(token)['team']
        self.assertEqual(team, self.block(4, 3, self.promotion(*orders[:2]),
                4, 0, 2, 2))
        self.move(orders[0], 10)
        self.move(orders[0], 10)   # a replay changes nothing
        self.assertEqual(self.my_team(token)['team'],
            self.block(4, 3, self.promotion(orders[1]), 4, 0, 1, 1))
        # PDD going back: counted again
        self.move(orders[2], 2)
        self.assertEqual(self.my_team(token)['team'],
            self.block(4, 2, self.promotion(orders[1], orders[2]),
                4, 0, 2, 2))
        self.assert_recompute_agrees()

    def test_registration_through_login(self):
        "A member registering with an invitation code joins three teams"
        top = self.member()
        mid = self.member(top)
        low = self.member(mid)
        with committed():
            low_member = Pool().get('duoduo.member')(low)
            code, nickname = low_member.invitation_code, low_member.nickname
        token, user = self.login(f'1370043{self.number():04d}', code)
        for ancestor, depth in [(low, 1), (mid, 2), (top, 3)]:
            team = self.my_team(self.token(ancestor))['team']
            self.assertEqual(team['num'], depth)
            self.assertEqual(team['invaild_num'], team['num'])
            data = self.members(self.token(ancestor), level=depth)
            self.assertEqual([(r['user_id'], r['relation_level'])
                    for r in data['list']], [(user['id'], depth)])
        self.assertEqual(self.my_team(token)['upper'], nickname)

    def test_no_city(self):
        top = self.member()
        self.member(top)
        self.assertEqual(self.my_team(self.token(top))['city'],
            self.block())

    def test_team_members(self):
        "Levels, paging, newest first, each member's own orders and income"
        top = self.member(level=2)
        t0 = self.now - dt.timedelta(hours=5)
        direct = [self.member(top, registered_at=t0 + dt.timedelta(
                    minutes=i)) for i in range(3)]
        second = [self.member(direct[0], level=1,
                registered_at=t0 + dt.timedelta(minutes=10 + i))
            for i in range(2)]
        third = self.member(second[0], registered_at=t0)
        self.member(third)   # depth 4
        token = self.token(top)
        for item in [self.buy(second[0]), self.buy(second[0]),
                self.buy(direct[1])]:
            self.move(item, 5)
        self.bonus(third, D('1.25'))

        data = self.members(token)
        self.assertEqual(data['total'], 6)
        # newest registration first; same time: higher id first
        self.assertEqual([r['user_id'] for r in data['list']],
            [second[1], second[0], direct[2], direct[1], third, direct[0]])
        row = data['list'][1]
        with committed():
            Member = Pool().get('duoduo.member')
            member = Member(second[0])
            level_code, level_name = member.level.code, member.level.name
            reg_time = int(member.registered_at.timestamp())
        self.assertEqual(row, {
                'user_id': second[0],
                'nickname': member.nickname,
                'avatar': '',
                'level_id': level_code,
                'level_name': level_name,
                'reg_time': reg_time,
                'order_count': 2,
                'total_commission': float(self.income(second[0])),
                'relation_level': 2,
                })
        self.assertGreater(row['total_commission'], 0)
        by_id = {r['user_id']: r for r in data['list']}
        self.assertEqual(by_id[third]['total_commission'], 1.25)
        self.assertEqual(by_id[third]['relation_level'], 3)
        self.assertEqual(by_id[direct[1]]['order_count'], 1)
        self.assertEqual(by_id[direct[1]]['total_commission'],
            float(self.income(direct[1])))

        self.assertEqual(
            [(r['user_id'], r['relation_level'])
                for r in self.members(token, level=1)['list']],
            [(direct[2], 1), (direct[1], 1), (direct[0], 1)])
        self.assertEqual(self.members(token, level=2)['total'], 2)
        self.assertEqual([r['user_id']
                for r in self.members(token, level=3)['list']], [third])
        # pages
        page_1 = self.members(token, page=1, page_size=4)
        page_2 = self.members(token, page=2, page_size=4)
        self.assertEqual((page_1['total'], page_2['total']), (6, 6))
        self.assertEqual([r['user_id'] for r in page_1['list']
                + page_2['list']], [r['user_id'] for r in data['list']])
        self.assertEqual(self.members(token, page=3, page_size=4)['list'],
            [])
        self.assertEqual(self.members(self.token(third)),
            {'total': 1, 'list': self.members(self.token(third))['list']})

    def test_ranking(self):
        "TOP of the team by orders and by income; ties are stable"
        top = self.member()
        a, b, c, d = [self.member(top) for _ in range(4)]
        e = self.member(a)
        goods = self.sim.goods[0]['goods_sign']   # one commission rate
        for member in [a, a, b, b, c, e]:
            self.buy(member, order_amount=20000, goods_sign=goods)
        # a and b: 2 orders each; b's income is the higher (a bonus): b
        # first; c and e: 1 order and the same income each: lowest id first
        self.bonus(b, D('50.00'))
        self.bonus(d, D('3.00'))   # d: income, no order
        token = self.token(top)
        ranking = self.ranking(token)
        self.assertEqual([(r['rank'], r['user_id'], r['order_count'])
                for r in ranking], [(1, b, 2), (2, a, 2), (3, c, 1), (4, e, 1)])
        self.assertEqual(set(ranking[0]), {'rank', 'user_id', 'nickname',
                'avatar', 'order_count', 'total_commission'})
        self.assertEqual(ranking[0]['total_commission'],
            float(self.income(b)))
        self.assertEqual(ranking[2]['total_commission'],
            ranking[3]['total_commission'])
        self.assertEqual(self.ranking(token, type='order'), ranking)

        by_income = self.ranking(token, type='commission')
        self.assertEqual(by_income[0]['user_id'], b)
        ids = [r['user_id'] for r in by_income]
        self.assertEqual(ids.index(e), ids.index(c) + 1)
        self.assertIn((d, 0, 3.0), [(r['user_id'], r['order_count'],
                    r['total_commission']) for r in by_income])
        incomes = [r['total_commission'] for r in by_income]
        self.assertEqual(incomes, sorted(incomes, reverse=True))
        self.assertEqual({r['user_id'] for r in by_income}, {a, b, c, d, e})
        self.assertEqual([r['rank'] for r in by_income], [1, 2, 3, 4, 5])

        # reversing takes the member out of the order ranking
        with committed():
            Order = Pool().get('duoduo.pdd.order')
            c_orders = [o.order_sn for o in Order.search([('member', '=', c)])]
        self.assertEqual(len(c_orders), 1)
        self.move({'order_sn': c_orders[0]}, 4)
        self.assertNotIn(c, [r['user_id'] for r in self.ranking(token)])
        self.assertEqual(self.ranking(self.token(e)), [])

    def test_referrer_move(self):
        "A moved member takes its team (two levels) and figures along"
        new = self.member()
        old_up = self.member()
        old_mid = self.member(old_up)
        mover = self.member(old_mid)
        child = self.member(mover)
        grandchild = self.member(child)
        great = self.member(grandchild)
        for member in [mover, child, grandchild, great]:
            self.buy(member)
        self.bonus(child, D('20.00'))
        # old_up's team: old_mid, mover, child
        self.assertEqual(self.my_team(self.token(old_up))['team']['sales'],
            2)
        self.change_referrer(mover, new)

        # old_up: only old_mid left; new: mover, child, grandchild
        self.assertEqual(self.my_team(self.token(old_up))['team'],
            self.block(1, 1, today=1))
        self.assertEqual(self.members(self.token(old_mid)),
            {'total': 0, 'list': []})
        new_token = self.token(new)
        team = self.my_team(new_token)['team']
        self.assertEqual((team['num'], team['invaild_num'], team['sales']),
            (3, 0, 3))
        self.assertEqual([(r['user_id'], r['relation_level'])
                for r in self.members(new_token)['list']],
            [(grandchild, 3), (child, 2), (mover, 1)])
        ranking = self.ranking(new_token, type='commission')
        self.assertEqual(ranking[0]["user_id"], child)
        for row in ranking:
            self.assertEqual(row['total_commission'],
                float(self.income(row['user_id'])))
        # the mover's own team is what it was
        self.assertEqual(self.my_team(self.token(mover))['team']['num'], 3)
        self.assert_recompute_agrees()
        self.change_referrer(mover, None)
        self.assertEqual(self.my_team(new_token)['team'], self.block())
        self.assert_recompute_agrees()

    def test_city_change(self):
        city_a, city_b = f'甲{self.number()}', f'乙{self.number()}'
        member = self.member(city=city_a)
        watcher_a = self.member(city=city_a)
        watcher_b = self.member(city=city_b)
        self.buy(member)
        self.assertEqual(self.my_team(self.token(watcher_a))['city']['sales'],
            1)
        with committed() as transaction:
            Member = Pool().get('duoduo.member')
            Member.write([Member(member)], {'city': city_b})
            transaction.commit()
        self.assertEqual(self.my_team(self.token(watcher_a))['city'],
            self.block(1, 1, today=1))
        city = self.my_team(self.token(watcher_b))['city']
        self.assertEqual((city['num'], city['invaild_num'], city['sales']),
            (2, 1, 1))
        self.assert_recompute_agrees()

    def test_shanghai_days(self):
        "today/yesterday and today_sales follow the Asia/Shanghai calendar"
        midnight = shanghai_midnight(self.sim_now())
        self.now = midnight + dt.timedelta(hours=1)
        top = self.member()
        before = self.member(top,
            registered_at=midnight - dt.timedelta(seconds=1))
        after = self.member(top, registered_at=midnight)
        self.member(top, registered_at=midnight - dt.timedelta(days=1,
                seconds=1))   # the day before yesterday
        self.buy(before, paid_at=midnight - dt.timedelta(seconds=1))
        self.buy(after, paid_at=midnight)
        self.buy(after, paid_at=midnight + dt.timedelta(minutes=30))
        token = self.token(top)
        team = self.my_team(token)['team']
        self.assertEqual((team['today'], team['yesterday'],
                team['today_sales'], team['sales']), (1, 1, 2, 3))
        # a day later (Shanghai) yesterday is today's day
        self.now = midnight + dt.timedelta(days=1, minutes=1)
        team = self.my_team(token)['team']
        self.assertEqual((team['today'], team['yesterday'],
                team['today_sales'], team['sales']), (0, 1, 0, 3))
        # UTC 15:59 is already the next day in Shanghai
        self.now = midnight - dt.timedelta(minutes=1)
        team = self.my_team(token)['team']
        self.assertEqual((team['today'], team['yesterday'],
                team['today_sales']), (1, 1, 1))

    def test_errors(self):
        top = self.member()
        for path in ['/user/team_members/', '/user/team_ranking/']:
            self.assertReply(self.get(path), 401, 401)
            self.assertReply(self.get(path, token='nope'), 401, 401)
        self.assertReply(self.post('/member/myTeam', {}), 401, 401)
        self.assertReply(self.post('/member/myTeam', {'token': 'nope'}),
            401, 401)
        token = self.token(top)
        for query in [{'level': 0}, {'level': 4}, {'level': 'x'},
                {'page': 0}, {'page_size': 1000}]:
            self.assertReply(self.get('/user/team_members/', token=token,
                    query=query), 400, 400)
        payload = self.assertReply(self.get('/user/team_ranking/',
                token=token, query={'type': 'money'}), 400, 400)
        self.assertIn('type', payload['msg'])

    @only_postgresql
    def test_concurrent_orders(self):
        "Two transactions counting orders of one team at once stay exact"
        from trytond.modules.duoduo_base.tools import in_own_transaction
        top = self.member()
        buyers = [self.member(top), self.member(top)]
        token = self.token(top)
        # rounds 1-3: two buyers at once; round 4: the first two orders of
        # a new buyer at once (it becomes active exactly once)
        rounds = [buyers] * 3 + [[self.member(top)] * 2]
        for round_, round_buyers in enumerate(rounds):
            items = [self.sim.place_order(custom_parameters=json.dumps(
                        {'uid': self.uid(b)}, separators=(',', ':')))
                for b in round_buyers]
            barrier = threading.Barrier(2)
            errors = []

            def run(item):
                barrier.wait()
                try:
                    with Transaction().start(DB_NAME, 0):
                        in_own_transaction(lambda: Pool().get(
                                'duoduo.pdd.order').upsert_pdd_items([item]))
                except Exception as error:  # reported below
                    errors.append(error)
            threads = [threading.Thread(target=run, args=(i,))
                for i in items]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            self.assertEqual(errors, [])
            team = self.my_team(token)['team']
            # the new buyer of round 4 is in the team from the start
            self.assertEqual((team['sales'], team['invaild_num']),
                (2 * (round_ + 1), 1 if round_ < 3 else 0))
        self.assert_recompute_agrees()
