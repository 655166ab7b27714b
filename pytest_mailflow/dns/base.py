"""The DNS source protocol every rule, pyspf and checkdmarc go through.

A source answers a :class:`Question` with an :class:`Answer` (records in presentation form, the
CNAME chain that led to them, the outcome and where the answer came from) or raises
:class:`ResolutionError` when the answer could not be determined (timeout, SERVFAIL, REFUSED,
FORMERR, unreachable server, missing recording). NXDOMAIN and NODATA are answers, not errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from ..errors import Indeterminate
from ..names import absolute

Status = Literal["NOERROR", "NODATA", "NXDOMAIN"]

#: Record types the project asks for.
SUPPORTED_TYPES = ("A", "AAAA", "CNAME", "MX", "NS", "PTR", "SOA", "SPF", "SRV", "TLSA", "TXT", "CAA", "DS")


@dataclass(frozen=True, order=True)
class Question:
    name: str
    rdtype: str

    @classmethod
    def of(cls, name: str, rdtype: str) -> Question:
        return cls(absolute(name), rdtype.upper())

    def __str__(self) -> str:
        return f"{self.name} {self.rdtype}"


@dataclass(frozen=True)
class Answer:
    """What a source said about one question.

    ``records`` are the RDATA of the final RRset in DNS presentation format; ``cname_chain`` lists
    the successive CNAME targets followed from the question name (empty when there was no alias);
    ``status`` is NOERROR with records, NODATA (the name exists, the type does not) or NXDOMAIN.
    """

    question: Question
    status: Status
    records: tuple[str, ...] = ()
    cname_chain: tuple[str, ...] = ()
    provenance: str = ""
    ttl: int | None = None

    @property
    def is_void(self) -> bool:
        return self.status != "NOERROR" or not self.records

    @property
    def final_name(self) -> str:
        return self.cname_chain[-1] if self.cname_chain else self.question.name

    def describe(self) -> str:
        chain = "".join(f" CNAME {target}" for target in self.cname_chain)
        body = "; ".join(self.records) if self.status == "NOERROR" and self.records else self.status
        source = f"  [{self.provenance}]" if self.provenance else ""
        return f"{self.question}{chain} -> {body}{source}"


class ResolutionError(Indeterminate):
    """The answer to a question could not be determined; checks that need it become errors."""

    def __init__(self, question: Question, cause: str, detail: str = "", provenance: str = "") -> None:
        self.question = question
        self.cause = cause
        self.detail = detail
        self.provenance = provenance
        text = f"could not determine {question}: {cause}"
        if detail:
            text += f" ({detail})"
        if provenance:
            text += f" [{provenance}]"
        super().__init__(text)


class DnsSource(Protocol):
    """Anything that answers DNS questions for the gatherer."""

    def resolve(self, question: Question) -> Answer:
        """Answer a question or raise :class:`ResolutionError`."""
        ...

    def describe(self) -> str:
        """A short human description (used in reports and failure text)."""
        ...


class SourceFactory(Protocol):
    """Hands out the source to use for one policy domain (cassettes are stored per domain)."""

    def source_for(self, domain: str, policy_path: str) -> DnsSource: ...

    def describe(self) -> str: ...


@dataclass
class QuestionLog:
    """Records every question a source was asked, in order (used for recording and metrics)."""

    asked: list[Question] = field(default_factory=list)
