"""The transport-security parsers: MTA-STS records and policies (RFC 8461), TLS-RPT (RFC 8460), TLSA (RFC 6698/7672)."""

from __future__ import annotations

import random

import pytest

from pytest_mailflow.transport.dane import (
    is_microsoft_dane_host,
    is_microsoft_legacy_host,
    microsoft_hint,
    parse_tlsa,
    smtp_problem,
)
from pytest_mailflow.transport.mta_sts import (
    MAX_AGE_LIMIT,
    begins_with_version,
    content_type_ok,
    coverage_problems,
    max_age_problem,
    mode_problem,
    mx_covered,
    parse_sts_policy,
    parse_sts_record,
    published,
    split_fields,
    uncovered,
)
from pytest_mailflow.transport.tls_rpt import parse_report_uri, parse_tlsrpt_record, published_tlsrpt

SHA256 = "0123456789abcdef" * 4
SHA512 = SHA256 * 2

# --- MTA-STS TXT record (RFC 8461 §3.1) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "record_id"),
    [
        pytest.param("v=STSv1; id=20160831085700Z;", "20160831085700Z", id="rfc-example"),
        pytest.param("v=STSv1;id=abc", "abc", id="no-spaces-no-trailing-delimiter"),
        pytest.param("v=STSv1;\tid=abc\t;  ", "abc", id="tabs-and-trailing-space"),
        pytest.param("v=STSv1 ; id=abc", "abc", id="space-before-semicolon-erratum-6285"),
        pytest.param("v=STSv1; id=" + "A1" * 16, "A1" * 16, id="32-characters"),
        pytest.param("v=STSv1; id=1", "1", id="one-character"),
        pytest.param("v=STSv1; ext_1.a-b=x:y/z; id=abc", "abc", id="extension-before-id"),
    ],
)
def test_sts_record_valid(text, record_id):
    record = parse_sts_record(text)
    assert record.valid, record.errors
    assert record.id == record_id
    assert record.warnings == ()


def test_sts_record_keeps_extensions():
    record = parse_sts_record("v=STSv1; id=abc; foo=bar; x.y=1")
    assert record.extensions == (("foo", "bar"), ("x.y", "1"))


@pytest.mark.parametrize(
    ("text", "words"),
    [
        pytest.param("v=STSv1", "has no 'id' field", id="missing-id"),
        pytest.param("v=STSv1;", "has no 'id' field", id="missing-id-after-delimiter"),
        pytest.param("v=STSv1; foo=bar", "has no 'id' field", id="only-an-extension"),
        pytest.param("v=STSv1; id=", "must be 1 to 32 letters and digits", id="empty-id"),
        pytest.param("v=STSv1; id=" + "a" * 33, "must be 1 to 32 letters and digits", id="33-characters"),
        pytest.param("v=STSv1; id=2024-01-01", "must be 1 to 32 letters and digits", id="dashes-in-id"),
        pytest.param("v=STSv1; id=abc def", "must be 1 to 32 letters and digits", id="space-in-id"),
        pytest.param("V=STSv1; id=abc", "uses the wrong letter case", id="upper-case-v"),
        pytest.param("v=stsv1; id=abc", "uses the wrong letter case", id="lower-case-version"),
        pytest.param(" v=STSv1; id=abc", "starts with a space", id="leading-space"),
        pytest.param("v=STSv1 id=abc", "must be followed by ';'", id="missing-semicolon"),
        pytest.param("v=STSv10; id=abc", "must be followed by ';'", id="other-version"),
        pytest.param("id=abc; v=STSv1", "must begin with 'v=STSv1'", id="version-not-first"),
        pytest.param("v=STSv2; id=abc", "must begin with 'v=STSv1', not 'v=STSv2'", id="version-2"),
        pytest.param("v=STSv1;; id=abc", "empty field", id="double-semicolon"),
        pytest.param("v=STSv1; id = abc", "no spaces are allowed around '='", id="spaces-around-equals"),
        pytest.param("v=STSv1; id=abc; _x=1", "is not a valid field name", id="bad-extension-name"),
        pytest.param("v=STSv1; id=abc; " + "x" * 33 + "=1", "is not a valid field name", id="long-extension-name"),
        pytest.param("v=STSv1; id=abc; foo", "is not a name=value field", id="field-without-value"),
        pytest.param("v=STSv1; id=abc; foo=a=b", "may only hold visible ASCII", id="equals-in-extension"),
        pytest.param("v=STSv1; id=abc; foo=", "may only hold visible ASCII", id="empty-extension"),
        pytest.param("v=STSv1; id=abc; foo=é", "may only hold visible ASCII", id="non-ascii-extension"),
    ],
)
def test_sts_record_invalid(text, words):
    record = parse_sts_record(text)
    assert not record.valid
    assert any(words in error for error in record.errors), record.errors


def test_sts_record_a_repeated_id_keeps_the_first_with_a_warning():
    record = parse_sts_record("v=STSv1; id=first; id=second")
    assert record.valid
    assert record.id == "first"
    assert record.warnings == ("'id' appears more than once; senders use the first",)


def test_split_fields_reports_a_bad_version_only_once():
    fields = split_fields("v=STSv2; id=abc", "v=STSv1")
    assert not fields.version_ok
    assert fields.fields == ()
    assert len(fields.errors) == 1


@pytest.mark.parametrize(
    ("text", "taken"),
    [
        ("v=STSv1; id=1", True),
        ("v=STSv1 ; id=1", True),
        ("v=STSv1;", True),
        ("v=STSv1", False),
        ("v=STSv1 id=1", False),
        ("V=STSv1; id=1", False),
        (" v=STSv1; id=1", False),
        ("v=STSv10; id=1", False),
    ],
)
def test_which_txt_values_senders_take_as_mta_sts_records(text, taken):
    assert begins_with_version(text, "v=STSv1") is taken


def test_published_separates_taken_records_near_misses_and_unrelated_txt():
    found = published(["v=spf1 -all", "v=STSv1; id=1", "V=STSv1; id=2", "v=STS1; id=3", "hello"])
    assert found.taken == ("v=STSv1; id=1",)
    assert found.discarded == ("V=STSv1; id=2", "v=STS1; id=3")
    assert not found.absent
    assert published(["v=spf1 -all", "MS=ms12345678"]).absent
    assert published([]).absent


# --- MTA-STS policy file (RFC 8461 §3.2) -------------------------------------------------------------

RFC_POLICY = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n"
MICROSOFT_POLICY = "version: STSv1\nmode: enforce\nmx: *.mail.protection.outlook.com\nmax_age: 604800\n"


def test_policy_the_rfc_example_with_crlf():
    policy = parse_sts_policy(RFC_POLICY)
    assert policy.valid, policy.errors
    assert policy.version == "STSv1"
    assert policy.mode == "enforce"
    assert policy.max_age == 604800
    assert policy.mx == ("mail.example.com", "*.example.net", "backupmx.example.com")
    assert policy.line_endings == "CRLF"
    assert policy.warnings == ()


def test_policy_microsofts_example_with_lf():
    policy = parse_sts_policy(MICROSOFT_POLICY)
    assert policy.valid, policy.errors
    assert policy.mx == ("*.mail.protection.outlook.com",)
    assert policy.line_endings == "LF"


@pytest.mark.parametrize(
    ("text", "endings"),
    [
        pytest.param("version: STSv1\nmode: testing\nmx: mx.a.example\nmax_age: 86400", "LF", id="no-final-newline"),
        pytest.param("version: STSv1\r\nmode: testing\nmx: mx.a.example\r\nmax_age: 86400\n", "mixed", id="mixed"),
        pytest.param("mode: none\nversion: STSv1\nmax_age: 0\n", "LF", id="mode-none-needs-no-mx-any-order"),
        pytest.param("version:STSv1\nmode:\tenforce\nmx:  mx.a.example \t\nmax_age: 31557600\n", "LF", id="spacing"),
        pytest.param(
            "version: STSv1\nmode: enforce\nmx: MX.A.Example\nmax_age: 604800\nfoo: bar baz=1;2\n", "LF", id="ext"
        ),
    ],
)
def test_policy_valid_variants(text, endings):
    policy = parse_sts_policy(text)
    assert policy.valid, policy.errors
    assert policy.line_endings == endings


def test_policy_lower_cases_mx_patterns_and_keeps_extensions():
    policy = parse_sts_policy("version: STSv1\nmode: enforce\nmx: MX.A.Example\nmax_age: 604800\nfoo: bar baz\n")
    assert policy.mx == ("mx.a.example",)
    assert policy.extensions == (("foo", "bar baz"),)


def test_policy_max_age_at_the_limit():
    policy = parse_sts_policy(f"version: STSv1\nmode: none\nmax_age: {MAX_AGE_LIMIT}")
    assert policy.valid
    assert policy.max_age == 31557600


@pytest.mark.parametrize(
    ("text", "words"),
    [
        pytest.param("", "the policy is empty", id="empty"),
        pytest.param("\n\n", "the policy is empty", id="only-newlines"),
        pytest.param("mode: enforce\nmx: mx.a.example\nmax_age: 1", "no 'version:' line", id="no-version"),
        pytest.param("version: STSv1\nmx: mx.a.example\nmax_age: 1", "no 'mode:' line", id="no-mode"),
        pytest.param("version: STSv1\nmode: enforce\nmx: mx.a.example", "no 'max_age:' line", id="no-max-age"),
        pytest.param("version: STSv1\nmode: enforce\nmax_age: 86400", "no 'mx:' line", id="no-mx-in-enforce"),
        pytest.param("version: STSv1\nmode: testing\nmax_age: 86400", "no 'mx:' line", id="no-mx-in-testing"),
        pytest.param("version: STSv2\nmode: none\nmax_age: 1", "the version must be 'STSv1'", id="version-2"),
        pytest.param("version: stsv1\nmode: none\nmax_age: 1", "the version must be 'STSv1'", id="version-case"),
        pytest.param("version: STSv1\nmode: Enforce\nmx: a.example\nmax_age: 1", "the mode must be", id="mode-case"),
        pytest.param("version: STSv1\nmode: report\nmx: a.example\nmax_age: 1", "the mode must be", id="mode-unknown"),
        pytest.param("version: STSv1\nmode: none\nmax_age: 31557601", "above the RFC 8461 §3.2 maximum", id="too-long"),
        pytest.param("version: STSv1\nmode: none\nmax_age: 12345678901", "up to 10 digits", id="11-digits"),
        pytest.param("version: STSv1\nmode: none\nmax_age: 1e6", "whole number of seconds", id="not-a-number"),
        pytest.param("version: STSv1\nmode: none\nmax_age: -1", "whole number of seconds", id="negative"),
        pytest.param("version: STSv1\nmode: none\nmax_age:", "whole number of seconds", id="empty-max-age"),
        pytest.param("version: STSv1\n\nmode: none\nmax_age: 1", "line 2 is blank", id="blank-line"),
        pytest.param("version: STSv1\nmode: none\nmax_age: 1\n\n", "line 4 is blank", id="trailing-blank-line"),
        pytest.param(" version: STSv1\nmode: none\nmax_age: 1", "no space is allowed", id="leading-space"),
        pytest.param("version : STSv1\nmode: none\nmax_age: 1", "no space is allowed", id="space-before-colon"),
        pytest.param("version STSv1\nmode: none\nmax_age: 1", "is not a 'key: value' field", id="no-colon"),
        pytest.param("version: STSv1\rmode: none\nmax_age: 1", "carriage return", id="bare-cr"),
        pytest.param("\ufeffversion: STSv1\nmode: none\nmax_age: 1", "byte-order mark", id="bom"),
        pytest.param("version: STSv1\nmode: none\nmax_age: 1\nfoo:", "has no value", id="empty-extension"),
        pytest.param("version: STSv1\nmode: none\nmax_age: 1\nfoo: a\tb", "control characters", id="tab-in-extension"),
        pytest.param("version: STSv1\nmode: none\nmax_age: 1\n_foo: a", "not a valid field name", id="bad-field-name"),
    ],
)
def test_policy_invalid(text, words):
    policy = parse_sts_policy(text)
    assert not policy.valid
    assert any(words in error for error in policy.errors), policy.errors


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        pytest.param("mx.a.example.", "ends with a dot", id="trailing-dot"),
        pytest.param("mx.bücher.example", "is not an A-label", id="u-label"),
        pytest.param("mx.*.a.example", "a wildcard may only be the whole left-most label", id="inner-wildcard"),
        pytest.param("*mx.a.example", "a wildcard may only be the whole left-most label", id="partial-wildcard"),
        pytest.param("*.*.a.example", "a wildcard may only be the whole left-most label", id="two-wildcards"),
        pytest.param("*", "a wildcard may only be the whole left-most label", id="bare-star"),
        pytest.param("*.", "is not a host name", id="star-dot"),
        pytest.param("-mx.a.example", "is not a host name", id="leading-hyphen"),
        pytest.param("mx_1.a.example", "is not a host name", id="underscore"),
        pytest.param("mx..a.example", "is not a host name", id="empty-label"),
        pytest.param("a" * 64 + ".example", "is not a host name", id="long-label"),
        pytest.param("", "has no value", id="empty"),
    ],
)
def test_policy_invalid_mx_patterns(pattern, words):
    policy = parse_sts_policy(f"version: STSv1\nmode: enforce\nmx: mx.a.example\nmx: {pattern}\nmax_age: 86400")
    assert not policy.valid
    assert any(words in error for error in policy.errors), policy.errors
    assert policy.mx == ("mx.a.example",)


def test_policy_repeated_fields_keep_the_first_with_a_warning():
    policy = parse_sts_policy("version: STSv1\nmode: testing\nmode: enforce\nmx: a.example\nmax_age: 86400\nmax_age: 1")
    assert policy.valid
    assert policy.mode == "testing"
    assert policy.max_age == 86400
    assert policy.warnings == (
        "line 3: 'mode' repeats line 2; senders ignore every 'mode' but the first",
        "line 6: 'max_age' repeats line 5; senders ignore every 'max_age' but the first",
    )


def test_policy_field_names_are_case_sensitive():
    policy = parse_sts_policy("version: STSv1\nMode: enforce\nmode: testing\nmx: a.example\nmax_age: 86400")
    assert policy.valid
    assert policy.mode == "testing"
    assert policy.extensions == (("Mode", "enforce"),)
    assert "field names are case-sensitive" in policy.warnings[0]
    wrong = parse_sts_policy("Version: STSv1\nMode: enforce\nMX: a.example\nMax_Age: 86400")
    assert not wrong.valid
    assert len(wrong.warnings) == 4


def test_policy_from_bytes():
    assert parse_sts_policy(MICROSOFT_POLICY.encode()).valid
    broken = parse_sts_policy(b"version: STSv1\nmode: none\nmax_age: 1\nfoo: \xff")
    assert "the policy is not valid UTF-8" in broken.errors


def test_policy_larger_than_64_kib_warns():
    text = MICROSOFT_POLICY + "".join(f"mx: mx{i}.a.example\n" for i in range(4000))
    policy = parse_sts_policy(text)
    assert policy.valid
    assert any("larger than 65536 bytes" in w for w in policy.warnings)
    assert len(policy.mx) == 4001


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("text/plain", True),
        ("text/plain; charset=utf-8", True),
        ("TEXT/PLAIN", True),
        ("text/html", False),
        ("", False),
    ],
)
def test_policy_content_type(value, ok):
    assert content_type_ok(value) is ok


# --- MX host matching (RFC 8461 §4.1) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "covered"),
    [
        # RFC 8461 §3.2's example policy: "mx: mail.example.com" and "mx: *.example.net" (RFC 2606 names).
        ("mail.example.com", True),
        ("mx1.example.net", True),
        ("mx2.example.net", True),
        # §4.1: the wildcard stands for exactly one left-most label.
        ("example.net", False),
        ("a.mx1.example.net", False),
        ("www.mail.example.com", False),
        ("example.com", False),
        ("mail.example.org", False),
    ],
)
def test_mx_covered_rfc_8461_examples(host, covered):
    assert mx_covered(["mail.example.com", "*.example.net"], host) is covered


def test_mx_covered_microsoft_endpoints():
    assert mx_covered(["*.mail.protection.outlook.com"], "contoso-com.mail.protection.outlook.com")
    assert not mx_covered(["*.mx.microsoft"], "contoso-com.o-v1.mx.microsoft")
    assert mx_covered(["*.o-v1.mx.microsoft"], "contoso-com.o-v1.mx.microsoft")
    assert mx_covered(["contoso-com.o-v1.mx.microsoft"], "contoso-com.o-v1.mx.microsoft")
    assert not mx_covered(["*.mail.protection.outlook.com"], "contoso-com.o-v1.mx.microsoft")


@pytest.mark.parametrize(
    ("patterns", "host", "covered"),
    [
        pytest.param(["MX.A.Example"], "mx.a.example", True, id="case-of-pattern"),
        pytest.param(["mx.a.example"], "MX.A.EXAMPLE", True, id="case-of-host"),
        pytest.param(["*.A.EXAMPLE"], "Mx1.a.example", True, id="case-with-wildcard"),
        pytest.param(["mx.a.example."], "mx.a.example", True, id="trailing-dot-on-pattern"),
        pytest.param(["mx.a.example"], "mx.a.example.", True, id="trailing-dot-on-host"),
        pytest.param(["*.a.example."], "mx.a.example.", True, id="trailing-dots-with-wildcard"),
        pytest.param(["mx.a.example"], "mx.a.example..", False, id="two-trailing-dots"),
        pytest.param(["mx.a.example"], "mx2.a.example", False, id="exact-only"),
        pytest.param(["mx.a.example"], "sub.mx.a.example", False, id="exact-does-not-cover-subdomains"),
        pytest.param(["*.a.example"], "a.example", False, id="wildcard-needs-a-label"),
        pytest.param(["*.a.example"], ".a.example", False, id="empty-left-label"),
        pytest.param(["*.example"], "mx.a.example", False, id="wildcard-one-label-only"),
        pytest.param(["*"], "mx", False, id="bare-star"),
        pytest.param(["*."], "mx", False, id="star-dot"),
        pytest.param(["*.a.example"], "*.a.example", False, id="host-is-a-pattern"),
        pytest.param([""], "", False, id="empty"),
        pytest.param([], "mx.a.example", False, id="no-patterns"),
        pytest.param(["mx.*.example"], "mx.a.example", False, id="inner-star-is-literal"),
        pytest.param(["mx1.a.example", "*.b.example"], "mx.b.example", True, id="second-pattern"),
        pytest.param((p for p in ["*.a.example"]), "mx.a.example", True, id="generator"),
    ],
)
def test_mx_covered_edge_cases(patterns, host, covered):
    assert mx_covered(patterns, host) is covered


def test_uncovered_lists_the_hosts_in_order_and_ignores_a_null_mx():
    patterns = ["*.a.example", "mx.b.example"]
    hosts = ["mx1.a.example.", "mx.c.example.", ".", "mx.b.example.", "deep.mx.a.example"]
    assert uncovered(patterns, hosts) == ("mx.c.example.", "deep.mx.a.example")


# --- judging a parsed policy ---------------------------------------------------------------------


def _policy(mode: str = "enforce", max_age: int = 604800, *mx: str) -> str:
    return f"version: STSv1\nmode: {mode}\nmax_age: {max_age}\n" + "".join(f"mx: {p}\n" for p in mx)


def test_mode_problem():
    policy = parse_sts_policy(_policy("testing", 86400, "mx.a.example"))
    assert mode_problem(policy, ("enforce", "testing")) is None
    assert mode_problem(policy, ["enforce"]) == "the policy's mode is 'testing'; expected enforce"
    assert mode_problem(parse_sts_policy("mode: x"), ["enforce"]) == "the policy has no valid mode"


def test_max_age_problem():
    assert max_age_problem(parse_sts_policy(_policy("enforce", 604800, "a.example"))) is None
    assert max_age_problem(parse_sts_policy(_policy("enforce", 86400, "a.example"))) is None
    short = max_age_problem(parse_sts_policy(_policy("testing", 3600, "a.example")))
    assert short is not None and "shorter than 86400 s" in short
    assert max_age_problem(parse_sts_policy(_policy("none", 0))) is None
    assert max_age_problem(parse_sts_policy(_policy("enforce", 3600, "a.example")), minimum=60) is None
    assert max_age_problem(parse_sts_policy("mode: enforce\nmax_age: 99999999999")) == "the policy has no valid max_age"


def test_coverage_problems():
    policy = parse_sts_policy(_policy("enforce", 604800, "*.a.example"))
    assert coverage_problems(policy, ["mx1.a.example.", "mx2.a.example."]) == ()
    assert coverage_problems(policy, ["mx1.a.example.", "relay.vendor.test."]) == (
        "MX host relay.vendor.test matches no 'mx:' line of the policy (*.a.example)",
    )
    assert coverage_problems(policy, ["."]) == ()
    assert coverage_problems(parse_sts_policy(_policy("none", 86400)), ["relay.vendor.test"]) == ()


# --- TLS-RPT record (RFC 8460 §3) --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "destinations"),
    [
        pytest.param("v=TLSRPTv1; rua=mailto:tlsrpt@a.example", ("mailto:tlsrpt@a.example",), id="mailto"),
        pytest.param("v=TLSRPTv1;rua=https://reports.a.example/v1", ("https://reports.a.example/v1",), id="https"),
        pytest.param(
            "v=TLSRPTv1; rua=mailto:a@a.example , https://r.vendor.test/x;",
            ("mailto:a@a.example", "https://r.vendor.test/x"),
            id="two-with-spaces",
        ),
        pytest.param("v=TLSRPTv1; rua=mailto:a%21b@a.example", ("mailto:a%21b@a.example",), id="encoded-bang"),
        pytest.param("v=TLSRPTv1; rua=mailto:a@a.example?subject=tls", ("mailto:a@a.example?subject=tls",), id="query"),
        pytest.param("v=TLSRPTv1; foo=bar; rua=https://[2001:db8::1]/r", ("https://[2001:db8::1]/r",), id="ipv6-ext"),
        pytest.param("v=TLSRPTv1 ; rua=mailto:a@a.example", ("mailto:a@a.example",), id="space-before-semicolon"),
    ],
)
def test_tlsrpt_record_valid(text, destinations):
    record = parse_tlsrpt_record(text)
    assert record.valid, record.errors
    assert record.destinations == destinations


@pytest.mark.parametrize(
    ("text", "words"),
    [
        pytest.param("v=TLSRPTv1", "has no 'rua' field", id="no-fields"),
        pytest.param("v=TLSRPTv1; foo=bar", "has no 'rua' field", id="no-rua"),
        pytest.param("v=TLSRPTv1; rua=", "an empty URI", id="empty-rua"),
        pytest.param("v=TLSRPTv1; rua=mailto:a@a.example,", "an empty URI", id="trailing-comma"),
        pytest.param("v=TLSRPTv1; rua=mailto:a@a.example!10m", "'!' must be percent-encoded", id="dmarc-size"),
        pytest.param("v=TLSRPTv1; rua=tls@a.example", "has no scheme", id="no-scheme"),
        pytest.param("v=TLSRPTv1; rua=http://r.a.example/", "use https:", id="http"),
        pytest.param("v=TLSRPTv1; rua=ftp://r.a.example/", "only to mailto: or https:", id="ftp"),
        pytest.param("v=TLSRPTv1; rua=mailto:a.example", "does not name a mailbox", id="mailto-without-at"),
        pytest.param("v=TLSRPTv1; rua=mailto:a@localhost", "does not name a mailbox", id="mailto-single-label"),
        pytest.param("v=TLSRPTv1; rua=https:///path", "does not name a web server", id="https-without-host"),
        pytest.param("v=TLSRPTv1; rua=https:r.a.example", "does not name a web server", id="https-without-slashes"),
        pytest.param("v=TLSRPTv1; rua=https://[::1/x", "does not name a web server", id="https-broken-ipv6"),
        pytest.param("v=TLSRPTv1; rua=mailto:ä@a.example", "characters a URI cannot", id="non-ascii"),
        pytest.param("v=TLSRPTv1; rua=mailto:a b@a.example", "characters a URI cannot", id="space-in-uri"),
        pytest.param(
            "v=TLSRPTv2; rua=mailto:a@a.example", "must begin with 'v=TLSRPTv1', not 'v=TLSRPTv2'", id="version-2"
        ),
        pytest.param("v=tlsrptv1; rua=mailto:a@a.example", "wrong letter case", id="version-case"),
        pytest.param("rua=mailto:a@a.example; v=TLSRPTv1", "must begin with 'v=TLSRPTv1'", id="version-not-first"),
        pytest.param("v=TLSRPTv1; rua=mailto:a@a.example; x=a;b", "is not a name=value field", id="bad-field"),
    ],
)
def test_tlsrpt_record_invalid(text, words):
    record = parse_tlsrpt_record(text)
    assert not record.valid
    assert any(words in error for error in record.errors), record.errors


def test_tlsrpt_unusable_uris_beside_a_usable_one_are_warnings():
    record = parse_tlsrpt_record("v=TLSRPTv1; rua=http://r.a.example/,mailto:a@a.example")
    assert record.valid
    assert record.destinations == ("mailto:a@a.example",)
    assert record.warnings == (
        "ignored: 'http://r.a.example/': reports are sent only to mailto: or https: URIs (RFC 8460 §3); use https:",
    )


def test_tlsrpt_a_repeated_rua_keeps_the_first_with_a_warning():
    record = parse_tlsrpt_record("v=TLSRPTv1; rua=mailto:a@a.example; rua=mailto:b@a.example")
    assert record.valid
    assert record.destinations == ("mailto:a@a.example",)
    assert "'rua' appears more than once" in record.warnings[0]


def test_tlsrpt_report_uri_schemes():
    assert parse_report_uri("MAILTO:a@a.example").scheme == "mailto"
    assert parse_report_uri("HTTPS://r.a.example/").valid
    assert not parse_report_uri("").valid


def test_published_tlsrpt():
    found = published_tlsrpt(["v=TLSRPTv1; rua=mailto:a@a.example", "v=tlsrptv1; rua=mailto:b@a.example", "x"])
    assert found.taken == ("v=TLSRPTv1; rua=mailto:a@a.example",)
    assert found.discarded == ("v=tlsrptv1; rua=mailto:b@a.example",)


# --- TLSA (RFC 6698 §2, RFC 7672 §3.1) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        pytest.param(f"3 1 1 {SHA256}", (3, 1, 1, SHA256), id="dane-ee-spki-sha256"),
        pytest.param(f"2 0 1 {SHA256.upper()}", (2, 0, 1, SHA256), id="dane-ta-upper-case-hex"),
        pytest.param(f"3 1 2 {SHA512[:128]} ", (3, 1, 2, SHA512), id="sha512"),
        pytest.param(f"3 1 2 {SHA512[:64]} {SHA512[64:]}", (3, 1, 2, SHA512), id="data-split-by-spaces"),
        pytest.param("3 0 0 3082010a0282010100", (3, 0, 0, "3082010a0282010100"), id="full-certificate"),
        pytest.param("  3\t1 1\n" + SHA256, (3, 1, 1, SHA256), id="any-whitespace"),
        pytest.param(f"003 001 001 {SHA256}", (3, 1, 1, SHA256), id="leading-zeros"),
        pytest.param(f"\\# 35 030101 {SHA256}", (3, 1, 1, SHA256), id="rfc3597-generic"),
    ],
)
def test_tlsa_valid(text, fields):
    record = parse_tlsa(text)
    assert record.valid, record.errors
    assert (record.usage, record.selector, record.matching_type, record.data) == fields
    assert record.usable_for_smtp
    assert smtp_problem(record) is None


@pytest.mark.parametrize("usage", [0, 1])
def test_tlsa_pkix_usages_are_valid_records_but_not_for_smtp(usage):
    record = parse_tlsa(f"{usage} 0 1 {SHA256}")
    assert record.valid
    assert not record.usable_for_smtp
    problem = smtp_problem(record)
    assert problem is not None
    assert ("PKIX-TA(0)" if usage == 0 else "PKIX-EE(1)") in problem
    assert "RFC 7672 §3.1.3" in problem


@pytest.mark.parametrize(
    ("text", "words"),
    [
        pytest.param("", "is not 'usage selector matching-type data'", id="empty"),
        pytest.param("3 1", "is not 'usage selector matching-type data'", id="two-fields"),
        pytest.param("3 1 1", "has no certificate association data", id="no-data"),
        pytest.param(f"256 1 1 {SHA256}", "the certificate usage '256' is not a number from 0 to 255", id="usage-256"),
        pytest.param(f"-1 1 1 {SHA256}", "the certificate usage '-1'", id="negative"),
        pytest.param(f"+3 1 1 {SHA256}", "the certificate usage '+3'", id="plus-sign"),
        pytest.param(f"\uff13 1 1 {SHA256}", "the certificate usage", id="fullwidth-digit"),
        pytest.param(f"DANE-EE SPKI SHA2-256 {SHA256}", "the certificate usage 'DANE-EE'", id="mnemonics"),
        pytest.param(f"3 x 1 {SHA256}", "the selector 'x'", id="bad-selector"),
        pytest.param(f"3 1 one {SHA256}", "the matching type 'one'", id="bad-matching-type"),
        pytest.param("3 1 1 abc", "not an even number of hex digits", id="odd-hex"),
        pytest.param("3 1 1 zz" + SHA256[2:], "not an even number of hex digits", id="not-hex"),
        pytest.param(f"3 1 1 {SHA256[:-2]}", "SHA2-256(1) digest is 32 octets (64 hex digits), not 31", id="short"),
        pytest.param(f"3 1 2 {SHA256}", "SHA2-512(2) digest is 64 octets (128 hex digits), not 32", id="wrong-hash"),
        pytest.param(f"4 1 1 {SHA256}", "certificate usage 4 is not assigned", id="usage-4"),
        pytest.param(f"3 2 1 {SHA256}", "selector 2 is not assigned", id="selector-2"),
        pytest.param(f"3 1 3 {SHA256}", "matching type 3 is not assigned", id="matching-type-3"),
        pytest.param("\\# 3 030100", "has no certificate association data", id="generic-without-data"),
        pytest.param("\\# 9 03", "unreadable TLSA record", id="generic-broken"),
    ],
)
def test_tlsa_invalid(text, words):
    record = parse_tlsa(text)
    assert not record.valid
    assert not record.usable_for_smtp
    assert any(words in error for error in record.errors), record.errors
    problem = smtp_problem(record)
    assert problem is not None and "is unusable" in problem


def test_tlsa_describe():
    assert parse_tlsa(f"3 1 1 {SHA256}").describe() == "3 1 1 0123456789abcdef… (DANE-EE(3), SPKI(1), SHA2-256(1))"
    assert parse_tlsa("9 9 9 ab").describe() == "9 9 9 ab (unassigned(9), unassigned(9), unassigned(9))"
    assert parse_tlsa("x").describe() == "'x'"


def test_microsoft_hosts_are_recognised_only_as_strings():
    assert is_microsoft_dane_host("contoso-com.o-v1.mx.microsoft.")
    assert not is_microsoft_dane_host("contoso-com.mail.protection.outlook.com")
    assert is_microsoft_legacy_host("CONTOSO-COM.mail.protection.outlook.com")
    hint = microsoft_hint("contoso-com.o-v1.mx.microsoft")
    assert hint is not None and "Microsoft publishes and rotates its TLSA records" in hint
    legacy = microsoft_hint("contoso-com.mail.protection.outlook.com")
    assert legacy is not None and "cannot offer inbound DANE" in legacy
    assert microsoft_hint("mx.a.example") is None


# --- hostile input: every parser returns, none raises ---------------------------------------------

HOSTILE = [
    "",
    " ",
    "\x00",
    "\r\n\r\n",
    ";" * 1000,
    "=" * 1000,
    ":" * 1000,
    "," * 1000,
    "v=STSv1;" + "a=b;" * 5000,
    "v=STSv1; id=" + "9" * 100000,
    "v=TLSRPTv1; rua=" + "mailto:a@a.example," * 2000,
    "v=TLSRPTv1; rua=https://[" + "f" * 1000,
    "v=TLSRPTv1; rua=https://%zz/",
    "v=TLSRPTv1; rua=mailto:%ff%fe@a.example",
    "version: STSv1\n" + "mx: *.\n" * 1000,
    "max_age: 99999999999999999999999999999999\nmode: none\nversion: STSv1",
    "\ud800\udfff",
    "\ufeff\ufeff",
    "\u202eSTSv1",
    "\\#",
    "\\# 99999 00",
    "\\# x y",
    "3 1 1 " + "a" * 100001,
    "255 255 255 " + "00" * 10000,
    "0 0 0 0",
    "(3 1 1 ab)",
    "v=STSv1\x00; id=1",
    "version:\x00STSv1",
    "mx: \x7f\nmode: enforce",
]


def _fuzz(count: int) -> list[str]:
    alphabet = "v=STSTLSRPv1;id:,!%@/.*-_ \t\r\n\\#0123456789abcdefxyzé\x00\ufeff"
    chooser = random.Random(8461)
    return ["".join(chooser.choice(alphabet) for _ in range(chooser.randint(0, 60))) for _ in range(count)]


@pytest.mark.parametrize("text", HOSTILE + _fuzz(400))
def test_hostile_input_never_raises(text):
    parse_sts_record(text)
    parse_sts_policy(text)
    parse_sts_policy(text.encode("utf-8", errors="surrogatepass"))
    parse_tlsrpt_record(text)
    parse_report_uri(text)
    tlsa = parse_tlsa(text)
    tlsa.describe()
    smtp_problem(tlsa)
    mx_covered([text, "*." + text], text)
    uncovered([text], [text, "."])
    published([text])
    published_tlsrpt([text])
