"""Loopback WeChat login API: cgi-bin/token and sns/jscode2session.

Behaves like api.weixin.qq.com as far as login needs: errors are HTTP 200
with {"errcode", "errmsg"}, codes are single use and expire after 5 minutes,
a new access token leaves the previous ones valid for 5 more minutes only.
The clock is the simulator's own (see advance()) so tests need not sleep.
"""
import base64
import os
import secrets

from .base import Simulator, SimulatorHandler

CODE_TTL = 300
TOKEN_TTL = 7200
# WeChat keeps the previous access token working this long after a new one
TOKEN_GRACE = 300

ERRORS = {
    -1: 'system error',
    40001: 'invalid credential, access_token is invalid or not latest',
    40002: 'invalid grant_type',
    40013: 'invalid appid',
    40029: 'invalid code',
    40125: 'invalid appsecret',
    40163: 'code been used',
    40226: 'high risk user',
    41002: 'appid missing',
    41004: 'appsecret missing',
    41008: 'missing code',
    42001: 'access_token expired',
    45011: 'api minute-quota reach limit mustslower retry next minute',
    }


class WechatHandler(SimulatorHandler):

    def handle_request(self):
        sim = self.simulator
        if self.command != 'GET':
            self.send_json({'errcode': 43001, 'errmsg': 'require GET method'})
            return
        route = {
            '/cgi-bin/token': sim._token,
            '/sns/jscode2session': sim._jscode2session,
            }.get(self.route)
        if route is None:
            self.send_json({'errcode': 404, 'errmsg': 'not found'}, 404)
            return
        with sim.lock:
            # injected failures count as calls too
            if self.route == '/cgi-bin/token':
                sim.token_calls += 1
            else:
                sim.session_calls += 1
            injected = sim._injected.pop(self.route, None)
            if injected:
                answer = injected
            else:
                answer = route(self.query)
        self.send_json(answer)


def _error(errcode, errmsg=None):
    return {'errcode': errcode, 'errmsg': errmsg or ERRORS.get(errcode, '')}


class WechatSimulator(Simulator):
    handler_class = WechatHandler

    def __init__(self, appid, secret, **kwargs):
        super().__init__(**kwargs)
        self.appid = appid
        self.secret = secret
        self.token_calls = 0
        self.session_calls = 0
        self.codes = {}         # code -> {openid, unionid, expires, used}
        self.tokens = {}        # access token -> expiry (simulator time)
        self.session_keys = {}  # openid -> last session_key issued
        self._injected = {}     # route -> error answer for its next call

    def issue_code(self, openid, unionid=None):
        "Mint a code as wx.login() would give the mini-program"
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = {
                'openid': openid,
                'unionid': unionid,
                'expires': self.now() + CODE_TTL,
                'used': False,
                }
        return code

    def fail_next(self, errcode, errmsg=None, route='/sns/jscode2session'):
        "Answer the next call of route with this error"
        with self.lock:
            self._injected[route] = _error(errcode, errmsg)

    def _check_app(self, query):
        if not query.get('appid'):
            return _error(41002)
        if query['appid'] != self.appid:
            return _error(40013)
        if not query.get('secret'):
            return _error(41004)
        if query['secret'] != self.secret:
            return _error(40125)

    def _token(self, query):
        if query.get('grant_type') != 'client_credential':
            return _error(40002)
        error = self._check_app(query)
        if error:
            return error
        now = self.now()
        for token, expires in self.tokens.items():
            self.tokens[token] = min(expires, now + TOKEN_GRACE)
        token = secrets.token_urlsafe(48)
        self.tokens[token] = now + TOKEN_TTL
        return {'access_token': token, 'expires_in': TOKEN_TTL}

    def _jscode2session(self, query):
        # WeChat does not need a token here, but wechatpy sends one: if
        # present it must be a live one, which exercises token refresh
        if 'access_token' in query:
            expires = self.tokens.get(query['access_token'])
            if expires is None:
                return _error(40001)
            if expires <= self.now():
                return _error(42001)
        error = self._check_app(query)
        if error:
            return error
        if query.get('grant_type') != 'authorization_code':
            return _error(40002)
        if not query.get('js_code'):
            return _error(41008)
        code = self.codes.get(query['js_code'])
        if code is None or code['expires'] <= self.now():
            # WeChat does not tell an expired code from an unknown one
            return _error(40029)
        if code['used']:
            return _error(40163)
        code['used'] = True
        session_key = base64.b64encode(os.urandom(16)).decode('ascii')
        self.session_keys[code['openid']] = session_key
        answer = {'openid': code['openid'], 'session_key': session_key}
        if code['unionid']:
            answer['unionid'] = code['unionid']
        return answer
