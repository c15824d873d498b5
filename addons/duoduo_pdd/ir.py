"""The scheduled jobs of the PDD addon: order sync and its health, the
多多进宝 authorization's refresh and lapse warnings."""
from trytond.pool import PoolMeta


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.extend([
                ('duoduo.pdd.order.sync|run_increment',
                    "Sync PDD Orders"),
                ('duoduo.pdd.order.sync|back_check_hourly',
                    "Back-Check PDD Orders of the Last Day"),
                ('duoduo.pdd.order.sync|back_check_daily',
                    "Back-Check PDD Orders of the Last Week"),
                ('duoduo.pdd.order.sync|back_check_monthly',
                    "Back-Check PDD Orders of the Last 60 Days"),
                ('duoduo.pdd.order.sync.state|check_sync_health',
                    "Check PDD Order Sync Health"),
                ('duoduo.pdd.authorization|refresh_tokens',
                    "Refresh PDD Authorizations"),
                ('duoduo.pdd.authorization|warn_expiring',
                    "Warn of Lapsing PDD Authorizations"),
                ])
