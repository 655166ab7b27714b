"""Loading a tenant export (JSON written by examples/Export-MailflowTenant.ps1), tolerantly.

The loader reads what the Exchange Online cmdlets and ``ConvertTo-Json`` actually write. That covers:

* property names in any case;
* enums as names or as the integers that Windows PowerShell 5.1 writes;
* booleans as ``true``/``false`` or ``"True"``/``"False"``;
* multi-valued properties as a list, a single string, ``null`` or the ``{"value": [...], "Count": n}``
  wrapper that Windows PowerShell 5.1 sometimes writes;
* sender domains in AddressSpace form (``smtp:*;1``);
* the legacy enhanced-filtering property names;
* a single object where a list was expected;
* UTF-8, or UTF-16/UTF-32 with a byte-order mark.

Anything it cannot read is a :class:`TenantExportError` whose problems read
``path:line:col: key.path: message`` and say what to do. Line numbers come from
:func:`~pytest_mailflow.yamlload.load_located`, because JSON is YAML. The values come from :mod:`json`,
so the JSON meaning is exact. The format is described in docs/tenant-export.md.
"""

from __future__ import annotations

import codecs
import dataclasses
import functools
import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from ..errors import InputFileError, Problem
from ..hints import did_you_mean
from ..inputs import TENANT_EXPORT_MAX_BYTES, read_input
from ..policy.validate import problems as schema_problems
from ..yamlload import Located as _Marks
from ..yamlload import YamlLoadError, load_located
from .model import AcceptedDomain, DkimSigningConfig, InboundConnector, Located, OutboundConnector, TenantExport

#: The format version this loader reads (the value of ``mailflow_tenant_export``).
FORMAT_VERSION = 1
SCRIPT = "examples/Export-MailflowTenant.ps1"
_AS_TEXT = f"re-export with {SCRIPT}, which writes every value as text"

_KeyPath = tuple[str | int, ...]


class TenantExportError(InputFileError):
    """The tenant export cannot be used; carries every problem found, with path:line."""


@functools.cache
def tenant_export_schema() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("tenant-export.schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    return jsonschema.Draft202012Validator(tenant_export_schema())


def load_tenant_export(path: Path, display: str) -> TenantExport:
    """Read and normalise the tenant export at ``path``; ``display`` is how messages name the file."""
    if path.is_dir():
        raise _error(display, f"this is a directory, not a tenant export file; write one with {SCRIPT}")
    if not path.is_file():
        raise _error(
            display, f"no such tenant export file; write one with {SCRIPT} and check the policy's tenant_export"
        )
    raw = read_input(
        path,
        display,
        what="tenant export",
        limit=TENANT_EXPORT_MAX_BYTES,
        error=TenantExportError,
        hint=f"export only the objects {SCRIPT} writes",
    )
    return read_tenant_export(raw, display)


def read_tenant_export(raw: bytes, display: str) -> TenantExport:
    """Read and normalise a tenant export from its bytes (what :func:`load_tenant_export` does after reading)."""
    text = _decode(raw, display)
    marks, warnings = _parse(text, display)
    data = marks.data
    if not isinstance(data, dict):
        hint = (
            " (this looks like the output of a single cmdlet piped to ConvertTo-Json); write the export with "
            f"{SCRIPT}, which puts the output of each cmdlet under its own key"
            if isinstance(data, list)
            else f"; write the export with {SCRIPT}"
        )
        raise TenantExportError(
            [
                marks.problem(
                    (), f'expected a JSON object that starts with "mailflow_tenant_export": 1, got {_a(data)}{hint}'
                )
            ]
        )
    version_problem = _check_version(marks, data)
    if version_problem:
        raise TenantExportError([version_problem])
    found = [_json_words(p) for p in schema_problems(_validator(), marks)]
    if found:
        raise TenantExportError(found)
    return _Builder(marks, warnings).build()


def _error(display: str, message: str, line: int = 1, column: int = 1) -> TenantExportError:
    return TenantExportError([Problem(display, line, column, "", message)])


# --- bytes to text ---------------------------------------------------------------------------------

#: Byte-order marks, longest first (the UTF-32 LE mark starts with the UTF-16 LE one).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def _sniff(raw: bytes) -> tuple[bytes, str]:
    """The bytes after any byte-order mark, and their encoding."""
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            return raw[len(bom) :], encoding
    # JSON starts with ASCII, so a zero byte in one of the first two means UTF-16 without a mark.
    if raw[:1] != b"\0" and raw[1:2] == b"\0":
        return raw, "utf-16-le"
    if raw[:1] == b"\0" and raw[1:2] not in (b"", b"\0"):
        return raw, "utf-16-be"
    return raw, "utf-8"


def _decode(raw: bytes, display: str) -> str:
    if not raw:
        raise _error(display, f"the file is empty (0 bytes); re-run {SCRIPT} and check that it finished without errors")
    body, encoding = _sniff(raw)
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as exc:
        before = body[: exc.start].decode(encoding, errors="replace")
        line = before.count("\n") + 1
        column = len(before) - (before.rfind("\n") + 1) + 1
        bad = body[exc.start : exc.start + 1].hex()
        raise _error(
            display,
            f"the file is not {encoding.upper()} text (byte 0x{bad}: {exc.reason}); save it as UTF-8: {SCRIPT} "
            "does, whereas Set-Content and Out-File -Encoding Default in Windows PowerShell write the ANSI code page",
            line,
            column,
        ) from None
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise _error(display, f"the file holds only white space, no JSON; re-run {SCRIPT}")
    return text


# --- text to data with line numbers ------------------------------------------------------------------


#: Characters that JSON allows raw in strings but YAML refuses (DEL, C1 controls) or counts as line
#: breaks (NEL, LINE SEPARATOR, PARAGRAPH SEPARATOR), and the tab, which cannot start a YAML token.
_YAML_UNSAFE = re.compile("[^\x0a\x0d\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


#: Above this size the line numbers are not worth the time the YAML reader takes (about 4 s per MiB).
_MAX_LINE_READER_CHARS = 2 * 1024 * 1024
_NO_LINES = "{}:1:1: the line-number reader gave up on this file (too large?); its objects are located at line 1"


def _parse(text: str, display: str) -> tuple[_Marks, list[str]]:
    duplicates: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in items:
            if key in result:
                duplicates.append(key)
            result[key] = value
        return result

    try:
        data = json.loads(text, object_pairs_hook=pairs)
    except ValueError as exc:
        if not isinstance(exc, json.JSONDecodeError):
            # Python refuses integers of thousands of digits (int_max_str_digits).
            raise _error(
                display, f"a number in the file has thousands of digits, which no export value has; re-run {SCRIPT}"
            ) from None
        start = text.lstrip()[:1]
        if start == "<":
            hint = f"; this looks like XML (Export-Clixml?): write the export with {SCRIPT}"
        elif start not in ("{", "["):
            hint = f"; a tenant export is JSON: write it with {SCRIPT}"
        else:
            hint = "; the file may be cut short or edited by hand: re-run the export"
        raise _error(display, f"not valid JSON: {exc.msg}{hint}", exc.lineno, exc.colno) from None
    except RecursionError:
        raise _error(display, "the JSON is nested too deeply to be a tenant export") from None
    warnings: list[str] = []
    # The YAML reader only finds the line numbers; the JSON reader has checked the text and gives the
    # values. A space in place of each YAML-unsafe character keeps every line and column.
    try:
        if len(text) > _MAX_LINE_READER_CHARS:
            raise RecursionError  # the line-number reader is pure Python: skip it, as if it had given up
        marks = load_located(_YAML_UNSAFE.sub(" ", text), display)
    except YamlLoadError as exc:
        if duplicates and "duplicate key" in exc.problem.message:
            raise TenantExportError([exc.problem]) from None
        marks = _Marks(path=display, data=None)
        warnings.append(_NO_LINES.format(display))
    except RecursionError:
        marks = _Marks(path=display, data=None)
        warnings.append(_NO_LINES.format(display))
    if duplicates:  # only reached when the YAML reading failed for another reason
        raise _error(display, f"duplicate key '{duplicates[0]}'; keep one")
    marks.data = data
    return marks, warnings


def _check_version(marks: _Marks, data: dict[str, Any]) -> Problem | None:
    key = "mailflow_tenant_export"
    if key not in data:
        return marks.problem(
            (),
            f"missing required key '{key}': this is not a tenant export written by {SCRIPT} "
            '(its first key is "mailflow_tenant_export": 1)',
        )
    version = data[key]
    if version == str(FORMAT_VERSION):
        return marks.problem((key,), f'write the format version as a number: "{key}": {FORMAT_VERSION}')
    if isinstance(version, bool) or version != FORMAT_VERSION:
        return marks.problem(
            (key,),
            f"unsupported tenant export format {version!r}; this pytest-mailflow reads format {FORMAT_VERSION}: "
            f"re-export with the {SCRIPT} that comes with it",
        )
    return None


def _json_words(problem: Problem) -> Problem:
    """Schema messages speak YAML ('a mapping', 'nothing'); an export is JSON."""
    message = problem.message.replace("a mapping", "a JSON object").replace("nothing", "null")
    return dataclasses.replace(problem, message=message)


# --- values ----------------------------------------------------------------------------------------


class _Bad(Exception):
    """A value that cannot be read. ``at`` continues the key path below the property (a list index)."""

    def __init__(self, message: str, at: _KeyPath = ()) -> None:
        super().__init__(message)
        self.at = at


_Reader = Callable[[Any], Any]
_ABSENT: Any = object()


def _a(value: Any) -> str:
    """How a JSON value is described in messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f"a string ('{shown}')"
    if isinstance(value, list):
        return "a list"
    return "a JSON object"


def _text(value: Any) -> Any:
    if not isinstance(value, str):
        hint = f"; {_AS_TEXT}" if isinstance(value, dict | list) else ""
        raise _Bad(f"expected a string, got {_a(value)}{hint}")
    return value.strip() or _ABSENT


def _label(value: Any) -> Any:
    """An identifying value that is only used to merge repeats: text if it is text, else ignored."""
    return (value.strip() or _ABSENT) if isinstance(value, str) else _ABSENT


def _name(value: Any) -> Any:
    """A domain or host name: lower case, no trailing dot."""
    text = _text(value)
    return text if text is _ABSENT else text.lower().rstrip(".") or _ABSENT


_ADDRESS_SPACE = re.compile(r"(?i)smtp:(?P<domain>[^;]*)(?:;\s*\d+)?")


def _address_space(value: str) -> str:
    """``smtp:*;1`` (AddressSpace form, as Get-InboundConnector writes SenderDomains) to ``*``."""
    match = _ADDRESS_SPACE.fullmatch(value.strip())
    domain = match.group("domain") if match else value
    return domain.strip().lower().rstrip(".")


def _lower_name(value: str) -> str:
    return value.strip().lower().rstrip(".")


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise _Bad(f"expected true or false, got {_a(value)}")


def _number(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.strip().isdecimal():
        return int(value.strip())
    raise _Bad(f"expected a whole number, got {_a(value)}")


def _ps51_array(value: dict[str, Any]) -> list[Any] | None:
    """Windows PowerShell 5.1 can write an array as ``{"value": [...], "Count": n}``."""
    lowered = {key.lower(): key for key in value}
    if "value" not in lowered or not set(lowered) <= {"value", "count"}:
        return None
    inner = value[lowered["value"]]
    if inner is None:
        return []
    return inner if isinstance(inner, list) else None


def _many(normalise: Callable[[str], str] = str.strip) -> _Reader:
    """A multi-valued property: a list of strings, one string (split at commas and spaces) or null."""

    def read(value: Any) -> tuple[str, ...]:
        prefix: _KeyPath = ()
        if isinstance(value, dict):
            inner = _ps51_array(value)
            if inner is None:
                raise _Bad(f"expected a list of strings, a string or null, got a JSON object; {_AS_TEXT}")
            prefix = (next(k for k in value if k.lower() == "value"),)
            value = inner
        if isinstance(value, str):
            items = [part for part in re.split(r"[\s,]+", value) if part]
        elif isinstance(value, list):
            items = []
            for index, item in enumerate(value):
                if item is None:
                    continue
                if not isinstance(item, str):
                    hint = f"; {_AS_TEXT}" if isinstance(item, dict | list) else ""
                    raise _Bad(f"expected a string, got {_a(item)}{hint}", (*prefix, index))
                items.append(item)
        else:
            raise _Bad(f"expected a list of strings, a string or null, got {_a(value)}")
        normalised = (normalise(item) for item in items)
        return tuple(dict.fromkeys(item for item in normalised if item))

    return read


@dataclasses.dataclass(frozen=True)
class _Enum:
    """An Exchange enum: names, and the integers Windows PowerShell 5.1 writes instead of them."""

    prop: str
    names: tuple[str, ...]
    numbers: Mapping[int, str]

    def read(self, value: Any) -> str:
        names = ", ".join(self.names)
        if isinstance(value, str):
            text = value.strip()
            if not re.fullmatch(r"-?\d+", text):
                for name in self.names:
                    if name.lower() == text.lower():
                        return name
                raise _Bad(f"'{text}' is not a {self.prop} value; use one of: {names}{did_you_mean(text, self.names)}")
            value = int(text)
        if isinstance(value, int) and not isinstance(value, bool):
            if value in self.numbers:
                return self.numbers[value]
            known = ", ".join(f"{number} = {name}" for number, name in sorted(self.numbers.items()))
            raise _Bad(
                f"{self.prop} {value} is not a number this loader knows ({known}); write the name instead "
                f"({names}) or re-export with {SCRIPT}, which writes names"
            )
        raise _Bad(f"expected a {self.prop} name ({names}), got {_a(value)}")


# Integer values: Microsoft.Exchange.Data.TenantConnectorType, TenantConnectorSource ([Flags]) and
# TlsAuthLevel, and Microsoft.Exchange.Data.Directory.SystemConfiguration.AcceptedDomainType, as the
# Exchange assemblies define them (see docs/tenant-export.md). AdminUI appears in exports but has no
# known number, so an integer for it is reported as unknown.
CONNECTOR_TYPE = _Enum("ConnectorType", ("Partner", "OnPremises"), {1: "OnPremises", 2: "Partner"})
CONNECTOR_SOURCE = _Enum(
    "ConnectorSource",
    ("Default", "HybridWizard", "Migrated", "AdminUI"),
    {0: "Default", 1: "Migrated", 2: "HybridWizard"},
)
TLS_SETTINGS = _Enum(
    "TlsSettings",
    ("EncryptionOnly", "CertificateValidation", "DomainValidation"),
    {1: "EncryptionOnly", 2: "CertificateValidation", 4: "DomainValidation"},
)
DOMAIN_TYPE = _Enum(
    "DomainType",
    ("Authoritative", "InternalRelay", "ExternalRelay"),
    {0: "Authoritative", 1: "ExternalRelay", 2: "InternalRelay"},
)


@dataclasses.dataclass(frozen=True)
class _Field:
    """One property: its name as the cmdlet writes it, older names for it, the model attribute."""

    prop: str
    attr: str
    read: _Reader
    aliases: tuple[str, ...] = ()


_COMMON = (
    _Field("Identity", "_identity", _label),
    _Field("Guid", "_guid", _label),
)
_CONNECTOR = (
    _Field("Name", "name", _text),
    *_COMMON,
    _Field("Enabled", "enabled", _flag),
    _Field("ConnectorType", "connector_type", CONNECTOR_TYPE.read),
    _Field("ConnectorSource", "connector_source", CONNECTOR_SOURCE.read),
    _Field("CloudServicesMailEnabled", "cloud_services_mail_enabled", _flag),
)
INBOUND_FIELDS = (
    *_CONNECTOR,
    _Field("SenderDomains", "sender_domains", _many(_address_space)),
    _Field("SenderIPAddresses", "sender_ip_addresses", _many()),
    _Field("RestrictDomainsToIPAddresses", "restrict_domains_to_ip_addresses", _flag),
    _Field("TlsSenderCertificateName", "tls_sender_certificate_name", _name),
    _Field("RestrictDomainsToCertificate", "restrict_domains_to_certificate", _flag),
    _Field("RequireTls", "require_tls", _flag),
    _Field("TreatMessagesAsInternal", "treat_messages_as_internal", _flag),
    _Field("EFSkipLastIP", "ef_skip_last_ip", _flag, ("DetectSenderIPBySkippingLastIP",)),
    _Field("EFSkipIPs", "ef_skip_ips", _many(), ("DetectSenderIPBySkippingTheseIPs",)),
    _Field("EFUsers", "ef_users", _many(), ("DetectSenderIPRecipientList",)),
    _Field("EFTestMode", "ef_test_mode", _flag),
    _Field("DetectSenderIPBySkippingTheseProviders", "_providers", _many()),
    _Field("AssociatedAcceptedDomains", "associated_accepted_domains", _many(_address_space)),
    _Field("TrustedOrganizations", "trusted_organizations", _many(_lower_name)),
)
OUTBOUND_FIELDS = (
    *_CONNECTOR,
    _Field("RecipientDomains", "recipient_domains", _many(_address_space)),
    _Field("AllAcceptedDomains", "all_accepted_domains", _flag),
    _Field("IsTransportRuleScoped", "is_transport_rule_scoped", _flag),
    _Field("UseMXRecord", "use_mx_record", _flag),
    _Field("SmartHosts", "smart_hosts", _many(_lower_name)),
    _Field("TlsSettings", "tls_settings", TLS_SETTINGS.read),
    _Field("TlsDomain", "tls_domain", _name),
    _Field("RouteAllMessagesViaOnPremises", "route_all_messages_via_on_premises", _flag),
    _Field("SenderRewritingEnabled", "sender_rewriting_enabled", _flag),
    _Field("TestMode", "test_mode", _flag),
    _Field("IsValidated", "is_validated", _flag),
)
ACCEPTED_DOMAIN_FIELDS = (
    _Field("DomainName", "domain_name", _name),
    *_COMMON,
    _Field("DomainType", "domain_type", DOMAIN_TYPE.read),
    _Field("Default", "default", _flag),
    _Field("InitialDomain", "initial_domain", _flag),
    _Field("MatchSubDomains", "match_subdomains", _flag),
    _Field("IsCoexistenceDomain", "is_coexistence_domain", _flag),
)
DKIM_FIELDS = (
    _Field("Domain", "domain", _name, ("Name",)),
    *_COMMON,
    _Field("Enabled", "enabled", _flag),
    _Field("Status", "status", _text),
    _Field("Selector1CNAME", "selector1_cname", _text),
    _Field("Selector2CNAME", "selector2_cname", _text),
    _Field("KeySize", "key_size", _number),
    _Field("Selector1KeySize", "_selector1", _number),
    _Field("Selector2KeySize", "_selector2", _number),
    _Field("RotateOnDate", "_rotate_on", _text),
    _Field("SelectorBeforeRotateOnDate", "_before", _text),
    _Field("SelectorAfterRotateOnDate", "_after", _text),
)
ORGANIZATION_FIELDS = (
    _Field("RejectDirectSend", "reject_direct_send", _flag),
    _Field("Name", "_name", _label),
)

#: Suffixes of a tenant's initial domain: worldwide and GCC, GCC High and DoD, 21Vianet, Germany (legacy).
TENANT_SUFFIXES = (".onmicrosoft.com", ".onmicrosoft.us", ".partner.onmschina.cn", ".onmicrosoft.de")


def tenant_label(domain: str) -> str | None:
    """``contoso`` for ``contoso.onmicrosoft.com`` (and the sovereign forms); None for other names."""
    name = domain.lower().rstrip(".")
    for suffix in TENANT_SUFFIXES:
        head = name.removesuffix(suffix)
        if head != name and head and "." not in head:
            return head
    return None


_MS_DATE = re.compile(r"/Date\((?P<ms>-?\d+)(?:[+-]\d{4})?\)/")


def parse_when(text: str | None) -> datetime | None:
    """ISO 8601 (PowerShell's ``o`` format) or ``/Date(ms)/`` (Windows PowerShell 5.1's ConvertTo-Json)."""
    if not text:
        return None
    match = _MS_DATE.fullmatch(text.strip())
    if match:
        return datetime.fromtimestamp(int(match.group("ms")) / 1000, UTC)
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


_NOWHERE = Located("", 0)


def _same(first: Any, second: Any) -> bool:
    """Equal apart from where they were read."""
    return bool(dataclasses.replace(first, where=_NOWHERE) == dataclasses.replace(second, where=_NOWHERE))


# --- data to model ---------------------------------------------------------------------------------


class _Builder:
    def __init__(self, marks: _Marks, warnings: list[str]) -> None:
        self.marks = marks
        self.data: dict[str, Any] = marks.data
        self.problems: list[Problem] = []
        self.warnings = warnings

    def fail(self, path: _KeyPath, message: str, *, key: bool = False) -> None:
        self.problems.append(self.marks.problem(path, message, key=key))

    def warn(self, path: _KeyPath, message: str) -> None:
        self.warnings.append(str(self.marks.problem(path, message)))

    def where(self, path: _KeyPath) -> Located:
        return Located(self.marks.path, self.marks.mark(path)[0])

    def build(self) -> TenantExport:
        exported_at = self.data.get("exported_at")
        now = parse_when(exported_at)
        if exported_at and now is None:
            self.warn(("exported_at",), f"'{exported_at}' is not an ISO 8601 time; the active DKIM selector is unknown")
        inbound = self.dedupe("inbound connector", [self.inbound(p, o) for p, o in self.entries("inbound_connectors")])
        outbound = self.dedupe(
            "outbound connector", [self.outbound(p, o) for p, o in self.entries("outbound_connectors")]
        )
        domains = self.dedupe("accepted domain", [self.accepted(p, o) for p, o in self.entries("accepted_domains")])
        dkim = self.dedupe(
            "DKIM signing config", [self.dkim(p, o, now) for p, o in self.entries("dkim_signing_config")]
        )
        reject_direct_send, organization_name = self.organization()
        if self.problems:
            raise TenantExportError(sorted(self.problems, key=lambda p: (p.line, p.column)))
        return TenantExport(
            path=self.marks.path,
            inbound=tuple(inbound),
            outbound=tuple(outbound),
            accepted_domains=tuple(domains),
            dkim=tuple(dkim),
            reject_direct_send=reject_direct_send,
            tenant=self.tenant(domains, organization_name),
            warnings=tuple(self.warnings),
        )

    def entries(self, section: str) -> list[tuple[_KeyPath, dict[str, Any]]]:
        value = self.data.get(section)
        if value is None:
            return []
        if isinstance(value, dict):  # PowerShell writes one object, not a list of one
            return [((section,), value)]
        return [((section, index), item) for index, item in enumerate(value)]

    def read(self, path: _KeyPath, data: dict[str, Any], fields: tuple[_Field, ...]) -> dict[str, Any] | None:
        """The known properties of one object, by model attribute; None when any is unreadable."""
        by_lower: dict[str, list[str]] = {}
        for key in data:
            by_lower.setdefault(key.lower(), []).append(key)
        values: dict[str, Any] = {}
        ok = True
        for spec in fields:
            read: list[tuple[str, Any]] = []
            for name in (spec.prop, *spec.aliases):
                keys = by_lower.get(name.lower(), [])
                for extra in keys[1:]:
                    ok = False
                    self.fail(
                        (*path, extra),
                        f"'{extra}' repeats '{keys[0]}' (property names are compared regardless of case); keep one",
                        key=True,
                    )
                if not keys:
                    continue
                raw = data[keys[0]]
                try:
                    # null, and the "" that PowerShell makes of $null in a string, mean "not set".
                    blank = raw is None or (isinstance(raw, str) and not raw.strip())
                    value = _ABSENT if blank else spec.read(raw)
                except _Bad as bad:
                    ok = False
                    self.fail((*path, keys[0], *bad.at), str(bad))
                    continue
                if value is not _ABSENT:
                    read.append((keys[0], value))
            if read:
                chosen, value = read[0]
                for other, other_value in read[1:]:
                    if other_value != value:
                        self.warn((*path, other), f"differs from '{chosen}'; '{chosen}' is used")
                values[spec.attr] = value
        return values if ok else None

    @staticmethod
    def private(values: dict[str, Any]) -> dict[str, Any]:
        """Take out the values that are read but are not model attributes (their names start with _)."""
        return {key: values.pop(key) for key in [k for k in values if k.startswith("_")]}

    def named(self, path: _KeyPath, values: dict[str, Any], what: str, prop: str, cmdlet: str) -> str | None:
        name: str | None = values.pop("name", None) or values.get("_identity")
        if not name:
            self.fail(path, f"missing '{prop}': every {what} needs the {prop} that {cmdlet} prints")
        return name

    def inbound(self, path: _KeyPath, data: dict[str, Any]) -> tuple[_KeyPath, str | None, Any] | None:
        values = self.read(path, data, INBOUND_FIELDS)
        if values is None:
            return None
        name = self.named(path, values, "connector", "Name", "Get-InboundConnector")
        private = self.private(values)
        if private.get("_providers"):
            self.warn(
                (*path, "DetectSenderIPBySkippingTheseProviders"),
                "this legacy enhanced-filtering setting has no current counterpart that the rules read; it is ignored",
            )
        if name is None:
            return None
        return path, private.get("_guid"), InboundConnector(name=name, where=self.where(path), **values)

    def outbound(self, path: _KeyPath, data: dict[str, Any]) -> tuple[_KeyPath, str | None, Any] | None:
        values = self.read(path, data, OUTBOUND_FIELDS)
        if values is None:
            return None
        name = self.named(path, values, "connector", "Name", "Get-OutboundConnector")
        private = self.private(values)
        if name is None:
            return None
        return path, private.get("_guid"), OutboundConnector(name=name, where=self.where(path), **values)

    def accepted(self, path: _KeyPath, data: dict[str, Any]) -> tuple[_KeyPath, str | None, Any] | None:
        values = self.read(path, data, ACCEPTED_DOMAIN_FIELDS)
        if values is None:
            return None
        self.private(values)
        if "domain_name" not in values:
            self.fail(
                path, "missing 'DomainName': every accepted domain needs the DomainName that Get-AcceptedDomain prints"
            )
            return None
        return path, None, AcceptedDomain(where=self.where(path), **values)

    def dkim(
        self, path: _KeyPath, data: dict[str, Any], now: datetime | None
    ) -> tuple[_KeyPath, str | None, Any] | None:
        values = self.read(path, data, DKIM_FIELDS)
        if values is None:
            return None
        private = self.private(values)
        if "domain" not in values:
            self.fail(
                path, "missing 'Domain': every DKIM signing config needs the Domain that Get-DkimSigningConfig prints"
            )
            return None
        if "key_size" not in values:
            values["key_size"] = self.active_key_size(private, now)
        return path, None, DkimSigningConfig(where=self.where(path), **values)

    @staticmethod
    def active_key_size(private: dict[str, Any], now: datetime | None) -> int | None:
        """The key size of the selector that signs at export time (the other may be mid-rotation)."""
        sizes: dict[str, int | None] = {"selector1": private.get("_selector1"), "selector2": private.get("_selector2")}
        rotate_on = parse_when(private.get("_rotate_on"))
        before, after = private.get("_before"), private.get("_after")
        if now is not None and rotate_on is not None and before and after:
            active = str(after if now >= rotate_on else before).lower()
            if sizes.get(active) is not None:
                return sizes[active]
        known = {size for size in sizes.values() if size is not None}
        return known.pop() if len(known) == 1 else None

    def organization(self) -> tuple[bool | None, str | None]:
        data = self.data.get("organization")
        if not isinstance(data, dict):
            return None, None
        values = self.read(("organization",), data, ORGANIZATION_FIELDS)
        if values is None:
            return None, None
        name = values.get("_name")
        return values.get("reject_direct_send"), name.lower() if name else None

    def dedupe(self, what: str, read: list[tuple[_KeyPath, str | None, Any] | None]) -> list[Any]:
        """Drop repeats (the two Get-OutboundConnector runs both list connectors that are not in test mode)."""
        kept: list[Any] = []
        by_guid: dict[str, int] = {}
        by_name: dict[str, int] = {}
        for entry in read:
            if entry is None:
                continue
            path, guid, item = entry
            guid = guid.lower() if guid else None
            name = str(getattr(item, "name", None) or getattr(item, "domain_name", None) or getattr(item, "domain", ""))
            index = by_guid.get(guid) if guid else None
            if index is None:
                index = by_name.get(name.lower())
            if index is None:
                if guid:
                    by_guid[guid] = len(kept)
                by_name[name.lower()] = len(kept)
                kept.append(item)
                continue
            first = kept[index]
            if not _same(first, item):
                self.warn(
                    path,
                    f"{what} '{name}' is listed again with other settings; the first (line {first.where.line}) is used",
                )
        return kept

    def tenant(self, domains: list[AcceptedDomain], organization_name: str | None) -> str | None:
        initial = [d for d in domains if d.initial_domain]
        for domain in initial:
            label = tenant_label(domain.domain_name)
            if label:
                return label
        for domain in initial:
            self.warn(
                ("accepted_domains",),
                f"the initial domain '{domain.domain_name}' is not <tenant>.onmicrosoft.com or a sovereign-cloud form",
            )
        for name in [d.domain_name for d in domains if not d.is_coexistence_domain] + [organization_name or ""]:
            label = tenant_label(name)
            if label:
                return label
        return None
