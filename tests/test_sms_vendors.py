"""SMS gateways: the real Aliyun and Tencent SDKs against their simulators,
and the log gateway.

No database: only the [duoduo_sms_*] configuration and loopback servers."""
import contextlib
import json
import logging
import re
import socket
import time
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests


from duoduo_simulators.sms_aliyun import AliyunSmsSimulator
from duoduo_simulators.sms_tencent import TencentSmsSimulator
from trytond.modules.duoduo_base import sms_gateway

from support import configured

PHONE = '13800138000'
CODE = '735291'
TTL = 300

ALIYUN = 'duoduo_sms_aliyun'
ALIYUN_KEY_ID = 'LTAI5tDuoduoTestKey'
ALIYUN_SECRET = 'aliyun-test-secret-0123456789'
ALIYUN_SIGN = '多多客'
ALIYUN_TEMPLATES = {'login': 'SMS_465900001', 'change_phone': 'SMS_465900002'}

TENCENT = 'duoduo_sms_tencent'
TENCENT_ID = 'AKIDduoduoTestSecretId'
TENCENT_KEY = 'tencent-test-secret-key-0123456789'
TENCENT_APP = '1400123456'
TENCENT_SIGN = '多多客'
TENCENT_TEMPLATES = {'login': '2100001', 'change_phone': '2100002'}


@pytest.fixture
def sms_config():
    "configure(section, **options) for one test, restored after"
    with contextlib.ExitStack() as stack:
        yield lambda section, **options: stack.enter_context(
            configured(section, **options))


def configure_aliyun(sms_config, endpoint, **options):
    values = {
        'access_key_id': ALIYUN_KEY_ID,
        'access_key_secret': ALIYUN_SECRET,
        'sign_name': ALIYUN_SIGN,
        'template_code_login': ALIYUN_TEMPLATES['login'],
        'template_code_change_phone': ALIYUN_TEMPLATES['change_phone'],
        'endpoint': endpoint,
        'protocol': 'http',
        }
    values.update(options)
    sms_config(ALIYUN, **values)


def configure_tencent(sms_config, endpoint, **options):
    values = {
        'secret_id': TENCENT_ID,
        'secret_key': TENCENT_KEY,
        'sdk_app_id': TENCENT_APP,
        'sign_name': TENCENT_SIGN,
        'template_id_login': TENCENT_TEMPLATES['login'],
        'template_id_change_phone': TENCENT_TEMPLATES['change_phone'],
        'region': 'ap-guangzhou',
        'endpoint': endpoint,
        'scheme': 'http',
        }
    values.update(options)
    sms_config(TENCENT, **values)


@pytest.fixture
def aliyun(sms_config):
    with AliyunSmsSimulator(ALIYUN_KEY_ID, ALIYUN_SECRET,
            sign_names=[ALIYUN_SIGN],
            templates=ALIYUN_TEMPLATES.values()) as simulator:
        configure_aliyun(sms_config, simulator.netloc)
        yield simulator


@pytest.fixture
def tencent(sms_config):
    with TencentSmsSimulator(TENCENT_ID, TENCENT_KEY,
            sdk_app_id=TENCENT_APP, sign_names=[TENCENT_SIGN],
            templates=TENCENT_TEMPLATES.values()) as simulator:
        configure_tencent(sms_config, simulator.netloc)
        yield simulator


def free_port():
    "A port that was just free: nothing listens, connections are refused"
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def count_connections(sock):
    "How many connections wait in the backlog of a listening socket"
    sock.settimeout(0.2)
    count = 0
    while True:
        try:
            connection, _ = sock.accept()
        except (socket.timeout, BlockingIOError):
            return count
        connection.close()
        count += 1


def replay(simulator, index=-1, path=None, body=None):
    "Send a recorded request again, possibly altered, as is otherwise"
    method, recorded_path, headers, raw_body = simulator.requests[index]
    return requests.request(method, simulator.url + (path or recorded_path),
        headers=headers, data=raw_body if body is None else body, timeout=5)


def assert_refused(result, status, throttled=False):
    assert (result.ok, result.status, result.throttled) == (
        False, status, throttled), result
    assert result.message
    assert result.vendor_id == ''


# Aliyun

def test_aliyun_delivers_code(aliyun):
    result = sms_gateway.AliyunGateway().send(PHONE, CODE, 'login', TTL)

    assert result.ok and result.status == 'OK', result
    assert result.vendor_id.endswith('^0')
    [message] = aliyun.delivered
    assert message['phone'] == PHONE
    assert message['code'] == CODE
    assert message['template'] == ALIYUN_TEMPLATES['login']
    assert message['sign'] == ALIYUN_SIGN
    assert message['params'] == {'code': CODE}
    assert message['biz_id'] == result.vendor_id
    # the SDK's RPC call: POST / with the parameters in the query
    method, path, headers, _ = aliyun.requests[0]
    assert method == 'POST'
    assert headers['x-acs-action'] == 'SendSms'
    assert headers['x-acs-version'] == '2017-05-25'
    assert headers['Authorization'].startswith('ACS3-HMAC-SHA256 ')


def test_aliyun_scene_template(aliyun):
    result = sms_gateway.AliyunGateway().send(
        PHONE, CODE, 'change_phone', TTL)

    assert result.ok, result
    assert aliyun.delivered[0]['template'] == (
        ALIYUN_TEMPLATES['change_phone'])


def test_aliyun_wrong_secret(aliyun, sms_config):
    configure_aliyun(sms_config, aliyun.netloc, access_key_secret='wrong')

    result = sms_gateway.AliyunGateway().send(PHONE, CODE, 'login', TTL)

    assert_refused(result, 'SignatureDoesNotMatch')
    assert aliyun.delivered == []


def test_aliyun_unknown_access_key(aliyun, sms_config):
    configure_aliyun(sms_config, aliyun.netloc, access_key_id='LTAIother')

    result = sms_gateway.AliyunGateway().send(PHONE, CODE, 'login', TTL)

    assert_refused(result, 'InvalidAccessKeyId.NotFound')
    assert aliyun.delivered == []


def test_aliyun_minute_limit(aliyun):
    gateway = sms_gateway.AliyunGateway()
    assert gateway.send(PHONE, CODE, 'login', TTL).ok

    result = gateway.send(PHONE, '111111', 'login', TTL)

    assert_refused(result, 'isv.BUSINESS_LIMIT_CONTROL', throttled=True)
    assert aliyun.codes(PHONE) == [CODE]
    # an other number is not limited
    assert gateway.send('13900139000', CODE, 'login', TTL).ok


def test_aliyun_hour_limit(aliyun):
    gateway = sms_gateway.AliyunGateway()
    for n in range(5):
        assert gateway.send(PHONE, f'00000{n}', 'login', TTL).ok
        aliyun.advance(61)

    result = gateway.send(PHONE, CODE, 'login', TTL)

    assert_refused(result, 'isv.BUSINESS_LIMIT_CONTROL', throttled=True)
    assert '小时' in result.message
    aliyun.advance(3600)
    assert gateway.send(PHONE, CODE, 'login', TTL).ok


@pytest.mark.parametrize('code, message, status, throttled', [
        ('isv.BUSINESS_LIMIT_CONTROL', '触发天级流控Permits:10', 200, True),
        ('isv.DAY_LIMIT_CONTROL', '触发日发送限额', 200, True),
        ('isv.AMOUNT_NOT_ENOUGH', '账户余额不足', 200, False),
        ('Throttling.User', 'Request was denied due to user flow control.',
            400, True),
        ('isp.SYSTEM_ERROR', 'system error', 500, False),
        ])
def test_aliyun_injected_refusal(aliyun, code, message, status, throttled):
    aliyun.fail_next(code, message, status=status)

    result = sms_gateway.AliyunGateway().send(PHONE, CODE, 'login', TTL)

    assert_refused(result, code, throttled=throttled)
    assert result.message == message
    assert aliyun.delivered == []
    # refused once, not retried
    assert len(aliyun.requests) == 1


def test_aliyun_invalid_number(aliyun):
    result = sms_gateway.AliyunGateway().send(
        '1380013800', CODE, 'login', TTL)

    assert_refused(result, 'isv.MOBILE_NUMBER_ILLEGAL')


def test_aliyun_unreachable(sms_config):
    configure_aliyun(sms_config, f'127.0.0.1:{free_port()}')

    result = sms_gateway.AliyunGateway().send(PHONE, CODE, 'login', TTL)

    assert_refused(result, 'NETWORK_ERROR')
    # the SDK's text has the URL, whose query holds the code
    assert CODE not in result.message


def test_aliyun_timeout_not_retried(sms_config, monkeypatch):
    monkeypatch.setattr(sms_gateway, 'READ_TIMEOUT', 0.3)
    # accepts connections (backlog) but never answers
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        sock.listen(5)
        configure_aliyun(sms_config,
            '127.0.0.1:%s' % sock.getsockname()[1])
        start = time.monotonic()

        result = sms_gateway.AliyunGateway().send(PHONE, CODE, 'login', TTL)

        # the 0.3 s read timeout applied, not a default of 5 s or more
        assert time.monotonic() - start < 4.5
        assert_refused(result, 'NETWORK_ERROR')
        assert 'may have been sent' in result.message
        assert count_connections(sock) == 1


def test_aliyun_not_configured(aliyun, sms_config):
    configure_aliyun(sms_config, aliyun.netloc, access_key_secret='',
        template_code_login='')

    result = sms_gateway.AliyunGateway().send(PHONE, CODE, 'login', TTL)

    assert_refused(result, 'NOT_CONFIGURED')
    assert 'access_key_secret' in result.message
    assert 'template_code_login' in result.message
    assert aliyun.requests == []


def test_aliyun_simulator_checks_signature(aliyun):
    "An altered or replayed request is refused: the signature is verified"
    assert sms_gateway.AliyunGateway().send(PHONE, CODE, 'login', TTL).ok
    _, path, _, _ = aliyun.requests[0]
    query = dict(parse_qsl(urlsplit(path).query))
    query['PhoneNumbers'] = '13900139000'

    altered = replay(aliyun, path='/?' + urlencode(query))
    assert altered.json()['Code'] == 'SignatureDoesNotMatch'
    assert altered.status_code == 400
    with_body = replay(aliyun, body=b'x=1')
    assert with_body.json()['Code'] == 'SignatureDoesNotMatch'
    again = replay(aliyun, index=0)
    assert again.json()['Code'] == 'SignatureNonceUsed'
    assert len(aliyun.delivered) == 1


def test_aliyun_simulator_checks_date(aliyun, monkeypatch):
    monkeypatch.setattr(aliyun, 'wall_time', lambda: time.time() + 16 * 60)

    result = sms_gateway.AliyunGateway().send(PHONE, CODE, 'login', TTL)

    assert_refused(result, 'InvalidTimeStamp.Expired')


# Tencent

def test_tencent_delivers_code(tencent):
    result = sms_gateway.TencentGateway().send(PHONE, CODE, 'login', TTL)

    assert result.ok and result.status == 'Ok', result
    assert result.vendor_id.startswith('2433:')
    [message] = tencent.delivered
    assert message['phone'] == '+86' + PHONE
    assert message['code'] == CODE
    assert message['template'] == TENCENT_TEMPLATES['login']
    assert message['sign'] == TENCENT_SIGN
    # {1} = code, {2} = minutes
    assert message['params'] == [CODE, '5']
    assert message['serial_no'] == result.vendor_id
    method, _, headers, body = tencent.requests[0]
    assert method == 'POST'
    assert headers['X-TC-Action'] == 'SendSms'
    assert headers['X-TC-Version'] == '2021-01-11'
    assert headers['Authorization'].startswith('TC3-HMAC-SHA256 ')
    assert json.loads(body)['SmsSdkAppId'] == TENCENT_APP


def test_tencent_scene_template(tencent):
    result = sms_gateway.TencentGateway().send(
        PHONE, CODE, 'change_phone', 60)

    assert result.ok, result
    assert tencent.delivered[0]['template'] == (
        TENCENT_TEMPLATES['change_phone'])
    assert tencent.delivered[0]['params'] == [CODE, '1']


def test_tencent_wrong_secret(tencent, sms_config):
    configure_tencent(sms_config, tencent.netloc, secret_key='wrong')

    result = sms_gateway.TencentGateway().send(PHONE, CODE, 'login', TTL)

    assert_refused(result, 'AuthFailure.SignatureFailure')
    assert tencent.delivered == []


def test_tencent_unknown_secret_id(tencent, sms_config):
    configure_tencent(sms_config, tencent.netloc, secret_id='AKIDother')

    result = sms_gateway.TencentGateway().send(PHONE, CODE, 'login', TTL)

    assert_refused(result, 'AuthFailure.SecretIdNotFound')


def test_tencent_thirty_second_limit(tencent):
    gateway = sms_gateway.TencentGateway()
    assert gateway.send(PHONE, CODE, 'login', TTL).ok

    result = gateway.send(PHONE, '111111', 'login', TTL)

    assert_refused(result, 'LimitExceeded.PhoneNumberThirtySecondLimit',
        throttled=True)
    assert tencent.codes('+86' + PHONE) == [CODE]


def test_tencent_hour_limit(tencent):
    gateway = sms_gateway.TencentGateway()
    for n in range(5):
        assert gateway.send(PHONE, f'00000{n}', 'login', TTL).ok
        tencent.advance(61)

    result = gateway.send(PHONE, CODE, 'login', TTL)

    assert_refused(result, 'LimitExceeded.PhoneNumberOneHourLimit',
        throttled=True)


@pytest.mark.parametrize('code, message, top_level, throttled', [
        ('LimitExceeded.PhoneNumberDailyLimit',
            '单个手机号日下发短信条数超过设定的上限', False, True),
        ('FailedOperation.PhoneNumberInBlacklist',
            '手机号在免打扰名单库中', False, False),
        ('FailedOperation.InsufficientBalanceInSmsPackage',
            '套餐包余量不足', True, False),
        ('RequestLimitExceeded', '请求的次数超过了频率限制', True, True),
        ])
def test_tencent_injected_refusal(tencent, code, message, top_level,
        throttled):
    tencent.fail_next(code, message, top_level=top_level)

    result = sms_gateway.TencentGateway().send(PHONE, CODE, 'login', TTL)

    assert_refused(result, code, throttled=throttled)
    assert result.message == message
    assert tencent.delivered == []
    assert len(tencent.requests) == 1


def test_tencent_invalid_number(tencent):
    result = sms_gateway.TencentGateway().send(
        '1380013800', CODE, 'login', TTL)

    assert_refused(result, 'InvalidParameterValue.IncorrectPhoneNumber')


def test_tencent_unreachable(sms_config):
    configure_tencent(sms_config, f'127.0.0.1:{free_port()}')

    result = sms_gateway.TencentGateway().send(PHONE, CODE, 'login', TTL)

    assert_refused(result, 'NETWORK_ERROR')
    assert CODE not in result.message


def test_tencent_timeout_not_retried(sms_config, monkeypatch):
    monkeypatch.setattr(sms_gateway, 'READ_TIMEOUT', 0.3)
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        sock.listen(5)
        configure_tencent(sms_config,
            '127.0.0.1:%s' % sock.getsockname()[1])
        start = time.monotonic()

        result = sms_gateway.TencentGateway().send(
            PHONE, CODE, 'login', TTL)

        # the 0.3 s read timeout applied, not a default of 5 s or more
        assert time.monotonic() - start < 4.5
        assert_refused(result, 'NETWORK_ERROR')
        assert 'may have been sent' in result.message
        assert count_connections(sock) == 1


def test_tencent_not_configured(tencent, sms_config):
    configure_tencent(sms_config, tencent.netloc, sdk_app_id='')

    result = sms_gateway.TencentGateway().send(PHONE, CODE, 'login', TTL)

    assert_refused(result, 'NOT_CONFIGURED')
    assert 'sdk_app_id' in result.message
    assert tencent.requests == []


def test_tencent_simulator_checks_signature(tencent):
    "An altered body is refused: the signature is verified"
    assert sms_gateway.TencentGateway().send(PHONE, CODE, 'login', TTL).ok
    _, _, _, body = tencent.requests[0]
    params = json.loads(body)
    params['PhoneNumberSet'] = ['+8613900139000']

    altered = replay(tencent, body=json.dumps(params).encode('utf-8'))

    assert altered.json()['Response']['Error']['Code'] == (
        'AuthFailure.SignatureFailure')
    assert len(tencent.delivered) == 1


def test_tencent_simulator_checks_timestamp(tencent, monkeypatch):
    monkeypatch.setattr(tencent, 'wall_time', lambda: time.time() + 301)

    result = sms_gateway.TencentGateway().send(PHONE, CODE, 'login', TTL)

    assert_refused(result, 'AuthFailure.SignatureExpire')


# Both

def test_code_and_secret_not_logged(aliyun, tencent, sms_config, caplog):
    caplog.set_level(logging.INFO)
    aliyun_gateway = sms_gateway.AliyunGateway()
    tencent_gateway = sms_gateway.TencentGateway()
    results = [
        aliyun_gateway.send(PHONE, CODE, 'login', TTL),
        aliyun_gateway.send(PHONE, CODE, 'login', TTL),
        tencent_gateway.send(PHONE, CODE, 'login', TTL),
        tencent_gateway.send(PHONE, CODE, 'login', TTL),
        ]
    configure_aliyun(sms_config, f'127.0.0.1:{free_port()}')
    configure_tencent(sms_config, f'127.0.0.1:{free_port()}')
    results.append(
        sms_gateway.AliyunGateway().send(PHONE, CODE, 'login', TTL))
    results.append(
        sms_gateway.TencentGateway().send(PHONE, CODE, 'login', TTL))

    assert [r.ok for r in results] == [True, False, True, False, False, False]
    assert len(caplog.records) == len(results)
    texts = [caplog.text] + [r.message for r in results]
    for text in texts:
        assert not re.search(rf'(?<!\d){CODE}(?!\d)', text), text
        for secret in [ALIYUN_SECRET, TENCENT_KEY]:
            assert secret not in text
    # the number is masked
    assert PHONE not in caplog.text
    assert '138****8000' in caplog.text


@pytest.mark.parametrize('name, gateway', [
        ('log', sms_gateway.LogGateway),
        ('aliyun', sms_gateway.AliyunGateway),
        ('tencent', sms_gateway.TencentGateway),
        ])
def test_get_gateway(sms_config, name, gateway):
    sms_config('duoduo', sms_backend=name)

    chosen = sms_gateway.get_gateway()

    assert type(chosen) is gateway
    assert chosen.name == name


def test_log_gateway_writes_json_line(sms_config, tmp_path):
    path = tmp_path / 'sms' / 'sms.log'
    sms_config('duoduo', sms_log=str(path))

    result = sms_gateway.LogGateway().send(PHONE, CODE, 'login', TTL)

    assert result.ok
    [line] = path.read_text(encoding='utf-8').splitlines()
    message = json.loads(line)
    assert set(message) == {'phone', 'code', 'scene', 'text', 'time'}
    assert message['phone'] == PHONE
    assert message['code'] == CODE
    assert message['scene'] == 'login'
    assert CODE in message['text'] and '5分钟' in message['text']
    assert message['time']
