"""pytest-cnnsym: cnnsym budgets in a project's own test suite (see plugin.py)."""
__version__ = "0.1.0"
