"""The one exception type a user can cause.

Anything raised as :class:`UserError` is printed by the CLI as a single sentence
(no traceback) and turns into a non-zero exit code; every other exception is a
bug in this package and is left to raise.
"""


class UserError(Exception):
    """A problem the user can fix: bad input, missing data, no network."""
