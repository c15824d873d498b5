"""The contract's user module (用户模块), through HTTP, as the mini-program
uses it: every route's happy path and every error code it can give."""
import datetime as dt
import json

from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction

from support import ContractTestCase, last_code, sms_log_path


class UserRoutesTestCase(ContractTestCase):

    def run_as_staff(self, func):
        "Run func(pool) in a committed transaction, as the back office does"
        with Transaction().start(DB_NAME, 0) as transaction:
            result = func(Pool())
            transaction.commit()
        return result

    def member(self, phone):
        def read(pool):
            Member = pool.get('duoduo.member')
            member, = Member.search([('phone', '=', phone)])
            return member.id
        return self.run_as_staff(read)

    # --- send_tel_code ---

    def test_send_tel_code(self):
        payload = self.assertReply(
            self.post('/user/send_tel_code/', {'phone': '13900000001'}),
            200, 200)
        self.assertEqual(payload['data'], {'expire_time': 300})
        self.assertEqual(payload['msg'], '验证码已发送')
        code = last_code('13900000001')
        self.assertRegex(code, r'^\d{6}$')
        # the code reaches the member by SMS, never in the answer
        self.assertNotIn(code, json.dumps(payload))

    def test_send_tel_code_form_body(self):
        status, payload = self.call('POST', '/user/send_tel_code/',
            form={'phone': '+86 139 0000 0002'})
        self.assertEqual((status, payload['code']), (200, 200))
        last_code('13900000002')

    def test_send_tel_code_missing_or_bad_phone(self):
        payload = self.assertReply(
            self.post('/user/send_tel_code/', {}), 400, 400)
        self.assertIn('phone', payload['msg'])
        for bad in ['12345', '1390000000', '14000000000', 'abc', '+1 202 555 0101']:
            payload = self.assertReply(
                self.post('/user/send_tel_code/', {'phone': bad}), 400, 400)
            self.assertIn(bad, payload['msg'])

    def test_send_tel_code_malformed_json(self):
        status, payload = self.call('POST', '/user/send_tel_code/',
            headers={'Content-Type': 'application/json'},
            form=None, json_body=None)
        # an empty body is missing its parameter
        self.assertEqual((status, payload['code']), (400, 400))
        response = self.client().post('/user/send_tel_code/',
            data='{"phone": ', content_type='application/json')
        self.assertEqual(response.status_code, 400)
        payload = json.loads(response.get_data())
        self.assertEqual(payload['code'], 400)
        self.assertEqual(payload['msg'], '请求数据不是有效的JSON对象')
        response = self.client().post('/user/send_tel_code/',
            data='["13900000003"]', content_type='application/json')
        self.assertEqual(response.status_code, 400)

    def test_send_tel_code_resend_limit(self):
        self.post('/user/send_tel_code/', {'phone': '13900000004'})
        first = last_code('13900000004')
        payload = self.assertReply(
            self.post('/user/send_tel_code/', {'phone': '13900000004'}),
            429, 429)
        self.assertIn('60', payload['msg'])
        self.assertEqual(last_code('13900000004'), first)

    def test_send_tel_code_daily_caps(self):
        def set_limits(pool):
            Configuration = pool.get('duoduo.configuration')
            Configuration.write([Configuration(1)], {
                    'sms_resend_interval': 0,
                    'sms_daily_limit_phone': 2,
                    'sms_daily_limit_ip': 3,
                    })

        def restore(pool):
            Configuration = pool.get('duoduo.configuration')
            Configuration.write([Configuration(1)], {
                    'sms_resend_interval': 60,
                    'sms_daily_limit_phone': 10,
                    'sms_daily_limit_ip': 50,
                    })
        self.run_as_staff(set_limits)
        try:
            for _ in range(2):
                self.assertReply(self.post(
                        '/user/send_tel_code/', {'phone': '13900000005'}),
                    200, 200)
            self.assertReply(self.post(
                    '/user/send_tel_code/', {'phone': '13900000005'}),
                429, 429)
            # the third code from this address, to another phone
            self.assertReply(self.post(
                    '/user/send_tel_code/', {'phone': '13900000006'}),
                200, 200)
            self.assertReply(self.post(
                    '/user/send_tel_code/', {'phone': '13900000007'}),
                429, 429)
        finally:
            self.run_as_staff(restore)

    # --- login / register ---

    def test_login_registers_then_logs_in(self):
        self.post('/user/send_tel_code/', {'phone': '13900000010'})
        payload = self.assertReply(self.post('/user/login/', {
                    'phone': '13900000010',
                    'code': last_code('13900000010'),
                    }), 200, 200)
        data = payload['data']
        self.assertTrue(data['registered'])
        self.assertGreaterEqual(len(data['token']), 43)
        user = data['user']
        self.assertEqual(set(user), {'id', 'username', 'nickname', 'avatar',
                'invitation_code', 'level_id', 'relation_id'})
        self.assertEqual(user['username'], '13900000010')
        self.assertEqual(user['level_id'], 0)
        self.assertIsInstance(user['id'], int)
        self.assertRegex(user['invitation_code'],
            r'^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{6}$')

        token, again = self.login('13900000010')
        self.assertEqual(again['id'], user['id'])
        self.assertNotEqual(token, data['token'])

    def test_register_is_login(self):
        self.post('/user/send_tel_code/', {'phone': '13900000011'})
        payload = self.assertReply(self.post('/user/register/', {
                    'phone': '13900000011',
                    'code': last_code('13900000011'),
                    }), 200, 200)
        self.assertTrue(payload['data']['registered'])

    def test_login_wrong_code(self):
        self.post('/user/send_tel_code/', {'phone': '13900000012'})
        code = last_code('13900000012')
        wrong = '%06d' % ((int(code) + 1) % 1000000)
        payload = self.assertReply(self.post('/user/login/', {
                    'phone': '13900000012', 'code': wrong}), 400, 1001)
        self.assertEqual(payload['msg'], '验证码错误或已过期')
        # a code that was never sent
        self.assertReply(self.post('/user/login/', {
                    'phone': '13900000013', 'code': code}), 400, 1001)
        # the right code still works after one wrong try
        self.assertReply(self.post('/user/login/', {
                    'phone': '13900000012', 'code': code}), 200, 200)
        # and only once
        self.assertReply(self.post('/user/login/', {
                    'phone': '13900000012', 'code': code}), 400, 1001)

    def test_a_new_code_replaces_the_previous_one(self):
        self.post('/user/send_tel_code/', {'phone': '13900000017'})
        first = last_code('13900000017')
        self.let_resend_interval_pass('13900000017')
        self.post('/user/send_tel_code/', {'phone': '13900000017'})
        second = last_code('13900000017')
        if first != second:
            self.assertReply(self.post('/user/login/', {
                        'phone': '13900000017', 'code': first}), 400, 1001)
        self.assertReply(self.post('/user/login/', {
                    'phone': '13900000017', 'code': second}), 200, 200)

    def test_five_wrong_tries_invalidate_the_code(self):
        self.post('/user/send_tel_code/', {'phone': '13900000014'})
        code = last_code('13900000014')
        wrong = '%06d' % ((int(code) + 1) % 1000000)
        for _ in range(5):
            self.assertReply(self.post('/user/login/', {
                        'phone': '13900000014', 'code': wrong}), 400, 1001)
        self.assertReply(self.post('/user/login/', {
                    'phone': '13900000014', 'code': code}), 400, 1001)

    def test_expired_code(self):
        self.post('/user/send_tel_code/', {'phone': '13900000015'})

        def expire(pool):
            SmsCode = pool.get('duoduo.sms.code')
            codes = SmsCode.search([('phone', '=', '13900000015')])
            SmsCode.write(codes, {
                    'expires_at': dt.datetime.now() - dt.timedelta(seconds=1)})
        self.run_as_staff(expire)
        self.assertReply(self.post('/user/login/', {
                    'phone': '13900000015',
                    'code': last_code('13900000015')}), 400, 1001)

    def test_code_is_bound_to_its_scene(self):
        token, _ = self.login('13900000016')
        self.let_resend_interval_pass('13900000016')
        self.assertReply(self.post('/user/send_tel_code/', {
                    'phone': '13900000016', 'scene': 'change_phone'},
                token=token), 200, 200)
        self.assertReply(self.post('/user/login/', {
                    'phone': '13900000016',
                    'code': last_code('13900000016', 'change_phone')}),
            400, 1001)

    def test_invitation_code(self):
        _, inviter = self.login('13900000020')
        _, invitee = self.login(
            '13900000021', invitation_code=inviter['invitation_code'].lower())

        def referrer(pool):
            Member = pool.get('duoduo.member')
            return Member(invitee['id']).referrer.id
        self.assertEqual(self.run_as_staff(referrer), inviter['id'])

        # the inviter is set at registration only
        _, other = self.login('13900000022')
        self.login('13900000021', invitation_code=other['invitation_code'])
        self.assertEqual(self.run_as_staff(referrer), inviter['id'])

    def test_unknown_invitation_code(self):
        self.post('/user/send_tel_code/', {'phone': '13900000023'})
        code = last_code('13900000023')
        payload = self.assertReply(self.post('/user/login/', {
                    'phone': '13900000023', 'code': code,
                    'invitation_code': 'ZZZZZZ'}), 400, 1003)
        self.assertIn('ZZZZZZ', payload['msg'])
        # nobody was registered, and the code was not spent
        self.assertReply(self.post('/user/check_tel/', {
                    'phone': '13900000023'}), 200, 200)
        payload = self.assertReply(self.post('/user/login/', {
                    'phone': '13900000023', 'code': code}), 200, 200)
        self.assertTrue(payload['data']['registered'])

    def test_login_missing_parameters(self):
        payload = self.assertReply(
            self.post('/user/login/', {'phone': '13900000024'}), 400, 400)
        self.assertIn('code', payload['msg'])

    # --- my_info ---

    def test_my_info(self):
        token, user = self.login('13900000030')
        self.login('13900000031', invitation_code=user['invitation_code'])
        status, payload = self.get('/user/my_info/', token=token)
        self.assertEqual((status, payload['code']), (200, 200))
        data = payload['data']
        expected_types = {
            'id': int, 'username': str, 'nickname': str, 'avatar': str,
            'invitation_code': str, 'level_id': int, 'level_name': str,
            'alipay_account': str, 'rel_name': str, 'reg_time': int,
            'city_name': str, 'district_name': str, 'balance': float,
            'total_income': float, 'today_income': float, 'team_count': int,
            }
        self.assertEqual(set(data), set(expected_types))
        for key, type_ in expected_types.items():
            self.assertIsInstance(data[key], type_, key)
        self.assertEqual(data['id'], user['id'])
        self.assertEqual(data['level_name'], '普通用户')
        self.assertEqual(data['team_count'], 1)
        self.assertAlmostEqual(
            data['reg_time'], dt.datetime.now().timestamp(), delta=3600 * 24)
        response = self.client().get('/user/my_info/',
            headers={'Authorization': f'Token {token}'})
        # amounts are written fen-exact, as the contract shows them
        self.assertIn('"balance": 0.00', response.get_data(as_text=True))

    def test_my_info_needs_a_token(self):
        self.assertReply(self.get('/user/my_info/'), 401, 401)
        self.assertReply(self.get('/user/my_info/', token='nope'), 401, 401)
        status, payload = self.call('GET', '/user/my_info/',
            headers={'Authorization': 'Bearer whatever'})
        self.assertEqual((status, payload['code']), (401, 401))

    # --- change_info ---

    def test_change_info(self):
        token, _ = self.login('13900000040')
        for kind, value, field in [
                ('nickname', '多多小王', 'nickname'),
                ('alipay', 'wang@example.com', 'alipay_account'),
                ('realname', '王小明', 'rel_name'),
                ]:
            self.assertReply(self.post('/user/change_info/', {
                        'type': kind, 'value': value}, token=token),
                200, 200)
            payload = self.assertReply(
                self.get('/user/my_info/', token=token), 200, 200)
            self.assertEqual(payload['data'][field], value)

    def test_change_info_errors(self):
        token, _ = self.login('13900000041')
        payload = self.assertReply(self.post('/user/change_info/', {
                    'type': 'nickname', 'value': 'x' * 21}, token=token),
            400, 400)
        self.assertIn('20', payload['msg'])
        payload = self.assertReply(self.post('/user/change_info/', {
                    'type': 'phone', 'value': '13900000099'}, token=token),
            400, 400)
        self.assertIn('type', payload['msg'])
        payload = self.assertReply(self.post('/user/change_info/', {
                    'type': 'nickname'}, token=token), 400, 400)
        self.assertIn('value', payload['msg'])
        self.assertReply(self.post('/user/change_info/', {
                    'type': 'nickname', 'value': 'x'}), 401, 401)

    # --- change_phone ---

    def change_phone_codes(self, token, old_phone, new_phone):
        for phone in [old_phone, new_phone]:
            self.let_resend_interval_pass(phone)
            self.assertReply(self.post('/user/send_tel_code/', {
                        'phone': phone, 'scene': 'change_phone'},
                    token=token), 200, 200)
        return (last_code(old_phone, 'change_phone'),
            last_code(new_phone, 'change_phone'))

    def test_change_phone(self):
        token, user = self.login('13900000050')
        old_code, new_code = self.change_phone_codes(
            token, '13900000050', '13900000051')
        self.assertReply(self.post('/user/change_phone/', {
                    'old_phone': '13900000050', 'old_code': old_code,
                    'new_phone': '13900000051', 'new_code': new_code,
                    }, token=token), 200, 200)
        _, payload = self.get('/user/my_info/', token=token)
        self.assertEqual(payload['data']['username'], '13900000051')
        _, payload = self.post('/user/check_tel/', {'phone': '13900000050'})
        self.assertFalse(payload['data']['exists'])
        _, again = self.login('13900000051')
        self.assertEqual(again['id'], user['id'])

    def test_change_phone_to_a_taken_number(self):
        token, _ = self.login('13900000052')
        self.login('13900000053')
        # asking a code for someone else's number is refused at once
        self.assertReply(self.post('/user/send_tel_code/', {
                    'phone': '13900000053', 'scene': 'change_phone'},
                token=token), 400, 1002)
        self.assertReply(self.post('/user/change_phone/', {
                    'old_phone': '13900000052', 'old_code': '000000',
                    'new_phone': '13900000053', 'new_code': '000000',
                    }, token=token), 400, 1002)

    def test_change_phone_wrong_codes(self):
        token, _ = self.login('13900000054')
        old_code, new_code = self.change_phone_codes(
            token, '13900000054', '13900000055')
        wrong = '%06d' % ((int(new_code) + 1) % 1000000)
        self.assertReply(self.post('/user/change_phone/', {
                    'old_phone': '13900000054', 'old_code': old_code,
                    'new_phone': '13900000055', 'new_code': wrong,
                    }, token=token), 400, 1001)
        # neither code was spent by the failed try
        self.assertReply(self.post('/user/change_phone/', {
                    'old_phone': '13900000054', 'old_code': old_code,
                    'new_phone': '13900000055', 'new_code': new_code,
                    }, token=token), 200, 200)

    def test_change_phone_old_phone_must_be_mine(self):
        token, _ = self.login('13900000056')
        payload = self.assertReply(self.post('/user/change_phone/', {
                    'old_phone': '13900000057', 'old_code': '123456',
                    'new_phone': '13900000058', 'new_code': '123456',
                    }, token=token), 400, 400)
        self.assertTrue(payload['msg'])
        self.assertReply(self.post('/user/send_tel_code/', {
                    'phone': '13900000059', 'scene': 'change_phone'}),
            401, 401)

    # --- change_phone as the contract's client asks its codes: no scene ---

    def send_code(self, phone, form=False, token=None):
        "Ask a code as the contract says: the phone only; returns it"
        self.let_resend_interval_pass(phone)
        if form:
            result = self.call('POST', '/user/send_tel_code/',
                form={'phone': phone}, token=token)
        else:
            result = self.post('/user/send_tel_code/', {'phone': phone},
                token=token)
        self.assertReply(result, 200, 200)
        return last_code(phone, 'login')

    def test_change_phone_contract_client(self):
        token, user = self.login('13900000100')
        old_code = self.send_code('13900000100')
        new_code = self.send_code('13900000101')
        self.assertReply(self.post('/user/change_phone/', {
                    'old_phone': '13900000100', 'old_code': old_code,
                    'new_phone': '13900000101', 'new_code': new_code,
                    }, token=token), 200, 200)
        _, payload = self.get('/user/my_info/', token=token)
        self.assertEqual(payload['data']['username'], '13900000101')
        # both codes were spent: they log nobody in, not even a new member
        # on the freed number
        for phone, code in [
                ('13900000100', old_code), ('13900000101', new_code)]:
            self.assertReply(self.post('/user/login/', {
                        'phone': phone, 'code': code}), 400, 1001)
        self.assertReply(self.post('/user/change_phone/', {
                    'old_phone': '13900000101', 'old_code': new_code,
                    'new_phone': '13900000100', 'new_code': old_code,
                    }, token=token), 400, 1001)
        _, again = self.login('13900000101')
        self.assertEqual(again['id'], user['id'])
        _, payload = self.post('/user/check_tel/', {'phone': '13900000100'})
        self.assertFalse(payload['data']['exists'])

    def test_change_phone_contract_client_form_body(self):
        token, user = self.login('13900000102')
        # the client may send its token along: the code is a login code
        old_code = self.send_code('13900000102', form=True, token=token)
        new_code = self.send_code('13900000103', form=True)
        status, payload = self.call('POST', '/user/change_phone/', form={
                'old_phone': '13900000102', 'old_code': old_code,
                'new_phone': '13900000103', 'new_code': new_code,
                }, token=token)
        self.assertEqual((status, payload['code']), (200, 200), payload)
        self.assertEqual(payload['msg'], '修改成功')
        _, payload = self.get('/user/my_info/', token=token)
        self.assertEqual(payload['data']['username'], '13900000103')

    def test_change_phone_mixed_scenes(self):
        token, _ = self.login('13900000104')
        self.let_resend_interval_pass('13900000104')
        self.assertReply(self.post('/user/send_tel_code/', {
                    'phone': '13900000104', 'scene': 'change_phone'},
                token=token), 200, 200)
        old_code = last_code('13900000104', 'change_phone')
        new_code = self.send_code('13900000105')
        self.assertReply(self.post('/user/change_phone/', {
                    'old_phone': '13900000104', 'old_code': old_code,
                    'new_phone': '13900000105', 'new_code': new_code,
                    }, token=token), 200, 200)

    def test_change_phone_without_scene_wrong_codes(self):
        token, _ = self.login('13900000106')
        old_code = self.send_code('13900000106')
        new_code = self.send_code('13900000107')
        other_code = self.send_code('13900000108')
        wrong = '%06d' % ((int(new_code) + 1) % 1000000)
        for old, new in [
                (old_code, wrong),
                ('%06d' % ((int(old_code) + 1) % 1000000), new_code),
                # the code of another phone, or the pair swapped
                (old_code, other_code),
                (new_code, old_code),
                ]:
            self.assertReply(self.post('/user/change_phone/', {
                        'old_phone': '13900000106', 'old_code': old,
                        'new_phone': '13900000107', 'new_code': new,
                        }, token=token), 400, 1001)
        # a login code logs into its own number only
        self.assertReply(self.post('/user/login/', {
                    'phone': '13900000106', 'code': new_code}), 400, 1001)
        # neither code was spent by the failed tries
        self.assertReply(self.post('/user/change_phone/', {
                    'old_phone': '13900000106', 'old_code': old_code,
                    'new_phone': '13900000107', 'new_code': new_code,
                    }, token=token), 200, 200)
        # the other phone's code still logs its owner in
        self.assertReply(self.post('/user/login/', {
                    'phone': '13900000108', 'code': other_code}), 200, 200)

    def test_change_phone_without_scene_to_a_taken_number(self):
        token, _ = self.login('13900000109')
        _, other = self.login('13900000110')
        old_code = self.send_code('13900000109')
        # without a scene the code is a login code for the number's owner
        taken_code = self.send_code('13900000110')
        self.assertReply(self.post('/user/change_phone/', {
                    'old_phone': '13900000109', 'old_code': old_code,
                    'new_phone': '13900000110', 'new_code': taken_code,
                    }, token=token), 400, 1002)
        # nothing was spent: the owner logs in with their code, the member
        # changes to a free number with theirs
        _, payload = self.post('/user/login/', {
                'phone': '13900000110', 'code': taken_code})
        self.assertEqual(payload['data']['user']['id'], other['id'])
        new_code = self.send_code('13900000111')
        self.assertReply(self.post('/user/change_phone/', {
                    'old_phone': '13900000109', 'old_code': old_code,
                    'new_phone': '13900000111', 'new_code': new_code,
                    }, token=token), 200, 200)

    def test_login_code_used_once(self):
        token, _ = self.login('13900000112')
        # a code that logged in cannot change the phone
        old_code = self.send_code('13900000112')
        self.assertReply(self.post('/user/login/', {
                    'phone': '13900000112', 'code': old_code}), 200, 200)
        new_code = self.send_code('13900000113')
        self.assertReply(self.post('/user/change_phone/', {
                    'old_phone': '13900000112', 'old_code': old_code,
                    'new_phone': '13900000113', 'new_code': new_code,
                    }, token=token), 400, 1001)
        # the new number's code was not spent by that refusal
        old_code = self.send_code('13900000112')
        self.assertReply(self.post('/user/change_phone/', {
                    'old_phone': '13900000112', 'old_code': old_code,
                    'new_phone': '13900000113', 'new_code': new_code,
                    }, token=token), 200, 200)
        # and a code that changed the phone cannot log in
        self.assertReply(self.post('/user/login/', {
                    'phone': '13900000113', 'code': new_code}), 400, 1001)

    # --- check_tel ---

    def test_check_tel(self):
        _, user = self.login('13900000060')
        payload = self.assertReply(self.post('/user/check_tel/', {
                    'phone': '13900000060'}), 200, 200)
        self.assertEqual(payload['data'], {'exists': True,
                'user_id': user['id']})
        payload = self.assertReply(self.post('/user/check_tel/', {
                    'phone': '13900000061'}), 200, 200)
        self.assertEqual(payload['data'], {'exists': False, 'user_id': None})
        self.assertReply(self.post('/user/check_tel/', {
                    'phone': '123'}), 400, 400)

    # --- logout ---

    def test_logout(self):
        token, _ = self.login('13900000070')
        other_token, _ = self.login('13900000070')
        self.assertReply(self.post('/user/logout/', token=token), 200, 200)
        self.assertReply(self.get('/user/my_info/', token=token), 401, 401)
        self.assertReply(self.post('/user/logout/', token=token), 401, 401)
        # the member's other device stays logged in
        self.assertReply(
            self.get('/user/my_info/', token=other_token), 200, 200)

    def test_expired_token(self):
        token, user = self.login('13900000071')

        def expire(pool):
            Token = pool.get('duoduo.member.token')
            Token.write(Token.search([('member', '=', user['id'])]), {
                    'expires_at': dt.datetime.now() - dt.timedelta(seconds=1)})
        self.run_as_staff(expire)
        self.assertReply(self.get('/user/my_info/', token=token), 401, 401)

    # --- disabled members ---

    def test_disabled_member(self):
        token, user = self.login('13900000080')
        self.let_resend_interval_pass('13900000080')
        self.post('/user/send_tel_code/', {'phone': '13900000080'})

        def disable(pool):
            Member = pool.get('duoduo.member')
            Member.disable([Member(user['id'])])
        self.run_as_staff(disable)
        self.assertReply(self.get('/user/my_info/', token=token), 403, 1004)
        self.assertReply(self.post('/user/change_info/', {
                    'type': 'nickname', 'value': 'x'}, token=token),
            403, 1004)
        self.assertReply(self.post('/user/logout/', token=token), 403, 1004)
        self.assertReply(self.post('/user/login/', {
                    'phone': '13900000080',
                    'code': last_code('13900000080')}), 403, 1004)
        self.assertReply(self.post('/user/send_tel_code/', {
                    'phone': '13900000080'}), 403, 1004)

        def enable(pool):
            Member = pool.get('duoduo.member')
            Member.enable([Member(user['id'])])
        self.run_as_staff(enable)
        # enabling does not bring the old tokens back
        self.assertReply(self.get('/user/my_info/', token=token), 401, 401)

    def test_disabled_inviter(self):
        _, inviter = self.login('13900000081')

        def disable(pool):
            Member = pool.get('duoduo.member')
            Member.disable([Member(inviter['id'])])
        self.run_as_staff(disable)
        self.post('/user/send_tel_code/', {'phone': '13900000082'})
        self.assertReply(self.post('/user/login/', {
                    'phone': '13900000082', 'code': last_code('13900000082'),
                    'invitation_code': inviter['invitation_code']}),
            403, 1004)

    # --- isolation ---

    def test_members_are_isolated(self):
        token_a, user_a = self.login('13900000090')
        token_b, user_b = self.login('13900000091')
        _, payload = self.get('/user/my_info/', token=token_a)
        self.assertEqual(payload['data']['id'], user_a['id'])
        # parameters naming another member are not obeyed
        _, payload = self.get('/user/my_info/', token=token_a,
            query={'id': user_b['id'], 'user_id': user_b['id']})
        self.assertEqual(payload['data']['id'], user_a['id'])
        self.post('/user/change_info/', {'type': 'nickname', 'value': '甲',
                'user_id': user_b['id'], 'id': user_b['id']}, token=token_a)
        _, payload = self.get('/user/my_info/', token=token_b)
        self.assertNotEqual(payload['data']['nickname'], '甲')
        # A cannot take B's number, nor log out B
        self.assertReply(self.post('/user/change_phone/', {
                    'old_phone': '13900000091', 'old_code': '1',
                    'new_phone': '13900000092', 'new_code': '1'},
                token=token_a), 400, 400)
        self.post('/user/logout/', {'token': token_b}, token=token_a)
        self.assertReply(self.get('/user/my_info/', token=token_b), 200, 200)

    # --- the envelope ---

    def test_unknown_route(self):
        for method in ['GET', 'POST', 'DELETE']:
            status, payload = self.call(method, '/user/nope/')
            self.assertEqual((status, payload['code']), (404, 404))

    def test_sms_log_lines(self):
        self.post('/user/send_tel_code/', {'phone': '13900000093'})
        with open(sms_log_path(), encoding='utf-8') as log:
            line = json.loads(log.read().splitlines()[-1])
        self.assertEqual(set(line), {'phone', 'code', 'scene', 'text', 'time'})
        self.assertIn(line['code'], line['text'])
        self.assertEqual(line['scene'], 'login')


del ContractTestCase
