"""DKIM rules: a usable key at each declared selector, Microsoft 365's CNAME publishing, key strength,
and revoked selectors on domains that send no mail.

Every per-selector rule takes the selectors the policy names (``expect.dkim.selectors``); a policy that
names none collects none of them. The gatherer asks ``<selector>._domainkey.<domain>`` for CNAME and
for TXT; the TXT answer follows the alias, and its ``cname_chain`` shows where it led.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..dkim.record import DkimKeyRecord, looks_like_host_name, parse_key_record
from ..dns.base import Answer, ResolutionError
from ..dns.records import RecordSyntaxError, txt_value
from ..evidence import EvidenceView
from ..gather import dkim_names
from ..names import relative
from ..policy.model import DomainPolicy
from .base import CheckContext, Finding, Rule, Severity, microsoft, rfc

_MS_DKIM = microsoft(
    "Set up DKIM to sign mail from your Microsoft 365 domain",
    "defender-office-365/email-authentication-dkim-configure",
)
_RFC_KEY = rfc(6376, "3.6.1", "the DKIM key record")
_RFC_TXT = rfc(6376, "3.6.2.2", "DNS TXT resource records")
_RFC_REVOKED = rfc(6376, "6.1.2", "get the public key")
_RFC_SIZES = rfc(8301, "3.2", "RSA key sizes")

RECOMMENDED_RSA_BITS = 2048

# --- Microsoft 365 CNAME targets (m365-scenarios §2.3) ----------------------------------------------
#: Old form: selector1-<token>._domainkey.<tenant>.<initial-domain suffix>.
_OLD_FORM = re.compile(
    r"(?P<first>[a-z0-9-]+)\._domainkey\.(?P<tenant>[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)"
    r"\.(?P<suffix>onmicrosoft\.com|onmicrosoft\.us|partner\.onmschina\.cn)"
)
#: New form (domains added from about May 2025): selector1-<token>._domainkey.<tenant>.<c>-v1.dkim.mail.microsoft,
#: <c> a Microsoft-assigned letter; an interim draft showed n-v2 for selector2, so v1 and v2 are accepted.
_NEW_FORM = re.compile(
    r"(?P<first>[a-z0-9-]+)\._domainkey\.(?P<tenant>[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)"
    r"\.(?P<partition>[a-z])-(?P<version>v[12])\.dkim\.mail\.microsoft"
)
_TOKEN = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
#: The initial-domain suffix of each cloud. Worldwide is documented for DKIM; the sovereign-cloud suffixes
#: are the clouds' initial domains (derived: give expect.dkim.targets there for an exact check).
_CLOUD_SUFFIX = {
    "worldwide": "onmicrosoft.com",
    "gcc-high": "onmicrosoft.us",
    "dod": "onmicrosoft.us",
    "21vianet": "partner.onmschina.cn",
}


def _selectors(policy: DomainPolicy) -> Sequence[str | None]:
    dkim = policy.expect.dkim
    return () if dkim.revoked else dkim.selectors


def _cname_selectors(policy: DomainPolicy) -> Sequence[str | None]:
    return _selectors(policy) if policy.expect.dkim.cname else ()


def _target_selectors(policy: DomainPolicy) -> Sequence[str | None]:
    dkim = policy.expect.dkim
    return tuple(s for s in _selectors(policy) if dkim.cname or dkim.target_of(str(s)) is not None)


def _any_selector(policy: DomainPolicy) -> Sequence[str | None]:
    return (None,) if _selectors(policy) else ()


def _revoked_selectors(policy: DomainPolicy) -> Sequence[str | None]:
    dkim = policy.expect.dkim
    return dkim.selectors if dkim.revoked else ()


# --- evidence ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SelectorKeys:
    """What the TXT question at one selector name found."""

    selector: str
    name: str  # without the trailing dot
    answer: Answer
    values: tuple[str, ...]  # TXT values, character-strings joined
    records: tuple[DkimKeyRecord, ...]

    @property
    def alias(self) -> str | None:
        """The selector's own CNAME target (the first hop), if the answer came through one."""
        return relative(self.answer.cname_chain[0]) if self.answer.cname_chain else None

    @property
    def where(self) -> str:
        """``<name>`` or ``<name> (via CNAME <target>)``."""
        return f"{self.name} (via CNAME {self.alias})" if self.alias else self.name

    @property
    def status(self) -> str:
        return self.answer.status if self.answer.status != "NOERROR" else "no TXT record"

    def observed(self) -> tuple[str, ...]:
        lines = [f"{self.name} CNAME {self.alias}"] if self.alias else []
        if len(self.answer.cname_chain) > 1:
            lines.append("CNAME chain: " + " -> ".join(relative(t) for t in self.answer.cname_chain))
        where = relative(self.answer.final_name)
        if not self.values:
            lines.append(f"{where} TXT: {self.answer.status if self.answer.status != 'NOERROR' else 'none'}")
        lines += [f'{where} TXT "{_abbreviate(value)}"' for value in self.values]
        return tuple(lines)


def _name(domain: str, selector: str) -> str:
    return relative(dkim_names(domain, selector)[0])


def _txt_values(answer: Answer) -> tuple[str, ...]:
    if answer.status != "NOERROR":
        return ()
    values = []
    for text in answer.records:
        try:
            values.append(txt_value(text))
        except RecordSyntaxError:
            values.append(text)
    return tuple(values)


def selector_keys(ev: EvidenceView, selector: str) -> SelectorKeys:
    """The key records at a selector (following CNAMEs); raises ResolutionError when undetermined."""
    name = _name(ev.domain, selector)
    answer = ev.ask(name, "TXT")
    values = _txt_values(answer)
    return SelectorKeys(selector, name, answer, values, tuple(parse_key_record(v) for v in values))


def cname_target(ev: EvidenceView, selector: str) -> str | None:
    """The CNAME target at the selector name, or None when it is not an alias.

    Asks the CNAME question; when that answer is unavailable the TXT answer decides, since a resolver
    follows an alias for any type (its chain starts with the target, or it has no chain: no alias).
    """
    name = _name(ev.domain, selector)
    try:
        answer = ev.ask(name, "CNAME")
    except ResolutionError as exc:
        try:
            txt = ev.ask(name, "TXT")
        except ResolutionError:
            raise exc from None
        return relative(txt.cname_chain[0]) if txt.cname_chain else None
    if answer.status == "NOERROR" and answer.records:
        return relative(answer.records[0])
    return None


def _abbreviate(value: str, keep: int = 24) -> str:
    """A key record for display: the base64 in p= cut short with its length."""

    def cut(match: re.Match[str]) -> str:
        data = match.group(2)
        if len(data) <= keep + 8:
            return match.group(0)
        return f"{match.group(1)}{data[:keep]}…({len(data)} chars)"

    shown = re.sub(r"(\bp\s*=\s*)([A-Za-z0-9+/=\s]+)", cut, value)
    return shown if len(shown) <= 300 else shown[:300] + "…"


# --- MF-DKIM-001: each selector publishes a usable key --------------------------------------------


def _judge_key(keys: SelectorKeys, cname_expected: bool) -> tuple[bool, str, tuple[str, ...]]:
    """(usable or acceptable, what was found, details) for one selector."""
    if not keys.values:
        if keys.alias and cname_expected:
            return (
                True,
                f"{keys.name} is a CNAME to {keys.alias}, which publishes no key yet ({keys.answer.status}): "
                "an inactive selector, which is normal while the other selector signs",
                (),
            )
        if keys.alias:
            return False, f"{keys.name} is an alias for {keys.alias}, which publishes no DKIM key ({keys.status})", ()
        what = "no CNAME and no DKIM key" if cname_expected else "no DKIM key"
        return False, f"{what} at {keys.name} ({keys.status})", ()
    if len(keys.records) > 1:
        return (
            False,
            f"{len(keys.records)} TXT records at {keys.where}; with more than one the result is undefined "
            "(RFC 6376 §3.6.2.2): publish exactly one key record",
            (),
        )
    (record,) = keys.records
    details = tuple(f"warning: {w}" for w in record.warnings)
    if record.errors:
        problems = "; ".join(record.errors)
        if looks_like_host_name(keys.values[0]):
            problems = "the TXT record holds a host name, not a key (a CNAME target pasted into a TXT record)"
        return False, f"the key record at {keys.where} is unusable: {problems}", details
    if record.revoked:
        if keys.alias and cname_expected:
            return (
                True,
                f"{keys.name} is a CNAME to {keys.alias}, whose key is revoked (empty p=): an inactive selector",
                details,
            )
        return False, f"the key at {keys.where} is revoked (empty p=); verifiers fail its signatures", details
    return True, f"{keys.where} publishes a usable {record.describe()} ({record.key_format})", details


def check_selector_key(ev: EvidenceView, ctx: CheckContext) -> Finding:
    keys = selector_keys(ev, str(ctx.param))
    ok, summary, details = _judge_key(keys, ctx.policy.expect.dkim.cname)
    return Finding(ok, summary, keys.observed(), details)


# --- MF-DKIM-002: at least one selector signs ------------------------------------------------------


def check_one_active_key(ev: EvidenceView, ctx: CheckContext) -> Finding:
    usable: list[str] = []
    others: list[str] = []
    observed: list[str] = []
    undetermined: ResolutionError | None = None
    for selector in ctx.policy.expect.dkim.selectors:
        try:
            keys = selector_keys(ev, selector)
        except ResolutionError as exc:
            undetermined = undetermined or exc
            others.append(f"{selector}: undetermined ({exc.cause})")
            continue
        observed += keys.observed()
        good = [r for r in keys.records if r.usable]
        if len(keys.records) == 1 and good:
            usable.append(f"{selector} ({good[0].describe()})")
        elif not keys.values:
            others.append(f"{selector}: no key ({keys.status})")
        elif len(keys.records) > 1:
            others.append(f"{selector}: {len(keys.records)} TXT records")
        else:
            others.append(f"{selector}: {keys.records[0].describe()}")
    if usable:
        rest = f"; {', '.join(others)}" if others else ""
        return Finding(True, f"a usable DKIM key is published: {', '.join(usable)}{rest}", tuple(observed))
    if undetermined is not None:
        raise undetermined
    return Finding(
        False,
        "no selector publishes a usable DKIM key, so nothing can sign for the domain: " + "; ".join(others),
        tuple(observed),
    )


# --- MF-DKIM-003: Microsoft 365 selectors are CNAMEs, not TXT copies -------------------------------


def check_is_cname(ev: EvidenceView, ctx: CheckContext) -> Finding:
    selector = str(ctx.param)
    name = _name(ev.domain, selector)
    target = cname_target(ev, selector)
    if target is not None:
        return Finding(True, f"{name} is a CNAME to {target}", (f"{name} CNAME {target}",))
    keys = selector_keys(ev, selector)
    observed = keys.observed()
    if not keys.values:
        return Finding(
            False,
            f"{name} is not a CNAME: nothing is published there ({keys.answer.status}); Microsoft 365 needs a "
            f"CNAME for {selector} even while the selector is inactive",
            observed,
        )
    hosts = [v.strip().strip('"') for v in keys.values if looks_like_host_name(v)]
    if hosts:
        return Finding(
            False,
            f"{name} is a TXT record holding the host name {relative(hosts[0])}, not a CNAME to it: "
            "the target was pasted into a TXT record, so no key is published",
            observed,
        )
    if any(r.public_key for r in keys.records):
        return Finding(
            False,
            f"{name} publishes the key as a TXT record, not a CNAME: a copied key goes stale when Microsoft "
            "rotates it, and then signatures fail",
            observed,
        )
    return Finding(False, f"{name} is a TXT record, not a CNAME to Microsoft 365's key", observed)


# --- MF-DKIM-004: the CNAME target is the right one ------------------------------------------------


@dataclass(frozen=True)
class MicrosoftTarget:
    form: str  # "old" or "new"
    first: str  # the first label: <selector>-<token>
    tenant: str
    suffix: str  # old form: the initial-domain suffix; new form: "<c>-v1.dkim.mail.microsoft"
    partition: str = ""

    def describe(self) -> str:
        if self.form == "new":
            return f"Microsoft's new form (<tenant>.{self.suffix}, partition '{self.partition}')"
        return f"Microsoft's old form (<tenant>.{self.suffix})"


def microsoft_target(target: str) -> MicrosoftTarget | None:
    """Split a Microsoft 365 DKIM CNAME target into its parts; None when it has neither form."""
    host = relative(target)
    match = _NEW_FORM.fullmatch(host)
    if match:
        suffix = f"{match['partition']}-{match['version']}.dkim.mail.microsoft"
        return MicrosoftTarget("new", match["first"], match["tenant"], suffix, match["partition"])
    match = _OLD_FORM.fullmatch(host)
    if match:
        return MicrosoftTarget("old", match["first"], match["tenant"], match["suffix"])
    return None


def expected_microsoft_forms(selector: str, tenant: str | None, cloud: str) -> list[str]:
    who = tenant.lower() if tenant else "<tenant>"
    suffix = _CLOUD_SUFFIX.get(cloud, "onmicrosoft.com")
    forms = [f"{selector}-<token>._domainkey.{who}.{suffix}"]
    if suffix == "onmicrosoft.com":
        forms.append(f"{selector}-<token>._domainkey.{who}.<c>-v1.dkim.mail.microsoft")
    return forms


def _match_microsoft(selector: str, target: str, tenant: str | None, cloud: str) -> tuple[bool, str]:
    expected = " or ".join(expected_microsoft_forms(selector, tenant, cloud))
    parts = microsoft_target(target)
    if parts is None:
        return False, f"the CNAME target is not a Microsoft 365 DKIM host: expected {expected}, found {target}"
    suffix = _CLOUD_SUFFIX.get(cloud, "onmicrosoft.com")
    if (parts.form == "old" and parts.suffix != suffix) or (parts.form == "new" and suffix != "onmicrosoft.com"):
        return False, f"the CNAME target {target} is for another Microsoft cloud than '{cloud}': expected {expected}"
    prefix = f"{selector}-"
    if not parts.first.startswith(prefix) or not _TOKEN.fullmatch(parts.first[len(prefix) :]):
        other = re.match(r"(selector\d+)-", parts.first)
        why = f"it is {other.group(1)}'s target" if other and other.group(1) != selector else "wrong first label"
        return False, f"the CNAME target does not belong to {selector} ({why}): expected {expected}, found {target}"
    if tenant and parts.tenant != tenant.lower():
        return (
            False,
            f"the CNAME target points at tenant '{parts.tenant}', not the policy's tenant '{tenant.lower()}': "
            f"expected {expected}, found {target}",
        )
    token = parts.first[len(prefix) :]
    return True, f"the CNAME target {target} has {parts.describe()} for tenant '{parts.tenant}' (token {token})"


def _exported_target(ev: EvidenceView, selector: str) -> tuple[str | None, str]:
    """Selector{1,2}CNAME from the tenant export (Get-DkimSigningConfig), when the policy names one."""
    tenant = ev.evidence.tenant
    if tenant is None or not hasattr(tenant, "dkim_for"):
        return None, ""
    config = tenant.dkim_for(ev.domain)
    if config is None:
        return None, ""
    value = {"selector1": config.selector1_cname, "selector2": config.selector2_cname}.get(selector)
    return (relative(value), f", as Get-DkimSigningConfig says ({config.where})") if value else (None, "")


def check_target(ev: EvidenceView, ctx: CheckContext) -> Finding:
    selector = str(ctx.param)
    name = _name(ev.domain, selector)
    wanted = ctx.policy.expect.dkim.target_of(selector)
    source_note = ""
    if wanted is None:
        # The tenant export gives the exact value Microsoft assigned: prefer it to the name patterns.
        wanted, source_note = _exported_target(ev, selector)
    target = cname_target(ev, selector)
    shown_expected = wanted or " or ".join(expected_microsoft_forms(selector, ctx.policy.tenant, ctx.policy.cloud))
    if target is None:
        found = _what_is_there(ev, name)
        return Finding(
            False, f"{name} is not a CNAME: expected a CNAME to {shown_expected}, found {found}", (f"{name}: {found}",)
        )
    observed = (f"{name} CNAME {target}",)
    if wanted is not None:
        if target == relative(wanted):
            expected_by = source_note or ", as the policy expects"
            return Finding(True, f"{name} is a CNAME to {target}{expected_by}", observed)
        return Finding(
            False, f"{name} CNAME target differs: expected {relative(wanted)}{source_note}, found {target}", observed
        )
    ok, summary = _match_microsoft(selector, target, ctx.policy.tenant, ctx.policy.cloud)
    return Finding(ok, f"{name}: {summary}", observed)


def _what_is_there(ev: EvidenceView, name: str) -> str:
    """What a name without a CNAME holds, in words, for failure text (never raises)."""
    try:
        answer = ev.ask(name, "TXT")
    except ResolutionError:
        return "no CNAME"
    if answer.status != "NOERROR":
        return f"no CNAME ({answer.status})"
    return "a TXT record instead" if len(answer.records) == 1 else f"{len(answer.records)} TXT records instead"


# --- MF-DKIM-005 / 006: RSA key size ---------------------------------------------------------------


def _key_size_finding(ev: EvidenceView, ctx: CheckContext, minimum: int, rfc_text: str) -> Finding:
    keys = selector_keys(ev, str(ctx.param))
    measured = [r for r in keys.records if r.key_bits is not None and not r.revoked]
    if not measured:
        return Finding(True, f"no key to measure at {keys.where} (see MF-DKIM-001)", keys.observed())
    rsa_keys = [r for r in measured if r.key_type == "rsa"]
    if not rsa_keys:
        return Finding(True, f"{keys.where} publishes an Ed25519 key; RSA sizes do not apply", keys.observed())
    weakest = min(r.key_bits or 0 for r in rsa_keys)
    if weakest < minimum:
        return Finding(
            False,
            f"{keys.where} publishes a {weakest}-bit RSA key; expected at least {minimum} bits ({rfc_text})",
            keys.observed(),
        )
    return Finding(True, f"{keys.where} publishes a {weakest}-bit RSA key (at least {minimum})", keys.observed())


def check_min_key_bits(ev: EvidenceView, ctx: CheckContext) -> Finding:
    minimum = ctx.policy.expect.dkim.min_key_bits
    note = "RFC 8301 §3.2: signers MUST use at least 1024 bits" if minimum <= 1024 else "expect.dkim.min_key_bits"
    return _key_size_finding(ev, ctx, minimum, note)


def check_recommended_key_bits(ev: EvidenceView, ctx: CheckContext) -> Finding:
    return _key_size_finding(
        ev, ctx, RECOMMENDED_RSA_BITS, "RFC 8301 §3.2: signers SHOULD use at least 2048 bits; Microsoft recommends 2048"
    )


# --- MF-DKIM-007: a domain that sends no mail publishes no live key -------------------------------


def check_revoked(ev: EvidenceView, ctx: CheckContext) -> Finding:
    keys = selector_keys(ev, str(ctx.param))
    observed = keys.observed()
    live = [r for r in keys.records if r.public_key]
    if live:
        kinds = ", ".join(r.describe() for r in live)
        return Finding(
            False,
            f"{keys.where} publishes a key ({kinds}) although the domain sends no mail; expected no key or a "
            "revoked one (empty p=)",
            observed,
        )
    if not keys.values:
        if keys.alias:
            return Finding(
                True,
                f"{keys.where} publishes no key ({keys.answer.status}); the CNAME itself can be removed",
                observed,
            )
        return Finding(True, f"{keys.name} publishes no key ({keys.answer.status})", observed)
    if all(r.revoked for r in keys.records):
        return Finding(True, f"the key at {keys.where} is revoked (empty p=)", observed)
    return Finding(True, f"{keys.where} holds no DKIM key (its TXT record has no p= value)", observed)


# --- expectations -----------------------------------------------------------------------------------


def _selector_name(ctx: CheckContext) -> str:
    return _name(ctx.domain, str(ctx.param))


def _expected_key(ctx: CheckContext) -> str:
    text = f"{_selector_name(ctx)} publishes one DKIM key record that parses and is not revoked"
    if ctx.policy.expect.dkim.cname:
        text += " (through its CNAME; a CNAME target without a key yet is accepted as the inactive selector)"
    return text


def _expected_target(ctx: CheckContext) -> str:
    selector = str(ctx.param)
    wanted = ctx.policy.expect.dkim.target_of(selector)
    if wanted:
        return f"{_selector_name(ctx)} is a CNAME to {wanted}"
    forms = " or ".join(expected_microsoft_forms(selector, ctx.policy.tenant, ctx.policy.cloud))
    return f"{_selector_name(ctx)} is a CNAME to {forms}"


RULES: tuple[Rule, ...] = (
    Rule(
        id="MF-DKIM-001",
        title="The DKIM selector publishes a usable key",
        family="dkim",
        severity=Severity.HIGH,
        rationale="Receivers fetch the key named by a signature's selector; a missing, unparseable or revoked "
        "key makes every signature made with that selector fail (RFC 6376 §6.1.2), and DMARC then depends on "
        "SPF alone. Microsoft 365 publishes each selector as a CNAME to its own host; only one selector signs "
        "at a time, so the other one's target may have no key yet.",
        remediation="Publish exactly one TXT record 'v=DKIM1; k=rsa; p=<base64 key>' at the selector (or, for "
        "Microsoft 365, the CNAME that Get-DkimSigningConfig shows as Selector1CNAME/Selector2CNAME), and fix "
        "the tag errors named in the message. Join long keys into one record of several strings, not several "
        "records.",
        references=(_RFC_KEY, _RFC_TXT, _RFC_REVOKED, _MS_DKIM),
        check=check_selector_key,
        expect_keys=("dkim", "selectors"),
        params=_selectors,
        expectation=_expected_key,
    ),
    Rule(
        id="MF-DKIM-002",
        title="At least one DKIM selector has a usable key",
        family="dkim",
        severity=Severity.HIGH,
        rationale="With selector CNAMEs (Microsoft 365) an inactive selector is normal, but one selector must "
        "carry the signing key, or no mail from the domain can pass DKIM.",
        remediation="Enable DKIM signing for the domain (Microsoft 365: Defender portal or "
        "Set-DkimSigningConfig -Enabled $true) so that the active selector's target publishes a key, or "
        "publish a key at one of the selectors.",
        references=(_MS_DKIM, _RFC_REVOKED),
        check=check_one_active_key,
        expect_keys=("dkim", "selectors"),
        params=_any_selector,
        expectation=lambda ctx: (
            "at least one of the selectors "
            + ", ".join(ctx.policy.expect.dkim.selectors)
            + " publishes a usable DKIM key"
        ),
    ),
    Rule(
        id="MF-DKIM-003",
        title="Microsoft 365 DKIM selectors are CNAMEs, not TXT copies",
        family="dkim",
        severity=Severity.HIGH,
        rationale="Microsoft 365 publishes and rotates the keys itself; the domain delegates each selector "
        "with a CNAME. A TXT record holding the CNAME's target text is a mistake seen in public zones "
        "and publishes no key; a copied key goes stale at the next rotation. A CDN "
        "or DNS proxy that flattens the CNAME has the same effect.",
        remediation="Delete the TXT record at the selector and create a CNAME to the Selector1CNAME / "
        "Selector2CNAME value from Get-DkimSigningConfig (or the Defender portal); turn off proxying for it.",
        references=(_MS_DKIM, _RFC_KEY),
        check=check_is_cname,
        expect_keys=("dkim", "cname"),
        params=_cname_selectors,
        expectation=lambda ctx: f"{_selector_name(ctx)} is a CNAME (to Microsoft 365's key), not a TXT record",
    ),
    Rule(
        id="MF-DKIM-004",
        title="The DKIM selector CNAME points at the expected host",
        family="dkim",
        severity=Severity.HIGH,
        rationale="A mistyped target (easy to get wrong with all its dashes, dots and underscores) leaves "
        "Microsoft 365 unable to enable signing (Status CnameMissing), and a target copied from another "
        "domain or tenant delegates to the wrong key. Targets have an old form (<selector>-<token>._domainkey.<tenant>."
        "onmicrosoft.com) and, for domains added from 2025, a new form (<selector>-<token>._domainkey.<tenant>."
        "<c>-v1.dkim.mail.microsoft); compared case-insensitively, trailing dot ignored.",
        remediation="Set the CNAME to exactly the Selector1CNAME / Selector2CNAME value from "
        "Get-DkimSigningConfig, and record it under expect.dkim.targets so the check is exact.",
        references=(_MS_DKIM,),
        check=check_target,
        expect_keys=("dkim", "targets"),
        params=_target_selectors,
        expectation=_expected_target,
    ),
    Rule(
        id="MF-DKIM-005",
        title="DKIM RSA keys are long enough",
        family="dkim",
        severity=Severity.HIGH,
        rationale="RFC 8301 §3.2: signers MUST use RSA keys of at least 1024 bits, and verifiers MUST NOT "
        "consider signatures with shorter keys valid. A policy may raise the minimum (expect.dkim.min_key_bits).",
        remediation="Generate a longer key (2048 bits; Microsoft 365: Rotate-DkimSigningConfig -KeySize 2048), "
        "publish it at a new selector, switch signing to it, then remove the old key.",
        references=(_RFC_SIZES, _MS_DKIM),
        check=check_min_key_bits,
        expect_keys=("dkim", "min_key_bits"),
        params=_selectors,
        expectation=lambda ctx: (
            f"an RSA key at {_selector_name(ctx)} has at least {ctx.policy.expect.dkim.min_key_bits} bits"
        ),
    ),
    Rule(
        id="MF-DKIM-006",
        title="DKIM RSA keys have 2048 bits (recommended)",
        family="dkim",
        severity=Severity.LOW,
        rationale="RFC 8301 §3.2: signers SHOULD use RSA keys of at least 2048 bits. Microsoft 365 creates "
        "1024-bit keys by default and recommends 2048.",
        remediation="Rotate to a 2048-bit key (Microsoft 365: Rotate-DkimSigningConfig -KeySize 2048; the new "
        "key takes effect after the rotation completes).",
        references=(_RFC_SIZES, _MS_DKIM),
        check=check_recommended_key_bits,
        expect_keys=("dkim", "selectors"),
        params=_selectors,
        expectation=lambda ctx: (
            f"an RSA key at {_selector_name(ctx)} has at least {RECOMMENDED_RSA_BITS} bits (an Ed25519 key also passes)"
        ),
    ),
    Rule(
        id="MF-DKIM-007",
        title="A domain that sends no mail publishes no live DKIM key",
        family="dkim",
        severity=Severity.MEDIUM,
        rationale="A parked domain publishes no DKIM selectors (Microsoft: no DKIM CNAMEs for parked domains); "
        "a live key lets whoever holds the private key sign mail that passes DKIM and DMARC for it. A key "
        "withdrawn with an empty p= is revoked (RFC 6376 §3.6.1, §6.1.2).",
        remediation="Delete the selector's records, or publish 'v=DKIM1; p=' to revoke the key.",
        references=(_RFC_KEY, _RFC_REVOKED, _MS_DKIM),
        check=check_revoked,
        expect_keys=("dkim", "revoked"),
        params=_revoked_selectors,
        expectation=lambda ctx: f"{_selector_name(ctx)} publishes no key, or a revoked one (empty p=)",
    ),
)
