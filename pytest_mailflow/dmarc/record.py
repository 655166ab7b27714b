"""Parsing DMARC records (RFC 7489 §6.3, §6.4): tag=value pairs with ``v=DMARC1`` first."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

#: Tags RFC 7489 §6.3 defines; others are ignored (but reported as a warning by the rules).
KNOWN_TAGS = ("v", "p", "sp", "pct", "adkim", "aspf", "rua", "ruf", "fo", "rf", "ri", "np", "psd", "t")
_SIZE = re.compile(r"^(?P<uri>[^!]+)(?:!(?P<size>\d+)(?P<unit>[kmgt])?)?$", re.IGNORECASE)


def is_dmarc_record(txt: str) -> bool:
    """A TXT value is a DMARC record when its first tag is ``v=DMARC1`` (§6.6.3 step 3)."""
    first = txt.split(";", 1)[0].strip()
    name, _, value = first.partition("=")
    return name.strip().lower() == "v" and value.strip() == "DMARC1"


@dataclass(frozen=True)
class ReportUri:
    text: str
    scheme: str  # mailto, https, ... (lower case)
    address: str  # the mailbox for mailto
    domain: str  # the host part for mailto (lower case), or ""
    error: str = ""


@dataclass(frozen=True)
class DmarcRecord:
    text: str
    tags: dict[str, str]
    order: tuple[str, ...]
    errors: tuple[str, ...]

    def get(self, tag: str, default: str | None = None) -> str | None:
        return self.tags.get(tag, default)

    def uris(self, tag: str) -> tuple[ReportUri, ...]:
        value = self.tags.get(tag)
        if not value:
            return ()
        return tuple(parse_uri(part.strip()) for part in value.split(",") if part.strip())


def parse(text: str) -> DmarcRecord:
    """Split a DMARC record into tags; collect problems instead of raising."""
    errors: list[str] = []
    tags: dict[str, str] = {}
    order: list[str] = []
    for raw in text.split(";"):
        part = raw.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        name = name.strip().lower()
        if not sep or not name:
            errors.append(f"'{part}' is not a tag=value pair")
            continue
        if name in tags:
            errors.append(f"tag '{name}' appears more than once")
            continue
        tags[name] = value.strip()
        order.append(name)
    if not order or order[0] != "v":
        errors.append("'v=DMARC1' must be the first tag (RFC 7489 §6.3)")
    elif tags["v"] != "DMARC1":
        errors.append(f"the version must be exactly 'DMARC1', not '{tags['v']}'")
    return DmarcRecord(text, tags, tuple(order), tuple(errors))


def parse_uri(text: str) -> ReportUri:
    """A dmarc-uri: a URI with an optional size limit (``mailto:a@example.com!10m``, §6.4)."""
    match = _SIZE.match(text)
    if not match:
        return ReportUri(text, "", "", "", "not a URI with an optional '!size' suffix")
    uri = match.group("uri")
    scheme, sep, rest = uri.partition(":")
    if not sep or not scheme or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
        return ReportUri(text, "", "", "", "missing URI scheme (write 'mailto:address')")
    scheme = scheme.lower()
    if scheme != "mailto":
        return ReportUri(text, scheme, "", "")
    address = unquote(rest.split("?", 1)[0])
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or "." not in domain or any(c in domain for c in " ,;<>"):
        return ReportUri(text, scheme, address, "", f"'{address}' is not a mailbox address")
    return ReportUri(text, scheme, address, domain.lower().rstrip("."))
