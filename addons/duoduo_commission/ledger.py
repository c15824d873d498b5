"""What commission adds to the ledger: PDD orders as the origin of entries
(with the PDD status that caused them), PDD's commission receivable, and
the kinds of a commission (the buyer's own, the team's)."""
from sql import Cast
from sql.operators import Concat

from collections import defaultdict

from trytond.model import fields
from trytond.modules.duoduo_ledger.ledger import CASH_ACCOUNTS, ZERO
from trytond.pool import Pool, PoolMeta

from .plan import BUYER_KIND, TEAM_KIND

ORDER_MODEL = 'duoduo.pdd.order'


def order_origin(order_id):
    "The origin text of the PDD order order_id (a Reference's value)"
    return f'{ORDER_MODEL},{int(order_id)}'


def order_origin_column(order_table):
    "SQL: the origin text of each row of a duoduo_pdd_order table"
    return Concat(f'{ORDER_MODEL},', Cast(order_table.id, 'VARCHAR'))


class Entry(metaclass=PoolMeta):
    __name__ = 'duoduo.ledger.entry'

    order_status = fields.Integer("Order Status", readonly=True,
        help="PDD's order_status that caused the entry.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.kind.selection += [
            (BUYER_KIND, "Commission"),
            (TEAM_KIND, "Team Commission"),
            ]

    @classmethod
    def _get_origin(cls):
        return super()._get_origin() + [ORDER_MODEL]

    @classmethod
    def income_kinds(cls):
        return super().income_kinds() | {BUYER_KIND, TEAM_KIND}

    @classmethod
    def _cause_fields(cls):
        return super()._cause_fields() | {'order_status'}

    @classmethod
    def on_posted(cls, entries):
        """Settled income may raise members' levels; income counts in the
        team statistics"""
        pool = Pool()
        Member = pool.get('duoduo.member')
        Statistic = pool.get('duoduo.team.statistic')
        super().on_posted(entries)
        income_kinds = cls.income_kinds()
        reached = {}
        incomes = defaultdict(lambda: ZERO)
        for entry in entries:
            for line in entry.lines:
                if not line.member or entry.kind not in income_kinds:
                    continue
                if line.account == 'member_available' and line.amount > 0:
                    reached.setdefault(line.member.id, entry.id)
                if line.account in CASH_ACCOUNTS:
                    incomes[line.member.id] += line.amount
        if reached:
            Member.apply_level_rules(Member.browse(list(reached)),
                'settlement', entries=reached)
        if incomes:
            Statistic.earned(dict(incomes))

    @property
    def order(self):
        "The PDD order of the entry, or None"
        if self.origin and self.origin.__name__ == ORDER_MODEL:
            return self.origin


class Line(metaclass=PoolMeta):
    __name__ = 'duoduo.ledger.line'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.account.selection.insert(
            0, ('pdd_receivable', "PDD Commission Receivable"))
