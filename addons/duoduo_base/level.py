from trytond.model import (
    DeactivableMixin, ModelSQL, ModelView, Unique, fields)


class MemberLevel(DeactivableMixin, ModelSQL, ModelView):
    "Member Level"
    __name__ = 'duoduo.member.level'

    name = fields.Char("Name", required=True)
    code = fields.Integer(
        "Code", required=True,
        help="The number the mini-program receives as level_id.")
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
    def get_default(cls):
        "The level a new member starts at: the active level of lowest code"
        levels = cls.search([], order=[('code', 'ASC')], limit=1)
        return levels[0] if levels else None
