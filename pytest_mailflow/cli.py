"""The ``mailflow`` command: the rule index, one rule explained, the shipped JSON Schemas, and ``init``.

``mailflow init`` asks a domain's DNS (live, zone files or cassettes: the sources the pytest plugin
uses) what its mail flow looks like and writes a starter policy: a scenario per domain, the tenant and
cloud, and the scenario's ``params`` filled from what was seen, with a YAML comment on every value that
is a guess. Nothing here imports pytest: the engine works without it.

    mailflow rules [--family F] [--format text|markdown]
    mailflow explain RULE-ID
    mailflow schema [--kind policy|cassette|tenant-export]
    mailflow init DOMAIN ... [--nameserver ADDR[:PORT] ... | --zones PATH ... | --cassettes DIR] [-o FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import ipaddress
import os
import re
import shlex
import sys
import textwrap
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

import yaml

from . import __version__
from .clouds import CLOUDS
from .dmarc.discover import discover as discover_dmarc
from .dns.base import Answer, DnsSource, Question, ResolutionError
from .dns.cassette import RECORDABLE_ERRORS, CassetteMissing, cassette_path, dump, write_atomic
from .dns.live import parse_server
from .dns.recording import RecordingSource
from .dns.records import MxRecord, RecordSyntaxError, mx_record
from .dns.zonefiles import cached_zone_set, unusable_paths
from .errors import PolicyError
from .evidence import Evidence, EvidenceView
from .gather import GatherRequest, gather
from .hints import did_you_mean
from .names import InvalidDomainName, organizational_domain, relative, to_a_label
from .policy.load import load_policy_text
from .policy.model import DomainPolicy
from .policy.scenarios import CUSTOM, Scenario, scenarios
from .rules import REGISTRY, Rule, all_rules
from .rules.connectors import any_sender, applies_to, covers, hybrid_inbound, restricting
from .rules.dkim import MicrosoftTarget, microsoft_target
from .rules.m365 import autodiscover_clouds, mx_clouds, spf_include_clouds
from .rulesdoc import FAMILY_TITLES, families, render
from .sources import FALLBACKS, SourceSettings, ZoneFactory, build_sources, close_sources
from .spf.tree import SpfNode, build_tree, includes_in
from .tenant.load import TenantExportError, load_tenant_export
from .tenant.model import InboundConnector, OutboundConnector, TenantExport

PROG = "mailflow"
EXIT_OK = 0
#: Every error the command reports itself (bad input, DNS that cannot be read): one line, no traceback.
EXIT_ERROR = 2
#: The JSON Schemas shipped in the package, by ``--kind``: (package, file name).
SCHEMAS = {
    "policy": ("pytest_mailflow.policy", "policy.schema.json"),
    "cassette": ("pytest_mailflow.dns", "cassette.schema.json"),
    "tenant-export": ("pytest_mailflow.tenant", "tenant-export.schema.json"),
}
#: The DKIM selectors Microsoft 365 publishes; their CNAME targets name the tenant.
SELECTORS = ("selector1", "selector2")
AUTO = "auto"
WIDTH = 100
SCENARIOS_DOC = "docs/scenarios.md"


class CliError(Exception):
    """A problem the user can fix; shown as one line, exit status 2."""


# --- mailflow rules --------------------------------------------------------------------------------


def _family(given: str | None) -> str | None:
    if given is None:
        return None
    known = families()
    wanted = given.strip().lower()
    if wanted not in known:
        raise CliError(f"unknown family '{given}'{did_you_mean(wanted, known)}; known: {', '.join(known)}")
    return wanted


def _markdown_for_family(text: str, family: str, ids: set[str]) -> str:
    """The rule index of rulesdoc.render(), cut down to one family (its table rows and its section)."""
    head, *sections = text.split("\n## ")
    rows = [line for line in head.split("\n") if not line.startswith("| [MF-") or _row_id(line) in ids]
    title = FAMILY_TITLES.get(family, family)
    kept = [section for section in sections if section.split("\n", 1)[0] == title]
    return "\n".join(rows).rstrip("\n") + "\n" + "".join(f"\n## {section}" for section in kept)


def _row_id(line: str) -> str:
    match = re.match(r"\| \[(MF-[A-Z0-9]+-\d+)\]", line)
    return match.group(1) if match else ""


def cmd_rules(args: argparse.Namespace, out: TextIO) -> int:
    family = _family(args.family)
    rules = [rule for rule in all_rules() if family is None or rule.family == family]
    if args.format == "markdown":
        text = render()
        out.write(text if family is None else _markdown_for_family(text, family, {r.id for r in rules}))
        return EXIT_OK
    id_width = max(len(rule.id) for rule in rules)
    severity_width = max(len(str(rule.severity)) for rule in rules)
    for rule in rules:
        out.write(f"{rule.id:<{id_width}}  {rule.severity!s:<{severity_width}}  {rule.title}\n")
    return EXIT_OK


# --- mailflow explain ------------------------------------------------------------------------------


def scenarios_of(rule: Rule) -> list[str]:
    """The scenarios of the rule pack that list ``rule`` (as docs/rules.md shows them)."""
    return sorted(name for name, scenario in scenarios().items() if rule.id in scenario.rules)


#: A value for every ``params`` path, so that each scenario's own expectations can be built for a probe.
_PROBE_PARAMS = {
    "on_premises": {"mx": ["mx.probe.example"], "egress": ["192.0.2.1"]},
    "third_party": {"mx": ["mx.service.example"], "spf_include": "spf.service.example"},
    "previous_provider": {"mx": ["mx.old.example"], "spf_include": "spf.old.example"},
    "devices": {"ips": ["192.0.2.2"]},
    "reports": {"rua": ["mailto:reports@probe.example"]},
}


@functools.cache
def _probes(with_export: bool) -> dict[str, DomainPolicy]:
    """One domain per scenario, with the scenario's own expectations (and, optionally, a tenant export)."""
    names = sorted(name for name in scenarios() if name != CUSTOM)
    domains: dict[str, Any] = {}
    for name in names:
        entry: dict[str, Any] = {"scenario": name, "params": _PROBE_PARAMS}
        if with_export:
            entry["tenant_export"] = "probe.json"
        domains[f"{name}.probe.example"] = entry
    text = yaml.safe_dump({"mailflow": 1, "domains": domains}, sort_keys=False)
    policy = load_policy_text(text, "probe.yaml")
    return {domain.scenario: domain for domain in policy.domains}


def collecting_scenarios(rule: Rule, *, with_export: bool = True) -> list[str]:
    """The scenarios whose own expectations make ``rule`` run (the policy adding nothing)."""
    listed = set(scenarios_of(rule))
    return sorted(name for name, probe in _probes(with_export).items() if name in listed and rule.params(probe))


def _paragraph(text: str, indent: str = "  ") -> str:
    return textwrap.fill(" ".join(text.split()), WIDTH, initial_indent=indent, subsequent_indent=indent)


def cmd_explain(args: argparse.Namespace, out: TextIO) -> int:
    given = str(args.rule_id)
    rule = REGISTRY.get(given.strip().upper())
    if rule is None:
        raise CliError(f"unknown rule ID '{given}'{did_you_mean(given.strip(), REGISTRY)}; `{PROG} rules` lists them")
    family = f"{rule.family} ({FAMILY_TITLES[rule.family]})" if rule.family in FAMILY_TITLES else rule.family
    keys = f"expect.{'.'.join(rule.expect_keys)}" if rule.expect_keys else "none (the rule needs no expectation)"
    listed = scenarios_of(rule)
    collecting = collecting_scenarios(rule)
    if not listed:
        used = "none: only with scenario 'custom' (rules: [...])"
    else:
        used = ", ".join(collecting) or "none by itself"
    facts = [
        ("family", family),
        ("severity", str(rule.severity)),
        ("policy keys", keys),
        ("scenarios", used),
    ]
    if collecting and not collecting_scenarios(rule, with_export=False):
        facts.append(("needs", "a tenant export (tenant_export in the policy) for the connector checks"))
    if rule.expect_keys and set(collecting) != set(listed):
        facts.append(("also", f"in any other scenario, when the policy declares {keys}"))
    if rule.needs_fetch:
        facts.append(("collected", "only with --mailflow-fetch-mta-sts (it reads the fetched policy file)"))
    lines = [f"{rule.id}: {rule.title}", ""]
    for label, value in facts:
        lines.append(
            textwrap.fill(
                value, WIDTH, initial_indent=f"  {label + ':':<13}", subsequent_indent=" " * 15, break_on_hyphens=False
            )
        )
    lines += ["", "Why", _paragraph(rule.rationale), "", "Fix", _paragraph(rule.remediation), "", "References"]
    for reference in rule.references:
        lines += [f"  - {reference.title}", f"    {reference.url}"]
    lines += [
        "",
        f"Only this rule:  pytest --mailflow policies/ -m \"mailflow(rule='{rule.id}')\"",
        f"In the index:    docs/rules.md#{rule.id.lower()}",
    ]
    out.write("\n".join(lines) + "\n")
    return EXIT_OK


# --- mailflow schema -------------------------------------------------------------------------------


def schema_text(kind: str) -> str:
    package, name = SCHEMAS[kind]
    return resources.files(package).joinpath(name).read_text(encoding="utf-8")


def cmd_schema(args: argparse.Namespace, out: TextIO) -> int:
    text = schema_text(args.kind)
    out.write(text if text.endswith("\n") else text + "\n")
    return EXIT_OK


# --- mailflow init: what DNS shows ---------------------------------------------------------------


class _Memo:
    """Asks the inner source each question once (init gathers twice: to detect, then to record)."""

    def __init__(self, inner: DnsSource) -> None:
        self.inner = inner
        self.known: dict[Question, Answer | ResolutionError] = {}

    def resolve(self, question: Question) -> Answer:
        known = self.known.get(question)
        if known is None:
            try:
                known = self.inner.resolve(question)
            except ResolutionError as exc:
                known = exc
            self.known[question] = known
        if isinstance(known, ResolutionError):
            raise known
        return known

    def describe(self) -> str:
        return self.inner.describe()


@dataclass
class Facts:
    """What one domain's DNS publishes, as far as choosing a scenario needs it."""

    domain: str
    mx_status: str = "NOERROR"
    null_mx: bool = False
    microsoft_mx: tuple[str, ...] = ()
    other_mx: tuple[str, ...] = ()
    spf: str | None = None
    spf_status: str = "none"
    only_fail_all: bool = False
    #: Microsoft 365 SPF includes anywhere in the SPF tree.
    microsoft_includes: tuple[str, ...] = ()
    #: Other includes (and redirect) of the domain's own record.
    other_includes: tuple[str, ...] = ()
    #: Single addresses authorised by ip4:/ip6: in the domain's own record.
    addresses: tuple[str, ...] = ()
    #: Wider ip4:/ip6: networks in the domain's own record (params take single addresses).
    networks: tuple[str, ...] = ()
    dkim_targets: dict[str, str] = field(default_factory=dict)
    autodiscover: str | None = None
    rua: tuple[str, ...] = ()
    #: Lookups that could not be determined (the facts they would give are unknown).
    unknown: list[str] = field(default_factory=list)

    @property
    def mx_hosts(self) -> tuple[str, ...]:
        return (*self.microsoft_mx, *self.other_mx)

    @property
    def dkim_microsoft(self) -> dict[str, MicrosoftTarget]:
        found = {}
        for selector, target in self.dkim_targets.items():
            parts = microsoft_target(target)
            if parts is not None:
                found[selector] = parts
        return found

    @property
    def autodiscover_microsoft(self) -> bool:
        return self.autodiscover is not None and bool(autodiscover_clouds(self.autodiscover))

    @property
    def mx_on_premises(self) -> bool:
        """Every non-Microsoft MX host is under the domain's own organisational domain."""
        own = organizational_domain(self.domain)
        return bool(self.other_mx) and all(organizational_domain(host) == own for host in self.other_mx)


def _answer(evidence: Evidence, name: str, rdtype: str) -> Answer | ResolutionError | None:
    return evidence.answers.get(Question.of(name, rdtype))


def _cname_target(evidence: Evidence, name: str) -> str | None:
    answer = _answer(evidence, name, "CNAME")
    if isinstance(answer, Answer) and answer.status == "NOERROR" and answer.records:
        return relative(answer.records[0])
    text = _answer(evidence, name, "TXT")
    if isinstance(text, Answer) and text.cname_chain:
        return relative(text.cname_chain[0])
    return None


def read_facts(domain: str, evidence: Evidence) -> Facts:
    """The facts of a gathered domain; raises :class:`CliError` when its MX or TXT cannot be read."""
    facts = Facts(domain)
    mx = _answer(evidence, domain, "MX")
    if isinstance(mx, ResolutionError):
        raise CliError(f"{domain}: {mx}")
    assert mx is not None
    facts.mx_status = mx.status
    if mx.status == "NXDOMAIN":
        raise CliError(f"{domain}: the domain does not exist (NXDOMAIN) [{mx.provenance or evidence.source}]")
    microsoft: list[str] = []
    other: list[str] = []
    records: list[MxRecord] = []
    for text in mx.records:
        try:
            records.append(mx_record(text))
        except RecordSyntaxError:
            continue
    for record in sorted(records, key=lambda r: (r.preference, r.exchange)):
        if record.is_null:
            facts.null_mx = True
            continue
        host = relative(record.exchange)
        (microsoft if mx_clouds(host) else other).append(host)
    facts.microsoft_mx, facts.other_mx = tuple(dict.fromkeys(microsoft)), tuple(dict.fromkeys(other))
    txt = _answer(evidence, domain, "TXT")
    if isinstance(txt, ResolutionError):
        raise CliError(f"{domain}: {txt}")
    view = EvidenceView(evidence)
    tree = build_tree(domain, view.lookup)
    _spf_facts(facts, tree)
    for selector in SELECTORS:
        name = f"{selector}._domainkey.{domain}"
        target = _cname_target(evidence, name)
        if target is not None:
            facts.dkim_targets[selector] = target
        elif isinstance(_answer(evidence, name, "CNAME"), ResolutionError):
            facts.unknown.append(f"{name} CNAME")
    facts.autodiscover = _cname_target(evidence, f"autodiscover.{domain}")
    if isinstance(_answer(evidence, f"autodiscover.{domain}", "CNAME"), ResolutionError):
        facts.unknown.append(f"autodiscover.{domain} CNAME")
    discovery = discover_dmarc(domain, view.lookup)
    dmarc = discovery.record
    if dmarc is not None and not discovery.inherited:
        facts.rua = tuple(f"mailto:{uri.address}" for uri in dmarc.uris("rua") if uri.valid and uri.scheme == "mailto")
    return facts


def _spf_facts(facts: Facts, tree: SpfNode) -> None:
    facts.spf_status = tree.status
    if tree.status == "unresolved" and tree.error is not None:
        raise CliError(f"{facts.domain}: {tree.error}")
    if tree.record is None:
        return
    facts.spf = tree.record.text
    terms = tree.record.terms
    facts.only_fail_all = len(terms) == 1 and terms[0].kind == "all" and terms[0].qualifier == "-"
    includes = [name for name in includes_in(tree) if spf_include_clouds(name)]
    facts.microsoft_includes = tuple(includes)
    others: list[str] = []
    addresses: list[str] = []
    networks: list[str] = []
    for term in tree.record.evaluated_terms:
        if term.kind in {"include", "redirect"} and term.target and not term.has_macro:
            name = relative(term.target)
            if not spf_include_clouds(name):
                others.append(name)
        elif term.kind in {"ip4", "ip6"} and term.target and term.qualifier == "+" and not term.is_modifier:
            try:
                network = ipaddress.ip_network(term.target, strict=False)
            except ValueError:
                continue
            if network.num_addresses == 1:
                addresses.append(str(network.network_address))
            else:
                networks.append(str(network))
    facts.other_includes = tuple(dict.fromkeys(others))
    facts.addresses = tuple(dict.fromkeys(addresses))
    facts.networks = tuple(dict.fromkeys(networks))


@dataclass(frozen=True)
class TenantFacts:
    """What a tenant export says about one domain's connectors."""

    accepted: bool = False
    domain_type: str = ""
    lock_down: tuple[str, ...] = ()
    hybrid: tuple[str, ...] = ()
    cmt: tuple[str, ...] = ()
    plain_inbound: tuple[str, ...] = ()
    plain_outbound: tuple[str, ...] = ()
    service_outbound: tuple[str, ...] = ()
    dkim_targets: tuple[str, ...] = ()


def _routes(connector: OutboundConnector, domain: str) -> bool:
    return connector.all_accepted_domains or any(covers(p, domain, apex=True) for p in connector.recipient_domains)


def _hybrid_outbound(connector: OutboundConnector) -> bool:
    return connector.connector_type == "OnPremises" and (
        connector.connector_source == "HybridWizard" or connector.cloud_services_mail_enabled
    )


def tenant_facts(export: TenantExport, domain: str) -> TenantFacts:
    inbound: list[InboundConnector] = [c for c in export.inbound if c.enabled and applies_to(c, domain)]
    outbound: list[OutboundConnector] = [c for c in export.outbound if c.enabled]
    accepted = export.accepted(domain)
    dkim = export.dkim_for(domain)
    on_premises_out = [c for c in outbound if c.connector_type == "OnPremises" and _routes(c, domain)]
    return TenantFacts(
        accepted=accepted is not None,
        domain_type=accepted.domain_type if accepted else "",
        lock_down=tuple(c.name for c in inbound if c.is_partner and any_sender(c) and restricting(c)),
        hybrid=tuple(
            [c.name for c in inbound if hybrid_inbound(c)] + [c.name for c in on_premises_out if _hybrid_outbound(c)]
        ),
        cmt=tuple(c.name for c in on_premises_out if c.route_all_messages_via_on_premises),
        plain_inbound=tuple(c.name for c in inbound if c.connector_type == "OnPremises" and not hybrid_inbound(c)),
        plain_outbound=tuple(c.name for c in on_premises_out if not _hybrid_outbound(c)),
        service_outbound=tuple(
            c.name
            for c in outbound
            if c.connector_type == "Partner" and c.smart_hosts and not c.use_mx_record and "*" in c.recipient_domains
        ),
        dkim_targets=tuple(t for t in (dkim.selector1_cname, dkim.selector2_cname) if t) if dkim else (),
    )


# --- mailflow init: choosing a scenario ------------------------------------------------------------


@dataclass
class Choice:
    scenario: str
    guess: bool
    why: list[str]


def _names(hosts: Iterable[str]) -> str:
    return ", ".join(hosts)


def _quoted(names: Iterable[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


def choose_scenario(facts: Facts, tenant: TenantFacts | None) -> Choice:
    """The scenario that fits what DNS (and the tenant export) show; ``guess`` when it is inferred.

    The rules, in order (docs/cli.md):

    * null MX and SPF ``v=spf1 -all``: parked (no MX at all and ``-all``: parked, a guess);
    * an MX at Exchange Online: cloud-only; a hybrid-mx-m365 variant, eop-standalone or device-sending
      (guesses) when the export shows OnPremises connectors or SPF lists addresses of its own;
    * an MX elsewhere with Microsoft 365 in SPF (or a tenant export): a third-party or on-premises
      scenario, chosen by the export's lock-down and hybrid connectors and by whether the MX hosts are
      the domain's own (guesses unless the export settles it);
    * no Microsoft 365 at all: baseline.
    """
    microsoft_dns = bool(
        facts.microsoft_mx or facts.microsoft_includes or facts.dkim_microsoft or facts.autodiscover_microsoft
    )
    in_tenant = tenant is not None and tenant.accepted
    if facts.null_mx and not facts.mx_hosts:
        if facts.only_fail_all:
            return Choice(
                "parked", False, ["Null MX (0 .) and SPF 'v=spf1 -all': the domain neither receives nor sends mail."]
            )
        return Choice(
            "baseline",
            True,
            [
                f"Null MX (0 .): the domain receives no mail, but SPF '{facts.spf}' authorises senders, which no "
                f"scenario describes; baseline checks the hygiene every domain needs."
                if facts.spf
                else "Null MX (0 .) but no SPF record: if the domain sends no mail either, publish 'v=spf1 -all' "
                "and use scenario parked."
            ],
        )
    if not facts.mx_hosts and facts.only_fail_all:
        return Choice(
            "parked",
            True,
            [
                f"No MX record ({facts.mx_status}) and SPF 'v=spf1 -all': looks parked. The parked scenario also "
                "expects a null MX (0 ., RFC 7505), so MF-MX-001 fails until one is published."
            ],
        )
    if facts.microsoft_mx:
        return _mx_at_microsoft(facts, tenant)
    if facts.other_mx and (facts.microsoft_includes or in_tenant or microsoft_dns):
        return _mx_elsewhere(facts, tenant)
    if not facts.mx_hosts:
        return Choice(
            "baseline",
            True,
            [f"No MX record ({facts.mx_status}): the domain receives no mail; baseline checks its hygiene."],
        )
    return Choice(
        "baseline",
        False,
        [f"MX {_names(facts.mx_hosts)}: neither MX nor SPF names Microsoft 365; baseline checks the hygiene."],
    )


def _mx_at_microsoft(facts: Facts, tenant: TenantFacts | None) -> Choice:
    why = [f"MX {_names(facts.microsoft_mx)} is Exchange Online."]
    guess = False
    if facts.other_mx:
        guess = True
        why.append(
            f"The MX also lists {_names(facts.other_mx)}, which is not Microsoft's: the scenarios with the MX at "
            "Exchange Online expect it alone. If those hosts belong to the provider the domain moved from, use "
            "cloud-only-migration with params.previous_provider.mx."
        )
    if tenant is not None and tenant.hybrid:
        name = "hybrid-mx-m365-cmt" if tenant.cmt else "hybrid-mx-m365"
        why.append(f"Guess: the tenant export has hybrid connectors ({_quoted(tenant.hybrid)}).")
        if tenant.cmt:
            why.append(f"RouteAllMessagesViaOnPremises is on ({_quoted(tenant.cmt)}): centralized mail transport.")
        return Choice(name, True, why)
    if tenant is not None and tenant.plain_outbound:
        why.append(
            f"Guess: the OnPremises outbound connector {_quoted(tenant.plain_outbound)} delivers the domain's mail "
            "to servers of its own, without Exchange hybrid: Exchange Online Protection in front of them."
        )
        return Choice("eop-standalone", True, why)
    if tenant is not None and tenant.plain_inbound:
        why.append(
            f"Guess: the OnPremises inbound connector {_quoted(tenant.plain_inbound)} is not a hybrid one: devices "
            "or applications that relay through Exchange Online."
        )
        return Choice("device-sending", True, why)
    if facts.addresses:
        listed = _names(facts.addresses)
        if facts.autodiscover_microsoft:
            why.append(
                f"Guess: SPF also authorises {listed}, and autodiscover points at Microsoft 365: devices or "
                "applications that send. If they are on-premises Exchange servers, use hybrid-mx-m365."
            )
            return Choice("device-sending", True, why)
        if not facts.dkim_microsoft and facts.autodiscover is not None:
            why.append(
                f"Guess: SPF also authorises {listed}, autodiscover points at {facts.autodiscover} and no DKIM "
                "selector points into Microsoft 365: mailboxes on-premises behind Exchange Online Protection. "
                "With Exchange hybrid, use hybrid-mx-m365."
            )
            return Choice("eop-standalone", True, why)
        why.append(
            f"Guess: SPF also authorises {listed}: on-premises servers that still send, as in Exchange hybrid. "
            "If on-premises sends all internet mail (centralized mail transport), use hybrid-mx-m365-cmt; if "
            "the addresses are devices or applications, device-sending."
        )
        return Choice("hybrid-mx-m365", True, why)
    return Choice("cloud-only", guess, why)


def _mx_elsewhere(facts: Facts, tenant: TenantFacts | None) -> Choice:
    hosts = _names(facts.other_mx)
    own = facts.mx_on_premises
    where = "the domain's own servers" if own else "a service outside the domain"
    why = [f"MX {hosts} is not Microsoft's ({where})."]
    if facts.microsoft_includes:
        why.append(f"SPF includes {_names(facts.microsoft_includes)}.")
    if tenant is not None and (tenant.lock_down or tenant.hybrid or tenant.service_outbound):
        if tenant.lock_down:
            why.append(f"The tenant export has a lock-down Partner connector ({_quoted(tenant.lock_down)}).")
        if tenant.service_outbound and tenant.lock_down and not own:
            why.append(f"All outbound mail goes to the service ({_quoted(tenant.service_outbound)}).")
            return Choice("third-party-archive", False, why)
        if tenant.hybrid:
            why.append(f"Guess: the tenant export has hybrid connectors ({_quoted(tenant.hybrid)}).")
            if own:
                if tenant.cmt:
                    why.append(f"RouteAllMessagesViaOnPremises is on ({_quoted(tenant.cmt)}).")
                    return Choice("hybrid-mx-on-premises-cmt", True, why)
                return Choice("hybrid-mx-on-premises-relay", True, why)
            return Choice("third-party-filter-hybrid", True, why)
        if tenant.lock_down and not own:
            return Choice("third-party-filter", False, why)
        if tenant.lock_down:
            why.append(
                "Guess: the MX hosts are the domain's own, so the lock-down admits on-premises servers: "
                "Exchange hybrid with the MX on-premises. See docs/scenarios.md."
            )
            return Choice("hybrid-mx-on-premises-relay", True, why)
    if facts.microsoft_includes:
        if own:
            why.append(
                "Guess: mailboxes on-premises and in Exchange Online, the MX on-premises, internet mail relayed "
                "through Microsoft 365. If all internet mail leaves through on-premises, use "
                "hybrid-mx-on-premises-cmt with params.on_premises.egress; with a filtering service in front, "
                "third-party-filter. Check docs/scenarios.md (Choosing a scenario)."
            )
            return Choice("hybrid-mx-on-premises-relay", True, why)
        if facts.autodiscover is not None and not facts.autodiscover_microsoft:
            why.append(
                f"Guess: a filtering service in front of Exchange Online, and autodiscover points at "
                f"{facts.autodiscover}, not at Microsoft 365: mailboxes on-premises too (Exchange hybrid). Without "
                "on-premises mailboxes, use third-party-filter. Check docs/scenarios.md (Choosing a scenario)."
            )
            return Choice("third-party-filter-hybrid", True, why)
        why.append(
            "Guess: a filtering service in front of Exchange Online. If it also archives and sends the outbound "
            "mail, use third-party-archive; with on-premises mailboxes too, third-party-filter-hybrid. Check "
            "docs/scenarios.md (Choosing a scenario); a tenant export (--tenant-export) settles it."
        )
        return Choice("third-party-filter", True, why)
    if facts.other_includes and not own:
        why.append(
            f"Guess: SPF authorises {_names(facts.other_includes)} rather than Microsoft 365, while Microsoft 365 "
            "records are published: a service that receives and sends all mail (archiving) in front of Exchange "
            "Online."
        )
        return Choice("third-party-archive", True, why)
    why.append(
        "Guess: Microsoft 365 records are published, but neither the MX nor SPF sends mail through it; no "
        "scenario fits, so baseline checks the hygiene. See docs/scenarios.md."
    )
    return Choice("baseline", True, why)


# --- mailflow init: tenant, cloud and params ------------------------------------------------------


_DKIM_CLOUDS = {
    "onmicrosoft.com": frozenset({"worldwide"}),
    "onmicrosoft.us": frozenset({"gcc-high", "dod"}),
    "partner.onmschina.cn": frozenset({"21vianet"}),
}


def choose_cloud(facts: Facts) -> tuple[str, str, bool]:
    """(cloud, note, guess) from the Microsoft names in MX, SPF, autodiscover and the DKIM targets."""
    votes: list[tuple[str, frozenset[str]]] = []
    votes += [(f"MX {host}", mx_clouds(host)) for host in facts.microsoft_mx]
    votes += [(f"SPF include:{name}", spf_include_clouds(name)) for name in facts.microsoft_includes]
    if facts.autodiscover_microsoft and facts.autodiscover:
        votes.append((f"autodiscover {facts.autodiscover}", autodiscover_clouds(facts.autodiscover)))
    for selector, parts in facts.dkim_microsoft.items():
        clouds = frozenset({"worldwide"}) if parts.form == "new" else _DKIM_CLOUDS.get(parts.suffix, frozenset())
        votes.append((f"DKIM {selector}", clouds))
    sets = [clouds for _, clouds in votes if clouds]
    if not sets:
        return "worldwide", "", False
    common = frozenset.intersection(*sets) & set(CLOUDS)
    named = _names(what for what, _ in votes)
    if len(common) == 1:
        cloud = next(iter(common))
        return cloud, (f"from {named}" if cloud != "worldwide" else ""), False
    if len(common) > 1:
        cloud = "gcc-high" if "gcc-high" in common else sorted(common)[0]
        return cloud, f"guess: {named} fit {' and '.join(sorted(common))}; set the one the tenant is in", True
    first = next((clouds & set(CLOUDS) for _, clouds in votes if clouds & set(CLOUDS)), None)
    if first is None:  # only names of the retired Office 365 Germany
        return "worldwide", f"guess: {named} belong to Office 365 Germany, which is retired", True
    cloud = "gcc-high" if "gcc-high" in first else sorted(first)[0]
    return cloud, f"guess: the Microsoft names point at different clouds ({named}); MF-M365-003 will say more", True


def choose_tenant(facts: Facts, export: TenantExport | None, tenant: TenantFacts | None) -> tuple[str | None, str]:
    """(tenant, note): from the DKIM CNAME targets, else from the tenant export; the MX token is no help."""
    from_dns = facts.dkim_microsoft
    if from_dns:
        selector, parts = next(iter(from_dns.items()))
        others = sorted({p.tenant for p in from_dns.values()} - {parts.tenant})
        note = f"from the DKIM CNAME {selector}._domainkey -> {facts.dkim_targets[selector]}"
        if others:
            note += f"; guess: other selectors point at tenant {', '.join(others)}"
        if export is not None and export.tenant and export.tenant != parts.tenant:
            note += f"; the tenant export is of tenant '{export.tenant}'"
        return parts.tenant, note
    for target in tenant.dkim_targets if tenant else ():
        exported = microsoft_target(target)
        if exported is not None:
            return exported.tenant, f"from the tenant export's DKIM signing configuration ({target})"
    if export is not None and export.tenant:
        return export.tenant, "from the tenant export (its initial domain)"
    return None, ""


#: The order params are written in (others follow in the scenario's order).
_PARAM_ORDER = (
    "on_premises.mx",
    "on_premises.egress",
    "third_party.mx",
    "third_party.spf_include",
    "previous_provider.mx",
    "previous_provider.spf_include",
    "devices.ips",
    "reports.rua",
)
#: The one params key SPF addresses go to: the first of these the scenario reads.
_ADDRESS_PARAMS = ("on_premises.egress", "devices.ips")
_PARAM = re.compile(r"^\$\{\??params\.([a-z0-9_]+(?:\.[a-z0-9_]+)*)\}$")


def scenario_params(scenario: Scenario) -> list[str]:
    """The params paths a scenario reads (its templates and required params), in a stable order."""
    found: dict[str, None] = {}

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str):
            match = _PARAM.match(value)
            if match:
                found[match.group(1)] = None

    walk(scenario.expect)
    for path in scenario.required_params:
        found[path.removeprefix("params.")] = None
    rank = {path: index for index, path in enumerate(_PARAM_ORDER)}
    return sorted(found, key=lambda path: rank.get(path, len(rank)))


@dataclass
class Param:
    value: list[str] | str
    note: str = ""


def fill_params(scenario: Scenario, facts: Facts) -> tuple[dict[str, Param], list[str]]:
    """The params the scenario reads, filled from the facts; and the required ones that cannot be."""
    wanted = scenario_params(scenario)
    address_key = next((key for key in _ADDRESS_PARAMS if key in wanted), None)
    filled: dict[str, Param] = {}
    for path in wanted:
        param = _param_value(path, facts, address_key)
        if param is not None:
            filled[path] = param
    missing = [p.removeprefix("params.") for p in scenario.required_params if p.removeprefix("params.") not in filled]
    return filled, missing


def _param_value(path: str, facts: Facts, address_key: str | None) -> Param | None:
    networks = (
        f"; SPF also authorises {_names(facts.networks)}, which params cannot name (single addresses only)"
        if facts.networks
        else ""
    )
    if path in {"on_premises.mx", "third_party.mx"} and facts.other_mx:
        return Param(list(facts.other_mx), "the MX hosts that are not Microsoft's")
    if path == "previous_provider.mx" and facts.other_mx:
        return Param(
            list(facts.other_mx), "guess: the MX hosts that are not Microsoft's; after the move they must be gone"
        )
    if path == address_key and facts.addresses:
        who = "the on-premises servers that send" if path == "on_premises.egress" else "the devices that send"
        return Param(list(facts.addresses), f"guess: the single addresses in SPF; keep only {who}{networks}")
    if path == "third_party.spf_include" and facts.other_includes:
        note = "the SPF include that is not Microsoft's"
        if len(facts.other_includes) > 1:
            note = f"guess: the first of the SPF includes that are not Microsoft's ({_names(facts.other_includes)})"
        return Param(facts.other_includes[0], note)
    if path == "reports.rua" and facts.rua:
        return Param(list(facts.rua), "from the published DMARC record")
    return None


# --- mailflow init: writing the policy --------------------------------------------------------------


@dataclass
class Proposal:
    domain: str
    choice: Choice
    tenant: str | None = None
    tenant_note: str = ""
    cloud: str = "worldwide"
    cloud_note: str = ""
    cloud_guess: bool = False
    tenant_export: str | None = None
    params: dict[str, Param] = field(default_factory=dict)
    expect: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def microsoft(self) -> bool:
        return self.choice.scenario not in {"baseline", "parked", CUSTOM}


def _scalar(value: str) -> str:
    """A YAML scalar: plain when it reads back as the same string (in a flow list too), else double-quoted."""
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/-]*", value):
        try:
            if yaml.safe_load(f"[{value}]") == [value]:
                return value
        except yaml.YAMLError:
            pass
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _flow(values: Sequence[str]) -> str:
    return "[" + ", ".join(_scalar(v) for v in values) + "]"


def _comment(text: str, indent: int) -> list[str]:
    prefix = " " * indent + "# "
    return textwrap.wrap(
        " ".join(text.split()),
        WIDTH + 20,
        initial_indent=prefix,
        subsequent_indent=prefix,
        break_on_hyphens=False,
        break_long_words=False,
    )


def _params_lines(params: dict[str, Param], indent: int) -> list[str]:
    tree: dict[str, dict[str, Param]] = {}
    for path, param in params.items():
        group, key = path.split(".", 1)
        tree.setdefault(group, {})[key] = param
    lines = [" " * indent + "params:"]
    for group, keys in tree.items():
        lines.append(" " * (indent + 2) + f"{group}:")
        for key, param in keys.items():
            if param.note:
                lines += _comment(param.note, indent + 4)
            value = _flow(param.value) if isinstance(param.value, list) else _scalar(param.value)
            lines.append(" " * (indent + 4) + f"{key}: {value}")
    return lines


def render_policy(proposals: Sequence[Proposal], header: Sequence[str], commands: Sequence[str] = ()) -> str:
    """The policy text: ``header`` as wrapped comments, ``commands`` as comments kept on one line each."""
    lines = [line for text in header for line in _comment(text, 0)]
    lines += [f"# {command}" for command in commands]
    lines += [
        "mailflow: 1",
        "description: Starter policy written by mailflow init",
        "domains:",
    ]
    for proposal in proposals:
        lines.append(f"  {proposal.domain}:")
        for note in proposal.notes:
            lines += _comment(note, 4)
        for index, text in enumerate(proposal.choice.why):
            lines += _comment(text, 4)
            if index == len(proposal.choice.why) - 1 and proposal.microsoft:
                lines += _comment(f"See {SCENARIOS_DOC}#{proposal.choice.scenario}.", 4)
        lines.append(f"    scenario: {proposal.choice.scenario}")
        if proposal.microsoft:
            if proposal.tenant:
                lines += _comment(f"tenant: {proposal.tenant}.onmicrosoft.com, {proposal.tenant_note}", 4)
                lines.append(f"    tenant: {_scalar(proposal.tenant)}")
            else:
                lines += _comment(
                    "tenant: not found (no DKIM selector CNAME into Microsoft 365, no tenant export; the MX name "
                    "does not give it). Write the label before .onmicrosoft.com:",
                    4,
                )
                lines.append("    # tenant: <tenant>")
            if proposal.cloud != "worldwide" or proposal.cloud_guess:
                lines += _comment(f"cloud: {proposal.cloud_note}", 4)
                lines.append(f"    cloud: {proposal.cloud}")
        if proposal.tenant_export:
            lines.append(f"    tenant_export: {_scalar(proposal.tenant_export)}")
        if proposal.params:
            lines += _params_lines(proposal.params, 4)
        if proposal.expect:
            lines += _comment("What DNS publishes now: the policy reports a change.", 4)
            lines.append("    expect:")
            for family, values in proposal.expect.items():
                lines.append(f"      {family}:")
                for key, value in values.items():
                    shown = _flow(value) if isinstance(value, list) else str(value).lower()
                    lines.append(f"        {key}: {shown}")
    return "\n".join(lines) + "\n"


def propose(
    facts: Facts,
    scenario_name: str,
    export: TenantExport | None,
    export_path: str | None,
) -> Proposal:
    tenant = tenant_facts(export, facts.domain) if export is not None else None
    if scenario_name == AUTO:
        choice = choose_scenario(facts, tenant)
    else:
        choice = Choice(scenario_name, False, [f"Scenario chosen with --scenario {scenario_name}."])
    proposal = Proposal(facts.domain, choice)
    if facts.unknown:
        proposal.notes.append(
            f"Could not be determined, so not used: {_names(facts.unknown)} (the choice may change once they answer)."
        )
    scenario = scenarios()[choice.scenario]
    params, missing = fill_params(scenario, facts)
    if missing:
        needed = ", ".join(f"params.{p}" for p in missing)
        raise CliError(
            f"{facts.domain}: scenario '{choice.scenario}' needs {needed}, which its DNS does not show; "
            f"choose another --scenario (or auto), or write it by hand ({SCENARIOS_DOC}#{choice.scenario})"
        )
    proposal.params = params
    if proposal.microsoft:
        proposal.tenant, proposal.tenant_note = choose_tenant(facts, export, tenant)
        proposal.cloud, proposal.cloud_note, proposal.cloud_guess = choose_cloud(facts)
    if export_path is not None and (proposal.microsoft or (tenant is not None and tenant.accepted)):
        proposal.tenant_export = export_path
    if choice.scenario == "baseline":
        if facts.other_mx or facts.microsoft_mx:
            proposal.expect["mx"] = {"hosts": list(facts.mx_hosts)}
        elif facts.null_mx:
            proposal.expect["mx"] = {"null_mx": True}
        if facts.other_includes or facts.microsoft_includes:
            includes = [n for n in facts.other_includes if n != facts.domain]
            includes += [n for n in facts.microsoft_includes if n not in includes]
            proposal.expect["spf"] = {"include": includes}
    return proposal


# --- mailflow init: the command --------------------------------------------------------------------


def _domains(given: Sequence[str]) -> list[str]:
    found: list[str] = []
    for text in given:
        try:
            name = to_a_label(text)
        except InvalidDomainName as exc:
            raise CliError(str(exc)) from None
        if name not in found:
            found.append(name)
    return found


def _settings(args: argparse.Namespace) -> SourceSettings:
    try:
        servers = tuple(parse_server(s) for s in args.nameserver or ())
    except ValueError as exc:
        raise CliError(f"--nameserver {exc}") from None
    zones = tuple(Path(z) for z in args.zones or ())
    if args.fallback is not None and not zones:
        raise CliError("--fallback only applies with --zones (names outside the zone files)")
    if args.cassettes is not None and servers and not zones:
        raise CliError(
            "--cassettes replays recorded answers and --nameserver asks live DNS: give one of them, "
            "or --zones with --fallback cassette or live"
        )
    if args.timeout <= 0:
        raise CliError("--timeout must be a positive number of seconds")
    if args.retries < 0:
        raise CliError("--retries must be 0 or more")
    if zones:
        unusable = unusable_paths(list(zones))
        if unusable:
            raise CliError("--zones: " + "; ".join(unusable))
        source = "cassette"
    else:
        source = "cassette" if args.cassettes is not None else "live"
    return SourceSettings(
        source=source,
        cassettes=Path(args.cassettes) if args.cassettes is not None else None,
        nameservers=servers,
        timeout=args.timeout,
        retries=args.retries,
        zones=zones,
        fallback=args.fallback or "cassette",
    )


def _shown(path: Path, base: Path, cwd: Path | None = None) -> str:
    """``path`` relative to ``base`` when both are inside ``cwd`` (default: ``base``), else absolute."""
    target, start = path.resolve(), base.resolve()
    inside = (cwd or base).resolve()
    if not (target.is_relative_to(inside) and start.is_relative_to(inside)):
        return target.as_posix()
    return Path(os.path.relpath(target, start)).as_posix()


def _describe(settings: SourceSettings) -> str:
    """Where the answers came from, in the words of the options given."""
    if settings.zones:
        fallback = {
            "cassette": f"cassettes in {settings.cassettes.as_posix()}" if settings.cassettes else "cassettes",
            "live": "live DNS",
            "none": "nowhere",
        }[settings.fallback]
        zones = ", ".join(z.as_posix() for z in settings.zones)
        return f"the zone files in {zones} (other names: {fallback})"
    if settings.source == "cassette" and settings.cassettes is not None:
        return f"the cassettes in {settings.cassettes.as_posix()}"
    servers = ", ".join(str(s) for s in settings.nameservers) or "the system's resolvers"
    return f"live DNS ({servers})"


def _gather(domain: str, source: _Memo) -> Evidence:
    # The MX first: when it cannot be read (a name server that does not answer) nothing else is asked.
    try:
        source.resolve(Question.of(domain, "MX"))
    except CassetteMissing as exc:
        where = exc.detail.split(";")[0]
        raise CliError(
            f"{domain}: no recorded answers ({where}); ask live DNS (--nameserver, or --fallback live with --zones)"
        ) from None
    except ResolutionError as exc:
        raise CliError(f"{domain}: {exc}") from None
    return gather(GatherRequest(domain, (), SELECTORS), source)


def cmd_init(args: argparse.Namespace, out: TextIO) -> int:
    opened: list[object] = []
    try:
        return _init(args, out, opened)
    finally:
        for factory in opened:
            close_sources(factory)  # the live resolver's process, when there is one


def _init(args: argparse.Namespace, out: TextIO, opened: list[object]) -> int:
    domains = _domains(args.domains)
    settings = _settings(args)
    if args.scenario != AUTO and args.scenario not in scenarios():
        known = sorted(scenarios())
        raise CliError(
            f"unknown scenario '{args.scenario}'{did_you_mean(args.scenario, known)}; known: auto, {', '.join(known)}"
        )
    if args.scenario == CUSTOM:
        raise CliError("scenario 'custom' needs a list of rules; write it by hand (docs/policy.md#rules)")
    cwd = Path.cwd()
    output = Path(args.output) if args.output else None
    if args.record_cassettes and output is None:
        raise CliError("--record-cassettes writes cassettes/ beside the policy: give -o FILE")
    if output is not None:
        if output.is_dir():
            raise CliError(f"-o {output}: is a folder; give the policy file to write (such as {output / 'mail.yaml'})")
        if output.suffix not in {".yaml", ".yml"}:
            raise CliError(f"-o {output}: a policy file ends in .yaml or .yml (pytest --mailflow reads only those)")
        if output.exists() and not args.force:
            raise CliError(f"{output} exists; give --force to overwrite it")
    folder = (output.parent if output is not None else cwd).resolve()
    targets: dict[str, Path] = {}
    if args.record_cassettes:
        for domain in domains:
            target = cassette_path(folder / "cassettes", domain)
            if target.exists() and not args.force:
                raise CliError(f"{_shown(target, cwd)} exists; give --force to overwrite it")
            targets[domain] = target
    export: TenantExport | None = None
    export_path: str | None = None
    if args.tenant_export:
        path = Path(args.tenant_export)
        try:
            export = load_tenant_export(path, str(path))
        except TenantExportError as exc:
            more = f" (and {len(exc.problems) - 1} more problems)" if len(exc.problems) > 1 else ""
            raise CliError(f"{exc.problems[0]}{more}") from None
        export_path = _shown(path, folder, cwd)
    try:
        factory = build_sources(settings, cwd)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    opened.append(factory)
    if isinstance(factory, ZoneFactory):
        zone_set = cached_zone_set(settings.zones, cwd)
        if not zone_set.zones and not zone_set.broken:
            found = "; ".join(str(p) for p in zone_set.problems) or "no zone in any of the files"
            raise CliError(f"--zones loaded no zone: {found}")
        for problem in zone_set.problems:
            sys.stderr.write(f"{PROG} init: warning: {problem}\n")
    policy_shown = _shown(output, cwd) if output is not None else "mailflow-init.yaml"
    memos: dict[str, _Memo] = {}
    proposals: list[Proposal] = []
    for domain in domains:
        memo = _Memo(factory.source_for(domain, policy_shown))
        memos[domain] = memo
        facts = read_facts(domain, _gather(domain, memo))
        proposals.append(propose(facts, args.scenario, export, export_path))
    header = [
        f"Starter mail-flow policy written by `{PROG} init` from {_describe(settings)}.",
        "Lines marked 'guess' were inferred from DNS: check them (docs/scenarios.md describes each scenario).",
    ]
    commands = [
        f"Written by: {shlex.join([PROG, 'init', *args.argv])}",
        f"Run it:     {_run_hint(policy_shown, settings, recorded=args.record_cassettes)}",
    ]
    text = render_policy(proposals, header, commands)
    try:
        policy = load_policy_text(text, policy_shown)
    except PolicyError as exc:  # a bug: the policy written must always load
        raise CliError(f"the policy written does not load (please report this): {exc.problems[0]}") from None
    written: list[str] = []
    if args.record_cassettes:
        by_name: dict[str, DomainPolicy] = {d.name: d for d in policy.domains}
        for domain, target in targets.items():
            recorder = RecordingSource(memos[domain])
            gather(GatherRequest.for_policy(by_name[domain]), recorder)
            lost = sorted(
                str(q) for q, a in recorder.recorded.items() if isinstance(a, ResolutionError) and not _recordable(a)
            )
            if lost:
                sys.stderr.write(
                    f"{PROG} init: warning: {domain}: {len(lost)} answers could not be recorded ({lost[0]}"
                    f"{', ...' if len(lost) > 1 else ''}); checks that need them will be errors\n"
                )
            failed = sorted(
                f"{q} {a.cause}"
                for q, a in recorder.recorded.items()
                if isinstance(a, ResolutionError) and _recordable(a)
            )
            if failed:
                # Recorded as they happened, but a REFUSED from a server that does not recurse is a
                # setup mistake more often than a fact about the domain: say so now, not at pytest time.
                many = len(failed) > 1
                sys.stderr.write(
                    f"{PROG} init: warning: {domain}: {len(failed)} question{'s' if many else ''} failed and "
                    f"{'were' if many else 'was'} recorded as failing ({failed[0]}{', ...' if many else ''}); "
                    "checks that need them will be errors (is the name server a recursive resolver?)\n"
                )
            write_atomic(target, dump(domain, recorder.recorded))
            written.append(_shown(target, cwd))
    if output is None:
        out.write(text)
        return EXIT_OK
    write_atomic(output.resolve(), text)
    out.write(f"wrote {policy_shown}\n")
    for proposal in proposals:
        extra = []
        if proposal.choice.guess:
            extra.append("guess")
        if proposal.microsoft:
            extra.append(f"tenant {proposal.tenant}" if proposal.tenant else "tenant unknown")
        if proposal.cloud != "worldwide":
            extra.append(f"cloud {proposal.cloud}")
        out.write(
            f"  {proposal.domain}: {proposal.choice.scenario}" + (f" ({', '.join(extra)})" if extra else "") + "\n"
        )
    for shown in written:
        out.write(f"wrote {shown}\n")
    return EXIT_OK


def _run_hint(policy: str, settings: SourceSettings, *, recorded: bool) -> str:
    """The pytest command that checks the written policy against the same DNS."""
    words = ["pytest", "--mailflow", policy]
    if settings.zones:
        for zone in settings.zones:
            words += ["--mailflow-zones", zone.as_posix()]
        words += ["--mailflow-fallback", settings.fallback]
    elif recorded:
        return shlex.join(words)
    elif settings.source == "live":
        words += ["--mailflow-source", "live"]
        for server in settings.nameservers:
            words += ["--mailflow-nameserver", str(server)]
    if settings.cassettes is not None and not recorded:
        words += ["--mailflow-cassettes", settings.cassettes.as_posix()]
    return shlex.join(words)


def _recordable(error: ResolutionError) -> bool:
    return error.cause in RECORDABLE_ERRORS


# --- the parser -------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="pytest-mailflow's command line: the rule index, the JSON Schemas, and a starter policy "
        "written from a domain's DNS. The checks themselves run under pytest: pytest --mailflow POLICIES.",
        epilog="Documentation: docs/cli.md",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s (pytest-mailflow) {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    rules = commands.add_parser("rules", help="list the rules: ID, severity and title", description="List the rules.")
    rules.add_argument("--family", metavar="F", help=f"only one family: {', '.join(families())}")
    rules.add_argument(
        "--format",
        choices=("text", "markdown"),
        default="text",
        help="text (default): one line per rule; markdown: the rule index of docs/rules.md",
    )
    rules.set_defaults(func=cmd_rules)

    explain = commands.add_parser(
        "explain", help="everything about one rule", description="Show everything about one rule."
    )
    explain.add_argument("rule_id", metavar="RULE-ID", help="a rule ID such as MF-SPF-003")
    explain.set_defaults(func=cmd_explain)

    schema = commands.add_parser(
        "schema", help="print a shipped JSON Schema (for editors)", description="Print a shipped JSON Schema."
    )
    schema.add_argument("--kind", choices=tuple(SCHEMAS), default="policy", help="which schema (default: policy)")
    schema.set_defaults(func=cmd_schema)

    init = commands.add_parser(
        "init",
        help="write a starter policy from the domains' DNS",
        description="Ask each domain's DNS what its mail flow looks like and write a starter policy: a scenario, "
        "the tenant, the cloud and the scenario's params, with a comment on every guess. DNS comes from live "
        "name servers (default: the system's resolvers), from zone files (--zones) or from cassettes (--cassettes).",
    )
    init.add_argument("domains", nargs="+", metavar="DOMAIN", help="the mail domains to describe")
    init.add_argument(
        "--nameserver",
        action="append",
        metavar="ADDR[:PORT]",
        help="name server for live DNS; repeatable (default: the system's resolvers, without their search list)",
    )
    init.add_argument(
        "--zones",
        action="append",
        metavar="PATH",
        help="answer from zone files (BIND files, an octoDNS config, or folders of them); repeatable",
    )
    init.add_argument(
        "--fallback",
        choices=FALLBACKS,
        default=None,
        help="with --zones, where names outside them are answered: cassette (default), live, or none",
    )
    init.add_argument(
        "--cassettes",
        metavar="DIR",
        help="folder of recorded cassettes (<domain>.yaml): the --zones fallback, or alone to answer from them "
        "(default for the fallback: cassettes/ beside the output file)",
    )
    init.add_argument("--timeout", type=float, default=3.0, metavar="SECONDS", help="seconds per DNS answer (3)")
    init.add_argument("--retries", type=int, default=1, metavar="N", help="extra tries per question (1)")
    init.add_argument(
        "--scenario",
        default=AUTO,
        metavar="NAME|auto",
        help="the scenario of every domain; auto (default) detects it per domain from MX, SPF and the export",
    )
    init.add_argument(
        "--tenant-export",
        metavar="PATH",
        help="the tenant export (examples/Export-MailflowTenant.ps1): tenant, connectors for detection, and "
        "tenant_export in the policy",
    )
    init.add_argument("-o", "--output", metavar="FILE", help="write the policy here (default: standard output)")
    init.add_argument(
        "--record-cassettes",
        action="store_true",
        help="also write cassettes/<domain>.yaml beside FILE with every answer the policy's checks need",
    )
    init.add_argument("--force", action="store_true", help="overwrite FILE and cassettes that exist")
    init.set_defaults(func=cmd_init)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status (0 ok, 2 error or bad usage)."""
    given = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(given)
    except SystemExit as exc:  # --help, --version, usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_ERROR
    args.argv = given[given.index("init") + 1 :] if args.command == "init" and "init" in given else given
    handler: Callable[[argparse.Namespace, TextIO], int] = args.func
    try:
        return handler(args, sys.stdout)
    except CliError as exc:
        sys.stderr.write(f"{PROG} {args.command}: error: {exc}\n")
        return EXIT_ERROR
    except KeyboardInterrupt:
        sys.stderr.write(f"{PROG} {args.command}: interrupted\n")
        return 130
    except BrokenPipeError:  # mailflow rules | head: stop quietly, and let the interpreter's final flush succeed
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
