"""Posting one key from two transactions at the same time, on PostgreSQL
where they really run side by side: one entry, both get it."""
import threading
import time
import unittest
from decimal import Decimal

from trytond import backend
from trytond.modules.duoduo_base.tests.testing import DatabaseTestCase
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction

# SQLite serializes every writer: there is nothing concurrent to test there.
only_postgresql = unittest.skipUnless(
    backend.name == 'postgresql', "needs concurrent writers (PostgreSQL)")

LINES = [
    {'account': 'pdd_receivable', 'amount': Decimal('-1.23')},
    {'account': 'platform_margin', 'amount': Decimal('1.23')},
    ]
TRIES = 5


def post(key, snapshot_taken=None, go=None, hold=0):
    """Post key in a transaction of its own, committed, run again when
    PostgreSQL or the ledger says so (as the dispatcher and the sync do).

    The transaction reads first (its snapshot is taken), sets
    snapshot_taken, waits for go, posts, and holds its locks hold seconds
    before committing. Returns (entry id, tries)."""
    for attempt in range(1, TRIES + 1):
        try:
            with Transaction().start(DB_NAME, 0):
                Entry = Pool().get('duoduo.ledger.entry')
                Entry.search([], limit=1)
                if snapshot_taken and attempt == 1:
                    snapshot_taken.set()
                if go and attempt == 1:
                    go.wait(30)
                entry = Entry.post(key, LINES, 'commission')
                time.sleep(hold)
                entry_id = entry.id
            return entry_id, attempt
        except backend.DatabaseOperationalError:
            if attempt == TRIES:
                raise


def in_thread(call):
    "Start call() in a thread; returns a function giving its result"
    result = {}

    def run():
        try:
            result['value'] = call()
        except Exception as error:  # reported by the test
            result['error'] = error
    thread = threading.Thread(target=run)
    thread.start()

    def join():
        thread.join(60)
        if 'error' in result:
            raise result['error']
        return result['value']
    return join


@only_postgresql
class LedgerConcurrencyTestCase(DatabaseTestCase):
    "The ledger under concurrent posting (PostgreSQL)"
    module = 'duoduo_commission'

    def entries(self, key):
        with Transaction().start(DB_NAME, 0, readonly=True):
            Entry = Pool().get('duoduo.ledger.entry')
            Line = Pool().get('duoduo.ledger.line')
            entries = Entry.search([('key', '=', key)])
            return (len(entries),
                Line.search_count([('entry', 'in', [e.id for e in entries])]))

    def test_same_key_at_once(self):
        "The second waits on the key's lock, then finds the first's entry"
        snapshots = [threading.Event(), threading.Event()]
        go = threading.Event()
        results = [
            in_thread(lambda event=event: post('same-time', event, go,
                    hold=0.5))
            for event in snapshots]
        for event in snapshots:
            self.assertTrue(event.wait(30))
        go.set()
        (first, first_tries), (second, second_tries) = [
            r() for r in results]
        self.assertEqual(first, second)
        self.assertEqual(self.entries('same-time'), (1, 2))
        # the one that waited saw the entry only in a new transaction
        self.assertEqual(sorted([first_tries, second_tries]), [1, 2])

    def test_snapshot_older_than_the_entry(self):
        """A transaction that started before the entry was committed does
        not see it: its post is run again, and then finds it"""
        snapshot_taken, go = threading.Event(), threading.Event()
        late = in_thread(lambda: post('stale', snapshot_taken, go))
        self.assertTrue(snapshot_taken.wait(30))
        first, tries = post('stale')
        self.assertEqual(tries, 1)
        go.set()
        second, tries = late()
        self.assertEqual(second, first)
        self.assertEqual(tries, 2)
        self.assertEqual(self.entries('stale'), (1, 2))

    def test_other_keys_do_not_wait(self):
        "Posting other keys at once: one entry each, no retry"
        go = threading.Event()
        results = [in_thread(lambda i=i: post(f'parallel-{i}', go=go))
            for i in range(4)]
        go.set()
        ids = [r() for r in results]
        self.assertEqual(len({entry_id for entry_id, _ in ids}), 4)
        self.assertEqual({tries for _, tries in ids}, {1})
        for i in range(4):
            self.assertEqual(self.entries(f'parallel-{i}'), (1, 2))

