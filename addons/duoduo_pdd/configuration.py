"""The PDD app as the operator registered it (seed 000), and sync settings.

Values set in trytond.conf's [duoduo_pdd] override the back office's, so a
deployment can keep its secret out of the database."""
import datetime as dt

from trytond import config
from trytond.i18n import gettext
from trytond.model import ModelSingleton, ModelSQL, ModelView, fields
from trytond.transaction import Transaction, without_check_access

from .client import DEFAULT_GATEWAY_URL, PddClient
from .exceptions import PddError

SECTION = 'duoduo_pdd'


def config_value(name, default=None):
    "A [duoduo_pdd] option; blank counts as unset"
    value = config.get(SECTION, name, default=None)
    return value if value not in (None, '') else default


class Configuration(ModelSingleton, ModelSQL, ModelView):
    "PDD Settings"
    __name__ = 'duoduo.pdd.configuration'

    gateway_url = fields.Char(
        "Gateway URL",
        help="PDD's gateway; [duoduo_pdd] gateway_url overrides it.")
    client_id = fields.Char(
        "Client ID",
        help="The client_id of the 多多客联盟 app on open.pinduoduo.com, "
        "bound to the 多多进宝 account.")
    # Write-only: views show client_secret_masked and take new_client_secret;
    # no group reads, searches or writes it over RPC (configuration.xml).
    client_secret = fields.Char("Client Secret", loading='lazy')
    client_secret_masked = fields.Function(
        fields.Char("Client Secret"), 'get_client_secret_masked')
    new_client_secret = fields.Function(
        fields.Char("New Client Secret",
            help="Type the secret to replace the stored one; it is never "
            "shown again."),
        'get_new_client_secret', setter='set_new_client_secret')
    default_pid = fields.Char(
        "Default PID",
        help="The 推广位 used for members without a PID of their own.")
    redirect_uri = fields.Char(
        "OAuth Redirect URI",
        help="The callback registered in the PDD app, "
        "e.g. https://example.com/pdd/oauth/callback/.")
    authorization_warn_days = fields.Integer(
        "Authorization Warning", required=True,
        domain=[('authorization_warn_days', '>=', 0)],
        help="Days before a 多多进宝 authorization lapses that staff are "
        "warned.")
    sync_overlap = fields.Integer(
        "Sync Overlap", required=True,
        domain=[('sync_overlap', '>=', 0)],
        help="Minutes each order sync re-reads before the last one.")
    sync_lag_limit = fields.Integer(
        "Sync Lag Limit", required=True,
        domain=[('sync_lag_limit', '>', 0)],
        help="Minutes without a successful order sync before staff are "
        "warned.")
    search_cache_seconds = fields.Integer(
        "Search Cache", required=True,
        domain=[('search_cache_seconds', '>=', 0)],
        help="Seconds goods searches and details are kept.")
    category_cache_seconds = fields.Integer(
        "Category Cache", required=True,
        domain=[('category_cache_seconds', '>=', 0)],
        help="Seconds the category tree is kept.")
    last_test_at = fields.DateTime("Last Test", readonly=True)
    last_test_result = fields.Text("Last Test Result", readonly=True)
    overridden = fields.Function(
        fields.Char("Set in trytond.conf"), 'get_overridden')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'test_connection': {
                    'icon': 'tryton-launch',
                    },
                })

    @classmethod
    def default_authorization_warn_days(cls):
        return 5

    @classmethod
    def default_sync_overlap(cls):
        return 10

    @classmethod
    def default_sync_lag_limit(cls):
        return 60

    @classmethod
    def default_search_cache_seconds(cls):
        return 120

    @classmethod
    def default_category_cache_seconds(cls):
        return 6 * 60 * 60

    def get_client_secret_masked(self, name):
        secret = self.setting('client_secret')
        if not secret:
            return ''
        return '•' * 8 + secret[-4:]

    def get_new_client_secret(self, name):
        return ''

    @classmethod
    def set_new_client_secret(cls, configurations, name, value):
        if value:
            # the field itself is closed to every group
            with without_check_access():
                cls.write(configurations, {'client_secret': value.strip()})

    def get_overridden(self, name):
        return ', '.join(name for name in
            ['gateway_url', 'client_id', 'client_secret', 'pid']
            if config_value(name))

    def stored_client_secret(self):
        # read from the table, whoever asks: no group may read the field
        table = self.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(table.client_secret, limit=1))
        row = cursor.fetchone()
        return row[0] if row else None

    def setting(self, name):
        "The effective value: trytond.conf first, then the back office"
        if config_value(name):
            return config_value(name)
        if name == 'client_secret':
            return self.stored_client_secret()
        return getattr(self, 'default_pid' if name == 'pid' else name, None)

    @classmethod
    def get_client(cls):
        configuration = cls(1)
        return PddClient(
            configuration.setting('gateway_url') or DEFAULT_GATEWAY_URL,
            configuration.setting('client_id'),
            configuration.setting('client_secret') or '',
            connect_timeout=config_value('connect_timeout', 3.05),
            read_timeout=config_value('read_timeout', 10),
            max_retries=config_value('max_retries', 3),
            retry_backoff=config_value('retry_backoff', 0.5))

    @classmethod
    def get_pid(cls):
        return cls(1).setting('pid')

    @classmethod
    @ModelView.button
    def test_connection(cls, configurations):
        "Calls a cheap API (the top-level goods tags) and keeps the answer"
        try:
            answer = cls.get_client().call('pdd.goods.opt.get', parent_opt_id=0)
        except PddError as error:
            result = error.message
        else:
            result = gettext('duoduo_pdd.msg_test_connection_ok',
                count=len(answer.get('goods_opt_list') or []),
                request_id=answer.get('request_id') or '-')
        cls.write(configurations, {
                'last_test_at': dt.datetime.now(),
                'last_test_result': result,
                })

