"""Domain names as the project uses them: lower-case A-labels, absolute in DNS questions."""

from __future__ import annotations

import ipaddress
from typing import Any

import dns.exception
import dns.name

_IDNA = dns.name.IDNA_2008_Practical


class InvalidDomainName(ValueError):
    """A string that cannot be a host or domain name."""


def to_a_label(text: str) -> str:
    """Normalise a domain name to its lower-case A-label form without the trailing dot.

    Accepts U-labels (``bücher.example``) and A-labels; rejects IP literals, empty labels,
    labels over 63 octets, names over 253 octets and characters a host name cannot carry.
    """
    raw = text.strip()
    if not raw or raw in {".", ".."}:
        raise InvalidDomainName("a domain name cannot be empty")
    if raw.endswith(".."):
        raise InvalidDomainName(f"'{text}' ends with more than one dot; write the name with one final dot or none")
    if raw.endswith("."):
        raw = raw[:-1]
    if _is_ip(raw):
        raise InvalidDomainName(f"'{text}' is an IP address, not a domain name")
    if any(ch in raw for ch in ":/@\\"):
        raise InvalidDomainName(
            f"'{text}' is not a domain name; write the name alone (without 'include:', a scheme, a path or a mailbox)"
        )
    try:
        name = dns.name.from_unicode(raw, idna_codec=_IDNA)
        ascii_text = name.to_text(omit_final_dot=True).lower()
    except (dns.exception.DNSException, UnicodeError, ValueError) as exc:
        raise InvalidDomainName(f"'{text}' is not a valid domain name: {exc}") from None
    labels = ascii_text.split(".")
    for label in labels:
        if label.startswith("xn--") and not _punycode_ok(label):
            raise InvalidDomainName(
                f"'{text}' has the label '{label}', which starts with 'xn--' but is not valid punycode; "
                "write the name in its Unicode form or copy the A-label again"
            )
    if len(labels) < 2:
        raise InvalidDomainName(f"'{text}' has a single label; give the full domain name")
    for label in labels:
        if not label or any(not (ch.isalnum() or ch in "-_") for ch in label):
            raise InvalidDomainName(f"'{text}' has a label that is not a host name label: '{label}'")
        if label.startswith("-") or label.endswith("-"):
            raise InvalidDomainName(f"'{text}' has a label that starts or ends with '-': '{label}'")
    return ascii_text


def _punycode_ok(label: str) -> bool:
    """Whether an A-label (``xn--...``) decodes to the Unicode label it stands for (RFC 5890 §2.3.2.1)."""
    try:
        decoded = label[4:].encode("ascii").decode("punycode")
    except (UnicodeError, ValueError):
        return False
    # The decoding must hold something beyond ASCII, or it was never an IDN (xn--abc-).
    return bool(decoded) and not decoded.isascii()


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return text.replace(".", "").isdigit()
    return True


def organizational_domain(domain: str) -> str:
    """The organisational domain (RFC 7489 §3.2): one label below the public suffix.

    Uses the Public Suffix List shipped with ``publicsuffixlist`` (no download). A name that is itself
    a public suffix, or unknown to the list, is its own organisational domain.
    """
    from publicsuffixlist import PublicSuffixList

    global _PSL
    if _PSL is None:
        _PSL = PublicSuffixList()
    name = relative(domain)
    return str(_PSL.privatesuffix(name) or name)


_PSL: Any = None


def absolute(name: str) -> str:
    """The lower-case absolute form used in DNS questions (``contoso.example.``)."""
    lowered = name.strip().lower()
    return lowered if lowered.endswith(".") else lowered + "."


def relative(name: str) -> str:
    """Strip the trailing dot for display and comparison."""
    return name.lower().rstrip(".")
