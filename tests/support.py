"""What the cross-addon tests share: a member's-eye client of the contract,
and a commission world of members and PDD orders."""
import contextlib
import datetime as dt
import itertools
import json
import pathlib
from decimal import Decimal
from unittest import mock

from duoduo_simulators.pdd import PddSimulator

from trytond.modules.duoduo_base.tests.testing import DatabaseTestCase
from trytond.pool import Pool
from trytond.protocols.wrappers import Response
from trytond.tests.test_tryton import DB_NAME, Client
from trytond.transaction import Transaction
from trytond.wsgi import app


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


class ContractTestCase(DatabaseTestCase):
    """Talks to the contract's routes as the mini-program does: the one
    base of the HTTP tests"""
    module = 'duoduo_api'
    _phone_counter = 0

    @classmethod
    def setUpDatabase(cls):
        # members read Chinese: load the translations `trytond-admin -l
        # zh_CN` loads in production (once per run: the database is cached
        # with them)
        pool = Pool()
        Lang = pool.get('ir.lang')
        Translation = pool.get('ir.translation')
        Lang.write(Lang.search([('code', '=', 'zh_CN')]),
            {'translatable': True})
        for po in sorted(ADDONS.glob('*/locale/zh_CN.po')):
            Translation.translation_import('zh_CN', po.parents[1].name,
                [str(po)])

    def client(self):
        "A WSGI client of the server's routes (as RouteTestCase's)"
        return Client(app, Response)

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


def committed():
    "A transaction as root, committed at the end of the block"
    return Transaction().start(DB_NAME, 0)


# members, cities and simulator seeds are numbered from it: never twice
# in a run
_numbers = itertools.count(1)


class CommissionWorld:
    """A test case's commission world: a PDD simulator per test (the
    contract's [duoduo_pdd] pointed at it, the sync's clock on its time),
    members, and orders they buy through their link that PDD moves through
    its statuses, stored by the production upsert.

    Every step runs in a committed transaction of its own, as the sync
    does. The database is shared by the class's tests and entries are
    never deleted, so members and orders are new in every test; a test
    case picks its own seed, phone prefix and names (class attributes)."""
    seed = None            # the simulators' seeds: seed + a number
    phone_prefix = None    # 7 digits: the members' phones add 4
    nickname_prefix = 'm'
    city_prefix = 'city-'

    def setUp(self):
        super().setUp()
        # order numbers differ from the other tests'
        self.sim = self.enterContext(
            PddSimulator(seed=self.seed + self.number()))
        self.enterContext(simulated_pdd(self.sim))
        # the sync's clock is the simulator's (tests move it)
        from trytond.modules.duoduo_pdd import sync
        self.enterContext(mock.patch.object(sync, 'now', self.sim_now))

    @staticmethod
    def number():
        "A number not given before in this run"
        return next(_numbers)

    def sim_now(self):
        "The simulator's time, naive UTC"
        return dt.datetime.fromtimestamp(int(self.sim.now()),
            dt.timezone.utc).replace(tzinfo=None)

    def member(self, level=0, referrer=None, city=None, nickname=None,
            **values):
        "A new member of the level (code): its id"
        n = self.number()
        with committed():
            pool = Pool()
            Member = pool.get('duoduo.member')
            Level = pool.get('duoduo.member.level')
            level, = Level.search([('code', '=', level)])
            member, = Member.create([{
                        'phone': f'{self.phone_prefix}{n:04d}',
                        'nickname': nickname or f'{self.nickname_prefix}{n}',
                        'level': level.id,
                        'referrer': referrer,
                        'city': city,
                        **values,
                        }])
            return member.id

    def team(self, city=None):
        """top 合伙人 ← mid 超级会员 ← low 普通用户 ← buyer 普通用户, and a city
        agent in the buyer's city: {name: id}"""
        city = city or f'{self.city_prefix}{self.number()}'
        team = {}
        team['agent'] = self.member(level=3, city=city)
        team['top'] = self.member(level=2)
        team['mid'] = self.member(level=1, referrer=team['top'])
        team['low'] = self.member(level=0, referrer=team['mid'])
        team['buyer'] = self.member(level=0, referrer=team['low'],
            city=city)
        return team

    def token(self, member_id):
        "A login token of the member"
        with committed():
            pool = Pool()
            return pool.get('duoduo.member.token').issue(
                pool.get('duoduo.member')(member_id))

    def uid(self, member_id):
        with committed():
            return Pool().get('duoduo.member')(member_id).pdd_uid

    def buy(self, member_id, order_amount=10000, **kwargs):
        """The member buys through their link (amount in 分): the PDD item,
        not stored yet"""
        params = json.dumps({'uid': self.uid(member_id)},
            separators=(',', ':'))
        return self.sim.place_order(custom_parameters=params,
            order_amount=order_amount, **kwargs)

    def upsert(self, *items):
        "Store the PDD items as the sync does: [(order id, old, new status)]"
        with committed():
            Order = Pool().get('duoduo.pdd.order')
            result = Order.upsert_pdd_items(list(items))
            return [(o.id, old, new) for o, old, new in result.changes]

    def move(self, item, status):
        "PDD moves the order to status; we store what PDD answers"
        item = self.sim.set_order_status(item['order_sn'], status, advance=60)
        self.upsert(item)
        return item

    def order_id(self, item):
        with committed():
            Order = Pool().get('duoduo.pdd.order')
            order, = Order.search([('order_sn', '=', item['order_sn'])])
            return order.id

    def promotion(self, *items):
        "The items' promotion_amount (分) summed, in 元"
        return sum(((Decimal(i['promotion_amount']) / 100).quantize(
                    Decimal('0.01')) for i in items), Decimal('0.00'))

    def withdraw(self, member_id, amount, key):
        "A withdrawal asked (available → withdrawing), as finance posts it"
        with committed():
            Pool().get('duoduo.ledger.entry').post(key, [
                    {'account': 'member_available', 'member': member_id,
                        'amount': -amount},
                    {'account': 'member_withdrawing', 'member': member_id,
                        'amount': amount},
                    ], 'withdrawal')
