#!/usr/bin/env python3
"""Benchmark of the team routes (团队模块): a member with 100 000
descendants must answer about as fast as one with 10.

Builds a throwaway database with duoduo_api (and so duoduo_commission),
bulk-inserts with raw SQL a big team (the tree of bench/team_tree.py), its
members' PDD orders in every commission state and their ledger lines, then
builds the derived rows as an upgrade does (TeamStatistic, MemberDay and
HistoryDay.recompute), checks the stored statistics of BIG and SMALL against
a naive count over the orders, and times through HTTP (werkzeug's test
client on trytond's WSGI app, a transaction per request as in production)

    POST /member/myTeam, GET /user/team_members/ (page 1: all levels, then
    each level), GET /user/team_ranking/ (order, commission) and
    GET /user/my_info/

for SMALL (10 descendants) and BIG (--descendants) in the same run, and
prints the ratio BIG / SMALL of the median times. No timing is asserted
(see bench/README.md); the script exits non-zero only if the statistics
are wrong.

    .venv/bin/python bench/team_statistics.py            # SQLite (temp dir)
    TRYTOND_DATABASE_URI=postgresql://postgres@127.0.0.1:5432/ \\
        .venv/bin/python bench/team_statistics.py        # PostgreSQL
        [--descendants 100000] [--others 20000] [--repeat 100]
"""
import argparse
import datetime as dt
import json
import os
import random
import sys
import time
from decimal import Decimal

from support import (
    analyze, bench_database, bulk_insert, clean_environ, explain, measure,
    next_id, record_queries)
from team_tree import TEAM_SIZE_COLUMNS, grow_forest, invitation_code

DB_NAME = 'duoduo_bench_team'
CENT = Decimal('0.01')
# commission states of the generated orders and their weights
STATES = [('pending', 5), ('available', 4), ('reversed', 1)]
BUYER_SHARE = Decimal('0.30')
# a money history window that cuts days at both ends (UNIX seconds)
WINDOW_START = int(time.time()) - 20 * 86400 + 3 * 3600
WINDOW_END = int(time.time()) - 2 * 86400 - 5 * 3600


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--descendants', type=int, default=100_000,
        help="size of BIG's team (default: %(default)s)")
    parser.add_argument('--others', type=int, default=20_000,
        help="unrelated members, in small trees (default: %(default)s)")
    parser.add_argument('--orders', type=float, default=1.5,
        help="mean orders per member (default: %(default)s)")
    parser.add_argument('--repeat', type=int, default=100,
        help="timed requests per measure (default: %(default)s)")
    parser.add_argument('--warmup', type=int, default=10)
    parser.add_argument('--seed', type=int, default=42)
    parser.add_argument('--keep', action='store_true',
        help="do not drop the database at the end")
    return parser.parse_args()


# --- the database ----------------------------------------------------------

def populate(args, uri, pool):
    """Members (BIG's and SMALL's teams, others), their orders and ledger
    lines, by SQL; returns (BIG id, SMALL id)"""
    from trytond.transaction import Transaction
    Member = pool.get('duoduo.member')
    Level = pool.get('duoduo.member.level')
    Order = pool.get('duoduo.pdd.order')
    Entry = pool.get('duoduo.ledger.entry')
    Line = pool.get('duoduo.ledger.line')
    rng = random.Random(args.seed)
    forest, big, small = grow_forest(rng, args.descendants, args.others)

    transaction = Transaction()
    cursor = transaction.connection.cursor()
    member = Member.__table__()
    order, ids, paths = forest.registration(next_id(cursor, member))
    level = Level.get_default()
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None,
        microsecond=0)
    epoch = now - dt.timedelta(days=30)
    t_max = max(forest.time)
    team_sizes = forest.team_sizes()
    cities = ['滨州市', '济南市', '青岛市', None]
    columns = ['id', 'phone', 'nickname', 'invitation_code', 'referrer',
        'path', 'depth', *TEAM_SIZE_COLUMNS, 'level', 'state', 'city',
        'pdd_uid', 'registered_at', 'create_uid', 'create_date']
    rows = []
    for node in order:
        id_, parent = ids[node], forest.parent[node]
        registered_at = epoch + dt.timedelta(
            seconds=forest.time[node] / t_max * 30 * 86400)
        rows.append((id_, f'13{id_:09d}', f'bench{id_}', invitation_code(id_),
                ids[parent] if parent is not None else None,
                paths[node], paths[node].count('/') - 1, *team_sizes[node],
                level.id, 'active', rng.choice(cities), f'bench{id_:010d}',
                min(registered_at, now), 0, now))
    started = time.perf_counter()
    bulk_insert(uri, cursor, member, columns, rows)

    # orders: a random number per member, paid after registration
    order_table = Order.__table__()
    entry_table, line_table = Entry.__table__(), Line.__table__()
    order_id = next_id(cursor, order_table)
    entry_id = next_id(cursor, entry_table)
    line_id = next_id(cursor, line_table)
    order_rows, entry_rows, line_rows = [], [], []
    states = [s for s, _ in STATES]
    weights = [w for _, w in STATES]
    leaders = {ids[big], ids[small]}
    for row in rows:
        member_id, registered_at = row[0], row[-3]
        # the leader (BIG or SMALL) among the member's three uplines gets
        # a team share of each order: a leader's line per team order
        uplines = [int(i) for i in row[5].strip('/').split('/')[-4:-1]]
        leader = next((u for u in uplines if u in leaders), None)
        for _ in range(int(rng.expovariate(1 / args.orders) + 0.5)):
            state = rng.choices(states, weights)[0]
            span = max((now - registered_at).total_seconds(), 1)
            paid = registered_at + dt.timedelta(seconds=rng.uniform(0, span))
            promotion = Decimal(rng.randrange(1, 5000)) / 100
            status = {'pending': 1, 'available': 5, 'reversed': 4}[state]
            order_rows.append((order_id, f'B{order_id:012d}', status,
                    member_id, 'uid', state, 1, 1 if state == 'available'
                    else 0, promotion, promotion * 10, paid, paid, 0, now))
            share = (promotion * BUYER_SHARE).quantize(CENT, 'ROUND_DOWN')
            posts = [('accrue', 'commission', 1, member_id)]
            if leader:
                posts.append(('accrue', 'team_commission', 1, leader))
            if state == 'reversed':
                posts += [(f'{step}:reversed', 'reversal', -1, holder)
                    for step, _, _, holder in posts]
            for step, kind, sign, holder in posts:
                origin = f'duoduo.pdd.order,{order_id}'
                entry_rows.append((entry_id,
                        f'duoduo.pdd.order:{order_id}:1:{step}:{kind}:'
                        f'{holder}', paid, kind, origin, 0, now))
                for account, holder, amount in [
                        ('member_pending', holder, share),
                        ('pdd_receivable', None, -share)]:
                    line_rows.append((line_id, entry_id, account, holder,
                            sign * amount, kind, origin, paid, 0,
                            now))
                    line_id += 1
                entry_id += 1
            order_id += 1
    bulk_insert(uri, cursor, order_table, ['id', 'order_sn', 'order_status',
            'member', 'attributed_by', 'commission_state',
            'commission_generation', 'commission_step', 'promotion_amount',
            'order_amount', 'order_pay_time', 'order_create_time',
            'create_uid', 'create_date'], order_rows)
    bulk_insert(uri, cursor, entry_table, ['id', 'key', 'posted_at',
            'kind', 'origin', 'create_uid', 'create_date'], entry_rows)
    bulk_insert(uri, cursor, line_table, ['id', 'entry', 'account', 'member',
            'amount', 'kind', 'origin', 'posted_at', 'create_uid',
            'create_date'], line_rows)
    transaction.commit()
    print(f"inserted {len(rows)} members, {len(order_rows)} orders, "
        f"{len(line_rows)} ledger lines in "
        f"{time.perf_counter() - started:.1f}s")
    return ids[big], ids[small]


def derive(pool):
    "The derived rows, as the upgrade that creates their tables fills them"
    from trytond.transaction import Transaction
    for name in ['duoduo.team.statistic', 'duoduo.ledger.member_day',
            'duoduo.ledger.history_day']:
        started = time.perf_counter()
        pool.get(name).recompute()
        print(f"{name} recompute: {time.perf_counter() - started:.1f}s")
    Transaction().commit()


def check(pool, member_ids):
    """The stored team figures of the members equal a naive count over
    their team's orders; False (and a message) when not"""
    from sql import Literal
    from sql.aggregate import Count, Sum
    from trytond.modules.duoduo_base.team import starts_with
    from trytond.transaction import Transaction
    Member = pool.get('duoduo.member')
    Order = pool.get('duoduo.pdd.order')
    member, order = Member.__table__(), Order.__table__()
    cursor = Transaction().connection.cursor()
    ok = True
    for record in Member.browse(member_ids):
        team = record.team_overview()['team']
        cursor.execute(*order.join(member,
                condition=order.member == member.id).select(
                Count(Literal(1)), Sum(order.promotion_amount),
                where=starts_with(member.path, record.path)
                & (member.depth > record.depth)
                & (member.depth <= record.depth + 3)
                & order.commission_state.in_(['pending', 'available'])))
        sales, pre = cursor.fetchone()
        pre = Decimal(str(pre or 0)).quantize(CENT)
        if (team['sales'], team['pre'].quantize(CENT)) != (sales, pre):
            ok = False
            print(f"WRONG statistics of member {record.id}: stored sales "
                f"{team['sales']} pre {team['pre']}, counted {sales} {pre}",
                file=sys.stderr)
    print(f"team statistics checked for {len(member_ids)} members: "
        f"{'ok' if ok else 'WRONG'}")
    return ok


# --- measures ------------------------------------------------------------

def run(args, pool, big_id, small_id):
    from werkzeug.test import Client
    from trytond.transaction import Transaction
    from trytond.wsgi import app
    with Transaction().start(DB_NAME, 0) as transaction:
        Member = pool.get('duoduo.member')
        Token = pool.get('duoduo.member.token')
        tokens = {name: Token.issue(Member(id_))
            for name, id_ in [('BIG', big_id), ('SMALL', small_id)]}
        sizes = {name: sum(Member(id_).team_counts().values())
            for name, id_ in [('BIG', big_id), ('SMALL', small_id)]}
        transaction.commit()
    client = Client(app)

    def request(method, path, token, query=None, body=None):
        def call():
            headers = {'Authorization': f'Token {token}'} if token else {}
            response = client.open(path, method=method, query_string=query,
                json=body, headers=headers)
            assert response.status_code == 200, response.get_data()
            return json.loads(response.get_data())
        return call

    def size(payload):
        data = payload.get('data', payload)
        if 'team' in data:
            return data['team']['num']
        if 'list' in data:
            return len(data['list'])
        return data.get('team_count')

    measures = [
        ('POST /member/myTeam',
            lambda t: request('POST', '/member/myTeam', None,
                body={'token': t})),
        ('team_members page 1 (all)',
            lambda t: request('GET', '/user/team_members/', t)),
        *[(f'team_members page 1 level {level}',
                lambda t, level=level: request('GET', '/user/team_members/',
                    t, query={'level': level}))
            for level in [1, 2, 3]],
        ('team_ranking type=order',
            lambda t: request('GET', '/user/team_ranking/', t,
                query={'type': 'order'})),
        ('team_ranking type=commission',
            lambda t: request('GET', '/user/team_ranking/', t,
                query={'type': 'commission'})),
        ('GET /user/my_info/',
            lambda t: request('GET', '/user/my_info/', t)),
        ('moneyhistory page 1',
            lambda t: request('GET', '/user/moneyhistory/', t)),
        ('moneyhistory page 1, a window',
            lambda t: request('GET', '/user/moneyhistory/', t, query={
                    'start_time': WINDOW_START, 'end_time': WINDOW_END})),
        ]
    print(f"\nBIG id {big_id}: {sizes['BIG']} members at depth 1-3; "
        f"SMALL id {small_id}: {sizes['SMALL']}")
    print(f"median of {args.repeat} requests after {args.warmup} warm-up, "
        f"{'postgresql' if args.uri else 'sqlite'}\n")
    header = (f"{'route':<32} {'SMALL ms':>9} {'size':>6} {'BIG ms':>9} "
        f"{'size':>6} {'BIG/SMALL':>9}")
    print(header)
    print('-' * len(header))
    for name, factory in measures:
        t_small, r_small = measure(factory(tokens['SMALL']), args.repeat,
            args.warmup)
        t_big, r_big = measure(factory(tokens['BIG']), args.repeat,
            args.warmup)
        print(f"{name:<32} {t_small * 1000:>9.2f} {size(r_small)!s:>6} "
            f"{t_big * 1000:>9.2f} {size(r_big)!s:>6} "
            f"{t_big / t_small:>9.2f}")
    print("(size: team num for myTeam, rows listed, team_count for "
        "my_info)")


def explain_big(args, pool, big_id):
    "How the database runs the statistics' queries of BIG's requests"
    Member = pool.get('duoduo.member')
    big = Member(big_id)
    calls = [
        ('myTeam', big.team_overview),
        ('team_members page 1 (all)', lambda: big.team_members()),
        ('team_members page 1 level 3', lambda: big.team_members(3)),
        ('team_ranking order', lambda: big.team_ranking('order')),
        ('team_ranking commission', lambda: big.team_ranking('commission')),
        ]
    for title, call in calls:
        for query, params in record_queries(call):
            if ('duoduo_member_team_link' in query
                    or 'duoduo_team_statistic' in query):
                explain(args.uri, query, params, f"{title} for BIG")


def main():
    args = parse_args()
    args.uri = os.environ.get('TRYTOND_DATABASE_URI', '')
    if args.uri.startswith('sqlite'):
        args.uri = ''
    clean_environ()
    with bench_database(DB_NAME, 'duoduo_api', args.uri, args.keep) as pool:
        from trytond.transaction import Transaction
        # the routes: registered on import, reading [duoduo] database
        import trytond.modules.duoduo_api  # noqa: F401
        with Transaction().start(DB_NAME, 0):
            big_id, small_id = populate(args, args.uri, pool)
        with Transaction().start(DB_NAME, 0):
            derive(pool)
        with Transaction().start(DB_NAME, 0):
            analyze(DB_NAME, args.uri)
        with Transaction().start(DB_NAME, 0, readonly=True):
            Member = pool.get('duoduo.member')
            big = Member(big_id)
            checked = [big_id, small_id] + [m.id for m in Member.search(
                    big.team_domain(max_depth=1), limit=5)]
            ok = check(pool, checked)
        if ok:
            run(args, pool, big_id, small_id)
            with Transaction().start(DB_NAME, 0, readonly=True):
                explain_big(args, pool, big_id)
    if not ok:
        raise SystemExit("the stored team statistics are wrong")


if __name__ == '__main__':
    main()
