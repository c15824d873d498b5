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
from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import LedgerError
from .ledger import INCOME_MONEY_TYPES, MONEY_TYPES

CENT = Decimal('0.01')
SUBSIDY_MONEY_TYPE = '4'
# what the member reads in their money history, like the orders' entries
DESCRIPTION = "平台人工调整"


class AdjustmentError(LedgerError):
    "A manual adjustment refused: no amount, no reason, sub-fen amount"


class AdjustmentAccessError(AccessError):
    "A manual adjustment by someone outside the finance group"


class AdjustStart(ModelView):
    "Manual Adjustment"
    __name__ = 'duoduo.ledger.adjust.start'

    member = fields.Many2One('duoduo.member', "Member", required=True)
    amount = fields.Numeric("Amount", digits=(16, 2), required=True,
        help="Added to the member's available balance (元); negative takes "
        "money away. The platform margin moves the other way.")
    money_type = fields.Selection(
        [(t, n) for t, n in MONEY_TYPES if t in INCOME_MONEY_TYPES],
        "Money Type", required=True, sort=False,
        help="How the member's money history shows it.")
    reason = fields.Text("Reason", required=True,
        help="Why: kept with the ledger entry.")
    balance_available = fields.Numeric("Available Now", digits=(16, 2),
        readonly=True)

    @classmethod
    def default_money_type(cls):
        return SUBSIDY_MONEY_TYPE

    @fields.depends('member')
    def on_change_with_balance_available(self):
        if self.member:
            return self.member.balance_available


class Adjust(Wizard):
    "Manual Adjustment"
    __name__ = 'duoduo.ledger.adjust'

    start = StateView('duoduo.ledger.adjust.start',
        'duoduo_commission.ledger_adjust_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Post", 'post', 'tryton-ok', default=True),
            ])
    post = StateTransition()

    def default_start(self, fields):
        values = {'money_type': SUBSIDY_MONEY_TYPE}
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
                    'duoduo_commission.msg_adjust_finance_only'))

    @classmethod
    def check_values(cls, amount, reason):
        "The amount (Decimal, fen) and the reason (stripped); or raise"
        if amount is None or not isinstance(amount, Decimal) or not amount:
            raise AdjustmentError(gettext(
                    'duoduo_commission.msg_adjust_amount_zero'))
        if amount != amount.quantize(CENT):
            raise AdjustmentError(gettext(
                    'duoduo_commission.msg_adjust_amount_precision',
                    amount=amount))
        reason = (reason or '').strip()
        if not reason:
            raise AdjustmentError(gettext(
                    'duoduo_commission.msg_adjust_reason_required'))
        return amount, reason

    def entry_key(self):
        "One entry per wizard session: a double click posts once"
        return f'duoduo.ledger.adjust:{self._session_id}'

    def transition_post(self):
        pool = Pool()
        Entry = pool.get('duoduo.ledger.entry')
        self.check_finance()
        amount, reason = self.check_values(
            self.start.amount, self.start.reason)
        member = self.start.member
        Entry.post(self.entry_key(), [{
                    'account': 'member_available',
                    'member': member,
                    'amount': amount,
                    }, {
                    'account': 'platform_margin',
                    'member': None,
                    'amount': -amount,
                    }], self.start.money_type,
            description=DESCRIPTION,
            user=Transaction().user, reason=reason)
        return 'end'
