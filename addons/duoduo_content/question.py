"""Frequently asked questions (常见问题) and their categories.

Answers are rich text (HTML) sanitized with nh3 when saved: scripts, event
handlers (onerror=…) and javascript: links never reach the mini-program.
A question is served when it and its category are both served."""
import nh3

from trytond.i18n import gettext
from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.duoduo_base import tools
from trytond.pool import Pool

from .content import ScheduledMixin, served_cache
from .exceptions import ContentNotFoundError

# one cache for both models: a category's change changes its questions
FAQ_CACHE = served_cache('duoduo.content.faq.served')


def sanitize(html):
    "The rich text without what could run in the mini-program"
    if not html:
        return html
    return nh3.clean(html, url_schemes={'https', 'http'})


class QuestionCategory(ScheduledMixin, ModelSQL, ModelView):
    "FAQ Category"
    __name__ = 'duoduo.content.question.category'

    name = fields.Char("Name", required=True)
    questions = fields.One2Many(
        'duoduo.content.question', 'category', "Questions")

    _served_cache = FAQ_CACHE

    def served_row(self):
        return {'id': self.id, 'name': self.name}

    @classmethod
    def served_categories(cls):
        "The served categories: [{id, name}]"
        return cls.served_rows('categories')


class Question(ScheduledMixin, ModelSQL, ModelView):
    "FAQ Question"
    __name__ = 'duoduo.content.question'

    title = fields.Char("Question", required=True)
    content = fields.Text("Answer",
        help="Rich text (HTML); scripts and event handlers are removed "
        "when saved.")
    category = fields.Many2One('duoduo.content.question.category',
        "Category", required=True, ondelete='CASCADE')

    _served_cache = FAQ_CACHE

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if values.get('content'):
            values['content'] = sanitize(values['content'])
        return values

    @classmethod
    def compute_served_rows(cls, at, key=None):
        Category = Pool().get('duoduo.content.question.category')
        categories = Category.search(Category.served_domain(at))
        return cls.search(cls.served_domain(at) + [
                ('category', 'in', [c.id for c in categories]),
                ])

    @classmethod
    def served_rows(cls, key=None):
        at = tools.now()
        cached = cls._served_cache.get('questions')
        if cached is not None and (cached[0] is None or at < cached[0]):
            return cached[1]
        rows = [q.served_row() for q in cls.compute_served_rows(at)]
        Category = Pool().get('duoduo.content.question.category')
        until = min(filter(None, [cls.next_boundary(at),
                    Category.next_boundary(at)]), default=None)
        until, rows = cls._served_cache.set('questions', (until, rows))
        return rows

    def served_row(self):
        return {
            'id': self.id,
            'title': self.title,
            'content': self.content or '',
            'category': self.category.id,
            'category_name': self.category.name,
            'created_at': self.create_date,
            }

    @classmethod
    def served_questions(cls, category=None):
        "The served questions, of a category if given"
        return [row for row in cls.served_rows()
            if category is None or row['category'] == category]

    @classmethod
    def served_question(cls, question_id):
        "The served question of id, else ContentNotFoundError"
        for row in cls.served_rows():
            if row['id'] == question_id:
                return row
        raise ContentNotFoundError(gettext(
                'duoduo_content.msg_question_not_found'))
