"""Errors that occ reports to users as one clear line (the CLI exits with code 2)."""

from __future__ import annotations

from typing import Any


def one_line(text: str, limit: int = 1000) -> str:
    """``text`` as one printable line: control characters (a newline in a user's key, say)
    escaped, at most ``limit`` characters."""
    if text.isprintable():
        out = text
    else:
        out = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                      for c in text)
    return out if len(out) <= limit else out[: limit - 3] + "..."


class OccError(Exception):
    """Base class of every error occ reports as one line, without a traceback."""


class ParameterError(OccError, ValueError):
    """A parameter has a value outside what is allowed.

    ``field`` is the dotted path of the parameter (``learners[1].eta``); ``message`` says
    what is allowed and what was given. ``where`` (a file name) is prefixed when known.
    """

    def __init__(self, field: str, message: str, where: str | None = None) -> None:
        self.field = field
        self.message = message
        self.where = where
        super().__init__(self._text())

    def _text(self) -> str:
        prefix = f"{one_line(self.where)}: " if self.where else ""
        return f"{prefix}{one_line(self.field, 200)}: {self.message}"

    def located(self, where: str, parent: str | None = None) -> ParameterError:
        """The same error with the file name and an outer field path added."""
        field = f"{parent}.{self.field}" if parent else self.field
        return ParameterError(field, self.message, where)


class ScenarioError(OccError):
    """A scenario file that cannot be read or is not a valid scenario."""


class UnknownNameError(OccError, KeyError):
    """An unknown scenario, learner, adversary, domain or bound name."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class BackendError(OccError):
    """The requested array backend is not available here."""


class FigureError(OccError):
    """Figures that could not be drawn (the tables they come from are kept)."""

    @classmethod
    def naming(cls, failed: dict[Any, str]) -> FigureError | None:
        """The error naming each figure not drawn (``failed``: why, by path), or None."""
        return cls(f"figures not drawn: {'; '.join(failed.values())}") if failed else None
