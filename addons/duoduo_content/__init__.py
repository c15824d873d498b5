# This file is part of duoduo. Classes are registered in tryton.cfg.
