"""Loopback Tencent Cloud SMS API (2021-01-11): SendSms only.

Checks what Tencent Cloud checks: the TC3-HMAC-SHA256 signature of the
Authorization header (rebuilt from the request as received), X-TC-Timestamp
within 5 minutes, X-TC-Action and X-TC-Version, the region, the parameters,
and per number the format and the frequency limits (1 per 30 seconds, 5 an
hour, 10 a day). Every answer is HTTP 200: request faults as a top-level
{"Response": {"Error": ...}}, per-number refusals inside SendStatusSet.

The real API never tells what it sent; this one records each delivered
message in `delivered` so tests can read the code the member would get.
The limits use the simulator's own clock (see advance()); the signature
timestamp is checked against the wall clock the SDK signs with.
"""
import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
import uuid

from .base import SimulatorHandler, SmsVendorSimulator

SERVICE = 'sms'
ACTION = 'SendSms'
VERSION = '2021-01-11'
ALGORITHM = 'TC3-HMAC-SHA256'
REGIONS = {'ap-guangzhou', 'ap-beijing', 'ap-nanjing'}
TIMESTAMP_SKEW = 300
# (seconds, sends allowed, code, message) per number
LIMITS = [
    (30, 1, 'LimitExceeded.PhoneNumberThirtySecondLimit',
        '单个手机号30秒内下发短信条数超过设定的上限'),
    (3600, 5, 'LimitExceeded.PhoneNumberOneHourLimit',
        '单个手机号1小时内下发短信条数超过设定的上限'),
    (86400, 10, 'LimitExceeded.PhoneNumberDailyLimit',
        '单个手机号日下发短信条数超过设定的上限'),
    ]
MOBILE = re.compile(r'^(?:\+86|0086|86)?(1[3-9]\d{9})$')
# verification templates take 0 to 6 digits per variable
VARIABLE = re.compile(r'^\d{0,6}$')
AUTHORIZATION = re.compile(
    r'^TC3-HMAC-SHA256 Credential=([^/]+)/(\d{4}-\d{2}-\d{2})/([^/]+)'
    r'/tc3_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$')

MESSAGES = {
    'AuthFailure.InvalidAuthorization': 'Authorization 不符合腾讯云标准。',
    'AuthFailure.SecretIdNotFound': '密钥不存在。',
    'AuthFailure.SignatureExpire': '签名过期。Timestamp 和服务器时间相差不得超过五分钟。',
    'AuthFailure.SignatureFailure': '签名错误。',
    'InvalidAction': '接口不存在。',
    'NoSuchVersion': '接口版本不存在。',
    'UnsupportedRegion': '接口不支持所传地域。',
    'UnsupportedProtocol': 'HTTP(S) 请求协议错误，只支持 GET 和 POST 请求。',
    'InvalidParameter': '参数错误。',
    'MissingParameter': '缺少参数错误。',
    'InvalidParameterValue.SdkAppIdNotExist': 'SdkAppId 不存在。',
    'InvalidParameterValue.TemplateParameterFormatError':
        '验证码模板参数格式错误，验证码类模板，模板变量只能传入0-6位（包括6位）纯数字。',
    'InvalidParameterValue.IncorrectPhoneNumber': '手机号格式错误。',
    'FailedOperation.SignatureIncorrectOrUnapproved':
        '签名未审批或格式错误。',
    'FailedOperation.TemplateIncorrectOrUnapproved':
        '模板未审批或内容不匹配。',
    'FailedOperation.TemplateParamSetNotMatchApprovedTemplate':
        '请求内容与审核通过的模板内容不匹配。',
    'FailedOperation.InsufficientBalanceInSmsPackage': '套餐包余量不足。',
    'FailedOperation.PhoneNumberInBlacklist': '手机号在免打扰名单库中。',
    'InternalError': '内部错误。',
    }


class TencentSmsHandler(SimulatorHandler):

    def handle_request(self):
        answer = self.simulator._answer(self)
        answer['RequestId'] = str(uuid.uuid4())
        body = json.dumps({'Response': answer}, ensure_ascii=False)
        # exactly this type: the SDK looks for Response.Error only in
        # 'application/json' and 'text/plain' answers
        self.send_bytes(body.encode('utf-8'), 200, 'application/json')


def _error(code, message=None):
    return {'Error': {'Code': code, 'Message': message or MESSAGES[code]}}


def _sign(key, message):
    return hmac.new(key, message.encode('utf-8'), hashlib.sha256).digest()


class TencentSmsSimulator(SmsVendorSimulator):
    """Point the SDK at it with HttpProfile(endpoint=sim.netloc,
    protocol='http').

    sdk_app_id, sign_names, templates: when given, the application, the
    signatures and the template ids the account owns; others are refused."""
    handler_class = TencentSmsHandler
    LIMITS = LIMITS

    def __init__(self, secret_id, secret_key, sdk_app_id=None,
            sign_names=None, templates=None, **kwargs):
        super().__init__(sign_names, templates, **kwargs)
        self.secret_id = secret_id
        self.secret_key = secret_key
        self.sdk_app_id = sdk_app_id
        self._injected = []     # (top_level, code, message)

    def fail_next(self, code, message=None, top_level=False):
        """Refuse the next well signed SendSms with this code: for its
        first number in SendStatusSet, or as a top-level Error"""
        with self.lock:
            self._injected.append(
                (top_level, code, message or MESSAGES.get(code, code)))

    def _answer(self, handler):
        with self.lock:
            if handler.command != 'POST' or handler.route != '/':
                return _error('UnsupportedProtocol',
                    "the simulator takes POST / with a JSON body only")
            error = self._check_signature(handler)
            if error:
                return error
            headers = handler.headers
            if headers.get('X-TC-Action') != ACTION:
                return _error('InvalidAction')
            if headers.get('X-TC-Version') != VERSION:
                return _error('NoSuchVersion')
            if headers.get('X-TC-Region') not in REGIONS:
                return _error('UnsupportedRegion')
            try:
                params = json.loads(handler.raw_body)
            except ValueError:
                return _error('InvalidParameter', "the body is not JSON")
            if not isinstance(params, dict):
                return _error('InvalidParameter', "the body is not an object")
            return self._send_sms(params)

    def _check_signature(self, handler):
        headers = handler.headers
        match = AUTHORIZATION.match(headers.get('Authorization') or '')
        if not match:
            return _error('AuthFailure.InvalidAuthorization')
        secret_id, date, service, signed_headers, signature = match.groups()
        names = signed_headers.split(';')
        if not {'content-type', 'host'} <= set(names):
            return _error('AuthFailure.InvalidAuthorization')
        if secret_id != self.secret_id:
            return _error('AuthFailure.SecretIdNotFound')
        try:
            timestamp = int(headers.get('X-TC-Timestamp') or '')
        except ValueError:
            return _error('AuthFailure.InvalidAuthorization')
        if abs(self.wall_time() - timestamp) > TIMESTAMP_SKEW:
            return _error('AuthFailure.SignatureExpire')

        payload = handler.raw_body
        if headers.get('X-TC-Content-SHA256') == 'UNSIGNED-PAYLOAD':
            payload = b'UNSIGNED-PAYLOAD'
        canonical_headers = ''.join(
            f'{n}:{(headers.get(n) or "").strip().lower()}\n' for n in names)
        canonical_request = '\n'.join([
                handler.command, handler.route, '', canonical_headers,
                signed_headers, hashlib.sha256(payload).hexdigest()])
        # the date and service are the server's, not the client's claim
        server_date = dt.datetime.fromtimestamp(
            timestamp, dt.timezone.utc).strftime('%Y-%m-%d')
        scope = f'{server_date}/{SERVICE}/tc3_request'
        string_to_sign = '\n'.join([
                ALGORITHM, str(timestamp), scope,
                hashlib.sha256(canonical_request.encode('utf-8')).hexdigest()])
        key = _sign(('TC3' + self.secret_key).encode('utf-8'), server_date)
        key = _sign(_sign(key, SERVICE), 'tc3_request')
        expected = hmac.new(key, string_to_sign.encode('utf-8'),
            hashlib.sha256).hexdigest()
        if (not hmac.compare_digest(expected, signature)
                or (date, service) != (server_date, SERVICE)):
            return _error('AuthFailure.SignatureFailure')

    def _send_sms(self, params):
        for name in ['PhoneNumberSet', 'SmsSdkAppId', 'TemplateId',
                'SignName']:
            if not params.get(name):
                return _error('MissingParameter',
                    f"The request is missing a required parameter `{name}`.")
        if self.sdk_app_id and params['SmsSdkAppId'] != self.sdk_app_id:
            return _error('InvalidParameterValue.SdkAppIdNotExist')
        sign, template = params['SignName'], params['TemplateId']
        if self.sign_names is not None and sign not in self.sign_names:
            return _error('FailedOperation.SignatureIncorrectOrUnapproved')
        if self.templates is not None and template not in self.templates:
            return _error('FailedOperation.TemplateIncorrectOrUnapproved')
        variables = params.get('TemplateParamSet') or []
        if not variables:
            # verification templates have at least the code
            return _error(
                'FailedOperation.TemplateParamSetNotMatchApprovedTemplate')
        if not all(isinstance(v, str) and VARIABLE.match(v)
                for v in variables):
            return _error('InvalidParameterValue.TemplateParameterFormatError')
        if self._injected and self._injected[0][0]:
            _, code, message = self._injected.pop(0)
            return _error(code, message)

        now = self.now()
        statuses = []
        for phone in params['PhoneNumberSet']:
            match = MOBILE.match(phone) if isinstance(phone, str) else None
            number = '+86' + match.group(1) if match else str(phone)
            code, message = self._refusal(number, match, now)
            status = {
                'SerialNo': '',
                'PhoneNumber': number,
                'Fee': 0,
                'SessionContext': params.get('SessionContext') or '',
                'Code': code,
                'Message': message,
                'IsoCode': 'CN' if match else 'DEF',
                }
            if code == 'Ok':
                status['SerialNo'] = (
                    f'2433:{secrets.randbelow(10 ** 12):012d}'
                    f'{int(now * 1000) % 10 ** 8:08d}')
                status['Fee'] = 1
                self.deliver(number, now, phone=number, code=variables[0],
                    template=template, sign=sign, params=list(variables),
                    serial_no=status['SerialNo'])
            statuses.append(status)
        return {'SendStatusSet': statuses}

    def _refusal(self, number, match, now):
        "(code, message) for one number"
        if self._injected:
            _, code, message = self._injected.pop(0)
            return code, message
        if not match:
            code = 'InvalidParameterValue.IncorrectPhoneNumber'
            return code, MESSAGES[code]
        return self.over_limit(number, now) or ('Ok', 'send success')
