"""Errors that the command line turns into one clear line and an exit code.

Usage and data errors exit with 2 (the user must change a command or a file), failures while a run is under way
exit with 1. Every message names the file or option at fault and says what to do.
"""


class CnnlabError(Exception):
    exit_code = 1


class UsageError(CnnlabError):
    """A wrong option or argument: exit code 2."""

    exit_code = 2


class DataError(CnnlabError):
    """A missing, malformed or mismatched data file or folder: exit code 2."""

    exit_code = 2


class RunError(CnnlabError):
    """A failure during a run (NaN loss, ...): exit code 1."""

    exit_code = 1
