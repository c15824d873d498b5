"""PDD's units and ours: 分 → 元 as Decimal, UNIX seconds → Tryton's
naive UTC datetimes."""
from decimal import Decimal

from trytond.modules.duoduo_base.tools import from_unix_time, unix_time

CENT = Decimal('0.01')


def yuan(fen):
    "PDD's 分 as 元 with two places; None for a blank or non-number"
    try:
        value = int(fen)
    except (TypeError, ValueError):
        return None
    return (Decimal(value) / 100).quantize(CENT)


def from_timestamp(value):
    """PDD's UNIX time (seconds; milliseconds tolerated) as a naive UTC
    datetime; 0, blanks and non-numbers are None"""
    try:
        value = int(value)
    except (TypeError, ValueError):
        return None
    if value <= 0:
        return None
    if value > 10 ** 11:
        value //= 1000
    return from_unix_time(value)


# a naive UTC datetime as UNIX seconds; None is 0
to_timestamp = unix_time
