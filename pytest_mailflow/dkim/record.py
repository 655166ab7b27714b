"""Parsing DKIM key records (RFC 6376 §3.6.1) and decoding their public keys.

A key record is a tag-list (RFC 6376 §3.2) published as TXT at ``<selector>._domainkey.<domain>``;
its character-strings are joined without separators before parsing (§3.6.2.2, see
:func:`pytest_mailflow.dns.records.txt_value`). Tags: ``v`` (``DKIM1``, first if present), ``h``
(acceptable hashes), ``k`` (key type, default ``rsa``; ``ed25519`` from RFC 8463), ``n`` (notes),
``p`` (base64 key data, REQUIRED; empty means revoked), ``s`` (service types) and ``t`` (flags).

RSA keys: RFC 6376 §3.6.1 names an RSAPublicKey (PKCS#1) structure, but its own example in
appendix C and practically every publisher and verifier use a SubjectPublicKeyInfo; both are
accepted and the form is reported. Ed25519 keys are the raw 32 bytes (RFC 8463).

Nothing here raises on hostile input: every problem is returned in ``errors`` (the record cannot be
used by a verifier) or ``warnings`` (worth fixing; verifiers still use the record).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

KEY_TYPES = ("rsa", "ed25519")
SPKI = "SubjectPublicKeyInfo"
PKCS1 = "RSAPublicKey (PKCS#1)"
RAW_ED25519 = "raw Ed25519"
#: Longer than any TXT RRset a DNS message can carry; longer input is refused unparsed.
MAX_LENGTH = 65535

_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_BAD_VALUE_CHAR = re.compile(r"[^\x21-\x3a\x3c-\x7e \t\r\n]")
_WHITESPACE = re.compile(r"[ \t\r\n]+")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_HOST_NAME = re.compile(r"(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}\.?", re.IGNORECASE)
_WSP = " \t\r\n"


@dataclass(frozen=True)
class DkimKeyRecord:
    """One parsed key record. ``errors`` make it unusable; a revoked record has none of its own."""

    text: str
    #: (name, value) in the order written; values without surrounding whitespace.
    tags: tuple[tuple[str, str], ...] = ()
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    key_type: str = "rsa"
    #: ``h=``: the acceptable hash algorithms, or None when any is acceptable.
    hash_algorithms: tuple[str, ...] | None = None
    service_types: tuple[str, ...] = ("*",)
    flags: tuple[str, ...] = ()
    #: ``p=`` with whitespace removed; None when the tag is missing, "" when revoked.
    public_key: str | None = None
    key_bits: int | None = None
    #: How ``p=`` encodes the key: :data:`SPKI`, :data:`PKCS1` or :data:`RAW_ED25519`.
    key_format: str = ""

    def tag(self, name: str) -> str | None:
        for tag, value in self.tags:
            if tag == name:
                return value
        return None

    @property
    def revoked(self) -> bool:
        """An empty ``p=``: the key was withdrawn (RFC 6376 §3.6.1, §6.1.2)."""
        return self.public_key == ""

    @property
    def usable(self) -> bool:
        """A verifier can check signatures with this record's key."""
        return not self.errors and not self.revoked and self.key_bits is not None

    @property
    def testing(self) -> bool:
        return "y" in self.flags

    def describe(self) -> str:
        """A short description: ``2048-bit RSA key``, ``Ed25519 key``, ``revoked key (empty p=)``..."""
        if self.revoked and not self.errors:
            return "revoked key (empty p=)"
        if self.key_bits is not None:
            kind = f"{self.key_bits}-bit RSA key" if self.key_type == "rsa" else "Ed25519 key"
            return kind if self.usable else f"unusable record with a {kind}"
        return "unusable key record"


def parse_key_record(text: str) -> DkimKeyRecord:
    """Parse a key record's text (its TXT character-strings already joined)."""
    if len(text) > MAX_LENGTH:
        return DkimKeyRecord(text[:80] + "…", errors=(f"the record is {len(text)} characters long; not parsed",))
    errors: list[str] = []
    warnings: list[str] = []
    tags = _tag_list(text, errors, warnings)
    values = dict(tags)

    if "v" in values:
        if tags[0][0] != "v":
            errors.append("'v=' must be the first tag when present (RFC 6376 §3.6.1)")
        if values["v"] != "DKIM1":
            errors.append(f"the version is 'v={_show(values['v'])}', not 'v=DKIM1'; verifiers discard the record")

    key_type = values.get("k", "rsa").lower()
    if key_type not in KEY_TYPES:
        errors.append(
            f"unknown key type 'k={_show(values.get('k', ''))}' (rsa or ed25519); verifiers ignore the record"
        )

    hashes: tuple[str, ...] | None = None
    if "h" in values:
        hashes = _colon_list(values["h"])
        if "sha256" not in hashes:
            listed = ":".join(hashes) or "nothing"
            errors.append(
                f"'h=' allows only {_show(listed)}: without sha256 no signature can verify "
                "(RFC 8301 §3.1 forbids rsa-sha1)"
            )

    services: tuple[str, ...] = ("*",)
    if "s" in values:
        services = _colon_list(values["s"])
        if not {"*", "email"} & set(services):
            errors.append(f"'s={_show(values['s'])}' does not include email or '*': the key is not for mail")

    flags = _colon_list(values["t"]) if "t" in values else ()
    if "y" in flags:
        warnings.append("'t=y': the domain is testing DKIM; verifiers may treat its mail as unsigned")

    public_key: str | None = None
    key_bits: int | None = None
    key_format = ""
    if "p" not in values:
        errors.append("no 'p=' tag: the public key is REQUIRED (RFC 6376 §3.6.1)")
    else:
        public_key = _WHITESPACE.sub("", values["p"])
        if public_key:
            data = _base64(public_key, errors)
            if data is not None and key_type in KEY_TYPES:
                key_bits, key_format = _decode_key(key_type, data, errors, warnings)
    return DkimKeyRecord(
        text=text,
        tags=tags,
        errors=tuple(errors),
        warnings=tuple(warnings),
        key_type=key_type,
        hash_algorithms=hashes,
        service_types=services,
        flags=flags,
        public_key=public_key,
        key_bits=key_bits,
        key_format=key_format,
    )


def looks_like_host_name(text: str) -> bool:
    """A TXT value that is a host name (``selector1-…._domainkey.contoso.onmicrosoft.com``), not a tag-list.

    The value a CNAME should have carried, pasted into a TXT record: a known publishing mistake.
    """
    value = text.strip().strip('"').strip()
    return "=" not in value and bool(_HOST_NAME.fullmatch(value)) and len(value) <= 254


def _tag_list(text: str, errors: list[str], warnings: list[str]) -> tuple[tuple[str, str], ...]:
    """RFC 6376 §3.2: ``tag=value`` pairs separated by ';', optional whitespace around each part."""
    tags: list[tuple[str, str]] = []
    seen: set[str] = set()
    parts = text.split(";")
    empty_inside = False
    for index, raw in enumerate(parts):
        part = raw.strip(_WSP)
        if not part:
            # A trailing ';' is allowed; an empty tag elsewhere is not in the grammar.
            empty_inside = empty_inside or index != len(parts) - 1
            continue
        name, sep, value = part.partition("=")
        name = name.strip(_WSP)
        value = value.strip(_WSP)
        if not sep:
            errors.append(f"'{_show(part)}' is not a tag=value pair (RFC 6376 §3.2)")
            continue
        if not _TAG_NAME.fullmatch(name):
            errors.append(f"'{_show(name)}' is not a valid tag name (RFC 6376 §3.2)")
            continue
        bad = _BAD_VALUE_CHAR.search(value)
        if bad:
            errors.append(
                f"tag '{name}' has the character {bad.group()!r}, which a tag value cannot contain (RFC 6376 §3.2)"
            )
        if name in seen:
            errors.append(f"tag '{name}' appears more than once, which invalidates the record (RFC 6376 §3.2)")
            continue
        if name != name.lower() and name.lower() in {"v", "h", "k", "n", "p", "s", "t"}:
            warnings.append(f"tag names are case-sensitive: '{name}=' is not '{name.lower()}=' and is ignored")
        seen.add(name)
        tags.append((name, value))
    if empty_inside and tags:
        warnings.append("an empty tag between two ';' (outside RFC 6376 §3.2; most verifiers skip it)")
    return tuple(tags)


def _colon_list(value: str) -> tuple[str, ...]:
    return tuple(item.strip(_WSP).lower() for item in value.split(":") if item.strip(_WSP))


def _base64(value: str, errors: list[str]) -> bytes | None:
    if not _BASE64.fullmatch(value) or len(value) % 4:
        bad = next((ch for ch in value if not (ch.isascii() and (ch.isalnum() or ch in "+/="))), None)
        if bad is not None:
            reason = f"the character {bad!r}"
        elif len(value) % 4:
            reason = f"{len(value)} characters, not a multiple of 4: padding is missing or the key is cut short"
        else:
            reason = "'=' padding in the middle"
        errors.append(f"'p=' is not valid base64 ({reason})")
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        errors.append(f"'p=' is not valid base64 ({exc})")
        return None


def _decode_key(key_type: str, data: bytes, errors: list[str], warnings: list[str]) -> tuple[int | None, str]:
    if key_type == "ed25519":
        return _decode_ed25519(data, errors)
    try:
        key = serialization.load_der_public_key(data)
    except Exception:  # cryptography raises ValueError, UnsupportedAlgorithm, ... on hostile DER
        errors.append(
            f"'p=' ({len(data)} bytes) is not an RSA public key in DER form "
            "(neither SubjectPublicKeyInfo nor RSAPublicKey; is the key cut short?)"
        )
        return None, ""
    if not isinstance(key, rsa.RSAPublicKey):
        errors.append(f"'p=' holds {_kind(key)} key, but the record says k=rsa")
        return None, ""
    form = _rsa_form(key, data)
    if form == PKCS1:
        warnings.append(
            "'p=' holds a bare RSAPublicKey (PKCS#1); most publishers use a SubjectPublicKeyInfo, "
            "and some verifiers accept only that"
        )
    elif not form:
        warnings.append("'p=' is not in canonical DER form; strict verifiers may refuse it")
        form = SPKI
    return key.key_size, form


def _decode_ed25519(data: bytes, errors: list[str]) -> tuple[int | None, str]:
    if len(data) != 32:
        try:
            wrapped = serialization.load_der_public_key(data)
        except Exception:  # as above: any failure means "not a key"
            wrapped = None
        if isinstance(wrapped, ed25519.Ed25519PublicKey):
            errors.append(
                "'p=' holds an Ed25519 key wrapped in a SubjectPublicKeyInfo; RFC 8463 publishes the raw 32 bytes"
            )
        else:
            errors.append(f"an Ed25519 key is 32 bytes; 'p=' holds {len(data)}")
        return None, ""
    try:
        ed25519.Ed25519PublicKey.from_public_bytes(data)
    except Exception:  # as above
        errors.append("'p=' is not a valid Ed25519 public key")
        return None, ""
    return 256, RAW_ED25519


def _rsa_form(key: rsa.RSAPublicKey, data: bytes) -> str:
    der = serialization.Encoding.DER
    if key.public_bytes(der, serialization.PublicFormat.SubjectPublicKeyInfo) == data:
        return SPKI
    if key.public_bytes(der, serialization.PublicFormat.PKCS1) == data:
        return PKCS1
    return ""


def _kind(key: object) -> str:
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "an Ed25519"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "an elliptic-curve"
    return "a non-RSA"


def _show(text: str, limit: int = 40) -> str:
    """Quote hostile text safely: escaped, and cut at ``limit`` characters."""
    escaped = text.encode("unicode_escape").decode("ascii")
    return escaped if len(escaped) <= limit else escaped[:limit] + "…"
