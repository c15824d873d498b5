"""PDD promotion orders (推广订单), kept in our database.

Orders come only from PDD (pdd.ddk.order.list.increment.get, see sync.py)
and are upserted by `order_sn`. An item never overwrites what we hold about
an order when PDD changed the order later than the item says
(`order_modify_at`), so pages read out of order, overlapping windows and
back-checks all converge on PDD's newest answer. Every status an order
goes through is kept with its time, and the commission addon reacts to the
changes through `Order.on_status_changed`.

Amounts are in 元 (PDD answers 分), times are naive UTC datetimes like every
Tryton DateTime (PDD answers UNIX seconds)."""
import datetime as dt
import json
import logging
import urllib.parse
from decimal import Decimal

from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.pool import Pool
from trytond.pyson import Eval, If

from .units import CENT, from_timestamp, to_timestamp, yuan

logger = logging.getLogger(__name__)


# PDD's order_status (reference §3.8) and our names for them; -1 and 8 were
# dropped from PDD's documentation in 2021 but old orders may still carry
# them. Any other value is kept as PDD sent it and shows as "Unknown".
ORDER_STATUSES = {
    -1: 'unpaid',
    0: 'paid',
    1: 'grouped',
    2: 'received',
    3: 'approved',
    4: 'rejected',
    5: 'settled',
    8: 'no_commission',
    10: 'penalized',
    }
STATUS_SELECTION = [
    ('unpaid', "Unpaid"),
    ('paid', "Paid"),
    ('grouped', "Group Formed"),
    ('received', "Received"),
    ('approved', "Approved"),
    ('rejected', "Rejected"),
    ('settled', "Settled"),
    ('no_commission', "No Commission"),
    ('penalized', "Penalized"),
    ('unknown', "Unknown"),
    ]

# The contract's tk_status (GET /tbk/tbkorder/): 3 = 已付款, 12 = 已结算,
# 13 = 失效, 14 = 成功, from PDD's order_status as the reference §6 maps
# them by meaning. Unknown statuses show as paid: the order exists and has
# not been refused.
TK_PAID, TK_SETTLED, TK_INVALID, TK_SUCCESS = 3, 12, 13, 14
TK_STATUSES = (TK_PAID, TK_SETTLED, TK_INVALID, TK_SUCCESS)
TK_STATUS_MAP = {
    0: TK_PAID, 1: TK_PAID,
    2: TK_SUCCESS, 3: TK_SUCCESS,
    5: TK_SETTLED,
    4: TK_INVALID, 10: TK_INVALID, 8: TK_INVALID, -1: TK_INVALID,
    }
MAX_PAGE_SIZE = 100

# PDD item field -> our DateTime field
PDD_TIMES = [
    'order_create_time', 'order_pay_time', 'order_group_success_time',
    'order_receive_time', 'order_verify_time', 'order_settle_time',
    'order_modify_at',
    ]
PDD_TEXTS = [
    'goods_sign', 'goods_name', 'goods_thumbnail_url',
    'goods_category_name', 'order_status_desc', 'p_id', 'custom_parameters',
    'fail_reason', 'batch_no',
    ]
PDD_AMOUNTS = ['goods_price', 'order_amount', 'promotion_amount']


def tk_status(order_status):
    "The contract's tk_status for a PDD order_status"
    return TK_STATUS_MAP.get(order_status, TK_PAID)




def _integer(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _text(value):
    if value is None:
        return None
    value = str(value).strip()
    return value or None



def parse_uid(custom_parameters):
    """The member key in an order's custom_parameters, or None.

    Members' links carry '{"uid":"<pdd_uid>"}'; PDD echoes it back as sent,
    possibly URL-encoded."""
    if not custom_parameters:
        return None
    for text in (custom_parameters, urllib.parse.unquote(custom_parameters)):
        try:
            value = json.loads(text)
        except ValueError:
            continue
        if isinstance(value, dict) and value.get('uid') not in (None, ''):
            return str(value['uid'])
        return None
    return None


class UpsertResult:
    "What upserting a batch of PDD items did"
    __slots__ = ('read', 'created', 'updated', 'unchanged', 'stale',
        'skipped', 'changes', 'late_statuses')

    def __init__(self):
        self.read = self.created = self.updated = self.unchanged = 0
        self.stale = self.skipped = self.late_statuses = 0
        self.changes = []

    def __repr__(self):
        return ('<UpsertResult read=%s created=%s updated=%s unchanged=%s '
            'stale=%s skipped=%s changes=%s>' % (self.read, self.created,
                self.updated, self.unchanged, self.stale, self.skipped,
                len(self.changes)))


class Order(ModelSQL, ModelView):
    """PDD Order

    One row per PDD promotion order (order_sn); read-only in the back
    office, written by the order sync."""
    __name__ = 'duoduo.pdd.order'
    _rec_name = 'order_sn'

    order_sn = fields.Char("Order Number", required=True, readonly=True,
        help="PDD's 推广订单编号.")
    # not "order_id": Tryton would take a field order_<name> for the method
    # ordering by <name> (here: by id)
    pdd_order_id = fields.Char("Order ID", readonly=True)
    goods_id = fields.Char("Goods ID", readonly=True)
    goods_sign = fields.Char("Goods Sign", readonly=True)
    goods_name = fields.Char("Goods", readonly=True)
    goods_thumbnail_url = fields.Char("Goods Image", readonly=True)
    goods_category_name = fields.Char("Goods Category", readonly=True)
    goods_quantity = fields.Integer("Quantity", readonly=True)
    goods_price = fields.Numeric("Unit Price", digits=(16, 2), readonly=True,
        help="In 元.")
    order_amount = fields.Numeric("Paid Amount", digits=(16, 2),
        readonly=True, help="What the buyer paid, in 元.")
    promotion_rate = fields.Integer("Commission Rate (‰)", readonly=True,
        help="Per mille of the paid amount.")
    promotion_amount = fields.Numeric("Commission", digits=(16, 2),
        readonly=True, help="PDD's commission on the order, in 元.")
    order_status = fields.Integer("Status Code", required=True,
        readonly=True,
        help="PDD's order_status; values PDD adds later are kept as sent.")
    order_status_desc = fields.Char("PDD Status Text", readonly=True)
    # not "status": order_status would be taken for its ordering method
    status_name = fields.Function(
        fields.Selection(STATUS_SELECTION, "Status", sort=False),
        'get_status_name', searcher='search_status_name')
    tk_status = fields.Function(
        fields.Integer("Mini-Program Status",
            help="3 paid, 12 settled, 13 invalid, 14 success."),
        'get_tk_status', searcher='search_tk_status')
    order_create_time = fields.DateTime("Created At", readonly=True)
    order_pay_time = fields.DateTime("Paid At", readonly=True)
    order_group_success_time = fields.DateTime(
        "Group Formed At", readonly=True)
    order_receive_time = fields.DateTime("Received At", readonly=True)
    order_verify_time = fields.DateTime("Verified At", readonly=True)
    order_settle_time = fields.DateTime("Settled At", readonly=True)
    order_modify_at = fields.DateTime("Modified At", readonly=True,
        help="When PDD last changed the order; the newest wins.")
    p_id = fields.Char("PID", readonly=True)
    custom_parameters = fields.Char("Custom Parameters", readonly=True)
    member = fields.Many2One(
        'duoduo.member', "Member", readonly=True, ondelete='RESTRICT')
    attributed_by = fields.Selection([
            ('uid', "Member Key"),
            ('pid', "Member's PID"),
            ('none', "Not Attributed"),
            ], "Attributed By", required=True, readonly=True,
        help="How the order was matched to the member: the uid in "
        "custom_parameters, else the partner who owns the PID.")
    fail_reason = fields.Char("Failure Reason", readonly=True)
    order_type = fields.Integer("Order Scene", readonly=True,
        help="PDD's type: 0 single goods, 1 red packet, 7 today's hits, ...")
    batch_no = fields.Char("Settlement Batch", readonly=True)
    raw = fields.Text("PDD Item", readonly=True,
        help="The last item PDD sent, as JSON.")
    status_history = fields.One2Many(
        'duoduo.pdd.order.status', 'order', "Status History", readonly=True)
    last_sync = fields.Many2One(
        'duoduo.pdd.order.sync', "Last Sync", readonly=True,
        ondelete='SET NULL')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('order_sn_unique', Unique(t, t.order_sn),
                'duoduo_pdd.msg_order_order_sn_unique'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.member, Index.Equality()),
                    (t.order_create_time, Index.Range())),
                Index(t, (t.order_modify_at, Index.Range())),
                Index(t, (t.order_status, Index.Equality())),
                })
        cls._order = [('order_create_time', 'DESC'), ('id', 'DESC')]

    @classmethod
    def default_attributed_by(cls):
        return 'none'

    def get_status_name(self, name):
        return ORDER_STATUSES.get(self.order_status, 'unknown')

    @classmethod
    def search_status_name(cls, name, clause):
        _, operator, value = clause[:3]
        names = set(value if isinstance(value, (list, tuple)) else [value])
        if operator in {'!=', 'not in'}:
            names = {n for n, _ in STATUS_SELECTION} - names
        codes = [c for c, n in ORDER_STATUSES.items() if n in names]
        if 'unknown' in names:
            return ['OR',
                ('order_status', 'in', codes),
                ('order_status', 'not in', list(ORDER_STATUSES)),
                ]
        return [('order_status', 'in', codes)]

    def get_tk_status(self, name):
        return tk_status(self.order_status)

    @classmethod
    def search_tk_status(cls, name, clause):
        _, operator, value = clause[:3]
        values = set(value if isinstance(value, (list, tuple)) else [value])
        if operator in {'!=', 'not in'}:
            values = set(TK_STATUSES) - values
        return cls._tk_status_domain(values)

    @staticmethod
    def _tk_status_domain(tk_statuses):
        "The order_status domain of orders shown with one of tk_statuses"
        tk_statuses = set(tk_statuses)
        if TK_PAID in tk_statuses:
            # paid also stands for every status PDD may add later
            return [('order_status', 'not in', [s
                        for s, t in TK_STATUS_MAP.items()
                        if t not in tk_statuses])]
        return [('order_status', 'in', [s
                    for s, t in TK_STATUS_MAP.items() if t in tk_statuses])]

    # --- what the mini-program reads (GET /tbk/tbkorder/) ---

    @classmethod
    def member_orders(cls, member, status=None, start=None, end=None,
            page=1, page_size=20):
        """(total, orders) of member, newest first.

        status: the contract's tk_status (3, 12, 13 or 14; None for all;
        any other value matches nothing — validate before calling);
        start, end: UNIX seconds bounding order_create_time, both included;
        page from 1, page_size up to 100."""
        if not member:
            return 0, []
        domain = [('member', '=', member.id)]
        if status not in (None, ''):
            status = _integer(status)
            if status not in TK_STATUSES:
                return 0, []
            domain.append(cls._tk_status_domain([status]))
        if start not in (None, ''):
            domain.append(('order_create_time', '>=', from_timestamp(start)
                    or dt.datetime(1970, 1, 1)))
        if end not in (None, ''):
            domain.append(('order_create_time', '<=', from_timestamp(end)
                    or dt.datetime(1970, 1, 1)))
        page = max(_integer(page) or 1, 1)
        page_size = min(max(_integer(page_size) or 20, 1), MAX_PAGE_SIZE)
        total = cls.search_count(domain)
        orders = cls.search(domain, offset=(page - 1) * page_size,
            limit=page_size,
            order=[('order_create_time', 'DESC'), ('id', 'DESC')])
        return total, orders

    def contract_row(self):
        "The order as GET /tbk/tbkorder/ lists it (amounts in 元)"
        return {
            'id': self.id,
            'trade_id': self.order_sn,
            'item_title': self.goods_name or '',
            'pict_url': self.goods_thumbnail_url or '',
            'item_num': self.goods_quantity or 0,
            'pay_price': (self.order_amount or Decimal(0)).quantize(CENT),
            'commission': (
                self.promotion_amount or Decimal(0)).quantize(CENT),
            'pub_share_pre_fee': self.member_share_estimate().quantize(CENT),
            'tk_status': self.tk_status,
            'create_time': to_timestamp(self.order_create_time),
            'earning_time': to_timestamp(self.order_settle_time),
            }

    def member_share_estimate(self):
        """The member's estimated share of the commission, in 元.

        Zero here: the commission addon overrides it with the member's
        share under its rules (the contract's pub_share_pre_fee)."""
        return Decimal('0.00')

    # --- the hook the commission addon extends ---

    @classmethod
    def on_status_changed(cls, changes):
        """Called when orders got a new status, in the sync's transaction.

        changes: [(order, old_status, new_status)] with PDD's order_status
        integers; old_status is None for an order seen the first time.
        Called once per change: an item replayed by an overlapping window
        or a back-check calls nothing, and an item older than what we hold
        never changes the status so never shows here. Does nothing here;
        the commission addon extends it (call super())."""
        pass

    # --- storing what PDD sends ---

    @classmethod
    def values_from_pdd(cls, item):
        """Our field values for a PDD order item (list APIs' field names);
        None when the item cannot be stored (no order_sn or status)."""
        order_sn = _text(item.get('order_sn'))
        order_status = _integer(item.get('order_status'))
        if not order_sn or order_status is None:
            return None
        values = {
            'order_sn': order_sn,
            'pdd_order_id': _text(item.get('order_id')),
            'order_status': order_status,
            'goods_id': _text(item.get('goods_id')),
            'goods_quantity': _integer(item.get('goods_quantity')),
            'promotion_rate': _integer(item.get('promotion_rate')),
            'order_type': _integer(item.get('type')),
            'raw': json.dumps(item, ensure_ascii=False, sort_keys=True,
                default=str),
            }
        for name in PDD_TEXTS:
            values[name] = _text(item.get(name))
        for name in PDD_AMOUNTS:
            values[name] = yuan(item.get(name))
        for name in PDD_TIMES:
            values[name] = from_timestamp(item.get(name))
        return values

    @classmethod
    def attribute(cls, custom_parameters, p_id, cache=None):
        """(member, attributed_by) for an order: the uid in
        custom_parameters, else the partner owning p_id, else nobody."""
        Member = Pool().get('duoduo.member')
        cache = {} if cache is None else cache
        uid = parse_uid(custom_parameters)
        if uid:
            key = ('uid', uid)
            if key not in cache:
                cache[key] = Member.find_by_pdd_uid(uid)
            if cache[key]:
                return cache[key], 'uid'
        if p_id:
            key = ('pid', p_id)
            if key not in cache:
                members = Member.search(
                    [('pdd_pid.p_id', '=', p_id)], limit=1)
                cache[key] = members[0] if members else None
            if cache[key]:
                return cache[key], 'pid'
        return None, 'none'

    @classmethod
    def upsert_pdd_items(cls, items, sync=None, cache=None):
        """Create or update orders from PDD order items; an UpsertResult.

        The newest item by order_modify_at wins; a status change is stored
        in the history and passed to on_status_changed once. Items that
        cannot be read are skipped (counted) rather than failing a run."""
        pool = Pool()
        Status = pool.get('duoduo.pdd.order.status')
        result = UpsertResult()
        cache = {} if cache is None else cache
        now = dt.datetime.now().replace(microsecond=0)
        sync_id = sync.id if sync else None

        parsed = []
        for item in items:
            result.read += 1
            try:
                values = cls.values_from_pdd(item) if isinstance(
                    item, dict) else None
            except (TypeError, ValueError, ArithmeticError, AttributeError):
                # malformed data from PDD: skipped and counted, the run goes on
                logger.exception("PDD order item not readable: %r", item)
                values = None
            if values is None:
                logger.warning("PDD order item skipped (no order_sn or "
                    "order_status): %.200r", item)
                result.skipped += 1
                continue
            if values['order_status'] not in ORDER_STATUSES:
                logger.warning("PDD order %s has an unknown status %s (%s); "
                    "kept as sent", values['order_sn'],
                    values['order_status'], values['order_status_desc'])
            parsed.append(values)
        if not parsed:
            return result
        # oldest first: an order met twice in one batch goes through its
        # statuses in order
        epoch = dt.datetime.min
        parsed.sort(key=lambda v: v['order_modify_at'] or epoch)

        compared = list(parsed[0].keys())
        known = {}
        for sub in range(0, len(parsed), 500):
            sns = list({v['order_sn'] for v in parsed[sub:sub + 500]})
            for order in cls.search([('order_sn', 'in', sns)]):
                stored = {name: getattr(order, name) for name in compared}
                stored['member'] = order.member.id if order.member else None
                known[order.order_sn] = (order, stored)

        # orders met the first time are created together, from their
        # oldest item; their other items in the batch update them below
        history = []
        first_items = {}
        for values in parsed:
            if values['order_sn'] not in known:
                first_items.setdefault(values['order_sn'], values)
        if first_items:
            vlist = []
            for values in first_items.values():
                member, attributed_by = cls.attribute(
                    values['custom_parameters'], values['p_id'], cache)
                vlist.append(dict(values,
                        member=member.id if member else None,
                        attributed_by=attributed_by,
                        last_sync=sync_id))
            for order, values in zip(cls.create(vlist), vlist):
                known[order.order_sn] = (order, dict(values))
                result.created += 1
                history.append(cls._status_row(order, None,
                        values['order_status'],
                        values['order_modify_at'] or now, now, sync_id))
                result.changes.append((order, None, values['order_status']))
        created_from = {id(v) for v in first_items.values()}

        for values in parsed:
            if id(values) in created_from:
                continue
            order_sn = values['order_sn']
            modify_at = values['order_modify_at']
            order, stored = known[order_sn]
            stored_modify_at = stored['order_modify_at']
            if (stored_modify_at and (
                        modify_at is None or modify_at < stored_modify_at)):
                # PDD changed the order after this item was read: keep what
                # we hold. A status we never saw is still a true part of
                # the order's past (a paged read or an outage can skip a
                # whole step, e.g. 已成团 between 已支付 and 确认收货), so it
                # goes into the history at its own PDD time, marked late; it
                # is not a change of the order's current status, so the
                # commission hook is not told.
                result.stale += 1
                status = values['order_status']
                if modify_at and status != stored['order_status'] and not (
                        Status.search([
                                ('order', '=', order.id),
                                ('order_status', '=', status),
                                ], limit=1)) and not any(
                        h['order'] == order.id and h['order_status'] == status
                        for h in history):
                    history.append(cls._status_row(order, None, status,
                            modify_at, now, sync_id, late=True))
                    result.late_statuses += 1
                continue

            old_status = stored['order_status']
            changed = {name: value for name, value in values.items()
                if stored.get(name) != value}
            if not stored['member']:
                # attributed once: a member who registers or gets the PID
                # later picks up the orders still unattributed, but an
                # attributed order never moves to another member
                member, attributed_by = cls.attribute(
                    values['custom_parameters'], values['p_id'], cache)
                if member:
                    changed.update({
                            'member': member.id,
                            'attributed_by': attributed_by,
                            })
            if not changed:
                result.unchanged += 1
                continue
            changed['last_sync'] = sync_id
            cls.write([order], changed)
            stored.update(changed)
            result.updated += 1
            if 'order_status' in changed:
                history.append(cls._status_row(order, old_status,
                        values['order_status'], modify_at or now, now,
                        sync_id))
                result.changes.append(
                    (order, old_status, values['order_status']))

        if history:
            Status.create(history)
        if result.changes:
            cls.on_status_changed(result.changes)
        return result

    @staticmethod
    def _status_row(order, previous, status, changed_at, recorded_at,
            sync_id, late=False):
        return {
            'order': order.id,
            'previous_status': previous,
            'order_status': status,
            'changed_at': changed_at,
            'recorded_at': recorded_at,
            'sync': sync_id,
            'late': late,
            }

    @classmethod
    def view_attributes(cls):
        return super().view_attributes() + [
            ('/tree', 'visual', If(Eval('order_status', 0).in_(
                        [s for s, t in TK_STATUS_MAP.items()
                            if t == TK_INVALID]), 'muted', '')),
            ]


class OrderStatus(ModelSQL, ModelView):
    """PDD Order Status

    One row per status an order went through, at PDD's time."""
    __name__ = 'duoduo.pdd.order.status'

    order = fields.Many2One('duoduo.pdd.order', "Order", required=True,
        readonly=True, ondelete='CASCADE')
    previous_status = fields.Integer("Previous Status Code", readonly=True)
    order_status = fields.Integer("Status Code", required=True,
        readonly=True)
    status_name = fields.Function(
        fields.Selection(STATUS_SELECTION, "Status", sort=False),
        'get_status_name')
    changed_at = fields.DateTime("Changed At", required=True, readonly=True,
        help="When PDD changed the order (its order_modify_at).")
    recorded_at = fields.DateTime("Recorded At", required=True,
        readonly=True, help="When the sync stored the change.")
    late = fields.Boolean("Arrived Late", readonly=True,
        help="Read after a newer status of the order: part of its past, "
        "never its current status.")
    sync = fields.Many2One('duoduo.pdd.order.sync', "Sync", readonly=True,
        ondelete='SET NULL')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(
            Index(t, (t.order, Index.Equality()),
                (t.changed_at, Index.Range())))
        cls._order = [('changed_at', 'ASC'), ('id', 'ASC')]

    @classmethod
    def default_late(cls):
        return False

    def get_status_name(self, name):
        return ORDER_STATUSES.get(self.order_status, 'unknown')
