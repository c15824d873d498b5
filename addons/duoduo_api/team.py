"""The contract's team module (团队模块): figures and lists of the member's
team (depth 1 to 3) and city, all read from the stored team statistics of
duoduo_commission (team_statistics.py), never from the team's orders."""
from trytond.protocols.wrappers import Response

from .api import dumps, route
from .user import timestamp

RANKING_TYPES = ['order', 'commission']


# the contract sends the token in the body (the header works too)
@route('/member/myTeam', methods=['POST'], auth=True, readonly=True,
    body_token=True)
def my_team(request, pool, params, member):
    # the contract answers this one bare, without the envelope
    return Response(dumps(member.team_overview()), status=200,
        content_type='application/json; charset=utf-8')


def team_row(row):
    return {
        'user_id': row['user_id'],
        'nickname': row['nickname'],
        'avatar': row['avatar'] or '',
        'order_count': row['order_count'],
        'total_commission': row['commission'],
        }


@route('/user/team_members/', methods=['GET'], auth=True)
def team_members(request, pool, params, member):
    level = params.integer('level', minimum=1, maximum=3)
    page, page_size = params.paging()
    total, rows = member.team_members(level, page, page_size)
    return {'total': total, 'list': [{
                **team_row(row),
                'level_id': row['level_code'],
                'level_name': row['level_name'],
                'reg_time': timestamp(row['registered_at']),
                'relation_level': row['depth'],
                } for row in rows]}


@route('/user/team_ranking/', methods=['GET'], auth=True)
def team_ranking(request, pool, params, member):
    kind = params.choice('type', RANKING_TYPES, required=False,
        default='order')
    return {'list': [dict(rank=rank, **team_row(row))
            for rank, row in enumerate(member.team_ranking(kind), 1)]}
