from trytond.tests.test_tryton import ModuleTestCase


class DuoduoLedgerTestCase(ModuleTestCase):
    "Test duoduo_ledger module"
    module = 'duoduo_ledger'


del ModuleTestCase
