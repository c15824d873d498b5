# This file is part of duoduo.
# The contract's routes are registered when trytond imports the module.
from . import pdd_oauth, tbk, user  # noqa: F401
