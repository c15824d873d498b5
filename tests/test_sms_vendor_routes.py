"""A member logs in with a code delivered through a real SMS vendor's SDK
(Aliyun, against its loopback simulator), and sees a clear message when the
vendor refuses; staff keep the vendor's answer in the SMS log."""
from duoduo_simulators.sms_aliyun import AliyunSmsSimulator
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction

from support import ContractTestCase, configured

KEY_ID, SECRET = 'LTAI5tDuoduoRouteKey', 'aliyun-route-secret-0123456789'


class SmsVendorRoutesTestCase(ContractTestCase):

    def setUp(self):
        super().setUp()
        self.vendor = self.enterContext(AliyunSmsSimulator(KEY_ID, SECRET))
        self.enterContext(configured('duoduo', sms_backend='aliyun'))
        self.enterContext(configured('duoduo_sms_aliyun',
                access_key_id=KEY_ID, access_key_secret=SECRET,
                sign_name='多多客', template_code_login='SMS_465900001',
                template_code_change_phone='SMS_465900002',
                endpoint=self.vendor.netloc, protocol='http'))

    def sms_records(self, phone):
        with Transaction().start(DB_NAME, 0, readonly=True):
            SmsCode = Pool().get('duoduo.sms.code')
            return [(c.state, c.backend, c.vendor_status, c.vendor_id)
                for c in SmsCode.search([('phone', '=', phone)])]

    def test_login_with_a_code_from_the_vendor(self):
        self.assertReply(self.post('/user/send_tel_code/', {
                    'phone': '13600000001'}), 200, 200)
        code, = self.vendor.codes('13600000001')
        payload = self.assertReply(self.post('/user/login/', {
                    'phone': '13600000001', 'code': code}), 200, 200)
        self.assertTrue(payload['data']['registered'])
        (state, backend, status, vendor_id), = self.sms_records('13600000001')
        self.assertEqual((state, backend, status), ('used', 'aliyun', 'OK'))
        self.assertTrue(vendor_id)

    def test_vendor_refusal(self):
        self.vendor.fail_next('isv.MOBILE_NUMBER_ILLEGAL', '非法手机号')
        payload = self.assertReply(self.post('/user/send_tel_code/', {
                    'phone': '13600000002'}), 503, 503)
        self.assertEqual(payload['msg'], '验证码发送失败，请稍后再试')
        self.assertNotIn('Traceback', payload['msg'])
        # staff see what the vendor said; nothing usable was stored
        (state, _, status, _), = self.sms_records('13600000002')
        self.assertEqual((state, status),
            ('failed', 'isv.MOBILE_NUMBER_ILLEGAL'))
        self.assertReply(self.post('/user/login/', {
                    'phone': '13600000002', 'code': '123456'}), 400, 1001)

    def test_vendor_throttling(self):
        self.vendor.fail_next('isv.BUSINESS_LIMIT_CONTROL', '触发分钟级流控')
        payload = self.assertReply(self.post('/user/send_tel_code/', {
                    'phone': '13600000003'}), 429, 429)
        self.assertIn('频繁', payload['msg'])

    def test_vendor_unreachable(self):
        self.vendor.stop()
        self.assertReply(self.post('/user/send_tel_code/', {
                    'phone': '13600000004'}), 503, 503)
        (state, _, status, _), = self.sms_records('13600000004')
        self.assertEqual((state, status), ('failed', 'NETWORK_ERROR'))


del ContractTestCase
