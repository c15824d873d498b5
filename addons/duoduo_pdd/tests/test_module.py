from trytond.tests.test_tryton import ModuleTestCase


class DuoduoPddTestCase(ModuleTestCase):
    "Test duoduo_pdd module"
    module = 'duoduo_pdd'


del ModuleTestCase
