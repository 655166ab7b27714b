"""Parsing DMARC records (RFC 7489 §6.3, §6.4): tag=value pairs with ``v=DMARC1`` first.

Parsing never raises: problems that make the record invalid are collected in ``errors``, remarks
that do not (unknown tags, tag order, letter case) in ``notes``. Report URIs are checked on their
own (``uris()``), because receivers judge them one by one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from ..names import InvalidDomainName, to_a_label

#: Tags RFC 7489 §6.3 defines.
RFC7489_TAGS = ("v", "p", "sp", "pct", "adkim", "aspf", "rua", "ruf", "fo", "rf", "ri")
#: Tags of later documents: np (RFC 9091, PSD DMARC), psd and t (RFC 9989, DMARCbis).
LATER_TAGS = ("np", "psd", "t")
#: Every tag the rules know; others are ignored by receivers (§6.3) and noted.
KNOWN_TAGS = RFC7489_TAGS + LATER_TAGS
#: Requested policies, weakest first.
POLICIES = ("none", "quarantine", "reject")
#: The largest "ri" value: a 32-bit unsigned integer (§6.3).
MAX_INTERVAL = 2**32 - 1

_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_SIZE = re.compile(r"^(?P<uri>[^!]*)(?:!(?P<size>.*))?$", re.DOTALL)
_SIZE_VALUE = re.compile(r"[0-9]+[kmgtKMGT]?")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
_KEYWORD = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?")
_LOCAL_FORBIDDEN = set(' \t\r\n<>()[],;:\\"')


def is_dmarc_record(txt: str) -> bool:
    """A TXT value is a DMARC record when its first tag is ``v=DMARC1`` (§6.6.3 step 3).

    The tag name is matched without regard to case (§6.4 ABNF); the value ``DMARC1`` exactly (§6.3).
    """
    first = txt.split(";", 1)[0].strip()
    name, _, value = first.partition("=")
    return name.strip().lower() == "v" and value.strip() == "DMARC1"


def strength(policy: str) -> int:
    """Rank of a requested policy: none < quarantine < reject."""
    return POLICIES.index(policy)


@dataclass(frozen=True)
class ReportUri:
    text: str
    scheme: str  # mailto, https, ... (lower case); "" when the text has none
    address: str  # the mailbox for mailto (percent-decoded)
    domain: str  # the mailbox's domain for mailto (lower-case A-label), or ""
    error: str = ""
    size: str = ""  # the "!size" limit as written (without the "!"), or ""

    @property
    def valid(self) -> bool:
        return not self.error

    @property
    def mailbox(self) -> str:
        """The address as compared: lower case, the domain as an A-label."""
        local, _, _ = self.address.rpartition("@")
        return f"{local.lower()}@{self.domain}" if self.domain else self.address.lower()


@dataclass(frozen=True)
class Effective:
    """What receivers apply after RFC 7489 §6.6.3 step 5."""

    #: The policy for mail from the policy domain itself; None: no DMARC processing at all.
    policy: str | None
    #: The policy for its subdomains (sp, else p); None: no DMARC processing at all.
    subdomain_policy: str | None
    #: True when the record has no valid p (or an invalid sp) and a valid rua: receivers act as if p=none.
    fallback: bool
    #: The sampling percentage; None when pct is present but invalid.
    pct: int | None


@dataclass(frozen=True)
class DmarcRecord:
    text: str
    tags: dict[str, str]
    order: tuple[str, ...]
    errors: tuple[str, ...]
    notes: tuple[str, ...] = ()
    #: The tag list itself is broken (a part without '=', a bad tag name, a duplicate tag): receivers
    #: that follow the DKIM tag-list rules (RFC 6376 §3.2) may discard the whole record.
    malformed: bool = False

    def get(self, tag: str, default: str | None = None) -> str | None:
        return self.tags.get(tag, default)

    def render(self) -> str:
        """The record rebuilt from its tags in their order, as ``tag=value; ...`` with lower-case names
        (parts that were not tag=value pairs, and repeated tags, are left out)."""
        return "; ".join(f"{tag}={self.tags[tag]}" for tag in self.order)

    def uris(self, tag: str) -> tuple[ReportUri, ...]:
        value = self.tags.get(tag)
        if not value:
            return ()
        return tuple(parse_uri(part.strip()) for part in value.split(",") if part.strip())

    @property
    def policy(self) -> str | None:
        """The p value (lower case) when it is one of none/quarantine/reject."""
        return _policy_value(self.tags.get("p"))

    @property
    def subdomain_policy(self) -> str | None:
        """The sp value (lower case) when present and valid."""
        return _policy_value(self.tags.get("sp"))

    @property
    def pct(self) -> int | None:
        """The pct value: 100 when absent, None when present but not an integer from 0 to 100."""
        return _pct_value(self.tags.get("pct", "100"))

    def has_valid_rua(self) -> bool:
        return any(uri.valid for uri in self.uris("rua"))

    def effective(self) -> Effective:
        """The policies receivers apply, after the fallback of §6.6.3 step 5."""
        p = self.policy
        sp_broken = "sp" in self.tags and self.subdomain_policy is None
        if p is None or sp_broken:
            if self.has_valid_rua():
                return Effective("none", "none", True, self.pct)
            return Effective(None, None, False, self.pct)
        return Effective(p, self.subdomain_policy or p, False, self.pct)


def _policy_value(value: str | None) -> str | None:
    if value is None:
        return None
    lowered = value.lower()
    return lowered if lowered in POLICIES else None


def _pct_value(value: str) -> int | None:
    if not re.fullmatch(r"[0-9]{1,3}", value):
        return None
    number = int(value)
    return number if number <= 100 else None


def parse(text: str) -> DmarcRecord:
    """Split a DMARC record into tags; collect problems instead of raising."""
    errors: list[str] = []
    notes: list[str] = []
    tags: dict[str, str] = {}
    order: list[str] = []
    written: dict[str, str] = {}
    malformed = False
    for raw in text.split(";"):
        part = raw.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or not name:
            errors.append(f"'{part}' is not a tag=value pair")
            malformed = True
            continue
        if not _TAG_NAME.fullmatch(name):
            errors.append(f"'{name}' is not a valid tag name (a letter, then letters, digits or '_')")
            malformed = True
            continue
        key = name.lower()
        if key in tags:
            errors.append(f"tag '{key}' appears more than once (a tag list with duplicate tags is invalid)")
            malformed = True
            continue
        tags[key] = value.strip()
        order.append(key)
        written[key] = name
    if text[:1].isspace():
        notes.append("the record starts with white space; strict parsers expect 'v=DMARC1' at the very start")
    if not order or order[0] != "v":
        errors.append("'v=DMARC1' must be the first tag (RFC 7489 §6.3)")
    elif tags["v"] != "DMARC1":
        errors.append(f"the version must be exactly 'DMARC1', not '{tags['v']}'")
    errors += _value_errors(tags)
    notes += _notes(tags, order, written)
    return DmarcRecord(text, tags, tuple(order), tuple(errors), tuple(notes), malformed)


def _value_errors(tags: dict[str, str]) -> list[str]:
    errors = []
    if "p" not in tags:
        errors.append("the required tag 'p' is missing")
    elif _policy_value(tags["p"]) is None:
        errors.append(f"p='{tags['p']}' is not one of none, quarantine, reject")
    if "sp" in tags and _policy_value(tags["sp"]) is None:
        errors.append(f"sp='{tags['sp']}' is not one of none, quarantine, reject")
    for tag in ("adkim", "aspf"):
        if tag in tags and tags[tag].lower() not in ("r", "s"):
            errors.append(f"{tag}='{tags[tag]}' is not 'r' (relaxed) or 's' (strict)")
    if "pct" in tags and _pct_value(tags["pct"]) is None:
        errors.append(f"pct='{tags['pct']}' is not a whole number from 0 to 100")
    if "fo" in tags:
        options = [option.strip() for option in tags["fo"].split(":")]
        if any(option.lower() not in ("0", "1", "d", "s") for option in options):
            errors.append(f"fo='{tags['fo']}' is not a colon-separated list of 0, 1, d, s")
    if "rf" in tags:
        formats = [item.strip() for item in tags["rf"].split(":")]
        if any(not _KEYWORD.fullmatch(item) for item in formats):
            errors.append(f"rf='{tags['rf']}' is not a colon-separated list of report format names")
    if "ri" in tags:
        value = tags["ri"]
        if not re.fullmatch(r"[0-9]+", value):
            errors.append(f"ri='{value}' is not a number of seconds")
        elif int(value) > MAX_INTERVAL:
            errors.append(f"ri='{value}' is larger than a 32-bit unsigned integer")
    return errors


def _notes(tags: dict[str, str], order: list[str], written: dict[str, str]) -> list[str]:
    notes = []
    if "p" in order and order.index("p") != 1 and order[:1] == ["v"]:
        notes.append("'p' is not the second tag; the RFC 7489 §6.4 grammar puts it right after 'v'")
    upper = [written[key] for key in order if written[key] != key]
    if upper:
        notes.append(
            "tag names not in lower case: "
            + ", ".join(upper)
            + " (DKIM-style tag lists are case-sensitive; some receivers may not recognise them)"
        )
    for key in order:
        if key in LATER_TAGS:
            notes.append(
                f"tag '{key}' is not defined by RFC 7489 (it comes from a later RFC); older receivers ignore it"
            )
        elif key not in KNOWN_TAGS:
            notes.append(f"unknown tag '{key}' is ignored by receivers (RFC 7489 §6.3)")
    if "np" in tags and _policy_value(tags["np"]) is None:
        notes.append(f"np='{tags['np']}' is not one of none, quarantine, reject")
    for tag in ("psd", "t"):
        allowed = ("y", "n", "u") if tag == "psd" else ("y", "n")
        if tag in tags and tags[tag].lower() not in allowed:
            notes.append(f"{tag}='{tags[tag]}' is not one of {', '.join(allowed)}")
    if "rf" in tags:
        unknown = [item.strip() for item in tags["rf"].split(":") if item.strip().lower() != "afrf"]
        if unknown and all(_KEYWORD.fullmatch(item) for item in unknown):
            notes.append(f"rf lists formats other than 'afrf' ({', '.join(unknown)}), the only one RFC 7489 defines")
    if "fo" in tags and "ruf" not in tags:
        notes.append("fo has no effect without ruf")
    return notes


def parse_uri(text: str) -> ReportUri:
    """A dmarc-uri: a URI with an optional size limit (``mailto:a@example.com!10m``, §6.4).

    ``!`` and ``,`` inside the URI itself must be percent-encoded; the address is percent-decoded.
    """
    match = _SIZE.match(text)
    assert match is not None  # the pattern matches every string
    uri, size = match.group("uri"), match.group("size")
    if size is not None and not _SIZE_VALUE.fullmatch(size):
        return ReportUri(
            text, "", "", "", f"'!{size}' is not a size limit (digits with an optional k, m, g or t)", size
        )
    size = size or ""
    scheme, sep, rest = uri.partition(":")
    if not sep or not _SCHEME.fullmatch(scheme):
        return ReportUri(text, "", "", "", "missing URI scheme (write 'mailto:address')", size)
    scheme = scheme.lower()
    if scheme != "mailto":
        if not rest or any(c.isspace() for c in rest):
            return ReportUri(text, scheme, "", "", f"'{uri}' is not a URI", size)
        return ReportUri(text, scheme, "", "", "", size)
    address = unquote(rest.split("?", 1)[0])
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        return ReportUri(text, scheme, address, "", f"'{address}' is not a mailbox address", size)
    if local.startswith("/") or any(c in _LOCAL_FORBIDDEN or not c.isprintable() for c in local):
        return ReportUri(text, scheme, address, "", f"'{address}' is not a mailbox address", size)
    try:
        host = to_a_label(domain)
    except InvalidDomainName as exc:
        return ReportUri(text, scheme, address, "", f"'{address}' is not a mailbox address: {exc}", size)
    return ReportUri(text, scheme, address, host, "", size)
