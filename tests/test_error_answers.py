"""Errors carry their own answer: an addon's exception declares its contract
code, HTTP status and member message, and the routes answer it without
duoduo_api knowing the class. The texts answered outside a transaction are
messages too, in the members' language."""
import json
from http import HTTPStatus
from unittest import mock

from trytond import backend
from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model.exceptions import AccessError
from trytond.modules.duoduo_api import api
from trytond.modules.duoduo_base.exceptions import (
    ContractAnswerMixin, MemberError)
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME
from trytond.transaction import Transaction

from support import ContractTestCase, configured, sms_log_path


# exceptions of addons duoduo_api has never heard of
class WithdrawalLimitError(MemberError):
    contract_code = 2001


class AgencyRefusedError(ContractAnswerMixin, UserError):
    "Its message is for staff; the member reads another"
    contract_code = 4002
    http_status = HTTPStatus.FORBIDDEN
    member_message_id = 'duoduo_base.msg_member_disabled'
    log_for_staff = True


class PointsRecordedError(MemberError):
    contract_code = 4001
    keep_writes = True


class ErrorAnswersTestCase(ContractTestCase):

    def member_id(self, phone):
        self.login(phone)
        with Transaction().start(DB_NAME, 0, readonly=True):
            Member = Pool().get('duoduo.member')
            member, = Member.search([('phone', '=', phone)])
            return member.id

    def nickname(self, member_id):
        with Transaction().start(DB_NAME, 0, readonly=True):
            return Pool().get('duoduo.member')(member_id).nickname

    def check_tel_raising(self, side_effect):
        "POST /user/check_tel/ with Member.check_phone raising side_effect"
        Member = Pool(DB_NAME).get('duoduo.member')
        with mock.patch.object(Member, 'check_phone', side_effect=side_effect):
            return self.post('/user/check_tel/', {'phone': '13900000001'})

    def test_declared_code(self):
        payload = self.assertReply(self.check_tel_raising(
                WithdrawalLimitError("提现金额超过每日上限")), 400, 2001)
        self.assertEqual(payload['msg'], "提现金额超过每日上限")
        self.assertEqual(payload['data'], {})

    def test_declared_status_member_message_and_staff_log(self):
        with self.assertLogs(api.logger, 'WARNING') as logs:
            payload = self.assertReply(self.check_tel_raising(
                    AgencyRefusedError("agency 12 has no licence on file")),
                403, 4002)
        # the member reads the declared message, in Chinese
        self.assertEqual(payload['msg'], '账号已被禁用')
        # staff read the exception's own
        self.assertIn("AgencyRefusedError answered as 4002: "
            "agency 12 has no licence on file", logs.output[0])

    def test_keep_writes(self):
        member_id = self.member_id('13900000301')

        def rename_and_raise(error):
            def check_phone(phone):
                Member = Pool().get('duoduo.member')
                Member.write([Member(member_id)], {'nickname': error.message})
                raise error
            return check_phone

        self.assertReply(self.check_tel_raising(rename_and_raise(
                    WithdrawalLimitError('discarded'))), 400, 2001)
        self.assertNotEqual(self.nickname(member_id), 'discarded')
        self.assertReply(self.check_tel_raising(rename_and_raise(
                    PointsRecordedError('kept'))), 400, 4001)
        self.assertEqual(self.nickname(member_id), 'kept')

    def test_tryton_errors(self):
        self.assertReply(self.check_tel_raising(
                AccessError("not yours")), 403, 403)
        payload = self.assertReply(self.check_tel_raising(
                UserError("refused")), 400, 400)
        self.assertEqual(payload['msg'], "refused")

    def test_member_messages_exist(self):
        "Every member_message_id an exception declares is a message"
        declared, classes = {}, [UserError]
        while classes:
            error_class = classes.pop()
            classes.extend(error_class.__subclasses__())
            if getattr(error_class, 'member_message_id', None):
                declared[error_class] = error_class.member_message_id
        self.assertIn(AgencyRefusedError, declared)
        with Transaction().start(DB_NAME, 0, readonly=True,
                context={'language': 'zh_CN'}):
            for error_class, message_id in declared.items():
                with self.subTest(error_class=error_class.__name__):
                    text = gettext(message_id)
                    self.assertNotEqual(text, message_id)

    def test_internal_error(self):
        with self.assertLogs(api.logger, 'ERROR'):
            payload = self.assertReply(self.check_tel_raising(
                    RuntimeError("bug")), 500, 500)
        self.assertEqual(payload['msg'], '服务器内部错误')

    def test_busy(self):
        with self.assertLogs(api.logger, 'WARNING'):
            payload = self.assertReply(self.check_tel_raising(
                    backend.DatabaseOperationalError("locked")), 503, 503)
        self.assertEqual(payload['msg'], '系统繁忙，请稍后再试')

    def test_unknown_path(self):
        payload = self.assertReply(self.get('/no/such/path/'), 404, 404)
        self.assertEqual(payload['msg'], '接口不存在')

    def test_outside_text_language(self):
        message = 'duoduo_api.msg_database_not_configured'
        self.assertEqual(api.outside_text(message),
            '服务器未配置数据库（[duoduo] database）')
        with configured('duoduo', language='en'):
            self.assertEqual(api.outside_text(message),
                "The server has no database: [duoduo] database is not "
                "configured.")

    def test_sms_text_in_members_language(self):
        self.assertReply(self.post('/user/send_tel_code/', {
                    'phone': '13900000302'}), 200, 200)
        with open(sms_log_path(), encoding='utf-8') as log:
            line = json.loads(log.read().splitlines()[-1])
        self.assertEqual(line['text'],
            f"您的验证码为{line['code']}，5分钟内有效，请勿泄露给他人。")


del ContractTestCase
