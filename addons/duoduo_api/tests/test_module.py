from trytond.tests.test_tryton import ModuleTestCase


class DuoduoApiTestCase(ModuleTestCase):
    "Test duoduo_api module"
    module = 'duoduo_api'


del ModuleTestCase
