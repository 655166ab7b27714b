"""The SPF record parser (RFC 7208 §4.5, §4.6, §5, §6, §7 and the ABNF of §12)."""

from __future__ import annotations

import pytest

from pytest_mailflow.spf.syntax import LOOKUP_TERMS, SpfRecord, Term, is_spf_record, parse


def shape(record: SpfRecord) -> list[tuple[str, str, str | None]]:
    """(qualifier, kind, target) of every term; modifiers are shown with '=' as qualifier."""
    return [("=" if t.is_modifier else t.qualifier, t.kind, t.target) for t in record.terms]


# --- is_spf_record (RFC 7208 §4.5) ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "v=spf1",
        "v=spf1 -all",
        "v=spf1  ip4:192.0.2.1 -all",
        "V=SPF1 -all",
        "v=Spf1 mx -all",
        "v=spf1 ",
    ],
)
def test_is_spf_record_accepts_the_version_then_space_or_end(text):
    assert is_spf_record(text)


@pytest.mark.parametrize(
    "text",
    [
        "v=spf10",
        "v=spf10 -all",
        "v=spf1-all",
        "v=spf2 -all",
        "spf2.0/pra -all",
        " v=spf1 -all",
        "v=spf1\t-all",
        "v = spf1 -all",
        "google-site-verification=abc",
        "",
    ],
)
def test_is_spf_record_rejects_other_txt_values(text):
    assert not is_spf_record(text)


@pytest.mark.parametrize("text", ["v=spf10 -all", "hello world", "v=spf2 -all"])
def test_parse_of_a_non_spf_text_is_an_error_without_terms(text):
    record = parse(text)
    assert record.terms == ()
    assert record.errors == ("the record does not start with 'v=spf1'",)


# --- valid records -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("v=spf1", [], id="empty"),
        pytest.param("v=spf1 -all", [("-", "all", None)], id="all"),
        pytest.param("v=spf1 all", [("+", "all", None)], id="bare-all"),
        pytest.param("v=spf1 +all", [("+", "all", None)], id="plus-all"),
        pytest.param("v=spf1 ~all", [("~", "all", None)], id="tilde-all"),
        pytest.param("v=spf1 ?all", [("?", "all", None)], id="question-all"),
        pytest.param("v=spf1 -ALL", [("-", "all", None)], id="upper-case-all"),
        pytest.param("v=spf1 ip4:192.0.2.1", [("+", "ip4", "192.0.2.1")], id="ip4-host"),
        pytest.param("v=spf1 ip4:192.0.2.0/24", [("+", "ip4", "192.0.2.0/24")], id="ip4-cidr"),
        pytest.param("v=spf1 ip4:198.51.100.7/24", [("+", "ip4", "198.51.100.7/24")], id="ip4-host-bits-set"),
        pytest.param("v=spf1 ip4:203.0.113.0/0", [("+", "ip4", "203.0.113.0/0")], id="ip4-cidr-0"),
        pytest.param("v=spf1 ip4:203.0.113.9/32", [("+", "ip4", "203.0.113.9/32")], id="ip4-cidr-32"),
        pytest.param("v=spf1 -ip4:192.0.2.1", [("-", "ip4", "192.0.2.1")], id="ip4-minus"),
        pytest.param("v=spf1 IP4:192.0.2.1", [("+", "ip4", "192.0.2.1")], id="ip4-upper-case"),
        pytest.param("v=spf1 ip6:2001:db8::1", [("+", "ip6", "2001:db8::1")], id="ip6-host"),
        pytest.param("v=spf1 ip6:2001:db8::/32", [("+", "ip6", "2001:db8::/32")], id="ip6-cidr"),
        pytest.param("v=spf1 ~ip6:2001:db8:1::/128", [("~", "ip6", "2001:db8:1::/128")], id="ip6-cidr-128"),
        pytest.param("v=spf1 ip6:::ffff:192.0.2.1", [("+", "ip6", "::ffff:192.0.2.1")], id="ip6-v4-mapped"),
        pytest.param("v=spf1 a", [("+", "a", None)], id="a"),
        pytest.param("v=spf1 a:mail.a.example", [("+", "a", "mail.a.example")], id="a-domain"),
        pytest.param("v=spf1 a/24", [("+", "a", None)], id="a-cidr4"),
        pytest.param("v=spf1 a//64", [("+", "a", None)], id="a-cidr6"),
        pytest.param("v=spf1 a/24//64", [("+", "a", None)], id="a-dual-cidr"),
        pytest.param("v=spf1 a:mail.a.example/0//0", [("+", "a", "mail.a.example")], id="a-domain-dual-cidr-0"),
        pytest.param("v=spf1 ?a:mail.a.example/32//128", [("?", "a", "mail.a.example")], id="a-dual-cidr-max"),
        pytest.param("v=spf1 mx", [("+", "mx", None)], id="mx"),
        pytest.param("v=spf1 mx:a.example", [("+", "mx", "a.example")], id="mx-domain"),
        pytest.param("v=spf1 -mx/30", [("-", "mx", None)], id="mx-cidr4"),
        pytest.param("v=spf1 mx:a.example/24//48", [("+", "mx", "a.example")], id="mx-dual-cidr"),
        pytest.param("v=spf1 mx:a.example//48", [("+", "mx", "a.example")], id="mx-cidr6"),
        pytest.param("v=spf1 ptr", [("+", "ptr", None)], id="ptr"),
        pytest.param("v=spf1 ?ptr:a.example", [("?", "ptr", "a.example")], id="ptr-domain"),
        pytest.param("v=spf1 exists:a.example", [("+", "exists", "a.example")], id="exists"),
        pytest.param("v=spf1 include:spf.vendor.test", [("+", "include", "spf.vendor.test")], id="include"),
        pytest.param("v=spf1 ~include:spf.vendor.test", [("~", "include", "spf.vendor.test")], id="include-tilde"),
        pytest.param("v=spf1 include:spf.vendor.test.", [("+", "include", "spf.vendor.test.")], id="include-fqdn"),
        pytest.param("v=spf1 INCLUDE:Spf.Vendor.Test", [("+", "include", "Spf.Vendor.Test")], id="include-case"),
        pytest.param("v=spf1 include:_spf.a.example", [("+", "include", "_spf.a.example")], id="include-underscore"),
        pytest.param("v=spf1 include:spf.xn--bcher-kva.example", [("+", "include", "spf.xn--bcher-kva.example")]),
        pytest.param("v=spf1 include:spf.a.b2b", [("+", "include", "spf.a.b2b")], id="toplabel-letters-digits"),
        pytest.param("v=spf1 include:spf.a.ab-cd", [("+", "include", "spf.a.ab-cd")], id="toplabel-hyphen"),
        pytest.param("v=spf1 redirect=_spf.a.example", [("=", "redirect", "_spf.a.example")], id="redirect"),
        pytest.param("v=spf1 REDIRECT=_spf.a.example", [("=", "redirect", "_spf.a.example")], id="redirect-case"),
        pytest.param("v=spf1 -all exp=explain.a.example", [("-", "all", None), ("=", "exp", "explain.a.example")]),
        pytest.param("v=spf1 -all foo=bar", [("-", "all", None), ("=", "foo", "bar")], id="unknown-modifier"),
        pytest.param("v=spf1 x-y.z_1=%{d} -all", [("=", "x-y.z_1", "%{d}"), ("-", "all", None)], id="unknown-mod-2"),
        pytest.param("v=spf1 op=a.b foo= -all", [("=", "op", "a.b"), ("=", "foo", ""), ("-", "all", None)]),
        pytest.param("v=spf1 a=b:c -all", [("=", "a", "b:c"), ("-", "all", None)], id="modifier-named-a"),
        pytest.param("v=spf1    mx   -all  ", [("+", "mx", None), ("-", "all", None)], id="several-spaces"),
        pytest.param("v=spf1 a:a.example:8080.example", [("+", "a", "a.example:8080.example")], id="colon-in-spec"),
    ],
)
def test_valid_records_parse_into_terms(text, expected):
    record = parse(text)
    assert record.errors == ()
    assert shape(record) == expected
    assert [t.text for t in record.terms] == [tok for tok in text.split(" ")[1:] if tok]


def test_every_mechanism_and_modifier_in_one_record():
    text = (
        "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a mx ptr exists:%{i}.x.a.example "
        "include:spf.vendor.test -all redirect=b.example exp=e.a.example"
    )
    record = parse(text)
    assert record.errors == ()
    assert [t.kind for t in record.mechanisms] == ["ip4", "ip6", "a", "mx", "ptr", "exists", "include", "all"]
    assert [t.kind for t in record.terms if t.is_modifier] == ["redirect", "exp"]
    redirect = record.modifier("redirect")
    assert redirect is not None
    assert redirect.target == "b.example"
    assert record.modifier("nope") is None
    assert record.all_term == Term("-all", "all", False, "-")


@pytest.mark.parametrize("qualifier", ["+", "-", "~", "?"])
@pytest.mark.parametrize(
    "mechanism", ["all", "a", "mx", "ptr", "ip4:192.0.2.1", "ip6:2001:db8::1", "exists:a.example", "include:b.example"]
)
def test_every_qualifier_applies_to_every_mechanism(qualifier, mechanism):
    record = parse(f"v=spf1 {qualifier}{mechanism}")
    assert record.errors == ()
    (term,) = record.terms
    assert term.qualifier == qualifier
    assert not term.is_modifier
    assert term.kind == mechanism.split(":")[0]


def test_the_default_qualifier_is_pass():
    (term,) = parse("v=spf1 mx").terms
    assert term.qualifier == "+"


@pytest.mark.parametrize(
    ("text", "kind", "has_macro"),
    [
        ("v=spf1 include:%{d}._spf.a.example", "include", True),
        ("v=spf1 include:%{d}", "include", True),
        ("v=spf1 include:%{d}.", "include", True),
        ("v=spf1 exists:%{i}._spf.%{d}", "exists", True),
        ("v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d}", "exists", True),
        ("v=spf1 exists:%{I}.%{S}.%{L}.%{O}.%{D}.%{P}.%{H}.%{V}.a.example", "exists", True),
        ("v=spf1 exists:%{d2}.%{i4r}.%{s-.+,/_=}.a.example", "exists", True),
        ("v=spf1 redirect=%{d}.spf.a.example", "redirect", True),
        ("v=spf1 redirect=_spf.%{o}", "redirect", True),
        ("v=spf1 a:%{d}.a.example", "a", True),
        ("v=spf1 mx:%{d}/24", "mx", True),
        ("v=spf1 ptr:%{d}", "ptr", True),
        ("v=spf1 include:a%%b.example", "include", False),
        ("v=spf1 include:a%_b%-c.example", "include", False),
        ("v=spf1 include:a.example", "include", False),
    ],
)
def test_macros_in_domain_specs(text, kind, has_macro):
    record = parse(text)
    assert record.errors == ()
    (term,) = record.terms
    assert term.kind == kind
    assert term.has_macro is has_macro
    assert term.causes_lookup


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("v=spf1 exp=explain.%{d}", "explain.%{d}"),
        ("v=spf1 exp=%{d}", "%{d}"),
    ],
)
def test_macros_in_exp(text, target):
    record = parse(text)
    assert record.errors == ()
    exp = record.modifier("exp")
    assert exp is not None
    assert exp.target == target


def test_lookup_terms_are_the_rfc_list():
    # RFC 7208 §4.6.4: include, a, mx, ptr, exists and redirect count; exp, ip4, ip6 and all do not.
    assert frozenset({"include", "a", "mx", "ptr", "exists", "redirect"}) == LOOKUP_TERMS
    record = parse("v=spf1 ip4:192.0.2.1 ip6:2001:db8::1 a mx ptr exists:a.example include:b.example -all")
    assert [t.kind for t in record.terms if t.causes_lookup] == ["a", "mx", "ptr", "exists", "include"]
    record = parse("v=spf1 redirect=b.example exp=e.example")
    assert [t.kind for t in record.terms if t.causes_lookup] == ["redirect"]


# --- invalid records -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("v=spf1 foo -all", "unknown mechanism 'foo'", id="unknown-mechanism"),
        pytest.param("v=spf1 foo:bar.example -all", "unknown mechanism 'foo'", id="unknown-mechanism-arg"),
        pytest.param("v=spf1 ip:192.0.2.1 -all", "unknown mechanism 'ip'", id="ip-without-version"),
        pytest.param("v=spf1 include -all", "include needs a domain", id="include-without-colon"),
        pytest.param("v=spf1 +-all", "is not a mechanism or modifier", id="double-qualifier"),
        pytest.param("v=spf1 !all", "is not a mechanism or modifier", id="bad-qualifier"),
        pytest.param("v=spf1 - -all", "is not a mechanism or modifier", id="lone-qualifier"),
        pytest.param("v=spf1 9x=y -all", "unknown mechanism '9x'", id="modifier-name-starts-with-digit"),
        pytest.param("v=spf1 -all:foo", "'all' takes no argument", id="all-with-arg"),
        pytest.param("v=spf1 all/24", "'all' takes no argument", id="all-with-cidr"),
        pytest.param("v=spf1 ip4 -all", "ip4 needs an address", id="ip4-without-address"),
        pytest.param("v=spf1 ip6 -all", "ip6 needs an address", id="ip6-without-address"),
        pytest.param("v=spf1 ip4:192.0.2.256 -all", "not a valid ip4 network", id="ip4-octet-256"),
        pytest.param("v=spf1 ip4:192.0.2 -all", "not a valid ip4 network", id="ip4-three-octets"),
        pytest.param("v=spf1 ip4:192.0.02.1 -all", "not a valid ip4 network", id="ip4-leading-zero-octet"),
        pytest.param("v=spf1 ip4:192.0.2.1/33 -all", "not a valid ip4 network", id="ip4-cidr-33"),
        pytest.param("v=spf1 ip4:192.0.2.1/ -all", "not a valid ip4 network", id="ip4-empty-cidr"),
        pytest.param("v=spf1 ip4:192.0.2.0/024 -all", "leading zero", id="ip4-cidr-leading-zero"),
        pytest.param("v=spf1 ip4:192.0.2.0//64 -all", "not a valid ip4 network", id="ip4-dual-cidr"),
        pytest.param("v=spf1 ip4:a.example -all", "not a valid ip4 network", id="ip4-name"),
        pytest.param("v=spf1 ip4:2001:db8::1 -all", "an IPv6 address under ip4", id="ip4-with-ipv6"),
        pytest.param("v=spf1 ip6:192.0.2.1 -all", "an IPv4 address under ip6", id="ip6-with-ipv4"),
        pytest.param("v=spf1 ip6:2001:db8::/129 -all", "not a valid ip6 network", id="ip6-cidr-129"),
        pytest.param("v=spf1 ip6:2001:db8:::1 -all", "not a valid ip6 network", id="ip6-triple-colon"),
        pytest.param("v=spf1 ip6:2001:db8::g -all", "not a valid ip6 network", id="ip6-bad-hex"),
        pytest.param("v=spf1 ip6:2001:db8::/064 -all", "leading zero", id="ip6-cidr-leading-zero"),
        pytest.param("v=spf1 a/33 -all", "IPv4 CIDR length over 32", id="a-cidr-33"),
        pytest.param("v=spf1 a//129 -all", "IPv6 CIDR length over 128", id="a-cidr6-129"),
        pytest.param("v=spf1 mx:a.example/99 -all", "IPv4 CIDR length over 32", id="mx-cidr-99"),
        pytest.param("v=spf1 mx:a.example/24//200 -all", "IPv6 CIDR length over 128", id="mx-cidr6-200"),
        pytest.param("v=spf1 a/ -all", "invalid CIDR length", id="a-empty-cidr"),
        pytest.param("v=spf1 a/x -all", "invalid CIDR length", id="a-cidr-letters"),
        pytest.param("v=spf1 a///64 -all", "invalid CIDR length", id="a-triple-slash"),
        pytest.param("v=spf1 ptr/24 -all", "ptr takes no CIDR length", id="ptr-cidr"),
        pytest.param("v=spf1 a: -all", "empty domain after ':'", id="a-empty-domain"),
        pytest.param("v=spf1 mx:/24 -all", "empty domain after ':'", id="mx-only-cidr"),
        pytest.param("v=spf1 ptr: -all", "empty domain after ':'", id="ptr-empty-domain"),
        pytest.param("v=spf1 include: -all", "include needs a domain", id="include-empty"),
        pytest.param("v=spf1 exists: -all", "exists needs a domain", id="exists-empty"),
        pytest.param("v=spf1 exists -all", "exists needs a domain", id="exists-without-colon"),
        pytest.param("v=spf1 redirect=", "missing domain", id="redirect-empty"),
        pytest.param("v=spf1 -all exp=", "missing domain", id="exp-empty"),
        pytest.param("v=spf1 include:example -all", "valid top-level label", id="single-label"),
        pytest.param("v=spf1 include:a.example.123 -all", "valid top-level label", id="numeric-toplabel"),
        pytest.param("v=spf1 a:192.0.2.1 -all", "valid top-level label", id="a-with-address"),
        pytest.param("v=spf1 include:a.example/24 -all", "valid top-level label", id="include-with-cidr"),
        pytest.param("v=spf1 include:a.-example -all", "valid top-level label", id="toplabel-leading-hyphen"),
        pytest.param("v=spf1 include:a..example -all", "empty label", id="empty-label"),
        pytest.param("v=spf1 a:.a.example -all", "empty label", id="leading-dot"),
        pytest.param("v=spf1 include:%{x}.a.example -all", "invalid macro", id="unknown-macro-letter"),
        pytest.param("v=spf1 include:%{d.a.example -all", "invalid macro", id="unclosed-macro"),
        pytest.param("v=spf1 include:%d.a.example -all", "invalid macro", id="macro-without-braces"),
        pytest.param("v=spf1 exists:%{ir2}.a.example -all", "invalid macro", id="transformer-order"),
        pytest.param("v=spf1 exists:%{i;}.a.example -all", "invalid macro", id="bad-delimiter"),
        pytest.param("v=spf1 exists:a%.example -all", "invalid macro", id="lone-percent"),
        pytest.param("v=spf1 redirect=%{z}.a.example", "invalid macro", id="redirect-bad-macro"),
        pytest.param("v=spf1 -all foo=%", "has an invalid macro", id="unknown-modifier-bad-macro"),
        pytest.param("v=spf1 -all foo=%{q}", "has an invalid macro", id="unknown-modifier-bad-letter"),
        pytest.param("v=spf1 redirect=a.example redirect=b.example", "'redirect=' appears more than once"),
        pytest.param("v=spf1 -all exp=a.example exp=b.example", "'exp=' appears more than once", id="dup-exp"),
        pytest.param("v=spf1 redirect=a.example REDIRECT=b.example", "more than once", id="dup-redirect-case"),
        pytest.param("v=spf1 a:bücher.example -all", "outside printable US-ASCII", id="non-ascii-domain"),
        pytest.param("v=spf1 -all exp=é.example", "outside printable US-ASCII", id="non-ascii-exp"),
        pytest.param("v=spf1 ip4:192.0.2.1\x00 -all", "outside printable US-ASCII", id="nul"),
        pytest.param("v=spf1 ip4:192.0.2.1\r\n-all", "outside printable US-ASCII", id="crlf"),
    ],
)
def test_invalid_records_report_an_error(text, message):
    record = parse(text)
    assert record.errors, f"no error for {text!r}"
    assert any(message in error for error in record.errors), record.errors


def test_every_error_is_collected_not_only_the_first():
    record = parse("v=spf1 foo ip4:192.0.2.256 a/33 redirect=a.example redirect=b.example -all")
    assert len(record.errors) == 4
    assert [t.kind for t in record.terms] == ["redirect", "redirect", "all"]


def test_repeated_unknown_modifiers_are_allowed():
    # RFC 7208 §6: only redirect and exp are limited to one occurrence.
    assert parse("v=spf1 foo=a foo=b -all").errors == ()


def test_repeated_mechanisms_are_allowed():
    assert parse("v=spf1 a a mx mx include:b.example include:b.example -all -all").errors == ()


def test_non_ascii_error_is_reported_once_with_the_domain_error():
    record = parse("v=spf1 include:bücher.example -all")
    assert sum("US-ASCII" in e for e in record.errors) == 1
    assert any("invalid macro or character" in e for e in record.errors)


# --- evaluated_terms (RFC 7208 §5.1, §6.1) -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "evaluated"),
    [
        pytest.param("v=spf1 mx -all", ["mx", "-all"], id="plain"),
        pytest.param("v=spf1 mx -all include:b.example a", ["mx", "-all"], id="terms-after-all"),
        pytest.param("v=spf1 -all ip4:192.0.2.1", ["-all"], id="ip4-after-all"),
        pytest.param("v=spf1 ~all -all", ["~all"], id="second-all"),
        pytest.param("v=spf1 mx redirect=b.example", ["mx", "redirect=b.example"], id="redirect-without-all"),
        pytest.param("v=spf1 redirect=b.example mx -all", ["mx", "-all"], id="redirect-ignored-with-all"),
        pytest.param("v=spf1 mx ?all redirect=b.example", ["mx", "?all"], id="redirect-after-all-ignored"),
        pytest.param(
            "v=spf1 -all include:b.example exp=e.a.example",
            ["-all", "exp=e.a.example"],
            id="modifiers-after-all-kept",
        ),
        pytest.param("v=spf1 a -all foo=bar", ["a", "-all", "foo=bar"], id="unknown-modifier-kept"),
        pytest.param("v=spf1 include:b.example", ["include:b.example"], id="no-all"),
        pytest.param("v=spf1 bogus mx -all a", ["mx", "-all"], id="invalid-terms-dropped"),
    ],
)
def test_evaluated_terms(text, evaluated):
    record = parse(text)
    assert [t.text for t in record.evaluated_terms] == evaluated


def test_all_term_is_the_first_all():
    record = parse("v=spf1 ~all -all")
    assert record.all_term is not None
    assert record.all_term.qualifier == "~"
    assert parse("v=spf1 mx redirect=b.example").all_term is None


# --- cases where a naive parser (or Python's ipaddress) disagrees with RFC 7208 ----


def test_ip4_netmask_notation_is_invalid():
    assert parse("v=spf1 ip4:192.0.2.0/255.255.255.0 -all").errors


def test_ip6_zone_index_is_invalid():
    assert parse("v=spf1 ip6:2001:db8::1%eth0 -all").errors


@pytest.mark.parametrize("text", ["v=spf1 a/08 -all", "v=spf1 mx//064 -all", "v=spf1 mx:a.example/01 -all"])
def test_a_mx_cidr_with_leading_zero_is_invalid(text):
    assert parse(text).errors


@pytest.mark.parametrize("text", ["v=spf1 include:spf.a.a-b -all", "v=spf1 a:mail.a.1-2 -all"])
def test_hyphenated_toplabels_are_valid(text):
    assert parse(text).errors == ()


@pytest.mark.parametrize(
    "text",
    ["v=spf1 exists:%{c}.a.example -all", "v=spf1 include:%{r}.a.example -all", "v=spf1 redirect=%{t}.a.example"],
)
def test_c_r_t_macros_outside_exp_are_invalid(text):
    assert parse(text).errors


@pytest.mark.parametrize("text", ["v=spf1 redirect=a.example..", "v=spf1 include:b.example.. -all"])
def test_two_trailing_dots_are_invalid(text):
    assert parse(text).errors


def test_c_r_t_macros_inside_exp_are_valid():
    assert parse("v=spf1 -all exp=%{c}.%{r}.%{t}.a.example").errors == ()


@pytest.mark.parametrize("name", ["include", "a", "mx", "ptr", "exists"])
def test_modifier_named_like_a_mechanism_causes_no_lookup(name):
    (term,) = parse(f"v=spf1 {name}=b.example").terms
    assert term.is_modifier
    assert not term.causes_lookup
