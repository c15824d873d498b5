"""WeChat mini-program login (code2session) through wechatpy.

Configuration, section [duoduo_wechat]:
    appid, secret: the mini-program credentials
    api_base: WeChat API root, 'https://api.weixin.qq.com/' by default (the
        simulators put their loopback URL here)
    timeout: seconds to wait for WeChat, 5 by default

wechatpy 1.8 sends an access_token with every call, so code_to_session first
fetches cgi-bin/token. The client is therefore kept per process and per
configuration: the token is reused until it expires instead of being fetched
(and the previous one invalidated) on each login.
"""
import logging
import threading
import time

import requests
from wechatpy import WeChatClient
from wechatpy.client.api import WeChatWxa
from wechatpy.exceptions import WeChatClientException

# trytond 8.0: the module is the configuration (trytond.config.config is
# deprecated)
from trytond import config

from .i18n import gettext

logger = logging.getLogger(__name__)

DEFAULT_API_BASE = 'https://api.weixin.qq.com/'
DEFAULT_TIMEOUT = 5

ERR_SYSTEM_BUSY = -1
ERR_NETWORK = -2
ERR_NOT_CONFIGURED = -3

# WeChat's codes the member can act on → what they read (ir.message)
MEMBER_MESSAGES = {
    40029: 'duoduo_base.msg_wechat_code_invalid',
    40163: 'duoduo_base.msg_wechat_code_used',
    45011: 'duoduo_base.msg_wechat_too_frequent',
    40226: 'duoduo_base.msg_wechat_account_risky',
    }
DEFAULT_MEMBER_MESSAGE = 'duoduo_base.msg_wechat_unavailable'

# WeChat answers these when the access_token sent is stale or unknown
TOKEN_ERRORS = {40001, 40014, 42001}


class WechatLoginError(Exception):
    """WeChat refused or could not be asked.

    errcode is WeChat's code, or -2 for a network failure and -3 for missing
    configuration; errmsg is for staff, member_message for the member."""

    def __init__(self, errcode, errmsg=''):
        super().__init__(errcode, errmsg)
        self.errcode = int(errcode)
        self.errmsg = errmsg

    def __str__(self):
        return f'WeChat login error {self.errcode}: {self.errmsg}'

    @property
    def member_message(self):
        "In the transaction's language, else the members'"
        return gettext(
            MEMBER_MESSAGES.get(self.errcode, DEFAULT_MEMBER_MESSAGE))


class _TimeoutSession(requests.Session):
    "Applies a default timeout: wechatpy fetches the token without any"

    def __init__(self, timeout):
        super().__init__()
        self.default_timeout = timeout

    def request(self, method, url, **kwargs):
        if kwargs.get('timeout') is None:
            kwargs['timeout'] = self.default_timeout
        return super().request(method, url, **kwargs)


class _Wxa(WeChatWxa):
    "Mini-program API rooted at the client's configured base"

    @property
    def API_BASE_URL(self):
        return self._client.api_base


class _Client(WeChatClient):
    """WeChatClient whose cgi-bin calls, token fetch and wxa calls all go to
    api_base instead of the hard-coded api.weixin.qq.com."""
    # BaseWeChatClient.__new__ binds a fresh instance of each API to the client
    wxa = _Wxa()

    def __init__(self, appid, secret, api_base, timeout):
        # auto_retry is wechatpy's unbounded token retry; ours is bounded
        super().__init__(appid, secret, timeout=timeout, auto_retry=False)
        self.api_base = api_base
        self.API_BASE_URL = api_base + 'cgi-bin/'
        self._http = _TimeoutSession(timeout)
        self.token_lock = threading.Lock()

    def _token_fresh(self):
        return bool(self.expires_at
            and self.expires_at - time.time() > 60
            and self.session.get(self.access_token_key))

    def fetch_access_token(self):
        # Concurrent logins must not each fetch a token: every fetch
        # invalidates the previous token and counts against a daily quota
        with self.token_lock:
            if self._token_fresh():
                return
            return self._fetch_access_token(
                url=self.API_BASE_URL + 'token',
                params={
                    'grant_type': 'client_credential',
                    'appid': self.appid,
                    'secret': self.secret,
                    })

    def forget_token(self, token):
        "Drop token unless another thread already replaced it"
        with self.token_lock:
            if self.session.get(self.access_token_key) == token:
                self.session.delete(self.access_token_key)
                self.expires_at = None


_clients = {}
_clients_lock = threading.Lock()


def _get_client():
    appid = config.get('duoduo_wechat', 'appid', default='')
    secret = config.get('duoduo_wechat', 'secret', default='')
    if not appid or not secret:
        raise WechatLoginError(ERR_NOT_CONFIGURED,
            'WeChat mini-program appid/secret not configured')
    api_base = config.get('duoduo_wechat', 'api_base',
        default=DEFAULT_API_BASE) or DEFAULT_API_BASE
    if not api_base.endswith('/'):
        api_base += '/'
    # an empty value (e.g. an empty environment variable) means the default
    timeout = float(config.get('duoduo_wechat', 'timeout')
        or DEFAULT_TIMEOUT)
    key = (appid, secret, api_base, timeout)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = _Client(appid, secret, api_base, timeout)
    return client


def _call(client, js_code):
    try:
        return client.wxa.code_to_session(js_code)
    except WeChatClientException as exception:
        if exception.errcode is None:
            # wechatpy's wrapping of an HTTP error status
            raise WechatLoginError(ERR_NETWORK,
                f'HTTP error from WeChat: {exception.response}')
        raise WechatLoginError(exception.errcode, exception.errmsg)
    except requests.RequestException as exception:
        raise WechatLoginError(ERR_NETWORK, str(exception))


def code_to_session(js_code):
    """Exchange a wx.login() code for {'openid': ..., 'unionid': ... or None}.

    session_key is deliberately dropped: it must never reach the client and
    nothing here needs it."""
    if not js_code:
        raise WechatLoginError(40029, 'empty js_code')
    client = _get_client()
    token = client.session.get(client.access_token_key)
    try:
        try:
            result = _call(client, js_code)
        except WechatLoginError as exception:
            if exception.errcode not in TOKEN_ERRORS:
                raise
            # the cached token was invalidated (e.g. another process fetched
            # a new one): fetch a fresh one and try once more
            logger.info("WeChat rejected access token (%s), refreshing",
                exception.errcode)
            client.forget_token(token)
            result = _call(client, js_code)
    except WechatLoginError as exception:
        # codes the member can act on are routine; anything else (bad
        # secret, IP allow-list, outage) needs staff attention
        log = (logger.info if exception.errcode in MEMBER_MESSAGES
            else logger.warning)
        log("WeChat code2session failed: %s", exception)
        raise
    if not isinstance(result, dict) or not result.get('openid'):
        raise WechatLoginError(ERR_SYSTEM_BUSY,
            'unexpected answer from jscode2session')
    return {
        'openid': result['openid'],
        'unionid': result.get('unionid') or None,
        }
