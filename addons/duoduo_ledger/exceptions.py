from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError


class LedgerError(UserError):
    "Something the ledger refuses: a money bug in the caller, never retried"


class LedgerPostError(LedgerError):
    """Lines refused by Entry.post: a float or a sub-fen amount, an unknown
    account or kind, a member missing or misplaced, an unbalanced entry"""


class LedgerChangeError(LedgerError):
    """A ledger entry or line created outside Entry.post, written or
    deleted: the ledger is append-only, corrections are new entries"""


class AdjustmentError(LedgerError):
    "A manual adjustment refused: no amount, no reason, sub-fen amount"


class AdjustmentAccessError(AccessError):
    "A manual adjustment by someone outside the finance group"
