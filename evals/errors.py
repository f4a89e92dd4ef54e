"""Errors that are the user's to fix: the CLI shows their message alone, with no traceback."""


class UserError(Exception):
    """Bad input or configuration; the message says where and what to do."""

    exit_code = 2  # the command line's exit status for it


class EndpointUnusable(UserError):
    """A bot or judge endpoint that cannot answer at all (unreachable, credentials refused).

    Raised by the call layer after its first attempts so that a run stops at once, naming the URL
    (never the key), instead of trying every inquiry and exiting 0 with a column of errors."""


class NoReplyInData(LookupError):
    """The dataset holds no reply at this decision point (the human or recorded variant replays
    people's or a bot's logged turns). The reply is an error, but not a failure of a bot, so it
    does not count against the error budget."""


def yaml_problem(exc: BaseException) -> str:
    """PyYAML's report, several lines, as one clause: where in the file, what, and since where.

    For `<file>: not valid YAML (<this>)`; the caller names the file, as PyYAML knows it only when it
    read the file itself."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    since = f"; {context} from line {start.line + 1}, column {start.column + 1}" if context and start else ""
    return f"{where}{problem}{since}"


def folder_problem(exc: OSError) -> str:
    """Why a folder could not be made, in words: a file where it should be, or the system's reason."""
    return "a file is in the way" if isinstance(exc, FileExistsError) else exc.strerror or str(exc)
