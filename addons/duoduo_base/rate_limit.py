"""Rate limits of the member API that no other record counts (the SMS
routes count their codes): one row per hit of a key (e.g. a client address
looking phones up), the key's expired rows removed as it is hit again."""
import datetime as dt

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, fields
from trytond.transaction import Transaction

from .exceptions import RateLimitError
from .tools import advisory_lock, fresh_snapshot


class RateLimitHit(ModelSQL):
    "Rate Limit Hit"
    __name__ = 'duoduo.rate_limit.hit'

    key = fields.Char("Key", required=True, readonly=True)
    hit_at = fields.DateTime("Hit At", required=True, readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(
            Index(t, (t.key, Index.Equality()), (t.hit_at, Index.Range())))

    @classmethod
    def hit(cls, key, limit, window, message_id):
        """Count a hit of key, refusing it (RateLimitError with message_id)
        when limit hits were counted in the last window seconds"""
        now = dt.datetime.now()
        start = now - dt.timedelta(seconds=window)
        # hits of one key are counted one after the other
        advisory_lock(f'duoduo.rate_limit:{key}')
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.delete(
                where=(table.key == key) & (table.hit_at <= start)))
        with fresh_snapshot():
            count = cls.search_count([
                    ('key', '=', key),
                    ('hit_at', '>', start),
                    ])
        if count >= limit:
            raise RateLimitError(gettext(message_id))
        cls.create([{'key': key, 'hit_at': now}])
