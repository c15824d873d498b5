"""What the HTTP tests share: a member's-eye client of the contract."""
import contextlib
import datetime as dt
import json
import pathlib

from trytond.tests.test_tryton import RouteTestCase


ADDONS = pathlib.Path(__file__).parents[1] / 'addons'


@contextlib.contextmanager
def configured(section, **options):
    """trytond.conf options set for the block, restored after.

    Only config.set() clears trytond's cache of config.get(), so options
    are blanked with set() (the code reads blank as unset) and a section
    is removed only when it did not exist before."""
    from trytond import config
    created = not config.has_section(section)
    if created:
        config.add_section(section)
    saved = {name: config.get(section, name) for name in options}
    for name, value in options.items():
        config.set(section, name, str(value))
    try:
        yield
    finally:
        for name, value in saved.items():
            config.set(section, name, value if value is not None else '')
        if created:
            config.remove_section(section)


def simulated_pdd(sim, **options):
    """[duoduo_pdd] pointed at the PDD simulator sim for the block, with
    quick retries; options add or override settings"""
    settings = {
        'gateway_url': sim.gateway_url,
        'client_id': sim.client_id,
        'client_secret': sim.client_secret,
        'pid': sim.pid,
        'authorize_url': sim.authorize_url,
        'retry_backoff': 0.01,
        }
    settings.update(options)
    return configured('duoduo_pdd', **settings)


def sms_log_path():
    from trytond import config
    return config.get('duoduo', 'sms_log')


def last_code(phone, scene=None):
    "The last code the log SMS backend delivered to phone, as the member reads it"
    with open(sms_log_path(), encoding='utf-8') as log:
        for line in reversed(log.read().splitlines()):
            message = json.loads(line)
            if message['phone'] == phone and scene in (None, message['scene']):
                return message['code']
    raise AssertionError(f"no SMS sent to {phone}")


class ContractTestCase(RouteTestCase):
    "Talks to the contract's routes as the mini-program does"
    module = 'duoduo_api'
    _phone_counter = 0

    @classmethod
    def setUpDatabase(cls):
        # members read Chinese: load the translations `trytond-admin -l
        # zh_CN` loads in production
        from trytond.pool import Pool
        pool = Pool()
        Lang = pool.get('ir.lang')
        Translation = pool.get('ir.translation')
        Lang.write(Lang.search([('code', '=', 'zh_CN')]),
            {'translatable': True})
        for po in sorted(ADDONS.glob('*/locale/zh_CN.po')):
            Translation.translation_import('zh_CN', po.parents[1].name,
                [str(po)])

    def setUp(self):
        super().setUp()
        # SMS rate limits count by client address; one per test
        type(self)._phone_counter += 1
        self.remote_addr = f'10.0.{self._phone_counter // 250}.{self._phone_counter % 250 + 1}'

    def call(self, method, path, token=None, json_body=None, form=None,
            query=None, headers=None):
        headers = dict(headers or {})
        if token:
            headers['Authorization'] = f'Token {token}'
        kwargs = {'headers': headers,
            'environ_base': {'REMOTE_ADDR': self.remote_addr}}
        if json_body is not None:
            kwargs['json'] = json_body
        if form is not None:
            kwargs['data'] = form
        if query is not None:
            kwargs['query_string'] = query
        response = self.client().open(path, method=method, **kwargs)
        self.assertEqual(
            response.headers['Content-Type'].split(';')[0],
            'application/json', response.get_data(as_text=True))
        return response.status_code, json.loads(response.get_data())

    def post(self, path, body=None, **kwargs):
        return self.call('POST', path, json_body=body, **kwargs)

    def get(self, path, **kwargs):
        return self.call('GET', path, **kwargs)

    def assertReply(self, result, status, code):
        got_status, payload = result
        self.assertEqual((got_status, payload['code']), (status, code),
            payload)
        self.assertEqual(set(payload), {'code', 'msg', 'data'})
        self.assertIsInstance(payload['msg'], str)
        return payload

    def let_resend_interval_pass(self, phone):
        "As if a minute had passed since the last code sent to phone"
        from trytond.pool import Pool
        from trytond.tests.test_tryton import DB_NAME
        from trytond.transaction import Transaction
        with Transaction().start(DB_NAME, 0) as transaction:
            SmsCode = Pool().get('duoduo.sms.code')
            for code in SmsCode.search([('phone', '=', phone)]):
                code.sent_at -= dt.timedelta(seconds=61)
                code.save()
            transaction.commit()

    def login(self, phone, invitation_code=None):
        "Ask a code, read it from the SMS, log in; returns (token, user)"
        self.let_resend_interval_pass(phone)
        self.assertReply(
            self.post('/user/send_tel_code/', {'phone': phone}), 200, 200)
        body = {'phone': phone, 'code': last_code(phone, 'login')}
        if invitation_code:
            body['invitation_code'] = invitation_code
        payload = self.assertReply(self.post('/user/login/', body), 200, 200)
        return payload['data']['token'], payload['data']['user']


