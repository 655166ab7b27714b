"""The DKIM key-record parser (RFC 6376 §3.6.1, RFC 8301, RFC 8463): tags, problems and key sizes."""

from __future__ import annotations

import base64
import random

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from pytest_mailflow.dkim.record import (
    PKCS1,
    RAW_ED25519,
    SPKI,
    DkimKeyRecord,
    looks_like_host_name,
    parse_key_record,
)
from pytest_mailflow.dns.records import txt_presentation, txt_value

DER = serialization.Encoding.DER


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@pytest.fixture(scope="session")
def rsa1024() -> rsa.RSAPublicKey:
    return rsa.generate_private_key(65537, 1024).public_key()


@pytest.fixture(scope="session")
def rsa2048() -> rsa.RSAPublicKey:
    return rsa.generate_private_key(65537, 2048).public_key()


@pytest.fixture(scope="session")
def ed_key() -> ed25519.Ed25519PublicKey:
    return ed25519.Ed25519PrivateKey.generate().public_key()


def spki(key: rsa.RSAPublicKey | ed25519.Ed25519PublicKey) -> str:
    return b64(key.public_bytes(DER, serialization.PublicFormat.SubjectPublicKeyInfo))


def pkcs1(key: rsa.RSAPublicKey) -> str:
    return b64(key.public_bytes(DER, serialization.PublicFormat.PKCS1))


def raw(key: ed25519.Ed25519PublicKey) -> str:
    return b64(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


# --- keys --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture, bits", [("rsa1024", 1024), ("rsa2048", 2048)])
def test_rsa_subject_public_key_info(request, fixture, bits):
    key = request.getfixturevalue(fixture)
    record = parse_key_record(f"v=DKIM1; k=rsa; p={spki(key)}")
    assert record.usable
    assert record.errors == record.warnings == ()
    assert (record.key_type, record.key_bits, record.key_format) == ("rsa", bits, SPKI)
    assert record.describe() == f"{bits}-bit RSA key"


def test_rsa_key_type_is_the_default(rsa2048):
    record = parse_key_record(f"p={spki(rsa2048)}")
    assert record.usable
    assert record.key_type == "rsa"
    assert record.key_bits == 2048


def test_bare_rsa_public_key_pkcs1_is_accepted_with_a_warning(rsa2048):
    record = parse_key_record(f"v=DKIM1; p={pkcs1(rsa2048)}")
    assert record.usable
    assert record.key_bits == 2048
    assert record.key_format == PKCS1
    assert any("PKCS#1" in warning for warning in record.warnings)


def test_ed25519_raw_key(ed_key):
    record = parse_key_record(f"v=DKIM1; k=ed25519; p={raw(ed_key)}")
    assert record.usable
    assert (record.key_type, record.key_bits, record.key_format) == ("ed25519", 256, RAW_ED25519)
    assert record.describe() == "Ed25519 key"


def test_ed25519_key_type_is_case_insensitive(ed_key):
    assert parse_key_record(f"v=DKIM1; k=Ed25519; p={raw(ed_key)}").usable


def test_ed25519_wrapped_in_spki_is_an_error(ed_key):
    record = parse_key_record(f"v=DKIM1; k=ed25519; p={spki(ed_key)}")
    assert not record.usable
    assert any("wrapped in a SubjectPublicKeyInfo" in error for error in record.errors)


def test_ed25519_of_the_wrong_length(rsa1024):
    record = parse_key_record(f"v=DKIM1; k=ed25519; p={spki(rsa1024)}")
    assert not record.usable
    assert any("an Ed25519 key is 32 bytes" in error for error in record.errors)


def test_a_non_rsa_key_under_k_rsa():
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    record = parse_key_record(
        f"v=DKIM1; k=rsa; p={b64(key.public_bytes(DER, serialization.PublicFormat.SubjectPublicKeyInfo))}"
    )
    assert not record.usable
    assert record.key_bits is None
    assert any("elliptic-curve key, but the record says k=rsa" in error for error in record.errors)


def test_a_key_below_1024_bits_is_decoded_and_measured():
    n = random.Random(7).getrandbits(512) | (1 << 511) | 1
    key = rsa.RSAPublicNumbers(65537, n).public_key()
    record = parse_key_record(f"v=DKIM1; p={spki(key)}")
    assert record.key_bits == 512
    assert record.usable  # the size is judged by the rules, not the parser


# --- revoked, whitespace, multi-string TXT -----------------------------------------------------------


@pytest.mark.parametrize("text", ["v=DKIM1; p=", "v=DKIM1; k=rsa; p= ", "v=DKIM1; p=;", "p=\t\r\n ", "v=DKIM1;p="])
def test_an_empty_p_is_revoked(text):
    record = parse_key_record(text)
    assert record.revoked
    assert not record.usable
    assert record.errors == ()
    assert record.public_key == ""
    assert record.describe() == "revoked key (empty p=)"


def test_whitespace_inside_p_is_ignored(rsa2048):
    key = spki(rsa2048)
    spaced = " ".join(key[i : i + 64] for i in range(0, len(key), 64))
    folded = "\r\n\t".join(key[i : i + 76] for i in range(0, len(key), 76))
    for value in (spaced, folded, f"  {key}\t"):
        record = parse_key_record(f"v=DKIM1; k=rsa; p={value}")
        assert record.usable, record.errors
        assert record.public_key == key
        assert record.key_bits == 2048


def test_multi_string_txt_is_joined_before_parsing(rsa2048):
    text = f"v=DKIM1; k=rsa; p={spki(rsa2048)}"
    presentation = txt_presentation(text)
    assert presentation.count('" "') >= 1  # a 2048-bit key needs more than one 255-octet string
    record = parse_key_record(txt_value(presentation))
    assert record.usable
    assert record.key_bits == 2048
    first_string_only = parse_key_record(text[:255])
    assert not first_string_only.usable


def test_strings_split_inside_the_key(rsa2048):
    key = spki(rsa2048)
    presentation = f'"v=DKIM1; k=rsa; p={key[:100]}" "{key[100:300]}" "{key[300:]}"'
    assert parse_key_record(txt_value(presentation)).key_bits == 2048


# --- bad base64 and bad key data -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "words"),
    [
        pytest.param("MIIB*AAA", "the character '*'", id="bad-character"),
        pytest.param("MIIBIjA", "not a multiple of 4", id="bad-length"),
        pytest.param("MII=BIjA", "'=' padding in the middle", id="padding-in-the-middle"),
        pytest.param("TWFu-_==", "the character '-'", id="base64url"),
        pytest.param("AAAA====", "not valid base64", id="too-much-padding"),
    ],
)
def test_bad_base64(value, words):
    record = parse_key_record(f"v=DKIM1; p={value}")
    assert not record.usable
    assert not record.revoked
    assert any(words in error for error in record.errors), record.errors


def test_valid_base64_that_is_not_a_key():
    record = parse_key_record(f"v=DKIM1; p={b64(b'not a key at all')}")
    assert not record.usable
    assert any("is not an RSA public key in DER form" in error for error in record.errors)


def test_a_key_cut_short(rsa2048):
    key = spki(rsa2048)
    record = parse_key_record(f"v=DKIM1; p={key[:200]}")
    assert not record.usable
    assert any("cut short" in error for error in record.errors)


# --- tags ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "words"),
    [
        pytest.param("k=rsa; v=DKIM1; p={key}", "'v=' must be the first tag", id="v-not-first"),
        pytest.param("v=DKIM2; p={key}", "'v=DKIM2', not 'v=DKIM1'", id="wrong-version"),
        pytest.param("v=dkim1; p={key}", "'v=dkim1', not 'v=DKIM1'", id="version-is-case-sensitive"),
        pytest.param("v=DKIM1; k=rsa", "no 'p=' tag", id="no-p"),
        pytest.param("v=DKIM1; p={key}; p={key}", "tag 'p' appears more than once", id="duplicate-p"),
        pytest.param("v=DKIM1; k=rsa; k=rsa; p={key}", "tag 'k' appears more than once", id="duplicate-k"),
        pytest.param("v=DKIM1; rsa; p={key}", "'rsa' is not a tag=value pair", id="no-equals"),
        pytest.param("v=DKIM1; 1x=y; p={key}", "'1x' is not a valid tag name", id="bad-tag-name"),
        pytest.param("v=DKIM1; =y; p={key}", "'' is not a valid tag name", id="empty-tag-name"),
        pytest.param("v=DKIM1; k=dsa; p={key}", "unknown key type 'k=dsa'", id="unknown-key-type"),
        pytest.param("v=DKIM1; k=; p={key}", "unknown key type 'k='", id="empty-key-type"),
        pytest.param("v=DKIM1; h=sha1; p={key}", "'h=' allows only sha1", id="sha1-only"),
        pytest.param("v=DKIM1; h=md5:sha512; p={key}", "'h=' allows only md5:sha512", id="unknown-hashes"),
        pytest.param("v=DKIM1; s=web; p={key}", "'s=web' does not include email", id="not-for-email"),
        pytest.param("v=DKIM1; n=caf\u00e9; p={key}", "tag 'n' has the character", id="non-ascii-value"),
    ],
)
def test_tag_errors_make_the_record_unusable(rsa1024, template, words):
    record = parse_key_record(template.format(key=spki(rsa1024)))
    assert not record.usable
    assert any(words in error for error in record.errors), record.errors


@pytest.mark.parametrize(
    "template",
    [
        "v=DKIM1; h=sha256; p={key}",
        "v=DKIM1; h=sha1:sha256; p={key}",
        "v=DKIM1; h = sha1 : SHA256 ; p={key}",
        "v=DKIM1; s=email; p={key}",
        "v=DKIM1; s=*; p={key}",
        "v=DKIM1; s=email:web; p={key}",
        "v=DKIM1; t=s; p={key}",
        "v=DKIM1; t=x:s; p={key}",
        "v=DKIM1; n=Notes with spaces, for humans; p={key}",
        "v=DKIM1; g=*; foo=bar; p={key};",
        "  v = DKIM1 ;  k = rsa ;  p = {key}  ;  ",
        "p={key}; k=RSA",
    ],
)
def test_valid_tags(rsa1024, template):
    record = parse_key_record(template.format(key=spki(rsa1024)))
    assert record.usable, record.errors
    assert record.warnings == ()


def test_parsed_tag_values(rsa1024):
    record = parse_key_record(f"v=DKIM1; h=SHA1:sha256; s=Email; t=s:y; n=hi there; p={spki(rsa1024)}")
    assert record.tag("v") == "DKIM1"
    assert record.tag("n") == "hi there"
    assert record.tag("x") is None
    assert record.hash_algorithms == ("sha1", "sha256")
    assert record.service_types == ("email",)
    assert record.flags == ("s", "y")
    assert [name for name, _ in record.tags] == ["v", "h", "s", "t", "n", "p"]


def test_testing_flag_is_a_warning(rsa1024):
    record = parse_key_record(f"v=DKIM1; t=y; p={spki(rsa1024)}")
    assert record.usable
    assert record.testing
    assert any("'t=y'" in warning for warning in record.warnings)


def test_tag_names_are_case_sensitive(rsa1024):
    record = parse_key_record(f"v=DKIM1; P={spki(rsa1024)}")
    assert not record.usable
    assert any("no 'p=' tag" in error for error in record.errors)
    assert any("'P=' is not 'p='" in warning for warning in record.warnings)


def test_an_empty_tag_between_separators_is_a_warning(rsa1024):
    record = parse_key_record(f"v=DKIM1;; k=rsa; p={spki(rsa1024)}")
    assert record.usable
    assert any("empty tag between two ';'" in warning for warning in record.warnings)


def test_a_revoked_record_with_errors_is_not_described_as_revoked():
    record = parse_key_record("v=DKIM2; p=")
    assert record.revoked
    assert not record.usable
    assert record.describe() == "unusable key record"


def test_describe_an_unusable_record_with_a_key(rsa1024):
    record = parse_key_record(f"v=DKIM1; h=sha1; p={spki(rsa1024)}")
    assert record.key_bits == 1024
    assert record.describe() == "unusable record with a 1024-bit RSA key"


# --- hostile input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        ";",
        "=",
        "==;==",
        "p",
        "p==",
        "v=",
        "\x00",
        "v=DKIM1\x00; p=",
        "\ufffd\ufffd",
        "p=\u00c4\u00d6\u00dc",
        "v=DKIM1; p=" + "A" * 70000,
        "v=DKIM1; p=" + b64(b"\x30\x82\xff\xff" + b"\x00" * 16),
        "v=DKIM1; p=" + b64(b"\x30\x80" + b"\x02\x01\x01" * 10),
        "v=DKIM1; k=ed25519; p=" + b64(b"\xff" * 32),
        "v=DKIM1; k=ed25519; p=" + b64(b"\x00" * 31),
        ";" * 1000,
        "a=" * 1000,
        "v=DKIM1; " + "x=y; " * 5000 + "p=",
    ],
)
def test_hostile_input_never_raises(text):
    record = parse_key_record(text)
    assert isinstance(record, DkimKeyRecord)
    assert not record.usable or record.key_bits is not None
    for message in (*record.errors, *record.warnings):
        assert len(message) < 400


def test_random_input_never_raises(rsa1024):
    key = spki(rsa1024)
    pieces = [
        "v=DKIM1",
        "v",
        "=",
        ";",
        " ",
        "\t",
        "p=",
        key[:40],
        key,
        "k=rsa",
        "k=ed25519",
        "h=",
        ":",
        "t=y",
        "\x00",
        "\u00e9",
        "==",
    ]
    rng = random.Random(20240601)
    for _ in range(500):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        record = parse_key_record(text)
        assert isinstance(record.errors, tuple)


def test_hostile_text_is_escaped_and_cut_in_messages():
    record = parse_key_record("v=" + "\x07" * 10 + "X" * 200 + "; p=")
    (error,) = [e for e in record.errors if "version" in e or "character" in e][:1]
    assert "\x07" not in error
    assert len(error) < 200


# --- the copy mistake --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("selector1-contoso-com._domainkey.contoso.onmicrosoft.com", True),
        ("selector1-contoso-com._domainkey.contoso.onmicrosoft.com.", True),
        ("Selector1-Contoso-Com._domainkey.Contoso.r-v1.dkim.mail.microsoft", True),
        (" selector2-a-example._domainkey.tenant.onmicrosoft.com ", True),
        ("v=DKIM1; p=", False),
        ("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA", False),
        ("", False),
        ("just words here", False),
        ("localhost", False),
    ],
)
def test_looks_like_host_name(text, expected):
    assert looks_like_host_name(text) is expected
