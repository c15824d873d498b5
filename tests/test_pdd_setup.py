"""Operator set-up against the loopback PDD gateway: PIDs named after
partners, member attribution keys and 备案, and the 多多进宝 authorization
(OAuth callback over HTTP, refresh before expiry, warnings to staff).

The production client talks to the simulator; time moves with the
simulator's clock: an authorization made with the clock set back N hours is
one made N hours ago."""
import datetime as dt
import json
import re
import time
from urllib.parse import parse_qs, urlsplit

import requests

from duoduo_simulators.pdd import PddSimulator
from support import ContractTestCase, simulated_pdd

from trytond import backend
from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, with_transaction
from trytond.transaction import Transaction

HOUR = 3600
DAY = 24 * HOUR
REDIRECT_URI = 'https://duoduo.example.com/pdd/oauth/callback/'


class PddSetupTestCase(ContractTestCase):

    @classmethod
    def setUpClass(cls):
        cls.sim = cls.enterClassContext(PddSimulator())
        cls.enterClassContext(simulated_pdd(cls.sim,
                redirect_uri=REDIRECT_URI))
        super().setUpClass()

    def setUp(self):
        super().setUp()
        self.sim.offset = 0

    _members = 0

    def member(self, role='member', **values):
        "A member at the first level of role"
        pool = Pool()
        Member = pool.get('duoduo.member')
        Level = pool.get('duoduo.member.level')
        type(self)._members += 1
        level, = Level.search([('role', '=', role)], limit=1)
        member, = Member.create([{
                    'phone': f'1390010{self._members:04d}',
                    'level': level.id,
                    **values,
                    }])
        return member

    def partner(self, **values):
        return self.member(role='partner', **values)

    def notifications(self, text):
        Notification = Pool().get('res.notification')
        return Notification.search([('label', 'like', f'%{text}%')])

    # --- member attribution ---

    @with_transaction()
    def test_pdd_uid_is_an_opaque_stable_key(self):
        Member = Pool().get('duoduo.member')
        members = [self.member() for _ in range(20)]
        uids = [m.pdd_uid for m in members]
        self.assertEqual(len(set(uids)), len(uids))
        for member in members:
            self.assertRegex(member.pdd_uid, r'^[0-9a-z]{12}$')
            self.assertNotEqual(member.pdd_uid, str(member.id))
            value = member.pdd_custom_parameters()
            self.assertEqual(value, '{"uid":"%s"}' % member.pdd_uid)
            self.assertLessEqual(len(value.encode('utf-8')), 64)
            self.assertEqual(json.loads(value), {'uid': member.pdd_uid})
            self.assertEqual(Member.find_by_pdd_uid(member.pdd_uid), member)
            self.assertEqual(
                Member.find_by_pdd_custom_parameters(value), member)
        # stable: writing the member keeps the key
        member = members[0]
        uid = member.pdd_uid
        Member.write([member], {'nickname': '改名了', 'city': '滨州市'})
        self.assertEqual(Member(member.id).pdd_uid, uid)
        self.assertIsNone(Member.find_by_pdd_uid('nobody'))
        self.assertIsNone(Member.find_by_pdd_custom_parameters('not json'))
        # two members never share a key
        with self.assertRaises(UserError):
            Member.write([members[1]], {'pdd_uid': uid})

    @with_transaction()
    def test_pdd_uid_back_filled_on_upgrade(self):
        "Members made before the module get their key from __register__"
        Member = Pool().get('duoduo.member')
        members = [self.member() for _ in range(3)]
        table = Member.__table__()
        cursor = Transaction().connection.cursor()
        if backend.name == 'postgresql':
            # as before the column was required (rolled back with the test)
            cursor.execute('ALTER TABLE duoduo_member '
                'ALTER COLUMN pdd_uid DROP NOT NULL')
        cursor.execute(*table.update([table.pdd_uid], [None],
                where=table.id.in_([m.id for m in members])))
        Member._clear_cache()
        self.assertEqual(Member.backfill_pdd_uid(), 3)
        uids = [m.pdd_uid for m in Member.browse([m.id for m in members])]
        self.assertTrue(all(re.match(r'^[0-9a-z]{12}$', u) for u in uids))
        self.assertEqual(len(set(uids)), 3)
        self.assertEqual(Member.backfill_pdd_uid(), 0)

    def test_login_answers_the_attribution_key(self):
        token, user = self.login('13900200001')
        with Transaction().start(DB_NAME, 0):
            Member = Pool().get('duoduo.member')
            member, = Member.search([('phone', '=', '13900200001')])
            self.assertEqual(user['relation_id'], member.pdd_uid)
            self.assertNotEqual(user['relation_id'], str(member.id))

    # --- PIDs ---

    @with_transaction()
    def test_generate_pid_for_a_partner(self):
        pool = Pool()
        Generate = pool.get('duoduo.pdd.pid.generate', type='wizard')
        Start = pool.get('duoduo.pdd.pid.generate.start')
        partner = self.partner(nickname='芳芳', real_name='王芳')

        start = Start(number=5)
        start.member = partner
        start.on_change_member()
        self.assertEqual((start.number, start.names), (1, '王芳'))
        start = Start(member=None, number=1, names='张伟\n\n李娜\n刘洋\n')
        start.on_change_names()
        self.assertEqual(start.number, 3)

        session_id, _, _ = Generate.create()
        Generate.execute(session_id, {'start': {
                    'member': partner.id, 'number': 1, 'names': '王芳',
                    'media_id': None}}, 'generate')
        call = self.sim.calls('pdd.ddk.goods.pid.generate')[-1]
        self.assertEqual((call['number'], json.loads(call['p_id_name_list'])),
            ('1', ['王芳']))
        pid = partner.pdd_pid
        self.assertTrue(pid)
        self.assertIn(pid.p_id, self.sim.pids)
        self.assertEqual((pid.name, pid.status, pid.member),
            ('王芳', 'normal', partner))
        self.assertEqual(pid.rec_name, f'王芳 ({pid.p_id})')
        self.assertTrue(pid.pdd_created_at)
        self.assertEqual(partner.pdd_promotion_pid(), pid.p_id)

    @with_transaction()
    def test_generate_several_pids_named_one_per_line(self):
        Pid = Pool().get('duoduo.pdd.pid')
        pids = Pid.generate(3, ['张伟', '李娜', '刘洋'])
        self.assertEqual([p.name for p in pids], ['张伟', '李娜', '刘洋'])
        self.assertTrue(all(p.member is None for p in pids))
        self.assertEqual(len({p.p_id for p in pids}), 3)
        calls = len(self.sim.calls('pdd.ddk.goods.pid.generate'))
        for number, names in [(2, ['张伟']), (0, []), (101, [])]:
            with self.assertRaises(UserError):
                Pid.generate(number, names)
        # refused before PDD was asked
        self.assertEqual(
            len(self.sim.calls('pdd.ddk.goods.pid.generate')), calls)

    @with_transaction()
    def test_pid_only_for_partners(self):
        pool = Pool()
        Member = pool.get('duoduo.member')
        Pid = pool.get('duoduo.pdd.pid')
        Generate = pool.get('duoduo.pdd.pid.generate', type='wizard')
        pid, other = Pid.generate(2, ['合伙人一号', '合伙人二号'])
        member = self.member(nickname='普通会员')
        with self.assertRaises(UserError) as cm:
            pid.assign_to(member)
        self.assertIn('普通用户', cm.exception.message)
        with self.assertRaises(UserError):
            Member.write([member], {'pdd_pid': pid.id})
        # the wizard refuses before PDD creates anything
        calls = len(self.sim.calls('pdd.ddk.goods.pid.generate'))
        session_id, _, _ = Generate.create()
        with self.assertRaises(UserError):
            Generate.execute(session_id, {'start': {
                        'member': member.id, 'number': 1, 'names': 'x',
                        'media_id': None}}, 'generate')
        self.assertEqual(
            len(self.sim.calls('pdd.ddk.goods.pid.generate')), calls)

        # a PID belongs to one member: assigning moves it
        first, second = self.partner(), self.partner()
        pid.assign_to(first)
        self.assertEqual(Pid(pid.id).member, first)
        pid.assign_to(second)
        self.assertIsNone(Member(first.id).pdd_pid)
        self.assertEqual(Member(second.id).pdd_pid, pid)
        self.assertEqual(Pid.search([('member', '=', second.id)]), [pid])
        self.assertIn(other, Pid.search([('member', '=', None)]))
        self.assertNotIn(pid, Pid.search([('member', '=', None)]))
        # a partner demoted while holding a PID is refused
        Level = pool.get('duoduo.member.level')
        normal, = Level.search([('role', '=', 'member')], limit=1)
        with self.assertRaises(UserError):
            Member.write([second], {'level': normal.id})
        pid.assign_to(None)
        self.assertIsNone(Member(second.id).pdd_pid)
        # last: on PostgreSQL the failed UPDATE ends the transaction
        other.assign_to(first)
        with self.assertRaises(UserError):
            Member.write([second], {'pdd_pid': other.id})

    @with_transaction()
    def test_sync_pids_from_pdd(self):
        pool = Pool()
        Configuration = pool.get('duoduo.pdd.configuration')
        Pid = pool.get('duoduo.pdd.pid')
        # PIDs made in PDD's own console: 130 in two calls
        client = Configuration.get_client()
        made = []
        for number in [100, 30]:
            made += client.call('pdd.ddk.goods.pid.generate', number=number,
                p_id_name_list=[f'渠道{len(made) + i}'
                    for i in range(number)])['p_id_list']
        partner = self.partner()
        mine, = Pid.generate(1, ['合伙人'])
        mine.assign_to(partner)
        banned = made[7]['p_id']
        self.sim.pids[banned]['status'] = 1
        self.sim.pids[mine.p_id]['status'] = 1
        queries = len(self.sim.calls('pdd.ddk.goods.pid.query'))

        count = Pid.sync_all()
        self.assertEqual(count, len(self.sim.pids))
        self.assertGreater(
            len(self.sim.calls('pdd.ddk.goods.pid.query')) - queries, 1)
        self.assertEqual(Pid.search_count([]), len(self.sim.pids))
        self.assertEqual(Pid.find(banned).status, 'banned')
        self.assertEqual(Pid.find(made[8]['p_id']).status, 'normal')
        self.assertEqual(Pid.find(made[8]['p_id']).name, '渠道8')
        # a partner whose PID PDD banned promotes with the default PID
        self.assertEqual(Pid(mine.id).status, 'banned')
        self.assertEqual(partner.pdd_promotion_pid(), self.sim.pid)
        with self.assertRaises(UserError):
            Pid(mine.id).assign_to(self.partner())

        # syncing again changes nothing; the button does the same
        Pid.sync_from_pdd([])
        self.assertEqual(Pid.search_count([]), len(self.sim.pids))

    # --- 备案 ---

    @with_transaction()
    def test_authority_check_is_cached(self):
        Member = Pool().get('duoduo.member')
        member = self.member()
        queries = lambda: len(  # noqa: E731
            self.sim.calls('pdd.ddk.member.authority.query'))
        before = queries()
        self.assertIs(member.check_pdd_authority(), False)
        self.assertIs(member.check_pdd_authority(), False)
        # negative answers are not kept
        self.assertEqual(queries(), before + 2)
        call = self.sim.calls('pdd.ddk.member.authority.query')[-1]
        self.assertEqual(call['pid'], self.sim.pid)
        self.assertEqual(call['custom_parameters'],
            member.pdd_custom_parameters())

        self.sim.bind(self.sim.pid, member.pdd_custom_parameters())
        self.assertIs(member.check_pdd_authority(), True)
        self.assertTrue(Member(member.id).pdd_authorized_at)
        self.assertEqual(queries(), before + 3)
        member = Member(member.id)
        self.assertIs(member.check_pdd_authority(), True)
        self.assertEqual(queries(), before + 3)

        # PDD answered 60001 somewhere: the cache goes
        member.forget_pdd_authority()
        self.assertIsNone(Member(member.id).pdd_authorized_at)
        # 备案 withdrawn: a forced check clears the cache too
        self.assertIs(Member(member.id).check_pdd_authority(), True)
        self.sim.unbind(self.sim.pid, member.pdd_custom_parameters())
        self.assertIs(Member(member.id).check_pdd_authority(force=True),
            False)
        self.assertIsNone(Member(member.id).pdd_authorized_at)
        self.sim.fail_next('pdd.ddk.member.authority.query', 50001, '60001',
            '未传入已经授权备案过的相关参数')
        self.assertIs(Member(member.id).check_pdd_authority(), False)

    @with_transaction()
    def test_new_pid_needs_a_new_check(self):
        pool = Pool()
        Member = pool.get('duoduo.member')
        Pid = pool.get('duoduo.pdd.pid')
        partner = self.partner()
        self.sim.bind(self.sim.pid, partner.pdd_custom_parameters())
        self.assertTrue(partner.check_pdd_authority())
        pid, = Pid.generate(1, ['合伙人'])
        pid.assign_to(partner)
        partner = Member(partner.id)
        self.assertIsNone(partner.pdd_authorized_at)
        self.assertIs(partner.check_pdd_authority(), False)
        self.assertEqual(
            self.sim.calls('pdd.ddk.member.authority.query')[-1]['pid'],
            pid.p_id)

    @with_transaction()
    def test_authority_link(self):
        member = self.member()
        link = member.pdd_authority_link()
        self.assertEqual(set(link), {'mobile_url', 'short_url', 'we_app_info'})
        call = self.sim.calls('pdd.ddk.rp.prom.url.generate')[-1]
        self.assertEqual(call['channel_type'], '10')
        self.assertEqual(json.loads(call['p_id_list']), [self.sim.pid])
        self.assertEqual(call['custom_parameters'],
            member.pdd_custom_parameters())
        self.assertEqual(call['generate_we_app'], 'true')
        self.assertTrue(link['we_app_info']['app_id'])
        self.assertTrue(link['we_app_info']['page_path'])
        self.assertTrue(link['short_url'])
        # the member opens the link and authorizes
        self.assertIs(member.check_pdd_authority(), False)
        self.assertEqual(requests.get(link['mobile_url'], timeout=5)
            .status_code, 200)
        self.assertIs(member.check_pdd_authority(), True)

    # --- 多多进宝 authorization ---

    def authorize(self, owner_id, owner_name=None, hours_ago=0):
        """An account authorized hours_ago: the simulator's clock is set
        back while the code is exchanged"""
        Authorization = Pool().get('duoduo.pdd.authorization')
        self.sim.offset = -hours_ago * HOUR
        try:
            code = self.sim.issue_auth_code(owner_id, owner_name)
            return Authorization.create_from_code(
                code, Authorization.sign_state())
        finally:
            self.sim.offset = 0

    @with_transaction()
    def test_authorize_link(self):
        pool = Pool()
        Authorization = pool.get('duoduo.pdd.authorization')
        Authorize = pool.get(
            'duoduo.pdd.authorization.authorize', type='wizard')
        url = Authorization.authorize_url()
        self.assertTrue(url.startswith(self.sim.authorize_url + '?'))
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        self.assertEqual(query['response_type'], 'code')
        self.assertEqual(query['client_id'], self.sim.client_id)
        self.assertEqual(query['redirect_uri'], REDIRECT_URI)
        Authorization.verify_state(query['state'])

        session_id, _, _ = Authorize.create()
        result = Authorize.execute(session_id, {}, 'open_')
        (action, _), = result['actions']
        self.assertEqual(action['type'], 'ir.action.url')
        self.assertTrue(action['url'].startswith(self.sim.authorize_url))

        # states are signed and expire after 10 minutes
        state = query['state']
        nonce, issued, mac = state.split('.')
        for bad in ['', 'x', f'{nonce}.{int(issued) + 1}.{mac}',
                f'{nonce}.{issued}.{"0" * 32}']:
            with self.assertRaises(UserError):
                Authorization.verify_state(bad)
        old = Authorization.sign_state(now=time.time() - 601)
        with self.assertRaises(UserError):
            Authorization.verify_state(old)
        Authorization.verify_state(
            Authorization.sign_state(now=time.time() - 590))

    def test_oauth_callback(self):
        "The operator's browser comes back from PDD with a code"
        with Transaction().start(DB_NAME, 0):
            url = Pool().get('duoduo.pdd.authorization').authorize_url()
        # the simulator's authorize page approves the demo account at once
        response = requests.get(url, allow_redirects=False, timeout=5)
        self.assertEqual(response.status_code, 302)
        location = urlsplit(response.headers['Location'])
        self.assertEqual(location._replace(query='').geturl(), REDIRECT_URI)
        query = {k: v[0] for k, v in parse_qs(location.query).items()}

        payload = self.assertReply(self.get('/pdd/oauth/callback/',
                query=query), 200, 200)
        self.assertEqual(payload['data']['owner_id'], self.sim.owner_id)
        self.assertEqual(payload['data']['owner_name'], self.sim.owner_name)
        self.assertGreater(payload['data']['expires_at'],
            time.time() + 29 * DAY)
        self.assertIn(self.sim.owner_name, payload['msg'])
        self.assertNotIn('token', json.dumps(payload))
        with Transaction().start(DB_NAME, 0):
            Authorization = Pool().get('duoduo.pdd.authorization')
            authorization, = Authorization.search(
                [('owner_id', '=', self.sim.owner_id)])
            self.assertEqual(authorization.state, 'active')
            self.assertTrue(authorization.access_token)
            self.assertTrue(authorization.refresh_token)
            self.assertAlmostEqual(
                (authorization.expires_at - dt.datetime.now()
                    ).total_seconds(), DAY, delta=60)
            first_token = authorization.access_token

        # a code works once
        payload = self.assertReply(self.get('/pdd/oauth/callback/',
                query=query), 400, 400)
        self.assertIn('code', payload['msg'])
        # a new authorization of the same account replaces the tokens
        query['code'] = self.sim.issue_auth_code()
        self.assertReply(self.get('/pdd/oauth/callback/', query=query),
            200, 200)
        with Transaction().start(DB_NAME, 0):
            Authorization = Pool().get('duoduo.pdd.authorization')
            authorization, = Authorization.search(
                [('owner_id', '=', self.sim.owner_id)])
            self.assertNotEqual(authorization.access_token, first_token)

    def test_oauth_callback_errors(self):
        with Transaction().start(DB_NAME, 0):
            Authorization = Pool().get('duoduo.pdd.authorization')
            state = Authorization.sign_state()
            old_state = Authorization.sign_state(now=time.time() - 3600)
        code = self.sim.issue_auth_code('callback-errors')
        nonce, issued, mac = state.split('.')
        for query in [
                {'code': code, 'state': f'{nonce}x.{issued}.{mac}'},
                {'code': code, 'state': 'forged'},
                {'code': code},
                {'state': state},
                ]:
            payload = self.assertReply(self.get('/pdd/oauth/callback/',
                    query=query), 400, 400)
            self.assertTrue(payload['msg'])
        payload = self.assertReply(self.get('/pdd/oauth/callback/',
                query={'code': code, 'state': old_state}), 400, 400)
        self.assertIn('过期', payload['msg'])
        # the code was not spent on a bad state: it still works
        self.sim.fail_next('pdd.pop.auth.token.create', 52103)
        payload = self.assertReply(self.get('/pdd/oauth/callback/',
                query={'code': code, 'state': state}), 503, 503)
        self.assertTrue(payload['msg'])
        self.assertReply(self.get('/pdd/oauth/callback/',
                query={'code': code, 'state': state}), 200, 200)
        # an unknown code
        payload = self.assertReply(self.get('/pdd/oauth/callback/',
                query={'code': 'not-a-code', 'state': state}), 400, 400)
        self.assertIn('code无效', payload['msg'])

    @with_transaction()
    def test_tokens_never_shown(self):
        pool = Pool()
        Authorization = pool.get('duoduo.pdd.authorization')
        authorization = self.authorize('tokens-hidden', '藏起来')
        with Transaction().set_user(1), Transaction().set_context(
                _check_access=True):
            for view_type in ['form', 'tree']:
                view = Authorization.fields_view_get(view_type=view_type)
                self.assertIn('refresh_expires_at', view['fields'])
                for name in ['access_token', 'refresh_token']:
                    self.assertNotIn(name, view['fields'])
                    self.assertNotIn(name, view['arch'])
            # proteus and sao read eager fields only: the tokens are lazy
            fields = Authorization.fields_get()
            self.assertEqual(fields['access_token']['loading'], 'lazy')
            self.assertEqual(fields['refresh_token']['loading'], 'lazy')
            self.assertEqual(Authorization.read([authorization.id],
                    ['owner_name'])[0]['owner_name'], '藏起来')
            for name in ['access_token', 'refresh_token']:
                with self.assertRaises(AccessError):
                    Authorization.read([authorization.id], [name])
            # the refresh button works for the administrator
            Authorization.refresh([Authorization(authorization.id)])
        self.assertEqual(Authorization(authorization.id).state, 'active')

    @with_transaction()
    def test_refresh_before_expiry(self):
        Authorization = Pool().get('duoduo.pdd.authorization')
        fresh = self.authorize('fresh', '刚授权')
        old = self.authorize('old', '授权了19小时', hours_ago=19)
        old_token = old.access_token
        lapses = old.refresh_expires_at
        self.assertAlmostEqual((old.expires_at - dt.datetime.now()
                ).total_seconds(), 5 * HOUR, delta=60)
        refreshes = len(self.sim.calls('pdd.pop.auth.token.refresh'))

        Authorization.refresh_tokens()
        calls = self.sim.calls('pdd.pop.auth.token.refresh')[refreshes:]
        self.assertEqual(len(calls), 1)
        old = Authorization(old.id)
        self.assertEqual(old.state, 'active')
        self.assertNotEqual(old.access_token, old_token)
        self.assertTrue(old.last_refresh_at)
        self.assertAlmostEqual((old.expires_at - dt.datetime.now()
                ).total_seconds(), DAY, delta=60)
        # refreshing never extends the authorization itself
        self.assertEqual(old.refresh_expires_at, lapses)
        self.assertIsNone(Authorization(fresh.id).last_refresh_at)

        # nothing is due any more
        Authorization.refresh_tokens()
        self.assertEqual(len(self.sim.calls(
                    'pdd.pop.auth.token.refresh')[refreshes:]), 1)

    @with_transaction()
    def test_refresh_failure_warns_staff_at_once(self):
        Authorization = Pool().get('duoduo.pdd.authorization')
        authorization = self.authorize('refresh-fails', '刷新失败的账号',
            hours_ago=20)
        self.sim.expire_refresh('refresh-fails')
        Authorization.refresh_tokens()
        authorization = Authorization(authorization.id)
        self.assertEqual(authorization.state, 'failed')
        self.assertIn('10019', authorization.last_error)
        self.assertTrue(authorization.last_error_at)
        self.assertEqual(authorization.expiry, 'expiring')
        notifications = self.notifications('刷新失败的账号')
        self.assertEqual(len(notifications), 1)
        self.assertEqual(notifications[0].model, 'duoduo.pdd.authorization')
        self.assertEqual(json.loads(notifications[0].records),
            [authorization.id])
        self.assertEqual(notifications[0].user.login, 'admin')
        # failing again does not warn again; a success clears the error
        Authorization.refresh_tokens()
        self.assertEqual(len(self.notifications('刷新失败的账号')), 1)
        self.authorize('refresh-fails', '刷新失败的账号')
        authorization = Authorization(authorization.id)
        self.assertEqual((authorization.state, authorization.last_error),
            ('active', None))

    @with_transaction()
    def test_warn_days_before_the_authorization_lapses(self):
        pool = Pool()
        Authorization = pool.get('duoduo.pdd.authorization')
        Configuration = pool.get('duoduo.pdd.configuration')
        configuration = Configuration(1)
        configuration.authorization_warn_days = 5
        configuration.save()
        # authorizations last 30 days in the simulator
        soon = self.authorize('lapses-soon', '快到期的账号',
            hours_ago=26 * 24)
        later = self.authorize('lapses-later', '还早的账号',
            hours_ago=20 * 24)
        gone = self.authorize('lapsed', '已过期的账号', hours_ago=31 * 24)
        self.assertEqual(Authorization(soon.id).days_left, 4)
        self.assertEqual([Authorization(a.id).expiry
                for a in [soon, later, gone]],
            ['expiring', 'valid', 'lapsed'])

        Authorization.warn_expiring()
        notifications = self.notifications('快到期的账号')
        self.assertEqual(len(notifications), 1)
        self.assertIn('4', notifications[0].label)
        self.assertFalse(self.notifications('还早的账号'))
        self.assertEqual(Authorization(gone.id).state, 'expired')
        self.assertEqual(len(self.notifications('已过期的账号')), 1)
        # once a day, not at every run
        Authorization.warn_expiring()
        self.assertEqual(len(self.notifications('快到期的账号')), 1)
        self.assertEqual(len(self.notifications('已过期的账号')), 1)
        # a lapsed authorization is not refreshed
        refreshes = len(self.sim.calls('pdd.pop.auth.token.refresh'))
        Authorization.refresh_tokens()
        calls = self.sim.calls('pdd.pop.auth.token.refresh')[refreshes:]
        self.assertEqual(len(calls), 2)

    @with_transaction()
    def test_crons_registered(self):
        Cron = Pool().get('ir.cron')
        methods = {c.method for c in Cron.search([])}
        self.assertIn('duoduo.pdd.authorization|refresh_tokens', methods)
        self.assertIn('duoduo.pdd.authorization|warn_expiring', methods)


del ContractTestCase
