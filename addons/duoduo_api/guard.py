"""What wraps the whole WSGI application (trytond.wsgi.app), for every
answer, whichever server runs it (`trytond`'s werkzeug server, gunicorn):

- on API paths, every answer is the contract's envelope: what trytond or
  werkzeug would answer as an HTML page (its CORS check, 405, 413, a
  redirect…) is answered as {"code", "msg", "data"} with the same status
  and headers; URLs and headers past gunicorn's default limits answer 414
  and 431 here too;
- every answer carries security headers;
- logged request lines never show a token, an OAuth code or state (a
  logging filter on the loggers that write request lines);
- werkzeug's development server does not name itself and Python in a
  `Server` header.

Limits a server enforces before the application sees the request (gunicorn's
limit_request_line and limit_request_field_size, a proxy's buffers) are
documented in the README's Security section."""
import json
import logging
import re
from http import HTTPStatus

from werkzeug.exceptions import HTTPException

API_PREFIXES = ('/user/', '/tbk/', '/member/', '/duo/', '/points/', '/pdd/',
    '/wechatpay/')
# gunicorn's defaults (limit_request_line, limit_request_field_size,
# limit_request_fields): the application refuses the same, so an answer
# does not depend on which server runs it
MAX_REQUEST_LINE = 4094
MAX_HEADER_FIELD = 8190
MAX_HEADER_FIELDS = 100
STATUS_MESSAGES = {
    403: 'duoduo_api.msg_origin_forbidden',
    404: 'duoduo_api.msg_not_found',
    405: 'duoduo_api.msg_method_not_allowed',
    413: 'duoduo_api.msg_request_too_large',
    414: 'duoduo_api.msg_url_too_long',
    431: 'duoduo_api.msg_headers_too_large',
    }
SECURITY_HEADERS = [
    ('X-Content-Type-Options', 'nosniff'),
    # the back office must not be framed (clickjacking); nor the API
    ('X-Frame-Options', 'DENY'),
    ('Referrer-Policy', 'no-referrer'),
    ]
# the API answers JSON only: it loads nothing
API_CSP = "default-src 'none'; frame-ancestors 'none'"
# sao loads its own scripts and styles: only framing is refused
BACK_OFFICE_CSP = "frame-ancestors 'none'"
# kept from an answer replaced by the envelope
KEPT_HEADERS = {'allow', 'location', 'retry-after', 'vary'}

# a query parameter whose value must never be logged
SECRET_PARAMETERS = re.compile(
    r'''([?&;](?:token|code|state)=)[^&;#\s'"]*''', re.IGNORECASE)
REDACTED_LOGGERS = ['werkzeug', 'trytond.wsgi', 'gunicorn.access',
    'gunicorn.error']


def is_api_path(path):
    return path.startswith(API_PREFIXES) or path.rstrip('/') in {
        p.rstrip('/') for p in API_PREFIXES}


def redact(text):
    "text with the values of token, code and state parameters as ***"
    return SECRET_PARAMETERS.sub(r'\1***', text)


class RedactSecrets(logging.Filter):
    "Rewrites a record whose message shows a secret query parameter"

    def filter(self, record):
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            # arguments that do not fit the format: logging reports it
            return True
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def envelope(status, message, headers=()):
    "(status line, headers, body) of the contract's envelope"
    body = json.dumps({'code': status, 'msg': message, 'data': {}},
        ensure_ascii=False).encode('utf-8')
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ''
    headers = [(k, v) for k, v in headers if k.lower() in KEPT_HEADERS]
    headers += [
        ('Content-Type', 'application/json; charset=utf-8'),
        ('Content-Length', str(len(body))),
        ]
    return f'{status} {phrase}'.strip(), headers, body


def status_message(status, **variables):
    from .api import outside_text
    message_id = STATUS_MESSAGES.get(status, 'duoduo_api.msg_http_error')
    text = outside_text(message_id)
    try:
        return text % dict(variables, status=status)
    except (KeyError, ValueError, TypeError):
        return text


def oversized(environ):
    "The status refusing a request whose URL or headers are too large"
    uri = environ.get('REQUEST_URI') or environ.get('RAW_URI') or (
        environ.get('PATH_INFO', '') + (
            '?' + environ['QUERY_STRING']
            if environ.get('QUERY_STRING') else ''))
    request_line = len(environ.get('REQUEST_METHOD', '')) + len(uri) + len(
        ' HTTP/1.1') + 1
    if request_line > MAX_REQUEST_LINE:
        return 414
    fields = 0
    for key, value in environ.items():
        if key.startswith('HTTP_') or key in {'CONTENT_TYPE',
                'CONTENT_LENGTH'}:
            fields += 1
            if len(key) + 2 + len(str(value)) > MAX_HEADER_FIELD:
                return 431
    if fields > MAX_HEADER_FIELDS:
        return 431
    return None


def with_security_headers(headers, api):
    present = {k.lower() for k, _ in headers}
    headers = [(k, v) for k, v in headers if k.lower() != 'server']
    for name, value in SECURITY_HEADERS + [
            ('Content-Security-Policy', API_CSP if api else BACK_OFFICE_CSP)]:
        if name.lower() not in present:
            headers.append((name, value))
    return headers


class Guard:
    "The WSGI middleware described above"
    duoduo_guard = True

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        api = is_api_path(environ.get('PATH_INFO', ''))

        def secured(status, headers, exc_info=None):
            return start_response(status, with_security_headers(headers, api),
                exc_info)

        if not api:
            return self.app(environ, secured)

        def answer(status, headers=(), **variables):
            line, headers, body = envelope(
                status, status_message(status, **variables), headers)
            secured(line, headers)
            return [body]

        status = oversized(environ)
        if status:
            return answer(status)
        captured = {}
        buffered = []

        def capture(status, headers, exc_info=None):
            captured['status'], captured['headers'] = status, headers
            return buffered.append

        try:
            body = self.app(environ, capture)
        except HTTPException as error:
            # trytond's CORS check aborts outside its own error handling
            return answer(error.code or 500,
                error.get_headers() if error.code else (),
                method=environ.get('REQUEST_METHOD', ''))
        headers = captured.get('headers', [])
        content_type = next(
            (v for k, v in headers if k.lower() == 'content-type'), '')
        if 'json' in content_type:
            secured(captured['status'], headers)
            if buffered:
                return buffered + list(body)
            return body
        if hasattr(body, 'close'):
            body.close()
        status = int(captured.get('status', '500').split()[0])
        return answer(status, headers,
            method=environ.get('REQUEST_METHOD', ''))


def send_response(self, code, message=None):
    """BaseHTTPRequestHandler.send_response without the Server header
    (werkzeug's would read "Werkzeug/x Python/y")"""
    self.log_request(code)
    self.send_response_only(code, message)
    self.send_header('Date', self.date_time_string())


def install(app):
    "Wrap app's WSGI callable once, filter the loggers, quiet werkzeug"
    if not getattr(app.wsgi_app, 'duoduo_guard', False):
        app.wsgi_app = Guard(app.wsgi_app)
    for name in REDACTED_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
    try:
        from werkzeug.serving import WSGIRequestHandler
    except ImportError:
        return
    WSGIRequestHandler.send_response = send_response
