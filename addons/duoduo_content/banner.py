"""Banners (轮播图) of the mini-program's home page."""
from trytond.model import ModelSQL, ModelView, fields

from .content import ScheduledMixin, served_cache


class Banner(ScheduledMixin, ModelSQL, ModelView):
    "Banner"
    __name__ = 'duoduo.content.banner'

    title = fields.Char("Title", required=True)
    pic = fields.Char("Image URL", required=True,
        help="An https address of the image.")
    url = fields.Char("Link",
        help="An https address or a mini-program page such as "
        "/pages/goods/detail?id=1.")

    _served_cache = served_cache('duoduo.content.banner.served')
    _image_fields = ('pic',)
    _link_fields = ('url',)

    def served_row(self):
        return {'id': self.id, 'title': self.title, 'pic': self.pic,
            'url': self.url or ''}
