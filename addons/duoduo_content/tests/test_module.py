from trytond.tests.test_tryton import ModuleTestCase


class DuoduoContentTestCase(ModuleTestCase):
    "Test duoduo_content module"
    module = 'duoduo_content'


del ModuleTestCase
