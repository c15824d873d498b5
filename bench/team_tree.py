#!/usr/bin/env python3
"""Benchmark of the team tree: a member with a huge team must stay cheap.

Builds a throwaway database, activates duoduo_base, bulk-inserts a big team
with raw SQL (with the stored team sizes computed alongside), checks that the
stored sizes match the tree, then times the team queries of duoduo.member for

    SMALL  a member with 10 descendants (the baseline), and
    BIG    a member with --descendants descendants,

in the same run, and prints the ratio BIG / SMALL of the median times.
No timing is asserted: read the ratio (see bench/README.md). The script exits
non-zero only if the stored team sizes are wrong.

    .venv/bin/python bench/team_tree.py [--backend sqlite|postgresql]
        [--descendants 100000] [--others 100000] [--repeat 200]
"""
import argparse
import datetime as dt
import random
import sys
import time

from support import (
    analyze, bench_database, bulk_insert, clean_environ, explain,
    explain_generic, measure, next_id, record_queries)

DB_NAME = 'duoduo_bench'
DEFAULT_PG_URI = 'postgresql://postgres@127.0.0.1:5432/'
INVITATION_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ'

# Share of BIG's descendants at each relative depth (1, 2, ...); the last
# depth takes what is left. Depths 1..3 hold ~80%, 4..5 the rest.
BIG_SHAPE = [0.002, 0.03, 0.77, 0.15]
BIG_DEPTHS = 5
SMALL_SHAPE = [3, 5, 2]  # 10 descendants, all within depths 1..3
OTHER_SHAPE = [1, 3, 6, 6, 4]  # unrelated trees of 20 members
TEAM_SIZE_COLUMNS = [
    'team_size_1', 'team_size_2', 'team_size_3', 'team_size']


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--backend', choices=['postgresql', 'sqlite'],
        default='postgresql')
    parser.add_argument('--uri', default=DEFAULT_PG_URI,
        help="PostgreSQL server URI (default: %(default)s)")
    parser.add_argument('--descendants', type=int, default=100_000,
        help="size of BIG's team (default: %(default)s)")
    parser.add_argument('--others', type=int, default=100_000,
        help="unrelated members, in small trees (default: %(default)s)")
    parser.add_argument('--repeat', type=int, default=200,
        help="timed calls per measure (default: %(default)s)")
    parser.add_argument('--warmup', type=int, default=20)
    parser.add_argument('--seed', type=int, default=42)
    parser.add_argument('--keep', action='store_true',
        help="do not drop the database at the end")
    return parser.parse_args()


# --- the tree, built in memory -------------------------------------------

class Forest:
    "Nodes with a parent and a registration time; ids come later"

    def __init__(self, rng):
        self.rng = rng
        self.parent = []
        self.time = []

    def _add(self, parent):
        if parent is None:
            t = self.rng.uniform(0, 1_000_000)
        else:
            t = self.time[parent] + self.rng.expovariate(1 / 3600)
        self.parent.append(parent)
        self.time.append(t)
        return len(self.parent) - 1

    def tree(self, sizes):
        "A root and sizes[d - 1] nodes at depth d, under random parents"
        root = self._add(None)
        previous = [root]
        for size in sizes:
            current = [self._add(self.rng.choice(previous))
                for _ in range(size)]
            previous = current or previous
        return root

    def registration(self, first_id):
        """The nodes in registration order (parents always before their
        invitees), their ids from first_id on and their team paths:
        (order, {node: id}, {node: path})"""
        order = sorted(range(len(self.parent)), key=self.time.__getitem__)
        ids = {node: first_id + rank for rank, node in enumerate(order)}
        paths = {}
        for node in order:
            parent = self.parent[node]
            paths[node] = (paths[parent] if parent is not None else '') \
                + f'{ids[node]}/'
        return order, ids, paths

    def team_sizes(self):
        """[team_size_1, team_size_2, team_size_3, team_size] of each node:
        every node counts once for each of its ancestors"""
        sizes = [[0, 0, 0, 0] for _ in self.parent]
        for node, parent in enumerate(self.parent):
            distance = 1
            while parent is not None:
                if distance <= 3:
                    sizes[parent][distance - 1] += 1
                sizes[parent][3] += 1
                parent = self.parent[parent]
                distance += 1
        return sizes


def grow_forest(rng, descendants, others):
    """BIG's tree of descendants members, SMALL's tree, and others members
    in unrelated trees around them: (forest, BIG, SMALL)"""
    forest = Forest(rng)
    n_other_trees = others // sum(OTHER_SHAPE)
    for _ in range(n_other_trees // 2):
        forest.tree(OTHER_SHAPE)
    big = forest.tree(big_sizes(descendants))
    small = forest.tree(SMALL_SHAPE)
    for _ in range(n_other_trees - n_other_trees // 2):
        forest.tree(OTHER_SHAPE)
    for _ in range(others % sum(OTHER_SHAPE)):
        forest.tree([])
    return forest, big, small


def big_sizes(total):
    sizes = [max(1, round(total * share)) for share in BIG_SHAPE]
    sizes.append(total - sum(sizes))
    assert len(sizes) == BIG_DEPTHS and sizes[-1] >= 0, sizes
    return sizes


def invitation_code(number):
    chars = []
    for _ in range(6):
        number, digit = divmod(number, len(INVITATION_ALPHABET))
        chars.append(INVITATION_ALPHABET[digit])
    return ''.join(reversed(chars))


# --- the database ----------------------------------------------------------

def populate(args, pool):
    "Insert BIG's and SMALL's teams and the unrelated members; ids by SQL"
    from trytond.transaction import Transaction
    Member = pool.get('duoduo.member')
    Level = pool.get('duoduo.member.level')
    rng = random.Random(args.seed)
    forest, big, small = grow_forest(rng, args.descendants, args.others)

    transaction = Transaction()
    cursor = transaction.connection.cursor()
    table = Member.__table__()
    order, ids, paths = forest.registration(next_id(cursor, table))
    level = Level.get_default()
    now = dt.datetime.now().replace(microsecond=0)
    epoch = now - dt.timedelta(days=30)
    columns = ['id', 'phone', 'nickname', 'invitation_code', 'referrer',
        'path', 'depth', *TEAM_SIZE_COLUMNS, 'level', 'state',
        'registered_at', 'create_uid', 'create_date']
    team_sizes = forest.team_sizes()
    rows = []
    for node in order:
        id_, parent = ids[node], forest.parent[node]
        rows.append((id_, f'13{id_:09d}', f'bench{id_}',
                invitation_code(id_),
                ids[parent] if parent is not None else None,
                paths[node], paths[node].count('/') - 1, *team_sizes[node],
                level.id, 'active',
                epoch + dt.timedelta(seconds=forest.time[node]), 0, now))

    started = time.perf_counter()
    bulk_insert(args.uri, cursor, table, columns, rows)
    transaction.commit()
    print(f"inserted {len(rows)} members in "
        f"{time.perf_counter() - started:.1f}s")
    # a few more members to check: BIG's largest direct team, some others
    checks = [ids[big], ids[small]]
    big_children = [n for n, p in enumerate(forest.parent) if p == big]
    checks.append(ids[max(big_children, key=lambda n: team_sizes[n][3])])
    checks.extend(ids[n] for n in rng.sample(order, 20))
    return ids[big], ids[small], checks


def check_team_sizes(pool, member_ids):
    """The stored sizes equal the counts from the tree; False and a message
    for each member where they do not"""
    Member = pool.get('duoduo.member')
    ok = True
    for member in Member.browse(member_ids):
        stored = member.team_counts()
        counted = member.count_team()
        counted = {d: counted.get(d, 0) for d in stored}
        whole = sum(member.count_team(max_depth=None).values())
        if stored != counted or member.team_size != whole:
            ok = False
            print(f"WRONG team sizes for member {member.id}: stored "
                f"{stored} team_size={member.team_size}, counted {counted} "
                f"team_size={whole}", file=sys.stderr)
    print(f"team sizes checked for {len(member_ids)} members (BIG, SMALL "
        f"and others): {'ok' if ok else 'WRONG'}")
    return ok


# --- measures ------------------------------------------------------------

def run(args, pool, big_id, small_id):
    from trytond.transaction import Transaction
    Member = pool.get('duoduo.member')
    big, small = Member(big_id), Member(small_id)

    def read_sizes(member):
        "What a request does: one SELECT of the stored columns"
        row, = Member.read([member.id], TEAM_SIZE_COLUMNS)
        return row

    def fresh_team_counts(member):
        "team_counts() on a record loaded from the database"
        Member._clear_cache()
        return Member(member.id).team_counts()

    def first_page(member):
        return Member.search(member.team_domain(), limit=20,
            order=[('id', 'ASC')])

    # name, function, size of its result
    measures = [
        ('read() team sizes', read_sizes, lambda r: r['team_size']),
        ('Member(id).team_counts()', fresh_team_counts,
            lambda r: sum(r.values())),
        ('count_team()', lambda m: m.count_team(),
            lambda r: sum(r.values())),
        ('search_count(team_domain())',
            lambda m: Member.search_count(m.team_domain()), lambda r: r),
        ('search(team_domain(), 20)', first_page, len),
        ]
    print(f"\nBIG id {big.id} path {big.path!r}; SMALL id {small.id} "
        f"path {small.path!r}; {Member.search_count([])} members")
    print(f"median of {args.repeat} calls after {args.warmup} warm-up, "
        f"{args.backend}\n")
    header = (f"{'measure':<30} {'SMALL ms':>9} {'rows':>7} "
        f"{'BIG ms':>9} {'rows':>7} {'BIG/SMALL':>9} {'SMALL/base':>10}")
    print(header)
    print('-' * len(header))
    base = None
    for name, function, size in measures:
        t_small, r_small = measure(
            lambda: function(small), args.repeat, args.warmup)
        t_big, r_big = measure(
            lambda: function(big), args.repeat, args.warmup)
        base = base or t_small
        print(f"{name:<30} {t_small * 1000:>9.3f} {size(r_small):>7} "
            f"{t_big * 1000:>9.3f} {size(r_big):>7} "
            f"{t_big / t_small:>9.1f} {t_small / base:>10.1f}")
    print("(rows: team_size for read(), members up to depth 3 for the "
        "counts, ids returned\n by search; base: read() for SMALL)")
    Member._clear_cache()
    big = Member(big_id)
    print(f"\nBIG stored sizes: {big.team_counts()}, team_size "
        f"{big.team_size}; by depth: "
        f"{dict(sorted(big.count_team(max_depth=None).items()))}")

    # the SQL the timed calls ran, and how the database runs it
    (ct_query, ct_params), = record_queries(lambda: big.count_team())
    sc_query, sc_params = record_queries(
        lambda: Member.search_count(big.team_domain()))[-1]
    explain(args.uri, ct_query, ct_params, "count_team() for BIG")
    explain(args.uri, sc_query, sc_params, "search_count(team_domain()) for BIG")
    for member, title in [(big, 'BIG'), (small, 'SMALL')]:
        query, params = record_queries(lambda: first_page(member))[-1]
        explain(args.uri, query, params,
            f"search(team_domain(), limit=20) for {title}")
    (small_query, small_params), = record_queries(
        lambda: small.count_team())
    explain(args.uri, small_query, small_params, "count_team() for SMALL")
    if args.backend == 'postgresql':
        explain_generic(ct_query, ct_params,
            "count_team() for BIG with a generic (cached) plan")
        cursor = Transaction().connection.cursor()
        cursor.execute(
            "SELECT generic_plans, custom_plans, statement "
            "FROM pg_prepared_statements WHERE statement LIKE %s",
            (f'%FROM "{Member._table}"%',))
        print("\n-- statements psycopg prepared on this connection "
            "(after 5 runs) and the plans PostgreSQL used")
        for generic, custom, statement in cursor:
            print(f"    generic={generic} custom={custom}: "
                f"{' '.join(statement.split())[:150]}")


def main():
    args = parse_args()
    # the server's URI, empty for SQLite
    if args.backend == 'sqlite':
        args.uri = ''
    clean_environ()
    with bench_database(DB_NAME, 'duoduo_base', args.uri, args.keep) as pool:
        from trytond.transaction import Transaction
        with Transaction().start(DB_NAME, 0):
            big_id, small_id, check_ids = populate(args, pool)
        with Transaction().start(DB_NAME, 0):
            analyze(DB_NAME, args.uri, pool.get('duoduo.member')._table)
        with Transaction().start(DB_NAME, 0, readonly=True):
            sizes_ok = check_team_sizes(pool, check_ids)
            if sizes_ok:
                run(args, pool, big_id, small_id)
    if not sizes_ok:
        raise SystemExit("the stored team sizes do not match the tree")


if __name__ == '__main__':
    main()
