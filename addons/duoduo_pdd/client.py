"""The PDD open-platform gateway client: one class for every API.

Requests are POSTed form-encoded to the gateway with the official MD5
signature; the answer's `error_response` becomes a typed error
(exceptions.py). Throttling (52101/70031) is retried a bounded number of
times with exponential backoff; nothing else is retried here, because
pid.generate and token.create are not idempotent. The client secret is never
logged."""
import hashlib
import json
import logging
import threading
import time

import requests
from requests.adapters import HTTPAdapter

from .exceptions import (
    PddThrottledError, PddUnavailableError, error_from_response)

logger = logging.getLogger(__name__)

DEFAULT_GATEWAY_URL = 'https://gw-api.pinduoduo.com/api/router'

_local = threading.local()


def encode(value):
    """The string PDD signs and receives for a value; None is not sent.

    Lists and objects travel as compact JSON, booleans as true/false: the
    exact string on the wire is the one signed."""
    if value is None:
        return None
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, ensure_ascii=False, separators=(',', ':'))
    return str(value)


def sign(params, secret):
    "secret + name1value1name2value2… + secret, MD5, upper-case hex"
    payload = ''.join(f'{name}{params[name]}' for name in sorted(params))
    return hashlib.md5(
        f'{secret}{payload}{secret}'.encode('utf-8')).hexdigest().upper()


def _session():
    # one pooled session per thread: requests.Session is not thread-safe
    session = getattr(_local, 'session', None)
    if session is None:
        session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=8)
        session.mount('https://', adapter)
        session.mount('http://', adapter)
        _local.session = session
    return session


class PddClient:

    def __init__(self, gateway_url, client_id, client_secret,
            connect_timeout=3.05, read_timeout=10, max_retries=3,
            retry_backoff=0.5):
        self.gateway_url = gateway_url or DEFAULT_GATEWAY_URL
        self.client_id = client_id
        self.client_secret = client_secret
        self.timeout = (float(connect_timeout), float(read_timeout))
        self.max_retries = int(max_retries)
        self.retry_backoff = float(retry_backoff)

    def __repr__(self):
        return f'PddClient({self.gateway_url!r}, {self.client_id!r})'

    def signed_params(self, api_type, access_token=None, **params):
        "The form the gateway receives: system and business params, signed"
        values = {
            'type': api_type,
            'client_id': self.client_id,
            'timestamp': str(int(time.time())),
            'data_type': 'JSON',
            'access_token': access_token,
            }
        values.update(params)
        values = {k: encode(v) for k, v in values.items()}
        values = {k: v for k, v in values.items() if v is not None}
        values['sign'] = sign(values, self.client_secret)
        return values

    def call(self, api_type, access_token=None, **params):
        """Call api_type and return the object under its response key
        (e.g. the content of `goods_search_response`)."""
        for attempt in range(self.max_retries + 1):
            try:
                return self._call_once(api_type, access_token, params)
            except PddThrottledError as error:
                if attempt >= self.max_retries:
                    raise
                delay = self.retry_backoff * 2 ** attempt
                logger.warning("PDD %s throttled (%s, request %s); retry %d "
                    "in %.2f s", api_type, error.error_code, error.request_id,
                    attempt + 1, delay)
                time.sleep(delay)

    def _call_once(self, api_type, access_token, params):
        form = self.signed_params(api_type, access_token, **params)
        started = time.monotonic()
        try:
            response = _session().post(
                self.gateway_url, data=form, timeout=self.timeout)
        except requests.Timeout:
            logger.warning("PDD %s timed out after %.1f s", api_type,
                time.monotonic() - started)
            raise PddUnavailableError(api_type, error_msg='timeout')
        except requests.RequestException as error:
            logger.warning("PDD %s unreachable: %s", api_type,
                type(error).__name__)
            raise PddUnavailableError(
                api_type, error_msg=type(error).__name__)
        elapsed = (time.monotonic() - started) * 1000
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 500 or not isinstance(body, dict):
            logger.warning("PDD %s answered HTTP %s without a JSON object",
                api_type, response.status_code)
            raise PddUnavailableError(
                api_type, error_msg=f'HTTP {response.status_code}')
        if 'error_response' in body:
            error = error_from_response(api_type, body['error_response'])
            logger.warning("PDD %s error %s sub_code %s: %s (request %s, "
                "%.0f ms)", api_type, error.error_code, error.sub_code,
                error.detail, error.request_id, elapsed)
            raise error
        answer = next((value for key, value in body.items()
                if key.endswith('_response')), None)
        if not isinstance(answer, dict):
            raise PddUnavailableError(
                api_type, error_msg='no response object in the answer')
        logger.info("PDD %s ok (request %s, %.0f ms)", api_type,
            answer.get('request_id'), elapsed)
        return answer
