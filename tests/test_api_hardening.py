"""The member API's HTTP layer under abuse: tokens stay out of URLs and logs,
bad input and foreign requests answer the envelope (never a 500 or an HTML
page), lookups and SMS caps cannot be turned against members, and every
answer carries the security headers."""
import configparser
import http.client
import json
import pathlib
import threading

from werkzeug.serving import WSGIRequestHandler, make_server

from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction
from trytond.wsgi import app

from support import ContractTestCase, configured, last_code

ROOT = pathlib.Path(__file__).parents[1]
SECRET = 'S3cr3tT0kenValue'


class ApiHardeningTestCase(ContractTestCase):

    def run_as_staff(self, func):
        with Transaction().start(DB_NAME, 0) as transaction:
            result = func(Pool())
            transaction.commit()
        return result

    def set_settings(self, **values):
        "Change duoduo.configuration for the test, restored after it"
        def write(values):
            def func(pool):
                Configuration = pool.get('duoduo.configuration')
                config = Configuration(1)
                old = {name: getattr(config, name) for name in values}
                Configuration.write([config], values)
                return old
            return func
        old = self.run_as_staff(write(values))
        self.addCleanup(self.run_as_staff, write(old))

    def raw(self, method, path, headers=None, **kwargs):
        "The werkzeug response, whatever its type"
        kwargs.setdefault('environ_base', {'REMOTE_ADDR': self.remote_addr})
        return self.client().open(path, method=method, headers=headers or {},
            **kwargs)

    def assertEnvelope(self, response, status, code=None):
        self.assertEqual(response.status_code, status,
            response.get_data(as_text=True)[:300])
        self.assertEqual(response.mimetype, 'application/json',
            response.get_data(as_text=True)[:300])
        payload = json.loads(response.get_data())
        self.assertEqual(set(payload), {'code', 'msg', 'data'})
        self.assertEqual(payload['code'], status if code is None else code)
        self.assertEqual(payload['data'], {})
        return payload

    # --- 4. tokens in URLs ---

    def test_query_token_refused(self):
        token, _ = self.login('13900007001')
        self.assertReply(self.get('/user/my_info/', token=token), 200, 200)
        self.assertReply(self.get('/user/my_info/', query={'token': token}),
            401, 401)
        self.assertReply(self.post('/user/logout/', {},
                query={'token': token}), 401, 401)
        self.assertReply(self.post('/member/myTeam', {},
                query={'token': token}), 401, 401)

    def test_body_token_only_where_the_contract_puts_it(self):
        token, _ = self.login('13900007002')
        status, payload = self.post('/member/myTeam', {'token': token})
        self.assertEqual(status, 200)
        self.assertIn('team', payload)
        status, payload = self.post('/member/myTeam', form={'token': token})
        self.assertEqual(status, 200)
        # not on routes whose contract asks the header only
        self.assertReply(self.post('/user/change_info/', {
                    'token': token, 'type': 'nickname', 'value': 'abc'}),
            401, 401)

    def test_access_log_redacts_secrets(self):
        token, _ = self.login('13900007003')
        with self.assertLogs('trytond.wsgi', 'INFO') as logs:
            self.get('/user/my_info/', query={
                    'token': token, 'page': '2'})
            self.raw('GET', f'/pdd/oauth/callback/?code={SECRET}'
                f'&state=st{SECRET}')
        output = '\n'.join(logs.output)
        self.assertNotIn(token, output)
        self.assertNotIn(SECRET, output)
        self.assertIn('token=***', output)
        self.assertIn('code=***', output)
        self.assertIn('state=***', output)
        self.assertIn('page=2', output)

    def test_werkzeug_server_log_and_server_header(self):
        "The dev server (`trytond`) logs no secret and names no software"
        server = make_server('127.0.0.1', 0, app,
            request_handler=WSGIRequestHandler)
        thread = threading.Thread(target=server.handle_request)
        with self.assertLogs('werkzeug', 'INFO') as logs:
            thread.start()
            connection = http.client.HTTPConnection(
                '127.0.0.1', server.server_port, timeout=10)
            connection.request('GET',
                f'/no/such/?token={SECRET}&code={SECRET}&x=1')
            response = connection.getresponse()
            response.read()
            connection.close()
            thread.join(10)
        server.server_close()
        self.assertEqual(response.status, 404)
        output = '\n'.join(logs.output)
        self.assertNotIn(SECRET, output)
        self.assertIn('token=***&code=***&x=1', output)
        server_header = response.getheader('Server') or ''
        self.assertNotIn('Werkzeug', server_header)
        self.assertNotIn('Python', server_header)

    # --- 5. 500s from bad input ---

    def test_huge_url_id(self):
        token, _ = self.login('13900007004')
        response = self.raw('DELETE', '/tbk/usergood/99999999999999999999/',
            headers={'Authorization': f'Token {token}'})
        self.assertEnvelope(response, 400)

    def test_huge_page(self):
        token, _ = self.login('13900007005')
        for path in ['/tbk/usergood/', '/tbk/tbkorder/', '/tbk/uatmfavorite/',
                '/user/moneyhistory/', '/user/team_members/']:
            with self.subTest(path=path):
                self.assertReply(self.get(path, token=token,
                        query={'page': '999999999999999999'}), 400, 400)
                self.assertReply(self.get(path, token=token,
                        query={'page': '100001'}), 400, 400)
                self.assertReply(self.get(path, token=token,
                        query={'page': '3'}), 200, 200)

    def test_deep_json(self):
        body = '{"phone": ' + '[' * 1000 + ']' * 1000 + '}'
        response = self.raw('POST', '/user/check_tel/', data=body,
            content_type='application/json')
        self.assertEnvelope(response, 400)

    def test_lone_surrogate(self):
        token, _ = self.login('13900007006')
        for path, body in [
                ('/user/check_tel/', '{"phone": "\\ud800"}'),
                ('/user/send_tel_code/', '{"phone": "1390000\\ud800"}'),
                ('/user/change_info/',
                    '{"type": "nickname", "value": "a\\ud800b"}'),
                ('/tbk/usergood/', '{"goods_id": "\\udfff"}'),
                ]:
            with self.subTest(path=path):
                response = self.raw('POST', path, data=body,
                    content_type='application/json',
                    headers={'Authorization': f'Token {token}'})
                self.assertEnvelope(response, 400)

    # --- 6. the envelope on every API path ---

    def test_foreign_origin(self):
        token, _ = self.login('13900007007')
        response = self.raw('GET', '/user/my_info/', headers={
                'Origin': 'https://evil.example',
                'Authorization': f'Token {token}'})
        self.assertEnvelope(response, 403)
        self.assertNotIn('Access-Control-Allow-Origin', response.headers)
        # an origin the operator lists in [web] cors (a web view's page)
        with configured('web', cors='https://h5.example'):
            response = self.raw('GET', '/user/my_info/', headers={
                    'Origin': 'https://h5.example',
                    'Authorization': f'Token {token}'})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.headers['Access-Control-Allow-Origin'],
            'https://h5.example')
        # null origins (sandboxed frames, file://)
        response = self.raw('POST', '/user/check_tel/', headers={
                'Origin': 'null'}, json={'phone': '13900007007'})
        self.assertEnvelope(response, 403)

    def test_wrong_method(self):
        for method, path, allowed in [
                ('TRACE', '/user/login/', {'POST'}),
                ('PROPFIND', '/user/login/', {'POST'}),
                ('GET', '/user/login/', {'POST'}),
                ('PUT', '/tbk/usergood/', {'GET', 'HEAD', 'POST'}),
                ('GET', '/member/myTeam', {'POST'}),
                ]:
            with self.subTest(method=method, path=path):
                response = self.raw(method, path)
                self.assertEnvelope(response, 405)
                self.assertEqual(
                    set(response.headers['Allow'].split(', ')), allowed)
        # an unknown path is unknown whatever the method
        self.assertEnvelope(self.raw('TRACE', '/user/no_such_route/'), 404)
        self.assertEnvelope(self.raw('POST', '/tbk/'), 404)

    def test_huge_header_and_url(self):
        response = self.raw('GET', '/user/my_info/',
            headers={'X-Padding': 'x' * 1_000_000})
        self.assertEnvelope(response, 431)
        response = self.raw('GET', '/user/my_info/?q=' + 'x' * 100_000)
        self.assertEnvelope(response, 414)
        response = self.raw('GET', '/tbk/category/?q=' + 'x' * 100_000)
        self.assertEnvelope(response, 414)

    def test_too_large_body(self):
        response = self.raw('POST', '/user/check_tel/',
            data='{"phone": "' + 'x' * 3_000_000 + '"}',
            content_type='application/json')
        self.assertEnvelope(response, 413)

    # --- 7. no database list ---

    def test_shipped_config_lists_no_database(self):
        config = configparser.ConfigParser(interpolation=None)
        config.read(ROOT / 'trytond.conf', encoding='utf-8')
        self.assertFalse(config.getboolean('database', 'list'))

    # --- 8. check_tel ---

    def test_check_tel_rate_limit(self):
        self.set_settings(phone_lookup_limit_ip=3)
        for n in range(3):
            self.assertReply(self.post('/user/check_tel/', {
                        'phone': f'1390000710{n}'}), 200, 200)
        payload = self.assertReply(self.post('/user/check_tel/', {
                    'phone': '13900007104'}), 429, 429)
        self.assertTrue(payload['msg'])
        # another address still looks up
        self.remote_addr = '10.200.0.1'
        self.assertReply(self.post('/user/check_tel/', {
                    'phone': '13900007104'}), 200, 200)

    # --- 9. a phone's daily SMS cap ---

    def test_one_address_cannot_exhaust_a_phone(self):
        phone = '13900007201'
        owner_token, _ = self.login(phone)     # the owner's address
        owner = self.remote_addr
        self.assertReply(self.post('/user/logout/', {}, token=owner_token),
            200, 200)
        self.set_settings(sms_resend_interval=0, sms_daily_limit_phone=6,
            sms_daily_limit_phone_ip=3)
        self.remote_addr = '10.201.0.1'
        for _ in range(3):
            self.assertReply(self.post('/user/send_tel_code/', {
                        'phone': phone}), 200, 200)
        # this address has had its share of the phone's codes
        self.assertReply(self.post('/user/send_tel_code/', {
                    'phone': phone}), 429, 429)
        # others exhaust the rest of the phone's cap
        self.remote_addr = '10.201.0.2'
        for _ in range(2):
            self.assertReply(self.post('/user/send_tel_code/', {
                        'phone': phone}), 200, 200)
        self.remote_addr = '10.201.0.3'
        self.assertReply(self.post('/user/send_tel_code/', {
                    'phone': phone}), 429, 429)
        # the owner, from an address that logged in to the phone, still can
        self.remote_addr = owner
        self.assertReply(self.post('/user/send_tel_code/', {
                    'phone': phone}), 200, 200)
        self.assertReply(self.post('/user/login/', {
                    'phone': phone, 'code': last_code(phone)}), 200, 200)

    # --- 10. security headers ---

    def test_security_headers(self):
        for method, path in [('GET', '/user/my_info/'),
                ('POST', '/user/check_tel/'), ('GET', '/no/such/'),
                ('POST', f'/{DB_NAME}/')]:
            with self.subTest(path=path):
                response = self.raw(method, path, json={})
                headers = response.headers
                self.assertEqual(headers['X-Content-Type-Options'], 'nosniff')
                self.assertEqual(headers['X-Frame-Options'], 'DENY')
                self.assertIn("frame-ancestors 'none'",
                    headers['Content-Security-Policy'])
                self.assertEqual(headers['Referrer-Policy'], 'no-referrer')
                self.assertNotIn('Server', headers)

    # --- 11. echoed input ---

    def test_echoed_input_is_capped(self):
        long_value = '9' * 1_900_000
        for path, body in [
                ('/user/check_tel/', {'phone': long_value}),
                ('/user/send_tel_code/', {'phone': 'x' * 500}),
                ('/user/login/', {'phone': '13900007301', 'code': '123456',
                        'invitation_code': 'Q' * 500}),
                ]:
            with self.subTest(path=path):
                status, payload = self.post(path, body)
                self.assertEqual(status, 400)
                self.assertLessEqual(len(payload['msg']), 120)
                self.assertIn('…', payload['msg'])


del ContractTestCase
