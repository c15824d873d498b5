"""SMS vendors behind one small interface, chosen by [duoduo] sms_backend.

A gateway sends one verification code and reports what the vendor said; it
never retries on its own (a retry could deliver two codes) and never raises
for a refusal: the caller records the outcome for staff and tells the member.

Backends: log (development), aliyun and tencent (the vendors' official SDKs,
configured in [duoduo_sms_aliyun] and [duoduo_sms_tencent]). With DEBUG
logging, urllib3 and the Tencent SDK log whole requests, the code included.
"""
import datetime as dt
import json
import logging
import os
from dataclasses import dataclass

from alibabacloud_dysmsapi20170525 import models as aliyun_models
from alibabacloud_dysmsapi20170525.client import Client as AliyunClient
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
from alibabacloud_tea_openapi.utils_models import Config as AliyunConfig
from darabonba.exceptions import RetryError, UnretryableException
from darabonba.runtime import RuntimeOptions
from tencentcloud.common.credential import Credential as TencentCredential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
    TencentCloudSDKException)
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models as tencent_models
from tencentcloud.sms.v20210111.sms_client import SmsClient as TencentClient

# trytond 8.0: the module is the configuration (trytond.config.config is
# deprecated)
from trytond import config

from .i18n import gettext, member_language
from .phone import mask_phone

logger = logging.getLogger(__name__)

# The member waits for the answer; a slow vendor must not hold the request
CONNECT_TIMEOUT = 3
READ_TIMEOUT = 5

# the text of the message the log backend writes (the cloud vendors send
# their own templates)
SCENE_MESSAGES = {
    'login': 'duoduo_base.msg_sms_text_login',
    'change_phone': 'duoduo_base.msg_sms_text_change_phone',
    }


@dataclass
class SmsResult:
    ok: bool
    status: str             # vendor status code, e.g. 'OK', 'isv.BUSINESS_LIMIT_CONTROL'
    message: str = ''       # vendor text, shown to staff
    vendor_id: str = ''     # the vendor's id of the message (BizId, SerialNo)
    # True when the vendor refused because of its own rate limits
    throttled: bool = False


def sms_text(scene, code, ttl):
    # in the members' language ([duoduo] language), whoever asked the code
    return gettext(SCENE_MESSAGES[scene], member_language(),
        code=code, minutes=max(ttl // 60, 1))


class LogGateway:
    """Development gateway: appends each message as one JSON line to
    [duoduo] sms_log and logs it, so a developer can read the code."""
    name = 'log'

    def __init__(self):
        self.path = config.get('duoduo', 'sms_log', default='var/sms.log')

    def send(self, phone, code, scene, ttl):
        text = sms_text(scene, code, ttl)
        line = json.dumps({
                'phone': phone,
                'code': code,
                'scene': scene,
                'text': text,
                'time': dt.datetime.now(dt.timezone.utc).isoformat(),
                }, ensure_ascii=False)
        directory = os.path.dirname(self.path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        with open(self.path, 'a', encoding='utf-8') as log:
            log.write(line + '\n')
        # the log backend exists to show the code to a developer
        logger.info("SMS to %s: %s", phone, text)
        return SmsResult(ok=True, status='OK', message='written to log')


def _option(section, name, default=''):
    # trytond.conf lists every option, a blank one meaning unset
    return config.get(section, name, default='') or default


class _CloudGateway:
    """What the gateways of the two cloud vendors share: options read at
    construction, the refusal and network-error results, the logging.

    Neither the code nor a secret is ever logged or put in a result."""
    name = None
    section = None
    # options that must be set, besides the template of the scene
    required = ()
    defaults = {}
    # name of the option holding the template of a scene
    template_option = None

    def __init__(self):
        self.options = {n: _option(self.section, n, self.defaults.get(n, ''))
            for n in self.required + tuple(self.defaults)}
        self.templates = {
            s: _option(self.section, self.template_option.format(scene=s))
            for s in SCENE_MESSAGES}

    def send(self, phone, code, scene, ttl):
        missing = [n for n in self.required if not self.options[n]]
        template = self.templates.get(scene)
        if not template:
            missing.append(self.template_option.format(scene=scene))
        if missing:
            message = f"[{self.section}] {', '.join(missing)} not set"
            logger.error("SMS to %s not sent: %s", mask_phone(phone), message)
            return SmsResult(ok=False, status='NOT_CONFIGURED',
                message=message)
        return self._send(phone, code, template, max(ttl // 60, 1))

    def _send(self, phone, code, template, minutes):
        raise NotImplementedError

    def is_throttling(self, status):
        raise NotImplementedError

    def _delivered(self, phone, status, message, vendor_id):
        logger.info("SMS to %s accepted by %s: %s", mask_phone(phone),
            self.name, vendor_id)
        return SmsResult(ok=True, status=status, message=message or '',
            vendor_id=vendor_id or '')

    def _refused(self, phone, status, message):
        throttled = self.is_throttling(status)
        logger.warning("SMS to %s refused by %s: %s %s", mask_phone(phone),
            self.name, status, message)
        return SmsResult(ok=False, status=status, message=message or '',
            throttled=throttled)

    def _network_error(self, phone, detail):
        # The SDKs' texts quote the request URL, which for Aliyun holds the
        # code: keep only the kind of failure. After a read timeout the
        # vendor may have sent the message, so it is not retried here.
        if 'Read timed out' in detail:
            reason = "no answer in time, the message may have been sent"
        elif 'timed out' in detail:
            reason = "connection timed out"
        else:
            reason = "could not connect"
        logger.warning("SMS to %s not sent by %s: %s", mask_phone(phone),
            self.name, reason)
        return SmsResult(ok=False, status='NETWORK_ERROR',
            message=f'{self.name}: {reason}')


class AliyunGateway(_CloudGateway):
    """Alibaba Cloud SMS (dysmsapi 2017-05-25, SendSms) through the official
    SDK, which signs with ACS3-HMAC-SHA256.

    Configuration, section [duoduo_sms_aliyun]: access_key_id,
    access_key_secret, sign_name, template_code_login,
    template_code_change_phone (templates with a ${code} variable), endpoint
    (dysmsapi.aliyuncs.com), protocol (https)."""
    name = 'aliyun'
    section = 'duoduo_sms_aliyun'
    required = ('access_key_id', 'access_key_secret', 'sign_name')
    defaults = {
        'endpoint': 'dysmsapi.aliyuncs.com',
        'protocol': 'https',
        }
    template_option = 'template_code_{scene}'
    # the vendor's frequency and volume limits
    THROTTLING = {
        'isv.BUSINESS_LIMIT_CONTROL',
        'isv.DAY_LIMIT_CONTROL',
        'isv.MONTH_LIMIT_CONTROL',
        }

    def is_throttling(self, status):
        # Throttling.*: the API's own request rate
        return status in self.THROTTLING or status.startswith('Throttling')

    def _send(self, phone, code, template, minutes):
        options = self.options
        # No retry_options: the SDK sends once
        client = AliyunClient(AliyunConfig(
                access_key_id=options['access_key_id'],
                access_key_secret=options['access_key_secret'],
                endpoint=options['endpoint'],
                protocol=options['protocol'],
                connect_timeout=CONNECT_TIMEOUT * 1000,
                read_timeout=READ_TIMEOUT * 1000))
        request = aliyun_models.SendSmsRequest(
            phone_numbers=phone,
            sign_name=options['sign_name'],
            template_code=template,
            template_param=json.dumps({'code': code}))
        runtime = RuntimeOptions(autoretry=False,
            connect_timeout=CONNECT_TIMEOUT * 1000,
            read_timeout=READ_TIMEOUT * 1000)
        try:
            response = client.send_sms_with_options(request, runtime)
        except AlibabaCloudException as exception:
            # HTTP 4xx/5xx: signature, access key, API throttling
            data = exception.data if isinstance(exception.data, dict) else {}
            status = data.get('Code') or (
                f'HTTP {exception.status_code}')
            return self._refused(phone, status,
                data.get('Message') or exception.message)
        except UnretryableException as exception:
            inner = exception.inner_exception
            if isinstance(inner, RetryError):
                # what the SDK makes of requests' IOError
                return self._network_error(phone, inner.message or '')
            # e.g. an answer that is not JSON
            return self._refused(phone, 'BAD_RESPONSE',
                type(inner).__name__)
        body = response.body
        if body.code != 'OK':
            # business refusals come as HTTP 200
            return self._refused(phone, body.code or 'BAD_RESPONSE',
                body.message)
        return self._delivered(phone, body.code, body.message, body.biz_id)


class TencentGateway(_CloudGateway):
    """Tencent Cloud SMS (API 2021-01-11, SendSms) through the official SDK,
    which signs with TC3-HMAC-SHA256.

    Configuration, section [duoduo_sms_tencent]: secret_id, secret_key,
    sdk_app_id, sign_name, template_id_login, template_id_change_phone
    (templates with {1} = code and {2} = minutes), region (ap-guangzhou),
    endpoint (sms.tencentcloudapi.com), scheme (https)."""
    name = 'tencent'
    section = 'duoduo_sms_tencent'
    required = ('secret_id', 'secret_key', 'sdk_app_id', 'sign_name')
    defaults = {
        'region': 'ap-guangzhou',
        'endpoint': 'sms.tencentcloudapi.com',
        'scheme': 'https',
        }
    template_option = 'template_id_{scene}'
    # ClientNetworkError wraps requests' errors while sending; the others
    # are requests' own, met while reading the (streamed) answer
    NETWORK_CODES = {
        'ClientNetworkError', 'ConnectionError', 'ChunkedEncodingError'}

    def is_throttling(self, status):
        # LimitExceeded.*: per number and per application;
        # RequestLimitExceeded: the API's own request rate
        return (status.startswith('LimitExceeded')
            or status.startswith('RequestLimitExceeded'))

    def _send(self, phone, code, template, minutes):
        options = self.options
        # reqTimeout goes to requests as it is, so a (connect, read) pair
        http_profile = HttpProfile(protocol=options['scheme'],
            endpoint=options['endpoint'],
            reqTimeout=(CONNECT_TIMEOUT, READ_TIMEOUT))
        # No retryer: the SDK sends once. No region breaker: it would send
        # to another endpoint than the configured one.
        profile = ClientProfile(httpProfile=http_profile,
            disable_region_breaker=True)
        client = TencentClient(
            TencentCredential(options['secret_id'], options['secret_key']),
            options['region'], profile)
        request = tencent_models.SendSmsRequest()
        request.PhoneNumberSet = [
            phone if phone.startswith('+') else '+86' + phone]
        request.SmsSdkAppId = options['sdk_app_id']
        request.SignName = options['sign_name']
        request.TemplateId = template
        request.TemplateParamSet = [code, str(minutes)]
        try:
            response = client.SendSms(request)
        except TencentCloudSDKException as exception:
            status = exception.get_code() or 'BAD_RESPONSE'
            message = exception.get_message() or ''
            if isinstance(message, bytes):
                message = message.decode('utf-8', 'replace')
            if status in self.NETWORK_CODES:
                return self._network_error(phone, message)
            return self._refused(phone, status, message)
        statuses = response.SendStatusSet or []
        if not statuses:
            return self._refused(phone, 'BAD_RESPONSE', "no SendStatusSet")
        # the call succeeds as a whole; the outcome is per number
        status = statuses[0]
        if status.Code != 'Ok':
            return self._refused(phone, status.Code or 'BAD_RESPONSE',
                status.Message)
        return self._delivered(phone, status.Code, status.Message,
            status.SerialNo)


GATEWAYS = {
    'log': LogGateway,
    'aliyun': AliyunGateway,
    'tencent': TencentGateway,
    }


def get_gateway():
    name = config.get('duoduo', 'sms_backend', default='log')
    try:
        return GATEWAYS[name]()
    except KeyError:
        raise ValueError(
            f"[duoduo] sms_backend must be one of {sorted(GATEWAYS)}, "
            f"not {name!r}")
