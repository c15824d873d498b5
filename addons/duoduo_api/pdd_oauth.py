"""GET /pdd/oauth/callback/: where PDD sends the operator's browser back
after a 多多进宝 account authorized the app (addition to the contract).

The code is exchanged at once (it lives 10 minutes and works once); the
answer is the usual envelope, read by the operator in the browser."""
from http import HTTPStatus

from trytond.i18n import gettext
from trytond.modules.duoduo_pdd.authorization import local_time
from trytond.modules.duoduo_pdd.exceptions import (
    PddError, PddThrottledError, PddUnavailableError)
from trytond.modules.duoduo_pdd.units import to_timestamp

from .api import ApiError, reply, route


# a GET that stores the account's tokens
@route('/pdd/oauth/callback/', methods=['GET'], readonly=False)
def pdd_oauth_callback(request, pool, params):
    Authorization = pool.get('duoduo.pdd.authorization')
    code = params.text('code')
    state = params.text('state')
    try:
        authorization = Authorization.create_from_code(code, state)
    except (PddUnavailableError, PddThrottledError):
        raise ApiError(gettext('duoduo_api.msg_pdd_oauth_unavailable'),
            503, HTTPStatus.SERVICE_UNAVAILABLE)
    except PddError as error:
        raise ApiError(gettext('duoduo_api.msg_pdd_oauth_code_refused',
                detail=error.detail or error.error_code))
    lapses = (local_time(authorization.refresh_expires_at)
        if authorization.refresh_expires_at else '-')
    data = {
        'owner_id': authorization.owner_id,
        'owner_name': authorization.owner_name or '',
        'expires_at': to_timestamp(authorization.refresh_expires_at),
        }
    return reply(data, gettext('duoduo_api.msg_pdd_oauth_authorized',
            account=authorization.rec_name, date=lapses))

