"""What the benchmarks share: a throwaway database activated by
trytond-admin, the pool on it, bulk inserts by raw SQL, and tools to time
calls and show the SQL they run and how the database runs it.

`uri` is a PostgreSQL server URI, or empty for SQLite (a file in the
benchmark's temporary directory)."""
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def clean_environ():
    "The benchmark's own configuration only: no inherited TRYTOND_*"
    for key in list(os.environ):
        if key.startswith('TRYTOND') or key == 'TRYTONPASSFILE':
            del os.environ[key]


def pg_admin(uri, *statements):
    import psycopg
    from urllib.parse import urlsplit
    conninfo = urlsplit(uri)._replace(path='/postgres').geturl()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def create_database(db_name, module, uri, tmpdir):
    """A new database db_name with module and its dependencies activated
    by trytond-admin; returns the path of its trytond.conf (in tmpdir)"""
    if uri:
        pg_admin(uri,
            f'DROP DATABASE IF EXISTS {db_name} WITH (FORCE)',
            f"CREATE DATABASE {db_name} TEMPLATE template0 ENCODING 'UTF8'")
    else:
        open(os.path.join(tmpdir, db_name + '.sqlite'), 'w').close()
    conf = os.path.join(tmpdir, 'trytond.conf')
    with open(conf, 'w') as fp:
        fp.write(f"""[database]
uri = {uri or 'sqlite://'}
path = {tmpdir}
language = en

[duoduo]
database = {db_name}
sms_backend = log
sms_log = {os.path.join(tmpdir, 'sms.log')}
""")
    passfile = os.path.join(tmpdir, 'adminpass')
    with open(passfile, 'w') as fp:
        fp.write(os.urandom(12).hex())
    admin = os.path.join(os.path.dirname(sys.executable), 'trytond-admin')
    env = dict(os.environ, TRYTONPASSFILE=passfile)
    for command in [
            ['--all', '--email', 'bench@example.com'],
            ['-u', module, '--activate-dependencies']]:
        started = time.perf_counter()
        proc = subprocess.run(
            [admin, '-c', conf, '-d', db_name, *command],
            env=env, capture_output=True, text=True)
        if proc.returncode:
            sys.stderr.write(proc.stdout + proc.stderr)
            raise SystemExit(f"trytond-admin {' '.join(command)} failed")
        print(f"trytond-admin {' '.join(command[:2])}: "
            f"{time.perf_counter() - started:.1f}s")
    return conf


def close_database(db_name, uri, drop=True):
    """Close trytond's connections to db_name; with drop, drop it (the
    SQLite file goes with the temporary directory)"""
    from trytond import backend
    backend.Database(db_name).close()
    if drop and uri:
        pg_admin(uri, f'DROP DATABASE IF EXISTS {db_name} WITH (FORCE)')


def start_pool(conf, db_name):
    "trytond configured by conf, the pool of db_name loaded"
    from trytond import config
    config.update_etc(conf)
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    Pool.start()
    pool = Pool(db_name)
    with Transaction().start(db_name, 0, readonly=True):
        pool.init()
    return pool


@contextlib.contextmanager
def bench_database(db_name, module, uri, keep=False):
    """A new database db_name (in a temporary directory for SQLite) with
    module activated: its pool, the database dropped at the end unless
    keep"""
    tmpdir = tempfile.mkdtemp(prefix=db_name + '_')
    try:
        conf = create_database(db_name, module, uri, tmpdir)
        pool = start_pool(conf, db_name)
        try:
            yield pool
        finally:
            close_database(db_name, uri, drop=not keep)
    finally:
        if not keep:
            shutil.rmtree(tmpdir, ignore_errors=True)
        else:
            print(f"kept {db_name} and {tmpdir}")


def next_id(cursor, table):
    "The id after the table's highest"
    cursor.execute(*table.select(table.id, order_by=[table.id.desc],
            limit=1))
    row = cursor.fetchone()
    return (row[0] if row else 0) + 1


def bulk_insert(uri, cursor, table, columns, rows):
    "Insert rows (with their ids) by COPY on PostgreSQL"
    if not rows:
        return
    if uri:
        quoted = ', '.join(f'"{c}"' for c in columns)
        with cursor.copy(f'COPY "{table._name}" ({quoted}) '
                'FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table._name}', 'id'), "
            f'(SELECT MAX(id) FROM "{table._name}"))')
    else:
        query, _ = tuple(table.insert(
                [getattr(table, c) for c in columns], [[0] * len(columns)]))
        cursor.executemany(query, rows)


def analyze(db_name, uri, table=None):
    "The planner's statistics of table (default: all) brought up to date"
    from trytond.transaction import Transaction
    started = time.perf_counter()
    if uri:
        # VACUUM also sets the visibility map as autovacuum would, so
        # index-only scans are judged as they would run in production.
        import psycopg
        from urllib.parse import urlsplit
        conninfo = urlsplit(uri)._replace(path='/' + db_name).geturl()
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute('VACUUM (ANALYZE)'
                + (f' "{table}"' if table else ''))
    else:
        Transaction().connection.cursor().execute('ANALYZE')
        Transaction().commit()
    print(f"analyze: {time.perf_counter() - started:.1f}s")


# --- measures ------------------------------------------------------------

def measure(function, repeat, warmup):
    "(median time, last result) of repeat calls after warmup calls"
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


class Recorder:
    "Stands in for the transaction's connection to record executed SQL"

    def __init__(self, connection):
        self._connection = connection
        self.queries = []

    def __getattr__(self, name):
        return getattr(self._connection, name)

    def cursor(self, *args, **kwargs):
        recorder = self
        cursor = self._connection.cursor(*args, **kwargs)

        class Cursor:
            def __getattr__(self, name):
                return getattr(cursor, name)

            def __iter__(self):
                return iter(cursor)

            def execute(self, query, params=None, *a, **kw):
                recorder.queries.append((query, params))
                return cursor.execute(query, params, *a, **kw)
        return Cursor()


def record_queries(function):
    from trytond.transaction import Transaction
    transaction = Transaction()
    connection = transaction.connection
    transaction.connection = recorder = Recorder(connection)
    try:
        function()
    finally:
        transaction.connection = connection
    return recorder.queries


def short(sql):
    "The SQL with a long select list cut out, for printing"
    head, sep, tail = sql.partition(' FROM "')
    if sep and len(head) > 120:
        head = head[:60] + ' … '
    return head + sep + tail


def explain(uri, query, params, title):
    "How the database runs query (EXPLAIN ANALYZE on PostgreSQL)"
    from trytond.transaction import Transaction
    connection = Transaction().connection
    print(f"\n-- {title}")
    if uri:
        from psycopg import ClientCursor
        cursor = ClientCursor(connection)
        print(short(cursor.mogrify(query, params)))
        cursor.execute('EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ' + query,
            params)
    else:
        cursor = connection.cursor()
        print(short(query), params)
        cursor.execute('EXPLAIN QUERY PLAN ' + query, params)
    for row in cursor:
        print('   ', ' | '.join(str(c) for c in row))


def explain_generic(query, params, title):
    "The plan PostgreSQL uses once it caches a generic plan"
    from psycopg import ClientCursor
    from trytond.transaction import Transaction
    cursor = ClientCursor(Transaction().connection)
    numbered, n = '', 0
    for i, part in enumerate(query.split('%s')):
        numbered += part if not i else f'${i}{part}'
        n = i
    assert n == len(params)
    # typed from the values: COUNT($1) alone would leave $1 undetermined
    types = ', '.join('integer' if isinstance(p, int) else 'text'
        for p in params)
    cursor.execute(f'PREPARE bench_generic ({types}) AS ' + numbered)
    cursor.execute('SET LOCAL plan_cache_mode = force_generic_plan')
    print(f"\n-- {title}")
    cursor.execute(
        'EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE bench_generic('
        + ', '.join(['%s'] * len(params)) + ')', params)
    for row in cursor:
        print('   ', row[0])
    cursor.execute('RESET plan_cache_mode')
    cursor.execute('DEALLOCATE bench_generic')
