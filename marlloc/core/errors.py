"""marlloc's exceptions, in one place.

Every error a user can cause is a :class:`MarllocError`; the CLI prints its message on one
line and exits non-zero, never a traceback. Messages follow one pattern: the rule, the value,
the fix — ``"n_users must be ≥ 1, got 0; try n_users=200"``.

- :class:`ConfigError` (also a ``ValueError``): an invalid configuration field.
- :class:`DataError` (also a ``ValueError``): a malformed or unusable data file.
"""

from __future__ import annotations


class MarllocError(Exception):
    """Base of every error marlloc raises on purpose."""


class ConfigError(MarllocError, ValueError):
    """A configuration field breaks its rule."""


class DataError(MarllocError, ValueError):
    """A data file is missing, malformed or unusable."""
