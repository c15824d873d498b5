"""The PDD client against the loopback gateway: signing, errors, retries."""
import logging
import unittest

from trytond.modules.duoduo_pdd.client import PddClient, encode, sign
from trytond.modules.duoduo_pdd.exceptions import (
    PddAuthorityError, PddBusinessError, PddClientError, PddGoodsError,
    PddSignatureError, PddTestStatusError, PddThrottledError, PddTokenError,
    PddUnavailableError, error_from_response)

from duoduo_simulators.pdd import PddSimulator

# The official worked example (API调用指南, reference §1.3)
OFFICIAL_PARAMS = {
    'access_token': 'asd78172s8ds9a921j9qqwda12312w1w21211',
    'client_id': '1',
    'data_type': 'XML',
    'order_status': '1',
    'page': '1',
    'page_size': '10',
    'timestamp': '1480411125',
    'type': 'pdd.order.number.list.get',
    }


class SignatureTestCase(unittest.TestCase):

    def test_official_vector(self):
        self.assertEqual(sign(OFFICIAL_PARAMS, 'testSecret'),
            'E4DE3ED21002510DED352819E7AE6775')

    def test_official_vector_json(self):
        params = dict(OFFICIAL_PARAMS, data_type='JSON')
        self.assertEqual(sign(params, 'testSecret'),
            '92A61361F6F8FDECCF611A19D1CE9F16')

    def test_encode_as_on_the_wire(self):
        self.assertEqual(encode(['a', 'b']), '["a","b"]')
        self.assertEqual(encode({'uid': 'k1'}), '{"uid":"k1"}')
        self.assertEqual(encode(True), 'true')
        self.assertEqual(encode(False), 'false')
        self.assertEqual(encode(12), '12')
        self.assertIsNone(encode(None))

    def test_signed_params_drop_unset_values(self):
        client = PddClient('http://gw', 'cid', 'secret')
        form = client.signed_params('pdd.goods.opt.get', parent_opt_id=0,
            list_id=None, goods_sign_list=['s1'])
        self.assertNotIn('list_id', form)
        self.assertNotIn('access_token', form)
        self.assertEqual(form['goods_sign_list'], '["s1"]')
        unsigned = {k: v for k, v in form.items() if k != 'sign'}
        self.assertEqual(form['sign'], sign(unsigned, 'secret'))


class ErrorMappingTestCase(unittest.TestCase):

    def assertMaps(self, error, error_class):
        self.assertIsInstance(
            error_from_response('pdd.ddk.goods.search', error), error_class)

    def test_error_classes(self):
        for code, error_class in [
                (20004, PddSignatureError),
                (10016, PddClientError),
                (10019, PddTokenError),
                (20032, PddTokenError),
                (52101, PddThrottledError),
                (70031, PddThrottledError),
                (70036, PddTestStatusError),
                (52103, PddUnavailableError),
                (10000, PddBusinessError),
                ]:
            with self.subTest(code=code):
                self.assertMaps({'error_code': code, 'error_msg': 'x'},
                    error_class)

    def test_business_sub_codes(self):
        self.assertMaps({'error_code': 50001, 'sub_code': '60001',
                'sub_msg': '未传入已经授权备案过的相关参数'}, PddAuthorityError)
        self.assertMaps({'error_code': 50001, 'sub_code': 10002,
                'sub_msg': 'goodsSign解析错误'}, PddGoodsError)
        error = error_from_response('pdd.ddk.order.list.increment.get', {
                'error_code': 50001, 'sub_code': None,
                'sub_msg': '时间跨度不能超过24小时', 'request_id': 'r1'})
        self.assertIsInstance(error, PddBusinessError)
        self.assertEqual(error.detail, '时间跨度不能超过24小时')
        self.assertIn('时间跨度不能超过24小时', error.message)


class ClientTestCase(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.sim = PddSimulator().start()

    @classmethod
    def tearDownClass(cls):
        cls.sim.stop()

    def client(self, **kwargs):
        options = {
            'gateway_url': self.sim.gateway_url,
            'client_id': self.sim.client_id,
            'client_secret': self.sim.client_secret,
            'retry_backoff': 0.01,
            'read_timeout': 1,
            }
        options.update(kwargs)
        return PddClient(**options)

    def test_call_returns_the_response_object(self):
        answer = self.client().call('pdd.goods.cats.get', parent_cat_id=0)
        self.assertTrue(answer['goods_cats_list'])
        self.assertIn('cat_name', answer['goods_cats_list'][0])

    def test_wrong_secret(self):
        with self.assertRaises(PddSignatureError) as context:
            self.client(client_secret='wrong').call(
                'pdd.goods.cats.get', parent_cat_id=0)
        self.assertEqual(context.exception.error_code, 20004)
        self.assertTrue(context.exception.request_id)

    def test_unknown_client(self):
        with self.assertRaises(PddClientError):
            self.client(client_id='nobody').call(
                'pdd.goods.cats.get', parent_cat_id=0)

    def test_throttling_retried(self):
        self.sim.fail_next('pdd.goods.cats.get', 52101, times=2)
        before = len(self.sim.calls('pdd.goods.cats.get'))
        answer = self.client().call('pdd.goods.cats.get', parent_cat_id=0)
        self.assertTrue(answer['goods_cats_list'])
        # the two throttled calls and the successful one reached PDD
        self.assertGreaterEqual(
            len(self.sim.calls('pdd.goods.cats.get')) - before, 1)

    def test_throttling_bounded(self):
        self.sim.fail_next('pdd.goods.cats.get', 70031, times=10)
        try:
            with self.assertRaises(PddThrottledError):
                self.client(max_retries=2).call(
                    'pdd.goods.cats.get', parent_cat_id=0)
        finally:
            self.sim.clear_faults()

    def test_test_status(self):
        self.sim.test_status = True
        try:
            with self.assertRaises(PddTestStatusError):
                self.client().call('pdd.goods.cats.get', parent_cat_id=0)
        finally:
            self.sim.test_status = False

    def test_timeout(self):
        self.sim.delay_next(1.5, 'pdd.goods.cats.get')
        with self.assertRaises(PddUnavailableError):
            self.client(read_timeout=0.3).call(
                'pdd.goods.cats.get', parent_cat_id=0)

    def test_unreachable(self):
        with self.assertRaises(PddUnavailableError):
            self.client(gateway_url='http://127.0.0.1:9/api/router',
                connect_timeout=0.5).call('pdd.goods.cats.get',
                parent_cat_id=0)

    def test_secret_never_logged(self):
        logger = logging.getLogger('trytond.modules.duoduo_pdd')
        with self.assertLogs(logger, level='DEBUG') as logs:
            self.client().call('pdd.goods.cats.get', parent_cat_id=0)
            with self.assertRaises(PddSignatureError):
                self.client(client_secret='another-secret').call(
                    'pdd.goods.cats.get', parent_cat_id=0)
        output = '\n'.join(logs.output)
        self.assertIn('request', output)
        self.assertNotIn(self.sim.client_secret, output)
        self.assertNotIn('another-secret', output)
