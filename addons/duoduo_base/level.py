"""Member levels: a name, the number the mini-program shows (code) and the
role that decides what the level allows.

Rules read the role, never the code: partners (合伙人) and city agents
(城市代理) may have a PID of their own, a city agent shares the commission
of their city's orders, and no level rule grants a city agent's level. The
code only numbers the levels for the mini-program (level_id) and orders
them (a level rule only raises a member to a level of higher code)."""
from trytond.model import (
    DeactivableMixin, ModelSQL, ModelView, Unique, fields)
from trytond.pyson import Eval
from trytond.transaction import Transaction

MEMBER, PARTNER, CITY_AGENT = 'member', 'partner', 'city_agent'
ROLES = [
    (MEMBER, "Member"),
    (PARTNER, "Partner"),
    (CITY_AGENT, "City Agent"),
    ]
# the roles that are partners: a PID of their own (合伙人, 城市代理)
PARTNER_ROLES = (PARTNER, CITY_AGENT)


def partner_domain(level='level'):
    """The domain of records whose level (the Many2One path level) has a
    partner's role: ('level.role', 'in', …) for members"""
    return [(f'{level}.role', 'in', list(PARTNER_ROLES))]


def partner_pyson(role='level_role'):
    "PYSON: whether the role field (of a view's record) is a partner's"
    return Eval(role, '').in_(list(PARTNER_ROLES))


class MemberLevel(DeactivableMixin, ModelSQL, ModelView):
    "Member Level"
    __name__ = 'duoduo.member.level'

    name = fields.Char("Name", required=True)
    code = fields.Integer(
        "Code", required=True,
        help="The number the mini-program receives as level_id.")
    role = fields.Selection(ROLES, "Role", required=True, sort=False,
        help="What the level allows: partners and city agents may have a "
        "PID of their own; a city agent shares the commission of the "
        "orders of their city and is never granted by a level rule.")
    description = fields.Text("Description")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Unique(t, t.code),
                'duoduo_base.msg_member_level_code_unique'),
            ]
        cls._order.insert(0, ('code', 'ASC'))

    @classmethod
    def __register__(cls, module):
        table_h = cls.__table_handler__(module)
        role_added = not table_h.column_exist('role')
        super().__register__(module)
        if role_added:
            cls.roles_from_codes()

    @classmethod
    def roles_from_codes(cls):
        """Give every level the role its code meant before levels had roles
        (upgrade only): 3 the city agent, 2 and above a partner.

        The seeded levels are not updated (noupdate), so an upgraded
        database gets their roles here."""
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.update([table.role], [MEMBER],
                where=table.code < 2))
        cursor.execute(*table.update([table.role], [CITY_AGENT],
                where=table.code == 3))
        cursor.execute(*table.update([table.role], [PARTNER],
                where=(table.code >= 2) & (table.code != 3)))
        # forget the levels read before
        transaction = Transaction()
        transaction.counter += 1
        for cache in transaction.cache.values():
            cache.pop(cls.__name__, None)

    @classmethod
    def default_role(cls):
        return MEMBER

    @classmethod
    def get_default(cls):
        "The level a new member starts at: the active level of lowest code"
        levels = cls.search([], order=[('code', 'ASC')], limit=1)
        return levels[0] if levels else None

    @staticmethod
    def is_partner_role(role):
        "Whether role is a partner's (合伙人 or 城市代理)"
        return role in PARTNER_ROLES

    @property
    def is_partner(self):
        "Members of the level are partners: a PID of their own"
        return self.is_partner_role(self.role)

    @property
    def is_city_agent(self):
        "Members of the level are city agents (城市代理)"
        return self.role == CITY_AGENT

    def is_above(self, other):
        "Whether the level ranks above other (levels rank by code)"
        return self.code > other.code
