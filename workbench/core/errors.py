"""Typed errors of the workbench. Only the CLI prints them or exits.

Every error says what was wrong, where (``file:line`` or an example id) and how to fix it.
:class:`InputWarning` is their quiet sibling: input that is legal but was read with a loss.
"""

from __future__ import annotations

__all__ = [
    "WorkbenchError",
    "InputError",
    "StoreError",
    "StoreLockedError",
    "RefError",
    "ModelError",
    "LanguageError",
    "ConfigError",
    "HubError",
    "StoreWarning",
    "InputWarning",
]


class WorkbenchError(Exception):
    """Base class: ``where`` locates the problem, ``fix`` tells the user what to do."""

    def __init__(self, message: str, *, where: str | None = None, fix: str | None = None):
        self.message = message
        self.where = where
        self.fix = fix
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        if self.fix:
            text += f"\n  fix: {self.fix}"
        return text


class InputError(WorkbenchError):
    """Malformed input data: a file, a record, a span or a tag sequence."""


class StoreError(WorkbenchError):
    """The corpus store cannot do what was asked."""


class StoreLockedError(StoreError):
    """Another process holds the DuckDB write lock longer than we were willing to wait."""


class RefError(StoreError):
    """A corpus reference (``name`` or ``name@N``) names no stored version."""


class ModelError(WorkbenchError):
    """A translation or alignment model is missing, malformed or unsupported."""


class LanguageError(WorkbenchError):
    """An unknown or unsupported language code."""


class ConfigError(WorkbenchError):
    """Bad options or pipeline configuration."""


class HubError(WorkbenchError):
    """The Hugging Face Hub refused or failed a request (the message never holds the token)."""


class StoreWarning(UserWarning):
    """Something the store did not finish that loses nothing (e.g. a checkpoint on a full disk):
    the operation succeeded, and the user should know."""


class InputWarning(UserWarning):
    """Input was read, but part of it was left out or read differently from what it says: the
    unfinished last record of a truncated file, a ``# text`` comment that contradicts the tokens.
    The message starts with ``file:line``."""
