"""The contract's 收益模块 through HTTP, as a member reads it: orders bought
through their link (PDD simulator items stored by the production upsert),
the ledger's clock moved around Shanghai midnight, settlement, a clawback
after settlement into a negative balance, filters, paging and errors."""
import datetime as dt
import json
from decimal import Decimal
from unittest import mock

from support import CommissionWorld, ContractTestCase, committed

from trytond.pool import Pool

from trytond.modules.duoduo_base import tools

D = Decimal
CENT = D('0.01')
OVERVIEW = ['total_income', 'available_balance', 'frozen_balance',
    'today_income', 'yesterday_income', 'month_income', 'total_withdraw',
    'pending_income']
ROW = ['id', 'money_type', 'money_type_name', 'order_num', 'count',
    'status', 'status_name', 'create_time', 'settle_time']
ROUTES = ['/user/income/', '/user/moneyhistory/',
    '/user/moneyhistory/year_history/', '/user/order_detail/']
# 23:59:59 on 30 November 2026 in Shanghai, then 00:30 on 1 December
BEFORE_MIDNIGHT = dt.datetime(2026, 11, 30, 15, 59, 59)
AFTER_MIDNIGHT = dt.datetime(2026, 11, 30, 16, 30)
MORNING = dt.datetime(2026, 12, 1, 2)   # 10:00 on 1 December


def unix(at):
    return int(at.replace(tzinfo=dt.timezone.utc).timestamp())


class IncomeRoutesTestCase(CommissionWorld, ContractTestCase):
    seed = 20261201
    phone_prefix = '1350042'
    nickname_prefix = 'income'

    def setUp(self):
        super().setUp()
        # the ledger's clock: entries are posted at self.at, and "today"
        # is the Shanghai day holding it
        self.at = MORNING
        self.enterContext(mock.patch.object(tools, 'now',
                lambda: self.at))

    # --- the world (more in CommissionWorld) ---

    def member(self, referrer=None):
        "A new 普通用户 with a token: (id, token)"
        member_id = super().member(referrer=referrer)
        return member_id, self.token(member_id)

    def buy(self, member_id, order_amount=10000, status=0):
        "The member buys through their link (amount in 分), stored at self.at"
        item = super().buy(member_id, order_amount, status=status)
        self.upsert(item)
        return item

    def move(self, item, status, at=None):
        "PDD moves the order to status, stored at `at` (default self.at)"
        if at is not None:
            self.at = at
        return super().move(item, status)

    def share(self, item, rate=D('0.30')):
        "The buyer's share by the default plan (普通用户 30 %, rounded down)"
        return (self.promotion(item) * rate).quantize(CENT, 'ROUND_DOWN')

    # --- what the member reads ---

    def read(self, path, token, query=None):
        "(data, text) of a successful GET, numbers read as Decimal"
        response = self.client().get(path, query_string=query,
            headers={'Authorization': f'Token {token}'},
            environ_base={'REMOTE_ADDR': self.remote_addr})
        text = response.get_data(as_text=True)
        payload = json.loads(text, parse_float=D)
        self.assertEqual((response.status_code, payload['code']), (200, 200),
            payload)
        return payload['data'], text

    def overview(self, token):
        data, text = self.read('/user/income/', token)
        self.assertEqual(set(data), set(OVERVIEW))
        for name in OVERVIEW:
            # JSON numbers written with two decimals
            self.assertIsInstance(data[name], D, name)
            self.assertRegex(text, rf'"{name}": -?\d+\.\d\d[,}}]')
        return data

    def history(self, token, **query):
        data, _ = self.read('/user/moneyhistory/', token, query)
        self.assertEqual(set(data), {'total', 'list'})
        for row in data['list']:
            self.assertEqual(list(row), ROW)
            for name in ['id', 'money_type', 'status', 'create_time',
                    'settle_time']:
                self.assertIsInstance(row[name], int, name)
            self.assertIsInstance(row['count'], D)
            self.assertIsInstance(row['order_num'], str)
        return data

    # --- the tests ---

    def test_income_around_shanghai_midnight(self):
        """A line posted at 16:30 UTC counts in the next Shanghai day; a
        settlement is no income; my_info agrees"""
        buyer, token = self.member()
        self.at = BEFORE_MIDNIGHT
        late = self.buy(buyer)
        self.at = AFTER_MIDNIGHT
        early = self.buy(buyer, order_amount=23456)
        s1, s2 = self.share(late), self.share(early)
        self.assertTrue(s1 and s2)

        self.at = MORNING
        zero = D('0.00')
        self.assertEqual(self.overview(token), {
                'total_income': s1 + s2,
                'available_balance': zero,
                'frozen_balance': s1 + s2,
                'today_income': s2,
                'yesterday_income': s1,
                'month_income': s2,
                'total_withdraw': zero,
                'pending_income': s1 + s2,
                })
        info, _ = self.read('/user/my_info/', token)
        self.assertEqual((info['balance'], info['total_income'],
                info['today_income']), (zero, s1 + s2, s2))

        # PDD settles the first order: available, still the same income
        self.move(late, 5)
        overview = self.overview(token)
        self.assertEqual((overview['available_balance'],
                overview['pending_income'], overview['frozen_balance'],
                overview['total_income'], overview['today_income']),
            (s1, s2, s2, s1 + s2, s2))

        # the next Shanghai day starts at 16:00 UTC
        self.at = dt.datetime(2026, 12, 1, 16)
        overview = self.overview(token)
        self.assertEqual((overview['today_income'],
                overview['yesterday_income'], overview['month_income']),
            (zero, s2, s2))

        data, _ = self.read('/user/moneyhistory/year_history/', token,
            {'year': 2026})
        self.assertEqual(data['year'], 2026)
        self.assertEqual(data['total_income'], s1 + s2)
        self.assertEqual(data['months'], [
                {'month': m, 'income': {11: s1, 12: s2}.get(m, zero)}
                for m in range(1, 13)])
        data, _ = self.read('/user/moneyhistory/year_history/', token,
            {'year': '2025'})
        self.assertEqual((data['year'], data['total_income']), (2025, zero))
        self.assertEqual(len(data['months']), 12)

    def test_history_settlement_and_clawback(self):
        """Accruals 待结算, then 已结算 with the settlement's time; a
        withdrawal; a clawback after settlement: a 维权 row, the accrual
        已失效, and a negative available balance"""
        upline, upline_token = self.member()
        buyer, token = self.member(referrer=upline)
        self.at = dt.datetime(2026, 12, 1, 1)
        first = self.buy(buyer, order_amount=20000)
        self.at = dt.datetime(2026, 12, 1, 2)
        second = self.buy(buyer, order_amount=15000)
        s1, s2 = self.share(first), self.share(second)

        data = self.history(token)
        self.assertEqual(data['total'], 2)
        newest, oldest = data['list']
        self.assertEqual(
            [(r['order_num'], r['money_type'], r['money_type_name'],
                    r['count'], r['status'], r['status_name'],
                    r['create_time'], r['settle_time'])
                for r in data['list']], [
                (second['order_sn'], 2, '佣金', s2, 0, '待结算',
                    unix(dt.datetime(2026, 12, 1, 2)), 0),
                (first['order_sn'], 2, '佣金', s1, 0, '待结算',
                    unix(dt.datetime(2026, 12, 1, 1)), 0),
                ])
        # the upline's 提成 (10 % to a 普通用户 upline), not the buyer's rows
        team = self.history(upline_token)
        self.assertEqual([(r['order_num'], r['money_type'],
                    r['money_type_name'], r['count'])
                for r in team['list']], [
                (second['order_sn'], 3, '提成', self.share(second, D('0.10'))),
                (first['order_sn'], 3, '提成', self.share(first, D('0.10'))),
                ])

        # settled at 03:00: the same row, now 已结算 with the settle time
        settled_at = dt.datetime(2026, 12, 1, 3)
        self.move(first, 5, at=settled_at)
        data = self.history(token)
        self.assertEqual(data['total'], 2)
        row = data['list'][1]
        self.assertEqual((row['id'], row['status'], row['status_name'],
                row['settle_time'], row['count']),
            (oldest['id'], 1, '已结算', unix(settled_at), s1))
        self.assertEqual(data['list'][0]['status'], 0)

        # the member withdraws what is available
        self.at = dt.datetime(2026, 12, 1, 4)
        self.withdraw(buyer, s1, f'income-test-withdraw-{first["order_sn"]}')
        # PDD punishes the settled order (10): the member owes it
        self.move(first, 10, at=dt.datetime(2026, 12, 1, 5))
        overview = self.overview(token)
        self.assertEqual(overview['available_balance'], -s1)
        self.assertEqual(overview['total_income'], s2)
        self.assertEqual(overview['pending_income'], s2)
        self.assertEqual(overview['frozen_balance'], s2 + s1)

        data = self.history(token)
        self.assertEqual(data['total'], 4)
        self.assertEqual([(r['money_type_name'], r['order_num'], r['count'],
                    r['status_name'], r['create_time'])
                for r in data['list']], [
                ('维权', first['order_sn'], -s1, '已结算',
                    unix(dt.datetime(2026, 12, 1, 5))),
                ('取现', '', -s1, '已结算',
                    unix(dt.datetime(2026, 12, 1, 4))),
                ('佣金', second['order_sn'], s2, '待结算',
                    unix(dt.datetime(2026, 12, 1, 2))),
                ('佣金', first['order_sn'], s1, '已失效',
                    unix(dt.datetime(2026, 12, 1, 1))),
                ])
        self.assertEqual([r['money_type'] for r in data['list']],
            [5, 6, 2, 2])
        self.assertEqual(data['list'][3]['settle_time'], 0)
        # Σ rows of the income types is the total income
        self.assertEqual(sum((r['count'] for r in data['list']
                    if r['money_type'] != 6), D(0)), s2)

        # filters
        data = self.history(token, money_type=2)
        self.assertEqual([r['order_num'] for r in data['list']],
            [second['order_sn'], first['order_sn']])
        data = self.history(token, money_type='5')
        self.assertEqual((data['total'], data['list'][0]['count']), (1, -s1))
        self.assertEqual(self.history(token, money_type=1),
            {'total': 0, 'list': []})
        two = unix(dt.datetime(2026, 12, 1, 2))
        four = unix(dt.datetime(2026, 12, 1, 4))
        data = self.history(token, start_time=two, end_time=four)
        self.assertEqual([r['create_time'] for r in data['list']],
            [four, two])
        data = self.history(token, start_time=two + 1, end_time=four - 1)
        self.assertEqual(data, {'total': 0, 'list': []})
        data = self.history(token, end_time=two, money_type=2)
        self.assertEqual(data['total'], 2)

        # paging, newest first
        rows = self.history(token)['list']
        for page in [1, 2, 3, 4]:
            data = self.history(token, page=page, page_size=1)
            self.assertEqual(data['total'], 4)
            self.assertEqual(data['list'], [rows[page - 1]])
        data = self.history(token, page=2, page_size=3)
        self.assertEqual(data['list'], rows[3:])
        self.assertEqual(self.history(token, page=5, page_size=1)['list'], [])

    def test_order_detail_and_share(self):
        """The member's own orders that still earn: count, amount and their
        current share; the share shows in /tbk/tbkorder/"""
        upline, upline_token = self.member()
        buyer, token = self.member(referrer=upline)
        self.at = dt.datetime.fromtimestamp(int(self.sim.now()),
            dt.timezone.utc).replace(tzinfo=None)
        today = self.buy(buyer, order_amount=10000)
        settled = self.buy(buyer, order_amount=20000, status=5)
        failed = self.buy(buyer, order_amount=30000)
        self.move(failed, 4)
        old = self.buy(buyer, order_amount=40000)
        # paid 40 days before: not this month
        old_id = self.order_id(old)
        with committed() as transaction:
            Order = Pool().get('duoduo.pdd.order')
            order = Order(old_id)
            order.order_pay_time = self.at - dt.timedelta(days=40)
            order.save()
            transaction.commit()
        # the clock at the day the orders were paid (in Shanghai)
        today_id = self.order_id(today)
        with committed():
            pay_time = Pool().get('duoduo.pdd.order')(today_id).order_pay_time
        self.at = pay_time

        def detail(period):
            data, _ = self.read('/user/order_detail/', token,
                {'type': period})
            self.assertEqual(set(data),
                {'order_count', 'total_amount', 'total_commission'})
            self.assertIsInstance(data['order_count'], int)
            return data

        shares = {k: self.share(i) for k, i in [
                ('today', today), ('settled', settled), ('old', old)]}
        yuan = {k: (D(i['order_amount']) / 100).quantize(CENT)
            for k, i in [('today', today), ('settled', settled),
                ('old', old)]}
        self.assertEqual(detail('today'), {
                'order_count': 2,
                'total_amount': yuan['today'] + yuan['settled'],
                'total_commission': shares['today'] + shares['settled'],
                })
        self.assertEqual(detail('total'), {
                'order_count': 3,
                'total_amount': sum(yuan.values()),
                'total_commission': sum(shares.values()),
                })
        # the old order was paid in another month
        self.assertEqual(detail('month'), detail('today'))
        # the upline bought nothing
        data, _ = self.read('/user/order_detail/', upline_token,
            {'type': 'total'})
        self.assertEqual(data, {'order_count': 0,
                'total_amount': D('0.00'), 'total_commission': D('0.00')})

        data, _ = self.read('/tbk/tbkorder/', token, {'page_size': 10})
        rows = {r['trade_id']: r['pub_share_pre_fee'] for r in data['list']}
        self.assertEqual(rows, {
                today['order_sn']: shares['today'],
                settled['order_sn']: shares['settled'],
                old['order_sn']: shares['old'],
                failed['order_sn']: D('0.00'),
                })

    def test_no_token(self):
        for path in ROUTES:
            with self.subTest(path=path):
                self.assertReply(self.get(path, query={'type': 'total',
                            'year': 2026}), 401, 401)
                self.assertReply(self.get(path, token='not-a-token',
                        query={'type': 'total', 'year': 2026}), 401, 401)

    def test_bad_parameters(self):
        _, token = self.member()
        for path, query, name in [
                ('/user/moneyhistory/', {'money_type': 7}, 'money_type'),
                ('/user/moneyhistory/', {'money_type': 0}, 'money_type'),
                ('/user/moneyhistory/', {'money_type': 'x'}, 'money_type'),
                ('/user/moneyhistory/', {'start_time': 'today'},
                    'start_time'),
                ('/user/moneyhistory/', {'end_time': -1}, 'end_time'),
                ('/user/moneyhistory/', {'page': 0}, 'page'),
                ('/user/moneyhistory/', {'page_size': 101}, 'page_size'),
                ('/user/moneyhistory/year_history/', {}, 'year'),
                ('/user/moneyhistory/year_history/', {'year': 1999}, 'year'),
                ('/user/moneyhistory/year_history/', {'year': 2101}, 'year'),
                ('/user/moneyhistory/year_history/', {'year': '20x4'},
                    'year'),
                ('/user/order_detail/', {}, 'type'),
                ('/user/order_detail/', {'type': 'week'}, 'type'),
                ]:
            with self.subTest(path=path, query=query):
                payload = self.assertReply(
                    self.get(path, token=token, query=query), 400, 400)
                self.assertIn(name, payload['msg'])
                self.assertEqual(payload['data'], {})
        payload = self.assertReply(self.get('/user/moneyhistory/',
                token=token, query={'start_time': 1700000000,
                    'end_time': 1600000000}), 400, 400)
        self.assertEqual(payload['msg'], '开始时间不能晚于结束时间')
        payload = self.assertReply(self.get('/user/order_detail/',
                token=token, query={'type': 'week'}), 400, 400)
        self.assertEqual(payload['msg'],
            '参数“type”须为以下值之一：today/month/total')

    def test_new_member(self):
        "Nothing earned yet: zeros and an empty history"
        _, token = self.member()
        self.assertEqual(self.overview(token),
            dict.fromkeys(OVERVIEW, D('0.00')))
        self.assertEqual(self.history(token), {'total': 0, 'list': []})
        data, _ = self.read('/user/order_detail/', token, {'type': 'today'})
        self.assertEqual(data, {'order_count': 0,
                'total_amount': D('0.00'), 'total_commission': D('0.00')})


del ContractTestCase
