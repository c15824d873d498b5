"""Command-line tools that ship with duoduo (demo data, ...)."""
