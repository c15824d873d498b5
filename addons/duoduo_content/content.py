"""What every list of the mini-program's content shares: an order
(sequence), an active flag, an optional display window, URL checks and a
cache of what is served now.

The window (start, end) is stored as naive UTC like every Tryton DateTime;
the back office shows and takes it in the staff member's timezone (enter
Beijing time with a user timezone of Asia/Shanghai). A record is served
when it is active and start <= now < end (either bound may be empty).

What the routes serve is cached per model with trytond.cache.Cache: the
rows served now and the next moment a window opens or closes. A cached
list is used until that moment (then computed again) or until staff
create, change or delete a record (create/write/delete clear the cache of
every server process, as Tryton's caches are cleared)."""
import re
from urllib.parse import urlsplit

from trytond.cache import Cache
from trytond.i18n import gettext
from trytond.model import DeactivableMixin, fields, sequence_ordered
from trytond.modules.duoduo_base import tools

from .exceptions import ContentUrlError, ContentWindowError

# a mini-program page: /pages/goods/detail?id=1
PAGE_PATH = re.compile(r'/[A-Za-z0-9_\-]+(/[A-Za-z0-9_\-]+)*(\?[^\s#]*)?')
MAX_URL = 1024
CACHE_DURATION = 24 * 60 * 60   # a backstop: windows and saves clear it


def https_url(value):
    "Whether value is an https URL with a host and no blank"
    if not value or len(value) > MAX_URL or re.search(r'\s', value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme == 'https' and bool(parts.hostname)


def link_url(value):
    "Whether value is an https URL or a mini-program page path"
    if value and len(value) <= MAX_URL and PAGE_PATH.fullmatch(value):
        return True
    return https_url(value)


class ScheduledMixin(sequence_ordered(), DeactivableMixin):
    """A list entry the mini-program shows while active and in its window.

    Subclasses set _served_cache (a Cache of their own), _image_fields and
    _link_fields (names checked on save) and served_row(record)."""
    start = fields.DateTime("Start",
        help="Shown from this time (your timezone: enter Beijing time); "
        "empty: at once.")
    end = fields.DateTime("End",
        help="Hidden from this time (your timezone: enter Beijing time); "
        "empty: never.")

    _served_cache = None
    _image_fields = ()
    _link_fields = ()

    @classmethod
    def validate_fields(cls, records, field_names):
        super().validate_fields(records, field_names)
        for record in records:
            record.check_window()
            record.check_urls()

    def check_window(self):
        if self.start and self.end and self.end <= self.start:
            raise ContentWindowError(gettext(
                    'duoduo_content.msg_window_end_before_start',
                    record=self.rec_name))

    def check_urls(self):
        for name in self._image_fields:
            value = getattr(self, name)
            if value and not https_url(value):
                raise ContentUrlError(gettext(
                        'duoduo_content.msg_image_url_https',
                        field=self.__names__(name)['field'], url=value))
        for name in self._link_fields:
            value = getattr(self, name)
            if value and not link_url(value):
                raise ContentUrlError(gettext(
                        'duoduo_content.msg_link_url',
                        field=self.__names__(name)['field'], url=value))

    @classmethod
    def served_domain(cls, at):
        "The domain of the records served at `at` (naive UTC)"
        return [
            ['OR', ('start', '=', None), ('start', '<=', at)],
            ['OR', ('end', '=', None), ('end', '>', at)],
            ]

    @classmethod
    def next_boundary(cls, at):
        "The first start or end after `at` of an active record, or None"
        boundaries = []
        for name in ['start', 'end']:
            records = cls.search([(name, '>', at)], order=[(name, 'ASC')],
                limit=1)
            if records:
                boundaries.append(getattr(records[0], name))
        return min(boundaries, default=None)

    @classmethod
    def served_rows(cls, key=None):
        """The rows (served_row) served now, ordered, from the cache while
        no window opens or closes"""
        at = tools.now()
        cached = cls._served_cache.get(key)
        if cached is not None:
            until, rows = cached
            if until is None or at < until:
                return rows
        rows = cls.compute_served_rows(at, key)
        # the cache keeps an immutable copy: answer the same
        until, rows = cls._served_cache.set(
            key, (cls.next_boundary(at), rows))
        return rows

    @classmethod
    def compute_served_rows(cls, at, key=None):
        return [r.served_row() for r in cls.search(cls.served_domain(at))]

    def served_row(self):
        raise NotImplementedError

    @classmethod
    def clear_served(cls):
        cls._served_cache.clear()

    @classmethod
    def create(cls, vlist):
        records = super().create(vlist)
        cls.clear_served()
        return records

    @classmethod
    def write(cls, *args):
        super().write(*args)
        cls.clear_served()

    @classmethod
    def delete(cls, records):
        super().delete(records)
        cls.clear_served()


def served_cache(name):
    return Cache(name, duration=CACHE_DURATION)
