"""Member levels that rise by rules: direct invitations and settled
commission.

A rule grants a level to a member who has at least its minimum of direct
invitees (team_size_1) AND at least its minimum of settled commission; a
level reached by either of two ways is two rules. Settled commission is
the member's income PDD settled: the sum of the member's ledger lines of
income money types (1-5) on the accounts money reaches once settled
(member_available, member_withdrawing, member_paid). Withdrawals (type 6)
only move it between those accounts, so they neither add nor take away;
reversals after settlement (type 5) take it back; manual adjustments (4)
count.

Rules only raise a level (to one of higher code): a member whose thresholds
fall (a reversal) keeps the level, and a city agent (a level of role
city_agent, from an application) is never touched; no rule grants a level
of that role. Staff lock a member's level to keep it where
they put it. Rules are evaluated when a member gets a new direct invitee
and when settlement entries reach a member's available account. Every
change of level, automatic or by staff, is kept in the member's history.

Past commission never moves: the order stores the team and its levels at
attribution (order.py), so a new level applies to orders attributed after
it only."""
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, Index, ModelSQL, ModelView, fields, sequence_ordered)
from trytond.model.exceptions import ValidationError
from trytond.pool import Pool
from trytond.tools import grouped_slice
from trytond.transaction import without_check_access


# where a member's income is once PDD settled it
SETTLED_ACCOUNTS = ['member_available', 'member_withdrawing', 'member_paid']
ZERO = Decimal('0.00')
# private (RPC clients cannot set context keys starting with "_"): level
# changes written by the rules, which record their own history
LEVEL_RULES_CONTEXT = '_duoduo_level_rules'


class LevelRuleValidationError(ValidationError):
    pass


def settled_commission(members):
    """{member id: Decimal} of the members' settled commission, from their
    daily income rows (duoduo.ledger.member_day, kept from the lines in the
    same posting: a leader has a line for every team order)"""
    pool = Pool()
    MemberDay = pool.get('duoduo.ledger.member_day')
    Entry = pool.get('duoduo.ledger.entry')
    day = MemberDay.__table__()
    sums = MemberDay.sums(members, day, {
            'settled': day.account.in_(SETTLED_ACCOUNTS)
            & day.kind.in_(list(Entry.income_kinds())),
            })
    return {member_id: figures['settled']
        for member_id, figures in sums.items()}


class LevelRule(sequence_ordered(), DeactivableMixin, ModelSQL, ModelView):
    """Member Level Rule

    A member with at least this many direct invitees and this much settled
    commission rises to the level (never down)."""
    __name__ = 'duoduo.member.level.rule'

    level = fields.Many2One('duoduo.member.level', "Level", required=True,
        ondelete='RESTRICT',
        help="The level a member reaching the thresholds rises to.")
    min_invites = fields.Integer("Minimum Direct Invitees", required=True,
        help="Members this one invited directly (first-level team).")
    min_settled = fields.Numeric("Minimum Settled Commission",
        digits=(16, 2), required=True,
        help="Income PDD settled for the member (元): available, being "
        "withdrawn or paid out; withdrawals do not reduce it, reversals do.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(1, ('level', 'ASC'))
        cls._buttons.update({
                'apply_to_members': {},
                })

    @classmethod
    def default_min_invites(cls):
        return 0

    @classmethod
    def default_min_settled(cls):
        return ZERO

    def get_rec_name(self, name):
        return self.level.rec_name if self.level else str(self.id)

    @classmethod
    def validate_fields(cls, rules, field_names):
        super().validate_fields(rules, field_names)
        for rule in rules:
            if rule.level and rule.level.is_city_agent:
                raise LevelRuleValidationError(gettext(
                        'duoduo_commission.msg_level_rule_city_agent',
                        level=rule.level.rec_name))
            if (rule.min_invites or 0) < 0 or (rule.min_settled or 0) < 0:
                raise LevelRuleValidationError(gettext(
                        'duoduo_commission.msg_level_rule_negative',
                        rule=rule.rec_name))
            if not rule.min_invites and not rule.min_settled:
                # it would raise every member at once
                raise LevelRuleValidationError(gettext(
                        'duoduo_commission.msg_level_rule_threshold',
                        rule=rule.rec_name))

    @classmethod
    @ModelView.button
    def apply_to_members(cls, rules):
        """Raise every member the active rules reach now (after a
        threshold was lowered): rules otherwise apply at a member's next
        invitee or settlement"""
        Member = Pool().get('duoduo.member')
        with without_check_access():
            members = Member.search([('level_locked', '!=', True)],
                order=[('id', 'ASC')])
        for sub_members in grouped_slice(members, 1000):
            Member.apply_level_rules(list(sub_members), 'review')

    def reached(self, invites, settled):
        return (invites >= (self.min_invites or 0)
            and settled >= (self.min_settled or ZERO))


class LevelChange(ModelSQL, ModelView):
    """Member Level Change

    A member's level moved: from which to which, when, and why."""
    __name__ = 'duoduo.member.level.change'

    member = fields.Many2One('duoduo.member', "Member", required=True,
        readonly=True, ondelete='CASCADE')
    changed_at = fields.DateTime("Changed At", required=True, readonly=True)
    from_level = fields.Many2One('duoduo.member.level', "From",
        readonly=True, ondelete='RESTRICT')
    to_level = fields.Many2One('duoduo.member.level', "To", required=True,
        readonly=True, ondelete='RESTRICT')
    cause = fields.Selection([
            ('invite', "New Direct Invitee"),
            ('review', "Rules Applied by Staff"),
            ('settlement', "Settled Commission"),
            ('staff', "Staff"),
            ], "Cause", required=True, readonly=True, sort=False)
    rule = fields.Many2One('duoduo.member.level.rule', "Rule",
        readonly=True, ondelete='SET NULL')
    invitee = fields.Many2One('duoduo.member', "Invitee", readonly=True,
        ondelete='SET NULL', help="The new direct invitee that raised it.")
    entry = fields.Many2One('duoduo.ledger.entry', "Ledger Entry",
        readonly=True, ondelete='RESTRICT',
        help="The settlement entry that raised it.")
    user = fields.Many2One('res.user', "User", readonly=True,
        ondelete='RESTRICT', help="The staff member who changed it.")
    invites = fields.Integer("Direct Invitees", readonly=True,
        help="The member's direct invitees when the rule was applied.")
    settled = fields.Numeric("Settled Commission", digits=(16, 2),
        readonly=True,
        help="The member's settled commission when the rule was applied.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.member, Index.Equality()),
                (t.changed_at, Index.Range())))
        cls._order = [('changed_at', 'DESC'), ('id', 'DESC')]
