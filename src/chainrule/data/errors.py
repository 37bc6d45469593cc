"""Exceptions of the data package.

Both derive from ``ValueError`` so that a caller (the CLI among them) that already
reports ``ValueError`` reports these too, with their message naming the file and the problem.
"""

from __future__ import annotations


class DataError(ValueError):
    """A data file is corrupt, truncated, mismatched or otherwise unusable; the message names it."""


class DatasetNotFoundError(DataError):
    """A dataset split is in none of the places looked at; the message lists the ways to
    provide it."""
