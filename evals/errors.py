"""Errors that are the user's to fix: the CLI shows their message alone, with no traceback."""


class UserError(Exception):
    """Bad input or configuration; the message says where and what to do."""


class EndpointUnusable(UserError):
    """A bot or judge endpoint that cannot answer at all (unreachable, credentials refused).

    Raised by the call layer after its first attempts so that a run stops at once, naming the URL
    (never the key), instead of trying every inquiry and exiting 0 with a column of errors."""
