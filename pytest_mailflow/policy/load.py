"""Loading a policy file: YAML with line numbers, schema, semantic checks, then the typed model.

Every problem is reported as ``path:line:col: key.path: message``; a file with problems yields a
:class:`PolicyError` listing all of them, and other files are unaffected.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from ..dmarc.record import parse_uri
from ..errors import PolicyError, Problem
from ..hints import did_you_mean
from ..inputs import POLICY_MAX_BYTES, decode_text, read_input
from ..names import InvalidDomainName, relative, to_a_label
from ..yamlload import Located, YamlLoadError, load_located
from .model import (
    DkimExpect,
    DmarcExpect,
    DomainPolicy,
    Expect,
    M365Expect,
    MtaStsExpect,
    MxExpect,
    MxHost,
    Policy,
    RequiredExpect,
    SpfExpect,
)
from .scenarios import CUSTOM, merge, scenarios
from .templates import context, is_absent, resolve
from .validate import problems as schema_problems

SCHEMA_VERSION = 1
#: A YAML file is a policy when it has a top-level ``mailflow:`` key; other YAML is not ours.
_MARKER = re.compile(r"^(?:mailflow|\"mailflow\"|'mailflow')[ \t]*:", re.MULTILINE)


def is_policy_text(text: str) -> bool:
    return bool(_MARKER.search(text))


@functools.cache
def policy_schema() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("policy.schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    return jsonschema.Draft202012Validator(policy_schema())


def load_policy(path: Path, display: str | None = None) -> Policy:
    shown = display or str(path)
    raw = read_input(
        path,
        shown,
        what="policy file",
        limit=POLICY_MAX_BYTES,
        error=PolicyError,
        hint="split the domains over several policy files",
    )
    return load_policy_text(decode_text(raw, shown, error=PolicyError), shown)


def load_policy_text(text: str, display: str) -> Policy:
    try:
        located = load_located(text, display)
    except YamlLoadError as exc:
        raise PolicyError([exc.problem]) from None
    if not isinstance(located.data, dict):
        raise PolicyError([located.problem((), "a policy file must be a mapping with 'mailflow: 1' and 'domains'")])
    found = schema_problems(_validator(), located)
    if found:
        raise PolicyError(found)
    return _Builder(located).build()


class _Builder:
    def __init__(self, located: Located) -> None:
        self.located = located
        self.problems: list[Problem] = []
        self.known_rules = _known_rules()

    def fail(self, path: tuple[str | int, ...], message: str, *, key: bool = False) -> None:
        self.problems.append(self.located.problem(path, message, key=key))

    def build(self) -> Policy:
        data = self.located.data
        defaults: dict[str, Any] = data.get("defaults") or {}
        self._check_common(("defaults",), defaults)
        seen: dict[str, str] = {}
        entries: list[tuple[str, str, dict[str, Any]]] = []
        for written, entry in data["domains"].items():
            path = ("domains", written)
            try:
                name = to_a_label(written)
            except InvalidDomainName as exc:
                self.fail(path, str(exc), key=True)
                continue
            if "_" in name:
                self.fail(path, _underscore(written, "a domain that sends or receives mail"), key=True)
                continue
            if name in seen:
                first = self.located.mark(("domains", seen[name]), key=True)[0]
                self.fail(path, f"duplicate domain '{name}' (also at line {first})", key=True)
                continue
            seen[name] = written
            self._check_common(path, entry or {})
            entries.append((name, written, entry or {}))
        # Build the model only from a file without problems: every value is known to be valid.
        domains = [] if self.problems else [self._domain(n, w, e, defaults) for n, w, e in entries]
        built = [d for d in domains if d is not None]
        if self.problems:
            raise PolicyError(sorted(self.problems, key=lambda p: (p.line, p.column)))
        return Policy(self.located.path, tuple(sorted(built, key=lambda d: d.name)), data.get("description", ""))

    def _check_common(self, path: tuple[str | int, ...], entry: dict[str, Any]) -> None:
        scenario = entry.get("scenario")
        if scenario is not None and scenario not in scenarios():
            self.fail(
                (*path, "scenario"),
                f"unknown scenario '{scenario}'{did_you_mean(scenario, scenarios())}; "
                f"known: {', '.join(sorted(scenarios()))}",
            )
        for key in ("rules", "skip"):
            for index, rule_id in enumerate(entry.get(key) or ()):
                if rule_id not in self.known_rules:
                    self.fail(
                        (*path, key, index), f"unknown rule ID '{rule_id}'{did_you_mean(rule_id, self.known_rules)}"
                    )
        expect = entry.get("expect") or {}
        dkim = expect.get("dkim") or {}
        for selector, host in (dkim.get("targets") or {}).items():
            self._check_host((*path, "expect", "dkim", "targets", selector), host)
        for index, uri in enumerate((expect.get("dmarc") or {}).get("rua") or ()):
            self._check_report_address((*path, "expect", "dmarc", "rua", index), uri)
        spf = expect.get("spf") or {}
        for key in ("must_pass", "must_fail"):
            for index, ip in enumerate(spf.get(key) or ()):
                try:
                    ipaddress.ip_address(ip)
                except ValueError:
                    self.fail((*path, "expect", "spf", key, index), f"'{ip}' is not an IPv4 or IPv6 address")
        for key in ("include", "forbid_include"):
            for index, host in enumerate(spf.get(key) or ()):
                self._check_host((*path, "expect", "spf", key, index), host)
        mx = (entry.get("expect") or {}).get("mx") or {}
        for index, host in enumerate(mx.get("hosts") or ()):
            value = host["host"] if isinstance(host, dict) else host
            self._check_host((*path, "expect", "mx", "hosts", index), value, mail_host=True)
        for index, host in enumerate(mx.get("forbid") or ()):
            self._check_host((*path, "expect", "mx", "forbid", index), host)
        self._check_params((*path, "params"), entry.get("params") or {})
        if mx.get("null_mx") and mx.get("hosts"):
            self.fail((*path, "expect", "mx"), "'null_mx: true' (no mail accepted) contradicts a list of MX hosts")

    def _check_params(self, path: tuple[str | int, ...], params: dict[str, Any]) -> None:
        for group in ("on_premises", "third_party", "previous_provider"):
            section = params.get(group) or {}
            for index, host in enumerate(section.get("mx") or ()):
                self._check_host((*path, group, "mx", index), host, mail_host=True)
            if section.get("spf_include"):
                self._check_host((*path, group, "spf_include"), section["spf_include"])
        for index, uri in enumerate((params.get("reports") or {}).get("rua") or ()):
            self._check_report_address((*path, "reports", "rua", index), uri)
        for group, key in (("on_premises", "egress"), ("devices", "ips")):
            for index, ip in enumerate((params.get(group) or {}).get(key) or ()):
                try:
                    ipaddress.ip_address(ip)
                except ValueError:
                    self.fail((*path, group, key, index), f"'{ip}' is not an IPv4 or IPv6 address")

    def _check_report_address(self, path: tuple[str | int, ...], value: str) -> None:
        """A DMARC report address: mailto:box@domain, or the bare mailbox (mailto: is implied)."""
        parsed = parse_uri(value if ":" in value else f"mailto:{value}")
        problem = parsed.error or ("" if parsed.scheme == "mailto" else "only mailto: report addresses are checked")
        if problem:
            self.fail(path, f"'{value}' is not a report address: {problem}")

    def _check_host(self, path: tuple[str | int, ...], value: str, *, mail_host: bool = False) -> None:
        try:
            name = to_a_label(value)
        except InvalidDomainName as exc:
            self.fail(path, str(exc))
            return
        if mail_host and "_" in name:
            self.fail(path, _underscore(value, "an MX host"))

    def _domain(self, name: str, written: str, entry: dict[str, Any], defaults: dict[str, Any]) -> DomainPolicy | None:
        path = ("domains", written)
        scenario_name = entry.get("scenario") or defaults.get("scenario") or "baseline"
        scenario = scenarios().get(scenario_name)
        if scenario is None:
            return None  # already reported
        rules = tuple(entry.get("rules") or ())
        if scenario_name == CUSTOM and not rules:
            self.fail(path, "scenario 'custom' needs a 'rules' list naming the rules that apply", key=True)
            return None
        if rules and scenario_name != CUSTOM:
            self.fail(
                (*path, "rules"),
                f"'rules' is only for scenario 'custom'; to drop rules from '{scenario_name}' use 'skip'",
            )
        params = merge(defaults.get("params") or {}, entry.get("params") or {})
        cloud = entry.get("cloud", defaults.get("cloud", "worldwide"))
        missing: list[str] = []
        templated = resolve(scenario.expect, context(cloud, params), missing)
        missing += [f"params.{p}" for p in scenario.required_params if is_absent(_dig(params, p))]
        for param in sorted(set(missing)):
            self.fail(path, f"scenario '{scenario_name}' needs {param} (see docs/scenarios.md)", key=True)
        merged = merge(merge(templated, defaults.get("expect") or {}), entry.get("expect") or {})
        spf = merged.get("spf") or {}
        both = {sender_ip(ip) for ip in spf.get("must_pass", ())} & {sender_ip(ip) for ip in spf.get("must_fail", ())}
        for ip in sorted(both):
            self.fail((*path, "expect", "spf"), f"{ip} is listed in both must_pass and must_fail")
        dkim = merged.get("dkim") or {}
        selectors = {s.lower() for s in dkim.get("selectors", ())}
        for selector in sorted({t.lower() for t in dkim.get("targets") or {}} - selectors):
            self.fail(
                (*path, "expect", "dkim", "targets"),
                f"target given for selector '{selector}', which is not in dkim.selectors (add it there)",
            )
        lines = self._expect_lines(("defaults", "expect"))
        lines.update(self._expect_lines((*path, "expect")))
        return DomainPolicy(
            name=name,
            scenario=scenario_name,
            expect=_expect(merged),
            path=self.located.path,
            line=self.located.mark(path, key=True)[0],
            tenant=entry.get("tenant", defaults.get("tenant")),
            tenant_export=entry.get("tenant_export", defaults.get("tenant_export")),
            cloud=entry.get("cloud", defaults.get("cloud", "worldwide")),
            skip=tuple(dict.fromkeys((*(defaults.get("skip") or ()), *(entry.get("skip") or ())))),
            rules=rules,
            expect_lines=lines,
        )

    def _expect_lines(self, prefix: tuple[str, ...]) -> dict[tuple[str, ...], int]:
        """The line of every key below ``prefix`` (which ends in 'expect'), by its path below it."""
        return dict(self._expect_index.get(prefix, {}))

    @functools.cached_property
    def _expect_index(self) -> dict[tuple[str | int, ...], dict[tuple[str, ...], int]]:
        # Built once per file: scanning every key for every domain made large policies quadratic.
        index: dict[tuple[str | int, ...], dict[tuple[str, ...], int]] = {}
        for key_path, (line, _col) in self.located.key_marks.items():
            for at, part in enumerate(key_path):
                rest = key_path[at + 1 :]
                if part == "expect" and rest and all(isinstance(p, str) for p in rest):
                    index.setdefault(key_path[: at + 1], {})[tuple(str(p) for p in rest)] = line
        return index


def _underscore(written: str, what: str) -> str:
    # SPF include targets and DKIM names may hold '_' (_spf.example.com); mail domains and MX hosts may
    # not: RFC 5321 §4.1.2 allows letters, digits and '-' only, so no mail could be addressed to them.
    return f"'{written}' holds '_', which {what} cannot (RFC 5321 §4.1.2: letters, digits and '-'); check the name"


@functools.cache
def _known_rules() -> frozenset[str]:
    from ..rules import REGISTRY

    return frozenset(REGISTRY)


def sender_ip(text: str) -> str:
    """One spelling per address. IPv6 is written in full without '::' (2001:db8:0:0:0:0:0:10), so
    a test ID holds no '::' inside its parameter, which pytest-xdist would split on."""
    address = ipaddress.ip_address(text)
    if address.version == 4:
        return str(address)
    return ":".join(format(int(group, 16), "x") for group in address.exploded.split(":"))


def _dig(data: dict[str, Any], path: str) -> Any:
    """The value at a dotted ``params`` path (without the 'params.' prefix), or the absent marker."""
    return resolve("${" + "params." + path.removeprefix("params.") + "}", {"params": data}, [])


def _expect(data: dict[str, Any]) -> Expect:
    mx = data.get("mx") or {}
    spf = data.get("spf") or {}
    hosts = None
    if mx.get("hosts"):
        hosts = tuple(
            MxHost(relative(to_a_label(h["host"])), h.get("priority"))
            if isinstance(h, dict)
            else MxHost(relative(to_a_label(h)))
            for h in mx["hosts"]
        )
    dkim = data.get("dkim") or {}
    dmarc = data.get("dmarc") or {}
    mta_sts = data.get("mta_sts") or {}
    m365 = data.get("m365") or {}
    return Expect(
        mx=MxExpect(
            hosts=hosts,
            null_mx=bool(mx.get("null_mx", False)),
            single=bool(mx.get("single", False)),
            microsoft=bool(mx.get("microsoft", False)),
            forbid=tuple(relative(to_a_label(h)) for h in mx.get("forbid", ())),
        ),
        dkim=DkimExpect(
            selectors=tuple(dict.fromkeys(s.lower() for s in dkim.get("selectors", ()))),
            cname=bool(dkim.get("cname", False)),
            targets=tuple(sorted((k.lower(), relative(to_a_label(v))) for k, v in (dkim.get("targets") or {}).items())),
            min_key_bits=int(dkim.get("min_key_bits", 1024)),
            revoked=bool(dkim.get("revoked", False)),
        ),
        dmarc=DmarcExpect(
            policy=dmarc.get("policy"),
            subdomain_policy=dmarc.get("subdomain_policy"),
            pct=dmarc.get("pct"),
            rua=tuple(dmarc.get("rua", ())),
        ),
        mta_sts=MtaStsExpect(
            required=bool(mta_sts.get("required", False)), mode=tuple(mta_sts.get("mode", ("enforce", "testing")))
        ),
        tls_rpt=RequiredExpect(bool((data.get("tls_rpt") or {}).get("required", False))),
        dane=RequiredExpect(bool((data.get("dane") or {}).get("required", False))),
        m365=M365Expect(bool(m365.get("autodiscover", False)), bool(m365.get("verification", False))),
        spf=SpfExpect(
            include=tuple(dict.fromkeys(relative(to_a_label(h)) for h in spf.get("include", ()))),
            forbid_include=tuple(dict.fromkeys(relative(to_a_label(h)) for h in spf.get("forbid_include", ()))),
            all=tuple(spf.get("all", ("-all", "~all"))),
            must_pass=tuple(dict.fromkeys(sender_ip(ip) for ip in spf.get("must_pass", ()))),
            must_fail=tuple(dict.fromkeys(sender_ip(ip) for ip in spf.get("must_fail", ()))),
            only_all=bool(spf.get("only_all", False)),
        ),
    )
