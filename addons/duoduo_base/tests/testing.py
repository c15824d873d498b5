"""The test cases' databases: one per module set per run, from Tryton's
DB_CACHE.

A test case on a database derives from DatabaseTestCase, not from
ModuleTestCase: only each addon's test_module.py runs Tryton's standard
module checks."""
from trytond.tests.test_tryton import (
    DB_NAME, TestCase, activate_module, backup_db_cache, drop_db,
    restore_db_cache)
from trytond.transaction import Transaction

__all__ = ['DatabaseTestCase']


class DatabaseTestCase(TestCase):
    """A test case with a database of its own: `module` (and `extras`)
    activated, then filled by setUpDatabase, dropped at the end.

    With DB_CACHE set (conftest.py sets one per run) the database is built
    once per module set and setUpDatabase, and restored from the cache for
    each test case: every test case starts from the same fresh database."""
    module = None
    extras = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        drop_db()
        modules = [cls.module, *(cls.extras or [])]
        owner = next(c for c in cls.__mro__ if 'setUpDatabase' in vars(c))
        if owner is DatabaseTestCase:
            activate_module(modules)
            return
        # what setUpDatabase does is cached with the modules: it must not
        # depend on the subclass it runs for
        name = '-'.join(sorted(modules)) + (
            f'--{owner.__module__}.{owner.__qualname__}.setUpDatabase')
        if restore_db_cache(name):
            return
        activate_module(modules)
        with Transaction().start(DB_NAME, 0) as transaction:
            cls.setUpDatabase()
            transaction.commit()
        backup_db_cache(name)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        drop_db()

    @classmethod
    def setUpDatabase(cls):
        "Fill the new database (as root, committed); cached with the modules"
