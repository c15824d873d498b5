from http import HTTPStatus

from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError

from .i18n import gettext


class ContractAnswerMixin:
    """How the mini-program's routes answer an exception (mixed into a
    UserError): duoduo_api reads these attributes and knows no exception
    class of any addon.

    contract_code, http_status: the contract's code and the HTTP status of
        the answer (not `code`: Tryton's exceptions set self.code, their
        XML-RPC fault code)
    member_message_id: the ir.message the member reads instead of the
        exception's own message (which is then for staff); member_message()
        may be overridden to answer something else
    log_for_staff: the routes log the exception's own message when they
        answer it (details only staff can act on)
    keep_writes: the request must still commit what was written before the
        error was raised (a failed code try is counted, a vendor refusal is
        kept for staff); raise such errors only before any other write"""
    contract_code = 400
    http_status = HTTPStatus.BAD_REQUEST
    member_message_id = None
    log_for_staff = False
    keep_writes = False

    def member_message(self):
        "What the member reads"
        if self.member_message_id:
            return gettext(self.member_message_id)
        return self.message


class MemberError(ContractAnswerMixin, UserError):
    "An error the member sees in the mini-program, its message theirs"


class SmsCodeError(MemberError):
    "Wrong, expired, used or invalidated verification code"
    contract_code = 1001
    keep_writes = True


class SmsRateLimitError(MemberError):
    "Too many codes asked for a phone or a client address"
    contract_code = 429
    http_status = HTTPStatus.TOO_MANY_REQUESTS


class RateLimitError(MemberError):
    "A client address asked too often (phone lookups)"
    contract_code = 429
    http_status = HTTPStatus.TOO_MANY_REQUESTS


class SmsSendError(MemberError):
    "The SMS vendor refused or could not be reached"
    contract_code = 503
    http_status = HTTPStatus.SERVICE_UNAVAILABLE
    keep_writes = True


class SmsVendorThrottledError(SmsSendError):
    "The SMS vendor refused because the phone asked too often"
    contract_code = 429
    http_status = HTTPStatus.TOO_MANY_REQUESTS


class PhoneTakenError(MemberError):
    contract_code = 1002


class InvitationCodeError(MemberError):
    contract_code = 1003


class MemberDisabledError(MemberError):
    contract_code = 1004
    http_status = HTTPStatus.FORBIDDEN


class MemberTokenError(MemberError):
    "Missing, unknown, expired or revoked member token"
    contract_code = 401
    http_status = HTTPStatus.UNAUTHORIZED


class WechatBindError(MemberError):
    pass


class PhoneValidationError(ValidationError):
    pass


class MemberValidationError(ValidationError):
    pass


class ReferrerCycleError(ValidationError):
    pass
