"""POST /user/wx_bind/: a member binds their WeChat account (openid) for
payouts, through wechatpy against the loopback WeChat simulator."""
from duoduo_simulators.wechat import WechatSimulator
from support import ContractTestCase, configured

APPID, SECRET = 'wx0123456789abcdef', 'appsecret-for-tests'


class WxBindTestCase(ContractTestCase):

    def setUp(self):
        super().setUp()
        self.simulator = self.enterContext(WechatSimulator(APPID, SECRET))
        self.enterContext(configured('duoduo_wechat', appid=APPID,
                secret=SECRET, api_base=self.simulator.url))

    def test_bind(self):
        token, user = self.login('13700000001')
        code = self.simulator.issue_code('o-openid-0001', unionid='u-0001')
        payload = self.assertReply(self.post('/user/wx_bind/', {
                    'code': code}, token=token), 200, 200)
        self.assertEqual(payload['data'], {'openid_bound': True})
        self.assertNotIn('session_key', str(payload))

        # the same code cannot be replayed
        payload = self.assertReply(self.post('/user/wx_bind/', {
                    'code': code}, token=token), 400, 400)
        self.assertIn('已被使用', payload['msg'])

    def test_bind_errors(self):
        token, _ = self.login('13700000002')
        payload = self.assertReply(self.post('/user/wx_bind/', {
                    'code': 'not-a-code'}, token=token), 400, 400)
        self.assertIn('无效', payload['msg'])
        self.assertReply(self.post('/user/wx_bind/', {}, token=token),
            400, 400)
        self.assertReply(self.post('/user/wx_bind/', {
                    'code': self.simulator.issue_code('o-x')}), 401, 401)
        self.simulator.fail_next(45011, 'api minute-quota reach limit')
        payload = self.assertReply(self.post('/user/wx_bind/', {
                    'code': self.simulator.issue_code('o-y')}, token=token),
            400, 400)
        self.assertIn('频繁', payload['msg'])

    def test_one_wechat_account_per_member(self):
        token_a, _ = self.login('13700000003')
        token_b, _ = self.login('13700000004')
        self.assertReply(self.post('/user/wx_bind/', {
                    'code': self.simulator.issue_code('o-shared')},
                token=token_a), 200, 200)
        self.assertReply(self.post('/user/wx_bind/', {
                    'code': self.simulator.issue_code('o-shared')},
                token=token_b), 400, 400)


del ContractTestCase
