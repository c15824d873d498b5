"""Loopback Alibaba Cloud SMS API (dysmsapi 2017-05-25): SendSms only.

Checks what Aliyun checks before it sends: the ACS3-HMAC-SHA256 signature
that SDK 4.x puts in the Authorization header (rebuilt from the request as
received), the date and nonce against replays, the action and version, the
parameters, the number, and the default frequency limits of verification
codes per number and signature (1 a minute, 5 an hour, 10 a day). Signature
and parameter faults are HTTP 4xx, business refusals HTTP 200 with a Code
other than "OK", as Aliyun does.

The real API never tells what it sent; this one records each delivered
message in `delivered` so tests can read the code the member would get.
The limits use the simulator's own clock (see advance()); the signature date
is checked against the wall clock the SDK signs with.
"""
import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
import uuid
from urllib.parse import quote

from .base import SimulatorHandler, SmsVendorSimulator

ACTION = 'SendSms'
VERSION = '2017-05-25'
ALGORITHM = 'ACS3-HMAC-SHA256'
# Aliyun accepts x-acs-date and keeps nonces for 15 minutes
SIGNATURE_TTL = 15 * 60
# (seconds, sends allowed, code, message) per number and signature
LIMITS = [
    (60, 1, 'isv.BUSINESS_LIMIT_CONTROL', '触发分钟级流控Permits:1'),
    (3600, 5, 'isv.BUSINESS_LIMIT_CONTROL', '触发小时级流控Permits:5'),
    (86400, 10, 'isv.BUSINESS_LIMIT_CONTROL', '触发天级流控Permits:10'),
    ]
MOBILE = re.compile(r'^(?:\+86|0086|86)?1[3-9]\d{9}$')

MESSAGES = {
    'isv.BUSINESS_LIMIT_CONTROL': '触发号码天级流控Permits:10',
    'isv.DAY_LIMIT_CONTROL': '触发日发送限额',
    'isv.MONTH_LIMIT_CONTROL': '触发月发送限额',
    'isv.MOBILE_NUMBER_ILLEGAL': '非法手机号',
    'isv.AMOUNT_NOT_ENOUGH': '账户余额不足',
    'isv.OUT_OF_SERVICE': '业务停机',
    'isv.INVALID_JSON_PARAM': 'JSON参数不合法，只接受字符串值',
    'isv.TEMPLATE_MISSING_PARAMETERS': '模板缺少变量',
    'isv.SMS_SIGNATURE_ILLEGAL': '该账号下找不到对应签名',
    'isv.SMS_TEMPLATE_ILLEGAL': '该账号下找不到对应模板',
    'isp.SYSTEM_ERROR': 'isp.SYSTEM_ERROR',
    }


class AliyunSmsHandler(SimulatorHandler):

    def handle_request(self):
        status, answer = self.simulator._answer(self)
        answer['RequestId'] = str(uuid.uuid4()).upper()
        self.send_json(answer, status)


def _error(status, code, message):
    return status, {'Code': code, 'Message': message}


def _refusal(code, message=None):
    "A business refusal: HTTP 200"
    return 200, {'Code': code, 'Message': message or MESSAGES.get(code, code)}


class AliyunSmsSimulator(SmsVendorSimulator):
    """Point the SDK at it with Config(endpoint=sim.netloc,
    protocol='http').

    sign_names, templates: when given, the signatures and template codes the
    account owns; others are refused."""
    handler_class = AliyunSmsHandler
    LIMITS = LIMITS

    def __init__(self, access_key_id, access_key_secret, sign_names=None,
            templates=None, **kwargs):
        super().__init__(sign_names, templates, **kwargs)
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self._nonces = {}       # nonce -> wall time first seen
        self._injected = []     # (status, answer) for the next calls

    def fail_next(self, code, message=None, status=200):
        """Answer the next well signed SendSms with this Code; status 200
        is a business refusal, 4xx/5xx an API error"""
        with self.lock:
            self._injected.append(
                (status, {'Code': code,
                        'Message': message or MESSAGES.get(code, code)}))

    def _answer(self, handler):
        with self.lock:
            if handler.command not in {'GET', 'POST'} or handler.route != '/':
                return _error(404, 'InvalidAction.NotFound',
                    'Specified api is not found, please check your url '
                    'and method.')
            error = self._check_signature(handler)
            if error:
                return error
            headers = handler.headers
            if headers.get('x-acs-action') != ACTION:
                return _error(404, 'InvalidAction.NotFound',
                    'Specified api is not found, please check your url '
                    'and method.')
            if headers.get('x-acs-version') != VERSION:
                return _error(400, 'InvalidVersion',
                    'Specified parameter Version is not valid.')
            if self._injected:
                return self._injected.pop(0)
            return self._send_sms(handler.query)

    def _check_signature(self, handler):
        headers = handler.headers
        algorithm, _, fields = (
            headers.get('Authorization') or '').partition(' ')
        fields = dict(f.strip().split('=', 1)
            for f in fields.split(',') if '=' in f)
        access_key_id = fields.get('Credential')
        signed_headers = fields.get('SignedHeaders', '')
        signature = fields.get('Signature', '')
        if algorithm != ALGORITHM or not access_key_id or not signature:
            return _error(400, 'IncompleteSignature',
                'The request signature does not conform to Aliyun '
                'standards.')
        if access_key_id != self.access_key_id:
            return _error(404, 'InvalidAccessKeyId.NotFound',
                'Specified access key is not found.')
        names = sorted(n.lower() for n in signed_headers.split(';') if n)
        # the host and every x-acs-* header the request has must be signed
        must_sign = {'host'} | {k.lower() for k in headers
            if k.lower().startswith('x-acs-')}
        if not must_sign <= set(names):
            return _error(400, 'IncompleteSignature',
                'The request signature does not conform to Aliyun '
                'standards.')

        canonical_query = '&'.join(
            f'{quote(k, safe="~")}={quote(v, safe="~")}'
            for k, v in sorted(handler.query.items()))
        canonical_headers = ''.join(
            f'{n}:{",".join(sorted(v.strip() for v in headers.get_all(n)))}'
            '\n' for n in names)
        # the hash of the body received, not the one the client claims
        payload_hash = hashlib.sha256(handler.raw_body).hexdigest()
        canonical_request = '\n'.join([
                handler.command, handler.route, canonical_query,
                canonical_headers, ';'.join(names), payload_hash])
        string_to_sign = ALGORITHM + '\n' + hashlib.sha256(
            canonical_request.encode('utf-8')).hexdigest()
        expected = hmac.new(self.access_key_secret.encode('utf-8'),
            string_to_sign.encode('utf-8'), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return _error(400, 'SignatureDoesNotMatch',
                'Specified signature does not match our calculation.')

        try:
            date = dt.datetime.strptime(
                headers.get('x-acs-date') or '', '%Y-%m-%dT%H:%M:%SZ')
        except ValueError:
            return _error(400, 'InvalidTimeStamp.Format',
                'Specified time stamp or date value is not well formatted.')
        now = self.wall_time()
        date = date.replace(tzinfo=dt.timezone.utc).timestamp()
        if abs(now - date) > SIGNATURE_TTL:
            return _error(400, 'InvalidTimeStamp.Expired',
                'Specified time stamp or date value is expired.')
        nonce = headers.get('x-acs-signature-nonce')
        if not nonce:
            return _error(400, 'MissingSignatureNonce',
                'SignatureNonce is mandatory for this action.')
        self._nonces = {n: t for n, t in self._nonces.items()
            if now - t <= SIGNATURE_TTL}
        if nonce in self._nonces:
            return _error(400, 'SignatureNonceUsed',
                'Specified signature nonce was used already.')
        self._nonces[nonce] = now

    def _send_sms(self, query):
        for name in ['PhoneNumbers', 'SignName', 'TemplateCode']:
            if not query.get(name):
                return _error(400, f'Missing{name}',
                    f'{name} is mandatory for this action.')
        sign, template = query['SignName'], query['TemplateCode']
        if self.sign_names is not None and sign not in self.sign_names:
            return _refusal('isv.SMS_SIGNATURE_ILLEGAL')
        if self.templates is not None and template not in self.templates:
            return _refusal('isv.SMS_TEMPLATE_ILLEGAL')
        try:
            params = json.loads(query.get('TemplateParam') or '')
        except ValueError:
            return _refusal('isv.INVALID_JSON_PARAM')
        if (not isinstance(params, dict)
                or not all(isinstance(v, str) for v in params.values())):
            return _refusal('isv.INVALID_JSON_PARAM')
        if 'code' not in params:
            return _refusal('isv.TEMPLATE_MISSING_PARAMETERS')
        phones = query['PhoneNumbers'].split(',')
        if not all(MOBILE.match(p) for p in phones):
            return _refusal('isv.MOBILE_NUMBER_ILLEGAL')

        now = self.now()
        for phone in phones:
            refusal = self.over_limit((phone, sign), now)
            if refusal:
                return _refusal(*refusal)
        biz_id = f'{secrets.randbelow(10 ** 6):06d}{int(now * 1000)}^0'
        for phone in phones:
            self.deliver((phone, sign), now, phone=phone,
                code=params['code'], template=template, sign=sign,
                params=params, biz_id=biz_id)
        return 200, {'Code': 'OK', 'Message': 'OK', 'BizId': biz_id}
