"""Parsing DMARC records and report URIs (RFC 7489 §6.3, §6.4); hostile input never raises."""

from __future__ import annotations

import random

import pytest

from pytest_mailflow.dmarc.record import (
    Effective,
    is_dmarc_record,
    parse,
    parse_uri,
    strength,
)

# --- recognising a DMARC record (§6.6.3 step 3) ----------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "v=DMARC1; p=none",
        "v=DMARC1",
        "v=DMARC1;",
        "V=DMARC1; p=none",
        "v = DMARC1 ; p=none",
        "v=DMARC1;p=reject;;",
        " v=DMARC1; p=none",
    ],
)
def test_records_that_start_with_the_version_tag_are_dmarc_records(text):
    assert is_dmarc_record(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        ";",
        "v=dmarc1; p=none",
        "v=DMARC10; p=none",
        "v=DMARC1 p=none",
        "p=none; v=DMARC1",
        "v=spf1 -all",
        "v:DMARC1; p=none",
        "vv=DMARC1; p=none",
    ],
)
def test_records_without_the_exact_version_first_are_not_dmarc_records(text):
    assert not is_dmarc_record(text)


# --- tags -------------------------------------------------------------------------------------------


def test_a_full_record_parses_without_errors_or_notes():
    record = parse(
        "v=DMARC1; p=reject; sp=quarantine; rua=mailto:a@contoso.example; ruf=mailto:f@contoso.example; "
        "adkim=s; aspf=r; ri=3600; fo=0:1:d:s; rf=afrf; pct=100"
    )
    assert record.errors == ()
    assert record.notes == ()
    assert record.order == ("v", "p", "sp", "rua", "ruf", "adkim", "aspf", "ri", "fo", "rf", "pct")
    assert record.policy == "reject"
    assert record.subdomain_policy == "quarantine"
    assert record.pct == 100
    assert not record.malformed


def test_tag_names_are_case_insensitive_and_noted_when_not_lower_case():
    record = parse("V=DMARC1; P=Reject; SP=none; Rua=mailto:a@contoso.example")
    assert record.errors == ()
    assert record.tags == {"v": "DMARC1", "p": "Reject", "sp": "none", "rua": "mailto:a@contoso.example"}
    assert record.policy == "reject"
    assert record.subdomain_policy == "none"
    assert record.notes == (
        "tag names not in lower case: V, P, SP, Rua (DKIM-style tag lists are case-sensitive; some receivers "
        "may not recognise them)",
    )


def test_white_space_around_tags_values_and_separators_is_ignored():
    record = parse("v = DMARC1 ;\tp =  quarantine\t; pct= 50 ;rua =mailto:a@contoso.example  ")
    assert record.errors == ()
    assert record.tags == {"v": "DMARC1", "p": "quarantine", "pct": "50", "rua": "mailto:a@contoso.example"}
    assert record.pct == 50


@pytest.mark.parametrize("text", ["v=DMARC1; p=none;", "v=DMARC1; p=none;;", "v=DMARC1; p=none ; ; "])
def test_trailing_and_empty_separators_are_harmless(text):
    record = parse(text)
    assert record.errors == ()
    assert record.order == ("v", "p")


def test_leading_white_space_is_noted():
    record = parse(" v=DMARC1; p=none")
    assert record.errors == ()
    assert any("starts with white space" in note for note in record.notes)


def test_duplicate_tags_keep_the_first_value_and_make_the_record_malformed():
    record = parse("v=DMARC1; p=none; P=reject; rua=mailto:a@contoso.example")
    assert record.tags["p"] == "none"
    assert record.errors == ("tag 'p' appears more than once (a tag list with duplicate tags is invalid)",)
    assert record.malformed


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("p=none; v=DMARC1", "'v=DMARC1' must be the first tag (RFC 7489 §6.3)"),
        ("p=none", "'v=DMARC1' must be the first tag (RFC 7489 §6.3)"),
        ("", "'v=DMARC1' must be the first tag (RFC 7489 §6.3)"),
        ("v=DMARC2; p=none", "the version must be exactly 'DMARC1', not 'DMARC2'"),
        ("v=dmarc1; p=none", "the version must be exactly 'DMARC1', not 'dmarc1'"),
    ],
)
def test_the_version_must_come_first_and_be_exact(text, error):
    assert error in parse(text).errors


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("v=DMARC1", "the required tag 'p' is missing"),
        ("v=DMARC1; p=", "p='' is not one of none, quarantine, reject"),
        ("v=DMARC1; p=rejected", "p='rejected' is not one of none, quarantine, reject"),
        ("v=DMARC1; p=none; sp=block", "sp='block' is not one of none, quarantine, reject"),
        ("v=DMARC1; p=none; adkim=relaxed", "adkim='relaxed' is not 'r' (relaxed) or 's' (strict)"),
        ("v=DMARC1; p=none; aspf=x", "aspf='x' is not 'r' (relaxed) or 's' (strict)"),
        ("v=DMARC1; p=none; pct=101", "pct='101' is not a whole number from 0 to 100"),
        ("v=DMARC1; p=none; pct=-1", "pct='-1' is not a whole number from 0 to 100"),
        ("v=DMARC1; p=none; pct=50.5", "pct='50.5' is not a whole number from 0 to 100"),
        ("v=DMARC1; p=none; pct=", "pct='' is not a whole number from 0 to 100"),
        ("v=DMARC1; p=none; pct=１００", "pct='１００' is not a whole number from 0 to 100"),
        ("v=DMARC1; p=none; pct=1000", "pct='1000' is not a whole number from 0 to 100"),
        ("v=DMARC1; p=none; fo=2", "fo='2' is not a colon-separated list of 0, 1, d, s"),
        ("v=DMARC1; p=none; fo=1:x", "fo='1:x' is not a colon-separated list of 0, 1, d, s"),
        ("v=DMARC1; p=none; rf=af rf", "rf='af rf' is not a colon-separated list of report format names"),
        ("v=DMARC1; p=none; ri=1h", "ri='1h' is not a number of seconds"),
        ("v=DMARC1; p=none; ri=4294967296", "ri='4294967296' is larger than a 32-bit unsigned integer"),
        ("v=DMARC1; p=none; junk", "'junk' is not a tag=value pair"),
        ("v=DMARC1; p=none; =x", "'=x' is not a tag=value pair"),
        ("v=DMARC1; p=none; 1x=y", "'1x' is not a valid tag name (a letter, then letters, digits or '_')"),
        ("v=DMARC1; p=none; a b=y", "'a b' is not a valid tag name (a letter, then letters, digits or '_')"),
    ],
)
def test_invalid_values_are_errors(text, error):
    assert error in parse(text).errors


@pytest.mark.parametrize(
    "text",
    [
        "v=DMARC1; p=none; pct=0",
        "v=DMARC1; p=none; pct=050",
        "v=DMARC1; p=NONE; sp=Reject; adkim=S; aspf=R; fo=D:S",
        "v=DMARC1; p=none; ri=4294967295",
        "v=DMARC1; p=none; rf=afrf:iodef",
    ],
)
def test_valid_values(text):
    assert parse(text).errors == ()


@pytest.mark.parametrize(
    ("text", "note"),
    [
        ("v=DMARC1; p=none; foo=bar", "unknown tag 'foo' is ignored by receivers (RFC 7489 §6.3)"),
        ("v=DMARC1; p=none; np=reject", "tag 'np' is not defined by RFC 7489"),
        ("v=DMARC1; p=none; np=maybe", "np='maybe' is not one of none, quarantine, reject"),
        ("v=DMARC1; p=none; psd=x", "psd='x' is not one of y, n, u"),
        ("v=DMARC1; p=none; t=x", "t='x' is not one of y, n"),
        ("v=DMARC1; rua=mailto:a@contoso.example; p=none", "'p' is not the second tag"),
        ("v=DMARC1; p=none; rf=iodef", "rf lists formats other than 'afrf' (iodef)"),
        ("v=DMARC1; p=none; fo=1", "fo has no effect without ruf"),
    ],
)
def test_remarks_are_notes_not_errors(text, note):
    record = parse(text)
    assert record.errors == ()
    assert any(note in n for n in record.notes), record.notes


# --- what receivers apply (§6.6.3 step 5) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "effective"),
    [
        ("v=DMARC1; p=reject", Effective("reject", "reject", False, 100)),
        ("v=DMARC1; p=reject; sp=none; pct=20", Effective("reject", "none", False, 20)),
        ("v=DMARC1; rua=mailto:a@contoso.example", Effective("none", "none", True, 100)),
        ("v=DMARC1; p=bogus; rua=mailto:a@contoso.example", Effective("none", "none", True, 100)),
        ("v=DMARC1; p=reject; sp=bogus; rua=mailto:a@contoso.example", Effective("none", "none", True, 100)),
        ("v=DMARC1; p=reject; sp=bogus", Effective(None, None, False, 100)),
        ("v=DMARC1", Effective(None, None, False, 100)),
        ("v=DMARC1; rua=a@contoso.example", Effective(None, None, False, 100)),
        ("v=DMARC1; p=quarantine; pct=abc", Effective("quarantine", "quarantine", False, None)),
    ],
)
def test_effective_policy(text, effective):
    assert parse(text).effective() == effective


def test_policies_are_ordered():
    assert strength("none") < strength("quarantine") < strength("reject")


# --- report URIs ------------------------------------------------------------------------------------


def test_uris_are_split_on_commas_with_white_space_and_sizes():
    record = parse("v=DMARC1; p=none; rua = mailto:a@contoso.example!10m ,  mailto:b@reports.test!5K, ")
    first, second = record.uris("rua")
    assert (first.scheme, first.address, first.domain, first.size, first.error) == (
        "mailto",
        "a@contoso.example",
        "contoso.example",
        "10m",
        "",
    )
    assert (second.domain, second.size) == ("reports.test", "5K")
    assert record.uris("ruf") == ()


@pytest.mark.parametrize(
    ("text", "address", "domain", "size"),
    [
        ("mailto:a@contoso.example", "a@contoso.example", "contoso.example", ""),
        ("mailto:a@contoso.example!10", "a@contoso.example", "contoso.example", "10"),
        ("MAILTO:DMARC@Contoso.Example.", "DMARC@Contoso.Example.", "contoso.example", ""),
        ("mailto:dmarc%40reports.test", "dmarc@reports.test", "reports.test", ""),
        ("mailto:first%2Blast@reports.test", "first+last@reports.test", "reports.test", ""),
        ("mailto:a%21b@reports.test!1g", "a!b@reports.test", "reports.test", "1g"),
        ("mailto:a@reports.test?subject=dmarc", "a@reports.test", "reports.test", ""),
        ("mailto:dmarc@bücher.example", "dmarc@bücher.example", "xn--bcher-kva.example", ""),
    ],
)
def test_valid_mailto_uris(text, address, domain, size):
    uri = parse_uri(text)
    assert uri.error == ""
    assert (uri.scheme, uri.address, uri.domain, uri.size) == ("mailto", address, domain, size)


def test_the_mailbox_compares_without_case():
    assert parse_uri("mailto:DMARC@Contoso.Example!10m").mailbox == "dmarc@contoso.example"


def test_other_schemes_are_valid_uris_without_a_mail_domain():
    uri = parse_uri("https://reports.test/dmarc")
    assert (uri.scheme, uri.domain, uri.error) == ("https", "", "")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("dmarc@contoso.example", "missing URI scheme (write 'mailto:address')"),
        ("mailto:", "'' is not a mailbox address"),
        ("mailto:@contoso.example", "'@contoso.example' is not a mailbox address"),
        ("mailto:dmarc@", "'dmarc@' is not a mailbox address"),
        ("mailto:dmarc", "'dmarc' is not a mailbox address"),
        ("mailto:a b@contoso.example", "'a b@contoso.example' is not a mailbox address"),
        ("mailto://dmarc@contoso.example", "'//dmarc@contoso.example' is not a mailbox address"),
        ("mailto:dmarc@localhost", "'dmarc@localhost' is not a mailbox address"),
        ("mailto:dmarc@contoso..example", "'dmarc@contoso..example' is not a mailbox address"),
        ("mailto:dmarc@[192.0.2.1]", "'dmarc@[192.0.2.1]' is not a mailbox address"),
        ("mailto:a@contoso.example!10x", "'!10x' is not a size limit (digits with an optional k, m, g or t)"),
        ("mailto:a@contoso.example!", "'!' is not a size limit (digits with an optional k, m, g or t)"),
        ("mailto:a!b@contoso.example", "'!b@contoso.example' is not a size limit"),
        ("https:", "'https:' is not a URI"),
        ("1http://x", "missing URI scheme (write 'mailto:address')"),
    ],
)
def test_invalid_uris(text, error):
    assert error in parse_uri(text).error


# --- hostile input ----------------------------------------------------------------------------------

HOSTILE = [
    "",
    ";;;;",
    "=",
    "v=",
    "v=DMARC1; rua=,,,,",
    "v=DMARC1; rua=mailto:" + "a" * 5000 + "@" + "b" * 300 + ".example",
    "v=DMARC1; rua=mailto:a@" + ".".join(["x" * 63] * 5),
    "v=DMARC1; rua=mailto:%ZZ@%C3%28.example; ruf=mailto:%00@x.example",
    "v=DMARC1; rua=mailto:a@\x00.example; p=\x00",
    "v=DMARC1; rua=mailto:a@xn--.example",
    "v=DMARC1; rua=mailto:a@-x.example!99999999999999999999999t",
    "v=DMARC1; p=none; pct=99999999999999999999; ri=99999999999999999999999999",
    "v=DMARC1; p=\ufffd; sp=\u202e; rua=mailto:\u202e@example.com",
    "\ufeffv=DMARC1; p=none",
    "v=DMARC1;" + "x=y;" * 2000,
    "v=DMARC1; rua=" + "mailto:a@b.example," * 500,
]


def _exercise(text: str) -> None:
    assert isinstance(is_dmarc_record(text), bool)
    record = parse(text)
    record.effective()
    for tag in ("rua", "ruf"):
        for uri in record.uris(tag):
            _ = uri.mailbox
    parse_uri(text)


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_records_never_raise(text):
    _exercise(text)


def test_random_records_never_raise():
    rng = random.Random(7489)
    alphabet = "v=DMARC1;pspctruafo:!@,.%mailto \t\x00\ufffdé-_0123456789kmgtKMGT[]"
    for _ in range(3000):
        _exercise("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80))))
