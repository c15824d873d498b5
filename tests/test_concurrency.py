"""Members arriving at the same moment, on PostgreSQL where requests really
run side by side: the team sizes stay exact and a phone gets one code."""
import threading
import unittest

from trytond import backend
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction

from support import ContractTestCase, last_code

# SQLite serializes every writer: there is nothing concurrent to test there.
only_postgresql = unittest.skipUnless(
    backend.name == 'postgresql', "needs concurrent writers (PostgreSQL)")


def side_by_side(calls):
    "Run the calls in threads released together; their results in order"
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        results[index] = call()
    threads = [threading.Thread(target=run, args=(i, c))
        for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


@only_postgresql
class ConcurrencyTestCase(ContractTestCase):

    def post_until_not_busy(self, path, body, attempts=5):
        "A client retrying while the server says busy (503), as it should"
        for _ in range(attempts):
            status, payload = self.post(path, body)
            if payload['code'] != 503:
                break
        return status, payload

    def test_registrations_under_one_inviter(self):
        _, inviter = self.login('13500000001')
        phones = [f'1350000010{i}' for i in range(6)]
        for phone in phones:
            self.assertReply(self.post('/user/send_tel_code/', {
                        'phone': phone}), 200, 200)
        results = side_by_side([
                lambda phone=phone: self.post_until_not_busy('/user/login/', {
                        'phone': phone, 'code': last_code(phone),
                        'invitation_code': inviter['invitation_code']})
                for phone in phones])
        self.assertEqual([(s, p['code']) for s, p in results],
            [(200, 200)] * len(phones), results)

        with Transaction().start(DB_NAME, 0, readonly=True):
            Member = Pool().get('duoduo.member')
            member = Member(inviter['id'])
            self.assertEqual(member.team_size_1, len(phones))
            self.assertEqual(member.team_size, len(phones))
            self.assertEqual(member.count_team(), {1: len(phones)})

    def test_one_code_for_simultaneous_requests(self):
        for phone in ['13500000200', '13500000201', '13500000202']:
            results = side_by_side([
                    lambda: self.post_until_not_busy('/user/send_tel_code/', {
                            'phone': phone})] * 6)
            codes = sorted(p['code'] for _, p in results)
            self.assertEqual(codes, [200] + [429] * 5, results)
            with Transaction().start(DB_NAME, 0, readonly=True):
                SmsCode = Pool().get('duoduo.sms.code')
                self.assertEqual(
                    SmsCode.search_count([('phone', '=', phone)]), 1)


del ContractTestCase
