"""Activity entrances (活动入口) of the mini-program's home page."""
from trytond.model import ModelSQL, ModelView, fields

from .content import ScheduledMixin, served_cache


class Activity(ScheduledMixin, ModelSQL, ModelView):
    "Activity Entrance"
    __name__ = 'duoduo.content.activity'

    title = fields.Char("Title", required=True)
    pic = fields.Char("Icon URL", required=True,
        help="An https address of the icon.")
    hpic = fields.Char("Header Image URL",
        help="An https address of the header background image.")
    sid = fields.Integer("Activity Type", required=True,
        help="The number the mini-program receives as sid (the PDD "
        "activity of /tbk/activitygoods/: 0 1.9包邮, 1 今日爆款, "
        "2 品牌清仓).")

    _served_cache = served_cache('duoduo.content.activity.served')
    _image_fields = ('pic', 'hpic')

    @classmethod
    def default_sid(cls):
        return 0

    def served_row(self):
        return {'id': self.id, 'title': self.title, 'pic': self.pic,
            'hpic': self.hpic or '', 'sid': self.sid}
