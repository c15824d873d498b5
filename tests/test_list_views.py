"""Every list view of ours opens in sao.

sao's list views have no column for a datetime shown as is: such a field
needs widget="date" (and "time"), as Tryton's own cron list does, or sao
stops drawing the list ("ColumnFactory is not a constructor").

sao reads some attributes as PYSON, i.e. JSON (Record.expr_eval,
PYSON.Decoder): Python text there ("If(Eval('status') ...)") raises a
SyntaxError in the browser and the list stays empty. Such values are set
from the model's view_attributes(), which encodes them."""
import json
from pathlib import Path
from unittest import TestCase

from lxml import etree

from trytond.modules.duoduo_base.tests.testing import DatabaseTestCase
from trytond.pool import Pool
from trytond.pyson import PYSONDecoder
from trytond.tests.test_tryton import with_transaction

# sao 8.0's Sao.View.TreeXMLViewParser.WIDGETS keys
SAO_LIST_WIDGETS = {
    'binary', 'boolean', 'callto', 'char', 'date', 'dict', 'email', 'float',
    'image', 'integer', 'many2many', 'many2one', 'numeric', 'one2many',
    'one2one', 'progressbar', 'reference', 'selection', 'multiselection',
    'sip', 'text', 'time', 'timedelta', 'url',
    }

# attributes sao 8.0 decodes as PYSON/JSON (src/view/*.js, src/screen.js,
# src/common.js: expr_eval and PYSON.Decoder calls)
SAO_PYSON_ATTRIBUTES = {
    'visual', 'states', 'domain', 'context', 'spell', 'size', 'add_remove',
    'change', 'tree_invisible', 'scan_code_states', 'pre_validate',
    }
# attributes sao reads with parseInt
SAO_INTEGER_ATTRIBUTES = {'sum', 'expand', 'optional', 'editable', 'width'}

ADDONS = Path(__file__).resolve().parent.parent / 'addons'


def pyson_problems(arch, source):
    "Yield a message for every attribute of arch sao cannot read"
    for node in etree.fromstring(arch).iter(tag=etree.Element):
        for attribute, value in node.attrib.items():
            where = '%s: <%s name=%r %s=%r>' % (
                source, node.tag, node.get('name'), attribute, value)
            if attribute in SAO_PYSON_ATTRIBUTES:
                try:
                    json.loads(value)
                except ValueError:
                    yield where + ' is not JSON: set it in view_attributes()'
            elif attribute in SAO_INTEGER_ATTRIBUTES:
                if not value.strip().isdigit():
                    yield where + ' is not an integer'


class ViewFilesTestCase(TestCase):
    "The view files of the addons hold no Python text where sao reads JSON"

    def test_view_files_hold_no_python_pyson(self):
        files = sorted(ADDONS.glob('duoduo_*/view/*.xml'))
        self.assertTrue(files)
        problems = []
        for path in files:
            problems.extend(pyson_problems(
                    path.read_bytes(), path.relative_to(ADDONS)))
        self.assertEqual(problems, [])

    def test_python_pyson_is_found(self):
        "The check above catches the defect it is for"
        arch = (b'<tree><field name="status" '
            b'visual="If(Eval(\'status\') == \'banned\', \'danger\', \'\')"/>'
            b'<field name="amount" sum="Amount"/></tree>')
        self.assertEqual(len(list(pyson_problems(arch, 'x.xml'))), 2)


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

    @with_transaction()
    def test_every_view_sends_sao_json(self):
        "What sao gets, view_attributes() applied, decodes as JSON"
        pool = Pool()
        View = pool.get('ir.ui.view')
        views = View.search([
                ('module', 'like', 'duoduo%'), ('type', '!=', None)])
        self.assertTrue(views)
        for view in views:
            Model = pool.get(view.model)
            definition = Model.fields_view_get(view_id=view.id)
            with self.subTest(view=view.name):
                self.assertEqual(list(pyson_problems(
                            definition['arch'], view.name)), [])

    @with_transaction()
    def test_list_visuals_are_pyson(self):
        "The PID and authorization lists colour their rows through PYSON"
        pool = Pool()
        decoder = PYSONDecoder({'status': 'banned'})
        Pid = pool.get('duoduo.pdd.pid')
        arch = Pid.fields_view_get(view_type='tree')['arch']
        status, = etree.fromstring(arch).xpath('//field[@name="status"]')
        self.assertEqual(decoder.decode(status.get('visual')), 'danger')
        Authorization = pool.get('duoduo.pdd.authorization')
        arch = Authorization.fields_view_get(view_type='tree')['arch']
        nodes = etree.fromstring(arch).xpath('//field[@visual]')
        self.assertEqual(
            sorted({n.get('name') for n in nodes}),
            ['days_left', 'refresh_expires_at', 'state'])
        for node in nodes:
            for values, visual in [
                    ({'expiry': 'lapsed', 'state': 'expired'}, 'danger'),
                    ({'expiry': 'valid', 'state': 'active'}, ''),
                    ]:
                self.assertEqual(
                    PYSONDecoder(values).decode(node.get('visual')), visual)
