"""Parsing SPF records into terms (RFC 7208 §4.6 and the ABNF of §12).

This parser only splits and checks syntax; evaluation for a sender IP is pyspf's job.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

MECHANISMS = ("all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists")
#: Terms that cause DNS queries and count toward the limit of 10 (RFC 7208 §4.6.4).
LOOKUP_TERMS = frozenset({"include", "a", "mx", "ptr", "exists", "redirect"})
QUALIFIERS = "+-~?"

_VERSION = re.compile(r"^v=spf1(?: |$)", re.IGNORECASE)
_MODIFIER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
_MACRO = re.compile(r"%(?:\{[slodiphcrtv][0-9]*r?[-.+,/_=]*\}|%|_|-)", re.IGNORECASE)
_MACRO_EXPAND = re.compile(r"%\{[slodiphcrtv][0-9]*r?[-.+,/_=]*\}", re.IGNORECASE)
# toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )  (RFC 7208 §7.1)
_TOPLABEL = re.compile(r"^(?:[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*|[A-Za-z0-9]+-[A-Za-z0-9-]*[A-Za-z0-9])$")
_CIDR4 = re.compile(r"/(\d{1,2})$")
_DUAL_CIDR = re.compile(r"^(.*?)(?:/(\d{1,2}))?(?://(\d{1,3}))?$")


def is_spf_record(txt: str) -> bool:
    """A TXT value is an SPF record when it starts with ``v=spf1`` then a space or its end (§4.5)."""
    return bool(_VERSION.match(txt))


@dataclass(frozen=True)
class Term:
    """One directive (qualifier + mechanism) or modifier of an SPF record."""

    text: str
    kind: str  # mechanism name, or modifier name in lower case
    is_modifier: bool
    qualifier: str = "+"
    target: str | None = None  # domain-spec, IP network, or modifier value
    cidr: str = ""  # the dual-cidr-length of an 'a' or 'mx' mechanism as written ("/24", "//64", "/24//64")

    def render(self) -> str:
        """The term in canonical form: lower-case names, no '+' qualifier (it is the default, §4.6.2)."""
        if self.is_modifier:
            return f"{self.kind}={self.target or ''}"
        qualifier = "" if self.qualifier == "+" else self.qualifier
        target = f":{self.target}" if self.target is not None else ""
        return f"{qualifier}{self.kind}{target}{self.cidr}"

    @property
    def has_macro(self) -> bool:
        return self.target is not None and bool(_MACRO_EXPAND.search(self.target))

    @property
    def causes_lookup(self) -> bool:
        # An unknown modifier named like a mechanism ("include=x") is ignored by evaluation (§6).
        return self.kind in LOOKUP_TERMS and (not self.is_modifier or self.kind == "redirect")


@dataclass(frozen=True)
class SpfRecord:
    text: str
    terms: tuple[Term, ...]
    errors: tuple[str, ...]

    @property
    def mechanisms(self) -> tuple[Term, ...]:
        return tuple(t for t in self.terms if not t.is_modifier)

    def render(self) -> str:
        """The record rebuilt from its terms (terms that did not parse are left out)."""
        return " ".join(["v=spf1", *(term.render() for term in self.terms)])

    def modifier(self, name: str) -> Term | None:
        return next((t for t in self.terms if t.is_modifier and t.kind == name), None)

    @property
    def all_term(self) -> Term | None:
        return next((t for t in self.mechanisms if t.kind == "all"), None)

    @property
    def evaluated_terms(self) -> tuple[Term, ...]:
        """Terms an evaluation can reach: mechanisms after ``all`` are never tested (§5.1),
        and ``redirect`` is ignored when the record has an ``all`` (§6.1)."""
        has_all = self.all_term is not None
        cut = next((i for i, t in enumerate(self.terms) if t.kind == "all" and not t.is_modifier), None)
        return tuple(
            term
            for index, term in enumerate(self.terms)
            if (term.is_modifier and not (term.kind == "redirect" and has_all))
            or (not term.is_modifier and (cut is None or index <= cut))
        )


def parse(text: str) -> SpfRecord:
    """Split an SPF record into terms and collect every syntax error (each one is a permerror)."""
    errors: list[str] = []
    if not is_spf_record(text):
        return SpfRecord(text, (), ("the record does not start with 'v=spf1'",))
    terms: list[Term] = []
    seen_modifiers: set[str] = set()
    for token in text.split(" ")[1:]:
        if not token:
            continue
        term, error = _parse_term(token)
        if error:
            errors.append(error)
        if term is None:
            continue
        if term.is_modifier and term.kind in {"redirect", "exp"}:
            if term.kind in seen_modifiers:
                errors.append(f"'{term.kind}=' appears more than once (RFC 7208 §6)")
            seen_modifiers.add(term.kind)
        terms.append(term)
    if any(ord(ch) > 127 or (ord(ch) < 32) for ch in text):
        errors.append("the record contains characters outside printable US-ASCII (RFC 7208 §12)")
    return SpfRecord(text, tuple(terms), tuple(errors))


def _parse_term(token: str) -> tuple[Term | None, str | None]:
    name_part = re.split(r"[:/=]", token, maxsplit=1)[0]
    if "=" in token and _MODIFIER_NAME.match(name_part) and token[len(name_part)] == "=":
        return _parse_modifier(token, name_part)
    qualifier = "+"
    body = token
    if body[0] in QUALIFIERS:
        qualifier, body = body[0], body[1:]
    match = re.match(r"^([A-Za-z0-9]+)(.*)$", body)
    if not match:
        return None, f"'{token}' is not a mechanism or modifier"
    kind, rest = match.group(1).lower(), match.group(2)
    if kind not in MECHANISMS:
        return None, f"unknown mechanism '{match.group(1)}' in '{token}' (RFC 7208 §5)"
    return _parse_mechanism(token, qualifier, kind, rest)


def _parse_modifier(token: str, name: str) -> tuple[Term | None, str | None]:
    value = token[len(name) + 1 :]
    kind = name.lower()
    term = Term(token, kind, True, "+", value)
    if kind in {"redirect", "exp"}:
        error = _check_domain_spec(value, token, explanation=kind == "exp")
        return term, error
    if not _macro_string_ok(value):
        return term, f"'{token}' has an invalid macro (RFC 7208 §7.1)"
    return term, None


def _parse_mechanism(token: str, qualifier: str, kind: str, rest: str) -> tuple[Term | None, str | None]:
    if kind == "all":
        if rest:
            return None, f"'{token}': 'all' takes no argument"
        return Term(token, kind, False, qualifier), None
    if kind in {"ip4", "ip6"}:
        if not rest.startswith(":"):
            return None, f"'{token}': {kind} needs an address (RFC 7208 §5.6)"
        return _parse_ip(token, qualifier, kind, rest[1:])
    if kind in {"include", "exists"}:
        if not rest.startswith(":") or len(rest) < 2:
            return None, f"'{token}': {kind} needs a domain (RFC 7208 §5.2, §5.7)"
        return Term(token, kind, False, qualifier, rest[1:]), _check_domain_spec(rest[1:], token)
    # a, mx, ptr: optional :domain-spec; a and mx also take dual-cidr-length
    target: str | None = None
    if rest.startswith(":"):
        rest = rest[1:]
        if kind == "ptr":
            target = rest
            rest = ""
        else:
            match = _DUAL_CIDR.match(rest)
            assert match is not None
            target = match.group(1)
            rest = rest[len(target) :]
        if not target:
            return None, f"'{token}': empty domain after ':'"
    if rest:
        if kind == "ptr":
            return None, f"'{token}': ptr takes no CIDR length"
        error = _check_dual_cidr(rest, token)
        if error:
            return None, error
    error = _check_domain_spec(target, token) if target else None
    return Term(token, kind, False, qualifier, target, rest), error


def _parse_ip(token: str, qualifier: str, kind: str, value: str) -> tuple[Term | None, str | None]:
    address, _, length = value.partition("/")
    if "%" in address or (length and not length.isdigit()):
        # ipaddress accepts zone indexes and netmasks; the SPF grammar has neither (§5.6).
        return None, f"'{token}': '{value}' is not a valid {kind} network (RFC 7208 §5.6)"
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return None, f"'{token}': '{value}' is not a valid {kind} network (RFC 7208 §5.6)"
    if (kind == "ip4") != (network.version == 4):
        return None, f"'{token}': an IPv{network.version} address under {kind} (RFC 7208 §5.6)"
    if "/" in value and value.split("/", 1)[1].startswith("0") and value.split("/", 1)[1] != "0":
        return None, f"'{token}': CIDR length with a leading zero (RFC 7208 §5.6)"
    return Term(token, kind, False, qualifier, value), None


def _check_dual_cidr(text: str, token: str) -> str | None:
    match = re.match(r"^(?:/(\d{1,2}))?(?://(\d{1,3}))?$", text)
    if not match:
        return f"'{token}': invalid CIDR length '{text}' (RFC 7208 §5.6)"
    v4, v6 = match.group(1), match.group(2)
    if any(n is not None and len(n) > 1 and n.startswith("0") for n in (v4, v6)):
        return f"'{token}': CIDR length with a leading zero (RFC 7208 §5.6)"
    if v4 is not None and int(v4) > 32:
        return f"'{token}': IPv4 CIDR length over 32"
    if v6 is not None and int(v6) > 128:
        return f"'{token}': IPv6 CIDR length over 128"
    return None


_EXPLANATION_ONLY = re.compile(r"%\{[crt]", re.IGNORECASE)


def _macro_string_ok(value: str, *, explanation: bool = False) -> bool:
    if not explanation and _EXPLANATION_ONLY.search(value):
        return False  # c, r and t are for explanation strings only (§7.2)
    stripped = _MACRO.sub("", value)
    return "%" not in stripped and all(0x21 <= ord(ch) <= 0x7E for ch in stripped)


def _check_domain_spec(spec: str | None, token: str, *, explanation: bool = False) -> str | None:
    """domain-spec = macro-string domain-end (RFC 7208 §7.1)."""
    if not spec:
        return f"'{token}': missing domain"
    if spec.endswith(".."):
        return f"'{token}': '{spec}' ends with more than one dot (RFC 7208 §7.1)"
    if not _macro_string_ok(spec, explanation=explanation):
        return f"'{token}': invalid macro or character in '{spec}' (RFC 7208 §7.1)"
    if _MACRO_EXPAND.search(spec.rsplit(".", 1)[-1] if not spec.endswith(".") else spec[:-1].rsplit(".", 1)[-1]):
        return None  # domain-end is a macro-expand
    labels = spec.rstrip(".").split(".")
    if len(labels) < 2 or not _TOPLABEL.match(labels[-1]):
        return f"'{token}': '{spec}' does not end in a valid top-level label (RFC 7208 §7.1)"
    if any(not label for label in labels):
        return f"'{token}': '{spec}' has an empty label"
    return None
