"""Manual adjustments: finance credits or debits a member's available
balance, with a reason, against the platform margin.

The adjustment is one ledger entry posted by Entry.post (member_available
±amount, platform_margin ∓amount) that names the staff user and the reason.
Its key comes from the wizard session, so a double click, or the same
session run again, posts once. Only the finance group may post: the action
is theirs, and the posting checks it again (root and administrators
included: they post only if they are in the finance group; the
installation's admin account starts in it, as Tryton modules do, and staff
may take it out)."""
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import Pool
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import AdjustmentAccessError, AdjustmentError

CENT = Decimal('0.01')
DEFAULT_KIND = 'subsidy'


class AdjustStart(ModelView):
    "Manual Adjustment"
    __name__ = 'duoduo.ledger.adjust.start'

    member = fields.Many2One('duoduo.member', "Member", required=True)
    amount = fields.Numeric("Amount", digits=(16, 2), required=True,
        help="Added to the member's available balance (元); negative takes "
        "money away. The platform margin moves the other way.")
    kind = fields.Selection('get_kinds', "Kind", required=True, sort=False,
        help="How the member's money history shows it.")
    reason = fields.Text("Reason", required=True,
        help="Why: kept with the ledger entry.")
    balance_available = fields.Numeric("Available Now", digits=(16, 2),
        readonly=True)

    @classmethod
    def default_kind(cls):
        return DEFAULT_KIND

    @classmethod
    def get_kinds(cls):
        "The income kinds: an adjustment is income (or takes some back)"
        Entry = Pool().get('duoduo.ledger.entry')
        income_kinds = Entry.income_kinds()
        return [(k, n) for k, n in Entry.kind.selection if k in income_kinds]

    @fields.depends('member')
    def on_change_with_balance_available(self):
        if self.member:
            return self.member.balance_available


class Adjust(Wizard):
    "Manual Adjustment"
    __name__ = 'duoduo.ledger.adjust'

    start = StateView('duoduo.ledger.adjust.start',
        'duoduo_ledger.ledger_adjust_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Post", 'post', 'tryton-ok', default=True),
            ])
    post = StateTransition()

    def default_start(self, fields):
        values = {'kind': DEFAULT_KIND}
        if self.model and self.model.__name__ == 'duoduo.member' and (
                self.record):
            values['member'] = self.record.id
        return values

    @classmethod
    def check_finance(cls):
        "Refuse anyone outside the finance group"
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        User = pool.get('res.user')
        finance = ModelData.get_id('duoduo_base', 'group_duoduo_finance')
        if finance not in User.get_groups():
            raise AdjustmentAccessError(gettext(
                    'duoduo_ledger.msg_adjust_finance_only'))

    @classmethod
    def check_values(cls, amount, reason):
        "The amount (Decimal, fen) and the reason (stripped); or raise"
        if amount is None or not isinstance(amount, Decimal) or not amount:
            raise AdjustmentError(gettext(
                    'duoduo_ledger.msg_adjust_amount_zero'))
        if amount != amount.quantize(CENT):
            raise AdjustmentError(gettext(
                    'duoduo_ledger.msg_adjust_amount_precision',
                    amount=amount))
        reason = (reason or '').strip()
        if not reason:
            raise AdjustmentError(gettext(
                    'duoduo_ledger.msg_adjust_reason_required'))
        return amount, reason

    def entry_key(self):
        "One entry per wizard session: a double click posts once"
        return f'duoduo.ledger.adjust:{self._session_id}'

    def transition_post(self):
        Entry = Pool().get('duoduo.ledger.entry')
        self.check_finance()
        amount, reason = self.check_values(
            self.start.amount, self.start.reason)
        Entry.adjust(self.entry_key(), self.start.member, amount,
            self.start.kind, reason, user=Transaction().user)
        return 'end'
