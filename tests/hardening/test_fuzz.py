"""Property tests: loaders raise only their documented error, parsers never raise, and what has a
renderer survives parse -> render -> parse.

The strategies mix well-formed pieces of each grammar with arbitrary text, so that most examples
get past the first check and reach the deeper code. Settings come from the profile in conftest.py.
"""

from __future__ import annotations

import base64
import contextlib
import string
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

from pytest_mailflow.dkim.record import parse_key_record
from pytest_mailflow.dmarc.record import parse as parse_dmarc
from pytest_mailflow.dmarc.record import parse_uri
from pytest_mailflow.dns.cassette import Cassette
from pytest_mailflow.dns.records import RecordSyntaxError, normalise
from pytest_mailflow.dns.zone import load_zone_text
from pytest_mailflow.errors import CassetteError, InputFileError, PolicyError
from pytest_mailflow.names import InvalidDomainName, to_a_label
from pytest_mailflow.policy.load import load_policy_text
from pytest_mailflow.spf.syntax import parse as parse_spf
from pytest_mailflow.tenant.load import TenantExportError, read_tenant_export
from pytest_mailflow.transport.mta_sts import parse_sts_policy, parse_sts_record
from pytest_mailflow.transport.tls_rpt import parse_tlsrpt_record
from pytest_mailflow.waivers import WaiverError, load_waiver_text
from pytest_mailflow.yamlload import Located, YamlLoadError, load_located

# --- pieces ---------------------------------------------------------------------------------------------

label = st.text(string.ascii_lowercase + string.digits + "-_", min_size=1, max_size=12)
domain = st.lists(label, min_size=1, max_size=4).map(".".join) | st.sampled_from(
    ["contoso.example", "spf.protection.outlook.com", "bücher.example", "xn--bcher-kva.example", "a..b", ""]
)
ip4 = st.ip_addresses(v=4).map(str)
ip6 = st.ip_addresses(v=6).map(str)
noise = st.text(max_size=20)
#: Text that stresses parsers: controls, quotes, separators, non-ASCII, lone surrogates excluded (not UTF-8).
wild = st.text(st.characters(blacklist_categories=["Cs"]), max_size=40)


def joined(parts: st.SearchStrategy[list[str]], separator: str) -> st.SearchStrategy[str]:
    return parts.map(separator.join)


# --- the policy loader ----------------------------------------------------------------------------------

YAML_BITS = st.sampled_from(
    [
        "mailflow: 1\n",
        "domains:\n",
        "  contoso.example:\n",
        "    expect: {spf: {include: [spf.example.com]}}\n",
        "    scenario: cloud-only\n",
        "- ",
        "[",
        "]",
        "{",
        "}",
        ": ",
        "&a ",
        "*a ",
        "<<: *a\n",
        "!!python/object/apply:os.system ['true']",
        "!include x",
        "'",
        '"',
        "\t",
        "\n",
        "#",
        "---\n",
        "? ",
        "\x00",
        "\x85",
        "\ufeff",
    ]
)
yamlish = st.lists(YAML_BITS | noise, max_size=30).map("".join)


@given(yamlish | wild)
def test_policy_text_raises_only_policy_error(text: str) -> None:
    try:
        load_policy_text(text, "p.yaml")
    except PolicyError as error:
        assert error.problems
        assert all(str(problem).startswith("p.yaml:") for problem in error.problems)


scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=15)
KEYS = st.sampled_from(
    [
        "expect",
        "scenario",
        "params",
        "skip",
        "rules",
        "cloud",
        "tenant",
        "tenant_export",
        "mx",
        "spf",
        "dkim",
        "dmarc",
        "mta_sts",
        "hosts",
        "include",
        "must_pass",
        "selectors",
        "targets",
        "policy",
        "rua",
        "null_mx",
        "on_premises",
        "egress",
    ]
)
values: st.SearchStrategy[Any] = st.recursive(
    scalars | domain | ip4,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS | st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(domain, values, max_size=4), st.dictionaries(KEYS, values, max_size=3) | st.none())
def test_structured_policies_raise_only_policy_error(domains: dict[str, Any], defaults: Any) -> None:
    document: dict[str, Any] = {"mailflow": 1, "domains": domains}
    if defaults is not None:
        document["defaults"] = defaults
    text = yaml.safe_dump(document, allow_unicode=True)
    try:
        policy = load_policy_text(text, "p.yaml")
    except PolicyError:
        return
    assert {d.name for d in policy.domains} <= {to_a_label(name) for name in domains}


@given(yamlish | wild)
def test_yaml_loader_raises_only_its_error(text: str) -> None:
    try:
        located = load_located(text, "x.yaml")
    except YamlLoadError as error:
        assert error.problem.line >= 1
        return
    assert isinstance(located, Located)


# --- the other input files --------------------------------------------------------------------------------


@given(yamlish | wild)
def test_waiver_text_raises_only_waiver_error(text: str) -> None:
    with contextlib.suppress(WaiverError):
        load_waiver_text("mailflow_waivers: 1\n" + text, "w.yaml")


CASSETTE_BITS = st.sampled_from(
    [
        "- name: contoso.example.\n  type: MX\n  rcode: NOERROR\n  records: ['10 mx.contoso.example.']\n",
        "- {name: contoso.example., type: TXT, error: TIMEOUT}\n",
        "- {name: 'a..b', type: A, rcode: NXDOMAIN}\n",
        "- {name: x., type: TYPE65534, rcode: NODATA}\n",
        "  cname_chain: [b.example.]\n",
        "  records: ['\"v=spf1 -all\"']\n",
        "fetches:\n- {url: 'https://mta-sts.contoso.example/.well-known/mta-sts.txt', status: 200}\n",
    ]
)


@given(st.lists(CASSETTE_BITS | YAML_BITS | noise, max_size=12).map("".join))
def test_cassette_text_raises_only_cassette_error(body: str) -> None:
    text = "mailflow_cassette: 1\ndomain: contoso.example\nanswers:\n" + body
    try:
        located = load_located(text, "c.yaml")
    except YamlLoadError:
        return  # Cassette.load turns this into a CassetteError
    with contextlib.suppress(CassetteError):
        Cassette._from_located(Path("c.yaml"), located)


@given(st.binary(max_size=200) | wild.map(lambda t: t.encode("utf-8", "replace")))
def test_tenant_export_bytes_raise_only_tenant_export_error(raw: bytes) -> None:
    with contextlib.suppress(TenantExportError):
        read_tenant_export(b'{"mailflow_tenant_export": 1, ' + raw, "t.json")
    with contextlib.suppress(TenantExportError):
        read_tenant_export(raw, "t.json")


ZONE_LINES = st.sampled_from(
    [
        "$TTL 300",
        "$ORIGIN contoso.example.",
        "@ SOA ns1 hostmaster 1 2 3 4 5",
        "@ MX 10 mx",
        '@ TXT "v=spf1 -all"',
        "mx A 192.0.2.1",
        "$INCLUDE other.zone",
        "$GENERATE 1-3 h$ A 192.0.2.$",
        "(",
        ")",
        "* CNAME @",
        "@ CH A 1.2.3.4",
    ]
)


@given(st.lists(ZONE_LINES | noise, max_size=10).map("\n".join))
def test_zone_text_raises_only_input_file_error(text: str) -> None:
    with contextlib.suppress(InputFileError):
        load_zone_text(text, "contoso.example.", "contoso.example.zone")


@given(st.sampled_from(["A", "AAAA", "MX", "TXT", "CNAME", "TLSA", "SRV", "CAA"]), wild)
def test_records_raise_only_record_syntax_error(rdtype: str, text: str) -> None:
    with contextlib.suppress(RecordSyntaxError):
        normalise(rdtype, text)


@given(domain | wild)
def test_domain_names_raise_only_invalid_domain_name(text: str) -> None:
    try:
        name = to_a_label(text)
    except InvalidDomainName:
        return
    assert name == name.lower() and not name.endswith(".")
    assert to_a_label(name) == name  # normalising twice changes nothing


# --- SPF --------------------------------------------------------------------------------------------------

qualifier = st.sampled_from(["", "+", "-", "~", "?"])
cidr = st.sampled_from(["", "/24", "//64", "/24//64", "/33", "/024", "/"])
macro = st.sampled_from(["%{i}", "%{d2r}", "%{l-}", "%%", "%_", "%-", "%{z}", "%"])
spf_term = st.one_of(
    st.builds(lambda q: f"{q}all", qualifier),
    st.builds(lambda q, k, d: f"{q}{k}:{d}", qualifier, st.sampled_from(["include", "exists", "ptr"]), domain),
    st.builds(
        lambda q, k, d, c: f"{q}{k}{d}{c}",
        qualifier,
        st.sampled_from(["a", "mx"]),
        domain.map(":".__add__) | st.just(""),
        cidr,
    ),
    st.builds(lambda q, a: f"{q}ip4:{a}", qualifier, ip4 | ip4.map(lambda a: a + "/24") | noise),
    st.builds(lambda q, a: f"{q}ip6:{a}", qualifier, ip6 | ip6.map(lambda a: a + "/64") | noise),
    st.builds(lambda k, d: f"{k}={d}", st.sampled_from(["redirect", "exp", "unknown-mod", "Redirect"]), domain | macro),
    st.builds(lambda m, d: f"exists:{m}.{d}", macro, domain),
    noise,
)
spf_text = st.builds(
    lambda head, terms: " ".join([head, *terms]),
    st.sampled_from(["v=spf1", "V=SPF1", "v=spf10", "spf1", ""]),
    st.lists(spf_term, max_size=12),
)


def spf_shape(record: Any) -> list[tuple[Any, ...]]:
    return [(t.kind, t.is_modifier, t.qualifier, t.target, t.cidr) for t in record.terms]


@given(spf_text | wild)
def test_spf_parse_never_raises_and_round_trips(text: str) -> None:
    record = parse_spf(text)
    again = parse_spf(record.render())
    if record.terms or not record.errors:
        assert spf_shape(again) == spf_shape(record)
    if not record.errors:
        assert not again.errors
        assert again.render() == record.render()


# --- DMARC ------------------------------------------------------------------------------------------------

dmarc_tag = st.one_of(
    st.builds(lambda p: f"p={p}", st.sampled_from(["none", "quarantine", "reject", "Reject", "", "bogus"])),
    st.builds(lambda p: f"sp={p}", st.sampled_from(["none", "reject", "x"])),
    st.builds(lambda n: f"pct={n}", st.integers(-5, 150).map(str) | noise),
    st.builds(
        lambda u: f"rua={u}", st.lists(st.builds("mailto:{}@{}".format, label, domain), max_size=3).map(",".join)
    ),
    st.builds(lambda u: f"ruf=mailto:{u}!10m", domain),
    st.sampled_from(["adkim=s", "aspf=r", "fo=1:d", "rf=afrf", "ri=86400", "np=reject", "psd=y", "t=n", "x=y"]),
    st.builds(lambda k, v: f"{k}={v}", label, noise),
    noise,
)
dmarc_text = st.builds(
    lambda head, tags, sep: sep.join([head, *tags]),
    st.sampled_from(["v=DMARC1", "v=dmarc1", " v=DMARC1", "p=reject", ""]),
    st.lists(dmarc_tag, max_size=10),
    st.sampled_from(["; ", ";", " ; "]),
)


@given(dmarc_text | wild)
def test_dmarc_parse_never_raises_and_round_trips(text: str) -> None:
    record = parse_dmarc(text)
    record.effective()
    for tag in ("rua", "ruf"):
        for uri in record.uris(tag):
            assert uri.valid or uri.error
    again = parse_dmarc(record.render())
    assert again.tags == record.tags
    assert again.order == record.order
    if not record.malformed:
        assert again.errors == record.errors


@given(st.builds("mailto:{}@{}".format, wild, domain) | wild)
def test_dmarc_report_uris_never_raise(text: str) -> None:
    parse_uri(text)


# --- DKIM, MTA-STS, TLS-RPT -------------------------------------------------------------------------------

base64_key = st.binary(max_size=300).map(lambda b: base64.b64encode(b).decode())
dkim_tag = st.one_of(
    st.sampled_from(["v=DKIM1", "k=rsa", "k=ed25519", "h=sha256", "h=sha1", "s=email", "t=y:s", "p=", "n=notes"]),
    base64_key.map("p=".__add__),
    st.builds(lambda k, v: f"{k}={v}", label, noise),
    noise,
)


@given(st.lists(dkim_tag, max_size=8).map("; ".join) | wild)
def test_dkim_parse_never_raises(text: str) -> None:
    record = parse_key_record(text)
    assert record.describe()
    assert record.usable in (True, False)


sts_field = st.one_of(
    st.builds(lambda i: f"id={i}", st.text(string.ascii_letters + string.digits, max_size=40)),
    st.builds(lambda k, v: f"{k}={v}", label, noise),
    noise,
)


@given(
    st.builds(
        lambda head, fields: "; ".join([head, *fields]),
        st.sampled_from(["v=STSv1", "v=stsv1", " v=STSv1", ""]),
        st.lists(sts_field, max_size=5),
    )
    | wild
)
def test_mta_sts_record_parse_never_raises(text: str) -> None:
    record = parse_sts_record(text)
    assert record.valid == (not record.errors)


policy_line = st.one_of(
    st.sampled_from(["version: STSv1", "mode: enforce", "mode: testing", "mode: none", "mode: Enforce"]),
    st.builds("max_age: {}".format, st.integers(-1, 10**12).map(str) | noise),
    st.builds("mx: {}".format, domain | domain.map("*.".__add__) | noise),
    st.builds("{}: {}".format, label, noise),
    noise,
)


@given(
    st.builds(
        lambda lines, end: end.join(lines), st.lists(policy_line, max_size=10), st.sampled_from(["\n", "\r\n", "\r"])
    )
    | wild,
    st.booleans(),
)
def test_mta_sts_policy_parse_never_raises(text: str, as_bytes: bool) -> None:
    policy = parse_sts_policy(text.encode("utf-8", "surrogatepass") if as_bytes else text)
    assert policy.valid == (not policy.errors)
    if policy.valid:
        assert policy.version == "STSv1" and policy.mode is not None and policy.max_age is not None


@given(st.binary(max_size=300))
def test_mta_sts_policy_bytes_never_raise(raw: bytes) -> None:
    parse_sts_policy(raw)


tlsrpt_uri = st.one_of(
    st.builds("mailto:{}@{}".format, label, domain),
    st.builds("https://{}/{}".format, domain, noise),
    st.sampled_from(["http://x.example/", "mailto:a@b!10m", "", "https://[::1]/", "https://[/"]),
    noise,
)


@given(
    st.builds(
        lambda head, uris, extra: "; ".join([head, "rua=" + ",".join(uris), *extra]),
        st.sampled_from(["v=TLSRPTv1", "v=tlsrptv1", ""]),
        st.lists(tlsrpt_uri, max_size=4),
        st.lists(sts_field, max_size=2),
    )
    | wild
)
def test_tls_rpt_parse_never_raises(text: str) -> None:
    record = parse_tlsrpt_record(text)
    assert record.valid == (not record.errors)
    assert all(uri in record.rua for uri in record.rua if uri.valid)
