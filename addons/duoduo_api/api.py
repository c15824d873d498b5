"""The mini-program contract's HTTP conventions, in one place.

Every route answers {"code", "msg", "data"} (a few answer bare JSON), takes
JSON or form bodies, authenticates members with `Authorization: Token <t>`
and turns every error into the contract's codes: never an HTML page, never a
500 for bad input.

An addon's exception says how it is answered (duoduo_base's
ContractAnswerMixin): contract_code, http_status, member_message(),
log_for_staff, keep_writes. This module names no addon's exception: only
Tryton's own errors get their answer here."""
import json
import logging
import re
from decimal import Decimal
from functools import wraps
from http import HTTPStatus

import simplejson
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule

from trytond import backend
from trytond import config
from trytond.exceptions import UserError, UserWarning
from trytond.i18n import gettext
from trytond.model.exceptions import AccessError, ValidationError
from trytond.modules.duoduo_base import i18n
from trytond.modules.duoduo_base.i18n import echo
from trytond.protocols.wrappers import (
    Response, abort, with_pool, with_transaction)
from trytond.transaction import TransactionError
from trytond.wsgi import app

from . import guard

logger = logging.getLogger(__name__)

SUCCESS = 200
INTEGER = re.compile(r'[+-]?[0-9]{1,18}')
# the largest id a database integer column holds (PostgreSQL's integer)
MAX_ID = 2 ** 31 - 1
# pages past it answer 400: offsets stay far from any database's limits
MAX_PAGE = 10000
# the contract's routes, without the catch-all: which methods a path takes
API_MAP = Map(strict_slashes=False)
# Tryton's errors, which declare no answer: (class, contract code, HTTP
# status); first match wins.
TRYTON_ERROR_CODES = [
    (AccessError, 403, HTTPStatus.FORBIDDEN),
    (ValidationError, 400, HTTPStatus.BAD_REQUEST),
    (UserError, 400, HTTPStatus.BAD_REQUEST),
    (UserWarning, 400, HTTPStatus.BAD_REQUEST),
    ]


class ApiError(Exception):
    "An answer other than success, raised by the contract layer itself"

    def __init__(self, msg, code=400, status=HTTPStatus.BAD_REQUEST):
        super().__init__(msg)
        self.msg, self.code, self.status = msg, code, status


def dumps(payload):
    # simplejson writes Decimal('158.50') as 158.50: amounts stay exact
    return simplejson.dumps(payload, use_decimal=True, ensure_ascii=False)


def reply(data=None, msg=None, code=SUCCESS, status=HTTPStatus.OK):
    if data is None:
        data = {}
    if msg is None:
        msg = gettext('duoduo_api.msg_success') if code == SUCCESS else ''
    return Response(
        dumps({'code': code, 'msg': msg, 'data': data}), status=int(status),
        content_type='application/json; charset=utf-8')


def error_answer(error):
    """(contract code, HTTP status) of an exception or exception class: what
    it declares (http_status, contract_code), else Tryton's defaults, else
    None"""
    status = getattr(error, 'http_status', None)
    if status is not None:
        status = HTTPStatus(status)
        return getattr(error, 'contract_code', int(status)), status
    error_class = error if isinstance(error, type) else type(error)
    for exception_class, code, status in TRYTON_ERROR_CODES:
        if issubclass(error_class, exception_class):
            return code, status
    return None


def error_answers():
    "{(contract code, HTTP status)} of every error class imported"
    answers = set()
    classes = [UserError, UserWarning]
    while classes:
        error_class = classes.pop()
        answers.add(error_answer(error_class))
        classes.extend(error_class.__subclasses__())
    return answers


def error_message(error):
    "What the member reads: member_message() if it has one, else its message"
    member_message = getattr(error, 'member_message', None)
    if callable(member_message):
        return member_message()
    return error.message


def error_reply(error):
    answer = error_answer(error)
    if answer is None:
        raise error
    code, status = answer
    if getattr(error, 'log_for_staff', False):
        # its message (e.g. PDD's code, sub_msg, request id) is for staff
        logger.warning("%s answered as %s: %s", type(error).__name__, code,
            error.message)
    return reply(None, error_message(error), code, status)


def language():
    return i18n.member_language()


def encodable(value):
    "Whether value (parsed JSON) holds no lone surrogate (\\ud800)"
    try:
        json.dumps(value, ensure_ascii=False).encode('utf-8')
    except (UnicodeEncodeError, RecursionError):
        return False
    return True


class Params(dict):
    """The request's parameters: query string, then JSON or form body.

    body: the body's parameters alone (a token is read there, never from
    the query string)"""
    body = None

    @classmethod
    def from_request(cls, request):
        params = cls(request.args.to_dict())
        body = {}
        if request.method in {'POST', 'PUT', 'PATCH', 'DELETE'}:
            if request.mimetype and 'json' in request.mimetype:
                raw = request.get_data(cache=True)
                if raw.strip():
                    try:
                        body = json.loads(raw)
                    except (ValueError, UnicodeDecodeError, RecursionError):
                        raise ApiError(gettext('duoduo_api.msg_invalid_json'))
                    if not isinstance(body, dict):
                        raise ApiError(gettext('duoduo_api.msg_invalid_json'))
                    for name, value in body.items():
                        if not encodable(name) or not encodable(value):
                            raise ApiError(gettext(
                                    'duoduo_api.msg_invalid_parameter',
                                    name=echo(name.encode(
                                            'utf-8', 'replace').decode())))
            else:
                body = request.form.to_dict()
        params.update(body)
        params.body = body
        return params

    def required(self, name):
        value = self.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise ApiError(gettext(
                    'duoduo_api.msg_missing_parameter', name=name))
        return value

    def text(self, name, required=True, default=None):
        value = self.required(name) if required else self.get(name, default)
        if value is None:
            return default
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise ApiError(gettext(
                    'duoduo_api.msg_invalid_parameter', name=name))
        return str(value).strip()

    def integer(self, name, required=False, default=None, minimum=None,
            maximum=None):
        "An integer (JSON number or decimal text) within [minimum, maximum]"
        value = self.required(name) if required else self.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            return default
        if isinstance(value, bool):
            value = None
        elif isinstance(value, float) and value.is_integer():
            value = int(value)
        elif isinstance(value, str):
            text = value.strip()
            value = int(text) if INTEGER.fullmatch(text) else None
        if not isinstance(value, int):
            raise ApiError(gettext(
                    'duoduo_api.msg_invalid_parameter', name=name))
        if ((minimum is not None and value < minimum)
                or (maximum is not None and value > maximum)):
            if maximum is None:
                message = gettext('duoduo_api.msg_parameter_minimum',
                    name=name, minimum=minimum)
            elif minimum is None:
                message = gettext('duoduo_api.msg_parameter_maximum',
                    name=name, maximum=maximum)
            else:
                message = gettext('duoduo_api.msg_parameter_range',
                    name=name, minimum=minimum, maximum=maximum)
            raise ApiError(message)
        return value

    def boolean(self, name, default=None):
        "true/false, 1/0 (JSON or text)"
        value = self.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in {0, 1}:
            return bool(value)
        if isinstance(value, str):
            text = value.strip().lower()
            if text in {'true', '1', 'yes'}:
                return True
            if text in {'false', '0', 'no'}:
                return False
        raise ApiError(gettext('duoduo_api.msg_invalid_parameter', name=name))

    def amount(self, name, required=False, default=None,
            maximum=Decimal('99999999.99')):
        "A non-negative amount in yuan (JSON number or text), two places"
        value = self.required(name) if required else self.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            return default
        if isinstance(value, bool) or not isinstance(
                value, (int, float, str)):
            raise ApiError(gettext(
                    'duoduo_api.msg_invalid_parameter', name=name))
        try:
            value = Decimal(str(value).strip())
        except ArithmeticError:
            raise ApiError(gettext(
                    'duoduo_api.msg_invalid_parameter', name=name))
        if not value.is_finite() or value < 0 or value > maximum:
            raise ApiError(gettext(
                    'duoduo_api.msg_invalid_parameter', name=name))
        return value.quantize(Decimal('0.01'))

    def paging(self, default_size=20, max_size=100):
        "(page, page_size): 1 ≤ page ≤ MAX_PAGE, 1 ≤ page_size ≤ max_size"
        return (
            self.integer('page', default=1, minimum=1, maximum=MAX_PAGE),
            self.integer('page_size', default=default_size, minimum=1,
                maximum=max_size))

    def choice(self, name, choices, required=True, default=None):
        value = self.text(name, required=required, default=default)
        if value not in choices:
            raise ApiError(gettext(
                    'duoduo_api.msg_invalid_choice', name=name,
                    choices='/'.join(choices)))
        return value


def request_token(request, params=None, body_token=False):
    """The member token from `Authorization: Token <t>`, else, on routes
    whose contract puts it there (body_token), from the body's `token`.
    Never from the query string: URLs end up in logs."""
    header = request.headers.get('Authorization', '')
    scheme, _, token = header.partition(' ')
    if scheme.lower() == 'token' and token.strip():
        return token.strip()
    body = getattr(params, 'body', None) or {}
    if body_token and isinstance(body.get('token'), str):
        return body['token'].strip()
    return None


def route(rule, methods, auth=False, optional_auth=False, readonly=None,
        body_token=False):
    """Register a contract route.

    The view is called as view(request, pool, params[, member]) inside a
    transaction as root (user 0: the member is not a Tryton user); it
    returns the data of the envelope (or a Response). With auth, the member
    owning the token is passed and a missing or bad token answers 401.
    With optional_auth (routes the contract leaves open), the member is
    passed when a valid token comes, else None: a missing, stale or bad
    token never refuses the request. readonly: the transaction's mode
    (default: read-only for GET, as trytond does); a GET that stores
    something says readonly=False. body_token: the contract sends the
    token as a body parameter `token` (also accepted in the header); other
    routes read it from the header only, and none from the query string."""
    assert not (auth and optional_auth)
    database_name = config.get('duoduo', 'database')

    def decorator(func):
        @wraps(func)
        def in_transaction(request, pool, url_args):
            try:
                # parsed here, where messages can be translated
                params = Params.from_request(request)
                for name, value in url_args.items():
                    if isinstance(value, int) and not 0 <= value <= MAX_ID:
                        raise ApiError(gettext(
                                'duoduo_api.msg_invalid_parameter',
                                name=name))
                params.update(url_args)
                if auth:
                    Token = pool.get('duoduo.member.token')
                    member = Token.authenticate(
                        request_token(request, params, body_token))
                    result = func(request, pool, params, member)
                elif optional_auth:
                    result = func(request, pool, params,
                        optional_member(pool, request, params, body_token))
                else:
                    result = func(request, pool, params)
            except (TransactionError, backend.DatabaseOperationalError,
                    HTTPException):
                raise   # with_transaction retries the first two
            except ApiError as error:
                abort(reply(None, error.msg, error.code, error.status))
            except (UserError, UserWarning) as error:
                if getattr(error, 'keep_writes', False):
                    # answer the error but commit what it recorded
                    return error_reply(error)
                abort(error_reply(error))
            if isinstance(result, Response):
                return result
            return reply(result)

        transactional = with_pool(answer_unexpected(with_transaction(
                    readonly=readonly,
                    context={'language': language()})(in_transaction)))

        @wraps(func)
        def view(request, database_name, **kwargs):
            if not database_name:
                return reply(None, outside_text(
                        'duoduo_api.msg_database_not_configured'),
                    503, HTTPStatus.SERVICE_UNAVAILABLE)
            try:
                return transactional(request, database_name, kwargs)
            except HTTPException as error:
                if error.response is not None:
                    return error.response
                return reply(None, str(error.description), error.code,
                    error.code)
            except Exception as error:
                return unexpected(request, error)

        app.route(rule, methods=methods,
            defaults={'database_name': database_name})(view)
        API_MAP.add(Rule(rule, methods=methods, endpoint=rule))
        return view
    return decorator


def optional_member(pool, request, params, body_token=False):
    "The member of the request's token, None without a valid one"
    token = request_token(request, params, body_token)
    if not token:
        return None
    Token = pool.get('duoduo.member.token')
    try:
        return Token.authenticate(token)
    except UserError:   # the token is refused (unknown, expired, disabled)
        return None


def answer_unexpected(func):
    """Between with_pool and with_transaction: what the transaction's
    retries could not fix still gets an envelope (with_pool would answer
    an HTML page, or lose the error in a JSON request)."""
    @wraps(func)
    def wrapper(request, pool, *args, **kwargs):
        try:
            return func(request, pool, *args, **kwargs)
        except HTTPException:
            raise
        except Exception as error:
            return unexpected(request, error)
    return wrapper


def unexpected(request, error):
    if isinstance(error, backend.DatabaseOperationalError):
        # still locked after with_transaction's retries
        logger.warning("database busy on %s", request.path, exc_info=error)
        return reply(None, outside_text('duoduo_api.msg_busy'), 503,
            HTTPStatus.SERVICE_UNAVAILABLE)
    logger.error("error on %s %s", request.method, request.path,
        exc_info=error)
    return reply(None, outside_text('duoduo_api.msg_internal_error'), 500,
        HTTPStatus.INTERNAL_SERVER_ERROR)


def outside_text(message_id):
    """A message answered outside any transaction: the transaction failed,
    the database is busy or none is configured, or the path is unknown (the
    catch-all has no database, and a scanner's 404s should open none).
    duoduo_base's gettext reads it there from the addon's message.xml and
    locale files, in [duoduo] language: no database needed."""
    try:
        return i18n.gettext(message_id, language())
    except Exception:
        # an answer must come even if the files cannot be read
        logger.exception("message %s unavailable", message_id)
        return message_id


def not_found(request, path=''):
    """Unknown paths answer the contract's 404 rather than an HTML page, a
    known path asked with another method 405 (OPTIONS, a web view's CORS
    preflight, answers which methods it takes).

    Werkzeug tries this rule last: every real route is more specific. It
    takes every method (TRACE, PROPFIND…): werkzeug would answer the
    others with an HTML page."""
    adapter = API_MAP.bind('localhost')
    try:
        adapter.match(request.path, method=request.method)
    except MethodNotAllowed as error:
        allowed = ', '.join(sorted(error.valid_methods or []))
        if request.method == 'OPTIONS':
            response = reply(None, '', SUCCESS)
        else:
            response = reply(None, guard.status_message(
                    405, method=echo(request.method, 20)), 405,
                HTTPStatus.METHOD_NOT_ALLOWED)
        response.headers['Allow'] = allowed
        return response
    except NotFound:
        pass
    return reply(None, outside_text('duoduo_api.msg_not_found'), 404,
        HTTPStatus.NOT_FOUND)


app.route('/<path:path>')(not_found)
# the API's folders themselves: trytond's /<database_name>/ would take them
for prefix in guard.API_PREFIXES:
    app.route(prefix)(not_found)
guard.install(app)
