"""Mini-program login: the real wechatpy client against the WeChat simulator.

No database: only [duoduo_wechat] configuration and a loopback server."""
import contextlib
import socket
import threading

import pytest

from duoduo_simulators.wechat import WechatSimulator
from trytond.modules.duoduo_base import wechat

from support import configured

WechatLoginError = wechat.WechatLoginError
APPID = 'wx0123456789abcdef'
SECRET = 'duoduo-test-secret'
SECTION = 'duoduo_wechat'
OPTIONS = ['appid', 'secret', 'api_base', 'timeout']


@pytest.fixture
def wechat_config():
    """configure(**options) sets every [duoduo_wechat] option for one test
    (unnamed ones blank) and restores them after."""
    wechat._clients.clear()
    with contextlib.ExitStack() as stack:
        yield lambda **options: stack.enter_context(configured(SECTION,
                **{name: options.get(name, '') for name in OPTIONS}))
    wechat._clients.clear()


@pytest.fixture
def sim(wechat_config):
    with WechatSimulator(APPID, SECRET) as simulator:
        wechat_config(appid=APPID, secret=SECRET, api_base=simulator.url)
        yield simulator


def assert_login_error(js_code, errcode, member_message):
    with pytest.raises(WechatLoginError) as info:
        wechat.code_to_session(js_code)
    assert info.value.errcode == errcode
    assert info.value.member_message == member_message
    return info.value


def test_good_code_gives_openid(sim):
    code = sim.issue_code('o-member-1')

    result = wechat.code_to_session(code)

    assert result == {'openid': 'o-member-1', 'unionid': None}
    # wechatpy 1.8 fetches a token first; it must have reached the simulator
    assert sim.token_calls == 1
    assert sim.session_calls == 1


def test_unionid_when_configured(sim):
    code = sim.issue_code('o-member-2', unionid='u-open-platform-2')

    result = wechat.code_to_session(code)

    assert result == {'openid': 'o-member-2', 'unionid': 'u-open-platform-2'}


def test_session_key_never_returned(sim):
    code = sim.issue_code('o-member-3', unionid='u-3')

    result = wechat.code_to_session(code)

    # the simulator did hand one out, the result drops it
    assert sim.session_keys['o-member-3']
    assert 'session_key' not in result
    assert sim.session_keys['o-member-3'] not in result.values()


def test_reused_code(sim):
    code = sim.issue_code('o-member-4')
    wechat.code_to_session(code)

    assert_login_error(code, 40163, "微信登录凭证已被使用，请重新授权")


def test_unknown_code(sim):
    assert_login_error('not-a-code', 40029, "微信登录凭证无效，请重新授权")


def test_empty_code(sim):
    assert_login_error('', 40029, "微信登录凭证无效，请重新授权")
    assert sim.session_calls == 0


def test_expired_code(sim):
    code = sim.issue_code('o-member-5')
    sim.advance(301)

    assert_login_error(code, 40029, "微信登录凭证无效，请重新授权")


def test_code_just_before_expiry(sim):
    code = sim.issue_code('o-member-6')
    sim.advance(290)

    assert wechat.code_to_session(code)['openid'] == 'o-member-6'


@pytest.mark.parametrize('errcode, member_message', [
        (45011, "操作太频繁，请稍后再试"),
        (40226, "微信账号存在风险，暂不能绑定"),
        (-1, "微信服务暂时不可用，请稍后再试"),
        ])
def test_injected_errors(sim, errcode, member_message):
    code = sim.issue_code('o-member-7')
    sim.fail_next(errcode)

    error = assert_login_error(code, errcode, member_message)
    assert error.errmsg


def test_wrong_secret(sim, wechat_config):
    wechat_config(appid=APPID, secret='wrong', api_base=sim.url)
    code = sim.issue_code('o-member-8')

    # refused at cgi-bin/token already
    assert_login_error(code, 40125, "微信服务暂时不可用，请稍后再试")
    assert sim.session_calls == 0


def test_wrong_appid(sim, wechat_config):
    wechat_config(appid='wx-other', secret=SECRET, api_base=sim.url)
    code = sim.issue_code('o-member-9')

    assert_login_error(code, 40013, "微信服务暂时不可用，请稍后再试")


def test_not_configured(wechat_config):
    wechat_config(api_base='http://127.0.0.1:9/')

    error = assert_login_error('any', -3, "微信服务暂时不可用，请稍后再试")
    assert 'not configured' in error.errmsg


def test_unreachable_base(wechat_config):
    # a port that was just free: nothing listens, the connection is refused
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    wechat_config(appid=APPID, secret=SECRET,
        api_base=f'http://127.0.0.1:{port}/')

    assert_login_error('any', -2, "微信服务暂时不可用，请稍后再试")


def test_timeout_applies_to_token_fetch(wechat_config):
    # accepts connections (backlog) but never answers: without the
    # timeout wechatpy's token fetch would hang for ever
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        sock.listen(5)
        port = sock.getsockname()[1]
        wechat_config(appid=APPID, secret=SECRET, timeout=0.3,
            api_base=f'http://127.0.0.1:{port}/')

        assert_login_error('any', -2, "微信服务暂时不可用，请稍后再试")


def test_token_reused_between_logins(sim):
    for n in range(3):
        code = sim.issue_code(f'o-reuse-{n}')
        wechat.code_to_session(code)

    assert sim.token_calls == 1
    assert sim.session_calls == 3


def test_concurrent_logins_fetch_one_token(sim):
    codes = [sim.issue_code(f'o-concurrent-{n}') for n in range(8)]
    results, errors = [], []

    def login(code):
        try:
            results.append(wechat.code_to_session(code)['openid'])
        except Exception as exception:
            errors.append(exception)
    threads = [threading.Thread(target=login, args=(c,)) for c in codes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert sorted(results) == sorted(f'o-concurrent-{n}' for n in range(8))
    assert sim.token_calls == 1


def test_expired_token_is_refreshed_once(sim):
    wechat.code_to_session(sim.issue_code('o-refresh-1'))
    # the process still believes its token fresh, WeChat does not
    sim.advance(7300)
    code = sim.issue_code('o-refresh-2')

    assert wechat.code_to_session(code)['openid'] == 'o-refresh-2'
    assert sim.token_calls == 2
    # one rejected call with the stale token, one good retry
    assert sim.session_calls == 3


def test_token_invalidated_elsewhere(sim):
    wechat.code_to_session(sim.issue_code('o-elsewhere-1'))
    # another worker fetched a token; ours dies after the grace period
    sim._token({'grant_type': 'client_credential',
            'appid': APPID, 'secret': SECRET})
    sim.advance(301)

    code = sim.issue_code('o-elsewhere-2')
    assert wechat.code_to_session(code)['openid'] == 'o-elsewhere-2'
