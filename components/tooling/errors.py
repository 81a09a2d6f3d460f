"""The tooling's own errors (config mistakes are components.spec.errors.SpecError)."""

from __future__ import annotations


class CommandError(Exception):
    """A problem that is not the config's (missing tool, failed check): one line, an exit code."""

    def __init__(self, message: str, code: int = 3) -> None:
        super().__init__(message)
        self.code = code


class SiteError(RuntimeError):
    """The local site could not start; the message carries the relevant log tail."""
