from trytond.exceptions import UserError


class LedgerError(UserError):
    "Something the ledger refuses: a money bug in the caller, never retried"


class LedgerPostError(LedgerError):
    """Lines refused by Entry.post: a float or a sub-fen amount, an unknown
    account, a member missing or misplaced, an unbalanced entry"""


class LedgerChangeError(LedgerError):
    """A ledger entry or line created outside Entry.post, written or
    deleted: the ledger is append-only, corrections are new entries"""


# --- plans and order lifecycle (owner: plan) ---
from trytond.model.exceptions import AccessError, ValidationError  # noqa: E402


class PlanValidationError(ValidationError):
    """A plan version refused on save: a rate outside 0–1, a depth beyond 3,
    a worst case above 100 %"""


class PlanActiveError(ValidationError):
    "A second commission plan made active"


class PlanVersionFrozenError(AccessError):
    """A plan version (or its rules) changed after it split an order:
    create a new version"""
