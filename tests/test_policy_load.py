"""Policy loading: every error is located (path:line:col: key.path: message) and actionable."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_mailflow.errors import PolicyError
from pytest_mailflow.plan import plan
from pytest_mailflow.policy.load import is_policy_text, load_policy, load_policy_text


def errors_of(text: str) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        load_policy_text(text, "p.yaml")
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "mailflow: 1\ndomains:\n  a.example:\n    expekt: {}\n",
            "p.yaml:4:5: domains.a.example.expekt: unknown key 'expekt' (did you mean 'expect'?)",
        ),
        (
            "mailflow: 1\ndomains:\n  a.example:\n    expect:\n      spf: {includes: [x.example]}\n",
            "p.yaml:5:13: domains.a.example.expect.spf.includes: unknown key 'includes' (did you mean 'include'?)",
        ),
        (
            "mailflow: 1\ndomains:\n  a.example:\n    scenario: baselin\n",
            "p.yaml:4:15: domains.a.example.scenario: unknown scenario 'baselin' (did you mean 'baseline'?)",
        ),
        (
            "mailflow: 1\ndomains:\n  a.example:\n    skip: [MF-SPF-030]\n",
            "p.yaml:4:12: domains.a.example.skip.0: unknown rule ID 'MF-SPF-030' (did you mean 'MF-SPF-0",
        ),
        (
            "mailflow: 1\ndomains:\n  a.example:\n    skip: [spf-003]\n",
            "p.yaml:4:12: domains.a.example.skip.0: 'spf-003' is not a rule ID (they look like MF-SPF-003)",
        ),
        (
            "mailflow: 1\ndomains:\n  a.example:\n    cloud: gcc-hi\n",
            "p.yaml:4:12: domains.a.example.cloud: 'gcc-hi' is not one of: worldwide, gcc-high, dod, 21vianet "
            "(did you mean 'gcc-high'?)",
        ),
        (
            "mailflow: 1\ndomains:\n  a.example:\n    expect:\n      mx: {hosts: [{host: mx.a.example, priority: high}]}\n",
            "p.yaml:5:51: domains.a.example.expect.mx.hosts.0.priority: expected an integer, got a string ('high')",
        ),
        (
            "mailflow: 2\ndomains:\n  a.example: {}\n",
            "p.yaml:1:11: mailflow: unsupported policy schema version 2; this pytest-mailflow reads version 1",
        ),
        ("mailflow: 1\n", "p.yaml:1:1: missing required key 'domains'"),
        (
            "mailflow: 1\ndomains:\n  a.example: {}\n  A.Example: {}\n",
            "p.yaml:4:3: domains.A.Example: duplicate domain 'a.example' (also at line 3)",
        ),
        (
            "mailflow: 1\ndomains:\n  a.example: {}\n  a.example: {}\n",
            "p.yaml:4:3: domains.a.example: duplicate key 'a.example' (first defined at line 3)",
        ),
        ("mailflow: 1\ndomains:\n  not_a..domain: {}\n", "p.yaml:3:3: domains.not_a..domain: "),
        ("mailflow: 1\ndomains:\n  192.0.2.1: {}\n", "'192.0.2.1' is an IP address, not a domain name"),
        ("mailflow: 1\ndomains:\n  localhost: {}\n", "'localhost' has a single label"),
        (
            "mailflow: 1\ndomains:\n  a.example:\n    expect: {spf: {must_pass: [300.1.1.1]}}\n",
            "domains.a.example.expect.spf.must_pass.0: '300.1.1.1' is not an IPv4 or IPv6 address",
        ),
        (
            "mailflow: 1\ndomains:\n  a.example:\n    scenario: custom\n",
            "p.yaml:3:3: domains.a.example: scenario 'custom' needs a 'rules' list",
        ),
        (
            "mailflow: 1\ndomains:\n  a.example:\n    rules: [MF-MX-001]\n",
            "'rules' is only for scenario 'custom'; to drop rules from 'baseline' use 'skip'",
        ),
        (
            "mailflow: 1\ndomains:\n  a.example:\n    expect: {mx: {null_mx: true, hosts: [mx.a.example]}}\n",
            "'null_mx: true' (no mail accepted) contradicts a list of MX hosts",
        ),
        ("mailflow: 1\ndomains: [a.example\n", "p.yaml:3:1: YAML syntax error"),
        (
            "mailflow: 1\ndomains: !!python/object:os.system {}\n",
            "p.yaml:2:10: domains: tag tag:yaml.org,2002:python/object:os.system is not allowed here",
        ),
        (
            "mailflow: 1\ndomains:\n  a.example:\n    description: !!python/name:os.system\n",
            "tag tag:yaml.org,2002:python/name:os.system is not allowed",
        ),
        ("- mailflow: 1\n", "a policy file must be a mapping"),
        (
            "mailflow: '1'\ndomains: {a.example: {}}\n",
            "p.yaml:1:11: mailflow: write the schema version as a number: mailflow: 1",
        ),
        (
            "mailflow: 1\ndomains:\n  a.example: {tenant: contoso.onmicrosoft.com}\n",
            "is not a tenant name: give the first label",
        ),
        ("mailflow: 1\ndomains: {}\n", "p.yaml:2:10: domains: must not be empty"),
        (
            "mailflow: 1\ndomains:\n  a.example:\n    expect: {spf: {include: ['include:spf.example.com']}}\n",
            "'include:spf.example.com' is not a domain name; write the name alone (without 'include:'",
        ),
        (
            "mailflow: 1\ndomains:\n  a.example:\n    expect: {spf: {must_pass: [192.0.2.1], must_fail: [192.0.2.1]}}\n",
            "192.0.2.1 is listed in both must_pass and must_fail",
        ),
        (
            "mailflow: 1\ndomains:\n  a.example:\n    expect: {mx: {hosts: ['bad..host']}}\n",
            "domains.a.example.expect.mx.hosts.0: 'bad..host' is not a valid domain name",
        ),
        (
            "mailflow: 1\n---\nmailflow: 1\n",
            "YAML syntax error: expected a single document in the stream but found another document",
        ),
    ],
)
def test_errors_are_located_and_actionable(text: str, expected: str) -> None:
    found = errors_of(text)
    assert any(expected in message for message in found), found


def test_every_problem_in_a_file_is_reported() -> None:
    found = errors_of("mailflow: 1\ndomains:\n  a.example:\n    expekt: {}\n  b.example:\n    cloud: mars\n")
    assert len(found) == 2
    assert found[0].startswith("p.yaml:4:5:") and found[1].startswith("p.yaml:6:12:")


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ["mailflow: 1", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join(['*a' + str(i - 1)] * 10)}]" for i in range(1, 9)]
    lines.append("domains: {a.example: {}}")
    found = errors_of("\n".join(lines) + "\n")
    assert any("alias bomb" in message for message in found)


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"mailflow: 1\ndomains:\n  caf\xe9.example: {}\n")
    with pytest.raises(PolicyError) as caught:
        load_policy(path, "bad.yaml")
    # Located at the first byte that is not UTF-8 (line 3, column 6), saying what to do.
    assert "bad.yaml:3:6: the file is not UTF-8 text (byte 0xe9: invalid continuation byte); save it as UTF-8" in str(
        caught.value
    )


def test_defaults_merge_and_locations() -> None:
    policy = load_policy_text(
        "mailflow: 1\n"
        "defaults:\n"
        "  skip: [MF-SPF-007]\n"
        "  expect:\n"
        "    spf:\n"
        "      must_fail: [198.51.100.7]\n"
        "      all: ['-all']\n"
        "domains:\n"
        "  b.example:\n"
        "    expect:\n"
        "      spf:\n"
        "        all: ['~all', '-all']\n"
        "  a.example: ~\n",
        "p.yaml",
    )
    a, b = policy.domains  # sorted by name
    assert (a.name, b.name) == ("a.example", "b.example")
    assert a.expect.spf.all == ("-all",) and a.line_of(("spf", "all")) == 7
    assert b.expect.spf.all == ("~all", "-all") and b.line_of(("spf", "all")) == 12
    assert b.expect.spf.must_fail == ("198.51.100.7",) and b.line_of(("spf", "must_fail")) == 6
    ids = [check.name for check in plan(a)]
    assert "MF-SPF-007" not in ids
    assert "MF-SPF-011[198.51.100.7]" in ids and not [i for i in ids if i.startswith("MF-SPF-010")]


def test_custom_scenario_applies_exactly_its_rules() -> None:
    policy = load_policy_text(
        "mailflow: 1\ndomains:\n  a.example:\n    scenario: custom\n    rules: [MF-SPF-001, MF-MX-004]\n", "p.yaml"
    )
    assert [check.name for check in plan(policy.domains[0])] == ["MF-MX-004", "MF-SPF-001"]


@pytest.mark.parametrize(
    ("text", "is_policy"),
    [
        ("mailflow: 1\ndomains: {}\n", True),
        ("# comment\nmailflow: 1\n", True),
        ('"mailflow": 1\n', True),
        ("mailflow_cassette: 1\n", False),
        ("jobs:\n  mailflow: 1\n", False),
        ("name: ci\n", False),
    ],
)
def test_policy_detection(text: str, is_policy: bool) -> None:
    assert is_policy_text(text) is is_policy


def test_dkim_targets_name_declared_selectors() -> None:
    found = errors_of(
        "mailflow: 1\ndomains:\n  a.example:\n    expect: {dkim: {selectors: [selector1], targets: {selector2: x.example}}}\n"
    )
    assert found == [
        "p.yaml:4:54: domains.a.example.expect.dkim.targets: target given for selector 'selector2', "
        "which is not in dkim.selectors (add it there)"
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            'expect: {dkim: {selectors: [selector1], targets: {selector1: "not a host..name"}}}',
            "domains.a.example.expect.dkim.targets.selector1: 'not a host..name' is not a valid domain name",
        ),
        (
            'expect: {dmarc: {rua: ["not an address"]}}',
            "domains.a.example.expect.dmarc.rua.0: 'not an address' is not a report address",
        ),
        (
            'params: {reports: {rua: ["mailto:dmarc"]}}',
            "domains.a.example.params.reports.rua.0: 'mailto:dmarc' is not a report address",
        ),
        ('expect: {dkim: {selectors: ["bad selector"]}}', "'bad selector' is not a DKIM selector"),
    ],
)
def test_expectation_values_are_checked(body: str, expected: str) -> None:
    found = errors_of(f"mailflow: 1\ndomains:\n  a.example:\n    {body}\n")
    assert any(expected in message for message in found), found


def test_names_differing_only_in_case_are_one_test() -> None:
    policy = load_policy_text(
        "mailflow: 1\ndomains:\n  a.example:\n    expect:\n"
        "      spf: {include: [Spf.Example.com, spf.example.com.]}\n"
        "      dkim: {selectors: [Selector1, selector1], targets: {Selector1: x.example}}\n",
        "p.yaml",
    )
    names = [check.name for check in plan(policy.domains[0])]
    assert names.count("MF-SPF-008[spf.example.com]") == 1
    assert names.count("MF-DKIM-001[selector1]") == 1


def test_yaml_errors_say_where_the_bracket_was_opened() -> None:
    found = errors_of(
        "mailflow: 1\ndomains:\n  a.example:\n    expect:\n      mx:\n        hosts: [mail.a.example\n      spf: {}\n"
    )
    assert found == [
        "p.yaml:7:10: YAML syntax error: while parsing a flow sequence expected ',' or ']', but got ':' "
        "(opened at line 6, column 16)"
    ]


def test_yaml_from_a_libyaml_composer_without_tags_is_read_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # After pytester's in-process runs re-import the yaml package, libyaml builds nodes whose tags the
    # new resolver leaves empty; such a tree must not reach the policy reader.
    import yaml

    from pytest_mailflow.yamlload import load_located

    base = getattr(yaml, "CSafeLoader", None)
    if base is None:
        pytest.skip("PyYAML without libyaml")

    class Untagged(base):  # type: ignore[misc,valid-type]
        def resolve(self, kind: object, value: object, implicit: object) -> None:
            return None

    monkeypatch.setattr(yaml, "CSafeLoader", Untagged)
    located = load_located("mailflow: 1\ndomains: {a.example: {}}\n", "p.yaml")
    assert located.data == {"mailflow": 1, "domains": {"a.example": {}}}
