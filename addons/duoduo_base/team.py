"""The referral team tree of members.

Each member stores the materialized path of ids from the root of its tree
down to itself ("3/17/42/") and its depth: "the members at depth N below X"
is one indexed prefix query, never a walk in Python. Each member also stores
the size of its team per depth (1 to 3) and in all, kept up to date when a
member registers or is moved, so a team of 100 000 costs what a team of 10
costs to count."""
from collections import defaultdict

from sql import For, Literal, Null
from sql.aggregate import Count
from sql.functions import Substring
from sql.operators import BinaryOperator, Concat, Like

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Index, ModelView, fields
from trytond.model.exceptions import AccessError
from trytond.pyson import Eval
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import ReferrerCycleError

# The commission scheme pays three levels; compliance forbids deeper chains.
TEAM_DEPTH = 3
TEAM_SIZE_FIELDS = ['team_size_1', 'team_size_2', 'team_size_3']


class Glob(BinaryOperator):
    _operator = 'GLOB'


def starts_with(column, prefix):
    "column starts with prefix, written so the backend's index serves it"
    if backend.name == 'sqlite':
        # SQLite's LIKE ignores case and so cannot use the index; GLOB can
        return Glob(column, prefix + '*')
    return Like(column, prefix + '%')


def ancestor_ids(path):
    "Ids above the member whose path this is, nearest first"
    return [int(i) for i in path.split('/')[:-1]][-2::-1]


class TeamTree:
    "The referrer of a member and the team below it; mixed into the member"
    __slots__ = ()

    referrer = fields.Many2One(
        'duoduo.member', "Referrer", ondelete='RESTRICT',
        states={
            'readonly': Eval('id', -1) >= 0,
            },
        help="The member who invited this one; staff change it with "
        "\"Change Referrer\".")
    referrals = fields.One2Many(
        'duoduo.member', 'referrer', "Direct Invitees", readonly=True)
    path = fields.Char("Path", readonly=True)
    depth = fields.Integer("Depth", readonly=True)
    team_size_1 = fields.Integer("Direct Team", required=True, readonly=True)
    team_size_2 = fields.Integer(
        "Second-Level Team", required=True, readonly=True)
    team_size_3 = fields.Integer(
        "Third-Level Team", required=True, readonly=True)
    team_size = fields.Integer(
        "Whole Team", required=True, readonly=True,
        help="Every member below, at any depth.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.path, Index.Similarity(begin=True)),
                    (t.depth, Index.Range())),
                Index(t, (t.referrer, Index.Equality())),
                })
        cls._buttons.update({
                'change_referrer': {
                    'depends': ['state'],
                    },
                })

    @classmethod
    def __register__(cls, module):
        exists = backend.TableHandler.table_exist(cls._table)
        sizes_stored = exists and cls.__table_handler__(module).column_exist(
            'team_size')
        super().__register__(module)
        if exists and not sizes_stored:
            cls.rebuild_team_sizes()

    @classmethod
    def rebuild_team_sizes(cls):
        "Recount every stored team size from the tree (upgrades, repairs)"
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(table.path, where=table.path != Null))
        sizes = defaultdict(lambda: [0] * (TEAM_DEPTH + 1))
        for path, in cursor:
            for distance, ancestor in enumerate(ancestor_ids(path), 1):
                if distance <= TEAM_DEPTH:
                    sizes[ancestor][distance - 1] += 1
                sizes[ancestor][TEAM_DEPTH] += 1
        columns = [getattr(table, name)
            for name in TEAM_SIZE_FIELDS + ['team_size']]
        cursor.execute(*table.update(columns, [0] * len(columns)))
        for member_id, values in sizes.items():
            cursor.execute(*table.update(columns, values,
                    where=table.id == member_id))
        cls._clear_cache()

    @classmethod
    def default_team_size_1(cls):
        return 0

    @classmethod
    def default_team_size_2(cls):
        return 0

    @classmethod
    def default_team_size_3(cls):
        return 0

    @classmethod
    def default_team_size(cls):
        return 0

    def team_counts(self):
        "{depth below this member: team size} for the paid depths"
        return {depth: getattr(self, name)
            for depth, name in enumerate(TEAM_SIZE_FIELDS, 1)}

    def _team_condition(self, table, max_depth):
        condition = (starts_with(table.path, self.path)
            & (table.depth > self.depth))
        if max_depth is not None:
            condition &= table.depth <= self.depth + max_depth
        return condition

    def count_team(self, max_depth=TEAM_DEPTH):
        """{depth below this member: team size} counted from the tree
        itself, to check the stored sizes"""
        table = self.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(
                table.depth, Count(Literal(1)),
                where=self._team_condition(table, max_depth),
                group_by=[table.depth]))
        return {depth - self.depth: count for depth, count in cursor}

    def team_domain(self, max_depth=TEAM_DEPTH):
        "Domain of the members up to max_depth below this one"
        table = self.__table__()
        return [('id', 'in', table.select(table.id,
                    where=self._team_condition(table, max_depth)))]

    @classmethod
    def _clear_cache(cls):
        "Forget cached members after the tree was changed in SQL"
        transaction = Transaction()
        transaction.counter += 1
        for cache in transaction.cache.values():
            cache.pop(cls.__name__, None)

    @classmethod
    def _grow_ancestors(cls, ancestors, sizes, total, sign=1):
        """Add (sign=1) or remove (sign=-1) a branch below ancestors
        (nearest first): sizes gives the branch's members per depth below
        its top (0 being the top itself), total its size."""
        if not ancestors:
            return
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.update(
                [table.team_size], [table.team_size + sign * total],
                where=table.id.in_(ancestors)))
        for distance, ancestor in enumerate(ancestors[:TEAM_DEPTH], 1):
            columns, values = [], []
            for depth in range(distance, TEAM_DEPTH + 1):
                count = sizes.get(depth - distance, 0)
                if count:
                    column = getattr(table, TEAM_SIZE_FIELDS[depth - 1])
                    columns.append(column)
                    values.append(column + sign * count)
            if columns:
                cursor.execute(*table.update(columns, values,
                        where=table.id == ancestor))

    @classmethod
    def _place_new(cls, members):
        "Path, depth and ancestors' team sizes of new members, parents first"
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        parent_ids = {m.referrer.id for m in members if m.referrer}
        # read from the table: cached records predate the paths set here
        paths = {}
        if parent_ids:
            cursor.execute(*table.select(table.id, table.path,
                    where=table.id.in_(list(parent_ids))))
            paths.update(cursor)
        for member in members:
            prefix = paths[member.referrer.id] if member.referrer else ''
            path = paths[member.id] = f'{prefix}{member.id}/'
            cursor.execute(*table.update(
                    [table.path, table.depth], [path, path.count('/') - 1],
                    where=table.id == member.id))
            cls._grow_ancestors(ancestor_ids(path), {0: 1}, 1)
        cls._clear_cache()

    @classmethod
    def _check_move(cls, member, referrer):
        if referrer and referrer.path.startswith(member.path):
            raise ReferrerCycleError(gettext(
                    'duoduo_base.msg_member_referrer_cycle',
                    member=member.rec_name, referrer=referrer.rec_name))

    @classmethod
    def _move_team(cls, member, referrer):
        "Move member and its whole team under referrer"
        cls._check_move(member, referrer)
        sizes = {0: 1, 1: member.team_size_1, 2: member.team_size_2}
        total = 1 + member.team_size
        cls._grow_ancestors(ancestor_ids(member.path), sizes, total, -1)

        old_prefix = member.path
        new_prefix = (referrer.path if referrer else '') + f'{member.id}/'
        delta = new_prefix.count('/') - old_prefix.count('/')
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.update(
                [table.path, table.depth],
                [Concat(new_prefix,
                        Substring(table.path, len(old_prefix) + 1)),
                    table.depth + delta],
                where=starts_with(table.path, old_prefix)))
        cls._grow_ancestors(ancestor_ids(new_prefix), sizes, total, 1)
        cls._clear_cache()

    @classmethod
    def _lock_lines(cls, referrer_ids):
        """Lock the referrers and everyone above them, whose sizes are about
        to grow: waiting (not failing) as registrations under one inviter
        come in bursts, always in id order so two of them never deadlock."""
        transaction = Transaction()
        if not referrer_ids or not transaction.database.has_select_for():
            return
        table = cls.__table__()
        cursor = transaction.connection.cursor()
        cursor.execute(*table.select(table.path,
                where=table.id.in_(list(referrer_ids))))
        ids = {int(i) for path, in cursor for i in path.split('/')[:-1]}
        cursor.execute(*table.select(table.id,
                where=table.id.in_(sorted(ids)),
                order_by=[table.id.asc], for_=For('UPDATE')))

    @classmethod
    def create(cls, vlist):
        cls._lock_lines({v['referrer'] for v in vlist if v.get('referrer')})
        members = super().create(vlist)
        cls._place_new(members)
        return cls.browse(members)

    @classmethod
    def write(cls, *args):
        actions = iter(args)
        moves = [(members, values['referrer'])
            for members, values in zip(actions, actions)
            if 'referrer' in values]
        transaction = Transaction()
        if moves and transaction.user and transaction.check_access:
            # a referrer is set at registration; afterwards only the Change
            # Referrer wizard moves a member, never a write over RPC,
            # whatever the group
            raise AccessError(gettext('ir.msg_access_rule_field_error',
                    **cls.__names__('referrer')))
        if moves:
            # moves rewrite whole teams and their ancestors' sizes
            cls.lock()
            for members, referrer_id in moves:
                referrer = cls(referrer_id) if referrer_id else None
                for member in members:
                    cls._check_move(member, referrer)
        super().write(*args)
        for members, referrer_id in moves:
            for member in members:
                # fresh records: the previous move may have changed them
                cls._move_team(cls(member.id),
                    cls(referrer_id) if referrer_id else None)

    @classmethod
    @ModelView.button_action('duoduo_base.wizard_member_change_referrer')
    def change_referrer(cls, members):
        pass


class ChangeReferrerStart(ModelView):
    "Change Referrer"
    __name__ = 'duoduo.member.change_referrer.start'

    member = fields.Many2One('duoduo.member', "Member", readonly=True)
    referrer = fields.Many2One(
        'duoduo.member', "New Referrer",
        domain=[('id', '!=', Eval('member', -1))],
        help="Leave empty to make the member a root of their own team.")


class ChangeReferrer(Wizard):
    "Change Referrer"
    __name__ = 'duoduo.member.change_referrer'

    start = StateView(
        'duoduo.member.change_referrer.start',
        'duoduo_base.member_change_referrer_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Change", 'change', 'tryton-ok', default=True),
            ])
    change = StateTransition()

    def default_start(self, fields):
        return {
            'member': self.record.id,
            'referrer': self.record.referrer.id
            if self.record.referrer else None,
            }

    def transition_change(self):
        referrer = self.start.referrer
        self.model.write([self.record], {
                'referrer': referrer.id if referrer else None,
                })
        return 'end'
