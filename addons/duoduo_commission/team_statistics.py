"""Team statistics: what the 团队模块 routes show, stored and kept up to date
event by event, so a member with 100 000 descendants answers as fast as one
with 10 (no request scans a team's members or orders).

Two tables:

`duoduo.member.team.link`: one row per member and each of its ancestors up
to depth 3 (the paid team), with the member's own counted orders and net
income copied on it: a team list page or a TOP 100 is one index range.

`duoduo.team.statistic`: counter rows (scope, subject, day, metric) with a
`count` or an `amount`, added to with counter.add_to (one metric per row, so
an insert never leaves another counter NULL):

    scope 'member' (subject: member id): orders, commission on the day the
        order was paid and in all (day 1970-01-01); income in all.
    scope 'team' (subject: ancestor id): the same for the ancestor's team
        (depth 1 to 3), plus new_members (day of registration, and in all)
        and active_members (members with a counted order, in all).
    scope 'city' (subject: city name): the same for the members of a city.

Definitions:
- an order is counted while its commission is pending or available and it
  has a member; it counts for that member on the Asia/Shanghai day of
  order_pay_time (of order_create_time without one); `commission` adds its
  promotion_amount (the 预估 commission PDD pays for it). The order stores
  whom, when and how much it is counted for (statistics_*), and every write
  touching those compares desired with stored and adds the difference:
  replays add nothing, a reversal takes the order back out.
- a member's income: the lines of its cash accounts of money types 1-5
  (Entry.income_kinds), added when entries are posted.
- a team's members are its descendants at depth 1 to 3 today: a referrer
  move takes the contributions of the members whose three ancestors change
  (the moved member and its descendants two levels down) out of their old
  ancestors' rows and adds them to the new ones, by day; a city change
  does the same between cities.

`recompute` rebuilds everything from members, orders and ledger lines
(upgrades, repairs; the tests compare it with the incremental rows)."""
import datetime as dt
from collections import defaultdict
from decimal import Decimal

from sql import For, Null
from sql.functions import Round

from trytond import backend
from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.modules.duoduo_base.team import TEAM_DEPTH, ancestor_ids
from trytond.pool import Pool
from trytond.tools import grouped_slice
from trytond.transaction import Transaction

from trytond.modules.duoduo_base.tools import shanghai_date
from trytond.modules.duoduo_ledger import ledger
from trytond.modules.duoduo_ledger.counter import add_to
from trytond.modules.duoduo_ledger.ledger import (
    CASH_ACCOUNTS, amount_column, in_ids, money, sum_money)

# the day of the "all time" rows
ALL_TIME = dt.date(1970, 1, 1)
COUNTED_STATES = {'pending', 'available'}
ZERO = Decimal('0.00')
CENT = Decimal('0.01')
SCOPES = [
    ('member', "Member"),
    ('team', "Team"),
    ('city', "City"),
    ]
METRICS = [
    ('new_members', "New Members"),
    ('orders', "Orders"),
    ('active_members', "Active Members"),
    ('commission', "Commission"),
    ('income', "Income"),
    ]
AMOUNT_METRICS = {'commission', 'income'}
# what makes an order counted differently
ORDER_FIELDS = {
    'member', 'commission_state', 'promotion_amount', 'order_pay_time',
    'order_create_time'}
RANKINGS = {
    'order': ('member_order_count', 'member_commission'),
    'commission': ('member_commission', 'member_order_count'),
    }
RANKING_SIZE = 100


def now():
    "The statistics' clock (naive UTC); tests move it"
    return ledger.now()


def city_of(value):
    return (value or '').strip() or None


def order_counted_for(member_id, commission_state, pay_time, create_time,
        promotion_amount):
    "(member id, Shanghai day or None, amount) an order counts for, or None"
    if not member_id or commission_state not in COUNTED_STATES:
        return None
    at = pay_time or create_time
    return (int(member_id), shanghai_date(at) if at else None,
        (promotion_amount or ZERO).quantize(CENT))


def _cursor():
    return Transaction().connection.cursor()


def _added(column, delta, is_money=True):
    "column + delta (a number or an expression), money exact to the fen"
    if backend.name == 'sqlite' and is_money:
        # stored as a float there: rounded back to the fen (see counter.py)
        return Round(column + delta, 2)
    return column + delta


class TeamLink(ModelSQL, ModelView):
    """Team Link

    A member and one of its three nearest ancestors, with the member's own
    figures as its team lists and rankings show them."""
    __name__ = 'duoduo.member.team.link'

    ancestor = fields.Many2One('duoduo.member', "Ancestor", required=True,
        readonly=True, ondelete='CASCADE')
    member = fields.Many2One('duoduo.member', "Member", required=True,
        readonly=True, ondelete='CASCADE')
    depth = fields.Integer("Depth", required=True, readonly=True,
        help="1: invited by the ancestor, 2 and 3: further down.")
    member_registered_at = fields.DateTime("Registered At", readonly=True)
    member_order_count = fields.Integer("Orders", required=True,
        readonly=True, help="The member's own counted orders.")
    member_commission = fields.Numeric("Income", digits=(16, 2),
        required=True, readonly=True,
        help="The member's own net income (money types 1-5).")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('ancestor_member_unique', Unique(t, t.ancestor, t.member),
                'duoduo_commission.msg_team_link_unique'),
            ]
        newest = [
            (t.member_registered_at, Index.Range(order='DESC')),
            (t.member, Index.Range(order='DESC')),
            ]
        cls._sql_indexes.update({
                # a team list page, per depth and in all
                Index(t, (t.ancestor, Index.Equality()),
                    (t.depth, Index.Equality()), *newest),
                Index(t, (t.ancestor, Index.Equality()), *newest),
                # the rankings
                Index(t, (t.ancestor, Index.Equality()),
                    (t.member_order_count, Index.Range(order='DESC')),
                    (t.member_commission, Index.Range(order='DESC')),
                    (t.member, Index.Range())),
                Index(t, (t.ancestor, Index.Equality()),
                    (t.member_commission, Index.Range(order='DESC')),
                    (t.member_order_count, Index.Range(order='DESC')),
                    (t.member, Index.Range())),
                # the member's own figures change on all its rows
                Index(t, (t.member, Index.Equality())),
                })
        cls._order = [('ancestor', 'ASC'), ('depth', 'ASC'),
            ('member_registered_at', 'DESC'), ('member', 'DESC'),
            ('id', 'DESC')]

    @classmethod
    def _insert(cls, rows):
        "Insert rows (ancestor, member, depth, registered_at, orders, income)"
        if not rows:
            return
        table = cls.__table__()
        transaction = Transaction()
        cursor = transaction.connection.cursor()
        created = dt.datetime.now()
        columns = [table.ancestor, table.member, table.depth,
            table.member_registered_at, table.member_order_count,
            table.member_commission, table.create_uid, table.create_date]
        sqlite = backend.name == 'sqlite'
        for sub_rows in grouped_slice(rows, 500):
            cursor.execute(*table.insert(columns, [
                        list(r[:5])
                        # SQLite would keep a Decimal as a blob, which
                        # sorts after every number: a float, as the sums
                        # of counter.add_to are there
                        + [float(r[5]) if sqlite else r[5]]
                        + [transaction.user, created]
                        for r in sub_rows]))

    @classmethod
    def add_to_member(cls, member_id, orders=0, income=ZERO):
        "Add to the member's own figures on all its rows"
        table = cls.__table__()
        columns, values = [], []
        if orders:
            columns.append(table.member_order_count)
            values.append(table.member_order_count + orders)
        if income:
            columns.append(table.member_commission)
            values.append(_added(table.member_commission, income))
        if columns:
            _cursor().execute(*table.update(columns, values,
                    where=table.member == member_id))


class TeamStatistic(ModelSQL, ModelView):
    """Team Statistic

    A counter of a member, a team or a city, for one day or for all time
    (day 1970-01-01)."""
    __name__ = 'duoduo.team.statistic'

    scope = fields.Selection(SCOPES, "Scope", required=True, readonly=True)
    subject = fields.Char("Subject", required=True, readonly=True,
        help="The member id (member, team) or the city name.")
    day = fields.Date("Day", required=True, readonly=True,
        help="Asia/Shanghai; 1970-01-01 for all time.")
    metric = fields.Selection(METRICS, "Metric", required=True,
        readonly=True)
    count = fields.Integer("Count", readonly=True)
    amount = fields.Numeric("Amount", digits=(16, 2), readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('key_unique', Unique(t, t.scope, t.subject, t.day, t.metric),
                'duoduo_commission.msg_team_statistic_unique'),
            ]
        cls._order = [('scope', 'ASC'), ('subject', 'ASC'),
            ('day', 'DESC'), ('metric', 'ASC'), ('id', 'ASC')]

    @classmethod
    def add(cls, deltas):
        """Add deltas {(scope, subject, day, metric): number}, in key order
        (two transactions adding to the same rows never deadlock)"""
        for key in sorted(deltas, key=lambda k: (k[0], k[1], k[2], k[3])):
            value = deltas[key]
            scope, subject, day, metric = key
            column = 'amount' if metric in AMOUNT_METRICS else 'count'
            add_to(cls, {
                    'scope': scope,
                    'subject': subject,
                    'day': day,
                    'metric': metric,
                    }, {column: value})

    @classmethod
    def figures(cls, scope, subject, days):
        """{(day, metric): number} of the subject on days and all time;
        missing rows are left out (read them as 0)"""
        table = cls.__table__()
        cursor = _cursor()
        cursor.execute(*table.select(table.day, table.metric, table.count,
                table.amount,
                where=(table.scope == scope) & (table.subject == subject)
                & table.day.in_([ALL_TIME] + list(days))))
        result = {}
        for day, metric, count, amount in cursor:
            if isinstance(day, str):
                day = dt.date.fromisoformat(day)
            if metric in AMOUNT_METRICS:
                result[day, metric] = Decimal(str(amount or 0)).quantize(
                    CENT)
            else:
                result[day, metric] = count or 0
        return result

    @classmethod
    def member_rows(cls, member_ids):
        "{member id: [(day, metric, number)]} of the members' own rows"
        table = cls.__table__()
        cursor = _cursor()
        result = defaultdict(list)
        for sub_ids in grouped_slice(member_ids, backend.MAX_QUERY_PARAMS):
            cursor.execute(*table.select(table.subject, table.day,
                    table.metric, table.count, table.amount,
                    where=(table.scope == 'member')
                    & table.subject.in_([str(i) for i in sub_ids])))
            for subject, day, metric, count, amount in cursor:
                if isinstance(day, str):
                    day = dt.date.fromisoformat(day)
                value = (Decimal(str(amount or 0)).quantize(CENT)
                    if metric in AMOUNT_METRICS else (count or 0))
                result[int(subject)].append((day, metric, value))
        return result

    @classmethod
    def own_orders(cls, member_id):
        "The member's counted orders in all, as stored now"
        return cls.figures('member', str(member_id), []).get(
            (ALL_TIME, 'orders'), 0)

    # --- the members a team or city is made of ---

    @classmethod
    def _members(cls, member_ids, lock=False):
        """{member id: (path, city, registered_at)} read from the table
        (cached records may predate paths the tree set in SQL); lock: share
        lock the rows (PostgreSQL), so that a referrer move or city change
        committed meanwhile makes this transaction run again"""
        Member = Pool().get('duoduo.member')
        table = Member.__table__()
        transaction = Transaction()
        cursor = _cursor()
        for_ = None
        if lock and transaction.database.has_select_for():
            for_ = For('SHARE')
        result = {}
        for sub_ids in grouped_slice(member_ids, backend.MAX_QUERY_PARAMS):
            cursor.execute(*table.select(table.id, table.path, table.city,
                    table.registered_at,
                    where=in_ids(table.id, sub_ids), for_=for_))
            for id_, path, city, registered_at in cursor:
                if isinstance(registered_at, str):
                    registered_at = dt.datetime.fromisoformat(registered_at)
                result[id_] = (path or f'{id_}/', city_of(city),
                    registered_at)
        return result

    @classmethod
    def _contributions(cls, member_ids):
        """{member id: {(day, metric): number}} what each member adds to
        the teams and the city it is in"""
        members = cls._members(member_ids)
        own = cls.member_rows(list(members))
        result = {}
        for member_id, (path, city, registered_at) in members.items():
            day = shanghai_date(registered_at) if registered_at else None
            figures = defaultdict(int)
            figures[ALL_TIME, 'new_members'] += 1
            if day:
                figures[day, 'new_members'] += 1
            for row_day, metric, value in own.get(member_id, []):
                if metric in {'orders', 'commission'}:
                    figures[row_day, metric] += value
                if (metric, row_day) == ('orders', ALL_TIME) and value > 0:
                    figures[ALL_TIME, 'active_members'] += 1
            result[member_id] = figures
        return result, members, own

    @classmethod
    def move_teams(cls, member_ids, sign):
        """Take (sign=-1) the members' contributions out of the teams of
        their ancestors, with their links, or add them (sign=1)"""
        Link = Pool().get('duoduo.member.team.link')
        link = Link.__table__()
        contributions, members, own = cls._contributions(member_ids)
        deltas = defaultdict(int)
        rows = []
        for member_id, figures in contributions.items():
            path, _, registered_at = members[member_id]
            own_totals = {metric: value
                for day, metric, value in own.get(member_id, [])
                if day == ALL_TIME}
            for depth, ancestor in enumerate(
                    ancestor_ids(path)[:TEAM_DEPTH], 1):
                for (day, metric), value in figures.items():
                    deltas['team', str(ancestor), day, metric] += (
                        sign * value)
                rows.append((ancestor, member_id, depth, registered_at,
                        own_totals.get('orders', 0),
                        own_totals.get('income', ZERO)))
        if sign < 0:
            for sub_ids in grouped_slice(list(contributions),
                    backend.MAX_QUERY_PARAMS):
                _cursor().execute(*link.delete(
                        where=in_ids(link.member, sub_ids)))
        else:
            Link._insert(rows)
        cls.add({k: v for k, v in deltas.items() if v})

    @classmethod
    def move_cities(cls, cities, sign):
        """Take (sign=-1) the members' contributions out of the cities
        given {member id: city}, or add them (sign=1)"""
        contributions, _, _ = cls._contributions(list(cities))
        deltas = defaultdict(int)
        for member_id, figures in contributions.items():
            city = cities[member_id]
            if not city:
                continue
            for (day, metric), value in figures.items():
                deltas['city', city, day, metric] += sign * value
        cls.add({k: v for k, v in deltas.items() if v})

    # --- events ---

    @classmethod
    def registered(cls, member_ids):
        "New members: their links and the new_members of teams and city"
        Link = Pool().get('duoduo.member.team.link')
        members = cls._members(member_ids)
        deltas = defaultdict(int)
        rows = []
        for member_id, (path, city, registered_at) in sorted(
                members.items()):
            day = shanghai_date(registered_at) if registered_at else None
            subjects = [('team', str(a))
                for a in ancestor_ids(path)[:TEAM_DEPTH]]
            if city:
                subjects.append(('city', city))
            for subject in subjects:
                deltas[subject + (ALL_TIME, 'new_members')] += 1
                if day:
                    deltas[subject + (day, 'new_members')] += 1
            rows.extend((a, member_id, d, registered_at, 0, ZERO)
                for d, a in enumerate(ancestor_ids(path)[:TEAM_DEPTH], 1))
        Link._insert(rows)
        cls.add(deltas)

    @classmethod
    def count_order(cls, counted, sign):
        """Add (sign=1) or take out (sign=-1) an order counted for
        (member id, day, amount)"""
        Link = Pool().get('duoduo.member.team.link')
        member_id, day, amount = counted
        # the buyer's ancestors and city must stay those counted for
        path, city, _ = cls._members([member_id], lock=True)[member_id]
        days = [ALL_TIME] + ([day] if day else [])
        own = {}
        for d in days:
            own['member', str(member_id), d, 'orders'] = sign
            own['member', str(member_id), d, 'commission'] = sign * amount
        cls.add(own)
        Link.add_to_member(member_id, orders=sign)
        # read after adding: the row lock makes it exact under concurrency
        orders = cls.own_orders(member_id)
        activity = 0
        if sign > 0 and orders == 1:
            activity = 1
        elif sign < 0 and orders == 0:
            activity = -1
        subjects = [('team', str(a))
            for a in ancestor_ids(path)[:TEAM_DEPTH]]
        if city:
            subjects.append(('city', city))
        deltas = {}
        for subject in subjects:
            for d in days:
                deltas[subject + (d, 'orders')] = sign
                deltas[subject + (d, 'commission')] = sign * amount
            deltas[subject + (ALL_TIME, 'active_members')] = activity
        cls.add({k: v for k, v in deltas.items() if v})

    @classmethod
    def earned(cls, incomes):
        "Members' income changed by {member id: Decimal}"
        Link = Pool().get('duoduo.member.team.link')
        cls.add({('member', str(m), ALL_TIME, 'income'): amount
                for m, amount in incomes.items() if amount})
        for member_id, amount in sorted(incomes.items()):
            Link.add_to_member(member_id, income=amount)

    # --- from scratch ---

    @classmethod
    def recompute(cls):
        """Rebuild every link and counter (and the orders' statistics_*)
        from members, orders and ledger lines"""
        pool = Pool()
        Link = pool.get('duoduo.member.team.link')
        Member = pool.get('duoduo.member')
        Order = pool.get('duoduo.pdd.order')
        Line = pool.get('duoduo.ledger.line')
        Entry = pool.get('duoduo.ledger.entry')
        cursor = _cursor()
        link, statistic = Link.__table__(), cls.__table__()
        cursor.execute(*link.delete())
        cursor.execute(*statistic.delete())

        member = Member.__table__()
        cursor.execute(*member.select(member.id, member.path, member.city,
                member.registered_at))
        members = {}
        for id_, path, city, registered_at in cursor:
            if isinstance(registered_at, str):
                registered_at = dt.datetime.fromisoformat(registered_at)
            members[id_] = (path or f'{id_}/', city_of(city), registered_at)

        own = defaultdict(lambda: defaultdict(int))
        order = Order.__table__()
        cursor.execute(*order.select(order.id, order.member,
                order.commission_state, order.order_pay_time,
                order.order_create_time, order.promotion_amount,
                order.statistics_member, order.statistics_day,
                order.statistics_amount))
        updates = []
        for (order_id, member_id, state, pay_time, create_time, promotion,
                stored_member, stored_day, stored_amount) in cursor.fetchall():
            if isinstance(pay_time, str):
                pay_time = dt.datetime.fromisoformat(pay_time)
            if isinstance(create_time, str):
                create_time = dt.datetime.fromisoformat(create_time)
            counted = order_counted_for(member_id, state, pay_time,
                create_time, Decimal(str(promotion)) if promotion is not None
                else None)
            if isinstance(stored_day, str):
                stored_day = dt.date.fromisoformat(stored_day)
            stored = ((stored_member, stored_day,
                    Decimal(str(stored_amount or 0)).quantize(CENT))
                if stored_member else None)
            if counted != stored:
                updates.append((order_id, counted))
            if counted:
                member_id, day, amount = counted
                for d in [ALL_TIME] + ([day] if day else []):
                    own[member_id][d, 'orders'] += 1
                    own[member_id][d, 'commission'] += amount
        # one statement run for every order (an upgrade updates them all)
        query, _ = tuple(order.update(
                [order.statistics_member, order.statistics_day,
                    order.statistics_amount],
                [0, dt.date.min, ZERO], where=order.id == 0))
        cursor.executemany(query, [
                tuple(counted or (None, None, None)) + (order_id,)
                for order_id, counted in updates])
        Order._clear_statistics_cache()

        line = Line.__table__()
        cursor.execute(*line.select(line.member,
                sum_money(amount_column(line)),
                where=(line.member != Null)
                & line.account.in_(CASH_ACCOUNTS)
                & line.kind.in_(list(Entry.income_kinds())),
                group_by=[line.member]))
        for member_id, total in cursor.fetchall():
            income = money(total)
            if income:
                own[member_id][ALL_TIME, 'income'] += income

        counters = defaultdict(int)
        links = []
        for member_id, (path, city, registered_at) in members.items():
            figures = own.get(member_id, {})
            for (day, metric), value in figures.items():
                counters['member', str(member_id), day, metric] += value
            shared = defaultdict(int)
            shared[ALL_TIME, 'new_members'] += 1
            if registered_at:
                shared[shanghai_date(registered_at), 'new_members'] += 1
            for (day, metric), value in figures.items():
                if metric in {'orders', 'commission'}:
                    shared[day, metric] += value
            if figures.get((ALL_TIME, 'orders'), 0) > 0:
                shared[ALL_TIME, 'active_members'] += 1
            subjects = [('team', str(a))
                for a in ancestor_ids(path)[:TEAM_DEPTH]]
            if city:
                subjects.append(('city', city))
            for subject in subjects:
                for (day, metric), value in shared.items():
                    counters[subject + (day, metric)] += value
            for depth, ancestor in enumerate(
                    ancestor_ids(path)[:TEAM_DEPTH], 1):
                links.append((ancestor, member_id, depth, registered_at,
                        figures.get((ALL_TIME, 'orders'), 0),
                        figures.get((ALL_TIME, 'income'), ZERO)))
        Link._insert(links)
        transaction = Transaction()
        created = dt.datetime.now()
        columns = [statistic.scope, statistic.subject, statistic.day,
            statistic.metric, statistic.count, statistic.amount,
            statistic.create_uid, statistic.create_date]
        rows = []
        for (scope, subject, day, metric), value in counters.items():
            if not value:
                continue
            amount = metric in AMOUNT_METRICS
            rows.append([scope, subject, day, metric,
                    None if amount else value, value if amount else None,
                    transaction.user, created])
        for sub_rows in grouped_slice(rows, 500):
            cursor.execute(*statistic.insert(columns, list(sub_rows)))

    @classmethod
    def snapshot(cls):
        """Every nonzero counter and every link, comparable (to check the
        incremental rows against recompute)"""
        Link = Pool().get('duoduo.member.team.link')
        table, link = cls.__table__(), Link.__table__()
        cursor = _cursor()
        cursor.execute(*table.select(table.scope, table.subject, table.day,
                table.metric, table.count, table.amount))
        counters = {}
        for scope, subject, day, metric, count, amount in cursor:
            if isinstance(day, str):
                day = dt.date.fromisoformat(day)
            value = (Decimal(str(amount or 0)).quantize(CENT)
                if metric in AMOUNT_METRICS else (count or 0))
            if value:
                counters[scope, subject, day, metric] = value
        cursor.execute(*link.select(link.ancestor, link.member, link.depth,
                link.member_order_count, link.member_commission))
        links = {(a, m): (d, c, Decimal(str(i)).quantize(CENT))
            for a, m, d, c, i in cursor}
        return counters, links
