"""What commission adds to members: their level (locked or raised by the
level rules, with its history), their team's figures (the 团队模块 routes,
from the stored statistics), the status of their orders' entries in the
money history, and the statistics of their own orders.

Creating and writing members keeps the level rules and the team statistics
up to date in the same transaction; both are here, in that order."""
import datetime as dt
from decimal import Decimal

from sql import Cast, Literal
from sql.aggregate import Count

from trytond import backend
from trytond.model import fields
from trytond.modules.duoduo_base.tools import (
    month_start, next_month, shanghai_bounds, shanghai_date)
from trytond.modules.duoduo_ledger.ledger import (
    CASH_ACCOUNTS, amount_column, in_ids, money, now, sum_money)
from trytond.modules.duoduo_ledger.member import (
    PENDING_STATUS, SETTLED_STATUS, VOID_STATUS)
from trytond.pool import Pool, PoolMeta
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access

from .ledger import order_origin_column
from .level import LEVEL_RULES_CONTEXT, settled_commission
from . import team_statistics
from .team_statistics import (
    ALL_TIME, CENT, RANKING_SIZE, RANKINGS, TEAM_DEPTH, ZERO, _cursor,
    city_of)

PERIODS = ['today', 'month', 'total']


def numeric(column):
    "A Numeric column to add exactly with sum_money"
    if backend.name == 'sqlite':
        return Cast(column, 'NUMERIC')
    return column


class Member(metaclass=PoolMeta):
    __name__ = 'duoduo.member'

    level_locked = fields.Boolean("Level Locked",
        help="Level rules never change a locked member's level (staff "
        "still can).")
    level_changes = fields.One2Many('duoduo.member.level.change', 'member',
        "Level History", readonly=True)

    @classmethod
    def default_level_locked(cls):
        return False

    @classmethod
    def create(cls, vlist):
        Statistic = Pool().get('duoduo.team.statistic')
        members = super().create(vlist)
        # a new direct invitee may raise the referrer's level
        invited = {}
        for member in members:
            if member.referrer:
                invited.setdefault(member.referrer.id, member.id)
        if invited:
            cls.apply_level_rules(cls.browse(list(invited)), 'invite',
                invitees=invited)
        Statistic.registered([m.id for m in members])
        return members

    @classmethod
    def write(cls, *args):
        pool = Pool()
        Change = pool.get('duoduo.member.level.change')
        Statistic = pool.get('duoduo.team.statistic')
        Link = pool.get('duoduo.member.team.link')
        link = Link.__table__()
        by_rules = Transaction().context.get(LEVEL_RULES_CONTEXT)
        actions = iter(args)
        levels, referrers = {}, {}
        moved, city_members = set(), set()
        for members, values in zip(actions, actions):
            if values.get('level') and not by_rules:
                for member in members:
                    levels.setdefault(member.id, member.level.id)
            if values.get('referrer'):
                for member in members:
                    referrers.setdefault(values['referrer'], member.id)
            if 'referrer' in values:
                moved.update(m.id for m in members)
            if 'city' in values:
                city_members.update(m.id for m in members)
        # the members whose three ancestors change: the moved ones and
        # their descendants two levels down
        affected = set(moved)
        if moved:
            cursor = Transaction().connection.cursor()
            for sub_ids in grouped_slice(list(moved),
                    backend.MAX_QUERY_PARAMS):
                cursor.execute(*link.select(link.member,
                        where=in_ids(link.ancestor, sub_ids)
                        & (link.depth < TEAM_DEPTH)))
                affected.update(m for m, in cursor)
        # the statistics leave the old teams and city…
        if city_members:
            Statistic.move_cities({m: city for m, (_, city, _) in
                    Statistic._members(list(city_members)).items()}, -1)
        if affected:
            Statistic.move_teams(list(affected), -1)

        super().write(*args)

        # …a level changed by staff is kept in the history…
        history = [{
                'member': member.id,
                'changed_at': now(),
                'from_level': levels[member.id],
                'to_level': member.level.id,
                'cause': 'staff',
                'user': Transaction().user or None,
                } for member in cls.browse(list(levels))
            if member.level.id != levels[member.id]]
        if history:
            with without_check_access():
                Change.create(history)
        if referrers:
            # moved under a new referrer: one more direct invitee there
            cls.apply_level_rules(cls.browse(list(referrers)), 'invite',
                invitees=referrers)
        # …and the statistics join the new ones
        if affected:
            Statistic.move_teams(list(affected), 1)
        if city_members:
            Statistic.move_cities({m: city for m, (_, city, _) in
                    Statistic._members(list(city_members)).items()}, 1)

    # --- levels ---

    @classmethod
    def apply_level_rules(cls, members, cause, invitees=None, entries=None):
        """Raise each member that is not locked (nor a city agent) to the
        highest level of the rules it reaches, when higher than its own;
        never lower it.

        cause: 'invite', 'settlement' or 'review'; invitees {member id: invitee id}
        and entries {member id: entry id} name what raised it. Returns the
        level changes recorded."""
        pool = Pool()
        Rule = pool.get('duoduo.member.level.rule')
        Change = pool.get('duoduo.member.level.change')
        with without_check_access():
            # a level that became a city agent's after its rule was made
            rules = [r for r in Rule.search([]) if not r.level.is_city_agent]
            if not rules:
                return []
            # fresh from the table: team sizes are kept up to date in SQL
            members = [m for m in cls.browse([int(m) for m in members])
                if not m.level_locked and not m.level.is_city_agent]
            if not members:
                return []
            settled = settled_commission(members)
            to_write, history = [], []
            for member in members:
                invites = member.team_size_1 or 0
                granted = None
                for rule in rules:
                    if (rule.reached(invites, settled[member.id])
                            and rule.level.is_above(member.level)
                            and (granted is None
                                or rule.level.is_above(granted.level))):
                        granted = rule
                if not granted:
                    continue
                to_write.extend(([member], {'level': granted.level.id}))
                history.append({
                        'member': member.id,
                        'changed_at': now(),
                        'from_level': member.level.id,
                        'to_level': granted.level.id,
                        'cause': cause,
                        'rule': granted.id,
                        'invitee': (invitees or {}).get(member.id),
                        'entry': (entries or {}).get(member.id),
                        'invites': invites,
                        'settled': settled[member.id],
                        'user': (Transaction().user or None)
                        if cause == 'review' else None,
                        })
            if not to_write:
                return []
            with Transaction().set_context(**{LEVEL_RULES_CONTEXT: True}):
                cls.write(*to_write)
            return Change.create(history)

    # --- what the 团队模块 routes show ---

    def team_overview(self):
        "The team and city figures of /member/myTeam"
        Statistic = Pool().get('duoduo.team.statistic')
        today = shanghai_date(team_statistics.now())
        yesterday = today - dt.timedelta(days=1)

        def block(scope, subject, size=None):
            figures = (Statistic.figures(scope, subject, [today, yesterday])
                if subject else {})
            if size is None:
                size = figures.get((ALL_TIME, 'new_members'), 0)
            return {
                'num': size,
                'invaild_num': size - figures.get(
                    (ALL_TIME, 'active_members'), 0),
                'pre': figures.get((ALL_TIME, 'commission'), ZERO),
                'today': figures.get((today, 'new_members'), 0),
                'yesterday': figures.get((yesterday, 'new_members'), 0),
                'today_sales': figures.get((today, 'orders'), 0),
                'sales': figures.get((ALL_TIME, 'orders'), 0),
                }
        return {
            'team': block('team', str(self.id),
                sum(self.team_counts().values())),
            'city': block('city', city_of(self.city)),
            'upper': self.referrer.nickname if self.referrer else '',
            }

    def team_members(self, level=None, page=1, page_size=20):
        """(total, [row]) of the team (depth 1-3, or only `level`), newest
        registered first (then highest id)"""
        Link = Pool().get('duoduo.member.team.link')
        link = Link.__table__()
        counts = self.team_counts()
        total = counts[level] if level else sum(counts.values())
        where = link.ancestor == self.id
        if level:
            where &= link.depth == level
        cursor = _cursor()
        cursor.execute(*link.select(link.member, link.depth,
                link.member_order_count, link.member_commission,
                where=where,
                order_by=[link.member_registered_at.desc, link.member.desc],
                limit=page_size, offset=(page - 1) * page_size))
        return total, self._team_rows(cursor.fetchall())

    def team_ranking(self, kind='order'):
        """[row] of the TOP 100 of the team by kind ('order': own counted
        orders, 'commission': own net income), members with a positive
        figure only; ties by the other figure, then the lowest id"""
        Link = Pool().get('duoduo.member.team.link')
        link = Link.__table__()
        first, second = (getattr(link, n) for n in RANKINGS[kind])
        cursor = _cursor()
        cursor.execute(*link.select(link.member, link.depth,
                link.member_order_count, link.member_commission,
                where=(link.ancestor == self.id) & (first > Literal(0)),
                order_by=[first.desc, second.desc, link.member.asc],
                limit=RANKING_SIZE))
        return self._team_rows(cursor.fetchall())

    def _team_rows(self, rows):
        """[{user_id, nickname, avatar, level_code, level_name,
        registered_at, depth, order_count, commission}] of link rows, the
        members read in one go"""
        members = {m['id']: m for m in self.read([r[0] for r in rows], [
                    'nickname', 'avatar', 'registered_at', 'level.code',
                    'level.name'])}
        result = []
        for member_id, depth, orders, income in rows:
            member = members[member_id]
            level = member.get('level.') or {}
            result.append({
                    'user_id': member_id,
                    'nickname': member['nickname'],
                    'avatar': member['avatar'],
                    'level_code': level.get('code'),
                    'level_name': level.get('name'),
                    'registered_at': member['registered_at'],
                    'depth': depth,
                    'order_count': orders or 0,
                    'commission': Decimal(str(income or 0)).quantize(CENT),
                    })
        return result

    # --- the money history and own orders ---

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
