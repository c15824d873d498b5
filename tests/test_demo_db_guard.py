"""make demo on a var/ built before duoduo_ledger existed stops with one
line saying what to delete, and lets current and new databases through."""
import pathlib
import sqlite3
import subprocess
import sys
import tempfile
import unittest

GUARD = pathlib.Path(__file__).parents[1] / 'bin' / 'check-demo-db'


def demo_file(directory, modules):
    path = pathlib.Path(directory) / 'demo.sqlite'
    db = sqlite3.connect(path)
    db.execute('CREATE TABLE ir_module (name TEXT, state TEXT)')
    db.executemany('INSERT INTO ir_module VALUES (?, ?)', modules.items())
    db.commit()
    db.close()
    return path


class DemoDatabaseGuardTestCase(unittest.TestCase):

    def guard(self, path):
        return subprocess.run(['sh', str(GUARD), str(path)],
            env={'PYTHON': sys.executable, 'PATH': '/usr/bin:/bin'},
            capture_output=True, text=True)

    def test_old_demo_refused_in_one_line(self):
        with tempfile.TemporaryDirectory() as directory:
            path = demo_file(directory, {'duoduo_commission': 'activated'})
            result = self.guard(path)
        self.assertEqual(result.returncode, 1)
        lines = result.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertIn('delete var/', lines[0])

    def test_current_demo_passes(self):
        with tempfile.TemporaryDirectory() as directory:
            path = demo_file(directory, {
                    'duoduo_commission': 'activated',
                    'duoduo_ledger': 'activated'})
            result = self.guard(path)
        self.assertEqual((result.returncode, result.stderr), (0, ''))

    def test_no_demo_yet_passes(self):
        with tempfile.TemporaryDirectory() as directory:
            result = self.guard(pathlib.Path(directory) / 'demo.sqlite')
        self.assertEqual(result.returncode, 0)
