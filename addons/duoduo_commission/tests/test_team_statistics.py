"""Team statistics kept event by event equal what a recompute from scratch
and a naive count over the tree and the orders give, after random trees,
orders through random PDD status sequences, ledger postings, referrer
moves and city changes (hypothesis)."""
import datetime as dt
import itertools
import json
from decimal import Decimal
from unittest.mock import patch

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction

from trytond.modules.duoduo_base.tests.testing import DatabaseTestCase
from trytond.modules.duoduo_commission import team_statistics
from trytond.modules.duoduo_base.tools import shanghai_date

D = Decimal
CENT = D('0.01')
STATUSES = [0, 1, 2, 3, 5, 4, 10, -1]
NOW = dt.datetime(2031, 3, 10, 17, 30)   # 01:30 on the 11th in Shanghai
_counter = itertools.count(1)

events = st.lists(st.one_of(
        st.tuples(st.just('buy'), st.integers(0, 99),
            st.lists(st.sampled_from(STATUSES), min_size=1, max_size=4),
            st.integers(0, 3 * 24), st.integers(0, 50000)),
        st.tuples(st.just('status'), st.integers(0, 99),
            st.sampled_from(STATUSES)),
        st.tuples(st.just('move'), st.integers(0, 99),
            st.one_of(st.none(), st.integers(0, 99))),
        st.tuples(st.just('city'), st.integers(0, 99),
            st.sampled_from([None, 0, 1])),
        st.tuples(st.just('bonus'), st.integers(0, 99),
            st.integers(1, 100000)),
        ), max_size=14)


class TeamStatisticsTestCase(DatabaseTestCase):
    "Team statistics of duoduo_commission"
    module = 'duoduo_commission'

    @settings(max_examples=25, deadline=None,
        suppress_health_check=list(HealthCheck))
    @given(
        referrers=st.lists(st.one_of(st.none(), st.integers(0, 99)),
            min_size=2, max_size=9),
        cities=st.lists(st.sampled_from([None, 0, 1]), min_size=9,
            max_size=9),
        hours=st.lists(st.integers(0, 3 * 24), min_size=9, max_size=9),
        events=events)
    def test_incremental_is_recomputed(self, referrers, cities, hours,
            events):
        n = next(_counter)
        # moving members locks their table
        with Transaction().start(DB_NAME, 0,
                _lock_tables=['duoduo_member']) as transaction:
            try:
                with patch.object(team_statistics, 'now',
                        return_value=NOW):
                    self._check(n, referrers, cities, hours, events)
            finally:
                transaction.rollback()

    def _check(self, n, referrers, cities, hours, events):
        pool = Pool()
        Member = pool.get('duoduo.member')
        Order = pool.get('duoduo.pdd.order')
        Entry = pool.get('duoduo.ledger.entry')
        Statistic = pool.get('duoduo.team.statistic')
        city_names = [f'ts{n}-a', f'ts{n}-b']

        def city(index):
            return city_names[index] if index is not None else None

        members, parent = [], {}
        for i, ref in enumerate(referrers):
            referrer = members[ref % len(members)] if (
                members and ref is not None) else None
            member, = Member.create([{
                        'phone': f'1381{n:04d}{i:03d}',
                        'nickname': f'ts{n}-{i}',
                        'referrer': referrer,
                        'city': city(cities[i]),
                        'registered_at': NOW - dt.timedelta(hours=hours[i]),
                        }])
            members.append(member.id)
            parent[member.id] = referrer
        orders = []
        for event in events:
            kind, who = event[0], members[event[1] % len(members)]
            if kind == 'buy':
                _, _, statuses, hours_ago, amount = event
                sn = f'ts-{n}-{len(orders)}'
                paid = NOW - dt.timedelta(hours=hours_ago)
                orders.append([sn, who, amount, paid, 0])
                for status in statuses:
                    self._upsert(Order, Member, orders[-1], status)
            elif kind == 'status' and orders:
                order = orders[event[1] % len(orders)]
                self._upsert(Order, Member, order, event[2])
            elif kind == 'move':
                target = (members[event[2] % len(members)]
                    if event[2] is not None else None)
                up = target
                while up is not None and up != who:
                    up = parent[up]
                if up == who:
                    continue   # a cycle: refused by the tree
                Member.write([Member(who)], {'referrer': target})
                parent[who] = target
            elif kind == 'city':
                Member.write([Member(who)], {'city': city(event[2])})
            elif kind == 'bonus':
                amount = (D(event[2]) / 100).quantize(CENT)
                Entry.post(f'ts-bonus-{n}-{len(orders)}-{event[1]}-'
                    f'{event[2]}-{id(event)}', [
                        {'account': 'member_available', 'member': who,
                            'amount': amount},
                        {'account': 'platform_margin', 'member': None,
                            'amount': -amount},
                        ], 'subsidy')

        # the incremental rows are those rebuilt from scratch
        before = Statistic.snapshot()
        counted = {o.id: (o.statistics_member, o.statistics_day,
                o.statistics_amount) for o in Order.search([])}
        Statistic.recompute()
        Order._clear_statistics_cache()
        self.assertEqual(Statistic.snapshot(), before)
        self.assertEqual({o.id: (o.statistics_member, o.statistics_day,
                    o.statistics_amount) for o in Order.search([])}, counted)

        # and what the routes show is a naive count
        Member._clear_cache()
        today = shanghai_date(NOW)
        yesterday = today - dt.timedelta(days=1)
        states = {o.order_sn: o for o in Order.search([
                    ('order_sn', 'in', [o[0] for o in orders])])}
        incomes = {m.id: m.get_info()['total_income']
            for m in Member.browse(members)}

        def team_of(member_id):
            result = {}
            for other in members:
                depth, up = 0, other
                while up is not None and depth <= 3:
                    if up == member_id and depth:
                        result[other] = depth
                        break
                    up, depth = parent[up], depth + 1
            return result

        def figures(group):
            counted = [o for o in states.values()
                if o.member and o.member.id in group
                and o.commission_state in {'pending', 'available'}]
            actives = {o.member.id for o in counted}
            registered = [shanghai_date(m.registered_at)
                for m in Member.browse(list(group))]
            return {
                'num': len(group),
                'invaild_num': len(group) - len(actives),
                'pre': sum((o.promotion_amount for o in counted), D(0)),
                'today': registered.count(today),
                'yesterday': registered.count(yesterday),
                'today_sales': sum(1 for o in counted
                    if shanghai_date(o.order_pay_time) == today),
                'sales': len(counted),
                }

        for member in Member.browse(members):
            team = team_of(member.id)
            overview = member.team_overview()
            self.assertEqual(overview['team'], figures(set(team)))
            if member.city:
                self.assertEqual(overview['city'], figures(
                        {m.id for m in Member.browse(members)
                            if m.city == member.city}))
            total, rows = member.team_members(page_size=100)
            self.assertEqual(total, len(team))
            self.assertEqual({r['user_id']: r['depth'] for r in rows}, team)
            for row in rows:
                own = [o for o in states.values()
                    if o.member and o.member.id == row['user_id']
                    and o.commission_state in {'pending', 'available'}]
                self.assertEqual(row['order_count'], len(own))
                self.assertEqual(row['commission'],
                    incomes[row['user_id']])
            ranking = member.team_ranking('commission')
            self.assertEqual([r['user_id'] for r in ranking],
                [m for m, _ in sorted(
                        ((m, incomes[m]) for m in team if incomes[m] > 0),
                        key=lambda r: (-r[1], -next(
                                x['order_count'] for x in rows
                                if x['user_id'] == r[0]), r[0]))])

    def _upsert(self, Order, Member, order, status):
        sn, who, amount, paid, step = order
        order[4] += 1
        at = int(paid.replace(tzinfo=dt.timezone.utc).timestamp())
        Order.upsert_pdd_items([{
                    'order_sn': sn,
                    'order_status': status,
                    'promotion_amount': amount,
                    'order_amount': amount * 5,
                    'custom_parameters': json.dumps(
                        {'uid': Member(who).pdd_uid}),
                    'order_create_time': at - 60,
                    'order_pay_time': at,
                    'order_modify_at': at + 60 * (step + 1),
                    }])

