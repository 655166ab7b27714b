"""The openspf.org RFC 7208 test suite as in-memory DNS sources, for replaying it through pyspf.

The suite (``vendor/rfc7208/rfc7208-tests.yml``) holds YAML documents, each a ``description``,
``tests`` (scenario name -> host, mailfrom, helo, result, ...) and the ``zonedata`` they run
against. :class:`SuiteZone` answers questions from a document's zonedata with the conventions
of pyspf's own driver (``test/testspf.py`` in the pyspf 2.0.14 sdist):

* each name maps to a list of one-entry maps (``{SPF: ...}``, ``{TXT: ...}``, ``{A: ...}``,
  ``{AAAA: ...}``, ``{MX: [preference, host]}``, ``{PTR: ...}``, ``{CNAME: ...}``) or the bare
  string ``TIMEOUT``; TXT and SPF values are a string or a list of character-strings;
* SPF entries are also served as TXT, unless the name has TXT entries of its own;
* ``TXT: NONE`` / ``SPF: NONE`` means no record of that type (``TXT: NONE`` still stops the copies);
* ``TIMEOUT``: a query for a type with records listed before it is answered with those records,
  any other query for the name times out (:class:`ResolutionError` with cause ``TIMEOUT``);
* names not in zonedata are NXDOMAIN, a name without records of the asked type is NODATA.

Unlike testspf.py, which hands pyspf the CNAME and one level of the target's records, CNAMEs
are chased the whole way as a recursive resolver would, and a loop is a resolution error (as in
:class:`pytest_mailflow.dns.zone.ZoneSource`). Records are in DNS presentation format, produced
by dnspython; YAML text is encoded as UTF-8 for the wire, as testspf.py does.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.CNAME
import dns.rdtypes.ANY.TXT
import yaml

from pytest_mailflow.dns.base import Answer, Question, ResolutionError
from pytest_mailflow.names import absolute

SUITE_DIR = Path(__file__).resolve().parents[2] / "vendor" / "rfc7208"
SUITE = SUITE_DIR / "rfc7208-tests.yml"
PROVENANCE = "rfc7208-tests.yml"

TIMEOUT = "TIMEOUT"
NONE = "NONE"


class SuiteFormatError(ValueError):
    """The suite file does not have the shape this loader expects."""


@dataclass(frozen=True)
class Record:
    rdtype: str
    text: str  # DNS presentation format


#: One zonedata entry: a record, or the ``TIMEOUT`` marker.
Entry = Record | None


def _rdata(rdtype: str, text: str) -> dns.rdata.Rdata:
    return dns.rdata.from_text(
        dns.rdataclass.IN, dns.rdatatype.from_text(rdtype), text, origin=dns.name.root, relativize=False
    )


def txt_text(strings: Sequence[str]) -> str | None:
    """Presentation text of a TXT record holding ``strings`` as its character-strings.

    Quoting and escaping (including of non-ASCII and control octets) is dnspython's. Returns
    ``None`` for an empty list: DNS (and dnspython) has no TXT record without character-strings.
    """
    if not strings:
        return None
    chunks = [s.encode("utf-8") for s in strings]
    return dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, chunks).to_text()


def _record(rdtype: str, value: Any, where: str) -> Record | None:
    """The record for one zonedata entry; ``None`` when the entry stands for no record."""
    if rdtype in {"TXT", "SPF"}:
        if value == NONE:
            return None
        strings = [value] if isinstance(value, str) else value
        if not isinstance(strings, list) or not all(isinstance(s, str) for s in strings):
            raise SuiteFormatError(f"{where}: {rdtype} value is not a string or a list of strings: {value!r}")
        text = txt_text(strings)
        return None if text is None else Record(rdtype, text)
    if rdtype == "MX":
        if not (isinstance(value, list) and len(value) == 2 and isinstance(value[0], int)):
            raise SuiteFormatError(f"{where}: MX value is not [preference, host]: {value!r}")
        # An empty exchange (mx-empty-domain) can only be written as the root name.
        host = str(value[1]) or "."
        return Record(rdtype, _rdata("MX", f"{value[0]} {host}").to_text())
    if rdtype in {"A", "AAAA", "PTR", "CNAME"}:
        return Record(rdtype, _rdata(rdtype, str(value)).to_text())
    raise SuiteFormatError(f"{where}: unknown record type {rdtype!r}")


def load_entries(name: str, items: Sequence[Any]) -> tuple[Entry, ...]:
    """Translate one name's zonedata list, adding TXT copies of SPF records where testspf.py does."""
    entries: list[Entry] = []
    has_txt = any(isinstance(item, dict) and "TXT" in item for item in items)
    for item in items:
        if item == TIMEOUT:
            entries.append(None)
            continue
        if not isinstance(item, dict):
            raise SuiteFormatError(f"{name}: entry is neither a record map nor TIMEOUT: {item!r}")
        for rdtype, value in item.items():
            record = _record(str(rdtype), value, name)
            if record is None:
                continue
            entries.append(record)
            if record.rdtype == "SPF" and not has_txt:
                entries.append(Record("TXT", record.text))
    return tuple(entries)


class SuiteZone:
    """Answers questions from one document's zonedata (see the module docstring)."""

    def __init__(self, zonedata: Mapping[str, Sequence[Any]]) -> None:
        self.names: dict[str, tuple[Entry, ...]] = {
            absolute(str(name)): load_entries(str(name), items or []) for name, items in zonedata.items()
        }

    def _rrset(self, question: Question, name: str, rdtype: str) -> tuple[str, ...]:
        found: list[str] = []
        for entry in self.names[name]:
            if entry is None:
                if found:
                    break
                raise ResolutionError(question, "TIMEOUT", f"{name} is marked TIMEOUT", PROVENANCE)
            if entry.rdtype == rdtype:
                found.append(entry.text)
        return tuple(found)

    def _alias(self, name: str) -> str | None:
        for entry in self.names[name]:
            if entry is not None and entry.rdtype == "CNAME":
                rdata = _rdata("CNAME", entry.text)
                assert isinstance(rdata, dns.rdtypes.ANY.CNAME.CNAME)
                return rdata.target.to_text().lower()
        return None

    def lookup(self, question: Question) -> Answer:
        name = question.name
        chain: list[str] = []
        while True:
            if name not in self.names:
                return Answer(question, "NXDOMAIN", (), tuple(chain), PROVENANCE)
            target = self._alias(name) if question.rdtype != "CNAME" else None
            if target is None:
                records = self._rrset(question, name, question.rdtype)
                return Answer(question, "NOERROR" if records else "NODATA", records, tuple(chain), PROVENANCE)
            if target == question.name or target in chain:
                raise ResolutionError(question, "CNAME loop", " -> ".join([question.name, *chain, target]), PROVENANCE)
            chain.append(target)
            name = target


@dataclass(frozen=True)
class Case:
    """One scenario of the suite and the zone it runs against."""

    document: str  # the description of the YAML document holding it
    name: str
    spec: str
    description: str
    host: str
    mailfrom: str
    helo: str
    results: tuple[str, ...]  # acceptable results, preferred first
    explanation: str | None
    strict: int | None
    zone: SuiteZone


def _results(value: Any) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(str(v) for v in value)


def load_documents(path: Path = SUITE) -> list[dict[str, Any]]:
    with path.open("rb") as stream:
        return [doc for doc in yaml.safe_load_all(stream) if doc is not None]


def load_cases(path: Path = SUITE) -> Iterator[Case]:
    for document in load_documents(path):
        zone = SuiteZone(document.get("zonedata") or {})
        for name, data in document["tests"].items():
            yield Case(
                document=str(document.get("description", "")),
                name=str(name),
                spec=str(data.get("spec", "")),
                description=str(data.get("description", "")),
                host=str(data["host"]),
                mailfrom=str(data["mailfrom"]),
                helo=str(data["helo"]),
                results=_results(data["result"]),
                explanation=None if data.get("explanation") is None else str(data["explanation"]),
                strict=data.get("strict"),
                zone=zone,
            )
