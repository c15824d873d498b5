"""Hot words (热搜词) offered on the mini-program's search page."""
from trytond.model import ModelSQL, ModelView, fields

from .content import ScheduledMixin, served_cache


class HotWord(ScheduledMixin, ModelSQL, ModelView):
    "Hot Word"
    __name__ = 'duoduo.content.hotword'

    word = fields.Char("Word", required=True)

    _served_cache = served_cache('duoduo.content.hotword.served')

    def get_rec_name(self, name):
        return self.word

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('word',) + tuple(clause[1:])]

    def served_row(self):
        return {'id': self.id, 'word': self.word}
