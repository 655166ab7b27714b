"""TLSA records (RFC 6698 §2, RFC 7218 names) read for SMTP DANE (RFC 7672).

:func:`parse_tlsa` is total: unreadable text gives a record whose fields are ``None`` and whose
``errors`` say why. Certificates are not matched and DNSSEC is not validated here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import dns.rdtypes.ANY.TLSA

from ..dns.records import RecordSyntaxError, parse_rdata
from .mta_sts import shown

USAGES = {0: "PKIX-TA(0)", 1: "PKIX-EE(1)", 2: "DANE-TA(2)", 3: "DANE-EE(3)"}
SELECTORS = {0: "Cert(0)", 1: "SPKI(1)"}
MATCHING_TYPES = {0: "Full(0)", 1: "SHA2-256(1)", 2: "SHA2-512(2)"}
#: Digest length in octets for the hashing matching types (RFC 6698 §2.1.3).
DIGEST_OCTETS = {1: 32, 2: 64}
#: RFC 7672 §3.1: the certificate usages SMTP uses; PKIX-TA(0) and PKIX-EE(1) are not (§3.1.3).
SMTP_USAGES = (2, 3)

_OCTET = re.compile(r"[0-9]{1,3}\Z")
_HEX = re.compile(r"[0-9A-Fa-f]*\Z")


@dataclass(frozen=True)
class TlsaRecord:
    text: str
    usage: int | None = None
    selector: int | None = None
    matching_type: int | None = None
    #: The certificate association data, lower-case hex.
    data: str = ""
    #: Why the record cannot be used at all (unreadable, unassigned values, wrong digest length).
    errors: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def usable_for_smtp(self) -> bool:
        """Readable, with assigned values, and a usage SMTP uses (DANE-TA(2) or DANE-EE(3))."""
        return self.valid and self.usage in SMTP_USAGES

    def describe(self) -> str:
        if self.usage is None or self.selector is None or self.matching_type is None:
            return shown(self.text)
        data = self.data if len(self.data) <= 16 else self.data[:16] + "…"
        return (
            f"{' '.join(str(v) for v in (self.usage, self.selector, self.matching_type, data) if v != '')} "
            f"({_name(USAGES, self.usage)}, {_name(SELECTORS, self.selector)}, "
            f"{_name(MATCHING_TYPES, self.matching_type)})"
        )


def _name(names: dict[int, str], value: int) -> str:
    return names.get(value, f"unassigned({value})")


def _semantic_errors(usage: int, selector: int, matching_type: int, data: str) -> list[str]:
    errors = []
    if usage not in USAGES:
        errors.append(f"certificate usage {usage} is not assigned (0-3)")
    if selector not in SELECTORS:
        errors.append(f"selector {selector} is not assigned (0 Cert, 1 SPKI)")
    if matching_type not in MATCHING_TYPES:
        errors.append(f"matching type {matching_type} is not assigned (0 Full, 1 SHA2-256, 2 SHA2-512)")
    if not data:
        errors.append("the record has no certificate association data")
    elif matching_type in DIGEST_OCTETS and len(data) != 2 * DIGEST_OCTETS[matching_type]:
        errors.append(
            f"a {MATCHING_TYPES[matching_type]} digest is {DIGEST_OCTETS[matching_type]} octets "
            f"({2 * DIGEST_OCTETS[matching_type]} hex digits), not {len(data) // 2}"
        )
    return errors


def parse_tlsa(text: str) -> TlsaRecord:
    """Read ``usage selector matching-type data`` (data hex, possibly split by spaces), or ``\\#`` form."""
    tokens = text.split()
    if tokens and tokens[0] == "\\#":
        try:
            rdata = parse_rdata("TLSA", text)
        except RecordSyntaxError as exc:
            return TlsaRecord(text, errors=(f"unreadable TLSA record: {exc}",))
        assert isinstance(rdata, dns.rdtypes.ANY.TLSA.TLSA)
        usage, selector, mtype = int(rdata.usage), int(rdata.selector), int(rdata.mtype)
        data = bytes(rdata.cert).hex()
        return TlsaRecord(text, usage, selector, mtype, data, tuple(_semantic_errors(usage, selector, mtype, data)))
    if len(tokens) < 3:
        return TlsaRecord(text, errors=(f"{shown(text)} is not 'usage selector matching-type data' (RFC 6698 §2.2)",))
    fields: list[int] = []
    for label, token in zip(("certificate usage", "selector", "matching type"), tokens[:3], strict=True):
        if not _OCTET.match(token) or int(token) > 255:
            return TlsaRecord(text, errors=(f"the {label} {shown(token)} is not a number from 0 to 255",))
        fields.append(int(token))
    usage, selector, mtype = fields
    data = "".join(tokens[3:])
    if not _HEX.match(data) or len(data) % 2:
        return TlsaRecord(
            text,
            usage,
            selector,
            mtype,
            errors=("the certificate association data is not an even number of hex digits",),
        )
    data = data.lower()
    return TlsaRecord(text, usage, selector, mtype, data, tuple(_semantic_errors(usage, selector, mtype, data)))


def smtp_problem(record: TlsaRecord) -> str | None:
    """Why a TLSA record does not serve SMTP DANE, if it does not (RFC 7672 §3.1)."""
    if record.errors:
        return f"TLSA {record.describe()} is unusable: " + "; ".join(record.errors)
    if record.usage is not None and record.usage not in SMTP_USAGES:
        return (
            f"TLSA {record.describe()} uses {USAGES[record.usage]}, which is not to be used for SMTP "
            "(RFC 7672 §3.1.3); DANE senders ignore it: publish DANE-EE(3) or DANE-TA(2)"
        )
    return None


def is_microsoft_dane_host(host: str) -> bool:
    """An Exchange Online DNSSEC endpoint (``<token>.<c>-v1.mx.microsoft``): Microsoft publishes its TLSA."""
    return host.strip().lower().rstrip(".").endswith(".mx.microsoft")


def is_microsoft_legacy_host(host: str) -> bool:
    """An Exchange Online endpoint under mail.protection.outlook.com, which cannot offer inbound DANE."""
    return host.strip().lower().rstrip(".").endswith(".mail.protection.outlook.com")


def microsoft_hint(host: str) -> str | None:
    """What to do about a Microsoft 365 MX host without TLSA records, if it is one."""
    if is_microsoft_dane_host(host):
        return (
            f"{host} is an Exchange Online DNSSEC endpoint: Microsoft publishes and rotates its TLSA records once "
            "inbound DANE is enabled (Enable-SmtpDaneInbound); you do not publish them yourself"
        )
    if is_microsoft_legacy_host(host):
        return (
            f"{host} is on the legacy mail.protection.outlook.com infrastructure, which cannot offer inbound DANE: "
            "run Enable-DnssecForVerifiedDomain, move the MX to the DnssecMxValue it returns (…mx.microsoft), "
            "then Enable-SmtpDaneInbound"
        )
    return None
