"""Search helpers shared by the duoduo models."""


def rec_name_domain(clause, field_names):
    """The domain of a search_rec_name matching any of field_names.

    A negative operator ("not ilike") must hold on every field."""
    _, operator, operand, *extra = clause
    negative = operator.startswith('!') or operator.startswith('not ')
    return ['AND' if negative else 'OR'] + [
        (name, operator, operand, *extra) for name in field_names]
