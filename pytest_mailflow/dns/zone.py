"""Authoritative answers from zone data: BIND master files (dnspython) and octoDNS YAML.

Answers follow RFC 1034 §4.3.2 for the loaded zones: CNAME chasing (also into other loaded zones),
NXDOMAIN versus NODATA (an empty non-terminal is NODATA), and wildcard synthesis (RFC 4592). Names
outside every loaded zone go to the fallback source, or are errors that say so. Every answer names
the file and line of the records it came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dns.exception
import dns.name
import dns.node
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.tokenizer
import dns.transaction
import dns.zone
import dns.zonefile

from ..errors import InputFileError, Problem
from ..inputs import ZONE_MAX_BYTES, decode_text, read_input
from .base import Answer, DnsSource, Question, ResolutionError, Status
from .https import FetchError, HttpsResult, LiveFetcher

MAX_CNAME_CHAIN = 16
RecordKey = tuple[dns.name.Name, int]


@dataclass(frozen=True)
class LoadedZone:
    origin: dns.name.Name
    zone: dns.zone.Zone
    display: str
    #: Where each RRset was written: "file:line" (BIND) or octoDNS's own context.
    where: dict[RecordKey, str] = field(default_factory=dict, compare=False, hash=False)

    def provenance(self, name: dns.name.Name, rdtype: int) -> str:
        return f"zone {self.where.get((name, rdtype), self.display)}"


#: One zone fragment of an answer's provenance: BIND "zone FILE:LINE[,LINE...]" (see _LineRecorder) or
#: octoDNS "zone FILE, line N, column M"; fragments are joined with ", " along a CNAME chain.
_ZONE_FRAGMENT = re.compile(
    r"(?:^|, )zone (?P<path>[^,]+?)"
    r"(?::(?P<lines>[0-9]+(?:,[0-9]+)*)|, line (?P<line>[0-9]+)(?:, column [0-9]+)?)"
    r"(?=, |$| \()"
)


def zone_records(provenance: str) -> list[tuple[str, int]]:
    """The (zone file, line) of every record an answer's provenance names, in order, without repeats.

    Answers that came from a zone without a line (NXDOMAIN, NODATA) or from elsewhere name none."""
    found: list[tuple[str, int]] = []
    for match in _ZONE_FRAGMENT.finditer(provenance):
        lines = match.group("lines") or match.group("line") or ""
        for line in lines.split(","):
            record = (match.group("path"), int(line))
            if record not in found:
                found.append(record)
    return found


class _Reader(dns.zonefile.Reader):
    """dnspython's master-file reader, remembering the line where each record starts."""

    line = 0
    in_record = False

    def _rr_line(self) -> None:
        self.line = self.tok.where()[1]
        self.in_record = True  # stays True if the record fails to parse
        super()._rr_line()
        self.in_record = False


class _LineRecorder:
    """Wraps the zone transaction: every record added is noted with the reader's current line."""

    def __init__(self, txn: dns.transaction.Transaction, display: str, where: dict[RecordKey, str]) -> None:
        self._txn = txn
        self._display = display
        self._where = where
        self.reader: _Reader | None = None

    def add(self, *args: Any) -> None:
        if self.reader is not None and len(args) == 3 and isinstance(args[2], dns.rdata.Rdata):
            key = (args[0], args[2].rdtype)
            line = str(self.reader.line)
            known = self._where.get(key)
            if known is None:
                self._where[key] = f"{self._display}:{line}"
            elif not known.endswith(f":{line}") and not known.endswith(f",{line}"):
                self._where[key] = f"{known},{line}"  # every line of the RRset, e.g. two SPF records
        self._txn.add(*args)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._txn, attribute)


def load_zone_text(text: str, origin: str, display: str) -> LoadedZone:
    """Parse a zone in BIND master-file format; names are kept absolute; $INCLUDE is refused."""
    zone = dns.zone.Zone(dns.name.from_text(origin), dns.rdataclass.IN, relativize=False)
    where: dict[RecordKey, str] = {}
    reader: _Reader | None = None
    try:
        with zone.writer(True) as txn:
            recorder = _LineRecorder(txn, display, where)
            tokenizer = dns.tokenizer.Tokenizer(text, display)
            reader = _Reader(tokenizer, dns.rdataclass.IN, recorder, allow_include=False)  # type: ignore[arg-type]
            recorder.reader = reader
            reader.read()
    except dns.exception.SyntaxError as exc:
        line = _line_of(str(exc))
        if reader is not None and reader.in_record:
            line = reader.line  # where the broken record starts (the tokenizer may be past its end)
        raise InputFileError(
            [Problem(display, line, 1, "", f"zone file syntax error: {_message_of(str(exc))}")]
        ) from None
    except dns.exception.DNSException as exc:
        raise InputFileError([Problem(display, 1, 1, "", f"zone file error: {exc}")]) from None
    if zone.get_rdataset(zone.origin or dns.name.root, dns.rdatatype.SOA) is None:
        # An empty or cut-short file would otherwise answer NXDOMAIN for every name of the zone, and
        # name servers refuse to load a zone without its SOA record (RFC 1035 §5.2).
        what = "holds no records" if not where else f"has no SOA record at its origin {zone.origin}"
        raise InputFileError(
            [Problem(display, 1, 1, "", f"the zone file {what}; name servers would not load it: add the SOA record")]
        )
    return LoadedZone(zone.origin or dns.name.from_text(origin), zone, display, where)


def zone_from_records(origin: str, records: list[tuple[str, int, str, list[str], str]], display: str) -> LoadedZone:
    """Build a zone from (owner, ttl, type, [rdata text], where) tuples (used for octoDNS data)."""
    zone = dns.zone.Zone(dns.name.from_text(origin), dns.rdataclass.IN, relativize=False)
    where: dict[RecordKey, str] = {}
    problems: list[Problem] = []
    with zone.writer(True) as txn:
        for owner, ttl, rdtype, values, context in records:
            name = dns.name.from_text(owner)
            for value in values:
                try:
                    rdata = dns.rdata.from_text(
                        dns.rdataclass.IN,
                        dns.rdatatype.from_text(rdtype),
                        value,
                        origin=dns.name.root,
                        relativize=False,
                    )
                except (dns.exception.DNSException, ValueError) as exc:
                    problems.append(Problem(display, 1, 1, owner, f"{rdtype} value {value!r} does not parse: {exc}"))
                    continue
                txn.add(name, ttl, rdata)
                where.setdefault((name, rdata.rdtype), context)
    if problems:
        raise InputFileError(problems)
    return LoadedZone(zone.origin or dns.name.from_text(origin), zone, display, where)


def load_zone_file(path: Path, origin: str | None = None, display: str | None = None) -> LoadedZone:
    """Load a BIND zone file; the origin defaults to $ORIGIN or the file name (``<zone>.zone``)."""
    shown = display or str(path)
    text = read_zone_text(path, shown)
    return load_zone_text(text, origin or zone_origin_of(path, text), shown)


def read_zone_text(path: Path, display: str, within: tuple[Path, ...] = ()) -> str:
    """The text of a BIND zone file, read as untrusted input (size, file type, encoding, links)."""
    raw = read_input(
        path,
        display,
        what="zone file",
        limit=ZONE_MAX_BYTES,
        within=within,
        hint="split the zone into smaller files, or leave this one out of --mailflow-zones",
    )
    return decode_text(raw, display)


def zone_origin_of(path: Path, text: str) -> str:
    for line in text.splitlines():
        parts = line.split(";", 1)[0].split()
        if len(parts) >= 2 and parts[0].upper() == "$ORIGIN":
            return parts[1]
    name = path.name
    for suffix in (".zone", ".db"):
        name = name.removesuffix(suffix)
    return name.removeprefix("db.")


def _line_of(message: str) -> int:
    # dnspython reports "<file>:<line>: <message>"
    for part in message.split(":")[1:3]:
        if part.strip().isdigit():
            return int(part.strip())
    return 1


def _message_of(message: str) -> str:
    parts = message.split(":", 2)
    return parts[2].strip() if len(parts) == 3 and parts[1].strip().isdigit() else message


@dataclass(frozen=True)
class BrokenZone:
    """A zone whose file could not be loaded: its names are errors, never NXDOMAIN."""

    origin: dns.name.Name
    error: InputFileError


class ZoneSource:
    """Answers for the names inside the loaded zones; everything else goes to ``fallback``."""

    def __init__(
        self, zones: list[LoadedZone], fallback: DnsSource | None = None, broken: list[BrokenZone] | None = None
    ) -> None:
        # Longest origin first so that a child zone wins over its parent.
        self.zones = sorted(zones, key=lambda z: len(z.origin), reverse=True)
        self.fallback = fallback
        self.broken = broken or []

    def _zone_for(self, name: dns.name.Name) -> LoadedZone | None:
        """The most specific loaded zone that is authoritative for ``name`` (None: ask the fallback).

        A name at or below a delegation (NS records on a name other than the zone's origin) belongs
        to the child zone, which is not loaded: it goes to the fallback like any outside name.
        """
        for loaded in self.zones:
            if name.is_subdomain(loaded.origin):
                return None if self._delegated(loaded, name) else loaded
        return None

    @staticmethod
    def _delegated(loaded: LoadedZone, name: dns.name.Name) -> bool:
        probe = name
        while probe != loaded.origin and probe.is_subdomain(loaded.origin):
            node = loaded.zone.get_node(probe)
            if node is not None and node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.NS) is not None:
                return True
            probe = probe.parent()
        return False

    def resolve(self, question: Question) -> Answer:
        rdtype = dns.rdatatype.from_text(question.rdtype)
        try:
            name = dns.name.from_text(question.name)
        except dns.exception.DNSException as exc:
            # A name built from zone data can be too long to ask (_25._tcp. before a 250-octet MX host).
            raise ResolutionError(question, "not a name that can be asked", str(exc), "zone files") from None
        chain: list[str] = []
        provenance: list[str] = []
        for _ in range(MAX_CNAME_CHAIN):
            self._refuse_broken(question, name)
            loaded = self._zone_for(name)
            if loaded is None:
                return self._fallback(question, name, chain, provenance)
            node, status, owner = self._find(loaded, name)
            if node is None:
                provenance.append(f"zone {loaded.display}")
                return Answer(question, status, (), tuple(chain), ", ".join(provenance))
            if rdtype != dns.rdatatype.CNAME:
                cname = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.CNAME)
                if cname is not None:
                    provenance.append(loaded.provenance(owner, dns.rdatatype.CNAME))
                    target = next(iter(cname)).target
                    chain.append(target.to_text().lower())
                    name = target
                    continue
            rdataset = node.get_rdataset(dns.rdataclass.IN, rdtype)
            if rdataset is None:
                provenance.append(f"zone {loaded.display}")
                return Answer(question, "NODATA", (), tuple(chain), ", ".join(provenance))
            provenance.append(loaded.provenance(owner, rdtype))
            records = tuple(sorted(r.to_text(origin=dns.name.root, relativize=False) for r in rdataset))
            return Answer(question, "NOERROR", records, tuple(chain), ", ".join(provenance), rdataset.ttl)
        raise ResolutionError(question, "CNAME chain too long or looping", " -> ".join(chain), "zone files")

    def _refuse_broken(self, question: Question, name: dns.name.Name) -> None:
        # A broken zone shadows whatever is less specific (a loaded parent zone, or the fallback).
        loaded = self._zone_for(name)
        for broken in self.broken:
            if name.is_subdomain(broken.origin) and (loaded is None or len(broken.origin) > len(loaded.origin)):
                where = f"zone {broken.error.problems[0].path}" if broken.error.problems else ""
                raise ResolutionError(question, "the zone file for this name is invalid", str(broken.error), where)

    def _find(self, loaded: LoadedZone, name: dns.name.Name) -> tuple[dns.node.Node | None, Status, dns.name.Name]:
        zone = loaded.zone
        node = zone.get_node(name)
        if node is not None and len(node.rdatasets) > 0:
            return node, "NOERROR", name
        # An empty non-terminal (a name with descendants but no records) exists: NODATA.
        if any(other != name and other.is_subdomain(name) for other in zone.nodes):
            return None, "NODATA", name
        # Wildcard synthesis from the closest encloser (RFC 4592 §4).
        encloser = name.parent()
        while encloser.is_subdomain(loaded.origin):
            exists = zone.get_node(encloser) is not None or any(other.is_subdomain(encloser) for other in zone.nodes)
            if exists:
                wildcard_name = dns.name.Name((b"*", *encloser.labels))
                wildcard = zone.get_node(wildcard_name)
                if wildcard is not None:
                    return wildcard, "NOERROR", wildcard_name
                break
            if encloser == loaded.origin:
                break
            encloser = encloser.parent()
        return None, "NXDOMAIN", name

    def _fallback(self, question: Question, name: dns.name.Name, chain: list[str], provenance: list[str]) -> Answer:
        asked = Question.of(name.to_text(), question.rdtype)
        if self.fallback is None:
            raise ResolutionError(
                asked,
                "outside the loaded zones and no fallback source is configured",
                "use --mailflow-fallback=cassette or --mailflow-fallback=live",
            )
        tail = self.fallback.resolve(asked)
        if not chain:
            return tail
        where = ", ".join([*provenance, tail.provenance])
        return Answer(question, tail.status, tail.records, (*chain, *tail.cname_chain), where, tail.ttl)

    def fetch(self, url: str) -> HttpsResult:
        """Zone files hold no web content. With live DNS behind them, fetch live but resolve the host
        through the zone files (they say where mta-sts.<domain> will point); otherwise ask the fallback."""
        https_port = getattr(self.fallback, "https_port", None)
        if isinstance(https_port, int):
            return LiveFetcher(self.resolve, port=https_port).fetch(url)
        fetch = getattr(self.fallback, "fetch", None)
        if fetch is None:
            raise FetchError(url, "UNREACHABLE", "zone files hold no HTTPS content and the fallback cannot fetch")
        result: HttpsResult = fetch(url)
        return result

    def describe(self) -> str:
        return "zone files " + ", ".join(z.display for z in self.zones)
