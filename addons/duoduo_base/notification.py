"""Warnings for staff, shown in the back office's notification bell."""
import json

from trytond.pool import Pool

STAFF_GROUPS = ('group_duoduo_admin', 'group_duoduo_operator')


def notify_staff(label, description='', records=None, groups=STAFF_GROUPS):
    """Notify every active user of the duoduo staff groups.

    records (optional, all of one model) open from the notification."""
    pool = Pool()
    ModelData = pool.get('ir.model.data')
    Notification = pool.get('res.notification')
    User = pool.get('res.user')
    group_ids = [ModelData.get_id('duoduo_base', group) for group in groups]
    users = User.search([('groups', 'in', group_ids)])
    values = {
        'label': label,
        'description': description,
        'icon': 'tryton-warning',
        }
    if records:
        values['model'] = records[0].__name__
        values['records'] = json.dumps([r.id for r in records])
    return Notification.create([dict(values, user=u.id) for u in users])
