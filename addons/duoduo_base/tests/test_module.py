from trytond.tests.test_tryton import ModuleTestCase


class DuoduoBaseTestCase(ModuleTestCase):
    "Test duoduo_base module"
    module = 'duoduo_base'


del ModuleTestCase
