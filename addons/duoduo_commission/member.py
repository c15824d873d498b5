"""What commission adds to members: the status of their orders' entries in
the money history, and the statistics of their own orders."""
import datetime as dt

from sql import Cast
from sql.aggregate import Count

from trytond import backend

from trytond.modules.duoduo_base.tools import (
    month_start, next_month, shanghai_bounds, shanghai_date)
from trytond.modules.duoduo_ledger.ledger import (
    CASH_ACCOUNTS, amount_column, money, sum_money)
from trytond.modules.duoduo_ledger.member import (
    PENDING_STATUS, SETTLED_STATUS, VOID_STATUS)
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

from .ledger import order_origin_column

PERIODS = ['today', 'month', 'total']


def numeric(column):
    "A Numeric column to add exactly with sum_money"
    if backend.name == 'sqlite':
        return Cast(column, 'NUMERIC')
    return column


class Member(metaclass=PoolMeta):
    __name__ = 'duoduo.member'

    @classmethod
    def _history_statuses(cls, entries):
        """{entry id: (status, settled at)} of history rows.

        An order's accrual is pending while its generation is current and
        not settled, settled (at its settlement) once settled, void once
        its generation was reversed. Any other entry (a reversal, a
        withdrawal, a manual adjustment) is as the ledger says."""
        pool = Pool()
        Entry = pool.get('duoduo.ledger.entry')
        result = super()._history_statuses(entries)
        accruals = {}
        for entry in entries:
            parts = entry.key.split(':')
            if (entry.order and not entry.reversal_of and len(parts) == 5
                    and parts[0] == 'duoduo.pdd.order'
                    and parts[3] == 'accrue'):
                accruals[entry.id] = (entry, int(parts[2]))
        if not accruals:
            return result
        reversed_ = {e.reversal_of.id for e in Entry.search([
                    ('reversal_of', 'in', list(accruals)),
                    ])}
        settlement_keys = {}
        for entry_id, (entry, generation) in accruals.items():
            order = entry.order
            if entry_id in reversed_:
                result[entry_id] = (VOID_STATUS, None)
            elif (order.commission_state == 'available'
                    and order.commission_generation == generation):
                settlement_keys[order._commission_key(generation,
                        f'settle{order.commission_step}',
                        entry.kind)] = entry_id
            else:
                result[entry_id] = (PENDING_STATUS, None)
        if settlement_keys:
            settled = {e.key: e.posted_at for e in Entry.search([
                        ('key', 'in', list(settlement_keys)),
                        ])}
            for key, entry_id in settlement_keys.items():
                result[entry_id] = (SETTLED_STATUS, settled.get(key))
        return result

    def own_order_statistics(self, period, at=None):
        """GET /user/order_detail/: {order_count, total_amount,
        total_commission} of the member's own orders (they are the buyer)
        whose commission stands (pending or available, not reversed), paid
        in the Asia/Shanghai day or month holding `at` (or ever: total).

        total_amount: Σ order_amount (元); total_commission: the member's
        current share of those orders in the ledger (their cash-account
        lines of the income kinds on them)."""
        pool = Pool()
        Order = pool.get('duoduo.pdd.order')
        Line = pool.get('duoduo.ledger.line')
        Entry = pool.get('duoduo.ledger.entry')
        if period not in PERIODS:
            raise ValueError(f"unknown period {period!r}")
        order = Order.__table__()
        line = Line.__table__()
        cursor = Transaction().connection.cursor()
        where = ((order.member == self.id)
            & order.commission_state.in_(['pending', 'available']))
        today = shanghai_date(at)
        if period == 'today':
            start, end = shanghai_bounds(today, today + dt.timedelta(days=1))
        elif period == 'month':
            start, end = shanghai_bounds(
                month_start(today), next_month(today))
        if period != 'total':
            where &= (order.order_pay_time >= start) & (
                order.order_pay_time < end)
        cursor.execute(*order.select(Count(order.id),
                sum_money(numeric(order.order_amount)), where=where))
        count, amount = cursor.fetchone()
        cursor.execute(*line.select(
                sum_money(amount_column(line)),
                where=(line.member == self.id)
                & line.account.in_(CASH_ACCOUNTS)
                & line.kind.in_(list(Entry.income_kinds()))
                & line.origin.in_(order.select(
                        order_origin_column(order), where=where))))
        commission, = cursor.fetchone()
        return {
            'order_count': count or 0,
            'total_amount': money(amount),
            'total_commission': money(commission),
            }
