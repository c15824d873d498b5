"""Server-side field rights of every duoduo model.

One rule: a field declared `readonly=True` on the model (not merely in a
view, not by `states`) is code-only. Tryton does not enforce `readonly` on
the server; here it becomes a field access without write right, for every
group (administrators included), on every model named `duoduo.*` of every
addon, present and future. Tryton checks field access on create and write
whenever the call comes over RPC (`_check_access` in the context, a user
other than root), and shows those fields read-only in every client.

What writes as the system is not checked, so it keeps working: buttons
(`ModelView.button` runs the method in `without_check_access()`), wizards
(`Wizard.execute` is an RPC without access check), crons and the member
API (user 0), and code of ours that writes in `without_check_access()`
(function field setters, logs).

Who may read or change the other fields is said per group with ordinary
`ir.model.field.access` records in the addons' XML (secrets: no read for
anyone; member identity and level: administrators only); see the README's
Security section."""
from trytond.model import ModelStorage
from trytond.pool import Pool, PoolMeta

PREFIX = 'duoduo.'


def code_only_fields(Model):
    "Names of the fields of Model only code may write"
    names = Model.__dict__.get('_duoduo_code_only_fields')
    if names is None:
        names = frozenset(name for name, field in Model._fields.items()
            if field.readonly is True)
        Model._duoduo_code_only_fields = names
    return names


class ModelFieldAccess(metaclass=PoolMeta):
    __name__ = 'ir.model.field.access'

    @classmethod
    def get_access(cls, models):
        pool = Pool()
        accesses = super().get_access(models)
        result = {}
        for model, maccesses in accesses.items():
            try:
                Model = pool.get(model) if model.startswith(PREFIX) else None
            except KeyError:
                Model = None
            if Model is None or not issubclass(Model, ModelStorage):
                result[model] = maccesses
                continue
            # copies: the cached dicts are shared between models and calls
            maccesses = {name: dict(access)
                for name, access in maccesses.items()}
            for name in code_only_fields(Model):
                access = maccesses.setdefault(name, {
                        'read': True, 'write': True,
                        'create': True, 'delete': True,
                        })
                access['write'] = False
            result[model] = maccesses
        return result
