"""Loopback Pinduoduo open-platform gateway (多多进宝 / 多多客 APIs).

Behaves like https://gw-api.pinduoduo.com/api/router as far as duoduo needs
(see /work/shared/reference/pdd-open-platform.md):

- one gateway path `/api/router`, POST form-urlencoded, POST JSON,
  multipart or GET query; `type` names the API;
- the common parameters are checked in the gateway's order: type,
  client_id, timestamp (10 minutes of the wall clock), the MD5 `sign`
  (rebuilt here from the parameters as received), the API name, then the
  access_token of the OAuth-only (`pdd.ddk.oauth.*`) APIs;
- every answer is HTTP 200, either `{"<api>_response": {..., "request_id"}}`
  or `{"error_response": {error_code, error_msg, sub_code, sub_msg,
  request_id}}`; money in 分, rates in ‰, times in UNIX seconds;
- 备案: the APIs in `authority_required` refuse (50001 / sub_code 60001)
  a pid, or pid + uid of custom_parameters, that was not bound through the
  `channel_type=10` link of pdd.ddk.rp.prom.url.generate (its mobile_url
  is this simulator's `/authority` page: opening it binds) or bind();
- orders are placed by the tests (place_order) or bought on the landing
  page a promotion link points at, and move through the order statuses
  with set_order_status() or on a schedule, on the simulator clock;
- OAuth: `/open.html` auto-approves a demo account and redirects with a
  code that pdd.pop.auth.token.create exchanges once.

What PDD does not offer lives apart, under `/_simulator/` (control
endpoints for a demo run in another process) and in the Python methods.
"""
import copy
import datetime as dt
import email.policy
import hashlib
import itertools
import json
import os
import random
import secrets
import time
from email.parser import BytesParser
from html import escape
from urllib.parse import parse_qs, urlencode, urlsplit

from . import pdd_catalog
from .base import Simulator, SimulatorHandler

GATEWAY_PATH = '/api/router'
TIMESTAMP_TOLERANCE = 600       # the gateway accepts ±10 minutes
CODE_TTL = 600                  # OAuth code
TOKEN_TTL = 86400               # access token
REFRESH_TTL = 30 * 86400        # 多多进宝 authorization lapses monthly
ORDER_WINDOW = 86400            # increment.get: end - start
ORDER_HISTORY = 90 * 86400      # increment.get: only the last 90 days
CUSTOM_PARAMETERS_MAX = 64      # bytes
CHINA = pdd_catalog.CHINA

WE_APP_ID = 'wx32540bd863b27570'
WE_APP_USER_NAME = 'gh_0e7477744313@app'
WE_APP_ICON = 'http://xcxcdn.yangkeduo.com/pdd_logo_v3.png'
AUTHORITY_HELP = 'https://jinbao.pinduoduo.com/qa-system?questionId=204'
AUTHORITY_SUB_MSG = (
    '未传入已经授权备案过的相关参数(pid/custom_parameters), '
    '授权备案说明链接：' + AUTHORITY_HELP)
GOODS_SIGN_SUB_MSG = 'goodsSign解析错误,请检查参数是否正确'
WINDOW_SUB_MSG = '时间跨度不能超过24小时'

ERRORS = {
    10000: '参数错误',
    10001: '公共参数错误',
    10016: 'client下线或者clientId不正确',
    10017: 'type不正确',
    10019: 'access_token已过期',
    20004: '签名sign校验失败',
    20005: '请加入ip白名单',
    20031: '用户没有授权访问此接口',
    20032: 'access_token或client_id错误',
    21001: '业务参数错误',
    21002: '必填参数为空',
    50000: '系统内部错误',
    50001: '业务服务错误',
    50002: '网关内部错误',
    52001: '服务调用失败',
    52002: '服务调用超时',
    52101: '当前接口被限流',
    52102: '当前接口被降级',
    52103: '服务暂时不可用',
    70031: '调用过于频繁',
    70032: '当前请求被禁止',
    70033: '服务维护中',
    70034: '当前用户存在风险',
    70035: '当前应用存在风险，请联系ddjb@pinduoduo.com',
    70036: '应用处于测试状态，调用次数受限',
    }

STATUS_DESC = {
    -1: '未支付',
    0: '已支付',
    1: '已成团',
    2: '确认收货',
    3: '审核成功',
    4: '审核失败（不可提现）',
    5: '已经结算',
    8: '非多多进宝商品（无佣金订单）',
    10: '已处罚',
    }
# the time each status stamps (once) on its way
STAMPS = [
    ('order_group_success_time', {1, 2, 3, 4, 5}),
    ('order_receive_time', {2, 3, 4, 5}),
    ('order_verify_time', {3, 4, 5}),
    ('order_settle_time', {5}),
    ]
# a purchase made on the landing page moves on by itself (demo)
PURCHASE_SCHEDULE = [(60, 1), (300, 2), (600, 3), (900, 5)]

# canonical API name -> (method, response key)
APIS = {
    'pdd.ddk.goods.search': ('_goods_search', 'goods_search_response'),
    'pdd.ddk.goods.detail': ('_goods_detail', 'goods_detail_response'),
    'pdd.ddk.goods.promotion.url.generate': (
        '_promotion_url', 'goods_promotion_url_generate_response'),
    'pdd.ddk.goods.recommend.get': (
        '_recommend', 'goods_basic_detail_response'),
    'pdd.goods.cats.get': ('_cats', 'goods_cats_get_response'),
    'pdd.goods.opt.get': ('_opts', 'goods_opt_get_response'),
    'pdd.ddk.goods.pid.generate': ('_pid_generate', 'p_id_generate_response'),
    'pdd.ddk.goods.pid.query': ('_pid_query', 'p_id_query_response'),
    'pdd.ddk.member.authority.query': (
        '_authority_query', 'authority_query_response'),
    'pdd.ddk.rp.prom.url.generate': (
        '_rp_url', 'rp_promotion_url_generate_response'),
    'pdd.ddk.order.list.increment.get': (
        '_order_increment', 'order_list_get_response'),
    'pdd.ddk.order.list.range.get': (
        '_order_range', 'order_list_get_response'),
    'pdd.ddk.order.detail.get': ('_order_detail', 'order_detail_response'),
    'pdd.pop.auth.token.create': (
        '_token_create', 'pop_auth_token_create_response'),
    'pdd.pop.auth.token.refresh': (
        '_token_refresh', 'pop_auth_token_refresh_response'),
    }
# 多多客工具 APIs: the same answers, but an access_token is required
OAUTH_APIS = {
    'pdd.ddk.oauth.goods.search': 'pdd.ddk.goods.search',
    'pdd.ddk.oauth.goods.detail': 'pdd.ddk.goods.detail',
    'pdd.ddk.oauth.goods.prom.url.generate':
        'pdd.ddk.goods.promotion.url.generate',
    'pdd.ddk.oauth.goods.recommend.get': 'pdd.ddk.goods.recommend.get',
    'pdd.ddk.oauth.goods.pid.generate': 'pdd.ddk.goods.pid.generate',
    'pdd.ddk.oauth.goods.pid.query': 'pdd.ddk.goods.pid.query',
    'pdd.ddk.oauth.member.authority.query': 'pdd.ddk.member.authority.query',
    'pdd.ddk.oauth.rp.prom.url.generate': 'pdd.ddk.rp.prom.url.generate',
    'pdd.ddk.oauth.order.detail.get': 'pdd.ddk.order.detail.get',
    }
# channel_type of recommend.get since 2021-04 (0 and 2 were retired)
RECOMMEND_CHANNELS = {1: '今日销量榜', 3: '相似商品推荐', 4: '猜你喜欢',
    5: '实时热销榜', 6: '实时收益榜'}
# the fixed 猜你喜欢 cat ids of the older doc -> our top category
LEGACY_GUESS_CATS = {20100: 15, 20200: 1590, 20300: 6398, 20400: 8439,
    20500: 5752, 20600: 743, 20800: 69, 20900: 239, 21000: 8172,
    21300: 18482}


def sign(params, secret):
    """The official MD5 signature: every parameter but `sign`, sorted by
    name, name+value concatenated, wrapped in the secret, upper hex."""
    text = ''.join(f'{k}{v}' for k, v in sorted(params.items())
        if k != 'sign' and v is not None)
    return hashlib.md5(
        f'{secret}{text}{secret}'.encode('utf-8')).hexdigest().upper()


def _wire(value, ascii_only=False):
    "A JSON body value as the string the client signed"
    if value is None:
        return None
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=ascii_only,
            separators=(',', ':'))
    return str(value)


class Refusal(Exception):
    "An error_response; raised by the API methods"

    def __init__(self, error_code, sub_code=None, sub_msg='',
            error_msg=None):
        super().__init__(error_code, sub_code, sub_msg)
        self.error_code = error_code
        self.sub_code = None if sub_code is None else str(sub_code)
        self.sub_msg = sub_msg or ''
        self.error_msg = error_msg or ERRORS.get(error_code, '')

    def body(self, request_id):
        return {'error_response': {
                'error_code': self.error_code,
                'error_msg': self.error_msg,
                'sub_code': self.sub_code,
                'sub_msg': self.sub_msg,
                'request_id': request_id,
                }}


def _business(sub_msg, sub_code=None):
    return Refusal(50001, sub_code, sub_msg)


def _param_error(sub_msg):
    return Refusal(10000, None, sub_msg)


def _public_error(name):
    return Refusal(10001, error_msg=f'公共参数错误:{name}')


def _str(params, name, required=False):
    value = params.get(name)
    if value in (None, ''):
        if required:
            raise _param_error(f'{name}不能为空')
        return None
    return value


def _int(params, name, default=None, required=False):
    value = _str(params, name, required)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise _param_error(f'{name}格式错误')


def _bool(params, name, default=False):
    value = _str(params, name)
    if value is None:
        return default
    return value.strip().lower() in {'true', '1'}


def _list(params, name, required=False):
    value = _str(params, name, required)
    if value is None:
        return None
    try:
        value = json.loads(value)
    except ValueError:
        raise _param_error(f'{name}格式错误，应为JSON数组')
    if not isinstance(value, list):
        raise _param_error(f'{name}格式错误，应为JSON数组')
    if required and not value:
        raise _param_error(f'{name}不能为空')
    return value


def _china_time(text):
    try:
        return int(dt.datetime.strptime(text, '%Y-%m-%d %H:%M:%S').replace(
                tzinfo=CHINA).timestamp())
    except (TypeError, ValueError):
        raise _param_error('时间格式错误，应为yyyy-MM-dd HH:mm:ss')


class PddHandler(SimulatorHandler):

    def handle_request(self):
        sim = self.simulator
        try:
            if self.route == GATEWAY_PATH:
                sim._gateway(self)
            elif self.route.startswith('/_simulator/'):
                sim._control(self)
            elif self.route == '/open.html':
                sim._oauth_page(self)
            elif self.route == '/authority':
                sim._authority_page(self)
            elif self.route == '/duo_coupon_landing.html':
                sim._landing_page(self)
            elif self.route == '/app.html':
                self.send_redirect('/' + self.query.get('launch_url', ''))
            elif self.route.startswith('/s/'):
                with sim.lock:
                    target = sim._short.get(self.route[3:])
                if target:
                    self.send_redirect(target)
                else:
                    self.send_html('<h1>链接不存在</h1>', 404)
            else:
                self.send_json({'error': 'not found'}, 404)
        except (BrokenPipeError, ConnectionResetError):
            # the client gave up (read timeout): nobody to answer
            pass
        finally:
            # what the request changed outlives a restart (--state)
            sim.save_state()

    def send_html(self, body, status=200):
        page = ('<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width">'
            '<title>多多进宝（模拟）</title></head><body>'
            f'{body}</body></html>')
        self.send_bytes(page.encode('utf-8'), status,
            'text/html; charset=utf-8')

    def send_redirect(self, location):
        self.send_bytes(b'', 302, 'text/plain', {'Location': location})

    def params(self):
        """(params, variants): the parameters as strings from the query and
        the body; variants are other string forms of a JSON body to accept
        in the signature (non-ASCII as \\u escapes)"""
        params = dict(self.query)
        variant = None
        content_type = (self.headers.get('Content-Type') or '').split(
            ';')[0].strip().lower()
        body = self.raw_body
        if self.command == 'POST' and body:
            if content_type == 'application/json':
                try:
                    data = json.loads(body.decode('utf-8'))
                except ValueError:
                    data = None
                if not isinstance(data, dict):
                    raise _public_error('type')
                variant = dict(params)
                for key, value in data.items():
                    if value is not None:
                        params[key] = _wire(value)
                        variant[key] = _wire(value, ascii_only=True)
            elif content_type == 'multipart/form-data':
                message = BytesParser(policy=email.policy.HTTP).parsebytes(
                    b'Content-Type: ' + self.headers['Content-Type'].encode(
                        'latin-1') + b'\r\n\r\n' + body)
                for part in message.iter_parts():
                    name = part.get_param('name', header='content-disposition')
                    if name:
                        params[name] = part.get_payload(
                            decode=True).decode('utf-8')
            else:
                params.update({k: v[-1] for k, v in parse_qs(
                            body.decode('utf-8'),
                            keep_blank_values=True).items()})
        return params, ([variant] if variant and variant != params else [])


class PddSimulator(Simulator):
    """The gateway plus the state behind it.

    client_id/client_secret: the app's credentials (add more to `clients`);
    duo_id: the 多多进宝 account, PIDs are `<duo_id>_<n>`; seed/goods_count:
    the catalog; owner_id/owner_name: the account /open.html approves;
    token_ttl/refresh_ttl: OAuth lifetimes in seconds."""
    handler_class = PddHandler

    def __init__(self, client_id='duoduo-sim',
            client_secret='duoduo-sim-secret', duo_id=9050214,
            seed=20231201, goods_count=150, owner_id='9050214',
            owner_name='多多进宝演示账号', token_ttl=TOKEN_TTL,
            refresh_ttl=REFRESH_TTL, pid_limit=100000, **kwargs):
        super().__init__(**kwargs)
        self.client_id = client_id
        self.client_secret = client_secret
        self.clients = {client_id: client_secret}
        self.duo_id = duo_id
        self.seed = seed
        self.owner_id = str(owner_id)
        self.owner_name = owner_name
        self.token_ttl = token_ttl
        self.refresh_ttl = refresh_ttl
        self.pid_limit = pid_limit
        self.authority_required = {'pdd.ddk.goods.promotion.url.generate'}
        self.test_status = False
        # where promotion/authority links point (this server by default)
        self.link_base = self.url
        self.purchase_schedule = list(PURCHASE_SCHEDULE)

        self.cats, self.opts = pdd_catalog.category_trees()
        self.goods, self.goods_meta = pdd_catalog.generate(
            seed, goods_count, now=self.now())
        self._goods_index = {g['goods_sign']: g for g in self.goods}

        self.bindings = set()       # (pid, uid or raw custom_parameters)
        self.pids = {}              # p_id -> p_id_query item
        self._next_pid = 10000000 + seed % 1000 * 1000
        self.pid = self._create_pid('默认推广位')['p_id']
        self.orders = {}            # order_sn -> order item
        self._schedules = {}        # order_sn -> [(due, status)]
        self._order_rng = random.Random(seed + 1)
        self.codes = {}             # code -> {owner_id, owner_name, expires, used}
        self.tokens = {}            # access_token -> {owner_id, expires, revoked}
        self.refresh_tokens = {}    # refresh_token -> {...}
        self._calls = []            # (api_type, params)
        self._faults = []           # injected error answers
        self._delays = []
        self._short = {}            # short code -> long url
        self._request_ids = itertools.count(1)

    # -- state kept across restarts --

    # what a restart keeps: the clock, PIDs, 备案 bindings, orders and their
    # scheduled moves, OAuth codes and tokens, short links
    STATE = ['offset', 'pids', '_next_pid', 'bindings', 'orders',
        '_schedules', 'codes', 'tokens', 'refresh_tokens', '_short']
    state_path = None
    _saved_state = None

    def _state_json(self):
        with self.lock:
            state = {name: getattr(self, name) for name in self.STATE}
            state['bindings'] = sorted(
                [pid, uid] for pid, uid in self.bindings)
            return json.dumps(state, ensure_ascii=False, sort_keys=True)

    def save_state(self):
        "Write the state to state_path when it changed (atomically)"
        if not self.state_path:
            return
        with self.lock:
            text = self._state_json()
            if text == self._saved_state:
                return
            temporary = f'{self.state_path}.tmp'
            with open(temporary, 'w', encoding='utf-8') as file:
                file.write(text)
            os.replace(temporary, self.state_path)
            self._saved_state = text

    def load_state(self, path):
        """Keep the state in the JSON file path from now on, starting from
        what it holds (nothing when it does not exist yet)"""
        with self.lock:
            self.state_path = path
            if not os.path.exists(path):
                return
            with open(path, encoding='utf-8') as file:
                text = file.read()
            state = json.loads(text)
            for name in self.STATE:
                if name in state:
                    setattr(self, name, state[name])
            self.bindings = {tuple(b) for b in self.bindings}
            self._schedules = {sn: [tuple(s) for s in pending]
                for sn, pending in self._schedules.items()}
            self._saved_state = text

    # -- URLs --

    @property
    def gateway_url(self):
        return f'{self.url}{GATEWAY_PATH}'

    @property
    def authorize_url(self):
        return f'{self.url}/open.html'

    # -- clock --

    def advance(self, seconds):
        "Move the simulated clock forward; due order transitions happen"
        with self.lock:
            super().advance(seconds)
            self._apply_schedules()

    # -- catalog --

    def goods_by_sign(self, goods_sign):
        "A copy of the catalog item, or None"
        item = self._goods_index.get(goods_sign)
        return copy.deepcopy(item) if item else None

    def goods_id(self, goods_sign):
        "The goods_id PDD hides behind goods_sign (orders carry it)"
        return self.goods_meta[goods_sign]['goods_id']

    @staticmethod
    def coupon_price(item):
        "券后价 in 分"
        if item.get('has_coupon') and (item['coupon_min_order_amount']
                <= item['min_group_price']):
            return item['min_group_price'] - item['coupon_discount']
        return item['min_group_price']

    # -- 备案 --

    @staticmethod
    def _binding(pid, custom_parameters=None):
        uid = None
        if custom_parameters:
            uid = custom_parameters
            try:
                data = json.loads(custom_parameters)
            except ValueError:
                data = None
            if isinstance(data, dict) and data.get('uid') not in (None, ''):
                uid = str(data['uid'])
        return (pid, uid)

    def bind(self, pid, custom_parameters=None):
        "A member (or the owner, without custom_parameters) completes 备案"
        with self.lock:
            self.bindings.add(self._binding(pid, custom_parameters))

    def unbind(self, pid, custom_parameters=None):
        with self.lock:
            self.bindings.discard(self._binding(pid, custom_parameters))

    def is_bound(self, pid, custom_parameters=None):
        with self.lock:
            return self._binding(pid, custom_parameters) in self.bindings

    def authority_link(self, pid, custom_parameters=None):
        "The /authority page URL that binds pid (+ custom_parameters)"
        query = {'pid': pid}
        if custom_parameters:
            query['custom_parameters'] = custom_parameters
        return f'{self.link_base}/authority?{urlencode(query)}'

    # -- PIDs --

    def _create_pid(self, name='', media_id=None):
        self._next_pid += 1
        item = {
            'p_id': f'{self.duo_id}_{self._next_pid}',
            'pid_name': name or '',
            'create_time': int(self.now()),
            'media_id': media_id or 0,
            'status': 0,
            }
        self.pids[item['p_id']] = item
        return item

    # -- orders --

    def _order_sn(self):
        day = dt.datetime.fromtimestamp(self.now(), CHINA).strftime('%y%m%d')
        while True:
            sn = f'{day}-{self._order_rng.randrange(10 ** 14, 10 ** 15)}'
            if sn not in self.orders:
                return sn

    def place_order(self, goods_sign=None, pid=None, custom_parameters=None,
            quantity=1, status=0, schedule=None, order_amount=None,
            order_type=0, cpa_new=0):
        """A member buys through a promotion link: returns the order item.

        goods_sign: a catalog goods (default: the next one in turn); pid:
        default the account's first PID; custom_parameters: echoed verbatim;
        order_amount (分): default 券后价 × quantity; status: initial
        order_status; schedule: [(seconds after now, status), ...] applied
        when the simulator clock passes them."""
        with self.lock:
            self._apply_schedules()
            if goods_sign is None:
                goods_sign = self.goods[len(self.orders) % len(
                        self.goods)]['goods_sign']
            item = self._goods_index[goods_sign]
            meta = self.goods_meta[goods_sign]
            now = int(self.now())
            if order_amount is None:
                order_amount = self.coupon_price(item) * quantity
            rate = item['promotion_rate']
            sn = self._order_sn()
            order = {
                'order_sn': sn,
                'order_id': str(self._order_rng.randrange(
                        10 ** 17, 10 ** 18)),
                'goods_id': meta['goods_id'],
                'goods_sign': goods_sign,
                'goods_name': item['goods_name'],
                'goods_thumbnail_url': item['goods_thumbnail_url'],
                'goods_category_name': meta['category_name'],
                'goods_quantity': quantity,
                'goods_price': item['min_group_price'],
                'order_amount': order_amount,
                'promotion_rate': rate,
                'promotion_amount': order_amount * rate // 1000,
                'order_status': 0,
                'order_status_desc': STATUS_DESC[0],
                'order_create_time': now - 60,
                'order_pay_time': now - 30,
                'order_modify_at': now,
                'p_id': pid or self.pid,
                'fail_reason': '',
                'cpa_new': cpa_new,
                'type': order_type,
                'is_direct': 1,
                'batch_no': '',
                'group_id': self._order_rng.randrange(10 ** 12, 10 ** 13),
                'mall_id': item['mall_id'],
                'mall_name': item['mall_name'],
                'cat_ids': list(item['cat_ids']),
                'activity_tags': list(item['activity_tags']),
                'auth_duo_id': 0,
                'zs_duo_id': 0,
                'share_rate': 0,
                'share_amount': 0,
                'subsidy_type': 0,
                'subsidy_amount': 0,
                'price_compare_status': 0,
                'platform_discount': 0,
                'red_packet_type': 0,
                'no_subsidy_reason': '',
                }
            if custom_parameters is not None:
                order['custom_parameters'] = custom_parameters
            self.orders[sn] = order
            if status != 0:
                self._set_status(order, status, now)
            if schedule:
                self._schedules[sn] = sorted(
                    (now + seconds, new) for seconds, new in schedule)
            return copy.deepcopy(order)

    def order(self, order_sn):
        "A copy of the order item as PDD has it now"
        with self.lock:
            self._apply_schedules()
            return copy.deepcopy(self.orders[order_sn])

    def set_order_status(self, order_sn, status, advance=1):
        """Move the order to status (any int) `advance` seconds from now on
        the simulator clock (so order_modify_at moves forward)"""
        with self.lock:
            self.advance(advance)
            order = self.orders[order_sn]
            self._set_status(order, status, int(self.now()))
            return copy.deepcopy(order)

    def _set_status(self, order, status, at):
        at = max(at, order['order_modify_at'])
        order['order_status'] = status
        order['order_status_desc'] = STATUS_DESC.get(status, '')
        for field, statuses in STAMPS:
            if status in statuses and not order.get(field):
                order[field] = at
        if status == 5 and not order['batch_no']:
            order['batch_no'] = dt.datetime.fromtimestamp(
                at, CHINA).strftime('%Y%m%d') + f'{self.duo_id}'
        if status == 4:
            order['fail_reason'] = order['fail_reason'] or '订单已售后'
        elif status == 10:
            order['fail_reason'] = order['fail_reason'] or '违规推广，已处罚'
        order['order_modify_at'] = at

    def _apply_schedules(self):
        now = self.now()
        for sn in list(self._schedules):
            pending = self._schedules[sn]
            while pending and pending[0][0] <= now:
                due, status = pending.pop(0)
                self._set_status(self.orders[sn], status, int(due))
            if not pending:
                del self._schedules[sn]

    def demo_orders(self, count=8, pid=None):
        """Orders for a demo: some move on over the next 15 minutes"""
        plans = [
            [(120, 1), (300, 2), (480, 3), (720, 5)],
            [(60, 1), (240, 2), (420, 4)],
            [(90, 1)],
            [],
            [(30, 1), (150, 2), (270, 3)],
            [(200, 1), (400, 10)],
            ]
        orders = []
        for i in range(count):
            goods = self.goods[(i * 17) % len(self.goods)]
            orders.append(self.place_order(goods['goods_sign'], pid=pid,
                    quantity=1 + i % 2, schedule=plans[i % len(plans)]))
        return orders

    # -- OAuth --

    def issue_auth_code(self, owner_id=None, owner_name=None):
        "A code as the authorize page gives (10 minutes, single use)"
        code = secrets.token_hex(16)
        with self.lock:
            self.codes[code] = {
                'owner_id': str(owner_id or self.owner_id),
                'owner_name': owner_name or self.owner_name,
                'expires': self.now() + CODE_TTL,
                'used': False,
                }
        return code

    def expire_refresh(self, owner_id=None):
        "The owner's authorization lapses: refreshing fails with 10019"
        owner_id = str(owner_id or self.owner_id)
        with self.lock:
            for entry in self.refresh_tokens.values():
                if entry['owner_id'] == owner_id:
                    entry['expires'] = min(entry['expires'], self.now() - 1)

    def expire_tokens(self, owner_id=None):
        "The owner's access tokens expire (OAuth APIs answer 10019)"
        owner_id = str(owner_id or self.owner_id)
        with self.lock:
            for entry in self.tokens.values():
                if entry['owner_id'] == owner_id:
                    entry['expires'] = min(entry['expires'], self.now() - 1)

    # -- faults and inspection --

    def fail_next(self, api_type=None, error_code=52101, sub_code=None,
            sub_msg=None, times=1):
        """The next `times` well signed calls of api_type (any API when
        None) answer this error"""
        with self.lock:
            self._faults.append({'api_type': api_type, 'times': times,
                    'refusal': Refusal(error_code, sub_code, sub_msg)})

    def clear_faults(self):
        "Forget the faults and delays not yet used"
        with self.lock:
            self._faults.clear()
            self._delays.clear()

    def delay_next(self, seconds, api_type=None, times=1):
        "Hold back the next `times` answers of api_type (client timeouts)"
        with self.lock:
            self._delays.append({'api_type': api_type, 'times': times,
                    'seconds': seconds})

    def calls(self, api_type=None):
        """The parameters (strings, as signed) of the calls of api_type that
        passed the signature check, oldest first"""
        with self.lock:
            return [dict(p) for a, p in self._calls
                if api_type is None or a == api_type]

    @staticmethod
    def _pop(queue, api_type):
        for entry in queue:
            if entry['api_type'] in (None, api_type):
                entry['times'] -= 1
                if entry['times'] <= 0:
                    queue.remove(entry)
                return entry

    def _request_id(self):
        return f'{int(time.time() * 1000)}{next(self._request_ids) % 10000:04d}'

    # -- the gateway --

    def _gateway(self, handler):
        try:
            params, variants = handler.params()
        except Refusal as refusal:
            handler.send_json(refusal.body(self._request_id()))
            return
        except (UnicodeDecodeError, ValueError):
            handler.send_json(_public_error('type').body(self._request_id()))
            return
        with self.lock:
            delay = self._pop(self._delays, params.get('type'))
            self._apply_schedules()
            answer = self._answer(params, variants)
        if delay:
            time.sleep(delay['seconds'])
        handler.send_json(answer)

    def _answer(self, params, variants=()):
        request_id = self._request_id()
        try:
            api = params.get('type')
            if not api:
                raise _public_error('type')
            client_id = params.get('client_id')
            if not client_id:
                raise _public_error('client_id')
            secret = self.clients.get(client_id)
            if secret is None:
                raise Refusal(10016)
            try:
                timestamp = int(params.get('timestamp') or '')
            except ValueError:
                raise _public_error('timestamp')
            if abs(self.wall_time() - timestamp) > TIMESTAMP_TOLERANCE:
                raise _public_error('timestamp')
            given = params.get('sign')
            if not given:
                raise _public_error('sign')
            if not any(sign(p, secret) == given.upper()
                    for p in [params, *variants]):
                raise Refusal(20004)
            data_type = params.get('data_type')
            if data_type and data_type.upper() not in {'JSON', 'XML'}:
                raise _public_error('data_type')
            canonical = OAUTH_APIS.get(api, api)
            if canonical not in APIS:
                raise Refusal(10017)
            self._calls.append((api, dict(params)))
            if self.test_status:
                raise Refusal(70036)
            fault = self._pop(self._faults, api)
            if fault:
                raise fault['refusal']
            if api in OAUTH_APIS:
                self._check_token(params.get('access_token'))
            method, key = APIS[canonical]
            body = getattr(self, method)(params, api)
            body['request_id'] = request_id
            return {key: body}
        except Refusal as refusal:
            return refusal.body(request_id)

    def _check_token(self, token):
        entry = self.tokens.get(token) if token else None
        if entry is None or entry['revoked']:
            raise Refusal(20032)
        if entry['expires'] <= self.now():
            raise Refusal(10019)

    def _check_custom_parameters(self, custom_parameters):
        if custom_parameters and len(custom_parameters.encode(
                    'utf-8')) > CUSTOM_PARAMETERS_MAX:
            raise _param_error('custom_parameters长度不能超过64个字节')

    def _check_authority(self, api, pid, custom_parameters):
        self._check_custom_parameters(custom_parameters)
        if not ({api, OAUTH_APIS.get(api, api)} & self.authority_required):
            return
        if not pid or self._binding(pid, custom_parameters) not in (
                self.bindings):
            raise _business(AUTHORITY_SUB_MSG, '60001')

    def _goods(self, goods_sign):
        item = self._goods_index.get(goods_sign) if isinstance(
            goods_sign, str) else None
        if item is None:
            raise _business(GOODS_SIGN_SUB_MSG, '10002')
        return item

    @staticmethod
    def _ids():
        "(search_id, list_id) as PDD hands out"
        return (dt.datetime.now(CHINA).strftime('%Y%m%d')
            + secrets.token_hex(12), secrets.token_hex(16))

    def _matches(self, item, terms):
        meta = self.goods_meta[item['goods_sign']]
        text = ' '.join([item['goods_name'], item['mall_name'],
                item['brand_name'], item['opt_name'],
                meta['category_name']]).lower()
        return all(t in text for t in terms)

    # sort_type (odd = ascending, next even = descending) -> key
    SORT_KEYS = {
        1: lambda s, g: g['promotion_rate'],
        3: lambda s, g: g['min_group_price'],
        5: lambda s, g: s.goods_meta[g['goods_sign']]['sales'],
        7: lambda s, g: g['coupon_discount'],
        9: lambda s, g: s.coupon_price(g),
        11: lambda s, g: s.goods_meta[g['goods_sign']]['joined'],
        13: lambda s, g: s.coupon_price(g) * g['promotion_rate'],
        }
    RANGE_KEYS = {
        0: lambda s, g: g['min_group_price'],
        1: lambda s, g: s.coupon_price(g),
        2: lambda s, g: g['promotion_rate'],
        3: lambda s, g: g['coupon_discount'],
        5: lambda s, g: s.goods_meta[g['goods_sign']]['sales'],
        6: lambda s, g: s.coupon_price(g) * g['promotion_rate'] // 1000,
        }

    def _goods_search(self, params, api):
        self._check_authority(api, params.get('pid'),
            params.get('custom_parameters'))
        keyword = (params.get('keyword') or '').strip()
        opt_id = _int(params, 'opt_id')
        cat_id = _int(params, 'cat_id')
        signs = _list(params, 'goods_sign_list')
        sort_type = _int(params, 'sort_type', 0)
        with_coupon = _bool(params, 'with_coupon')
        brand_only = _bool(params, 'is_brand_goods')
        ranges = _list(params, 'range_list') or []
        activity_tags = _list(params, 'activity_tags')
        merchant_types = _list(params, 'merchant_type_list')
        if merchant_types is None and _int(params, 'merchant_type'):
            merchant_types = [_int(params, 'merchant_type')]
        page = _int(params, 'page', 1)
        page_size = _int(params, 'page_size', 100)
        if page < 1:
            raise _param_error('page必须大于0')
        if not 1 <= page_size <= 100:
            raise _param_error('page_size取值范围为1~100')

        # a goods_sign or a goods link as keyword finds that goods
        for text in [keyword, *parse_qs(urlsplit(keyword).query).get(
                    'goods_sign', [])]:
            if text in self._goods_index:
                signs, keyword = [text], ''
        terms = keyword.lower().split()
        found = []
        for item in self.goods:
            meta = self.goods_meta[item['goods_sign']]
            if signs is not None and item['goods_sign'] not in signs:
                continue
            if terms and not self._matches(item, terms):
                continue
            if opt_id and opt_id not in item['opt_ids']:
                continue
            if cat_id and cat_id not in item['cat_ids']:
                continue
            if with_coupon and not item['has_coupon']:
                continue
            if brand_only and not meta['is_brand']:
                continue
            if activity_tags and not set(activity_tags) & set(
                    item['activity_tags']):
                continue
            if merchant_types and item['merchant_type'] not in merchant_types:
                continue
            if not self._in_ranges(item, ranges):
                continue
            found.append(item)
        found = self._sorted(found, sort_type)
        search_id, list_id = self._ids()
        chunk = found[(page - 1) * page_size:page * page_size]
        return {
            'goods_list': [dict(copy.deepcopy(g), search_id=search_id)
                for g in chunk],
            'list_id': params.get('list_id') or list_id,
            'search_id': search_id,
            'total_count': len(found),
            }

    def _in_ranges(self, item, ranges):
        for entry in ranges:
            if not isinstance(entry, dict):
                raise _param_error('range_list格式错误')
            key = self.RANGE_KEYS.get(entry.get('range_id'))
            if key is None:
                continue
            value = key(self, item)
            low, high = entry.get('range_from'), entry.get('range_to')
            if low is not None and value < low:
                return False
            if high is not None and value > high:
                return False
        return True

    def _sorted(self, items, sort_type):
        base = sort_type - (sort_type % 2 == 0) if sort_type else 0
        rank = lambda g: self.goods_meta[g['goods_sign']]['rank']  # noqa
        items = sorted(items, key=rank)
        key = self.SORT_KEYS.get(base)
        if key:
            items.sort(key=lambda g: key(self, g),
                reverse=sort_type % 2 == 0)
        return items

    def _goods_detail(self, params, api):
        self._check_authority(api, params.get('pid'),
            params.get('custom_parameters'))
        item = copy.deepcopy(self._goods(params.get('goods_sign')))
        meta = self.goods_meta[item['goods_sign']]
        item.update({
                'goods_gallery_urls': list(meta['gallery']),
                'video_urls': [],
                'mall_img_url': item['goods_thumbnail_url'].replace(
                    '.jpeg', '_mall.jpeg'),
                'cat_id': meta['cat_id'],
                'is_multi_group': False,
                'material_list': [],
                'platform_discount_list': [],
                })
        return {'goods_details': [item]}

    # -- links --

    def _short_url(self, long_url):
        code = secrets.token_urlsafe(6)
        self._short[code] = long_url
        return f'{self.link_base}/s/{code}'

    def _we_app_info(self, title, page_path, banner_url=''):
        return {
            'app_id': WE_APP_ID,
            'user_name': WE_APP_USER_NAME,
            'page_path': page_path,
            'title': title,
            'desc': '拼多多，多实惠',
            'banner_url': banner_url,
            'we_app_icon_url': WE_APP_ICON,
            'source_display_name': '拼多多',
            }

    def _goods_link(self, item, pid, custom_parameters, params):
        cps_sign = 'CC_{}_{}_{}'.format(
            dt.datetime.fromtimestamp(self.now(), CHINA).strftime('%y%m%d'),
            pid, secrets.token_hex(16))
        query = {'goods_sign': item['goods_sign'], 'pid': pid}
        if custom_parameters:
            query['customParameters'] = custom_parameters
        if params.get('search_id'):
            query['search_id'] = params['search_id']
        query.update({'cpsSign': cps_sign, 'duoduo_type': 2})
        qs = urlencode(query)
        url = f'{self.link_base}/duo_coupon_landing.html?{qs}'
        mobile_url = f'{self.link_base}/app.html?' + urlencode(
            {'launch_url': f'duo_coupon_landing.html?{qs}'})
        link = {
            'url': url,
            'mobile_url': mobile_url,
            }
        if _bool(params, 'multi_group'):
            link['multi_group_url'] = url + '&multi_group=1'
            link['multi_group_mobile_url'] = mobile_url
        if _bool(params, 'generate_short_url'):
            link['short_url'] = self._short_url(url)
            link['mobile_short_url'] = self._short_url(mobile_url)
        if _bool(params, 'generate_schema_url'):
            link['schema_url'] = (
                'pinduoduo://com.xunmeng.pinduoduo/duo_coupon_landing.html?'
                + qs)
        if _bool(params, 'generate_we_app'):
            link['we_app_info'] = self._we_app_info(item['goods_name'],
                f'package_a/welfare_coupon/welfare_coupon?{qs}',
                item['goods_image_url'])
        return link

    def _promotion_url(self, params, api):
        pid = _str(params, 'p_id', required=True)
        custom_parameters = params.get('custom_parameters')
        self._check_authority(api, pid, custom_parameters)
        signs = None
        gen_params = _list(params, 'goods_gen_url_param_list')
        if gen_params:
            signs = [p.get('goods_sign') for p in gen_params
                if isinstance(p, dict)]
        if not signs:
            signs = _list(params, 'goods_sign_list')
        if not signs and params.get('goods_sign'):
            signs = [params['goods_sign']]
        if not signs:
            raise _param_error('goods_sign_list不能为空')
        items = [self._goods(s) for s in signs]
        return {'goods_promotion_url_list': [
                self._goods_link(item, pid, custom_parameters, params)
                for item in items]}

    def _recommend(self, params, api):
        channel_type = _int(params, 'channel_type', 5)
        if channel_type not in RECOMMEND_CHANNELS:
            raise _business(f'channel_type={channel_type}不支持，'
                '可选值：1-今日销量榜，3-相似商品推荐，4-猜你喜欢，'
                '5-实时热销榜，6-实时收益榜')
        self._check_authority(api, params.get('pid'),
            params.get('custom_parameters'))
        limit = _int(params, 'limit', 20)
        offset = _int(params, 'offset', 0)
        if not 1 <= limit <= 100 or offset < 0:
            raise _param_error('limit取值范围为1~100，offset不能小于0')
        if offset % limit:
            raise _param_error('offset必须为limit的整数倍')
        items = list(self.goods)
        rank = lambda g: self.goods_meta[g['goods_sign']]['rank']  # noqa
        if channel_type == 1:
            items.sort(key=lambda g: -self.goods_meta[g['goods_sign']][
                    'sales'])
        elif channel_type == 3:
            signs = _list(params, 'goods_sign_list', required=True)
            base = self._goods(signs[0])
            items = sorted((g for g in items if g['cat_ids'][0]
                        == base['cat_ids'][0] and g is not base), key=rank)
        elif channel_type == 4:
            cat_id = _int(params, 'cat_id')
            cat_id = LEGACY_GUESS_CATS.get(cat_id, cat_id)
            items = sorted((g for g in items
                    if not cat_id or cat_id in g['cat_ids']),
                key=lambda g: -rank(g))
        elif channel_type == 5:
            # hot right now: an order that changes every hour
            hour = int(self.now() // 3600)
            items.sort(key=lambda g: random.Random(
                    f'{hour}{g["goods_sign"]}').random())
        elif channel_type == 6:
            items.sort(key=lambda g: -self.coupon_price(g)
                * g['promotion_rate'])
        activity_tags = _list(params, 'activity_tags')
        if activity_tags:
            items = [g for g in items
                if set(activity_tags) & set(g['activity_tags'])]
        search_id, list_id = self._ids()
        result = []
        for g in items[offset:offset + limit]:
            g = copy.deepcopy(g)
            g['search_id'] = search_id
            g['coupon_price'] = g['coupon_discount']
            g['share_desc'] = ''
            if channel_type == 5:
                sales = self.goods_meta[g['goods_sign']]['sales']
                g['realtime_sales_tip'] = str(max(1, sales // 2000))
            result.append(g)
        return {
            'list': result,
            'list_id': params.get('list_id') or list_id,
            'search_id': search_id,
            'total': len(items),
            }

    def _cats(self, params, api):
        parent = _int(params, 'parent_cat_id', required=True)
        return {'goods_cats_list': [dict(c) for c in self.cats
                if c['parent_cat_id'] == parent]}

    def _opts(self, params, api):
        parent = _int(params, 'parent_opt_id', required=True)
        return {'goods_opt_list': [dict(o) for o in self.opts
                if o['parent_opt_id'] == parent]}

    def _pid_generate(self, params, api):
        number = _int(params, 'number', required=True)
        if not 1 <= number <= 100:
            raise _business('number取值范围为1~100')
        names = _list(params, 'p_id_name_list') or []
        if len(self.pids) + number > self.pid_limit:
            raise _business('推广位数量已达上限')
        media_id = _int(params, 'media_id')
        created = [self._create_pid(
                str(names[i]) if i < len(names) else '', media_id)
            for i in range(number)]
        return {
            'p_id_list': [{k: p[k] for k in (
                        'p_id', 'pid_name', 'create_time', 'media_id')}
                for p in created],
            'remain_pid_count': self.pid_limit - len(self.pids),
            }

    def _pid_query(self, params, api):
        page = _int(params, 'page', 1)
        page_size = _int(params, 'page_size', 100)
        if page < 1 or not 1 <= page_size <= 100:
            raise _param_error('page必须大于0，page_size取值范围为1~100')
        pid_list = _list(params, 'pid_list')
        status = _int(params, 'status')
        found = [dict(p) for p in self.pids.values()
            if (not pid_list or p['p_id'] in pid_list)
            and (status is None or p['status'] == status)]
        return {
            'p_id_list': found[(page - 1) * page_size:page * page_size],
            'total_count': len(found),
            }

    def _authority_query(self, params, api):
        custom_parameters = params.get('custom_parameters')
        self._check_custom_parameters(custom_parameters)
        pid = params.get('pid')
        bound = bool(pid) and self._binding(
            pid, custom_parameters) in self.bindings
        return {'bind': int(bound)}

    def _rp_url(self, params, api):
        pids = _list(params, 'p_id_list', required=True)
        if len(pids) > 1:
            raise _business('活动页生链要求传入授权备案信息，不支持批量生链')
        pid = str(pids[0])
        custom_parameters = params.get('custom_parameters')
        channel_type = _int(params, 'channel_type', -1)
        if channel_type == 10:
            self._check_custom_parameters(custom_parameters)
            url = self.authority_link(pid, custom_parameters)
            title = '多多进宝授权备案'
            page_path = 'pages/web/web?' + urlencode({'src': url})
        else:
            self._check_authority(api, pid, custom_parameters)
            query = {'pid': pid, 'channel_type': channel_type}
            if custom_parameters:
                query['customParameters'] = custom_parameters
            url = ('https://mobile.yangkeduo.com/promotion_op.html?'
                + urlencode(query))
            title = '拼多多活动'
            page_path = 'pages/web/web?' + urlencode({'src': url})
        link = {'url': url, 'mobile_url': url}
        if _bool(params, 'generate_short_url'):
            link['short_url'] = self._short_url(url)
            link['mobile_short_url'] = link['short_url']
        if _bool(params, 'generate_schema_url'):
            link['schema_url'] = ('pinduoduo://com.xunmeng.pinduoduo/'
                + url.split('/', 3)[3])
        if _bool(params, 'generate_we_app'):
            link['we_app_info'] = self._we_app_info(title, page_path)
        return {'url_list': [link], 'resource_list': []}

    def _order_increment(self, params, api):
        start = _int(params, 'start_update_time', required=True)
        end = _int(params, 'end_update_time', required=True)
        if end < start:
            raise _business('结束时间不能早于开始时间')
        if end - start > ORDER_WINDOW:
            raise _business(WINDOW_SUB_MSG)
        if start < self.now() - ORDER_HISTORY:
            raise _business('只能查询最近90天的订单')
        page = _int(params, 'page', 1)
        page_size = _int(params, 'page_size', 100)
        if not 1 <= page <= 10000:
            raise _param_error('page取值范围为1~10000')
        if not 10 <= page_size <= 100:
            raise _param_error('page_size取值范围为10~100')
        found = sorted((o for o in self.orders.values()
                if start <= o['order_modify_at'] <= end),
            key=lambda o: (o['order_modify_at'], o['order_sn']))
        body = {'order_list': copy.deepcopy(
                found[(page - 1) * page_size:page * page_size])}
        if _bool(params, 'return_count', True):
            body['total_count'] = len(found)
        return body

    def _order_range(self, params, api):
        start = _china_time(_str(params, 'start_time', required=True))
        end = _china_time(_str(params, 'end_time', required=True))
        if end < start:
            raise _business('结束时间不能早于开始时间')
        page_size = _int(params, 'page_size', 300)
        if not 1 <= page_size <= 300:
            raise _param_error('page_size取值范围为1~300')
        cursor = params.get('last_order_id')
        found = sorted((o for o in self.orders.values()
                if start <= o['order_pay_time'] <= end),
            key=lambda o: (o['order_pay_time'], o['order_sn']))
        if cursor:
            try:
                pay, sn = cursor.split('_', 1)
                after = (int(pay), sn)
            except ValueError:
                raise _param_error('last_order_id格式错误')
            found = [o for o in found
                if (o['order_pay_time'], o['order_sn']) > after]
        chunk = found[:page_size]
        last = (f'{chunk[-1]["order_pay_time"]}_{chunk[-1]["order_sn"]}'
            if chunk else cursor or '')
        return {'order_list': copy.deepcopy(chunk), 'last_order_id': last}

    def _order_detail(self, params, api):
        sn = _str(params, 'order_sn', required=True)
        order = self.orders.get(sn)
        if order is None:
            raise _business('订单不存在')
        detail = copy.deepcopy(order)
        detail['pid'] = detail.pop('p_id')
        detail.update({
                'return_status': 0,
                'cps_sign': f'CC_{sn}_{detail["pid"]}',
                'url_last_generate_time': detail['order_create_time'] - 120,
                })
        return detail

    # -- OAuth APIs --

    def _token_answer(self, access_token, refresh_token):
        now = int(self.now())
        access = self.tokens[access_token]
        refresh = self.refresh_tokens[refresh_token]
        expires_at = int(access['expires'])
        refresh_at = int(refresh['expires'])
        answer = {
            'access_token': access_token,
            'expires_in': expires_at - now,
            'expires_at': expires_at,
            'refresh_token': refresh_token,
            'refresh_token_expires_in': refresh_at - now,
            'refresh_token_expires_at': refresh_at,
            'owner_id': access['owner_id'],
            'owner_name': access['owner_name'],
            'scope': sorted(OAUTH_APIS),
            }
        for prefix in ('r1', 'r2', 'w1', 'w2'):
            answer[f'{prefix}_expires_at'] = refresh_at
            answer[f'{prefix}_expires_in'] = refresh_at - now
        return answer

    def _new_access_token(self, owner_id, owner_name, refresh_token):
        token = secrets.token_hex(16)
        limit = self.refresh_tokens[refresh_token]['expires']
        self.tokens[token] = {
            'owner_id': owner_id, 'owner_name': owner_name,
            'expires': min(self.now() + self.token_ttl, limit),
            'refresh_token': refresh_token, 'revoked': False,
            }
        return token

    def _token_create(self, params, api):
        code = _str(params, 'code', required=True)
        entry = self.codes.get(code)
        if entry is None or entry['used'] or entry['expires'] <= self.now():
            raise _business('code无效或已过期，请重新授权')
        entry['used'] = True
        owner_id = entry['owner_id']
        # authorizing again revokes what the account had
        for tokens in (self.tokens, self.refresh_tokens):
            for old in tokens.values():
                if old['owner_id'] == owner_id:
                    old['revoked'] = True
        refresh = secrets.token_hex(16)
        self.refresh_tokens[refresh] = {
            'owner_id': owner_id, 'owner_name': entry['owner_name'],
            'expires': self.now() + self.refresh_ttl, 'revoked': False,
            }
        access = self._new_access_token(owner_id, entry['owner_name'],
            refresh)
        return self._token_answer(access, refresh)

    def _token_refresh(self, params, api):
        refresh = _str(params, 'refresh_token', required=True)
        entry = self.refresh_tokens.get(refresh)
        if entry is None or entry['revoked']:
            raise Refusal(20032)
        if entry['expires'] <= self.now():
            raise Refusal(10019, None, 'refresh_token已过期，请重新授权')
        access = self._new_access_token(entry['owner_id'],
            entry['owner_name'], refresh)
        return self._token_answer(access, refresh)

    # -- pages --

    def _oauth_page(self, handler):
        query = handler.query
        if query.get('client_id') not in self.clients:
            handler.send_html('<h1>client_id不正确</h1>', 400)
            return
        if query.get('response_type') != 'code':
            handler.send_html('<h1>response_type必须为code</h1>', 400)
            return
        redirect_uri = query.get('redirect_uri')
        if not redirect_uri:
            handler.send_html('<h1>redirect_uri不能为空</h1>', 400)
            return
        # the demo account approves at once
        answer = {'code': self.issue_auth_code()}
        if query.get('state') is not None:
            answer['state'] = query['state']
        separator = '&' if urlsplit(redirect_uri).query else '?'
        handler.send_redirect(redirect_uri + separator + urlencode(answer))

    def _authority_page(self, handler):
        pid = handler.query.get('pid')
        if not pid:
            handler.send_html('<h1>缺少推广位pid</h1>', 400)
            return
        custom_parameters = handler.query.get('custom_parameters') or None
        self.bind(pid, custom_parameters)
        _, uid = self._binding(pid, custom_parameters)
        handler.send_html(
            '<h1>授权备案成功</h1>'
            f'<p>推广位：{escape(pid)}</p>'
            + (f'<p>用户标识：{escape(uid)}</p>' if uid else '')
            + '<p>现在可以返回小程序继续推广。（多多进宝模拟器）</p>')

    def _landing_page(self, handler):
        query = dict(handler.query)
        if handler.command == 'POST':
            query.update({k: v[-1] for k, v in parse_qs(
                        handler.raw_body.decode('utf-8')).items()})
        item = self._goods_index.get(query.get('goods_sign'))
        if item is None:
            handler.send_html('<h1>商品不存在</h1>', 404)
            return
        if handler.command == 'POST':
            order = self.place_order(item['goods_sign'],
                pid=query.get('pid') or self.pid,
                custom_parameters=query.get('customParameters'),
                schedule=self.purchase_schedule)
            handler.send_html(
                f'<h1>支付成功</h1><p>订单号：{order["order_sn"]}</p>'
                f'<p>实付：¥{order["order_amount"] / 100:.2f}</p>'
                '<p>订单会在几分钟内依次成团、确认收货、审核、结算。</p>')
            return
        price = self.coupon_price(item)
        handler.send_html(
            f'<img src="{escape(item["goods_image_url"])}" width="240">'
            f'<h1>{escape(item["goods_name"])}</h1>'
            f'<p>券后价 ¥{price / 100:.2f}'
            f'（拼团价 ¥{item["min_group_price"] / 100:.2f}）</p>'
            f'<p>{escape(item["mall_name"])} · 已拼{item["sales_tip"]}件</p>'
            '<form method="post">'
            + ''.join(f'<input type="hidden" name="{escape(k)}" '
                f'value="{escape(v)}">' for k, v in query.items())
            + '<button type="submit">立即购买（模拟下单）</button></form>')

    # -- control endpoints (not PDD) --

    def _control(self, handler):
        path = handler.route[len('/_simulator/'):].strip('/')
        try:
            data = json.loads(handler.raw_body or b'{}')
        except ValueError:
            handler.send_json({'error': 'body must be JSON'}, 400)
            return
        if not isinstance(data, dict):
            handler.send_json({'error': 'body must be a JSON object'}, 400)
            return
        parts = path.split('/')
        try:
            if handler.command == 'GET' and path == 'state':
                answer = self.state()
            elif handler.command == 'POST' and path == 'orders':
                if data.get('goods_sign') and (
                        data['goods_sign'] not in self._goods_index):
                    handler.send_json({'error': 'unknown goods_sign'}, 400)
                    return
                answer = self.place_order(data.get('goods_sign'),
                    pid=data.get('pid'),
                    custom_parameters=data.get('custom_parameters'),
                    quantity=int(data.get('quantity', 1)),
                    status=int(data.get('status', 0)),
                    schedule=[tuple(s) for s in data.get('schedule') or []],
                    order_amount=data.get('order_amount'))
            elif (handler.command == 'POST' and len(parts) == 3
                    and parts[0] == 'orders' and parts[2] == 'status'):
                if parts[1] not in self.orders:
                    handler.send_json({'error': 'unknown order_sn'}, 404)
                    return
                answer = self.set_order_status(parts[1],
                    int(data['status']), int(data.get('advance', 1)))
            elif handler.command == 'POST' and path == 'advance':
                self.advance(float(data.get('seconds', 0)))
                answer = {'now': int(self.now())}
            elif handler.command == 'POST' and path == 'bind':
                self.bind(data['pid'], data.get('custom_parameters'))
                answer = {'bind': 1}
            else:
                handler.send_json({'error': 'not found'}, 404)
                return
        except (KeyError, TypeError, ValueError) as error:
            handler.send_json({'error': f'bad request: {error!r}'}, 400)
            return
        handler.send_json(answer)

    def state(self):
        "Counts, for the demo and for a glance in tests"
        with self.lock:
            self._apply_schedules()
            by_status = {}
            for order in self.orders.values():
                key = str(order['order_status'])
                by_status[key] = by_status.get(key, 0) + 1
            calls = {}
            for api, _ in self._calls:
                calls[api] = calls.get(api, 0) + 1
            return {
                'now': int(self.now()),
                'gateway_url': self.gateway_url,
                'goods': len(self.goods),
                'orders': len(self.orders),
                'orders_by_status': by_status,
                'scheduled_orders': len(self._schedules),
                'pids': len(self.pids),
                'default_pid': self.pid,
                'bindings': len(self.bindings),
                'tokens': sum(1 for t in self.tokens.values()
                    if not t['revoked'] and t['expires'] > self.now()),
                'calls': calls,
                }


__all__ = ['PddSimulator', 'sign', 'Refusal', 'STATUS_DESC', 'WE_APP_ID',
    'AUTHORITY_SUB_MSG', 'GOODS_SIGN_SUB_MSG', 'WINDOW_SUB_MSG']
