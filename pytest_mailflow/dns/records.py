"""Reading records in DNS presentation format, through dnspython's parsers."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.MX
import dns.rdtypes.ANY.TXT


class RecordSyntaxError(ValueError):
    """A record's presentation text does not parse for its type."""


#: Records repeat across domains and rules (a vendor's SPF include, a cloud's DKIM keys), and these
#: parsers are pure: remember the last results instead of running dnspython's tokenizer again.
_CACHE_SIZE = 1 << 16


@lru_cache(maxsize=_CACHE_SIZE)
def parse_rdata(rdtype: str, text: str) -> dns.rdata.Rdata:
    """Parse one RDATA in presentation form; names stay absolute."""
    try:
        return dns.rdata.from_text(
            dns.rdataclass.IN, dns.rdatatype.from_text(rdtype), text, origin=dns.name.root, relativize=False
        )
    except (dns.exception.DNSException, ValueError, UnicodeError) as exc:
        shown = text if len(text) <= 100 else f"{text[:100]}... ({len(text)} characters)"
        raise RecordSyntaxError(f"not a valid {rdtype} record: {shown!r} ({exc})") from None


@lru_cache(maxsize=_CACHE_SIZE)
def normalise(rdtype: str, text: str) -> str:
    """The canonical presentation text of one record (what cassettes store)."""
    return parse_rdata(rdtype, text).to_text(origin=dns.name.root, relativize=False)


@lru_cache(maxsize=_CACHE_SIZE)
def txt_strings(text: str) -> tuple[bytes, ...]:
    """The character-strings of a TXT record, as stored on the wire."""
    rdata = parse_rdata("TXT", text)
    assert isinstance(rdata, dns.rdtypes.ANY.TXT.TXT)
    return tuple(rdata.strings)


@lru_cache(maxsize=_CACHE_SIZE)
def txt_value(text: str) -> str:
    """A TXT record's character-strings joined without separators (RFC 7208 §3.3, RFC 7489 §6.3).

    Bytes that are not valid UTF-8 are kept as replacement characters: the record is then reported
    as it is rather than dropped.
    """
    return b"".join(txt_strings(text)).decode("utf-8", errors="replace")


def txt_presentation(value: str) -> str:
    """Presentation text for a TXT value, split into 255-octet strings as a zone file would hold it."""
    data = value.encode("utf-8")
    chunks = [data[i : i + 255] for i in range(0, len(data), 255)] or [b""]
    rdata = dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, dns.rdatatype.TXT, chunks)
    return rdata.to_text()


@dataclass(frozen=True)
class MxRecord:
    preference: int
    exchange: str  # absolute, lower case; "." for a null MX

    @property
    def is_null(self) -> bool:
        return self.exchange == "."


@lru_cache(maxsize=_CACHE_SIZE)
def mx_record(text: str) -> MxRecord:
    rdata = parse_rdata("MX", text)
    assert isinstance(rdata, dns.rdtypes.ANY.MX.MX)
    return MxRecord(rdata.preference, rdata.exchange.to_text().lower())
