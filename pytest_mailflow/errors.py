"""One exception tree for everything a user can get wrong or that the world can do to us."""

from __future__ import annotations

import re
from dataclasses import dataclass


class MailflowError(Exception):
    """Base of every error pytest-mailflow reports to a user (never shown with a traceback)."""


@dataclass(frozen=True)
class Problem:
    """One located problem in an input file: ``path:line:col: key.path: message``."""

    path: str
    line: int
    column: int
    key_path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}:{self.column}"
        text = f"{where}: {self.key_path}: {self.message}" if self.key_path else f"{where}: {self.message}"
        return printable(text)


#: Control characters (but tab and newline), and the bidirectional overrides that make text read
#: differently from what it holds ("Trojan Source").
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` with control characters escaped (``\\x1b``), newlines and tabs kept.

    Input files and DNS answers are untrusted: what they hold (a NUL, a terminal escape sequence) is
    quoted in messages and failure texts, and must not reach a terminal or a CI log as itself.
    """
    return _CONTROL.sub(lambda match: match.group().encode("unicode_escape").decode("ascii"), text)


class InputFileError(MailflowError):
    """A policy, cassette, zone or similar input file is unusable; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class PolicyError(InputFileError):
    """A policy file is invalid."""


class CassetteError(InputFileError):
    """A cassette file is invalid."""


class Indeterminate(MailflowError):
    """The answer needed to judge a rule could not be obtained: the check is an error, not a verdict."""
