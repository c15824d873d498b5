# This file is part of duoduo.
# The contract's routes are registered when trytond imports the module.
from . import content, income, pdd_oauth, tbk, team, user  # noqa: F401
