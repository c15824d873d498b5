from trytond.tests.test_tryton import ModuleTestCase


class DuoduoCommissionTestCase(ModuleTestCase):
    "Test duoduo_commission module"
    module = 'duoduo_commission'


del ModuleTestCase
