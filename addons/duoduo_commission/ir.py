"""The scheduled jobs of the commission addon."""
from trytond.pool import PoolMeta


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('duoduo.pdd.order|book_unbooked', "Book Unbooked PDD Orders"))
