"""schemathesis against docs/openapi.json, through the WSGI application (no
server): every documented operation, with data the document describes
(positive) and data it forbids (negative), a valid member token in the
Authorization header. No answer may be a 5xx or anything but JSON, and
every answer but /member/myTeam's success is the envelope.

Examples are bounded (MAX_EXAMPLES per operation and mode) to keep the
run near a minute; PDD and WeChat are the loopback simulators."""
import json
import pathlib

import schemathesis
from duoduo_simulators.pdd import PddSimulator
from duoduo_simulators.wechat import WechatSimulator
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction
from trytond.wsgi import app

from support import ContractTestCase, configured, simulated_pdd

DOCUMENT = pathlib.Path(__file__).parents[1] / 'docs' / 'openapi.json'
MAX_EXAMPLES = 12
# answers without the envelope on success (the contract's own shape)
BARE_SUCCESS = {('POST', '/member/myTeam'), ('GET', '/duo/banner'),
    ('POST', '/duo/banner')}


def takes_input(operation):
    "Whether the operation documents parameters, a body or a token"
    raw = operation.definition.raw
    security = raw.get('security', [])
    return bool(raw.get('parameters') or raw.get('requestBody')
        or any(requirement for requirement in security))


class SchemathesisTestCase(ContractTestCase):

    def setUp(self):
        super().setUp()
        self.enterContext(simulated_pdd(
                self.enterContext(PddSimulator(seed=7700))))
        wechat = self.enterContext(
            WechatSimulator('wx0123456789abcdef', 'appsecret'))
        self.enterContext(configured('duoduo_wechat',
                appid='wx0123456789abcdef', secret='appsecret',
                api_base=wechat.url))
        # lookups and SMS from the one test address are not refused
        with Transaction().start(DB_NAME, 0) as transaction:
            Configuration = Pool().get('duoduo.configuration')
            config = Configuration(1)
            saved = {name: getattr(config, name) for name in [
                    'phone_lookup_limit_ip', 'sms_daily_limit_ip',
                    'sms_daily_limit_phone_ip']}
            Configuration.write([config], {name: 100000 for name in saved})
            transaction.commit()

        def restore():
            with Transaction().start(DB_NAME, 0) as transaction:
                Configuration = Pool().get('duoduo.configuration')
                Configuration.write([Configuration(1)], saved)
                transaction.commit()
        self.addCleanup(restore)

    def fresh_token(self):
        with Transaction().start(DB_NAME, 0) as transaction:
            pool = Pool()
            Member = pool.get('duoduo.member')
            members = Member.search([('phone', '=', '13900009999')])
            if not members:
                members = Member.create([{'phone': '13900009999'}])
            token = pool.get('duoduo.member.token').issue(members[0])
            transaction.commit()
        return token

    def check(self, case, response):
        where = f"{case.method} {case.path} {case.path_parameters} " \
            f"{case.query} {str(case.body)[:200]}"
        self.assertLess(response.status_code, 500, where)
        headers = {k.lower(): v for k, v in response.headers.items()}
        content_type = headers.get('content-type', '')
        if isinstance(content_type, list):
            content_type = ', '.join(content_type)
        self.assertTrue(content_type.startswith('application/json'),
            f"{where}: {content_type} {response.text[:200]}")
        payload = json.loads(response.content)
        if ((case.method, case.path) in BARE_SUCCESS
                and response.status_code == 200):
            return
        self.assertIsInstance(payload, dict, where)
        self.assertEqual(set(payload), {'code', 'msg', 'data'}, where)

    def test_no_server_error_nor_html(self):
        schema = schemathesis.openapi.from_path(DOCUMENT)
        schema.app = app
        token = [self.fresh_token()]
        operations = [result.ok() for result in schema.get_all_operations()]
        self.assertGreater(len(operations), 20)
        for operation in operations:
            modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
            if not takes_input(operation):
                # nothing to make invalid (no parameter, body nor token)
                modes.remove(GenerationMode.NEGATIVE)
            for mode in modes:
                strategy = operation.as_strategy(generation_mode=mode)

                @settings(max_examples=MAX_EXAMPLES, deadline=None,
                    database=None, derandomize=True,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=list(HealthCheck))
                @given(case=strategy)
                def run(case):
                    response = case.call(headers={
                            'Authorization': f'Token {token[0]}'},
                        environ_base={'REMOTE_ADDR': self.remote_addr})
                    self.check(case, response)
                    if case.path == '/user/logout/':
                        token[0] = self.fresh_token()

                with self.subTest(operation=operation.label, mode=mode.name):
                    run()


del ContractTestCase
