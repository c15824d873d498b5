"""The contract's 拼多多客模块 (routes under /tbk/), served from PDD.

Mapping decisions (also in the README and docs/openapi.json):
- `goods_id` is PDD's `goods_sign` (PDD retired goods_id in 2021); detail
  and promote take the contract's `goods_id_list` (a JSON array, as text or
  as an array) or a single `goods_id`.
- Money in 元 with two decimals (PDD answers 分); `promotion_rate` in ‰ as
  PDD and the contract give it (300 = 30%).
- Search answers `list_id` (send it back with the next page) and
  `search_id` (send it with detail/promote).
- When the member has not authorized (备案) their promotion identity on PDD
  yet, search/detail/promote/activity answer their usual shape, empty, with
  `need_authority: true` and `authority` {mobile_url, short_url,
  we_app_info}: the mini-program opens that link, then retries.
- /tbk/category/, /tbk/activitygoods/ and /tbk/uatmfavorite/ need no token
  (the contract asks none); a valid one attributes the calls to its member.
"""
import json

from trytond.i18n import gettext

from .api import ApiError, reply, route

TYPES = ['search', 'detail', 'promote']
# pdd.ddk.goods.search sort_type: 0 综合, 1–20 and 27–32 (odd asc, even desc)
SORT_TYPES = set(range(0, 21)) | set(range(27, 33))
ORDER_STATUSES = [3, 12, 13, 14]    # tk_status: 已付款, 已结算, 失效, 成功
ACTIVITY_TYPES = [0, 1, 2]          # 1.9包邮, 今日爆款, 品牌清仓
MAX_GOODS = 10
MAX_GOODS_SIGN = 128
MAX_TEXT = 255
MAX_TIMESTAMP = 253402300799        # 9999-12-31T23:59:59Z


def short_text(params, name, required=False, maximum=MAX_TEXT):
    value = params.text(name, required=required)
    if value is not None and len(value) > maximum:
        raise ApiError(gettext('duoduo_api.msg_invalid_parameter', name=name))
    return value or None


def goods_signs(params):
    """The goods_signs of `goods_id_list` (JSON array, as text or array) or
    of `goods_id`"""
    name = 'goods_id_list'
    value = params.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if params.get('goods_id') not in (None, ''):
            name = 'goods_id'
            value = params.get(name)
        else:
            params.required(name)   # answers "goods_id_list is missing"
    invalid = ApiError(gettext('duoduo_api.msg_invalid_parameter', name=name))
    if isinstance(value, str):
        value = value.strip()
        if value.startswith('['):
            try:
                value = json.loads(value)
            except ValueError:
                raise invalid
        else:
            value = [value]
    elif isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list) or not value:
        raise invalid
    signs = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise invalid
        item = str(item).strip()
        if not item or len(item) > MAX_GOODS_SIGN:
            raise invalid
        if item not in signs:
            signs.append(item)
    if len(signs) > MAX_GOODS:
        raise ApiError(gettext('duoduo_api.msg_parameter_range',
                name=name, minimum=1, maximum=MAX_GOODS))
    return signs


def timestamp_param(params, name):
    "UNIX seconds"
    return params.integer(name, minimum=0, maximum=MAX_TIMESTAMP)


def choice_integer(params, name, choices, required=False):
    value = params.integer(name, required=required)
    if value is not None and value not in choices:
        raise ApiError(gettext('duoduo_api.msg_invalid_choice', name=name,
                choices='/'.join(str(c) for c in choices)))
    return value


# --- 1. POST /tbk/api/ ---

@route('/tbk/api/', methods=['POST'], auth=True)
def tbk_api(request, pool, params, member):
    Goods = pool.get('duoduo.pdd.goods')
    api_type = params.choice('type', TYPES)
    if api_type == 'search':
        page, page_size = params.paging()
        return Goods.search_goods(member,
            keyword=short_text(params, 'keyword'),
            page=page,
            page_size=page_size,
            sort_type=choice_integer(
                params, 'sort_type', sorted(SORT_TYPES)) or 0,
            cat_id=params.integer('cat_id', minimum=0),
            opt_id=params.integer('opt_id', minimum=0),
            list_id=short_text(params, 'list_id'),
            with_coupon=params.boolean('with_coupon'))
    signs = goods_signs(params)
    search_id = short_text(params, 'search_id')
    if api_type == 'detail':
        return Goods.goods_detail(member, signs, search_id)
    return Goods.promote(member, signs, search_id,
        generate_short_url=params.boolean('generate_short_url', True))


# --- 2. GET /tbk/category/ ---

@route('/tbk/category/', methods=['GET'], optional_auth=True)
def category(request, pool, params, member):
    Goods = pool.get('duoduo.pdd.goods')
    return Goods.categories(params.integer('parent_id', default=0, minimum=0))


# --- 3. GET /tbk/activitygoods/ ---

@route('/tbk/activitygoods/', methods=['GET'], optional_auth=True)
def activity_goods(request, pool, params, member):
    Goods = pool.get('duoduo.pdd.goods')
    activity_type = choice_integer(
        params, 'activity_type', ACTIVITY_TYPES, required=True)
    page, page_size = params.paging()
    return Goods.activity_goods(member, activity_type, page, page_size,
        list_id=short_text(params, 'list_id'))


# --- 4. GET /tbk/uatmfavorite/ ---

@route('/tbk/uatmfavorite/', methods=['GET'], optional_auth=True)
def platform_picks(request, pool, params, member):
    Pick = pool.get('duoduo.pdd.pick')
    page, page_size = params.paging()
    total, picks = Pick.list_for_api(page, page_size)
    return {'total': total, 'list': [p.contract_item() for p in picks]}


# --- 5. /tbk/usergood/ ---

@route('/tbk/usergood/', methods=['GET'], auth=True)
def favourites(request, pool, params, member):
    Favourite = pool.get('duoduo.pdd.favourite')
    page, page_size = params.paging()
    total, records = Favourite.list_for(member, page, page_size)
    return {'total': total, 'list': [r.contract_item() for r in records]}


@route('/tbk/usergood/', methods=['POST'], auth=True)
def favourite_add(request, pool, params, member):
    Favourite = pool.get('duoduo.pdd.favourite')
    favourite_id = Favourite.add(member,
        short_text(params, 'goods_id', required=True,
            maximum=MAX_GOODS_SIGN),
        goods_name=short_text(params, 'goods_name', maximum=1000),
        goods_pic=short_text(params, 'goods_pic', maximum=1000),
        goods_price=params.amount('goods_price'))
    return reply({'id': favourite_id},
        gettext('duoduo_api.msg_favourite_added'))


@route('/tbk/usergood/<int:id>/', methods=['DELETE'], auth=True)
def favourite_remove(request, pool, params, member):
    Favourite = pool.get('duoduo.pdd.favourite')
    Favourite.remove(member, params['id'])
    return reply({}, gettext('duoduo_api.msg_favourite_removed'))


# --- 6. GET /tbk/tbkorder/ ---

@route('/tbk/tbkorder/', methods=['GET'], auth=True)
def orders(request, pool, params, member):
    Order = pool.get('duoduo.pdd.order')
    status = choice_integer(params, 'status', ORDER_STATUSES)
    start = timestamp_param(params, 'start_time')
    end = timestamp_param(params, 'end_time')
    if start is not None and end is not None and start > end:
        raise ApiError(gettext('duoduo_api.msg_time_range'))
    page, page_size = params.paging()
    total, records = Order.member_orders(
        member, status, start, end, page, page_size)
    return {'total': total, 'list': [o.contract_row() for o in records]}
