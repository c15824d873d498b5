"""pytest set-up shared by the addons' tests and the cross-addon tests/.

The backend is chosen by TRYTOND_DATABASE_URI (SQLite in memory unless set);
`make test` runs the whole suite once per backend.

Databases are built once per module set per run and kept in Tryton's
DB_CACHE, which belongs to the run: a temporary directory (SQLite) or
template databases named after the run (PostgreSQL), removed at its end.
On PostgreSQL the test database is named after the run too (unless DB_NAME
is set), so that runs sharing a server leave each other alone."""
import doctest
import hashlib
import importlib
import io
import json
import os
import pathlib
import secrets
import shutil
import signal
import tempfile
import unittest

import pytest

RUN = secrets.token_hex(4)
# Must run before trytond.tests.test_tryton is imported (it fixes the
# backend, DB name and DB cache at import time).
os.environ.setdefault('TRYTOND_DATABASE_URI', 'sqlite://')
POSTGRESQL = os.environ['TRYTOND_DATABASE_URI'].startswith('postgresql')
if POSTGRESQL:
    os.environ.setdefault('DB_NAME', f'test_duoduo_{RUN}')
    # the cache's databases: CREATE DATABASE … TEMPLATE is much quicker
    # than pg_restore; named by _db_cache_template below
    os.environ['DB_CACHE'] = 'postgresql://'
    CACHE_TEMPLATE_PREFIX = f'test_cache_{RUN}_'
    # throwaway databases: commits need not wait for the disk (the
    # sessions' setting, read by libpq; visibility and locks are unchanged)
    os.environ['PGOPTIONS'] = ' '.join(filter(None, [
                os.environ.get('PGOPTIONS'), '-c synchronous_commit=off']))
else:
    os.environ.setdefault('DB_NAME', ':memory:')
    # never a cache of an earlier run: the code may have changed since
    os.environ['DB_CACHE'] = tempfile.mkdtemp(prefix='duoduo-db-cache-')
# the contract's routes read [duoduo] database at import time
os.environ.setdefault('TRYTOND_DUODUO__DATABASE', os.environ['DB_NAME'])
# SMS codes go to a log file the tests read, as a developer would
os.environ.setdefault('TRYTOND_DUODUO__SMS_BACKEND', 'log')
os.environ.setdefault('TRYTOND_DUODUO__SMS_LOG', os.path.join(
        tempfile.mkdtemp(prefix='duoduo-sms-'), 'sms.log'))

ROOT = pathlib.Path(__file__).parent
ADDONS = ROOT / 'addons'


def _db_cache_template(path, name):
    """The cache database of the module set `name`: Tryton would name it
    test-<hash>, the same for every run on the server (another developer's
    run, or an earlier one on other code, would be restored)."""
    digest = hashlib.shake_128(name.encode('utf-8')).hexdigest(8)
    return f'{test_tryton.DB_CACHE}/{CACHE_TEMPLATE_PREFIX}{digest}'


from trytond.tests import test_tryton  # noqa: E402 (after the environment)

if POSTGRESQL:
    assert test_tryton.DB_CACHE == 'postgresql://'
    # private to trytond 8.0 (pinned): fail here rather than share a cache
    assert callable(test_tryton._db_cache_file)
    test_tryton._db_cache_file = _db_cache_template

_create_db = test_tryton.create_db


def _create_db_cached(name=test_tryton.DB_NAME, lang='en'):
    """Tryton's create_db (a new database with ir and res, about half of
    building a module set), restored from the cache after the first time.

    activate_module and activate_modules call it before they activate the
    modules of a set they have not cached: the same steps as without the
    cache follow, on the same database."""
    cache_name = f'(ir, res)--{lang}'
    if name != test_tryton.DB_NAME or test_tryton.db_exist(name):
        return _create_db(name, lang)
    if test_tryton.restore_db_cache(cache_name):
        return
    _create_db(name, lang)
    test_tryton.backup_db_cache(cache_name)


test_tryton.create_db = _create_db_cached


def pytest_configure(config):
    # a run stopped by SIGTERM (a timeout, CI) ends as on Ctrl-C: through
    # pytest_unconfigure below
    def interrupt(signum, frame):
        raise KeyboardInterrupt(f'signal {signum}')
    signal.signal(signal.SIGTERM, interrupt)


def pytest_unconfigure(config):
    "Remove what the run built: its cache and, on PostgreSQL, its databases"
    if not POSTGRESQL:
        shutil.rmtree(os.environ['DB_CACHE'], ignore_errors=True)
        return
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo
    from trytond import backend
    backend.Database(os.environ['DB_NAME']).close()
    with psycopg.connect(make_conninfo(os.environ['TRYTOND_DATABASE_URI'],
                dbname='postgres'), autocommit=True) as connection:
        templates = connection.execute(
            "SELECT datname FROM pg_database WHERE starts_with(datname, %s)",
            (CACHE_TEMPLATE_PREFIX,)).fetchall()
        for name in [os.environ['DB_NAME'], *(t for t, in templates)]:
            connection.execute(sql.SQL(
                    'DROP DATABASE IF EXISTS {} WITH (FORCE)').format(
                    sql.Identifier(name)))


class AddonTestModule(pytest.Module):
    "Import addons/<name>/tests/x.py as trytond.modules.<name>.tests.x"
    def _getobj(self):
        rel = self.path.relative_to(ADDONS).with_suffix('')
        return importlib.import_module('trytond.modules.' + '.'.join(rel.parts))


def pytest_collect_directory(path, parent):
    # a plain Dir, not a Package: pytest would import addons/<name>/__init__.py
    # a second time as top-level "<name>"
    if ADDONS in path.parents:
        return pytest.Dir.from_parent(parent, path=path)


def pytest_pycollect_makemodule(module_path, parent):
    if ADDONS in module_path.parents:
        return AddonTestModule.from_parent(parent, path=module_path)


def pytest_collect_file(parent, file_path):
    if file_path.suffix == '.rst' and file_path.name.startswith('scenario_'):
        return ScenarioFile.from_parent(parent, path=file_path)


class ScenarioFile(pytest.File):
    def collect(self):
        configs = [{}]
        json_path = self.path.with_suffix('.json')
        if json_path.exists():
            configs = json.loads(json_path.read_text())
        for i, globs in enumerate(configs):
            name = self.path.name if len(configs) == 1 else f'{self.path.name}[{i}]'
            yield ScenarioItem.from_parent(self, name=name, globs=globs)


class ScenarioItem(pytest.Item):
    def __init__(self, *, globs, **kwargs):
        super().__init__(**kwargs)
        self.globs = globs

    def runtest(self):
        from trytond import backend
        from trytond.tests.test_tryton import (
            STRIP_DECIMAL, doctest_checker, doctest_setup, doctest_teardown)
        flags = (doctest.REPORT_ONLY_FIRST_FAILURE | doctest.ELLIPSIS
            | doctest.IGNORE_EXCEPTION_DETAIL)
        if backend.name == 'sqlite':
            flags |= STRIP_DECIMAL
        suite = doctest.DocFileSuite(
            str(self.path), module_relative=False, globs=dict(self.globs),
            setUp=doctest_setup, tearDown=doctest_teardown,
            encoding='utf-8', checker=doctest_checker, optionflags=flags)
        out = io.StringIO()
        result = unittest.TextTestRunner(stream=out, verbosity=0).run(suite)
        if not result.wasSuccessful():
            raise AssertionError(out.getvalue())

    def reportinfo(self):
        return self.path, 0, f'scenario: {self.name}'
