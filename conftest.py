"""pytest set-up shared by the addons' tests and the cross-addon tests/.

The backend is chosen by TRYTOND_DATABASE_URI (SQLite in memory unless set);
`make test` runs the whole suite once per backend."""
import doctest
import importlib
import io
import json
import os
import pathlib
import tempfile
import unittest

import pytest

# Must run before trytond.tests.test_tryton is imported (it fixes the
# backend and DB name at import time).
os.environ.setdefault('TRYTOND_DATABASE_URI', 'sqlite://')
if os.environ['TRYTOND_DATABASE_URI'].startswith('sqlite'):
    os.environ.setdefault('DB_NAME', ':memory:')
else:
    os.environ.setdefault('DB_NAME', 'test_duoduo')
# the contract's routes read [duoduo] database at import time
os.environ.setdefault('TRYTOND_DUODUO__DATABASE', os.environ['DB_NAME'])
# SMS codes go to a log file the tests read, as a developer would
os.environ.setdefault('TRYTOND_DUODUO__SMS_BACKEND', 'log')
os.environ.setdefault('TRYTOND_DUODUO__SMS_LOG', os.path.join(
        tempfile.mkdtemp(prefix='duoduo-sms-'), 'sms.log'))

ROOT = pathlib.Path(__file__).parent
ADDONS = ROOT / 'addons'


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
