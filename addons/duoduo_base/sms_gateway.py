"""SMS vendors behind one small interface, chosen by [duoduo] sms_backend.

A gateway sends one verification code and reports what the vendor said; it
never retries on its own (a retry could deliver two codes) and never raises
for a refusal: the caller records the outcome for staff and tells the member.
"""
import datetime as dt
import json
import logging
import os
from dataclasses import dataclass

from trytond.config import config

logger = logging.getLogger(__name__)

SCENE_TEXTS = {
    'login': "您的登录验证码为{code}，{minutes}分钟内有效，请勿泄露给他人。",
    'change_phone': "您正在更换手机号，验证码为{code}，{minutes}分钟内有效。",
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
    return SCENE_TEXTS[scene].format(code=code, minutes=max(ttl // 60, 1))


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


GATEWAYS = {
    'log': LogGateway,
    }


def get_gateway():
    name = config.get('duoduo', 'sms_backend', default='log')
    try:
        return GATEWAYS[name]()
    except KeyError:
        raise ValueError(
            f"[duoduo] sms_backend must be one of {sorted(GATEWAYS)}, "
            f"not {name!r}")
