"""Subcommands of the ``atlas`` CLI: one module each, with ``add_parser`` and ``run``."""
