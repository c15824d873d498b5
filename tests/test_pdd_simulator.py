"""The loopback PDD gateway behaves like the real one, spoken to over HTTP
with requests and a signer written here (not the project's client)."""
import os
import tempfile
import time
import unittest
from urllib.parse import parse_qs, urlsplit

import requests

from duoduo_simulators.pdd import (
    AUTHORITY_SUB_MSG, WE_APP_ID, PddSimulator, sign)
from trytond.modules.duoduo_pdd.client import encode as wire
from trytond.modules.duoduo_pdd.client import sign as client_sign
from trytond.modules.duoduo_pdd.tests.test_client import (
    OFFICIAL_PARAMS as OFFICIAL)

CLIENT_ID, SECRET = 'sim-client', 'sim-secret'
UID = '{"uid":"k3J9xQ2mPz7A"}'



def md5_sign(params, secret):
    "The production client's signature of params (any sign left out)"
    return client_sign(
        {k: v for k, v in params.items() if k != 'sign'}, secret)


class PddSimulatorTestCase(unittest.TestCase):

    def setUp(self):
        self.sim = self.enterContext(PddSimulator(CLIENT_ID, SECRET))
        self.http = self.enterContext(requests.Session())

    def signed(self, api, timestamp=None, secret=SECRET, **params):
        params = {k: wire(v) for k, v in params.items() if v is not None}
        params.setdefault('client_id', CLIENT_ID)
        params.update(type=api, data_type='JSON',
            timestamp=str(timestamp or int(time.time())))
        params['sign'] = md5_sign(params, secret)
        return params

    def call(self, api, method='POST', timeout=5, **params):
        params = self.signed(api, **params)
        if method == 'GET':
            response = self.http.get(self.sim.gateway_url, params=params,
                timeout=timeout)
        elif method == 'JSON':
            response = self.http.post(self.sim.gateway_url, json=params,
                timeout=timeout)
        else:
            response = self.http.post(self.sim.gateway_url, data=params,
                timeout=timeout)
        self.assertEqual(response.status_code, 200)
        return response.json()

    def ok(self, api, key, **params):
        body = self.call(api, **params)
        self.assertNotIn('error_response', body)
        self.assertTrue(body[key]['request_id'])
        return body[key]

    def error(self, api, **params):
        body = self.call(api, **params)
        error = body['error_response']
        self.assertEqual(set(error), {'error_code', 'error_msg',
                'sub_code', 'sub_msg', 'request_id'})
        self.assertTrue(error['request_id'])
        return error

    # -- gateway --

    def test_official_signature_vector(self):
        self.assertEqual(sign(OFFICIAL, 'testSecret'),
            'E4DE3ED21002510DED352819E7AE6775')
        self.assertEqual(sign(dict(OFFICIAL, data_type='JSON'), 'testSecret'),
            '92A61361F6F8FDECCF611A19D1CE9F16')
        # the gateway accepts the official request as of its timestamp:
        # the signature passes, the (shop) API is not one it knows
        with PddSimulator('1', 'testSecret') as sim:
            sim.wall_time = lambda: 1480411125
            params = dict(OFFICIAL, sign='E4DE3ED21002510DED352819E7AE6775')
            error = requests.get(sim.gateway_url, params=params,
                timeout=5).json()['error_response']
            self.assertEqual(error['error_code'], 10017)
            params['page'] = '2'
            error = requests.post(sim.gateway_url, data=params,
                timeout=5).json()['error_response']
            self.assertEqual(error['error_code'], 20004)
            self.assertEqual(sim.calls('pdd.order.number.list.get'), [])

    def test_common_parameter_errors(self):
        api = 'pdd.goods.opt.get'
        params = self.signed(api, parent_opt_id=0)
        params['sign'] = params['sign'][:-1] + (
            '0' if params['sign'][-1] != '0' else '1')
        body = self.http.post(self.sim.gateway_url, data=params).json()
        self.assertEqual(body['error_response']['error_code'], 20004)

        error = self.error(api, parent_opt_id=0,
            timestamp=int(time.time()) - 700)
        self.assertEqual(
            (error['error_code'], error['error_msg']),
            (10001, '公共参数错误:timestamp'))
        error = self.error(api, parent_opt_id=0, client_id='nobody')
        self.assertEqual(error['error_code'], 10016)
        error = self.error(api, parent_opt_id=0, secret='wrong')
        self.assertEqual(error['error_code'], 20004)
        error = self.error('pdd.ddk.no.such.api')
        self.assertEqual(error['error_code'], 10017)

        params = self.signed(api, parent_opt_id=0)
        del params['type']
        error = self.http.post(self.sim.gateway_url,
            data=params).json()['error_response']
        self.assertEqual((error['error_code'], error['error_msg']),
            (10001, '公共参数错误:type'))
        # nothing got through the checks
        self.assertEqual(self.sim.calls(api), [])

        # the three transports are accepted
        for method in ['POST', 'GET', 'JSON']:
            opts = self.ok(api, 'goods_opt_get_response', method=method,
                parent_opt_id=0)['goods_opt_list']
            self.assertEqual(len(opts), 10)
        self.assertEqual(len(self.sim.calls(api)), 3)

    def test_oauth_api_needs_token(self):
        error = self.error('pdd.ddk.oauth.goods.search', keyword='苹果')
        self.assertEqual(error['error_code'], 20032)

    # -- goods --

    def test_search(self):
        search = self.ok('pdd.ddk.goods.search', 'goods_search_response',
            keyword='连衣裙', page_size=5)
        self.assertTrue(search['list_id'] and search['search_id'])
        self.assertGreater(search['total_count'], 0)
        for item in search['goods_list']:
            # the keyword matches the title or the category
            self.assertIn('连衣裙', item['goods_name'] + item['opt_name'])
            self.assertIsInstance(item['goods_sign'], str)
            self.assertNotIn('goods_id', item)
            self.assertIsInstance(item['has_coupon'], bool)
            for field in ['min_group_price', 'min_normal_price',
                    'coupon_discount', 'promotion_rate', 'mall_id']:
                self.assertIsInstance(item[field], int)
            self.assertIsInstance(item['sales_tip'], str)

        # paging covers the matches once each
        everything = self.ok('pdd.ddk.goods.search', 'goods_search_response',
            page_size=100)
        self.assertEqual(everything['total_count'], len(self.sim.goods))
        page2 = self.ok('pdd.ddk.goods.search', 'goods_search_response',
            page=2, page_size=100, list_id=everything['list_id'])
        self.assertEqual(page2['list_id'], everything['list_id'])
        signs = [g['goods_sign'] for g in everything['goods_list']
            + page2['goods_list']]
        self.assertEqual(sorted(signs),
            sorted(g['goods_sign'] for g in self.sim.goods))

        # categories and tags match the trees
        cats = self.ok('pdd.goods.cats.get', 'goods_cats_get_response',
            parent_cat_id=0)['goods_cats_list']
        self.assertIn('女装', [c['cat_name'] for c in cats])
        women = next(c for c in cats if c['cat_name'] == '女装')
        children = self.ok('pdd.goods.cats.get', 'goods_cats_get_response',
            parent_cat_id=women['cat_id'])['goods_cats_list']
        self.assertTrue(children)
        self.assertEqual({c['level'] for c in children}, {2})
        found = self.ok('pdd.ddk.goods.search', 'goods_search_response',
            cat_id=children[0]['cat_id'])
        self.assertTrue(found['goods_list'])
        for item in found['goods_list']:
            self.assertEqual(item['cat_ids'],
                [women['cat_id'], children[0]['cat_id']])
        opts = self.ok('pdd.goods.opt.get', 'goods_opt_get_response',
            parent_opt_id=0)['goods_opt_list']
        found = self.ok('pdd.ddk.goods.search', 'goods_search_response',
            opt_id=opts[0]['opt_id'])
        self.assertTrue(found['goods_list'])
        self.assertTrue(all(opts[0]['opt_id'] in g['opt_ids']
                for g in found['goods_list']))

        # price sort (分) and the 1.9包邮 substitute
        prices = [g['min_group_price'] for g in self.ok(
                'pdd.ddk.goods.search', 'goods_search_response',
                sort_type=3, page_size=50)['goods_list']]
        self.assertEqual(prices, sorted(prices))
        cheap = self.ok('pdd.ddk.goods.search', 'goods_search_response',
            range_list=[{'range_id': 1, 'range_from': 1, 'range_to': 190}],
            sort_type=6)['goods_list']
        self.assertGreaterEqual(len(cheap), 5)
        for item in cheap:
            after = item['min_group_price'] - (
                item['coupon_discount'] if item['has_coupon'] else 0)
            self.assertLessEqual(after, 190)
        self.assertTrue(any(1 in g['service_tags'] for g in cheap))
        brand = self.ok('pdd.ddk.goods.search', 'goods_search_response',
            is_brand_goods=True)['goods_list']
        self.assertTrue(brand)
        self.assertTrue(all(g['activity_type'] == 15 and g['brand_name']
                for g in brand))
        coupons = self.ok('pdd.ddk.goods.search', 'goods_search_response',
            with_coupon=True, sort_type=10)['goods_list']
        self.assertTrue(all(g['has_coupon'] for g in coupons))
        by_sign = self.ok('pdd.ddk.goods.search', 'goods_search_response',
            goods_sign_list=[self.sim.goods[7]['goods_sign']])
        self.assertEqual(by_sign['total_count'], 1)

    def test_detail(self):
        goods_sign = self.sim.goods[3]['goods_sign']
        detail = self.ok('pdd.ddk.goods.detail', 'goods_detail_response',
            goods_sign=goods_sign)['goods_details']
        self.assertEqual(len(detail), 1)
        self.assertEqual(detail[0]['goods_sign'], goods_sign)
        self.assertGreaterEqual(len(detail[0]['goods_gallery_urls']), 2)
        for garbled in ['E9xyz_notasign', goods_sign[:-3]]:
            error = self.error('pdd.ddk.goods.detail', goods_sign=garbled)
            self.assertEqual((error['error_code'], error['sub_code']),
                (50001, '10002'))
            self.assertIn('goodsSign解析错误', error['sub_msg'])

    def test_recommend(self):
        body = self.ok('pdd.ddk.goods.recommend.get',
            'goods_basic_detail_response', limit=10)
        self.assertEqual(len(body['list']), 10)
        self.assertEqual(body['total'], len(self.sim.goods))
        self.assertTrue(body['list_id'] and body['search_id'])
        self.assertEqual(self.sim.calls('pdd.ddk.goods.recommend.get')[0].get(
                'channel_type'), None)
        top = self.ok('pdd.ddk.goods.recommend.get',
            'goods_basic_detail_response', channel_type=1, limit=10,
            offset=10)
        self.assertEqual(len(top['list']), 10)
        for retired in [0, 2, 8]:
            error = self.error('pdd.ddk.goods.recommend.get',
                channel_type=retired)
            self.assertEqual(error['error_code'], 50001)
            self.assertIn('channel_type', error['sub_msg'])

    # -- 备案, links, PIDs --

    def test_promotion_needs_authority(self):
        pid = self.sim.pid
        goods_sign = self.sim.goods[0]['goods_sign']
        error = self.error('pdd.ddk.goods.promotion.url.generate', p_id=pid,
            goods_sign_list=[goods_sign], custom_parameters=UID)
        self.assertEqual((error['error_code'], error['sub_code'],
                error['sub_msg']), (50001, '60001', AUTHORITY_SUB_MSG))
        self.assertEqual(self.ok('pdd.ddk.member.authority.query',
                'authority_query_response', pid=pid,
                custom_parameters=UID)['bind'], 0)

        links = self.ok('pdd.ddk.rp.prom.url.generate',
            'rp_promotion_url_generate_response', p_id_list=[pid],
            channel_type=10, custom_parameters=UID,
            generate_we_app=True)['url_list']
        self.assertEqual(links[0]['we_app_info']['app_id'], WE_APP_ID)
        page = self.http.get(links[0]['mobile_url'])
        self.assertEqual(page.status_code, 200)
        self.assertIn('授权备案成功', page.text)

        self.assertEqual(self.ok('pdd.ddk.member.authority.query',
                'authority_query_response', pid=pid,
                custom_parameters=UID)['bind'], 1)
        # another member of the same PID is not bound
        self.assertEqual(self.ok('pdd.ddk.member.authority.query',
                'authority_query_response', pid=pid,
                custom_parameters='{"uid":"other"}')['bind'], 0)
        urls = self.ok('pdd.ddk.goods.promotion.url.generate',
            'goods_promotion_url_generate_response', p_id=pid,
            goods_sign_list=[goods_sign], custom_parameters=UID,
            generate_we_app=True, generate_short_url=True)[
            'goods_promotion_url_list']
        self.assertEqual(len(urls), 1)
        info = urls[0]['we_app_info']
        self.assertEqual(info['app_id'], 'wx32540bd863b27570')
        self.assertEqual(info['title'], self.sim.goods[0]['goods_name'])
        query = parse_qs(urlsplit(info['page_path']).query)
        self.assertEqual(query['customParameters'], [UID])
        self.assertEqual(query['pid'], [pid])
        self.assertIn('customParameters', urls[0]['url'])
        self.assertTrue(urls[0]['short_url'].startswith('http'))
        received = self.sim.calls('pdd.ddk.goods.promotion.url.generate')
        self.assertEqual(received[-1]['custom_parameters'], UID)
        self.assertEqual(received[-1]['p_id'], pid)

        # buying on the landing page the link opens attributes the order
        landing = self.http.get(urls[0]['url'])
        self.assertIn(self.sim.goods[0]['goods_name'], landing.text)
        self.http.post(urls[0]['url'])
        order, = self.sim.orders.values()
        self.assertEqual((order['p_id'], order['custom_parameters']),
            (pid, UID))

        error = self.error('pdd.ddk.goods.promotion.url.generate',
            goods_sign_list=[goods_sign])
        self.assertEqual(error['error_code'], 10000)
        error = self.error('pdd.ddk.rp.prom.url.generate',
            p_id_list=[pid, pid], channel_type=10)
        self.assertEqual(error['error_code'], 50001)

    def test_pids(self):
        generated = self.ok('pdd.ddk.goods.pid.generate',
            'p_id_generate_response', number=3,
            p_id_name_list=['推手A', '推手B', '推手C'])
        self.assertEqual([p['pid_name'] for p in generated['p_id_list']],
            ['推手A', '推手B', '推手C'])
        for item in generated['p_id_list']:
            duo_id, number = item['p_id'].split('_')
            self.assertEqual(int(duo_id), self.sim.duo_id)
        self.assertEqual(generated['remain_pid_count'],
            self.sim.pid_limit - 4)
        query = self.ok('pdd.ddk.goods.pid.query', 'p_id_query_response',
            page=1, page_size=2)
        self.assertEqual(query['total_count'], 4)
        self.assertEqual(len(query['p_id_list']), 2)
        self.assertEqual(query['p_id_list'][0]['status'], 0)
        error = self.error('pdd.ddk.goods.pid.generate', number=101)
        self.assertEqual(error['error_code'], 50001)

    # -- orders --

    def test_order_window_limits(self):
        now = int(self.sim.now())
        error = self.error('pdd.ddk.order.list.increment.get',
            start_update_time=now - 86401, end_update_time=now)
        self.assertEqual((error['error_code'], error['sub_msg']),
            (50001, '时间跨度不能超过24小时'))
        error = self.error('pdd.ddk.order.list.increment.get',
            start_update_time=now - 91 * 86400,
            end_update_time=now - 91 * 86400 + 3600)
        self.assertEqual(error['error_code'], 50001)
        error = self.error('pdd.ddk.order.list.increment.get',
            start_update_time=now - 60)
        self.assertEqual(error['error_code'], 10000)

    def test_order_lifecycle(self):
        goods = self.sim.goods[5]
        order = self.sim.place_order(goods['goods_sign'], self.sim.pid,
            UID, quantity=2, schedule=[(600, 1), (1800, 2)])
        self.assertRegex(order['order_sn'], r'^\d{6}-\d{15}$')
        self.assertEqual(order['order_amount'],
            2 * PddSimulator.coupon_price(goods))
        self.assertEqual(order['promotion_amount'],
            order['order_amount'] * goods['promotion_rate'] // 1000)
        self.assertEqual((order['order_status'], order['order_status_desc']),
            (0, '已支付'))
        self.assertNotIn('order_group_success_time', order)
        placed = order['order_modify_at']

        self.sim.advance(700)
        order = self.sim.order(order['order_sn'])
        self.assertEqual(order['order_status'], 1)
        self.assertEqual(order['order_group_success_time'], placed + 600)
        self.sim.advance(1200)
        order = self.sim.set_order_status(order['order_sn'], 5)
        self.assertEqual(order['order_status_desc'], '已经结算')
        for field in ['order_receive_time', 'order_verify_time',
                'order_settle_time']:
            self.assertIn(field, order)
        self.assertEqual(order['order_receive_time'], placed + 1800)
        order = self.sim.set_order_status(order['order_sn'], 77)
        self.assertEqual(order['order_status'], 77)

        detail = self.ok('pdd.ddk.order.detail.get', 'order_detail_response',
            order_sn=order['order_sn'])
        self.assertEqual(detail['pid'], self.sim.pid)
        self.assertNotIn('p_id', detail)
        self.assertEqual(detail['custom_parameters'], UID)

    def test_increment_reverse_paging(self):
        start = int(self.sim.now())
        for i in range(35):
            self.sim.place_order(self.sim.goods[i]['goods_sign'],
                custom_parameters=f'{{"uid":"u{i}"}}')
            self.sim.advance(60)
        end = int(self.sim.now())
        first = self.ok('pdd.ddk.order.list.increment.get',
            'order_list_get_response', start_update_time=start,
            end_update_time=end, page_size=10)
        self.assertEqual(first['total_count'], 35)
        pages = -(-first['total_count'] // 10)
        seen = []
        for page in range(pages, 0, -1):
            body = self.ok('pdd.ddk.order.list.increment.get',
                'order_list_get_response', start_update_time=start,
                end_update_time=end, page=page, page_size=10,
                return_count=False)
            self.assertNotIn('total_count', body)
            seen.extend(o['order_sn'] for o in body['order_list'])
            # an order already read changes meanwhile: it moves out of
            # the window, nothing is skipped
            if page == pages:
                self.sim.set_order_status(body['order_list'][0]['order_sn'],
                    1, advance=end - int(self.sim.now()) + 5)
        self.assertEqual(len(seen), 35)
        self.assertEqual(set(seen), set(self.sim.orders))

    # -- OAuth --

    def test_oauth(self):
        redirect = 'https://duoduo.example.com/pdd/oauth/callback/'
        response = self.http.get(self.sim.authorize_url, params={
                'response_type': 'code', 'client_id': CLIENT_ID,
                'redirect_uri': redirect, 'state': 's1gned'},
            allow_redirects=False)
        self.assertEqual(response.status_code, 302)
        location = urlsplit(response.headers['Location'])
        self.assertEqual(f'{location.scheme}://{location.netloc}'
            f'{location.path}', redirect)
        query = parse_qs(location.query)
        self.assertEqual(query['state'], ['s1gned'])
        code = query['code'][0]

        token = self.ok('pdd.pop.auth.token.create',
            'pop_auth_token_create_response', code=code)
        self.assertEqual(token['owner_id'], self.sim.owner_id)
        self.assertEqual(token['expires_in'], 86400)
        self.assertEqual(token['refresh_token_expires_in'], 30 * 86400)
        self.assertEqual(token['refresh_token_expires_at'] - token[
                'expires_at'], 29 * 86400)
        self.assertIsInstance(token['scope'], list)
        # single use
        self.assertEqual(self.error('pdd.pop.auth.token.create',
                code=code)['error_code'], 50001)

        search = self.ok('pdd.ddk.oauth.goods.search',
            'goods_search_response', access_token=token['access_token'],
            keyword='苹果')
        self.assertTrue(search['goods_list'])

        self.sim.advance(86400 + 1)
        error = self.error('pdd.ddk.oauth.goods.search',
            access_token=token['access_token'])
        self.assertEqual(error['error_code'], 10019)
        fresh = self.ok('pdd.pop.auth.token.refresh',
            'pop_auth_token_refresh_response',
            refresh_token=token['refresh_token'])
        self.assertNotEqual(fresh['access_token'], token['access_token'])
        self.assertEqual(fresh['refresh_token_expires_at'],
            token['refresh_token_expires_at'])
        self.ok('pdd.ddk.oauth.goods.search', 'goods_search_response',
            access_token=fresh['access_token'])

        self.sim.expire_refresh(self.sim.owner_id)
        error = self.error('pdd.pop.auth.token.refresh',
            refresh_token=token['refresh_token'])
        self.assertEqual(error['error_code'], 10019)

        # a code is good for 10 minutes
        late = self.sim.issue_auth_code('42', '另一个推手')
        self.sim.advance(601)
        self.assertEqual(self.error('pdd.pop.auth.token.create',
                code=late)['error_code'], 50001)

    # -- faults --

    def test_faults(self):
        api = 'pdd.goods.cats.get'
        self.sim.fail_next(api, times=2)
        self.sim.fail_next('pdd.ddk.goods.search', 70031)
        for _ in range(2):
            error = self.error(api, parent_cat_id=0)
            self.assertEqual((error['error_code'], error['error_msg']),
                (52101, '当前接口被限流'))
        self.ok(api, 'goods_cats_get_response', parent_cat_id=0)
        self.assertEqual(len(self.sim.calls(api)), 3)
        error = self.error('pdd.ddk.goods.search')
        self.assertEqual((error['error_code'], error['error_msg']),
            (70031, '调用过于频繁'))

        self.sim.test_status = True
        self.assertEqual(self.error(api, parent_cat_id=0)['error_code'],
            70036)
        self.sim.test_status = False

        self.sim.delay_next(0.6, api)
        started = time.monotonic()
        with self.assertRaises(requests.exceptions.ReadTimeout):
            self.call(api, parent_cat_id=0, timeout=0.2)
        self.assertLess(time.monotonic() - started, 0.5)
        # other calls are not held back meanwhile
        self.ok(api, 'goods_cats_get_response', parent_cat_id=0)

    def test_control_endpoints(self):
        base = f'{self.sim.url}/_simulator'
        order = self.http.post(f'{base}/orders', json={
                'pid': self.sim.pid, 'custom_parameters': UID,
                'schedule': [[60, 1]]}).json()
        self.assertEqual(order['custom_parameters'], UID)
        self.http.post(f'{base}/advance', json={'seconds': 61})
        self.assertEqual(self.sim.order(order['order_sn'])['order_status'], 1)
        moved = self.http.post(
            f'{base}/orders/{order["order_sn"]}/status',
            json={'status': 2}).json()
        self.assertEqual(moved['order_status'], 2)
        state = self.http.get(f'{base}/state').json()
        self.assertEqual((state['orders'], state['orders_by_status']),
            (1, {'2': 1}))


class PddSimulatorStateTestCase(unittest.TestCase):
    """With a state file (the demo's --state), a restarted simulator still
    has the PIDs, 备案 bindings and orders made before"""
    signed = PddSimulatorTestCase.signed
    call = PddSimulatorTestCase.call
    ok = PddSimulatorTestCase.ok

    def setUp(self):
        directory = self.enterContext(tempfile.TemporaryDirectory())
        self.path = os.path.join(directory, 'pdd-simulator.json')
        self.http = self.enterContext(requests.Session())
        self.sim = None
        self.addCleanup(lambda: self.sim and self.sim.stop())

    def start(self):
        if self.sim:
            self.sim.stop()
        self.sim = PddSimulator(CLIENT_ID, SECRET)
        self.sim.load_state(self.path)
        self.sim.start()

    def test_restart_keeps_pids_bindings_orders(self):
        self.start()
        generated = self.ok('pdd.ddk.goods.pid.generate',
            'p_id_generate_response', number=1, p_id_name_list=['推手A'])
        pid = generated['p_id_list'][0]['p_id']
        bound = self.http.post(f'{self.sim.url}/_simulator/bind',
            json={'pid': pid, 'custom_parameters': UID}, timeout=5)
        self.assertEqual(bound.json(), {'bind': 1})
        order = self.http.post(f'{self.sim.url}/_simulator/orders',
            json={'pid': pid, 'custom_parameters': UID}, timeout=5).json()
        order_sn = order['order_sn']
        self.assertTrue(os.path.exists(self.path))

        self.start()
        query = self.ok('pdd.ddk.goods.pid.query', 'p_id_query_response',
            page=1, page_size=10)
        self.assertIn(('推手A', pid),
            [(p['pid_name'], p['p_id']) for p in query['p_id_list']])
        self.assertEqual(query['total_count'], 2)
        self.assertEqual(self.ok('pdd.ddk.member.authority.query',
                'authority_query_response', pid=pid,
                custom_parameters=UID)['bind'], 1)
        detail = self.ok('pdd.ddk.order.detail.get', 'order_detail_response',
            order_sn=order_sn)
        self.assertEqual(detail['order_sn'], order_sn)
        self.assertEqual(detail['order_amount'], order['order_amount'])
        self.assertEqual(self.sim.orders[order_sn]['p_id'], pid)
        # a new PID after the restart does not reuse a number
        again = self.ok('pdd.ddk.goods.pid.generate',
            'p_id_generate_response', number=1)['p_id_list'][0]['p_id']
        self.assertNotIn(again, [pid, self.sim.pid])

    def test_without_state_file_nothing_is_kept(self):
        "Tests and one-off runs keep their state in memory only"
        sim = self.enterContext(PddSimulator(CLIENT_ID, SECRET))
        sim.bind(sim.pid)
        self.assertIsNone(sim.state_path)
        self.assertFalse(os.path.exists(self.path))
