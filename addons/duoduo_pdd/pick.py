"""The platform's own goods selection (平台自选库, /tbk/uatmfavorite/).

Staff add a goods_sign; its name, image, prices, coupon, commission rate and
sales are read from pdd.ddk.goods.detail when the pick is created and each
time staff press "Refresh Snapshot", and kept with the time they were read,
so the mini-program's list costs no PDD call."""
import datetime as dt
from decimal import Decimal

from trytond.model import (
    DeactivableMixin, ModelSQL, ModelView, Unique, fields, sequence_ordered)
from trytond.pool import Pool

PRICE_DIGITS = (16, 2)


class Pick(sequence_ordered(), DeactivableMixin, ModelSQL, ModelView):
    "PDD Platform Pick"
    __name__ = 'duoduo.pdd.pick'
    _rec_name = 'goods_name'

    goods_sign = fields.Char(
        "Goods Sign", required=True, strip=True,
        help="PDD's goods_sign, as shown by the 多多进宝 console or a "
        "goods search.")
    note = fields.Char("Note", help="For staff only.")
    goods_name = fields.Char("Goods Name", readonly=True)
    goods_thumbnail_url = fields.Char("Thumbnail", readonly=True)
    goods_image_url = fields.Char("Image", readonly=True)
    min_group_price = fields.Numeric(
        "Group Price", digits=PRICE_DIGITS, readonly=True,
        help="In yuan, the lowest SKU's group price when the snapshot was "
        "taken.")
    min_normal_price = fields.Numeric(
        "Single Price", digits=PRICE_DIGITS, readonly=True)
    has_coupon = fields.Boolean("Has Coupon", readonly=True)
    coupon_discount = fields.Numeric(
        "Coupon", digits=PRICE_DIGITS, readonly=True)
    coupon_min_order_amount = fields.Numeric(
        "Coupon Threshold", digits=PRICE_DIGITS, readonly=True)
    promotion_rate = fields.Integer(
        "Commission Rate (‰)", readonly=True,
        help="Per mille, as PDD gives it (300 = 30%).")
    sales_tip = fields.Char("Sales", readonly=True)
    mall_name = fields.Char("Shop", readonly=True)
    snapshot_at = fields.DateTime("Snapshot Taken", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('goods_sign_unique', Unique(t, t.goods_sign),
                'duoduo_pdd.msg_pick_goods_sign_unique'),
            ]
        # unsequenced (new) picks first, newest first, until staff order them
        cls._order = [('sequence', 'ASC NULLS FIRST'), ('id', 'DESC')]
        cls._buttons.update({
                'refresh_snapshot': {
                    'icon': 'tryton-refresh',
                    },
                })

    @classmethod
    def create(cls, vlist):
        picks = super().create(vlist)
        cls.refresh_snapshot(picks)
        return picks

    @classmethod
    def write(cls, *args):
        actions = iter(args)
        changed = []
        for picks, values in zip(actions, actions):
            if 'goods_sign' in values:
                changed.extend(picks)
        super().write(*args)
        if changed:
            cls.refresh_snapshot(cls.browse(changed))

    @classmethod
    @ModelView.button
    def refresh_snapshot(cls, picks):
        "Read each pick's goods from PDD now (never from the cache)"
        pool = Pool()
        Goods = pool.get('duoduo.pdd.goods')
        now = dt.datetime.now()
        to_write = []
        for pick in picks:
            detail = Goods.fetch_detail(None, pick.goods_sign, cache=False)
            item = Goods.goods_item(detail)
            to_write.extend([[pick], {
                        'goods_name': item['goods_name'],
                        'goods_thumbnail_url': item['goods_thumbnail_url'],
                        'goods_image_url': item['goods_image_url'],
                        'min_group_price': item['min_group_price'],
                        'min_normal_price': item['min_normal_price'],
                        'has_coupon': item['has_coupon'],
                        'coupon_discount': item['coupon_discount'],
                        'coupon_min_order_amount': (
                            item['coupon_min_order_amount']),
                        'promotion_rate': item['promotion_rate'],
                        'sales_tip': item['sales_tip'],
                        'mall_name': item['mall_name'],
                        'snapshot_at': now,
                        }])
        if to_write:
            # super(): a snapshot does not change goods_sign
            super().write(*to_write)

    def contract_item(self):
        "The entry /tbk/uatmfavorite/ lists, shaped like a search result"
        return {
            'id': self.id,
            'goods_id': self.goods_sign,
            'goods_name': self.goods_name or '',
            'goods_thumbnail_url': self.goods_thumbnail_url or '',
            'goods_image_url': self.goods_image_url or '',
            'min_group_price': _money(self.min_group_price),
            'min_normal_price': _money(self.min_normal_price),
            'has_coupon': bool(self.has_coupon),
            'coupon_discount': _money(self.coupon_discount),
            'coupon_min_order_amount': _money(self.coupon_min_order_amount),
            'promotion_rate': self.promotion_rate or 0,
            'sales_tip': self.sales_tip or '',
            'mall_name': self.mall_name or '',
            'snapshot_time': (
                int(self.snapshot_at.timestamp()) if self.snapshot_at else 0),
            }

    @classmethod
    def list_for_api(cls, page=1, page_size=20):
        "(total, picks) of the active picks in the staff's order"
        domain = [('active', '=', True)]
        total = cls.search_count(domain)
        picks = cls.search(domain, offset=(page - 1) * page_size,
            limit=page_size)
        return total, picks


def _money(value):
    return (value or Decimal(0)).quantize(Decimal('0.01'))
