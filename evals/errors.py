"""Errors that are the user's to fix: the CLI shows their message alone, with no traceback."""


class UserError(Exception):
    """Bad input or configuration; the message says where and what to do."""
