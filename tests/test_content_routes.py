"""The contract's content module (内容模块), through HTTP, as the
mini-program uses it: the shapes of the six routes, the bare array of
/duo/banner, display windows around Shanghai midnight, sanitized FAQ
answers, URL checks on save and the cache staff changes clear."""
import datetime as dt
from unittest import mock

from trytond.model.exceptions import ValidationError
from trytond.modules.duoduo_base import tools
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction

from support import ContractTestCase

MODELS = ['duoduo.content.banner', 'duoduo.content.activity',
    'duoduo.content.hotword', 'duoduo.content.question',
    'duoduo.content.question.category']
# 2026-12-05 00:00 in Asia/Shanghai is 2026-12-04 16:00 UTC
MIDNIGHT = dt.datetime(2026, 12, 4, 16, 0)
SECOND = dt.timedelta(seconds=1)


class ContentRoutesTestCase(ContractTestCase):

    def setUp(self):
        super().setUp()
        # every test starts with no content (the database is shared)
        def clear(pool):
            for name in MODELS:
                Model = pool.get(name)
                Model.delete(Model.search([
                            ('active', 'in', [True, False])]))
        self.staff(clear)

    def staff(self, func):
        "Run func(pool) in a committed transaction, as the back office does"
        with Transaction().start(DB_NAME, 0) as transaction:
            result = func(Pool())
            transaction.commit()
        return result

    def create(self, model, vlist):
        return self.staff(
            lambda pool: [r.id for r in pool.get(model).create(vlist)])

    def write(self, model, ids, values):
        def write(pool):
            Model = pool.get(model)
            Model.write(Model.browse(ids), values)
        self.staff(write)

    def at(self, moment):
        "The project's clock set to moment (naive UTC) for the test"
        patcher = mock.patch.object(tools, 'now', return_value=moment)
        patcher.start()
        self.addCleanup(patcher.stop)
        return patcher

    def data(self, path, **kwargs):
        return self.assertReply(self.get(path, **kwargs), 200, 200)['data']

    # --- banners ---

    def test_banner_is_a_bare_array(self):
        first, second, hidden = self.create('duoduo.content.banner', [
                {'title': '双十二', 'pic': 'https://img.example.com/1.png',
                    'url': '/pages/goods/detail?id=1', 'sequence': 2},
                {'title': '新人', 'pic': 'https://img.example.com/2.png',
                    'sequence': 1},
                {'title': '下线', 'pic': 'https://img.example.com/3.png',
                    'active': False},
                ])
        expected = [
            {'id': second, 'title': '新人',
                'pic': 'https://img.example.com/2.png', 'url': ''},
            {'id': first, 'title': '双十二',
                'pic': 'https://img.example.com/1.png',
                'url': '/pages/goods/detail?id=1'},
            ]
        for method in ['POST', 'GET']:
            status, payload = self.call(method, '/duo/banner')
            self.assertEqual(status, 200)
            self.assertEqual(payload, expected)

    def test_banner_empty(self):
        self.assertEqual(self.call('POST', '/duo/banner'), (200, []))

    # --- activity entrances, hot words ---

    def test_activity(self):
        activity, = self.create('duoduo.content.activity', [{
                    'title': '1.9包邮', 'sid': 0,
                    'pic': 'https://img.example.com/icon.png',
                    'hpic': 'https://img.example.com/head.png'}])
        second, = self.create('duoduo.content.activity', [{
                    'title': '今日爆款', 'sid': 1,
                    'pic': 'https://img.example.com/icon2.png'}])
        self.assertEqual(self.data('/duo/activity/'), [
                {'id': activity, 'title': '1.9包邮',
                    'pic': 'https://img.example.com/icon.png',
                    'hpic': 'https://img.example.com/head.png', 'sid': 0},
                {'id': second, 'title': '今日爆款',
                    'pic': 'https://img.example.com/icon2.png',
                    'hpic': '', 'sid': 1},
                ])

    def test_hotword(self):
        phone, clothes = self.create('duoduo.content.hotword', [
                {'word': '手机', 'sequence': 1},
                {'word': '服装', 'sequence': 2}])
        self.create('duoduo.content.hotword', [
                {'word': '旧词', 'active': False}])
        self.assertEqual(self.data('/duo/hotword/'), [
                {'id': phone, 'word': '手机'},
                {'id': clothes, 'word': '服装'}])

    # --- FAQ ---

    def faq(self):
        orders, cash = self.create('duoduo.content.question.category', [
                {'name': '订单相关', 'sequence': 1},
                {'name': '提现相关', 'sequence': 2}])
        how, when = self.create('duoduo.content.question', [
                {'title': '如何提现?', 'content': '<p>详细内容</p>',
                    'category': cash, 'sequence': 1},
                {'title': '订单何时到账?', 'content': '<p>结算后</p>',
                    'category': orders, 'sequence': 2}])
        return orders, cash, how, when

    def created(self, question):
        def read(pool):
            return pool.get('duoduo.content.question')(question).create_date
        return tools.unix_time(self.staff(read))

    def test_question_category(self):
        orders, cash, _, _ = self.faq()
        self.create('duoduo.content.question.category', [
                {'name': '隐藏', 'active': False}])
        self.assertEqual(self.data('/duo/question_category/'), [
                {'id': orders, 'sort_name': '订单相关'},
                {'id': cash, 'sort_name': '提现相关'}])

    def test_questions(self):
        orders, cash, how, when = self.faq()
        how_row = {'id': how, 'title': '如何提现?',
            'content': '<p>详细内容</p>', 'sort_id': cash,
            'create_time': self.created(how)}
        when_row = {'id': when, 'title': '订单何时到账?',
            'content': '<p>结算后</p>', 'sort_id': orders,
            'create_time': self.created(when)}
        self.assertGreater(how_row['create_time'], 1609459200)
        self.assertEqual(self.data('/duo/questions/'), [how_row, when_row])
        self.assertEqual(
            self.data('/duo/questions/', query={'sort_id': cash}), [how_row])
        self.assertEqual(
            self.data('/duo/questions/', query={'sort_id': orders}),
            [when_row])
        # an unknown category has no question
        self.assertEqual(
            self.data('/duo/questions/', query={'sort_id': 2 ** 31 - 1}), [])

    def test_questions_bad_sort_id(self):
        for bad in ['abc', '0', '-1', '1.5', str(2 ** 31)]:
            payload = self.assertReply(self.get('/duo/questions/',
                    query={'sort_id': bad}), 400, 400)
            self.assertIn('sort_id', payload['msg'])
            self.assertEqual(payload['data'], {})

    def test_question_detail(self):
        orders, cash, how, when = self.faq()
        self.assertEqual(self.data(f'/duo/questions/{how}/'), {
                'id': how, 'title': '如何提现?',
                'content': '<p>详细内容</p>', 'sort_id': cash,
                'sort_name': '提现相关', 'create_time': self.created(how)})

    def test_question_unknown_or_hidden_is_404(self):
        orders, cash, how, when = self.faq()
        self.write('duoduo.content.question', [when], {'active': False})
        for question in [2 ** 31 - 1, 0, when]:
            payload = self.assertReply(
                self.get(f'/duo/questions/{question}/'), 404, 404)
            self.assertEqual(payload['msg'], '问题不存在')
            self.assertEqual(payload['data'], {})
        # the questions of a hidden category are hidden too
        self.write('duoduo.content.question.category', [cash],
            {'active': False})
        self.assertReply(self.get(f'/duo/questions/{how}/'), 404, 404)
        self.assertEqual(self.data('/duo/questions/'), [])
        self.assertEqual(self.data('/duo/question_category/'), [
                {'id': orders, 'sort_name': '订单相关'}])

    def test_faq_answer_sanitized(self):
        orders, cash, how, when = self.faq()
        self.write('duoduo.content.question', [how], {'content':
                '<p onclick="steal()">先绑定<img src="https://a.example/x.png"'
                ' onerror="alert(1)">手机</p><script>alert(2)</script>'
                '<a href="javascript:alert(3)">链接</a>'})
        self.create('duoduo.content.question', [{
                    'title': '新问题', 'category': cash,
                    'content': '<script>alert(4)</script><b>粗体</b>'
                    '<img src=x onerror=alert(5)>'}])
        answers = {q['title']: q['content']
            for q in self.data('/duo/questions/')}
        texts = [answers['如何提现?'], answers['新问题'],
            self.data(f'/duo/questions/{how}/')['content']]
        for text in texts:
            lowered = text.lower()
            for forbidden in ['<script', 'onerror', 'onclick', 'alert',
                    'javascript:']:
                self.assertNotIn(forbidden, lowered)
        self.assertIn('先绑定', texts[0])
        self.assertIn('<img src="https://a.example/x.png"', texts[0])
        self.assertIn('<b>粗体</b>', texts[1])

    # --- display windows and the cache ---

    def test_window_around_shanghai_midnight(self):
        "A banner from 00:00 to 00:00 the next day, Beijing time"
        banner, = self.create('duoduo.content.banner', [{
                    'title': '今日特惠', 'pic': 'https://img.example.com/d.png',
                    'start': MIDNIGHT, 'end': MIDNIGHT + dt.timedelta(days=1)}])
        word, = self.create('duoduo.content.hotword', [{
                    'word': '年货', 'end': MIDNIGHT}])
        clock = self.at(MIDNIGHT - SECOND)    # 23:59:59 in Shanghai
        self.assertEqual(self.call('GET', '/duo/banner'), (200, []))
        self.assertEqual(self.data('/duo/hotword/'),
            [{'id': word, 'word': '年货'}])
        clock.stop()
        self.at(MIDNIGHT)       # 00:00:00: what was cached has expired
        status, banners = self.call('GET', '/duo/banner')
        self.assertEqual([b['id'] for b in banners], [banner])
        self.assertEqual(self.data('/duo/hotword/'), [])
        self.at(MIDNIGHT + dt.timedelta(days=1) - SECOND)
        self.assertEqual(len(self.call('GET', '/duo/banner')[1]), 1)
        self.at(MIDNIGHT + dt.timedelta(days=1))
        self.assertEqual(self.call('GET', '/duo/banner'), (200, []))

    def test_question_window_of_category(self):
        orders, cash, how, when = self.faq()
        self.write('duoduo.content.question.category', [cash],
            {'start': MIDNIGHT})
        self.at(MIDNIGHT - SECOND)
        self.assertEqual(
            [q['id'] for q in self.data('/duo/questions/')], [when])
        self.assertReply(self.get(f'/duo/questions/{how}/'), 404, 404)
        self.at(MIDNIGHT)
        self.assertEqual(
            [q['id'] for q in self.data('/duo/questions/')], [how, when])

    def test_staff_changes_show_in_next_request(self):
        banner, = self.create('duoduo.content.banner', [{
                    'title': '旧标题', 'pic': 'https://img.example.com/a.png'}])
        self.assertEqual(self.call('GET', '/duo/banner')[1][0]['title'],
            '旧标题')
        self.write('duoduo.content.banner', [banner], {'title': '新标题'})
        self.assertEqual(self.call('GET', '/duo/banner')[1][0]['title'],
            '新标题')
        word, = self.create('duoduo.content.hotword', [{'word': '手机'}])
        self.assertEqual(len(self.data('/duo/hotword/')), 1)
        self.create('duoduo.content.hotword', [{'word': '电脑'}])
        self.assertEqual(len(self.data('/duo/hotword/')), 2)
        self.staff(lambda pool: pool.get('duoduo.content.hotword').delete(
                [pool.get('duoduo.content.hotword')(word)]))
        self.assertEqual([w['word'] for w in self.data('/duo/hotword/')],
            ['电脑'])
        orders, cash, how, when = self.faq()
        self.assertEqual(self.data(f'/duo/questions/{how}/')['sort_name'],
            '提现相关')
        self.write('duoduo.content.question.category', [cash],
            {'name': '提现'})
        self.assertEqual(self.data(f'/duo/questions/{how}/')['sort_name'],
            '提现')
        self.assertEqual(self.data('/duo/question_category/')[1],
            {'id': cash, 'sort_name': '提现'})

    # --- what staff may save ---

    def assertRefused(self, model, values, *texts):
        with Transaction().start(DB_NAME, 0):
            Model = Pool().get(model)
            with self.assertRaises(ValidationError) as refused:
                Model.create([values])
        for text in texts:
            self.assertIn(text, refused.exception.message)

    def test_urls_checked_on_save(self):
        banner = {'title': 'b', 'pic': 'https://img.example.com/a.png'}
        for pic in ['http://img.example.com/a.png', 'img.example.com/a.png',
                'javascript:alert(1)', 'https://', 'https://a b.png']:
            self.assertRefused('duoduo.content.banner',
                dict(banner, pic=pic), pic, 'https')
        for url in ['http://example.com/', 'javascript:alert(1)',
                'pages/goods/detail', '/pages/goods detail',
                'weixin://dl/business']:
            self.assertRefused('duoduo.content.banner',
                dict(banner, url=url), url, '/pages/goods/detail?id=1')
        self.assertRefused('duoduo.content.activity', {'title': 'a',
                'pic': 'https://img.example.com/a.png',
                'hpic': 'http://img.example.com/h.png'},
            'http://img.example.com/h.png')
        self.assertRefused('duoduo.content.hotword', {'word': 'w',
                'start': MIDNIGHT, 'end': MIDNIGHT - SECOND}, 'w')
        # accepted: an https page and a mini-program page path
        ids = self.create('duoduo.content.banner', [
                dict(banner, url='https://m.example.com/p?x=1'),
                dict(banner, url='/pages/goods/detail?id=1'),
                dict(banner, url='/pages/index/index')])
        self.assertEqual(len(ids), 3)
