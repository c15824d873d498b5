import random

from trytond.exceptions import UserError
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction


def naive_team(referrer_of, member_id):
    "{relative depth: count} by walking the referrer links, for checking"
    counts = {}
    for candidate in referrer_of:
        depth, current = 0, candidate
        while current is not None:
            if current == member_id and depth:
                counts[depth] = counts.get(depth, 0) + 1
                break
            current, depth = referrer_of[current], depth + 1
    return counts


class DuoduoBaseTestCase(ModuleTestCase):
    "Test duoduo_base module"
    module = 'duoduo_base'

    def create_members(self, count, phone_prefix='1390000'):
        Member = Pool().get('duoduo.member')
        return Member.create([{
                    'phone': f'{phone_prefix}{i:04d}',
                    'nickname': f'M{i}',
                    } for i in range(count)])

    @with_transaction()
    def test_team_tree_built_in_one_transaction(self):
        "Members created one after the other under each other"
        Member = Pool().get('duoduo.member')
        root, = self.create_members(1)
        parent = root
        for i in range(1, 6):
            parent, = Member.create([{
                        'phone': f'1380000{i:04d}', 'referrer': parent.id}])
        self.assertEqual(root.count_team(max_depth=None),
            {1: 1, 2: 1, 3: 1, 4: 1, 5: 1})
        self.assertEqual(root.team_counts(), {1: 1, 2: 1, 3: 1})
        self.assertEqual(root.team_size, 5)
        self.assertEqual(parent.depth, 5)
        self.assertEqual(len(Member.search(root.team_domain())), 3)
        self.assertEqual(
            Member.search_count(root.team_domain(max_depth=None)), 5)

    @with_transaction()
    def test_team_tree_matches_a_walk_after_random_moves(self):
        "Random trees and referrer moves agree with walking the links"
        Member = Pool().get('duoduo.member')
        rng = random.Random(20261122)
        members = self.create_members(1)
        referrer_of = {members[0].id: None}
        for i in range(1, 60):
            referrer = rng.choice(members + [None])
            member, = Member.create([{
                        'phone': f'1370000{i:04d}',
                        'referrer': referrer.id if referrer else None,
                        }])
            members.append(member)
            referrer_of[member.id] = referrer.id if referrer else None
        for _ in range(40):
            member = rng.choice(members)
            target = rng.choice(members + [None])
            in_own_team = target is not None and (
                target.id == member.id
                or target.id in self.descendants(referrer_of, member.id))
            values = {'referrer': target.id if target else None}
            if in_own_team:
                with self.assertRaises(UserError):
                    Member.write([member], values)
                continue
            Member.write([member], values)
            referrer_of[member.id] = target.id if target else None
        stored = {m.id: (m.team_counts(), m.team_size)
            for m in Member.browse([m.id for m in members])}
        # recounting from scratch (as an upgrade does) finds the same sizes
        Member.rebuild_team_sizes()
        self.assertEqual(stored, {m.id: (m.team_counts(), m.team_size)
                for m in Member.browse([m.id for m in members])})
        for member in Member.browse([m.id for m in members]):
            expected = naive_team(referrer_of, member.id)
            self.assertEqual(member.count_team(max_depth=None), expected)
            # the stored sizes agree with the tree
            self.assertEqual(member.team_counts(),
                {d: expected.get(d, 0) for d in [1, 2, 3]}, member.nickname)
            self.assertEqual(member.team_size, sum(expected.values()))
            self.assertEqual(
                Member.search_count(member.team_domain()),
                sum(expected.get(d, 0) for d in [1, 2, 3]))
            expected = referrer_of[member.id]
            self.assertEqual(
                member.referrer.id if member.referrer else None, expected)

    @staticmethod
    def descendants(referrer_of, member_id):
        return {m for m in referrer_of
            if DuoduoBaseTestCase.is_below(referrer_of, m, member_id)}

    @staticmethod
    def is_below(referrer_of, candidate, member_id):
        current = referrer_of[candidate]
        while current is not None:
            if current == member_id:
                return True
            current = referrer_of[current]
        return False

    @with_transaction()
    def test_members_created_together_get_their_own_codes(self):
        members = self.create_members(5)
        self.assertEqual(len({m.invitation_code for m in members}), 5)

    @with_transaction()
    def test_level_roles(self):
        "The seeded levels' roles; partners are the partner and city agent"
        Level = Pool().get('duoduo.member.level')
        self.assertEqual([(l.name, l.role) for l in Level.search([])], [
                ('普通用户', 'member'), ('超级会员', 'member'),
                ('合伙人', 'partner'), ('城市代理', 'city_agent')])
        self.assertEqual([r for r, _ in Level.role.selection
                if Level.is_partner_role(r)], ['partner', 'city_agent'])

    @with_transaction()
    def test_level_roles_on_upgrade(self):
        "Levels made before roles get the role their code meant"
        Level = Pool().get('duoduo.member.level')
        Level.create([
                {'name': '金牌合伙人', 'code': 5, 'role': 'member'},
                {'name': '新人', 'code': -1, 'role': 'partner'},
                ])
        table = Level.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.update([table.role], ['member']))
        Level.roles_from_codes()
        self.assertEqual(
            {l.code: l.role for l in Level.search([])},
            {-1: 'member', 0: 'member', 1: 'member', 2: 'partner',
                3: 'city_agent', 5: 'partner'})

    @with_transaction()
    def test_phone_normalized_and_unique(self):
        Member = Pool().get('duoduo.member')
        member, = Member.create([{'phone': '+86 139-0000-1234'}])
        self.assertEqual(member.phone, '13900001234')
        self.assertEqual(member.nickname[-4:], '1234')
        self.assertRegex(member.invitation_code,
            r'^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{6}$')
        for bad in ['1390000123', '10086', '021-12345678', '14012345678']:
            with self.assertRaises(UserError):
                Member.create([{'phone': bad}])
        # last: on PostgreSQL the failed INSERT ends the transaction
        with self.assertRaises(UserError):
            Member.create([{'phone': '0086 13900001234'}])


del ModuleTestCase
