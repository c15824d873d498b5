from trytond.model.exceptions import AccessError, ValidationError


class PlanValidationError(ValidationError):
    """A plan version refused on save: a rate outside 0–1, a depth beyond 3,
    a worst case above 100 %"""


class PlanActiveError(ValidationError):
    "A second commission plan made active"


class PlanVersionFrozenError(AccessError):
    """A plan version (or its rules) changed after it split an order:
    create a new version"""
