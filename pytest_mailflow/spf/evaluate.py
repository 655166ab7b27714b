"""Evaluating SPF for a sender IP with pyspf, fed by the active DNS source.

pyspf sends every query through the module global ``spf.DNSLookup``. We install a dispatcher
once; it answers from the source bound to the current context (a ``ContextVar``, so threads and
asyncio tasks each see their own), and leaves other users of pyspf untouched.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import spf

from ..dns.base import Answer, Question, ResolutionError
from ..dns.records import RecordSyntaxError, mx_record, parse_rdata, txt_strings

Lookup = Callable[[Question], Answer]

_active: contextvars.ContextVar[Lookup | None] = contextvars.ContextVar("mailflow_spf_lookup", default=None)
_install_lock = threading.Lock()
_original: Any = None


@dataclass(frozen=True)
class SpfVerdict:
    ip: str
    result: str  # pass | fail | softfail | neutral | none | permerror | temperror
    explanation: str
    error: ResolutionError | None = None


def _dispatch(name: str, qtype: str, *args: Any, **kwargs: Any) -> list[tuple[tuple[str, str], Any]]:
    lookup = _active.get()
    if lookup is None:
        return list(_original(name, qtype, *args, **kwargs))
    try:
        answer = lookup(Question.of(name, qtype))
    except ResolutionError as exc:
        raise spf.TempError(f"DNS {exc}") from exc
    return _to_pyspf(name, qtype, answer)


def _to_pyspf(name: str, qtype: str, answer: Answer) -> list[tuple[tuple[str, str], Any]]:
    """Convert an answer to pyspf's ((name, type), value) tuples, CNAMEs first."""
    result: list[tuple[tuple[str, str], Any]] = []
    owner = name.rstrip(".")
    for target in answer.cname_chain:
        result.append(((owner, "CNAME"), target.rstrip(".")))
        owner = target.rstrip(".")
    for text in answer.records:
        try:
            if qtype in {"A", "AAAA"}:
                value: Any = text
            elif qtype == "MX":
                mx = mx_record(text)
                value = (mx.preference, mx.exchange.rstrip(".") or ".")
            elif qtype == "PTR":
                value = parse_rdata("PTR", text).to_text().rstrip(".")
            elif qtype in {"TXT", "SPF"}:
                value = list(txt_strings(text))
            else:
                continue
        except RecordSyntaxError:
            continue
        result.append(((owner, qtype), value))
    return result


def _install() -> None:
    global _original
    with _install_lock:
        if _original is None:
            _original = spf.DNSLookup
            spf.DNSLookup = _dispatch


@contextmanager
def answering_from(lookup: Lookup) -> Iterator[None]:
    """Make pyspf resolve through ``lookup`` inside the block (this thread/task only)."""
    _install()
    token = _active.set(lookup)
    try:
        yield
    finally:
        _active.reset(token)


def evaluate(domain: str, ip: str, lookup: Lookup) -> SpfVerdict:
    """Run a full RFC 7208 check_host() for ``ip`` sending as ``postmaster@domain``."""
    errors: list[ResolutionError] = []

    def recording_lookup(question: Question) -> Answer:
        try:
            return lookup(question)
        except ResolutionError as exc:
            errors.append(exc)
            raise

    with answering_from(recording_lookup):
        result, explanation = spf.check2(i=ip, s=f"postmaster@{domain}", h=domain, querytime=0, timeout=30)
    return SpfVerdict(ip, str(result), str(explanation), errors[0] if result == "temperror" and errors else None)
