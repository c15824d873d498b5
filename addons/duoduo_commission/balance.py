"""Members' balances for finance: searching members by the sums of their
ledger lines (negative available balances: members who owe a reversal)."""
import operator
from decimal import Decimal

from sql import Null
from sql.operators import (
    Equal, Greater, GreaterEqual, Less, LessEqual, NotEqual)

from trytond import backend
from trytond.pool import Pool, PoolMeta

from .ledger import BALANCE_FIELDS, ZERO, amount_column, sum_money

OPERATORS = {
    '=': (Equal, operator.eq),
    '!=': (NotEqual, operator.ne),
    '<': (Less, operator.lt),
    '<=': (LessEqual, operator.le),
    '>': (Greater, operator.gt),
    '>=': (GreaterEqual, operator.ge),
    }


class Member(metaclass=PoolMeta):
    __name__ = 'duoduo.member'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        for name in BALANCE_FIELDS:
            getattr(cls, name).searcher = 'search_balance'

    @classmethod
    def search_balance(cls, name, clause):
        """Members whose balance `name` compares to the value: a grouped sum
        of the account's lines; members without lines hold 0.00"""
        Line = Pool().get('duoduo.ledger.line')
        line = Line.__table__()
        _, operator_, value = clause[:3]
        if operator_ not in OPERATORS or value is None:
            # e.g. "in", "like": the lists' filters compare; nothing else
            # matches a sum
            return [('id', '=', -1)]
        sql_operator, python_operator = OPERATORS[operator_]
        value = Decimal(str(value))
        account = BALANCE_FIELDS[name]
        total = sum_money(amount_column(line))
        bound = value
        if backend.name == 'sqlite':
            # sum_money adds integer fen there
            bound = value * 100
            bound = int(bound) if bound == int(bound) else float(bound)
        having = line.select(line.member,
            where=(line.account == account) & (line.member != Null),
            group_by=[line.member],
            having=sql_operator(total, bound))
        domain = [('id', 'in', having)]
        if python_operator(ZERO, value):
            # members with no line on the account hold 0.00 too
            with_lines = line.select(line.member,
                where=(line.account == account) & (line.member != Null))
            domain = ['OR', domain, [('id', 'not in', with_lines)]]
        return domain
