"""The contract's 拼多多客模块 (/tbk/), through HTTP, against the loopback PDD
gateway: every route's happy and error paths, units, attribution, caching,
the 备案 flow, favourites and orders kept to their member."""
import json
import threading
import unittest
import urllib.request
from decimal import Decimal

from duoduo_simulators.pdd import PddSimulator
from trytond import backend
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction, TransactionError

from support import ContractTestCase, configured, simulated_pdd

SEARCH = 'pdd.ddk.goods.search'
DETAIL = 'pdd.ddk.goods.detail'
PROMOTE = 'pdd.ddk.goods.promotion.url.generate'
RECOMMEND = 'pdd.ddk.goods.recommend.get'
CATS = 'pdd.goods.cats.get'
AUTHORITY = 'pdd.ddk.member.authority.query'
GOODS_CACHES = ['_search_cache', '_detail_cache', '_activity_cache',
    '_category_cache']


def yuan(fen):
    return (Decimal(fen) / 100).quantize(Decimal('0.01'))


class TbkRoutesTestCase(ContractTestCase):
    _member_counter = 0

    @classmethod
    def setUpClass(cls):
        cls.sim = PddSimulator().start()
        try:
            super().setUpClass()
        except Exception:
            cls.sim.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.sim.stop()

    def setUp(self):
        super().setUp()
        sim = self.sim
        self.enterContext(simulated_pdd(sim, max_retries=2,
                read_timeout=1))
        sim.clear_faults()
        with sim.lock:
            sim.test_status = False
            sim.authority_required = {PROMOTE}
        self.clear_goods_caches()

    # --- helpers ---

    def run_as_staff(self, func):
        """Run func(pool) in a committed transaction, as the back office
        does (started again with the locks it asks, as the server does)"""
        extras = {}
        while True:
            with Transaction().start(DB_NAME, 0, **extras) as transaction:
                try:
                    result = func(Pool())
                except TransactionError as error:
                    transaction.rollback()
                    error.fix(extras)
                    continue
                transaction.commit()
                return result

    def clear_goods_caches(self):
        def clear(pool):
            Goods = pool.get('duoduo.pdd.goods')
            for name in GOODS_CACHES:
                getattr(Goods, name).cache.clear()
        self.run_as_staff(clear)

    def member(self):
        """A new logged-in member: {token, id, custom_parameters, uid}"""
        type(self)._member_counter += 1
        token, user = self.login(f'137{self._member_counter:08d}')

        def read(pool):
            member = pool.get('duoduo.member')(user['id'])
            return member.pdd_custom_parameters()
        custom_parameters = self.run_as_staff(read)
        return {
            'token': token,
            'id': user['id'],
            'custom_parameters': custom_parameters,
            'uid': json.loads(custom_parameters)['uid'],
            }

    def bound_member(self):
        "A member who completed 备案 on PDD"
        member = self.member()
        self.sim.bind(self.sim.pid, member['custom_parameters'])
        return member

    def raw(self, method, path, token=None, body=None, query=None):
        """(status, payload) with numbers read as Decimal and the text, to
        check how amounts are written"""
        headers = {'Authorization': f'Token {token}'} if token else {}
        response = self.client().open(path, method=method, headers=headers,
            json=body, query_string=query,
            environ_base={'REMOTE_ADDR': self.remote_addr})
        text = response.get_data(as_text=True)
        payload = json.loads(text, parse_float=Decimal)
        self.assertEqual(set(payload), {'code', 'msg', 'data'})
        return response.status_code, payload, text

    def api(self, token, **body):
        return self.post('/tbk/api/', body, token=token)

    def ok(self, result):
        return self.assertReply(result, 200, 200)['data']

    def calls(self, api_type):
        return self.sim.calls(api_type)

    def goods_with_coupon(self):
        "Goods with a coupon and a price in 分 that is not whole 角"
        return next(g for g in self.sim.goods if g['has_coupon']
            and g['min_group_price'] % 10)

    # --- POST /tbk/api/ type=search ---

    def test_search(self):
        member = self.member()
        goods = self.goods_with_coupon()
        keyword = goods['goods_name']
        status, payload, text = self.raw('POST', '/tbk/api/',
            member['token'], {'type': 'search', 'keyword': keyword,
                'page': 1, 'page_size': 5, 'sort_type': '0'})
        self.assertEqual((status, payload['code']), (200, 200), payload)
        self.assertEqual(payload['msg'], '成功')
        data = payload['data']
        self.assertEqual(set(data), {'total', 'list', 'list_id', 'search_id'})
        self.assertGreaterEqual(data['total'], 1)
        self.assertTrue(data['list_id'])
        self.assertTrue(data['search_id'])
        item = next(i for i in data['list']
            if i['goods_id'] == goods['goods_sign'])
        self.assertEqual(item, {
                'goods_id': goods['goods_sign'],
                'goods_name': goods['goods_name'],
                'goods_thumbnail_url': goods['goods_thumbnail_url'],
                'goods_image_url': goods['goods_image_url'],
                'min_group_price': yuan(goods['min_group_price']),
                'min_normal_price': yuan(goods['min_normal_price']),
                'has_coupon': True,
                'coupon_discount': yuan(goods['coupon_discount']),
                'coupon_min_order_amount': yuan(
                    goods['coupon_min_order_amount']),
                'promotion_rate': goods['promotion_rate'],
                'sales_tip': goods['sales_tip'],
                'mall_name': goods['mall_name'],
                })
        # 分 → 元 written with two decimals; ‰ kept as an integer
        self.assertIn(
            f'"min_group_price": {goods["min_group_price"] / 100:.2f}', text)
        self.assertIn(f'"promotion_rate": {goods["promotion_rate"]},', text)

        call, = [c for c in self.calls(SEARCH) if c.get('keyword') == keyword]
        self.assertEqual(call['pid'], self.sim.pid)
        self.assertEqual(call['custom_parameters'],
            member['custom_parameters'])
        self.assertEqual(call['custom_parameters'],
            '{"uid":"%s"}' % member['uid'])
        self.assertEqual((call['page'], call['page_size'], call['sort_type']),
            ('1', '5', '0'))

    def test_partner_pid(self):
        "A partner's own PID goes with their calls instead of the default"
        partner = self.member()
        p_id = f'{self.sim.duo_id}_77{partner["id"]:06d}'

        def assign(pool):
            Member = pool.get('duoduo.member')
            Level = pool.get('duoduo.member.level')
            Pid = pool.get('duoduo.pdd.pid')
            pid, = Pid.create([{'p_id': p_id, 'name': 'partner'}])
            level, = Level.search([('code', '=', 2)])
            Member.write([Member(partner['id'])], {
                    'level': level.id, 'pdd_pid': pid.id})
        self.run_as_staff(assign)
        self.sim.bind(p_id, partner['custom_parameters'])
        sign = self.sim.goods[7]['goods_sign']
        self.ok(self.api(partner['token'], type='search', keyword='夹克'))
        self.ok(self.api(partner['token'], type='detail', goods_id=sign))
        data = self.ok(self.api(partner['token'], type='promote',
                goods_id=sign))
        self.assertIn(p_id, data['goods_promotion_url_list'][0][
                'we_app_info']['page_path'])
        for api_type, name in [(SEARCH, 'pid'), (DETAIL, 'pid'),
                (PROMOTE, 'p_id'), (AUTHORITY, 'pid')]:
            call = self.calls(api_type)[-1]
            self.assertEqual((call[name], call['custom_parameters']),
                (p_id, partner['custom_parameters']), api_type)

    def test_search_paging_and_filters(self):
        member = self.member()
        cat_id = self.sim.goods[0]['cat_ids'][0]
        first = self.ok(self.api(member['token'], type='search',
                cat_id=cat_id, page_size=3, sort_type=6, with_coupon='true'))
        self.assertEqual(len(first['list']), 3)
        second = self.ok(self.api(member['token'], type='search',
                cat_id=str(cat_id), page=2, page_size=3, sort_type=6,
                with_coupon=True, list_id=first['list_id']))
        self.assertEqual(second['list_id'], first['list_id'])
        self.assertFalse({i['goods_id'] for i in first['list']}
            & {i['goods_id'] for i in second['list']})
        self.assertTrue(all(i['has_coupon']
                for i in first['list'] + second['list']))
        call = self.calls(SEARCH)[-1]
        self.assertEqual((call['cat_id'], call['page'], call['list_id'],
                call['with_coupon'], call['sort_type']),
            (str(cat_id), '2', first['list_id'], 'true', '6'))
        # form bodies work too
        status, payload = self.call('POST', '/tbk/api/',
            token=member['token'], form={'type': 'search', 'keyword': '苹果',
                'page_size': '2'})
        self.assertEqual((status, payload['code']), (200, 200), payload)

    def test_search_invalid_parameters(self):
        member = self.member()
        for body, name in [
                ({'page': 0}, 'page'),
                ({'page': 'abc'}, 'page'),
                ({'page': 1.5}, 'page'),
                ({'page_size': 0}, 'page_size'),
                ({'page_size': 101}, 'page_size'),
                ({'page_size': True}, 'page_size'),
                ({'sort_type': 99}, 'sort_type'),
                ({'cat_id': -1}, 'cat_id'),
                ({'with_coupon': 'maybe'}, 'with_coupon'),
                ({'keyword': ['a']}, 'keyword'),
                ]:
            with self.subTest(body=body):
                payload = self.assertReply(self.api(member['token'],
                        type='search', **body), 400, 400)
                self.assertIn(name, payload['msg'])
        payload = self.assertReply(self.api(member['token'], type='page'),
            400, 400)
        self.assertEqual(payload['msg'],
            '参数“type”须为以下值之一：search/detail/promote')
        payload = self.assertReply(self.api(member['token']), 400, 400)
        self.assertEqual(payload['msg'], '缺少参数“type”')
        payload = self.assertReply(self.api(member['token'], type='search',
                page_size=500), 400, 400)
        self.assertEqual(payload['msg'], '参数“page_size”须在1至100之间')

    def test_tbk_api_needs_token(self):
        for token in [None, 'not-a-token']:
            payload = self.assertReply(self.api(token, type='search',
                    keyword='苹果'), 401, 401)
            self.assertEqual(payload['data'], {})
        self.assertFalse([c for c in self.calls(SEARCH)
                if c.get('keyword') == '苹果' and 'custom_parameters' not in c])

    def test_search_cache_shared_between_members(self):
        first, second = self.member(), self.member()
        keyword = self.sim.goods[5]['goods_name']
        before = len(self.calls(SEARCH))
        one = self.ok(self.api(first['token'], type='search',
                keyword=keyword))
        self.assertEqual(len(self.calls(SEARCH)), before + 1)
        # the same search, by another member: no PDD call
        two = self.ok(self.api(second['token'], type='search',
                keyword=keyword))
        self.assertEqual(len(self.calls(SEARCH)), before + 1)
        self.assertEqual(one, two)
        # another page is another search
        self.ok(self.api(second['token'], type='search', keyword=keyword,
                page=2))
        self.assertEqual(len(self.calls(SEARCH)), before + 2)
        # a second detail of the same goods neither
        sign = self.sim.goods[5]['goods_sign']
        before = len(self.calls(DETAIL))
        self.ok(self.api(first['token'], type='detail', goods_id=sign))
        self.ok(self.api(second['token'], type='detail', goods_id=sign))
        self.assertEqual(len(self.calls(DETAIL)), before + 1)

    def test_search_cache_expires(self):
        member = self.member()

        def set_seconds(seconds):
            def write(pool):
                Configuration = pool.get('duoduo.pdd.configuration')
                Configuration.write([Configuration(1)],
                    {'search_cache_seconds': seconds})
            self.run_as_staff(write)
        set_seconds(0)
        try:
            before = len(self.calls(SEARCH))
            for _ in range(2):
                self.ok(self.api(member['token'], type='search',
                        keyword='纸巾'))
            self.assertEqual(len(self.calls(SEARCH)), before + 2)
        finally:
            set_seconds(120)

    # --- type=detail ---

    def test_detail(self):
        member = self.member()
        goods = self.goods_with_coupon()
        sign = goods['goods_sign']
        for goods_id_list in [json.dumps([sign]), [sign]]:
            self.clear_goods_caches()
            status, payload, text = self.raw('POST', '/tbk/api/',
                member['token'], {'type': 'detail',
                    'goods_id_list': goods_id_list, 'search_id': 'S1'})
            self.assertEqual((status, payload['code']), (200, 200), payload)
            detail, = payload['data']['goods_details']
            self.assertEqual(detail['goods_id'], sign)
            self.assertEqual(detail['goods_name'], goods['goods_name'])
            self.assertEqual(detail['min_group_price'],
                yuan(goods['min_group_price']))
            self.assertEqual(detail['coupon_discount'],
                yuan(goods['coupon_discount']))
            self.assertEqual(detail['promotion_rate'],
                goods['promotion_rate'])
            self.assertEqual(detail['coupon_start_time'],
                goods['coupon_start_time'])
            self.assertEqual(detail['coupon_end_time'],
                goods['coupon_end_time'])
            self.assertIsInstance(detail['mall_id'], str)
            self.assertEqual(detail['mall_id'], str(goods['mall_id']))
            self.assertIsInstance(detail['cat_id'], str)
            self.assertTrue(detail['cat_id'])
            self.assertTrue(detail['goods_gallery_urls'])
            self.assertIn('goods_desc', detail)
            self.assertIn(
                f'"coupon_discount": {goods["coupon_discount"] / 100:.2f}',
                text)
            call = self.calls(DETAIL)[-1]
            self.assertEqual((call['goods_sign'], call['search_id'],
                    call['pid'], call['custom_parameters']),
                (sign, 'S1', self.sim.pid, member['custom_parameters']))
        # goods_id instead of goods_id_list; several goods at once
        other = self.sim.goods[1]['goods_sign']
        data = self.ok(self.api(member['token'], type='detail',
                goods_id=sign))
        self.assertEqual(data['goods_details'][0]['goods_id'], sign)
        data = self.ok(self.api(member['token'], type='detail',
                goods_id_list=json.dumps([sign, other])))
        self.assertEqual([d['goods_id'] for d in data['goods_details']],
            [sign, other])

    def test_detail_unknown_goods(self):
        member = self.member()
        for goods_id_list in ['["no-such-goods"]',
                json.dumps([self.sim.goods[0]['goods_sign'], 'nope'])]:
            payload = self.assertReply(self.api(member['token'],
                    type='detail', goods_id_list=goods_id_list), 404, 3001)
            self.assertEqual(payload['msg'], '商品不存在')
        self.sim.bind(self.sim.pid, member['custom_parameters'])
        payload = self.assertReply(self.api(member['token'], type='promote',
                goods_id='no-such-goods'), 404, 3001)
        self.assertEqual(payload['msg'], '商品不存在')

    def test_detail_invalid_goods_id_list(self):
        member = self.member()
        payload = self.assertReply(self.api(member['token'], type='detail'),
            400, 400)
        self.assertEqual(payload['msg'], '缺少参数“goods_id_list”')
        for value in ['["a"', '[]', '[1.5]', '[null]', '[""]', [], {'a': 1},
                json.dumps([str(i) for i in range(11)]), 'x' * 200]:
            with self.subTest(value=value):
                payload = self.assertReply(self.api(member['token'],
                        type='detail', goods_id_list=value), 400, 400)
                self.assertIn('goods_id_list', payload['msg'])
        self.assertReply(self.api(member['token'], type='promote',
                goods_id_list='[]'), 400, 400)

    # --- type=promote ---

    def test_promote(self):
        member = self.bound_member()
        sign = self.sim.goods[2]['goods_sign']
        data = self.ok(self.api(member['token'], type='promote',
                goods_id_list=json.dumps([sign]), search_id='S2',
                generate_short_url=True))
        self.assertEqual(set(data), {'goods_promotion_url_list'})
        link, = data['goods_promotion_url_list']
        self.assertEqual(link['goods_id'], sign)
        self.assertTrue(link['mobile_url'])
        self.assertTrue(link['short_url'])
        self.assertEqual(link['we_app_info']['app_id'], 'wx32540bd863b27570')
        self.assertIn(sign, link['we_app_info']['page_path'])
        self.assertIn(member['uid'], link['we_app_info']['page_path'])
        call = self.calls(PROMOTE)[-1]
        self.assertEqual((call['p_id'], call['custom_parameters'],
                call['goods_sign_list'], call['search_id'],
                call['generate_we_app'], call['generate_short_url']),
            (self.sim.pid, member['custom_parameters'],
                json.dumps([sign]), 'S2', 'true', 'true'))
        # without short links
        data = self.ok(self.api(member['token'], type='promote',
                goods_id=sign, generate_short_url='false'))
        self.assertEqual(self.calls(PROMOTE)[-1]['generate_short_url'],
            'false')
        self.assertEqual(data['goods_promotion_url_list'][0]['short_url'],
            '')

    def test_promote_links_never_shared(self):
        first, second = self.bound_member(), self.bound_member()
        sign = self.sim.goods[3]['goods_sign']
        before = len(self.calls(PROMOTE))
        links = []
        for member in [first, second, first]:
            data = self.ok(self.api(member['token'], type='promote',
                    goods_id_list=json.dumps([sign])))
            links.append(data['goods_promotion_url_list'][0])
        # every request asked PDD: links are never cached
        self.assertEqual(len(self.calls(PROMOTE)), before + 3)
        self.assertIn(first['uid'], links[0]['we_app_info']['page_path'])
        self.assertNotIn(second['uid'], links[0]['we_app_info']['page_path'])
        self.assertIn(second['uid'], links[1]['we_app_info']['page_path'])
        self.assertNotIn(first['uid'], links[1]['we_app_info']['page_path'])
        self.assertIn(first['uid'], links[2]['we_app_info']['page_path'])

    def test_promote_needs_authority_then_works(self):
        member = self.member()
        sign = self.sim.goods[4]['goods_sign']
        before = len(self.calls(PROMOTE))
        data = self.ok(self.api(member['token'], type='promote',
                goods_id_list=json.dumps([sign])))
        self.assertEqual(data['goods_promotion_url_list'], [])
        self.assertIs(data['need_authority'], True)
        authority = data['authority']
        self.assertEqual(set(authority),
            {'mobile_url', 'short_url', 'we_app_info'})
        self.assertTrue(authority['mobile_url'])
        self.assertTrue(authority['we_app_info']['app_id'])
        self.assertTrue(authority['we_app_info']['page_path'])
        # checked first: no link asked
        self.assertEqual(len(self.calls(PROMOTE)), before)
        query = self.calls(AUTHORITY)[-1]
        self.assertEqual((query['pid'], query['custom_parameters']),
            (self.sim.pid, member['custom_parameters']))

        # the member opens the link and authorizes on PDD
        with urllib.request.urlopen(authority['mobile_url'], timeout=5) as r:
            self.assertEqual(r.status, 200)
        self.assertTrue(self.sim.is_bound(
                self.sim.pid, member['custom_parameters']))
        data = self.ok(self.api(member['token'], type='promote',
                goods_id_list=json.dumps([sign])))
        self.assertNotIn('need_authority', data)
        link, = data['goods_promotion_url_list']
        self.assertIn(member['uid'], link['we_app_info']['page_path'])
        # the positive answer is kept: no more checks
        checks = len(self.calls(AUTHORITY))
        self.ok(self.api(member['token'], type='promote', goods_id=sign))
        self.assertEqual(len(self.calls(AUTHORITY)), checks)

    def test_promote_60001_from_pdd(self):
        member = self.bound_member()
        sign = self.sim.goods[6]['goods_sign']
        self.ok(self.api(member['token'], type='promote', goods_id=sign))
        # PDD forgot the binding (or the check's answer was stale)
        self.sim.unbind(self.sim.pid, member['custom_parameters'])
        before = len(self.calls(PROMOTE))
        data = self.ok(self.api(member['token'], type='promote',
                goods_id=sign))
        self.assertEqual(len(self.calls(PROMOTE)), before + 1)
        self.assertEqual(data['goods_promotion_url_list'], [])
        self.assertIs(data['need_authority'], True)
        self.assertTrue(data['authority']['mobile_url'])
        # the stale positive answer was dropped: checked again next time
        checks = len(self.calls(AUTHORITY))
        data = self.ok(self.api(member['token'], type='promote',
                goods_id=sign))
        self.assertIs(data['need_authority'], True)
        self.assertEqual(len(self.calls(AUTHORITY)), checks + 1)
        self.assertEqual(len(self.calls(PROMOTE)), before + 1)

    def test_search_and_detail_60001(self):
        member = self.member()
        self.sim.authority_required = {SEARCH, DETAIL}
        data = self.ok(self.api(member['token'], type='search',
                keyword='芒果'))
        self.assertEqual((data['total'], data['list']), (0, []))
        self.assertIs(data['need_authority'], True)
        self.assertTrue(data['authority']['we_app_info']['page_path'])
        data = self.ok(self.api(member['token'], type='detail',
                goods_id=self.sim.goods[0]['goods_sign']))
        self.assertEqual(data['goods_details'], [])
        self.assertIs(data['need_authority'], True)
        # once bound, the same search answers
        self.sim.bind(self.sim.pid, member['custom_parameters'])
        data = self.ok(self.api(member['token'], type='search',
                keyword='芒果'))
        self.assertNotIn('need_authority', data)
        self.assertTrue(data['list'])

    # --- PDD failures ---

    def test_throttled(self):
        member = self.member()
        # throttled once: the client retries and gets through
        self.sim.fail_next(SEARCH, 52101)
        before = len(self.calls(SEARCH))
        self.ok(self.api(member['token'], type='search', keyword='口红'))
        self.assertEqual(len(self.calls(SEARCH)), before + 2)
        # throttled past the retries (max_retries=2: three tries)
        self.sim.fail_next(SEARCH, 70031, times=3)
        payload = self.assertReply(self.api(member['token'], type='search',
                keyword='面膜'), 429, 429)
        self.assertEqual(payload['msg'], '拼多多接口繁忙，请稍后再试')
        self.assertEqual(len(self.calls(SEARCH)), before + 5)

    def test_pdd_down(self):
        member = self.member()
        # read_timeout is 1 s
        self.sim.delay_next(2.5, SEARCH)
        payload = self.assertReply(self.api(member['token'], type='search',
                keyword='坚果'), 503, 503)
        self.assertEqual(payload['msg'], '商品服务暂时不可用，请稍后再试')
        for code in [52103, 50000, 70033]:
            self.sim.fail_next(DETAIL, code)
            payload = self.assertReply(self.api(member['token'],
                    type='detail', goods_id=self.sim.goods[0]['goods_sign']),
                503, 503)
            self.assertEqual(payload['msg'], '商品服务暂时不可用，请稍后再试')

    def test_pdd_setup_errors(self):
        member = self.member()
        self.sim.test_status = True
        payload = self.assertReply(self.api(member['token'], type='search',
                keyword='茶叶'), 503, 503)
        # the member reads a plain message; the detail is for staff's log
        self.assertEqual(payload['msg'], '商品服务暂时不可用，请稍后再试')
        self.assertNotIn('70036', payload['msg'])
        self.sim.test_status = False
        for code in [20004, 10016, 20005]:
            self.sim.fail_next(SEARCH, code)
            self.assertReply(self.api(member['token'], type='search',
                    keyword=f'饼干{code}'), 503, 503)
        with configured('duoduo_pdd', client_secret='wrong'):
            self.assertReply(self.api(member['token'], type='search',
                    keyword='饼干'), 503, 503)

    def test_pdd_business_error(self):
        member = self.member()
        self.sim.fail_next(SEARCH, 50001, sub_msg='关键词包含违禁内容')
        payload = self.assertReply(self.api(member['token'], type='search',
                keyword='违禁'), 400, 400)
        self.assertEqual(payload['msg'], '关键词包含违禁内容')

    # --- GET /tbk/category/ ---

    def test_category(self):
        expected = [c for c in self.sim.cats if c['parent_cat_id'] == 0]
        before = len(self.calls(CATS))
        status, payload, _ = self.raw('GET', '/tbk/category/')
        self.assertEqual((status, payload['code']), (200, 200))
        self.assertEqual(payload['data'], [{
                    'cat_id': str(c['cat_id']),
                    'cat_name': c['cat_name'],
                    'parent_id': '0',
                    } for c in expected])
        # cached: no second call, with or without a token
        member = self.member()
        self.ok(self.get('/tbk/category/', token=member['token']))
        self.ok(self.get('/tbk/category/', token='stale-token'))
        self.assertEqual(len(self.calls(CATS)), before + 1)
        self.assertEqual(self.calls(CATS)[-1]['parent_cat_id'], '0')
        # children
        parent = expected[0]['cat_id']
        children = self.ok(self.get('/tbk/category/',
                query={'parent_id': parent}))
        self.assertTrue(children)
        self.assertEqual({c['parent_id'] for c in children}, {str(parent)})
        payload = self.assertReply(self.get('/tbk/category/',
                query={'parent_id': -1}), 400, 400)
        self.assertEqual(payload['msg'], '参数“parent_id”不能小于0')
        self.assertReply(self.get('/tbk/category/',
                query={'parent_id': 'x'}), 400, 400)

    def test_category_pdd_errors(self):
        self.sim.fail_next(CATS, 52101, times=3)
        self.assertReply(self.get('/tbk/category/'), 429, 429)
        self.sim.fail_next(CATS, 52002)
        self.assertReply(self.get('/tbk/category/'), 503, 503)

    # --- GET /tbk/activitygoods/ ---

    def test_activity_types(self):
        # 0 1.9包邮: goods.search, 券后价 ≤ 1.90, by sales
        before = len(self.calls(SEARCH))
        status, payload, _ = self.raw('GET', '/tbk/activitygoods/',
            query={'activity_type': 0, 'page_size': 10})
        self.assertEqual((status, payload['code']), (200, 200), payload)
        data = payload['data']
        self.assertTrue(data['list'])
        self.assertEqual(data['total'], len([g for g in self.sim.goods
                    if 1 <= self.sim.coupon_price(g) <= 190]))
        for item in data['list']:
            goods = self.sim.goods_by_sign(item['goods_id'])
            self.assertLessEqual(self.sim.coupon_price(goods), 190)
            self.assertEqual(item['min_group_price'],
                yuan(goods['min_group_price']))
        call, = self.calls(SEARCH)[before:]
        self.assertEqual(json.loads(call['range_list']),
            [{'range_id': 1, 'range_from': 1, 'range_to': 190}])
        self.assertEqual((call['sort_type'], call['page_size']), ('6', '10'))
        # anonymous: the default PID, no custom_parameters
        self.assertEqual(call['pid'], self.sim.pid)
        self.assertNotIn('custom_parameters', call)

        # 1 今日爆款: recommend.get channel 1, offset from the page
        member = self.member()
        first = self.ok(self.get('/tbk/activitygoods/', token=member['token'],
                query={'activity_type': 1, 'page': 1, 'page_size': 4}))
        second = self.ok(self.get('/tbk/activitygoods/',
                token=member['token'],
                query={'activity_type': '1', 'page': '3', 'page_size': '4'}))
        self.assertEqual(len(first['list']), 4)
        self.assertFalse({i['goods_id'] for i in first['list']}
            & {i['goods_id'] for i in second['list']})
        self.assertEqual(first['total'], len(self.sim.goods))
        calls = self.calls(RECOMMEND)[-2:]
        self.assertEqual([(c['channel_type'], c['limit'], c['offset'])
                for c in calls], [('1', '4', '0'), ('1', '4', '8')])
        # with a token the calls carry the member's attribution
        self.assertEqual(calls[-1]['custom_parameters'],
            member['custom_parameters'])
        sales = [self.sim.goods_meta[i['goods_id']]['sales']
            for i in first['list']]
        self.assertEqual(sales, sorted(sales, reverse=True))

        # 2 品牌清仓: brand goods by sales
        data = self.ok(self.get('/tbk/activitygoods/',
                query={'activity_type': 2}))
        call = self.calls(SEARCH)[-1]
        self.assertEqual((call['is_brand_goods'], call['sort_type']),
            ('true', '6'))
        self.assertTrue(data['list'])
        self.assertTrue(all(self.sim.goods_meta[i['goods_id']]['is_brand']
                for i in data['list']))
        self.assertLessEqual(len(data['list']), 20)

    def test_activity_cached(self):
        before = len(self.calls(RECOMMEND))
        for token in [None, self.member()['token'], self.member()['token']]:
            self.ok(self.get('/tbk/activitygoods/', token=token,
                    query={'activity_type': 1, 'page_size': 7}))
        self.assertEqual(len(self.calls(RECOMMEND)), before + 1)

    def test_activity_invalid(self):
        payload = self.assertReply(self.get('/tbk/activitygoods/'), 400, 400)
        self.assertEqual(payload['msg'], '缺少参数“activity_type”')
        for query, name in [
                ({'activity_type': 3}, 'activity_type'),
                ({'activity_type': 'x'}, 'activity_type'),
                ({'activity_type': 0, 'page': 0}, 'page'),
                ({'activity_type': 0, 'page_size': 0}, 'page_size'),
                ({'activity_type': 0, 'page_size': 101}, 'page_size'),
                ]:
            with self.subTest(query=query):
                payload = self.assertReply(self.get('/tbk/activitygoods/',
                        query=query), 400, 400)
                self.assertIn(name, payload['msg'])
        payload = self.assertReply(self.get('/tbk/activitygoods/',
                query={'activity_type': 5}), 400, 400)
        self.assertEqual(payload['msg'],
            '参数“activity_type”须为以下值之一：0/1/2')

    def test_activity_pdd_errors(self):
        self.sim.fail_next(RECOMMEND, 52101, times=3)
        self.assertReply(self.get('/tbk/activitygoods/',
                query={'activity_type': 1, 'page_size': 9}), 429, 429)
        self.sim.test_status = True
        self.assertReply(self.get('/tbk/activitygoods/',
                query={'activity_type': 0, 'page_size': 9}), 503, 503)

    # --- GET /tbk/uatmfavorite/ (platform picks) ---

    def test_platform_picks(self):
        first, second, hidden = self.sim.goods[10:13]

        def create(pool):
            Pick = pool.get('duoduo.pdd.pick')
            Pick.delete(Pick.search([('active', 'in', [True, False])]))
            picks = Pick.create([
                    {'goods_sign': first['goods_sign'], 'sequence': 20},
                    {'goods_sign': second['goods_sign'], 'sequence': 10},
                    {'goods_sign': hidden['goods_sign'], 'sequence': 5,
                        'active': False},
                    ])
            return [(p.id, p.goods_name, p.min_group_price, p.snapshot_at)
                for p in picks]
        before = len(self.calls(DETAIL))
        created = self.run_as_staff(create)
        # the snapshot was read from PDD at creation, without attribution
        self.assertEqual(len(self.calls(DETAIL)), before + 3)
        call = self.calls(DETAIL)[-1]
        self.assertEqual(call['pid'], self.sim.pid)
        self.assertNotIn('custom_parameters', call)
        self.assertEqual(created[0][1:3],
            (first['goods_name'], yuan(first['min_group_price'])))
        self.assertTrue(created[0][3])

        before = len(self.calls(DETAIL))
        status, payload, text = self.raw('GET', '/tbk/uatmfavorite/')
        self.assertEqual((status, payload['code']), (200, 200))
        data = payload['data']
        self.assertEqual(data['total'], 2)
        self.assertEqual([i['goods_id'] for i in data['list']],
            [second['goods_sign'], first['goods_sign']])
        item = data['list'][1]
        self.assertEqual(item['id'], created[0][0])
        self.assertEqual(item['goods_name'], first['goods_name'])
        self.assertEqual(item['min_group_price'],
            yuan(first['min_group_price']))
        self.assertEqual(item['promotion_rate'], first['promotion_rate'])
        self.assertEqual(item['sales_tip'], first['sales_tip'])
        self.assertGreater(item['snapshot_time'], 0)
        self.assertIn(
            f'"min_group_price": {first["min_group_price"] / 100:.2f}', text)
        # served from the snapshot: no PDD call
        self.assertEqual(len(self.calls(DETAIL)), before)

        data = self.ok(self.get('/tbk/uatmfavorite/',
                query={'page': 2, 'page_size': 1}))
        self.assertEqual(data['total'], 2)
        self.assertEqual([i['goods_id'] for i in data['list']],
            [first['goods_sign']])
        self.assertReply(self.get('/tbk/uatmfavorite/',
                query={'page_size': 101}), 400, 400)

        # staff refresh the snapshot
        def refresh(pool):
            Pick = pool.get('duoduo.pdd.pick')
            pick = Pick(created[0][0])
            old = pick.snapshot_at
            Pick.refresh_snapshot([pick])
            return old, Pick(created[0][0]).snapshot_at
        old, new = self.run_as_staff(refresh)
        self.assertGreaterEqual(new, old)
        self.assertEqual(len(self.calls(DETAIL)), before + 1)

    def test_pick_of_unknown_goods(self):
        from trytond.modules.duoduo_pdd.exceptions import PddGoodsError

        def create(pool):
            Pick = pool.get('duoduo.pdd.pick')
            Pick.create([{'goods_sign': 'no-such-goods'}])
        with self.assertRaises(PddGoodsError):
            self.run_as_staff(create)

    # --- /tbk/usergood/ (favourites) ---

    def add_favourite(self, token, goods, **extra):
        return self.ok(self.post('/tbk/usergood/', {
                    'goods_id': goods['goods_sign'],
                    'goods_name': goods['goods_name'],
                    'goods_pic': goods['goods_thumbnail_url'],
                    'goods_price': goods['min_group_price'] / 100,
                    **extra}, token=token))['id']

    def favourite_rows(self, member_id):
        with Transaction().start(DB_NAME, 0, readonly=True):
            Favourite = Pool().get('duoduo.pdd.favourite')
            return [(f.goods_sign, f.goods_name, f.goods_price)
                for f in Favourite.search([('member', '=', member_id)])]

    def test_favourites(self):
        owner, other = self.member(), self.member()
        goods_a, goods_b = self.sim.goods[20:22]
        payload = self.assertReply(self.post('/tbk/usergood/', {
                    'goods_id': goods_a['goods_sign'],
                    'goods_name': goods_a['goods_name'],
                    'goods_pic': goods_a['goods_thumbnail_url'],
                    'goods_price': 99.0}, token=owner['token']), 200, 200)
        self.assertEqual(payload['msg'], '收藏成功')
        first_id = payload['data']['id']
        # adding again: the same row, its snapshot refreshed
        again = self.add_favourite(owner['token'], goods_a,
            goods_name='新名称', goods_price='88.5')
        self.assertEqual(again, first_id)
        self.assertEqual(self.favourite_rows(owner['id']),
            [(goods_a['goods_sign'], '新名称', Decimal('88.50'))])
        second_id = self.add_favourite(owner['token'], goods_b)
        self.add_favourite(other['token'], goods_a)

        status, payload, text = self.raw('GET', '/tbk/usergood/',
            owner['token'])
        self.assertEqual((status, payload['code']), (200, 200))
        data = payload['data']
        self.assertEqual(data['total'], 2)
        self.assertEqual([f['id'] for f in data['list']],
            [second_id, first_id])
        favourite = data['list'][1]
        self.assertEqual(set(favourite), {'id', 'goods_id', 'goods_name',
                'goods_pic', 'goods_price', 'create_time'})
        self.assertEqual((favourite['goods_id'], favourite['goods_name'],
                favourite['goods_price']),
            (goods_a['goods_sign'], '新名称', Decimal('88.50')))
        self.assertIn('"goods_price": 88.50', text)
        self.assertGreater(favourite['create_time'], 1600000000)
        # paging
        data = self.ok(self.get('/tbk/usergood/', token=owner['token'],
                query={'page': 2, 'page_size': 1}))
        self.assertEqual([f['id'] for f in data['list']], [first_id])

        # the other member sees only theirs, and cannot remove the owner's
        data = self.ok(self.get('/tbk/usergood/', token=other['token']))
        self.assertEqual(data['total'], 1)
        self.assertNotIn(first_id, [f['id'] for f in data['list']])
        status, payload = self.call('DELETE', f'/tbk/usergood/{first_id}/',
            token=other['token'])
        self.assertEqual((status, payload['code']), (404, 404))
        self.assertEqual(payload['msg'], '收藏不存在')
        self.assertEqual(len(self.favourite_rows(owner['id'])), 2)

        # the owner removes theirs; then it is unknown
        status, payload = self.call('DELETE', f'/tbk/usergood/{first_id}/',
            token=owner['token'])
        self.assertEqual((status, payload['code']), (200, 200), payload)
        self.assertEqual(payload['msg'], '已取消收藏')
        self.assertEqual([r[0] for r in self.favourite_rows(owner['id'])],
            [goods_b['goods_sign']])
        status, payload = self.call('DELETE', f'/tbk/usergood/{first_id}/',
            token=owner['token'])
        self.assertEqual((status, payload['code']), (404, 404))
        status, payload = self.call('DELETE', '/tbk/usergood/999999/',
            token=owner['token'])
        self.assertEqual((status, payload['code']), (404, 404))
        # the other member's row is untouched
        self.assertEqual(len(self.favourite_rows(other['id'])), 1)

    def test_favourites_errors(self):
        member = self.member()
        for method, path in [('GET', '/tbk/usergood/'),
                ('POST', '/tbk/usergood/'), ('DELETE', '/tbk/usergood/1/'),
                ('GET', '/tbk/tbkorder/')]:
            with self.subTest(method=method, path=path):
                status, payload = self.call(method, path)
                self.assertEqual((status, payload['code']), (401, 401))
        payload = self.assertReply(self.post('/tbk/usergood/',
                {'goods_name': 'x'}, token=member['token']), 400, 400)
        self.assertEqual(payload['msg'], '缺少参数“goods_id”')
        for price in [-1, 'abc', True, [1], 'NaN', '1e20']:
            with self.subTest(price=price):
                payload = self.assertReply(self.post('/tbk/usergood/', {
                            'goods_id': 'g', 'goods_price': price},
                        token=member['token']), 400, 400)
                self.assertIn('goods_price', payload['msg'])
        self.assertReply(self.post('/tbk/usergood/',
                {'goods_id': 'x' * 129}, token=member['token']), 400, 400)
        self.assertReply(self.get('/tbk/usergood/', token=member['token'],
                query={'page': 0}), 400, 400)
        self.assertEqual(self.favourite_rows(member['id']), [])

    @unittest.skipUnless(backend.name == 'postgresql',
        "needs concurrent writers (PostgreSQL)")
    def test_favourite_added_twice_at_once(self):
        member = self.member()
        for round_, goods in enumerate(self.sim.goods[30:33], 1):
            barrier = threading.Barrier(6)
            results = []

            def add(price):
                barrier.wait()
                results.append(self.post('/tbk/usergood/', {
                            'goods_id': goods['goods_sign'],
                            'goods_price': price}, token=member['token']))
            threads = [threading.Thread(target=add, args=(i,))
                for i in range(6)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            self.assertEqual([(s, p['code']) for s, p in results],
                [(200, 200)] * 6, results)
            self.assertEqual(len({p['data']['id'] for _, p in results}), 1)
            rows = self.favourite_rows(member['id'])
            self.assertEqual(len(rows), round_)
            # the last add's snapshot stands
            self.assertIn(rows[0][2], {Decimal(i) for i in range(6)})

    # --- GET /tbk/tbkorder/ ---

    def sync_orders(self):
        def sync(pool):
            Sync = pool.get('duoduo.pdd.order.sync')
            Sync.run_increment()
        self.run_as_staff(sync)

    def test_orders(self):
        owner, other = self.member(), self.member()
        sim = self.sim
        goods = sim.goods[40]
        placed = {
            'paid': sim.place_order(goods['goods_sign'], sim.pid,
                owner['custom_parameters'], quantity=2),
            'grouped': sim.place_order(goods['goods_sign'], sim.pid,
                owner['custom_parameters'], status=1),
            'received': sim.place_order(goods['goods_sign'], sim.pid,
                owner['custom_parameters'], status=2),
            'settled': sim.place_order(goods['goods_sign'], sim.pid,
                owner['custom_parameters'], status=5),
            'failed': sim.place_order(goods['goods_sign'], sim.pid,
                owner['custom_parameters'], status=4),
            'punished': sim.place_order(goods['goods_sign'], sim.pid,
                owner['custom_parameters'], status=10),
            'others': sim.place_order(goods['goods_sign'], sim.pid,
                other['custom_parameters']),
            }
        self.sync_orders()

        status, payload, text = self.raw('GET', '/tbk/tbkorder/',
            owner['token'], query={'page_size': 100})
        self.assertEqual((status, payload['code']), (200, 200), payload)
        data = payload['data']
        rows = {r['trade_id']: r for r in data['list']}
        mine = {k: v for k, v in placed.items() if k != 'others'}
        self.assertEqual(data['total'], len(mine))
        self.assertEqual(set(rows), {o['order_sn'] for o in mine.values()})
        expected = {'paid': 3, 'grouped': 3, 'received': 14, 'settled': 12,
            'failed': 13, 'punished': 13}
        self.assertEqual({k: rows[o['order_sn']]['tk_status']
                for k, o in mine.items()}, expected)
        row = rows[placed['paid']['order_sn']]
        self.assertEqual(set(row) >= {'id', 'trade_id', 'item_title',
                'pict_url', 'item_num', 'pay_price', 'commission',
                'pub_share_pre_fee', 'tk_status', 'create_time',
                'earning_time'}, True)
        self.assertEqual(row['item_num'], 2)
        self.assertEqual(row['item_title'], goods['goods_name'])
        self.assertEqual(row['pay_price'],
            yuan(placed['paid']['order_amount']))
        self.assertIn(f'"pay_price": '
            f'{placed["paid"]["order_amount"] / 100:.2f}', text)
        self.assertEqual(row['create_time'],
            placed['paid']['order_create_time'])

        # the other member sees only theirs
        data = self.ok(self.get('/tbk/tbkorder/', token=other['token']))
        self.assertEqual([r['trade_id'] for r in data['list']],
            [placed['others']['order_sn']])

        # filters and paging
        data = self.ok(self.get('/tbk/tbkorder/', token=owner['token'],
                query={'status': 13}))
        self.assertEqual({r['trade_id'] for r in data['list']},
            {placed['failed']['order_sn'], placed['punished']['order_sn']})
        data = self.ok(self.get('/tbk/tbkorder/', token=owner['token'],
                query={'status': '3', 'page': 1, 'page_size': 1}))
        self.assertEqual((data['total'], len(data['list'])), (2, 1))
        created = placed['paid']['order_create_time']
        data = self.ok(self.get('/tbk/tbkorder/', token=owner['token'],
                query={'start_time': created + 86400}))
        self.assertEqual(data, {'total': 0, 'list': []})
        data = self.ok(self.get('/tbk/tbkorder/', token=owner['token'],
                query={'start_time': created - 60,
                    'end_time': created + 86400}))
        self.assertEqual(data['total'], len(mine))

    def test_orders_invalid(self):
        member = self.member()
        for query, name in [
                ({'status': 1}, 'status'),
                ({'status': 'x'}, 'status'),
                ({'start_time': 'yesterday'}, 'start_time'),
                ({'end_time': -5}, 'end_time'),
                ({'page': 0}, 'page'),
                ({'page_size': 1000}, 'page_size'),
                ]:
            with self.subTest(query=query):
                payload = self.assertReply(self.get('/tbk/tbkorder/',
                        token=member['token'], query=query), 400, 400)
                self.assertIn(name, payload['msg'])
        payload = self.assertReply(self.get('/tbk/tbkorder/',
                token=member['token'],
                query={'start_time': 1700000000, 'end_time': 1600000000}),
            400, 400)
        self.assertEqual(payload['msg'], '开始时间不能晚于结束时间')
        data = self.ok(self.get('/tbk/tbkorder/', token=member['token']))
        self.assertEqual(data, {'total': 0, 'list': []})


del ContractTestCase
