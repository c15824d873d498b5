"""Goods the mini-program browses and shares, from PDD's goods APIs.

Every method returns the data the contract's route puts in its envelope:
PDD's field names mapped to the contract's (`goods_id` carries PDD's
`goods_sign`: PDD retired goods_id in 2021), money from 分 to 元 (Decimal,
two places), `promotion_rate` kept in ‰ as the contract shows it.

Attribution: every search/detail/promote/recommend call carries the member's
PID and `custom_parameters` (setup's `member.pdd_promotion_pid()` and
`member.pdd_custom_parameters()`); callers without a member (token-optional
routes, the back office) use the default PID and no custom_parameters.

备案: when the member's PID/custom_parameters are not bound yet (checked
before promote, or PDD answering 60001 on any call), the answer keeps its
shape with an empty list and adds `need_authority: true` and `authority`
(the binding link) so the mini-program lets the member authorize first.

Caching (per process, in trytond's MemoryCache): search pages, details and
activity pages are keyed without member identity and kept
`search_cache_seconds`; categories `category_cache_seconds`. Promotion links
carry the member's PID and uid: never cached."""
import json
import logging
import time
from decimal import Decimal

from trytond.cache import Cache
from trytond.model import Model
from trytond.pool import Pool

from .exceptions import (
    PddAuthorityError, PddGoodsError, PddUnavailableError)
from .units import yuan as fen_to_yuan

logger = logging.getLogger(__name__)

ZERO = Decimal('0.00')
# contract activity_type → how today's API serves it (reference §6)
ACTIVITY_BARGAIN = 0    # 1.9包邮: goods.search, 券后价 ≤ 190 分, by sales
ACTIVITY_HOT = 1        # 今日爆款: recommend.get channel 1 (今日销量榜)
ACTIVITY_BRAND = 2      # 品牌清仓: goods.search brand goods, by sales
ACTIVITY_TYPES = (ACTIVITY_BARGAIN, ACTIVITY_HOT, ACTIVITY_BRAND)
BARGAIN_MAX_PRICE = 190     # 分
SORT_SALES_DESC = 6
RECOMMEND_TODAY_SALES = 1
# 1 拼多多小程序屏蔽的类目&关键词, 2 虚拟类目: what a WeChat mini-program
# may show
BLOCK_CAT_PACKAGES = [1, 2]



def yuan(fen):
    "A goods price: PDD's 分 in 元, a blank reads 0.00"
    return fen_to_yuan(fen) or ZERO


def integer(value, default=0):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def text(value):
    return '' if value is None else str(value)


class TimedCache:
    """A trytond Cache whose entries live as many seconds as the PDD
    configuration says at the time they are read (staff may change it).

    Values are stored as JSON text: MemoryCache keeps immutable copies, the
    routes need plain dicts back."""

    def __init__(self, name, setting):
        self.cache = Cache(name, context=False)
        self.setting = setting

    def seconds(self):
        Configuration = Pool().get('duoduo.pdd.configuration')
        return getattr(Configuration(1), self.setting) or 0

    def get(self, key):
        seconds = self.seconds()
        if seconds <= 0:
            return None
        entry = self.cache.get(key)
        if not entry:
            return None
        stored_at, payload = entry
        if time.time() - stored_at >= seconds:
            return None
        return json.loads(payload)

    def set(self, key, value):
        if self.seconds() > 0:
            self.cache.set(key, (time.time(),
                    json.dumps(value, ensure_ascii=False, sort_keys=True)))
        return value


def freeze_key(*parts):
    return json.dumps(parts, ensure_ascii=False, sort_keys=True, default=str)


class Goods(Model):
    "PDD Goods"
    __name__ = 'duoduo.pdd.goods'

    _search_cache = TimedCache(
        'duoduo.pdd.goods.search', 'search_cache_seconds')
    _detail_cache = TimedCache(
        'duoduo.pdd.goods.detail', 'search_cache_seconds')
    _activity_cache = TimedCache(
        'duoduo.pdd.goods.activity', 'search_cache_seconds')
    _category_cache = TimedCache(
        'duoduo.pdd.goods.category', 'category_cache_seconds')

    # --- PDD calls ---

    @classmethod
    def _call(cls, api_type, **params):
        Configuration = Pool().get('duoduo.pdd.configuration')
        return Configuration.get_client().call(api_type, **params)

    @classmethod
    def _attribution(cls, member, api_type):
        "(pid, custom_parameters) the calls made for member carry"
        if member is not None:
            pid = member.pdd_promotion_pid()
            custom_parameters = member.pdd_custom_parameters()
        else:
            Configuration = Pool().get('duoduo.pdd.configuration')
            pid, custom_parameters = Configuration.get_pid(), None
        if not pid:
            logger.error("no PDD PID configured: set [duoduo_pdd] pid or the "
                "default PID in the PDD settings")
            raise PddUnavailableError(api_type, error_msg='no PID configured')
        return pid, custom_parameters

    @classmethod
    def _refused_authority(cls, member, answer, error):
        """PDD answered 60001: answer with the 备案 flag and member's
        binding link. Without a member (the default PID itself is not
        备案'd: a set-up problem) the error stands."""
        if member is None:
            raise error
        logger.info("member %s needs 备案 (%s answered 60001, request %s)",
            member.id, error.api_type, error.request_id)
        # a stored positive check is stale
        member.forget_pdd_authority()
        return cls._need_authority(member, answer)

    @classmethod
    def _need_authority(cls, member, answer):
        "answer (emptied by the caller) with the 备案 flag and link"
        answer['need_authority'] = True
        answer['authority'] = cls._authority_link(member)
        return answer

    @staticmethod
    def _authority_link(member):
        link = member.pdd_authority_link() or {}
        we_app_info = dict(link.get('we_app_info') or {})
        we_app_info.setdefault('app_id', '')
        we_app_info.setdefault('page_path', '')
        return {
            'mobile_url': text(link.get('mobile_url')),
            'short_url': text(link.get('short_url')),
            'we_app_info': we_app_info,
            }

    # --- mapping PDD → contract ---

    @staticmethod
    def goods_item(item):
        "A goods list entry (search, recommend, picks) in the contract's shape"
        return {
            'goods_id': text(item.get('goods_sign')),
            'goods_name': text(item.get('goods_name')),
            'goods_thumbnail_url': text(item.get('goods_thumbnail_url')),
            'goods_image_url': text(item.get('goods_image_url')),
            'min_group_price': yuan(item.get('min_group_price')),
            'min_normal_price': yuan(item.get('min_normal_price')),
            'has_coupon': bool(item.get('has_coupon')),
            'coupon_discount': yuan(item.get('coupon_discount')),
            'coupon_min_order_amount': yuan(
                item.get('coupon_min_order_amount')),
            'promotion_rate': integer(item.get('promotion_rate')),
            'sales_tip': text(item.get('sales_tip')),
            'mall_name': text(item.get('mall_name')),
            }

    @classmethod
    def detail_item(cls, item):
        "A goods.detail entry in the contract's shape"
        cat_id = item.get('cat_id')
        if cat_id in (None, '') and item.get('cat_ids'):
            cat_id = item['cat_ids'][-1]
        return {
            **cls.goods_item(item),
            'goods_desc': text(item.get('goods_desc')),
            'goods_gallery_urls': [
                text(u) for u in item.get('goods_gallery_urls') or []],
            'coupon_start_time': integer(item.get('coupon_start_time')),
            'coupon_end_time': integer(item.get('coupon_end_time')),
            'mall_id': text(item.get('mall_id')),
            'cat_id': text(cat_id),
            }

    @staticmethod
    def promotion_item(goods_sign, item):
        "A goods.promotion.url.generate entry in the contract's shape"
        we_app_info = dict(item.get('we_app_info') or {})
        we_app_info.setdefault('app_id', '')
        we_app_info.setdefault('page_path', '')
        return {
            'goods_id': text(item.get('goods_sign') or goods_sign),
            'mobile_url': text(item.get('mobile_url')),
            'short_url': text(
                item.get('short_url') or item.get('mobile_short_url')),
            'url': text(item.get('url')),
            'mobile_short_url': text(item.get('mobile_short_url')),
            'schema_url': text(item.get('schema_url')),
            'we_app_info': we_app_info,
            }

    # --- search ---

    @classmethod
    def search_goods(cls, member, keyword=None, page=1, page_size=20,
            sort_type=0, cat_id=None, opt_id=None, list_id=None,
            with_coupon=None):
        "pdd.ddk.goods.search → {total, list, list_id, search_id}"
        api_type = 'pdd.ddk.goods.search'
        query = {
            'keyword': keyword or None,
            'cat_id': cat_id,
            'opt_id': opt_id,
            'page': page,
            'page_size': page_size,
            'sort_type': sort_type,
            'with_coupon': with_coupon,
            'list_id': list_id or None,
            'block_cat_packages': BLOCK_CAT_PACKAGES,
            }
        return cls._cached_goods_page(cls._search_cache, member, api_type,
            query, 'goods_list', 'total_count')

    @classmethod
    def _cached_goods_page(cls, cache, member, api_type, query, list_key,
            total_key):
        "A page of goods through cache, or the 备案 answer on 60001"
        pid, custom_parameters = cls._attribution(member, api_type)
        try:
            answer = cls._cached_call(cache, api_type, query,
                pid=pid, custom_parameters=custom_parameters)
        except PddAuthorityError as error:
            return cls._refused_authority(member, {
                    'total': 0, 'list': [], 'list_id': '', 'search_id': '',
                    }, error)
        return cls._goods_page(answer, list_key, total_key)

    @classmethod
    def _cached_call(cls, cache, api_type, query, **attribution):
        """PDD's answer to api_type for query, shared by every member
        asking the same (attribution is not part of the key)"""
        key = freeze_key(api_type, query)
        answer = cache.get(key)
        if answer is None:
            answer = cls._call(api_type, **query, **attribution)
            cache.set(key, answer)
        return answer

    @classmethod
    def _goods_page(cls, answer, list_key, total_key):
        return {
            'total': integer(answer.get(total_key)),
            'list': [cls.goods_item(i) for i in answer.get(list_key) or []],
            'list_id': text(answer.get('list_id')),
            'search_id': text(answer.get('search_id')),
            }

    # --- detail ---

    @classmethod
    def fetch_detail(cls, member, goods_sign, search_id=None, cache=True):
        """PDD's raw detail of goods_sign (a dict in PDD's units);
        PddGoodsError when PDD does not know it"""
        api_type = 'pdd.ddk.goods.detail'
        pid, custom_parameters = cls._attribution(member, api_type)
        query = {'goods_sign': goods_sign, 'search_id': search_id or None}
        key = freeze_key(api_type, query)
        answer = cls._detail_cache.get(key) if cache else None
        if answer is None:
            answer = cls._call(api_type, **query, pid=pid,
                custom_parameters=custom_parameters)
            details = answer.get('goods_details') or []
            if not details:
                # an offline goods answers an empty list
                raise PddGoodsError(api_type, error_msg='no goods details',
                    sub_msg=goods_sign)
            cls._detail_cache.set(key, answer)
        return answer['goods_details'][0]

    @classmethod
    def goods_detail(cls, member, goods_signs, search_id=None):
        "pdd.ddk.goods.detail (one call per goods) → {goods_details}"
        if isinstance(goods_signs, str):
            goods_signs = [goods_signs]
        try:
            details = [cls.detail_item(
                    cls.fetch_detail(member, sign, search_id))
                for sign in goods_signs]
        except PddAuthorityError as error:
            return cls._refused_authority(
                member, {'goods_details': []}, error)
        return {'goods_details': details}

    # --- promote ---

    @classmethod
    def promote(cls, member, goods_signs, search_id=None,
            generate_short_url=True):
        """pdd.ddk.goods.promotion.url.generate for member, never cached:
        the links carry the member's PID and uid"""
        api_type = 'pdd.ddk.goods.promotion.url.generate'
        if isinstance(goods_signs, str):
            goods_signs = [goods_signs]
        empty = {'goods_promotion_url_list': []}
        if not member.check_pdd_authority():
            return cls._need_authority(member, empty)
        pid, custom_parameters = cls._attribution(member, api_type)
        try:
            answer = cls._call(api_type,
                p_id=pid,
                goods_sign_list=list(goods_signs),
                search_id=search_id or None,
                custom_parameters=custom_parameters,
                generate_we_app=True,
                generate_short_url=bool(generate_short_url))
        except PddAuthorityError as error:
            return cls._refused_authority(member, empty, error)
        items = answer.get('goods_promotion_url_list') or []
        return {
            'goods_promotion_url_list': [
                cls.promotion_item(sign, item)
                for sign, item in zip(goods_signs, items)],
            }

    # --- activities ---

    @classmethod
    def activity_goods(cls, member, activity_type, page=1, page_size=20,
            list_id=None):
        """The contract's activity lists on today's API → {total, list}
        (plus list_id and search_id for paging and sharing)

        0 1.9包邮: goods.search with 券后价 (range_id 1) ≤ 190 分, sorted
          by sales; 1 今日爆款: recommend.get channel_type 1 (今日销量榜);
        2 品牌清仓: goods.search of brand goods sorted by sales. PDD removed
        recommend.get channels 0 and 2 in 2021."""
        if activity_type == ACTIVITY_HOT:
            api_type = 'pdd.ddk.goods.recommend.get'
            query = {
                'channel_type': RECOMMEND_TODAY_SALES,
                'limit': page_size,
                'offset': (page - 1) * page_size,
                'list_id': list_id or None,
                }
            list_key, total_key = 'list', 'total'
        elif activity_type in (ACTIVITY_BARGAIN, ACTIVITY_BRAND):
            api_type = 'pdd.ddk.goods.search'
            query = {
                'page': page,
                'page_size': page_size,
                'sort_type': SORT_SALES_DESC,
                'list_id': list_id or None,
                'block_cat_packages': BLOCK_CAT_PACKAGES,
                }
            if activity_type == ACTIVITY_BARGAIN:
                query['range_list'] = [{
                        'range_id': 1,      # 券后价
                        'range_from': 1,
                        'range_to': BARGAIN_MAX_PRICE,
                        }]
            else:
                query['is_brand_goods'] = True
            list_key, total_key = 'goods_list', 'total_count'
        else:
            raise ValueError(f"unknown activity type {activity_type!r}")
        return cls._cached_goods_page(cls._activity_cache, member,
            api_type, query, list_key, total_key)

    # --- categories ---

    @classmethod
    def categories(cls, parent_id=0):
        "pdd.goods.cats.get → [{cat_id, cat_name, parent_id}] (strings)"
        api_type = 'pdd.goods.cats.get'
        key = freeze_key(api_type, parent_id)
        answer = cls._category_cache.get(key)
        if answer is None:
            answer = cls._call(api_type, parent_cat_id=parent_id)
            cls._category_cache.set(key, answer)
        return [{
                'cat_id': text(c.get('cat_id')),
                'cat_name': text(c.get('cat_name')),
                'parent_id': text(c.get('parent_cat_id', parent_id)),
                } for c in answer.get('goods_cats_list') or []]
