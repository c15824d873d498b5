"""What PDD's gateway answers, as typed errors.

The gateway answers HTTP 200 with {"error_response": {...}}; the class says
what the caller can do about it (retry, fix the set-up, ask the member to
authorize, show PDD's own words).

The message of a PddError is for staff: the mini-program's routes log it
and answer the member with a text of their own (503 unless said otherwise)."""
from http import HTTPStatus

from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError
from trytond.i18n import gettext
from trytond.modules.duoduo_base.exceptions import (
    ContractAnswerMixin, MemberError)
from trytond.transaction import Transaction


class PddError(ContractAnswerMixin, UserError):
    "An error answered by PDD or met on the way to it"
    message_id = 'duoduo_pdd.msg_pdd_error'
    # the set-up (signature, client, token, test status, a PID not 备案'd)
    # or PDD itself is at fault: the member can only retry later
    contract_code = 503
    http_status = HTTPStatus.SERVICE_UNAVAILABLE
    member_message_id = 'duoduo_pdd.msg_answer_pdd_unavailable'
    log_for_staff = True

    def __init__(self, api_type, error_code=None, error_msg='', sub_code=None,
            sub_msg='', request_id=None):
        self.api_type = api_type
        self.error_code = error_code
        self.error_msg = error_msg or ''
        self.sub_code = sub_code
        self.sub_msg = sub_msg or ''
        self.request_id = request_id
        super().__init__(self._message())

    @property
    def detail(self):
        "PDD's own words"
        return self.sub_msg or self.error_msg

    def _message(self):
        values = {
            'api': self.api_type,
            'code': self.error_code if self.error_code is not None else '-',
            'detail': self.detail,
            'request_id': self.request_id or '-',
            }
        if Transaction().database:
            return gettext(self.message_id, **values)
        # outside a transaction there are no messages to read
        return ("PDD %(api)s: error %(code)s %(detail)s "
            "(request %(request_id)s)" % values)


class PddSignatureError(PddError):
    "20004: the request signature does not match (a bug or a wrong secret)"
    message_id = 'duoduo_pdd.msg_pdd_signature_error'


class PddClientError(PddError):
    "The app itself is refused: wrong client_id, IP not whitelisted, no permission"
    message_id = 'duoduo_pdd.msg_pdd_client_error'


class PddTokenError(PddError):
    "10019/20032: the 多多进宝 authorization expired or is invalid"
    message_id = 'duoduo_pdd.msg_pdd_token_error'


class PddThrottledError(PddError):
    "52101/70031: PDD throttles the API (raised once the retries are spent)"
    message_id = 'duoduo_pdd.msg_pdd_throttled'
    contract_code = 429
    http_status = HTTPStatus.TOO_MANY_REQUESTS
    member_message_id = 'duoduo_pdd.msg_answer_pdd_busy'


class PddTestStatusError(PddError):
    "70036: the app is still in test status, with limited calls"
    message_id = 'duoduo_pdd.msg_pdd_test_status'


class PddAuthorityError(PddError):
    "50001/60001: the PID or custom_parameters are not 备案'd yet"
    message_id = 'duoduo_pdd.msg_pdd_authority'


class PddGoodsError(PddError):
    "50001/10002: goodsSign解析错误 — no such goods"
    message_id = 'duoduo_pdd.msg_pdd_goods'
    contract_code = 3001
    http_status = HTTPStatus.NOT_FOUND
    member_message_id = 'duoduo_pdd.msg_answer_goods_not_found'


class PddBusinessError(PddError):
    "Any other refusal: PDD's sub_msg says why"
    message_id = 'duoduo_pdd.msg_pdd_business'
    contract_code = 400
    http_status = HTTPStatus.BAD_REQUEST

    def member_message(self):
        "PDD's own words (sub_msg): they say what the member asked wrong"
        return self.detail or self.message


class PddUnavailableError(PddError):
    "Timeout, connection error, a non-JSON answer or PDD's own outage"
    message_id = 'duoduo_pdd.msg_pdd_unavailable'


class AuthorizationStateError(UserError):
    "The state of an OAuth callback is missing, forged or expired"


class AuthorizationSetupError(UserError):
    "The app's client_id or redirect_uri are missing"


class FavouriteNotFoundError(MemberError):
    "No favourite of this member with this id (unknown or someone else's)"
    contract_code = 404
    http_status = HTTPStatus.NOT_FOUND


class PidAssignmentError(ValidationError):
    "A PID given to a member who is not a partner, or already taken"


class PidGenerateError(ValidationError):
    "PIDs asked in a number PDD refuses, or with names that do not match"


class OrderSyncError(UserError):
    "The order sync could not run or failed (shown to staff)"


ERRORS_BY_CODE = {
    20004: PddSignatureError,
    10016: PddClientError, 20005: PddClientError, 20031: PddClientError,
    30000: PddClientError, 30001: PddClientError, 70032: PddClientError,
    70034: PddClientError, 70035: PddClientError,
    10019: PddTokenError, 20032: PddTokenError,
    52101: PddThrottledError, 70031: PddThrottledError,
    70036: PddTestStatusError,
    50000: PddUnavailableError, 50002: PddUnavailableError,
    52001: PddUnavailableError, 52002: PddUnavailableError,
    52102: PddUnavailableError, 52103: PddUnavailableError,
    70033: PddUnavailableError,
    }
ERRORS_BY_SUB_CODE = {
    '60001': PddAuthorityError,
    '10002': PddGoodsError,
    }


def error_from_response(api_type, error):
    "The typed error for an `error_response` object"
    try:
        code = int(error.get('error_code'))
    except (TypeError, ValueError):
        code = None
    sub_code = error.get('sub_code')
    sub_code = str(sub_code) if sub_code not in (None, '') else None
    error_class = ERRORS_BY_SUB_CODE.get(sub_code) or ERRORS_BY_CODE.get(
        code, PddBusinessError)
    return error_class(api_type, code, error.get('error_msg'), sub_code,
        error.get('sub_msg'), error.get('request_id'))
