"""A member's favourite goods (用户收藏, /tbk/usergood/).

One row per (member, goods_sign): adding the same goods again refreshes the
snapshot the mini-program sent (name, picture, price) and returns the row it
already had, also when two requests race. A member only ever reads or
removes their own rows."""
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.modules.duoduo_base.tools import advisory_lock, fresh_snapshot
from .exceptions import FavouriteNotFoundError
from .units import CENT

PRICE_DIGITS = (16, 2)


class Favourite(ModelSQL, ModelView):
    "PDD Member Favourite"
    __name__ = 'duoduo.pdd.favourite'
    _rec_name = 'goods_name'

    member = fields.Many2One(
        'duoduo.member', "Member", required=True, ondelete='CASCADE',
        readonly=True)
    goods_sign = fields.Char("Goods Sign", required=True, readonly=True)
    goods_name = fields.Char("Goods Name", readonly=True)
    goods_pic = fields.Char("Picture", readonly=True)
    goods_price = fields.Numeric(
        "Price", digits=PRICE_DIGITS, readonly=True,
        help="In yuan, as the mini-program showed it when the member added "
        "the goods.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('member_goods_sign_unique', Unique(t, t.member, t.goods_sign),
                'duoduo_pdd.msg_favourite_unique'),
            ]
        cls._sql_indexes.add(
            Index(t, (t.member, Index.Range()), (t.id, Index.Range())))
        cls._order = [('create_date', 'DESC'), ('id', 'DESC')]

    @classmethod
    def add(cls, member, goods_sign, goods_name=None, goods_pic=None,
            goods_price=None):
        """Add goods_sign to member's favourites (or refresh the snapshot of
        the row they already have); returns the row's id"""
        values = {
            'goods_name': goods_name or '',
            'goods_pic': goods_pic or '',
            'goods_price': (
                Decimal(goods_price).quantize(CENT)
                if goods_price is not None else None),
            }
        # a simultaneous add of the same goods waits, then (in a snapshot
        # taken after the wait, committed with the block) finds the row
        # this one made
        advisory_lock(f'duoduo.pdd.favourite:{member.id}:{goods_sign}')
        with fresh_snapshot(readonly=False):
            records = cls.search([
                    ('member', '=', member.id),
                    ('goods_sign', '=', goods_sign),
                    ], limit=1)
            if records:
                record, = records
                cls.write([record], values)
            else:
                record, = cls.create([{
                            'member': member.id,
                            'goods_sign': goods_sign,
                            **values,
                            }])
            return record.id

    @classmethod
    def list_for(cls, member, page=1, page_size=20):
        "(total, favourites) of member, newest first"
        domain = [('member', '=', member.id)]
        total = cls.search_count(domain)
        return total, cls.search(domain, offset=(page - 1) * page_size,
            limit=page_size)

    @classmethod
    def remove(cls, member, favourite_id):
        "Delete member's favourite favourite_id (someone else's is unknown)"
        records = cls.search([
                ('id', '=', favourite_id),
                ('member', '=', member.id),
                ], limit=1)
        if not records:
            raise FavouriteNotFoundError(gettext(
                    'duoduo_pdd.msg_favourite_not_found'))
        cls.delete(records)

    def contract_item(self):
        "The entry /tbk/usergood/ lists"
        return {
            'id': self.id,
            'goods_id': self.goods_sign,
            'goods_name': self.goods_name or '',
            'goods_pic': self.goods_pic or '',
            'goods_price': (self.goods_price or Decimal(0)).quantize(CENT),
            'create_time': (
                int(self.create_date.timestamp()) if self.create_date else 0),
            }
