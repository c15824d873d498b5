"""Field rights over Tryton's RPC, for every staff group.

Staff reach the models through JSON-RPC (sao, proteus, or any client): what
a view shows read-only is not what the server refuses. These tests call the
models' RPC methods as the dispatcher does (trytond/protocols/dispatcher.py:
the method's RPC converts the arguments and sets `_check_access`, as a real
user of each group) and check what the server answers:

- a field only code may change (declared `readonly=True` on the model) is
  refused to every group, administrators included;
- staff-editable fields are accepted for the groups that may edit them;
- secrets are unreadable, unsearchable, unorderable and unexportable;
- changes of a member's phone, referrer and payout identity are logged
  with who made them, staff or the member."""
import re

from duoduo_simulators.wechat import WechatSimulator
from support import ContractTestCase, committed, configured, last_code

from trytond.model import ModelSingleton, ModelStorage, fields
from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, with_transaction
from trytond.transaction import Transaction, TransactionError

GROUPS = {
    'admin': 'duoduo_base.group_duoduo_admin',
    'operator': 'duoduo_base.group_duoduo_operator',
    'finance': 'duoduo_base.group_duoduo_finance',
    }
# fields the findings named, and others money or identity depends on: each
# must be declared code-only (readonly=True on the model)
MUST_BE_CODE_ONLY = {
    'duoduo.member': {
        'path', 'depth', 'registered_at', 'pdd_authorized_at', 'pdd_uid',
        'pdd_pid', 'team_size', 'team_size_1', 'team_size_2', 'team_size_3',
        'state', 'invitation_code', 'wechat_openid', 'wechat_unionid',
        'level_changes', 'changes'},
    'duoduo.pdd.order': {
        'member', 'promotion_amount', 'order_status', 'upline_1', 'upline_2',
        'upline_3', 'commission_state', 'custom_parameters', 'plan_version',
        'city_agent'},
    'duoduo.ledger.entry': {'key', 'kind', 'origin', 'lines'},
    'duoduo.ledger.line': {'amount', 'account', 'member'},
    'duoduo.member.level.change': {'member', 'to_level', 'user'},
    'duoduo.member.change': {'member', 'field', 'user', 'actor_member'},
    'duoduo.pdd.pid': {'p_id', 'members'},
    'duoduo.pdd.authorization': {'access_token', 'state', 'owner_id'},
    'duoduo.commission.reconciliation': {'state', 'lines', 'pdd_total'},
    }
# staff-editable fields of members that only administrators may change
ADMIN_ONLY = {
    'duoduo.member': {
        'phone', 'alipay_account', 'real_name', 'city', 'level',
        'level_locked'},
    }
# set when the member is created (registration), then only by the Change
# Referrer wizard
CREATE_ONLY = {
    'duoduo.member': {'referrer'},
    }
# the server's secrets: no group reads, searches, orders or exports them
SECRETS = {
    ('duoduo.configuration', 'secret'),
    ('duoduo.pdd.configuration', 'client_secret'),
    ('duoduo.pdd.authorization', 'access_token'),
    ('duoduo.pdd.authorization', 'refresh_token'),
    ('duoduo.member.token', 'token_hash'),
    ('duoduo.sms.code', 'code_hash'),
    }
# named like a secret, but not one
NOT_SECRETS = {
    ('duoduo.configuration', 'member_token_days'),
    ('duoduo.pdd.configuration', 'client_secret_masked'),
    ('duoduo.pdd.configuration', 'new_client_secret'),
    }
SECRET_NAME = re.compile(
    r'secret|token|hash|password|passwd|private|api_?key|session_key|'
    r'cert|sign_key|mch_key', re.I)


def duoduo_models():
    for name, Model in Pool().iterobject():
        if name.startswith('duoduo.') and issubclass(Model, ModelStorage):
            yield name, Model


def rpc(user_id, model, method, *args):
    """Call model.method(*args) as user_id the way the JSON-RPC dispatcher
    does: the method's RPC converts the arguments (instances, context
    without private keys, `_check_access`), then the method runs"""
    Model = Pool().get(model)
    spec = Model.__rpc__[method]
    transaction = Transaction()
    with transaction.set_user(user_id), transaction.reset_context():
        c_args, c_kwargs, context, _ = spec.convert(Model, *args, {})
        with transaction.set_context(context):
            return spec.result(
                spec.decorate(getattr(Model, method))(*c_args, **c_kwargs))


def write_value(Model, record, name):
    "A value of field name to write back: the record's own, as read"
    field = Model._fields[name]
    if isinstance(field, (fields.One2Many, fields.Many2Many)):
        return []
    if record is None:
        return None
    with Transaction().set_user(0):
        value = Model.read([record.id], [name])[0][name]
    return value


class RpcRightsTestCase(ContractTestCase):

    def staff(self):
        "{group key: user id} of a user in that group only"
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        users = {}
        for key, xml_id in GROUPS.items():
            group = ModelData.get_id(*xml_id.split('.'))
            user, = User.create([{
                        'name': f'rights {key}', 'login': f'rights_{key}',
                        'groups': [('add', [group])],
                        }])
            users[key] = user.id
        return users

    def a_member(self, phone='13600000001', **values):
        Member = Pool().get('duoduo.member')
        member, = Member.create([dict({'phone': phone}, **values)])
        return member

    def may_write_model(self, user_id, model):
        ModelAccess = Pool().get('ir.model.access')
        with Transaction().set_user(user_id), Transaction().set_context(
                _check_access=True):
            return ModelAccess.check(model, 'write', raise_exception=False)

    @with_transaction()
    def test_fields_named_are_declared_code_only(self):
        pool = Pool()
        for model, names in MUST_BE_CODE_ONLY.items():
            Model = pool.get(model)
            for name in names:
                with self.subTest(model=model, field=name):
                    self.assertIs(Model._fields[name].readonly, True)

    @with_transaction()
    def test_rpc_write_of_every_field_as_each_group(self):
        "Code-only fields refused to all; others to whom may edit them"
        users = self.staff()
        self.a_member(city='杭州')
        for model, Model in duoduo_models():
            if (issubclass(Model, ModelSingleton)
                    and not Model.get_singleton()):
                # settings saved once (creating it locks its table)
                Model.create([{}])
        checked = 0
        for model, Model in sorted(duoduo_models()):
            if 'write' not in Model.__rpc__:
                # no RPC at all (a ModelSQL without ModelView, like the
                # rate limits' hits): the dispatcher refuses every call
                self.assertNotIn('read', Model.__rpc__)
                continue
            with Transaction().set_user(0):
                records = Model.search([], limit=1)
            record = records[0] if records else None
            ids = [record.id] if record else []
            for name, field in sorted(Model._fields.items()):
                if name in {'id', 'create_uid', 'create_date', 'write_uid',
                        'write_date', 'rec_name'}:
                    continue
                if (isinstance(field, fields.Function) and not field.setter
                        and not field.readonly):
                    continue
                value = write_value(Model, record, name)
                code_only = (field.readonly is True
                    or (model, name) in SECRETS)
                for group, user_id in users.items():
                    may = (self.may_write_model(user_id, model)
                        and not code_only
                        and name not in CREATE_ONLY.get(model, ())
                        and (name not in ADMIN_ONLY.get(model, ())
                            or group == 'admin'))
                    with self.subTest(model=model, field=name, group=group):
                        if may:
                            rpc(user_id, model, 'write', ids, {name: value})
                        else:
                            with self.assertRaises(AccessError):
                                rpc(user_id, model, 'write', ids,
                                    {name: value})
                        checked += 1
        self.assertGreater(checked, 500)

    @with_transaction()
    def test_operator_cannot_redirect_commission(self):
        "The finding: an operator rewrote a member's path and depth"
        pool = Pool()
        Member = pool.get('duoduo.member')
        users = self.staff()
        stranger = self.a_member('13600000011')
        member = self.a_member('13600000012')
        for group, user_id in users.items():
            for values in [
                    {'path': f'{stranger.id}/{member.id}/'},
                    {'depth': 1},
                    {'registered_at': None},
                    {'pdd_authorized_at': None},
                    {'pdd_uid': 'stolen'},
                    {'state': 'disabled'},
                    {'team_size_1': 99},
                    {'referrer': stranger.id},
                    ]:
                with self.subTest(group=group, values=values):
                    with self.assertRaises(AccessError):
                        rpc(user_id, 'duoduo.member', 'write',
                            [member.id], values)
                    # nor at creation
                    if 'referrer' not in values:
                        with self.assertRaises(AccessError):
                            rpc(user_id, 'duoduo.member', 'create',
                                [dict(values, phone='13600000013')])
        member = Member(member.id)
        self.assertEqual(member.path, f'{member.id}/')
        self.assertEqual(member.state, 'active')
        self.assertIsNone(member.referrer)

    @with_transaction()
    def test_member_fields_per_group(self):
        pool = Pool()
        Member = pool.get('duoduo.member')
        Level = pool.get('duoduo.member.level')
        users = self.staff()
        member = self.a_member('13600000021')
        agent, = Level.search([('role', '=', 'city_agent')])
        changes = {
            'level': agent.id,
            'level_locked': True,
            'phone': '13600000022',
            'alipay_account': 'thief@example.com',
            'real_name': '小偷',
            'city': '杭州',
            }
        for name, value in changes.items():
            with self.subTest(field=name):
                for group in ['operator', 'finance']:
                    with self.assertRaises(AccessError):
                        rpc(users[group], 'duoduo.member', 'write',
                            [member.id], {name: value})
                rpc(users['admin'], 'duoduo.member', 'write',
                    [member.id], {name: value})
        # operators still look after the profile
        rpc(users['operator'], 'duoduo.member', 'write', [member.id],
            {'nickname': '新昵称', 'district': '西湖区'})
        self.assertEqual(Member(member.id).nickname, '新昵称')
        # buttons and wizards run as the system
        rpc(users['operator'], 'duoduo.member', 'disable', [member.id])
        self.assertEqual(Member(member.id).state, 'disabled')

    @with_transaction()
    def test_secrets_hidden_from_every_group(self):
        pool = Pool()
        Configuration = pool.get('duoduo.configuration')
        PddConfiguration = pool.get('duoduo.pdd.configuration')
        Authorization = pool.get('duoduo.pdd.authorization')
        Token = pool.get('duoduo.member.token')
        SmsCode = pool.get('duoduo.sms.code')
        users = self.staff()
        member = self.a_member('13600000031')
        Token.issue(member)
        SmsCode.send('13600000031', 'login')
        pdd = PddConfiguration(1)
        pdd.new_client_secret = 'the-client-secret'
        pdd.save()
        Authorization.create([{
                    'owner_id': 'o1', 'owner_name': 'o',
                    'access_token': 'the-access-token',
                    'refresh_token': 'the-refresh-token',
                    }])
        self.assertTrue(Configuration(1).get_hmac_key())
        for model, name in sorted(SECRETS):
            Model = pool.get(model)
            ids = [r.id for r in Model.search([])]
            self.assertTrue(ids, model)
            for group, user_id in users.items():
                with self.subTest(model=model, field=name, group=group):
                    calls = [
                        ('read', ids, [name]),
                        ('search', [(name, '>=', '')]),
                        ('search', [(name, '!=', None)]),
                        ('search_count', [(name, '>=', 'a')]),
                        ('search', [], 0, None, [(name, 'ASC')]),
                        ('search_read', [], 0, None, None, ['id', name]),
                        ('export_data', ids, [name]),
                        ('export_data_domain', [], [name]),
                        ]
                    for method, *args in calls:
                        with self.assertRaises(AccessError, msg=method):
                            rpc(user_id, model, method, *args)

    @with_transaction()
    def test_every_secret_looking_field_is_a_known_secret(self):
        "A new key (WeChat Pay's…) must be added to SECRETS and protected"
        for model, Model in duoduo_models():
            for name in Model._fields:
                if SECRET_NAME.search(name):
                    with self.subTest(model=model, field=name):
                        self.assertIn((model, name), SECRETS | NOT_SECRETS)

    @with_transaction()
    def test_client_secret_stays_write_only(self):
        "Administrators type a new secret; Test Connection reads it"
        pool = Pool()
        Configuration = pool.get('duoduo.pdd.configuration')
        users = self.staff()
        rpc(users['admin'], 'duoduo.pdd.configuration', 'write', [1],
            {'new_client_secret': ' typed-secret '})
        self.assertEqual(Configuration(1).setting('client_secret'),
            'typed-secret')
        values, = rpc(users['admin'], 'duoduo.pdd.configuration', 'read',
            [1], ['client_secret_masked', 'new_client_secret'])
        self.assertEqual(values['client_secret_masked'], '•' * 8 + 'cret')
        self.assertEqual(values['new_client_secret'], '')
        for group in ['operator', 'finance']:
            with self.assertRaises(AccessError):
                rpc(users[group], 'duoduo.pdd.configuration', 'write', [1],
                    {'new_client_secret': 'other'})
        view = rpc(users['admin'], 'duoduo.pdd.configuration',
            'fields_view_get', None, 'form')
        self.assertNotIn('client_secret', view['fields'])
        self.assertIn('new_client_secret', view['fields'])


def committed_as_the_dispatcher(function):
    "Run function in a transaction committed at the end, retried as the "
    "dispatcher does when it must lock a table"
    extras = {}
    while True:
        with Transaction().start(DB_NAME, 0, **extras) as transaction:
            try:
                function()
            except TransactionError as error:
                transaction.rollback()
                error.fix(extras)
                continue
            transaction.commit()
            return


class MemberChangeLogTestCase(ContractTestCase):
    "Who changed a member's phone, referrer or payout identity, and when"

    def changes(self, member_id):
        with committed():
            Member = Pool().get('duoduo.member')
            return [(c.field, c.old_value, c.new_value,
                    c.user.login if c.user else None,
                    c.actor_member.id if c.actor_member else None)
                for c in Member(member_id).changes]

    def test_member_changes_their_own_identity(self):
        token, user = self.login('13600000041')
        self.assertReply(self.post('/user/change_info/', {
                    'type': 'alipay', 'value': 'me@example.com'},
                token=token), 200, 200)
        self.assertReply(self.post('/user/change_info/', {
                    'type': 'realname', 'value': '张三'},
                token=token), 200, 200)
        self.assertReply(self.post('/user/change_info/', {
                    'type': 'nickname', 'value': '不记'},
                token=token), 200, 200)
        for phone in ['13600000041', '13600000042']:
            self.let_resend_interval_pass(phone)
            self.assertReply(self.post('/user/send_tel_code/', {
                        'phone': phone, 'scene': 'change_phone'},
                    token=token), 200, 200)
        self.assertReply(self.post('/user/change_phone/', {
                    'old_phone': '13600000041',
                    'old_code': last_code('13600000041', 'change_phone'),
                    'new_phone': '13600000042',
                    'new_code': last_code('13600000042', 'change_phone'),
                    }, token=token), 200, 200)
        appid, secret = 'wx0123456789abcdef', 'appsecret-for-tests'
        with WechatSimulator(appid, secret) as simulator, configured(
                'duoduo_wechat', appid=appid, secret=secret,
                api_base=simulator.url):
            code = simulator.issue_code('o-audit', unionid='u-audit')
            self.assertReply(self.post('/user/wx_bind/', {'code': code},
                    token=token), 200, 200)
        me = user['id']
        self.assertEqual(sorted(self.changes(me)), sorted([
                    ('alipay_account', '', 'me@example.com', None, me),
                    ('real_name', '', '张三', None, me),
                    ('phone', '13600000041', '13600000042', None, me),
                    ('wechat_openid', '', 'o-audit', None, me),
                    ('wechat_unionid', '', 'u-audit', None, me),
                    ]))

    def test_staff_changes_are_logged_with_the_user(self):
        with committed() as transaction:
            pool = Pool()
            Member = pool.get('duoduo.member')
            User = pool.get('res.user')
            ModelData = pool.get('ir.model.data')
            admin, = User.create([{'name': 'log admin', 'login': 'log_admin',
                        'groups': [('add', [ModelData.get_id(
                                        'duoduo_base',
                                        'group_duoduo_admin')])]}])
            leader, member = Member.create([
                    {'phone': '13600000051', 'nickname': 'leader'},
                    {'phone': '13600000052', 'nickname': 'member'},
                    ])
            admin_id, leader_id, member_id = admin.id, leader.id, member.id
            leader_name = leader.rec_name
            transaction.commit()
        def change():
            rpc(admin_id, 'duoduo.member', 'write', [member_id],
                {'phone': '13600000053', 'alipay_account': 'a@example.com'})
            # the Change Referrer wizard, as sao runs it
            Wizard = Pool().get('duoduo.member.change_referrer',
                type='wizard')
            with Transaction().set_user(admin_id), Transaction().set_context(
                    active_model='duoduo.member', active_id=member_id,
                    active_ids=[member_id]):
                session_id, _, _ = Wizard.create()
                Wizard.execute(session_id, {'start': {
                            'referrer': leader_id}}, 'change')
        committed_as_the_dispatcher(change)
        self.assertEqual(sorted(self.changes(member_id)), sorted([
                    ('phone', '13600000052', '13600000053', 'log_admin', None),
                    ('alipay_account', '', 'a@example.com', 'log_admin',
                        None),
                    ('referrer', '', leader_name, 'log_admin', None),
                    ]))
        with committed():
            pool = Pool()
            Member = pool.get('duoduo.member')
            # shown on the member form, read-only, to every group
            view = Member.fields_view_get(view_type='form')
            self.assertIn('changes', view['fields'])
            self.assertTrue(view['fields']['changes']['readonly'])
