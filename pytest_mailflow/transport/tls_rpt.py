"""SMTP TLS Reporting (RFC 8460 §3): the ``_smtp._tls`` TXT record and its ``rua`` URIs.

Pure and total like the MTA-STS parser it shares its grammar with: problems are listed, never raised.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from .mta_sts import Published, check_ext_value, published, shown, split_fields

TLSRPT_VERSION = "v=TLSRPTv1"
SCHEMES = ("mailto", "https")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
# RFC 3986 characters: unreserved, reserved and '%' of pct-encoded.
_URI_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*\Z")
_HOST_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\Z")


@dataclass(frozen=True)
class ReportUri:
    """One ``rua`` destination. ``error`` makes the record invalid; ``unusable`` only this URI."""

    text: str
    scheme: str = ""
    error: str = ""
    unusable: str = ""

    @property
    def valid(self) -> bool:
        return not self.error and not self.unusable


@dataclass(frozen=True)
class TlsRptRecord:
    text: str
    rua: tuple[ReportUri, ...] = ()
    extensions: tuple[tuple[str, str], ...] = ()
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def destinations(self) -> tuple[str, ...]:
        """The URIs reports can be sent to."""
        return tuple(uri.text for uri in self.rua if uri.valid)


def _host_ok(host: str) -> bool:
    labels = host.rstrip(".").split(".")
    return len(labels) >= 2 and len(host) <= 253 and all(_HOST_LABEL.match(label) for label in labels)


def parse_report_uri(text: str) -> ReportUri:
    """A ``tlsrpt-uri``: a URI (RFC 3986) with ',' and '!' percent-encoded; mailto: or https: to be used."""
    if not text:
        return ReportUri(text, error="an empty URI in 'rua' (two commas in a row, or a trailing comma)")
    if not _URI_CHARS.match(text):
        return ReportUri(text, error=f"{shown(text)} holds characters a URI cannot (spaces, controls or non-ASCII)")
    if "!" in text:
        return ReportUri(
            text,
            error=f"{shown(text)}: '!' must be percent-encoded as %21 (RFC 8460 §3); "
            "TLS-RPT has no DMARC-style '!size' limit",
        )
    match = _SCHEME.match(text)
    if not match:
        return ReportUri(text, error=f"{shown(text)} is not a URI: it has no scheme (write 'mailto:' or 'https://')")
    scheme = match.group(1).lower()
    rest = text[match.end() :]
    if scheme == "mailto":
        address = unquote(rest.split("?", 1)[0])
        local, at, domain = address.rpartition("@")
        if not at or not local or not _host_ok(domain):
            return ReportUri(text, scheme, unusable=f"{shown(text)} does not name a mailbox (mailto:user@domain)")
        return ReportUri(text, scheme)
    if scheme == "https":
        try:
            host = urlsplit(text).hostname or ""
        except ValueError:
            host = ""
        if not rest.startswith("//") or not (_host_ok(host) or _is_bracketed_ip(text)):
            return ReportUri(text, scheme, unusable=f"{shown(text)} does not name a web server (https://host/path)")
        return ReportUri(text, scheme)
    hint = "; use https:" if scheme == "http" else ""
    return ReportUri(
        text, scheme, unusable=f"{shown(text)}: reports are sent only to mailto: or https: URIs (RFC 8460 §3){hint}"
    )


def _is_bracketed_ip(text: str) -> bool:
    try:
        return urlsplit(text).netloc.startswith("[") and bool(urlsplit(text).hostname)
    except ValueError:
        return False


def parse_tlsrpt_record(text: str) -> TlsRptRecord:
    """Parse ``v=TLSRPTv1; rua=<uri>[,<uri>...]`` plus extension fields (RFC 8460 §3)."""
    split = split_fields(text, TLSRPT_VERSION)
    errors = list(split.errors)
    warnings: list[str] = []
    rua: tuple[ReportUri, ...] = ()
    extensions: list[tuple[str, str]] = []
    seen_rua = False
    for name, value in split.fields:
        if name == "rua":
            if seen_rua:
                warnings.append("'rua' appears more than once; list every URI in one rua field, separated by commas")
                continue
            seen_rua = True
            rua = tuple(parse_report_uri(part.strip(" \t")) for part in value.split(","))
            continue
        problem = check_ext_value(name, value)
        if problem:
            errors.append(problem)
        else:
            extensions.append((name, value))
    if split.version_ok:
        if not seen_rua:
            errors.append("has no 'rua' field (RFC 8460 §3 requires 'rua=' with at least one URI)")
        else:
            errors += [uri.error for uri in rua if uri.error]
            unusable = [uri.unusable for uri in rua if uri.unusable]
            if not any(uri.valid for uri in rua):
                if not any(uri.error for uri in rua):
                    errors.append("no 'rua' URI can receive reports: " + "; ".join(unusable))
            else:
                warnings += [f"ignored: {reason}" for reason in unusable]
    return TlsRptRecord(text, rua, tuple(extensions), tuple(errors), tuple(warnings))


def published_tlsrpt(values: Iterable[str]) -> Published:
    """The ``_smtp._tls`` TXT values senders take as TLS-RPT records, and the near misses they discard."""
    return published(values, TLSRPT_VERSION)
