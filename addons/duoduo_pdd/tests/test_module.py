from trytond.exceptions import UserError
from trytond.pool import Pool
from trytond.pyson import PYSONDecoder, PYSONEncoder
from trytond.tests.test_tryton import ModuleTestCase, with_transaction


class DuoduoPddTestCase(ModuleTestCase):
    "Test duoduo_pdd module"
    module = 'duoduo_pdd'

    @with_transaction()
    def test_pid_follows_the_level_role_not_its_code(self):
        """A PID is for members whose level has the partner or city agent
        role, whatever the level's number"""
        pool = Pool()
        Level = pool.get('duoduo.member.level')
        Member = pool.get('duoduo.member')
        Pid = pool.get('duoduo.pdd.pid')
        AssignStart = pool.get('duoduo.pdd.pid.assign.start')
        GenerateStart = pool.get('duoduo.pdd.pid.generate.start')
        seeded_partner, = Level.search([('role', '=', 'partner')])
        # the seeded 合伙人 keeps its number 2 but becomes a member's level
        Level.write([seeded_partner], {'role': 'member'})
        star, agent = Level.create([
                {'name': '星级合伙人', 'code': 7, 'role': 'partner'},
                {'name': '区县代理', 'code': 1000, 'role': 'city_agent'},
                ])
        at_two, = Member.create([{
                    'phone': '13900770001', 'level': seeded_partner.id}])
        at_star, at_agent = Member.create([
                {'phone': '13900770002', 'level': star.id},
                {'phone': '13900770003', 'level': agent.id},
                ])
        first, second = Pid.create([
                {'p_id': '1_7001', 'name': 'a'},
                {'p_id': '1_7002', 'name': 'b'},
                ])

        self.assertFalse(at_two.is_pdd_partner())
        with self.assertRaises(UserError) as cm:
            first.assign_to(at_two)
        self.assertIn('合伙人', cm.exception.message)
        with self.assertRaises(UserError):
            Member.write([at_two], {'pdd_pid': first.id})

        first.assign_to(at_star)
        second.assign_to(at_agent)
        self.assertEqual((at_star.pdd_pid, at_agent.pdd_pid), (first, second))

        # the wizards offer the members the role allows, not the numbers
        offered = Member.search(AssignStart.member.domain)
        self.assertIn(at_star, offered)
        self.assertIn(at_agent, offered)
        self.assertNotIn(at_two, offered)
        new_partner, = Member.create([{
                    'phone': '13900770004', 'level': star.id}])
        self.assertEqual(
            Member.search(GenerateStart.member.domain), [new_partner])

        # the member form shows the PID to partners only
        invisible = PYSONEncoder().encode(
            Member.pdd_pid.states['invisible'])
        for member, hidden in [
                (at_two, True), (at_star, False), (at_agent, False)]:
            with self.subTest(level=member.level.name):
                self.assertEqual(member.level_role, member.level.role)
                self.assertEqual(PYSONDecoder(
                        {'level_role': member.level_role}).decode(invisible),
                    hidden)

        # a partner moved to a member's level cannot keep a PID
        with self.assertRaises(UserError):
            Member.write([at_star], {'level': seeded_partner.id})


del ModuleTestCase
