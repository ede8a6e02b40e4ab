"""One base for every error a user can fix: the CLI prints its message and exits with status 2."""

from __future__ import annotations


class UserError(Exception):
    """Bad input, a missing file or model, an unknown id: the message says what to do about it.

    Anything else that escapes is a bug and keeps its traceback.
    """
