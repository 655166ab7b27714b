"""Authoritative answers from BIND zone files (through dnspython's zone parser).

Answers follow RFC 1034 §4.3.2 for the loaded zones: CNAME chasing (also into other loaded zones),
NXDOMAIN versus NODATA (an empty non-terminal is NODATA), and wildcard synthesis (RFC 4592). Names
outside every loaded zone go to the fallback source, or are errors that say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dns.exception
import dns.name
import dns.node
import dns.rdataclass
import dns.rdatatype
import dns.zone

from ..errors import InputFileError, Problem
from .base import Answer, DnsSource, Question, ResolutionError, Status

MAX_CNAME_CHAIN = 16


@dataclass(frozen=True)
class LoadedZone:
    origin: dns.name.Name
    zone: dns.zone.Zone
    display: str


def load_zone_text(text: str, origin: str, display: str) -> LoadedZone:
    """Parse a zone in BIND master-file format; names are kept absolute."""
    try:
        zone = dns.zone.from_text(text, origin=origin, relativize=False, check_origin=False, filename=display)
    except dns.exception.SyntaxError as exc:
        line = _line_of(str(exc))
        raise InputFileError([Problem(display, line, 1, "", f"zone file syntax error: {exc}")]) from None
    except dns.exception.DNSException as exc:
        raise InputFileError([Problem(display, 1, 1, "", f"zone file error: {exc}")]) from None
    assert zone.origin is not None
    return LoadedZone(zone.origin, zone, display)


def load_zone_file(path: Path, origin: str | None = None, display: str | None = None) -> LoadedZone:
    """Load a zone file; the origin defaults to the file name without ``.zone``/``.db``."""
    shown = display or str(path)
    name = origin or path.name.removesuffix(".zone").removesuffix(".db")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError([Problem(shown, 1, 1, "", f"not UTF-8 text ({exc.reason})")]) from None
    return load_zone_text(text, name, shown)


def _line_of(message: str) -> int:
    # dnspython reports "<file>:<line>: <message>"
    parts = message.split(":")
    for part in parts[1:3]:
        if part.strip().isdigit():
            return int(part.strip())
    return 1


class ZoneSource:
    """Answers for the names inside the loaded zones; everything else goes to ``fallback``."""

    def __init__(self, zones: list[LoadedZone], fallback: DnsSource | None = None) -> None:
        # Longest origin first so that a child zone wins over its parent.
        self.zones = sorted(zones, key=lambda z: len(z.origin), reverse=True)
        self.fallback = fallback

    def _zone_for(self, name: dns.name.Name) -> LoadedZone | None:
        for loaded in self.zones:
            if name.is_subdomain(loaded.origin):
                return loaded
        return None

    def resolve(self, question: Question) -> Answer:
        rdtype = dns.rdatatype.from_text(question.rdtype)
        name = dns.name.from_text(question.name)
        chain: list[str] = []
        provenance: list[str] = []
        for _ in range(MAX_CNAME_CHAIN):
            loaded = self._zone_for(name)
            if loaded is None:
                return self._fallback(question, name, chain, provenance)
            provenance.append(f"zone {loaded.display}")
            node, status = self._find(loaded, name)
            if node is None:
                return Answer(question, status, (), tuple(chain), ", ".join(provenance))
            if rdtype != dns.rdatatype.CNAME:
                cname = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.CNAME)
                if cname is not None:
                    target = next(iter(cname)).target
                    chain.append(target.to_text().lower())
                    name = target
                    continue
            rdataset = node.get_rdataset(dns.rdataclass.IN, rdtype)
            if rdataset is None:
                return Answer(question, "NODATA", (), tuple(chain), ", ".join(provenance))
            records = tuple(sorted(r.to_text(origin=dns.name.root, relativize=False) for r in rdataset))
            return Answer(question, "NOERROR", records, tuple(chain), ", ".join(provenance), rdataset.ttl)
        raise ResolutionError(question, "CNAME chain too long or looping", " -> ".join(chain), "zone files")

    def _find(self, loaded: LoadedZone, name: dns.name.Name) -> tuple[dns.node.Node | None, Status]:
        zone = loaded.zone
        node = zone.get_node(name)
        if node is not None and len(node.rdatasets) > 0:
            return node, "NOERROR"
        # An empty non-terminal (a name with descendants but no records) exists: NODATA.
        if any(other != name and other.is_subdomain(name) for other in zone.nodes):
            return None, "NODATA"
        # Wildcard synthesis from the closest encloser (RFC 4592 §4).
        encloser = name.parent()
        while encloser.is_subdomain(loaded.origin):
            exists = zone.get_node(encloser) is not None or any(other.is_subdomain(encloser) for other in zone.nodes)
            if exists:
                wildcard = zone.get_node(dns.name.Name((b"*", *encloser.labels)))
                if wildcard is not None:
                    return wildcard, "NOERROR"
                break
            if encloser == loaded.origin:
                break
            encloser = encloser.parent()
        return None, "NXDOMAIN"

    def _fallback(self, question: Question, name: dns.name.Name, chain: list[str], provenance: list[str]) -> Answer:
        if self.fallback is None:
            raise ResolutionError(
                Question.of(name.to_text(), question.rdtype),
                "outside the loaded zones and no fallback source is configured",
                "use --mailflow-fallback=cassette or live",
            )
        tail = self.fallback.resolve(Question.of(name.to_text(), question.rdtype))
        if not chain:
            return tail
        where = ", ".join([*provenance, tail.provenance])
        return Answer(question, tail.status, tail.records, (*chain, *tail.cname_chain), where, tail.ttl)

    def describe(self) -> str:
        return "zone files " + ", ".join(z.display for z in self.zones)
