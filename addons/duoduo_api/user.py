"""The contract's user module (用户模块) plus /user/wx_bind/."""
from trytond.i18n import gettext

from .api import reply, request_token, route

SCENES = ['login', 'change_phone']
PROFILE_TYPES = ['nickname', 'alipay', 'realname']


def member_profile(member):
    "The fields the login answer and my_info share"
    return {
        'id': member.id,
        'username': member.phone,
        'nickname': member.nickname,
        'avatar': member.avatar or '',
        'invitation_code': member.invitation_code,
        'level_id': member.level.code,
        }


def member_summary(member):
    "The `user` object of the login answer"
    return {
        **member_profile(member),
        # the uid of the member's PDD custom_parameters
        'relation_id': member.pdd_uid,
        }


def timestamp(value):
    return int(value.timestamp()) if value else 0


@route('/user/send_tel_code/', methods=['POST'])
def send_tel_code(request, pool, params):
    Member = pool.get('duoduo.member')
    scene = params.choice('scene', SCENES, required=False, default='login')
    ttl = Member.send_code(
        params.text('phone'), scene, client_ip=request.remote_addr,
        token=request_token(request))
    return reply({'expire_time': ttl}, gettext('duoduo_api.msg_code_sent'))


def _login(request, pool, params):
    Member = pool.get('duoduo.member')
    member, token, registered = Member.login_by_sms(
        params.text('phone'), params.text('code'),
        params.text('invitation_code', required=False))
    return reply({
            'token': token,
            'user': member_summary(member),
            'registered': registered,
            }, gettext('duoduo_api.msg_logged_in'))


@route('/user/login/', methods=['POST'])
def login(request, pool, params):
    return _login(request, pool, params)


@route('/user/register/', methods=['POST'])
def register(request, pool, params):
    return _login(request, pool, params)


@route('/user/my_info/', methods=['GET'], auth=True)
def my_info(request, pool, params, member):
    info = member.get_info()
    return {
        **member_profile(member),
        'level_name': member.level.name,
        'alipay_account': member.alipay_account or '',
        'rel_name': member.real_name or '',
        'reg_time': timestamp(member.registered_at),
        'city_name': member.city or '',
        'district_name': member.district or '',
        'balance': info['balance'],
        'total_income': info['total_income'],
        'today_income': info['today_income'],
        'team_count': info['team_count'],
        }


@route('/user/change_info/', methods=['POST'], auth=True)
def change_info(request, pool, params, member):
    member.change_profile(
        params.choice('type', PROFILE_TYPES), params.text('value'))
    return reply({}, gettext('duoduo_api.msg_changed'))


@route('/user/change_phone/', methods=['POST'], auth=True)
def change_phone(request, pool, params, member):
    member.change_phone(
        params.text('old_phone'), params.text('old_code'),
        params.text('new_phone'), params.text('new_code'))
    return reply({}, gettext('duoduo_api.msg_changed'))


@route('/user/check_tel/', methods=['POST'])
def check_tel(request, pool, params):
    Member = pool.get('duoduo.member')
    Member.count_phone_lookup(request.remote_addr)
    member = Member.check_phone(params.text('phone'))
    return {
        'exists': bool(member),
        'user_id': member.id if member else None,
        }


@route('/user/logout/', methods=['POST'], auth=True)
def logout(request, pool, params, member):
    Token = pool.get('duoduo.member.token')
    Token.logout(request_token(request))
    return reply({}, gettext('duoduo_api.msg_logged_out'))


@route('/user/wx_bind/', methods=['POST'], auth=True)
def wx_bind(request, pool, params, member):
    member.bind_wechat(params.text('code'))
    return {'openid_bound': True}
