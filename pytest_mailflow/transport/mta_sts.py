"""MTA-STS (RFC 8461): the ``_mta-sts`` TXT record, the policy file, and MX pattern matching.

Everything here is pure and total: any text, however hostile, gives a result with its problems
listed, never an exception. The TXT record grammar (RFC 8461 §3.1) is shared with TLS-RPT
(RFC 8460 §3), so :func:`split_fields` serves both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

#: RFC 8461 §3.2: the largest max_age a policy may give (one year of 365.25 days, in seconds).
MAX_AGE_LIMIT = 31557600
#: Below one day a policy protects little between fetches; RFC 8461 §3.2 expects weeks or more.
MAX_AGE_MIN_SANE = 86400
#: RFC 8461 §3.3: senders may refuse larger policy bodies (64 KiB is what implementations allow).
POLICY_MAX_BYTES = 64 * 1024
MODES = ("enforce", "testing", "none")
POLICY_FIELDS = ("version", "mode", "max_age", "mx")

STS_VERSION = "v=STSv1"
_WSP = " \t"
# sts-ext-name / tlsrpt-ext-name / sts-policy-ext-name: (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
_EXT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}\Z")
# sts-ext-value / tlsrpt-ext-value: 1*(%x21-3A / %x3C / %x3E-7E), no "=", ";", space or control characters
_EXT_VALUE = re.compile(r"[\x21-\x3a\x3c\x3e-\x7e]+\Z")
# sts-id: 1*32(ALPHA / DIGIT)
_STS_ID = re.compile(r"[A-Za-z0-9]{1,32}\Z")
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\Z")
_MAX_AGE = re.compile(r"[0-9]{1,10}\Z")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def shown(text: str, limit: int = 60) -> str:
    """A value quoted for a message: control characters escaped, long values cut."""
    cut = text if len(text) <= limit else text[:limit]
    quoted = repr(cut)
    return quoted + "…" if len(text) > limit else quoted


# --- the "v=...; name=value; ..." TXT record grammar shared with TLS-RPT ----------------------------


@dataclass(frozen=True)
class Fields:
    """The fields after the version of a ``v=<version>; name=value; ...`` TXT record."""

    fields: tuple[tuple[str, str], ...]
    errors: tuple[str, ...]
    #: The record begins with the version followed by ';' (or nothing): the fields could be read.
    version_ok: bool = True


def begins_with_version(text: str, version: str) -> bool:
    """Whether senders take a TXT value as a record of this version.

    RFC 8461 §3.1 and RFC 8460 §3 discard records that do not begin with ``<version>;``; the ABNF
    allows spaces before the ``;`` (RFC 8461 erratum 6285), so both spellings count.
    """
    if not text.startswith(version):
        return False
    return text[len(version) :].lstrip(_WSP).startswith(";")


def looks_like(text: str, version: str) -> bool:
    """A TXT value meant as such a record (any case, leading spaces): worth a diagnosis if not taken."""
    return text.lstrip().lower().startswith(version[:5].lower())  # "v=sts", "v=tls"


def split_fields(text: str, version: str) -> Fields:
    """Split a record into its ``name=value`` fields; the values are checked by the caller.

    Grammar (RFC 8461 §3.1, RFC 8460 §3): ``<version> 1*(*WSP ";" *WSP field) [*WSP ";" *WSP]``.
    """
    errors: list[str] = []
    if not text.startswith(version):
        stripped = text.lstrip()
        if stripped[: len(version)].lower() == version.lower():
            how = "starts with a space" if stripped != text else "uses the wrong letter case"
            errors.append(f"must begin with exactly '{version}' (case-sensitive) but {how}")
        elif text.startswith("v="):
            found = re.split(r"[;\s]", text, maxsplit=1)[0]
            errors.append(f"must begin with '{version}', not {shown(found)}")
        else:
            errors.append(f"must begin with '{version}'")
        return Fields((), tuple(errors), version_ok=False)
    rest = text[len(version) :]
    after = rest.lstrip(_WSP)
    if not after:
        return Fields((), ())
    if not after.startswith(";"):
        errors.append(f"'{version}' must be followed by ';' (found {shown(version + rest[:20])})")
        return Fields((), tuple(errors), version_ok=False)
    parts = after[1:].split(";")
    if parts and not parts[-1].strip(_WSP):
        parts.pop()  # a trailing delimiter is allowed
    fields: list[tuple[str, str]] = []
    for part in parts:
        field = part.strip(_WSP)
        if not field:
            errors.append("empty field: two ';' with nothing between them")
            continue
        name, sep, value = field.partition("=")
        if not sep:
            errors.append(f"{shown(field)} is not a name=value field")
            continue
        if not _EXT_NAME.match(name):
            if name.strip(_WSP) != name or value.strip(_WSP) != value:
                errors.append(f"{shown(field)}: no spaces are allowed around '='")
            else:
                errors.append(f"{shown(name)} is not a valid field name")
            continue
        fields.append((name, value))
    return Fields(tuple(fields), tuple(errors))


def check_ext_value(name: str, value: str) -> str | None:
    """The problem with an extension field's value, if any (``sts-ext-value`` / ``tlsrpt-ext-value``)."""
    if _EXT_VALUE.match(value):
        return None
    return f"the value of '{name}' ({shown(value)}) may only hold visible ASCII characters other than '=' and ';'"


# --- the TXT record: _mta-sts.<domain> --------------------------------------------------------------


@dataclass(frozen=True)
class StsRecord:
    """One ``_mta-sts`` TXT value as RFC 8461 §3.1 reads it."""

    text: str
    id: str | None
    extensions: tuple[tuple[str, str], ...] = ()
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.errors


def parse_sts_record(text: str) -> StsRecord:
    """Parse an MTA-STS TXT record: ``v=STSv1; id=<1-32 letters and digits>;`` plus extensions."""
    split = split_fields(text, STS_VERSION)
    errors = list(split.errors)
    warnings: list[str] = []
    record_id: str | None = None
    ids = 0
    extensions: list[tuple[str, str]] = []
    for name, value in split.fields:
        if name == "id":
            ids += 1
            if ids > 1:
                # RFC 8461 §3.2: a repeated field other than mx is ignored after its first occurrence.
                warnings.append("'id' appears more than once; senders use the first")
            elif _STS_ID.match(value):
                record_id = value
            else:
                errors.append(f"the id {shown(value)} must be 1 to 32 letters and digits (RFC 8461 §3.1)")
            continue
        problem = check_ext_value(name, value)
        if problem:
            errors.append(problem)
        else:
            extensions.append((name, value))
    if split.version_ok and not ids:
        errors.append("has no 'id' field (RFC 8461 §3.1 requires 'id=<1-32 letters and digits>')")
    return StsRecord(text, record_id, tuple(extensions), tuple(errors), tuple(warnings))


@dataclass(frozen=True)
class Published:
    """What the TXT values at ``_mta-sts`` (or ``_smtp._tls``) amount to for a sender."""

    #: Values senders take as records (they begin with the version and ';').
    taken: tuple[str, ...]
    #: Values meant as records that senders discard (wrong case, leading space, missing ';', ...).
    discarded: tuple[str, ...]

    @property
    def absent(self) -> bool:
        return not self.taken and not self.discarded


def published(values: Iterable[str], version: str = STS_VERSION) -> Published:
    """Sort TXT values into the records senders take and the near misses they discard."""
    taken: list[str] = []
    discarded: list[str] = []
    for value in values:
        if begins_with_version(value, version):
            taken.append(value)
        elif looks_like(value, version):
            discarded.append(value)
    return Published(tuple(taken), tuple(discarded))


# --- the policy file: https://mta-sts.<domain>/.well-known/mta-sts.txt ------------------------------


@dataclass(frozen=True)
class StsPolicy:
    """An MTA-STS policy file as RFC 8461 §3.2 reads it."""

    text: str
    version: str | None = None
    mode: str | None = None
    max_age: int | None = None
    #: The mx patterns, lower case, in the order given (only the well-formed ones).
    mx: tuple[str, ...] = ()
    extensions: tuple[tuple[str, str], ...] = ()
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    #: "LF", "CRLF", "mixed" or "none" (a single line without a terminator).
    line_endings: str = "none"

    @property
    def valid(self) -> bool:
        return not self.errors


def _line_endings(text: str) -> str:
    crlf = text.count("\r\n")
    lf = text.count("\n") - crlf
    if crlf and lf:
        return "mixed"
    if crlf:
        return "CRLF"
    return "LF" if lf else "none"


def check_mx_pattern(pattern: str) -> str | None:
    """The problem with one ``mx:`` value, if any: ``["*."] Domain`` (RFC 8461 §3.2, RFC 5321 §4.1.2)."""
    if not pattern:
        return "an 'mx:' line has no value"
    if not pattern.isascii():
        return (
            f"mx {shown(pattern)} is not an A-label: write internationalised names in their xn-- form (RFC 8461 §3.2)"
        )
    name = pattern[2:] if pattern.startswith("*.") else pattern
    if name.endswith("."):
        return f"mx {shown(pattern)} ends with a dot; write the name without the trailing dot"
    if "*" in name:
        return f"mx {shown(pattern)}: a wildcard may only be the whole left-most label ('*.' followed by a name)"
    labels = name.split(".")
    if len(name) > 253 or not all(_LABEL.match(label) and len(label) <= 63 for label in labels):
        return f"mx {shown(pattern)} is not a host name"
    return None


def _check_ext_policy_value(name: str, value: str) -> str | None:
    # sts-policy-ext-value: visible characters (UTF-8 allowed) and inner spaces; no controls or tabs.
    if not value:
        return f"the field '{name}' has no value"
    if "\t" in value or _CONTROL.search(value):
        return f"the value of '{name}' ({shown(value)}) holds control characters"
    return None


def parse_sts_policy(raw: str | bytes) -> StsPolicy:
    """Parse a policy file (RFC 8461 §3.2): ``key: value`` lines ended by LF or CRLF.

    ``version: STSv1``, ``mode``, ``max_age`` are required once each (later repeats are ignored, with a
    warning), ``mx`` at least once unless the mode is ``none``; unknown fields are kept as extensions.
    """
    errors: list[str] = []
    warnings: list[str] = []
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            errors.append("the policy is not valid UTF-8")
            text = raw.decode("utf-8", errors="replace")
    else:
        text = raw
    if len(text.encode("utf-8", errors="replace")) > POLICY_MAX_BYTES:
        warnings.append(f"the policy is larger than {POLICY_MAX_BYTES} bytes; senders may refuse it (RFC 8461 §3.3)")
    body = text
    if body.startswith("\ufeff"):
        errors.append("the policy begins with a byte-order mark (U+FEFF); save it as UTF-8 without a BOM")
        body = body[1:]
    if not body.strip():
        return StsPolicy(text, errors=(*errors, "the policy is empty"), line_endings=_line_endings(text))
    lines = re.split(r"\r?\n", body)
    if lines[-1] == "":
        lines.pop()  # the last line's terminator is optional
    seen: dict[str, int] = {}
    values: dict[str, str] = {}
    mx: list[str] = []
    extensions: list[tuple[str, str]] = []
    for number, line in enumerate(lines, start=1):
        where = f"line {number}"
        if not line.strip(_WSP):
            errors.append(f"{where} is blank; the policy grammar has no empty lines (RFC 8461 §3.2)")
            continue
        if "\r" in line:
            errors.append(f"{where} holds a carriage return that is not followed by a line feed")
            continue
        key, sep, raw = line.partition(":")
        if not sep:
            errors.append(f"{where} ({shown(line)}) is not a 'key: value' field")
            continue
        if not _EXT_NAME.match(key):
            if key.strip(_WSP) != key:
                errors.append(f"{where}: no space is allowed at the start of a line or before ':'")
            else:
                errors.append(f"{where}: {shown(key)} is not a valid field name")
            continue
        value = raw.strip(_WSP)
        if key in seen and key != "mx":
            warnings.append(f"{where}: '{key}' repeats line {seen[key]}; senders ignore every '{key}' but the first")
            continue
        seen.setdefault(key, number)
        if key == "version":
            values[key] = value
            if value != "STSv1":
                errors.append(f"{where}: the version must be 'STSv1', not {shown(value)}")
        elif key == "mode":
            values[key] = value
            if value not in MODES:
                errors.append(f"{where}: the mode must be enforce, testing or none (lower case), not {shown(value)}")
        elif key == "max_age":
            values[key] = value
            if not _MAX_AGE.match(value):
                errors.append(
                    f"{where}: max_age must be a whole number of seconds (up to 10 digits), not {shown(value)}"
                )
            elif int(value) > MAX_AGE_LIMIT:
                errors.append(f"{where}: max_age {int(value)} is above the RFC 8461 §3.2 maximum of {MAX_AGE_LIMIT}")
        elif key == "mx":
            problem = check_mx_pattern(value)
            if problem:
                errors.append(f"{where}: {problem}")
            else:
                mx.append(value.lower())
        else:
            if key.lower() in POLICY_FIELDS:
                warnings.append(
                    f"{where}: field names are case-sensitive; {shown(key)} is an unknown field, not '{key.lower()}'"
                )
            problem = _check_ext_policy_value(key, value)
            if problem:
                errors.append(f"{where}: {problem}")
            else:
                extensions.append((key, value))
    for required in ("version", "mode", "max_age"):
        if required not in seen:
            errors.append(f"the policy has no '{required}:' line (RFC 8461 §3.2 requires one)")
    mode_text = values.get("mode", "")
    mode = mode_text if mode_text in MODES else None
    if not mx and "mx" not in seen and mode != "none":
        errors.append("the policy has no 'mx:' line; one is required for each MX host unless the mode is none")
    max_age_text = values.get("max_age", "")
    max_age = int(max_age_text) if _MAX_AGE.match(max_age_text) and int(max_age_text) <= MAX_AGE_LIMIT else None
    version = "STSv1" if values.get("version") == "STSv1" else None
    return StsPolicy(
        text,
        version,
        mode,
        max_age,
        tuple(mx),
        tuple(extensions),
        tuple(errors),
        tuple(warnings),
        _line_endings(text),
    )


def content_type_ok(content_type: str) -> bool:
    """RFC 8461 §3.3: the policy is served as ``text/plain`` (parameters such as charset allowed)."""
    return content_type.split(";", 1)[0].strip().lower() == "text/plain"


# --- MX host matching (RFC 8461 §4.1) ------------------------------------------------------------


def _name(text: str) -> str:
    name = text.strip().lower()
    return name[:-1] if name.endswith(".") else name


def mx_covered(patterns: Iterable[str], host: str) -> bool:
    """Whether an MX host matches one of a policy's ``mx`` patterns (RFC 8461 §4.1).

    A pattern is a host name, matched whole, or ``*.`` and a name, where the ``*`` stands for exactly
    one left-most label: ``*.example.com`` matches ``mail.example.com`` but neither ``example.com``
    nor ``a.mail.example.com``. Case does not matter; one trailing dot is ignored on either side.
    """
    name = _name(host)
    if not name or "*" in name:
        return False
    first, dot, rest = name.partition(".")
    for raw in patterns:
        pattern = _name(raw)
        if pattern.startswith("*."):
            if dot and first and rest and rest == pattern[2:]:
                return True
        elif pattern and pattern == name:
            return True
    return False


def uncovered(patterns: Iterable[str], hosts: Iterable[str]) -> tuple[str, ...]:
    """The MX hosts no pattern matches, in the order given (a null MX ``.`` is never listed)."""
    fixed = tuple(patterns)
    return tuple(host for host in hosts if _name(host) and not mx_covered(fixed, host))


# --- judging a parsed policy (for the policy-file rules) ----------------------------------------


def mode_problem(policy: StsPolicy, allowed: Iterable[str]) -> str | None:
    """Why the policy's mode is not one the organisation allows, if it is not."""
    wanted = tuple(allowed)
    if policy.mode is None:
        return "the policy has no valid mode"
    if policy.mode not in wanted:
        return f"the policy's mode is '{policy.mode}'; expected " + " or ".join(wanted)
    return None


def max_age_problem(policy: StsPolicy, minimum: int = MAX_AGE_MIN_SANE) -> str | None:
    """Why the policy's max_age is not sane, if it is not: missing, above the limit, or too short.

    A ``mode: none`` policy (withdrawing MTA-STS) may be short-lived, so the minimum does not apply.
    """
    if policy.max_age is None:
        return "the policy has no valid max_age"
    if policy.mode != "none" and policy.max_age < minimum:
        return (
            f"max_age {policy.max_age} s is shorter than {minimum} s; senders drop the policy that soon after "
            "each fetch (RFC 8461 §3.2 expects weeks or more)"
        )
    return None


def coverage_problems(policy: StsPolicy, mx_hosts: Iterable[str]) -> tuple[str, ...]:
    """One problem per MX host that no ``mx:`` line covers (senders in enforce mode refuse them)."""
    hosts = tuple(host for host in mx_hosts if _name(host))
    if policy.mode == "none":
        return ()
    return tuple(
        f"MX host {_name(host)} matches no 'mx:' line of the policy ({', '.join(policy.mx) or 'none'})"
        for host in uncovered(policy.mx, hosts)
    )
