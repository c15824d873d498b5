"""The contract's 收益模块 (income module): a member's income from the
ledger.

Amounts are 元 with two decimals; days and months are Asia/Shanghai; times
are UNIX seconds. The figures and their definitions are the duoduo.member
methods' (duoduo_ledger/member.py, duoduo_commission/member.py).

The ledger names its kinds with words; the contract's money_type numbers
and their Chinese names are this module's."""
from trytond.i18n import gettext
from trytond.modules.duoduo_base.tools import from_unix_time, unix_time

from .api import ApiError, route

# the contract's money_type of each ledger kind
MONEY_TYPES = {
    1: 'pull_new',
    2: 'commission',
    3: 'team_commission',
    4: 'subsidy',
    5: 'reversal',
    6: 'withdrawal',
    }
KIND_MONEY_TYPES = {kind: number for number, kind in MONEY_TYPES.items()}
PERIODS = ['today', 'month', 'total']
MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_TIMESTAMP = 253402300799        # 9999-12-31T23:59:59Z


@route('/user/income/', methods=['GET'], auth=True)
def income(request, pool, params, member):
    return member.income_overview()


@route('/user/moneyhistory/', methods=['GET'], auth=True)
def money_history(request, pool, params, member):
    money_type = params.integer('money_type')
    if money_type is not None and money_type not in MONEY_TYPES:
        raise ApiError(gettext('duoduo_api.msg_invalid_choice',
                name='money_type',
                choices='/'.join(str(t) for t in MONEY_TYPES)))
    start = params.integer('start_time', minimum=0, maximum=MAX_TIMESTAMP)
    end = params.integer('end_time', minimum=0, maximum=MAX_TIMESTAMP)
    if start is not None and end is not None and start > end:
        raise ApiError(gettext('duoduo_api.msg_time_range'))
    page, page_size = params.paging()
    total, rows = member.money_history(
        kinds=[MONEY_TYPES[money_type]] if money_type is not None else None,
        start=from_unix_time(start) if start is not None else None,
        # end_time is a second, included whole
        end=from_unix_time(end + 1) if end is not None else None,
        offset=(page - 1) * page_size, limit=page_size)
    return {'total': total, 'list': [history_row(r) for r in rows]}


def history_row(row):
    "A money history row as the contract writes it"
    entry = row['entry']
    money_type = KIND_MONEY_TYPES.get(entry.kind)
    return {
        'id': entry.id,
        'money_type': money_type or 0,
        'money_type_name': (
            gettext(f'duoduo_api.msg_money_type_{money_type}')
            if money_type else entry.kind),
        'order_num': entry.origin.rec_name if entry.origin else '',
        'count': row['amount'],
        'status': row['status'],
        'status_name': gettext(
            f'duoduo_api.msg_history_status_{row["status"]}'),
        'create_time': unix_time(entry.posted_at),
        'settle_time': unix_time(row['settled_at']),
        }


@route('/user/moneyhistory/year_history/', methods=['GET'], auth=True)
def year_history(request, pool, params, member):
    year = params.integer('year', required=True, minimum=MIN_YEAR,
        maximum=MAX_YEAR)
    return member.year_income(year)


@route('/user/order_detail/', methods=['GET'], auth=True)
def order_detail(request, pool, params, member):
    return member.own_order_statistics(params.choice('type', PERIODS))
