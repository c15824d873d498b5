from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError


class MemberError(UserError):
    """An error the member sees in the mini-program.

    keep_writes: the request must still commit what was written before the
    error was raised (a failed code try is counted, a vendor refusal is kept
    for staff); raise such errors only before any other write."""
    keep_writes = False


class SmsCodeError(MemberError):
    "Wrong, expired, used or invalidated verification code"
    keep_writes = True


class SmsRateLimitError(MemberError):
    "Too many codes asked for a phone or a client address"


class SmsSendError(MemberError):
    "The SMS vendor refused or could not be reached"
    keep_writes = True


class SmsVendorThrottledError(SmsSendError):
    "The SMS vendor refused because the phone asked too often"


class PhoneTakenError(MemberError):
    pass


class InvitationCodeError(MemberError):
    pass


class MemberDisabledError(MemberError):
    pass


class MemberTokenError(MemberError):
    "Missing, unknown, expired or revoked member token"


class WechatBindError(MemberError):
    pass


class PhoneValidationError(ValidationError):
    pass


class MemberValidationError(ValidationError):
    pass


class ReferrerCycleError(ValidationError):
    pass
