"""The contract's 内容模块: banners, activity entrances, hot words and the
FAQ kept by staff in duoduo_content, served as they are now (active, in
their display window) from duoduo_content's cache. No token needed.

/duo/banner answers a bare JSON array, as the contract shows; the others
answer the envelope. create_time is the question's creation (UNIX
seconds)."""
from trytond.modules.duoduo_base.tools import unix_time
from trytond.protocols.wrappers import Response

from .api import MAX_ID, dumps, route


@route('/duo/banner', methods=['GET', 'POST'])
def banner(request, pool, params):
    Banner = pool.get('duoduo.content.banner')
    rows = [{
            'id': row['id'],
            'title': row['title'],
            'pic': row['pic'],
            'url': row['url'],
            } for row in Banner.served_rows()]
    # the contract answers this one bare, without the envelope
    return Response(dumps(rows), status=200,
        content_type='application/json; charset=utf-8')


@route('/duo/activity/', methods=['GET'])
def activity(request, pool, params):
    Activity = pool.get('duoduo.content.activity')
    return [{
            'id': row['id'],
            'title': row['title'],
            'pic': row['pic'],
            'hpic': row['hpic'],
            'sid': row['sid'],
            } for row in Activity.served_rows()]


@route('/duo/hotword/', methods=['GET'])
def hotword(request, pool, params):
    HotWord = pool.get('duoduo.content.hotword')
    return [{'id': row['id'], 'word': row['word']}
        for row in HotWord.served_rows()]


@route('/duo/question_category/', methods=['GET'])
def question_category(request, pool, params):
    Category = pool.get('duoduo.content.question.category')
    return [{'id': row['id'], 'sort_name': row['name']}
        for row in Category.served_categories()]


def question_row(row):
    return {
        'id': row['id'],
        'title': row['title'],
        'content': row['content'],
        'sort_id': row['category'],
        'create_time': unix_time(row['created_at']),
        }


@route('/duo/questions/', methods=['GET'])
def questions(request, pool, params):
    Question = pool.get('duoduo.content.question')
    category = params.integer('sort_id', minimum=1, maximum=MAX_ID)
    return [question_row(row) for row in Question.served_questions(category)]


@route('/duo/questions/<int:id>/', methods=['GET'])
def question(request, pool, params):
    Question = pool.get('duoduo.content.question')
    row = Question.served_question(params['id'])
    return dict(question_row(row), sort_name=row['category_name'])
