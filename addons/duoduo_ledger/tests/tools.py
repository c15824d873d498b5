"""What the ledger's tests share: new members, the ledger's clock, and
postings of a member's moves."""
import itertools
from decimal import Decimal
from unittest.mock import patch

from trytond.pool import Pool

from trytond.modules.duoduo_base import tools

# phones never given twice in a run
_phones = itertools.count(1)


def clock(at):
    "Patch the clock (the ledger's, the calendar's) to naive UTC `at`"
    return patch.object(tools, 'now', return_value=at)


def post_moves(key, at, kind, member, *moves):
    """Post at `at` the member's moves, (account, amount as text), balanced
    by pdd_receivable"""
    Entry = Pool().get('duoduo.ledger.entry')
    lines = [{'account': account, 'member': member, 'amount': Decimal(a)}
        for account, a in moves]
    lines.append({'account': 'pdd_receivable',
            'amount': -sum(l['amount'] for l in lines)})
    with clock(at):
        return Entry.post(key, lines, kind)


class MembersMixin:
    "New members in the test's transaction, by phone_prefix (7 digits)"
    phone_prefix = None

    def members(self, count):
        Member = Pool().get('duoduo.member')
        return Member.create([
                {'phone': f'{self.phone_prefix}{next(_phones):04d}'}
                for _ in range(count)])
