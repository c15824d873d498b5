"""Every list view of ours opens in sao.

sao's list views have no column for a datetime shown as is: such a field
needs widget="date" (and "time"), as Tryton's own cron list does, or sao
stops drawing the list ("ColumnFactory is not a constructor")."""
from lxml import etree

from trytond.modules.duoduo_base.tests.testing import DatabaseTestCase
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction

# sao 8.0's Sao.View.TreeXMLViewParser.WIDGETS keys
SAO_LIST_WIDGETS = {
    'binary', 'boolean', 'callto', 'char', 'date', 'dict', 'email', 'float',
    'image', 'integer', 'many2many', 'many2one', 'numeric', 'one2many',
    'one2one', 'progressbar', 'reference', 'selection', 'multiselection',
    'sip', 'text', 'time', 'timedelta', 'url',
    }


class ListViewsTestCase(DatabaseTestCase):
    module = 'duoduo_api'

    @with_transaction()
    def test_every_column_has_a_sao_widget(self):
        pool = Pool()
        View = pool.get('ir.ui.view')
        views = View.search([
                ('type', '=', 'tree'), ('module', 'like', 'duoduo%')])
        self.assertTrue(views)
        for view in views:
            Model = pool.get(view.model)
            definition = Model.fields_view_get(view_id=view.id)
            for node in etree.fromstring(definition['arch']).iter('field'):
                name = node.get('name')
                widget = node.get('widget') or definition['fields'][name][
                    'type']
                with self.subTest(view=view.name, field=name):
                    self.assertIn(widget, SAO_LIST_WIDGETS)
