"""The one user-facing error family. The CLI maps every ChangegateError to exit code 2."""

from __future__ import annotations


class ChangegateError(Exception):
    """Bad input or configuration: the message says what happened, where, and what to do next."""


class PolicyError(ChangegateError):
    """The policy file is invalid; `problems` holds one line per problem (file:line:col: path: msg)."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class SnapshotError(ChangegateError):
    """The PR snapshot is malformed."""


class StoreError(ChangegateError):
    """The database is unreachable, not migrated, or refused an operation."""
