"""The ``mailflow`` command: rules, explain, schema, init (scenario detection, cassettes) and the CI recipes."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_mailflow import __version__, cli
from pytest_mailflow.dns.cassette import Cassette
from pytest_mailflow.policy.load import load_policy, load_policy_text, policy_schema
from pytest_mailflow.rules import REGISTRY, all_rules
from pytest_mailflow.rulesdoc import render
from tests.support.faultserver import BehaviourSpec, FaultServer

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SCENARIOS = EXAMPLES / "scenarios"
CI = EXAMPLES / "ci"
ZONES = str(EXAMPLES / "zones")
CASSETTES = str(EXAMPLES / "cassettes")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str, command: str = "init") -> str:
    """The error output is exactly one line, from the command, without a traceback."""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"mailflow {command}: error: "), err
    assert "Traceback" not in err
    return lines[0]


def zone(folder: Path, domain: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{domain}.zone"
    head = f"$ORIGIN {domain}.\n$TTL 3600\n@ SOA ns1.{domain}. hostmaster.{domain}. 1 3600 600 1209600 3600\n@ NS ns1.{domain}.\n"
    path.write_text(head + textwrap.dedent(body).strip() + "\n", encoding="utf-8")
    return path


def written_policy(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def domain_block(text: str, domain: str) -> str:
    """The lines of one domain's entry in a written policy (comments included)."""
    match = re.search(rf"^  {re.escape(domain)}:\n((?:    .*\n|  +#.*\n)*)", text, re.MULTILINE)
    assert match, text
    return match.group(1)


# --- mailflow rules -----------------------------------------------------------------------------


def test_rules_lists_every_rule_on_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "rules")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert len(lines) == len(REGISTRY)
    for line, rule in zip(lines, all_rules(), strict=True):
        assert re.fullmatch(rf"{rule.id} +{rule.severity} +{re.escape(rule.title)}", line), line


def test_rules_by_family(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "rules", "--family", "DKIM")
    assert code == 0
    ids = [line.split()[0] for line in out.splitlines()]
    assert ids == sorted(r.id for r in all_rules() if r.family == "dkim")
    assert ids and all(i.startswith("MF-DKIM-") for i in ids)


def test_rules_unknown_family_suggests(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "rules", "--family", "dkm")
    assert (code, out) == (2, "")
    line = one_error_line(err, "rules")
    assert "unknown family 'dkm' (did you mean 'dkim'?)" in line
    assert "known: mx, spf, dkim, dmarc" in line


def test_rules_markdown_is_the_generated_index(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "rules", "--format", "markdown")
    assert code == 0
    assert out == render()


def test_rules_markdown_for_one_family(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "rules", "--family", "spf", "--format", "markdown")
    assert code == 0
    spf = sorted(r.id for r in all_rules() if r.family == "spf")
    assert re.findall(r"^### (MF-\S+)$", out, re.MULTILINE) == spf
    assert re.findall(r"^\| \[(MF-[^\]]+)\]", out, re.MULTILINE) == spf
    assert re.findall(r"^## (.+)$", out, re.MULTILINE) == ["SPF"]
    assert out.startswith("# Rule index\n")
    # Every line comes from the generated index: nothing about a rule is written twice.
    full = render().splitlines()
    assert all(line in full for line in out.splitlines())


# --- mailflow explain ---------------------------------------------------------------------------


def test_explain_shows_everything_about_a_rule(capsys: pytest.CaptureFixture[str]) -> None:
    rule = REGISTRY["MF-SPF-008"]
    code, out, _ = run(capsys, "explain", "mf-spf-008")
    assert code == 0
    assert out.startswith(f"MF-SPF-008: {rule.title}\n")
    flat = " ".join(out.split())
    for text in (
        rule.rationale,
        rule.remediation,
        *(r.title for r in rule.references),
        *(r.url for r in rule.references),
    ):
        assert " ".join(text.split()) in flat
    assert re.search(r"^  family: +spf \(SPF\)$", out, re.MULTILINE)
    assert re.search(rf"^  severity: +{rule.severity}$", out, re.MULTILINE)
    assert "policy keys: expect.spf.include" in out
    # The scenarios whose own expectations run it; the others run it when the policy asks for an include.
    scenarios_line = re.search(r"^  scenarios: +(.*(?:\n {15}.*)*)", out, re.MULTILINE)
    assert scenarios_line
    listed = scenarios_line.group(1).split()
    assert "cloud-only," in listed and "third-party-filter-hybrid" in listed[-1]
    assert not {"baseline,", "parked,"} & set(listed)
    assert "also: in any other scenario, when the policy declares expect.spf.include" in flat
    assert "pytest --mailflow policies/ -m \"mailflow(rule='MF-SPF-008')\"" in out
    assert "docs/rules.md#mf-spf-008" in out


def test_explain_a_rule_that_needs_the_fetch_option(capsys: pytest.CaptureFixture[str]) -> None:
    rule = next(r for r in all_rules() if r.needs_fetch)
    code, out, _ = run(capsys, "explain", rule.id)
    assert code == 0
    assert "--mailflow-fetch-mta-sts" in out


def test_explain_a_connector_rule_names_its_scenarios(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "explain", "MF-CONN-022")
    assert code == 0
    assert re.search(r"^  scenarios: +third-party-archive$", out, re.MULTILINE), out


def test_explain_unknown_rule_suggests(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "explain", "MF-SPF-08")
    assert (code, out) == (2, "")
    line = one_error_line(err, "explain")
    assert "unknown rule ID 'MF-SPF-08' (did you mean 'MF-SPF-008'?)" in line
    code, _, err = run(capsys, "explain", "nothing-like-it")
    assert code == 2
    assert "did you mean" not in one_error_line(err, "explain")


# --- mailflow schema ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "shipped"),
    [
        ("policy", "pytest_mailflow/policy/policy.schema.json"),
        ("cassette", "pytest_mailflow/dns/cassette.schema.json"),
        ("tenant-export", "pytest_mailflow/tenant/tenant-export.schema.json"),
    ],
)
def test_schema_prints_the_shipped_schema(capsys: pytest.CaptureFixture[str], kind: str, shipped: str) -> None:
    code, out, _ = run(capsys, "schema", "--kind", kind)
    assert code == 0
    assert json.loads(out) == json.loads((ROOT / shipped).read_text(encoding="utf-8"))


def test_schema_defaults_to_the_policy_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schema")
    assert code == 0
    assert json.loads(out) == policy_schema()


def test_schema_unknown_kind_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "schema", "--kind", "zone")
    assert (code, out) == (2, "")
    assert "invalid choice: 'zone'" in err


# --- the command itself -------------------------------------------------------------------------


def test_usage_errors_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys)
    assert code == 2
    assert "the following arguments are required: COMMAND" in err
    code, out, _ = run(capsys, "--version")
    assert (code, out) == (0, f"mailflow (pytest-mailflow) {__version__}\n")
    code, out, _ = run(capsys, "--help")
    assert code == 0
    assert all(command in out for command in ("rules", "explain", "schema", "init"))


def test_python_dash_m_runs_the_command_without_pytest() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest_mailflow", "explain", "MF-MX-001"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("MF-MX-001: ")
    # No pytest in the command: with pytest unimportable, init still writes a policy.
    script = (
        "import sys; sys.modules['pytest'] = None\n"
        "from pytest_mailflow.cli import main\n"
        f"sys.exit(main(['init', 'contoso.example', '--zones', {ZONES!r}, '--cassettes', {CASSETTES!r}]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "scenario: cloud-only" in done.stdout
    done = subprocess.run(
        [sys.executable, "-m", "pytest_mailflow", "explain", "MF-NOPE-001"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert done.stderr.startswith("mailflow explain: error: unknown rule ID") and "Traceback" not in done.stderr


# --- mailflow init: the examples ----------------------------------------------------------------


def test_init_from_the_example_zones(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(
        capsys,
        "init",
        "contoso.example",
        "Fabrikam.Example.",
        "old-brand.example",
        "--zones",
        ZONES,
        "--fallback",
        "cassette",
        "--cassettes",
        CASSETTES,
        "-o",
        "policies/mail.yaml",
    )
    assert (code, err) == (0, ""), err
    assert out.splitlines() == [
        "wrote policies/mail.yaml",
        "  contoso.example: cloud-only (tenant contoso)",
        "  fabrikam.example: hybrid-mx-on-premises-relay (guess, tenant unknown)",
        "  old-brand.example: parked",
    ]
    text = (tmp_path / "policies" / "mail.yaml").read_text(encoding="utf-8")
    policy = load_policy_text(text, "policies/mail.yaml")
    found = {d.name: d for d in policy.domains}
    assert {name: d.scenario for name, d in found.items()} == {
        "contoso.example": "cloud-only",
        "fabrikam.example": "hybrid-mx-on-premises-relay",
        "old-brand.example": "parked",
    }
    assert found["contoso.example"].tenant == "contoso"  # from selector1's CNAME, not from the MX token
    assert found["fabrikam.example"].tenant is None
    fabrikam = written_policy(tmp_path / "policies" / "mail.yaml")["domains"]["fabrikam.example"]
    assert fabrikam["params"]["on_premises"] == {"mx": ["mail.fabrikam.example"], "egress": ["203.0.113.10"]}
    assert fabrikam["params"]["reports"] == {"rua": ["mailto:dmarc@fabrikam.example"]}
    block = domain_block(text, "fabrikam.example")
    assert re.search(r"# Guess: .*\n(?:    #.*\n)*    scenario: hybrid-mx-on-premises-relay\n", block), block
    assert "docs/scenarios.md" in block
    assert re.search(r"# guess: the single addresses in SPF.*\n +egress: \[203\.0\.113\.10\]", block), block
    assert "    # tenant: <tenant>\n" in block
    contoso = domain_block(text, "contoso.example")
    assert "guess" not in contoso.lower()
    assert "selector1-contoso-example._domainkey.contoso.onmicrosoft.com" in contoso
    assert "params" not in domain_block(text, "old-brand.example")
    assert text.startswith("# Starter mail-flow policy written by `mailflow init` from the zone files in ")
    assert (
        f"# Run it:     pytest --mailflow policies/mail.yaml --mailflow-zones {ZONES} --mailflow-fallback cassette"
        in text
    )
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == ["policies", "policies/mail.yaml"]


def test_init_writes_to_stdout_without_output(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(
        capsys, "init", "old-brand.example", "contoso.example", "--zones", ZONES, "--cassettes", CASSETTES
    )
    assert (code, err) == (0, "")
    policy = load_policy_text(out, "stdout.yaml")
    assert [(d.name, d.scenario) for d in policy.domains] == [
        ("contoso.example", "cloud-only"),
        ("old-brand.example", "parked"),
    ]
    assert out.index("old-brand.example:") < out.index("contoso.example:")  # the order given
    assert list(tmp_path.iterdir()) == []


def test_recorded_cassettes_run_under_pytest(pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys,
        "init",
        "contoso.example",
        "fabrikam.example",
        "old-brand.example",
        "--zones",
        ZONES,
        "--cassettes",
        CASSETTES,
        "-o",
        "policies/mail.yaml",
        "--record-cassettes",
    )
    assert (code, err) == (0, ""), err
    names = ["contoso.example.yaml", "fabrikam.example.yaml", "old-brand.example.yaml"]
    assert out.splitlines()[-3:] == [f"wrote policies/cassettes/{n}" for n in names]
    folder = pytester.path / "policies" / "cassettes"
    assert sorted(p.name for p in folder.iterdir()) == names
    for name in names:
        assert Cassette.load(folder / name).domain == name.removesuffix(".yaml")
    assert "# Run it:     pytest --mailflow policies/mail.yaml --mailflow-zones" in (
        pytester.path / "policies" / "mail.yaml"
    ).read_text(encoding="utf-8")
    # Replay: every check is judged (no error), and only fabrikam's missing Microsoft 365 DKIM fails.
    for extra in ((), ("--mailflow-zones", ZONES, "--mailflow-fallback", "cassette")):
        result = pytester.runpytest("--mailflow", "policies", "-p", "no:cacheprovider", *extra)
        outcomes = result.parseoutcomes()
        assert "errors" not in outcomes and "error" not in outcomes, result.stdout.str()
        assert outcomes["passed"] > 90
        failed = [line for line in result.outlines if line.startswith("FAILED ")]
        assert failed and all("::fabrikam.example::MF-DKIM-" in line for line in failed), failed


def test_init_refuses_to_overwrite_without_force(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["init", "old-brand.example", "--zones", ZONES, "--cassettes", CASSETTES, "-o", "p/mail.yaml"]
    assert run(capsys, *args)[0] == 0
    policy = tmp_path / "p" / "mail.yaml"
    policy.write_text("# mine\n", encoding="utf-8")
    code, _, err = run(capsys, *args)
    assert code == 2
    assert one_error_line(err) == "mailflow init: error: p/mail.yaml exists; give --force to overwrite it"
    assert policy.read_text(encoding="utf-8") == "# mine\n"
    # A cassette in the way is refused before anything is written.
    cassette = tmp_path / "p" / "cassettes" / "old-brand.example.yaml"
    cassette.parent.mkdir()
    cassette.write_text("# mine\n", encoding="utf-8")
    code, _, err = run(capsys, *args[:-2], "-o", "p/other.yaml", "--record-cassettes")
    assert code == 2
    assert one_error_line(err).endswith("p/cassettes/old-brand.example.yaml exists; give --force to overwrite it")
    assert not (tmp_path / "p" / "other.yaml").exists()
    code, _, err = run(capsys, *args, "--record-cassettes", "--force")
    assert (code, err) == (0, "")
    assert "scenario: parked" in policy.read_text(encoding="utf-8")
    assert Cassette.load(cassette).domain == "old-brand.example"


def test_init_writes_only_into_the_output_folder(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    target = tmp_path / "elsewhere" / "deep" / "mail.yaml"
    code, out, err = run(
        capsys,
        "init",
        "contoso.example",
        "--zones",
        ZONES,
        "--cassettes",
        CASSETTES,
        "-o",
        str(target),
        "--record-cassettes",
    )
    assert (code, err) == (0, ""), err
    assert out.splitlines()[0] == f"wrote {target.as_posix()}"
    assert list(work.iterdir()) == []
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == [
        "elsewhere/deep/cassettes/contoso.example.yaml",
        "elsewhere/deep/mail.yaml",
    ]


# --- mailflow init: errors ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["bad..example"], "'bad..example' is not a valid domain name"),
        (["192.0.2.1"], "'192.0.2.1' is an IP address, not a domain name"),
        (["mailhost"], "'mailhost' has a single label"),
        (["contoso.example", "--zones", "no/such/zones"], "--zones: no/such/zones: no such file or folder"),
        (["contoso.example", "--nameserver", "ns1.example"], "--nameserver 'ns1.example' is not ADDR[:PORT]"),
        (["contoso.example", "--fallback", "live"], "--fallback only applies with --zones"),
        (["contoso.example", "--cassettes", CASSETTES, "--nameserver", "127.0.0.1"], "give one of them"),
        (["contoso.example", "--zones", ZONES, "--record-cassettes"], "--record-cassettes writes cassettes/"),
        (["contoso.example", "--zones", ZONES, "-o", "mail.txt"], "a policy file ends in .yaml or .yml"),
        (["contoso.example", "--zones", ZONES, "--scenario", "cloud-onyl"], "(did you mean 'cloud-only'?)"),
        (["contoso.example", "--zones", ZONES, "--scenario", "custom"], "scenario 'custom' needs a list of rules"),
        (["contoso.example", "--zones", ZONES, "--timeout", "0"], "--timeout must be a positive number"),
        (
            ["nothere.example", "--zones", ZONES, "--cassettes", CASSETTES],
            "nothere.example: no recorded answers (expected ",
        ),
        (
            ["old-brand.example", "--zones", ZONES, "--scenario", "third-party-filter"],
            "old-brand.example: scenario 'third-party-filter' needs params.third_party.mx, which its DNS does not show",
        ),
        (["contoso.example", "--zones", ZONES, "--tenant-export", str(ROOT / "README.md")], "not valid JSON"),
    ],
)
def test_init_errors_are_one_line(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "init", *argv)
    assert (code, out) == (2, "")
    assert message in one_error_line(err)
    assert list(tmp_path.iterdir()) == []


def test_init_unusable_zone_folder(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "zones").mkdir()
    (tmp_path / "zones" / "README.txt").write_text("no zones here\n", encoding="utf-8")
    code, _, err = run(capsys, "init", "contoso.example", "--zones", "zones")
    assert code == 2
    assert one_error_line(err) == (
        "mailflow init: error: --zones: zones: no zone files in this folder (*.zone, *.db, db.*, octoDNS *.yaml)"
    )


def test_init_unreachable_name_server_fails_fast(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with FaultServer({}, default="timeout") as server:
        code, out, err = run(
            capsys,
            "init",
            "contoso.example",
            "--nameserver",
            f"127.0.0.1:{server.port}",
            "--timeout",
            "0.2",
            "--retries",
            "0",
            "-o",
            "mail.yaml",
        )
        asked = server.queries
    assert (code, out) == (2, "")
    assert one_error_line(err) == (
        f"mailflow init: error: contoso.example: could not determine contoso.example. MX: TIMEOUT "
        f"(TIMEOUT from 127.0.0.1:{server.port}) [live DNS]"
    )
    assert [(q.name, q.rdtype) for q in asked] == [("contoso.example.", "MX")]  # nothing else was asked
    assert list(tmp_path.iterdir()) == []


def test_init_nonexistent_domain(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with FaultServer({}, default="nxdomain") as server:
        code, _, err = run(capsys, "init", "typo.example", "--nameserver", f"127.0.0.1:{server.port}")
    assert code == 2
    assert "typo.example: the domain does not exist (NXDOMAIN)" in one_error_line(err)


# --- mailflow init: live DNS and detection ------------------------------------------------------

LIVE_RECORDS: dict[str, dict[str, list[str]]] = {
    # The new DKIM form names the tenant too; the MX token (litware-example) does not.
    "litware.example.": {
        "MX": ["0 litware-example.k-v1.mx.microsoft."],
        "TXT": ['"v=spf1 include:spf.protection.outlook.com -all"', '"MS=ms12345678"'],
    },
    "selector1._domainkey.litware.example.": {
        "CNAME": ["selector1-litware-example._domainkey.lw365.k-v1.dkim.mail.microsoft."]
    },
    "autodiscover.litware.example.": {"CNAME": ["autodiscover.outlook.com."]},
    "_dmarc.litware.example.": {"TXT": ['"v=DMARC1; p=reject; rua=mailto:d@litware.example"']},
    "spf.protection.outlook.com.": {"TXT": ['"v=spf1 ip4:40.107.0.0/16 -all"']},
    # GCC High: the MX, SPF include and autodiscover are the US government cloud's.
    "agency.example.": {
        "MX": ["0 agency-example.mail.protection.office365.us."],
        "TXT": ['"v=spf1 include:spf.protection.office365.us -all"'],
    },
    "autodiscover.agency.example.": {"CNAME": ["autodiscover.office365.us."]},
    "moe.example.": {
        "MX": ["0 moe-example.mail.protection.office365.us."],
        "TXT": ['"v=spf1 include:spf.protection.office365.us -all"'],
    },
    "spf.protection.office365.us.": {"TXT": ['"v=spf1 ip4:20.140.0.0/16 -all"']},
    # MX elsewhere, SPF with an IPv6 egress address: on-premises, relaying through Exchange Online.
    "tailwind.example.": {
        "MX": ["10 smtp.tailwind.example.", "20 smtp2.tailwind.example."],
        "TXT": ['"v=spf1 ip6:2001:db8::25 ip4:203.0.113.0/28 include:spf.protection.outlook.com ~all"'],
    },
    "smtp.tailwind.example.": {"A": ["203.0.113.5"]},
    "smtp2.tailwind.example.": {"A": ["203.0.113.6"]},
}


def test_init_from_live_dns_and_record(pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    with FaultServer(LIVE_RECORDS, default="nxdomain") as server:
        code, out, err = run(
            capsys,
            "init",
            "litware.example",
            "agency.example",
            "tailwind.example",
            "moe.example",
            "--nameserver",
            f"127.0.0.1:{server.port}",
            "-o",
            "mail.yaml",
            "--record-cassettes",
        )
    assert (code, err) == (0, ""), err
    assert out.splitlines()[1:5] == [
        "  litware.example: cloud-only (tenant lw365)",
        "  agency.example: cloud-only (tenant unknown, cloud gcc-high)",
        "  tailwind.example: hybrid-mx-on-premises-relay (guess, tenant unknown)",
        "  moe.example: cloud-only (tenant unknown, cloud gcc-high)",
    ]
    text = (pytester.path / "mail.yaml").read_text(encoding="utf-8")
    policy = load_policy(pytester.path / "mail.yaml", "mail.yaml")
    found = {d.name: d for d in policy.domains}
    assert found["litware.example"].tenant == "lw365"
    assert found["agency.example"].cloud == "gcc-high"
    assert (
        "# cloud: from MX agency-example.mail.protection.office365.us, SPF include:spf.protection.office365.us," in text
    )
    assert "# cloud: guess: MX moe-example.mail.protection.office365.us" in text  # no autodiscover: GCC High or DoD
    assert found["moe.example"].cloud == "gcc-high"
    tailwind = written_policy(pytester.path / "mail.yaml")["domains"]["tailwind.example"]
    assert tailwind["params"]["on_premises"] == {
        "mx": ["smtp.tailwind.example", "smtp2.tailwind.example"],
        "egress": ["2001:db8::25"],
    }
    assert '"2001:db8::25"' in text  # quoted: a plain IPv6 address is not safe YAML in a flow list
    assert "203.0.113.0/28, which params cannot name" in " ".join(domain_block(text, "tailwind.example").split())
    assert "# Run it:     pytest --mailflow mail.yaml\n" in text
    result = pytester.runpytest("--mailflow", "mail.yaml", "-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    assert "errors" not in outcomes and "error" not in outcomes, result.stdout.str()
    assert outcomes["passed"] > 50


def test_detection_edges_from_zone_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    zones = tmp_path / "zones"
    zone(zones, "nomx.example", '@ TXT "v=spf1 -all"')  # no MX at all, sends nothing
    zone(zones, "sendonly.example", '@ MX 0 .\n@ TXT "v=spf1 include:spf.protection.outlook.com -all"')
    zone(
        zones,
        "moving.example",
        """
        @ MX 0 moving-example.mail.protection.outlook.com.
        @ MX 10 mx.oldhost.example.
        @ TXT "v=spf1 include:spf.protection.outlook.com -all"
        """,
    )
    zone(
        zones,
        "plain.example",
        '@ MX 10 mail.plain.example.\nmail A 192.0.2.25\n@ TXT "v=spf1 mx include:_spf.mailer.example -all"',
    )
    zone(
        zones,
        "filtered.example",
        """
        @ MX 10 in.filter.example.
        @ TXT "v=spf1 include:spf.protection.outlook.com -all"
        selector1._domainkey CNAME selector1-filtered-example._domainkey.filt.onmicrosoft.com.
        """,
    )
    names = ["nomx.example", "sendonly.example", "moving.example", "plain.example", "filtered.example"]
    code, _, err = run(capsys, "init", *names, "--zones", "zones", "--fallback", "none", "-o", "mail.yaml")
    assert (code, err) == (0, ""), err
    text = (tmp_path / "mail.yaml").read_text(encoding="utf-8")
    policy = load_policy_text(text, "mail.yaml")
    assert {d.name: d.scenario for d in policy.domains} == {
        "nomx.example": "parked",
        "sendonly.example": "baseline",
        "moving.example": "cloud-only",
        "plain.example": "baseline",
        "filtered.example": "third-party-filter",
    }
    assert "expects a null MX" in domain_block(text, "nomx.example")
    assert "cloud-only-migration" in domain_block(text, "moving.example")
    plain = written_policy(tmp_path / "mail.yaml")["domains"]["plain.example"]
    assert plain["expect"] == {"mx": {"hosts": ["mail.plain.example"]}, "spf": {"include": ["_spf.mailer.example"]}}
    assert "guess" not in domain_block(text, "plain.example").lower()
    filtered = written_policy(tmp_path / "mail.yaml")["domains"]["filtered.example"]
    assert filtered["tenant"] == "filt"
    assert filtered["params"]["third_party"] == {"mx": ["in.filter.example"]}


def test_forced_scenario_keeps_params_it_can_fill(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(
        capsys,
        "init",
        "fabrikam.example",
        "--zones",
        ZONES,
        "--cassettes",
        CASSETTES,
        "--scenario",
        "hybrid-mx-on-premises-cmt",
    )
    assert (code, err) == (0, "")
    entry = written_policy_text(out)["domains"]["fabrikam.example"]
    assert entry["scenario"] == "hybrid-mx-on-premises-cmt"
    assert entry["params"]["on_premises"] == {"mx": ["mail.fabrikam.example"], "egress": ["203.0.113.10"]}
    assert "Scenario chosen with --scenario hybrid-mx-on-premises-cmt." in out
    load_policy_text(out, "out.yaml")


def written_policy_text(text: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(text)
    return data


#: The scenario examples: what init detects from their zones alone, and with their tenant export.
DETECTED = {
    # policy file: (detected from DNS alone, detected with the tenant export)
    "cloud-only.yaml": ("cloud-only", "cloud-only"),
    "cloud-only-migration.yaml": ("cloud-only", "cloud-only"),  # the old provider is gone from DNS
    "device-sending.yaml": ("device-sending", "device-sending"),
    "eop-standalone.yaml": ("eop-standalone", "eop-standalone"),
    "hybrid-mx-m365.yaml": ("hybrid-mx-m365", "hybrid-mx-m365"),
    "hybrid-mx-m365-cmt.yaml": ("hybrid-mx-m365", "hybrid-mx-m365-cmt"),
    "hybrid-mx-on-premises-cmt.yaml": ("hybrid-mx-on-premises-relay", "hybrid-mx-on-premises-cmt"),
    "hybrid-mx-on-premises-relay.yaml": ("hybrid-mx-on-premises-relay", "hybrid-mx-on-premises-relay"),
    "third-party-filter.yaml": ("third-party-filter", "third-party-filter"),
    "third-party-filter-hybrid.yaml": ("third-party-filter-hybrid", "third-party-filter-hybrid"),
    "third-party-archive.yaml": ("third-party-archive", "third-party-archive"),
    "parked.yaml": ("parked", "parked"),
}


@pytest.mark.parametrize("name", sorted(DETECTED))
def test_detection_on_the_scenario_examples(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.chdir(SCENARIOS)
    example = load_policy(SCENARIOS / name, name)
    domains = [d.name for d in example.domains]
    export = next((d.tenant_export for d in example.domains if d.tenant_export), None)
    base = ["init", *domains, "--zones", "zones", "--cassettes", "cassettes"]
    alone, with_export = DETECTED[name]
    runs: list[tuple[list[str], str]] = [([], alone)]
    if export:
        runs.append((["--tenant-export", export], with_export))
    for extra, expected in runs:
        target = tmp_path / f"{len(extra)}" / "mail.yaml"
        code, _, err = run(capsys, *base, *extra, "-o", str(target))
        assert (code, err) == (0, ""), err
        written = load_policy(target, "mail.yaml")
        assert {d.scenario for d in written.domains} == {expected}
        for mine, theirs in zip(written.domains, example.domains, strict=True):
            # From the DKIM CNAME or the export, never the MX; fourthcoffee (EOP standalone) has no DKIM CNAME.
            no_dkim = name == "eop-standalone.yaml" and not extra
            assert mine.tenant == (None if no_dkim else theirs.tenant)
            assert mine.cloud == theirs.cloud
            if extra:
                assert mine.tenant_export is not None and export is not None
                assert (target.parent / mine.tenant_export).resolve() == (SCENARIOS / export).resolve()
    assert not any(p.name.startswith("mailflow-init") for p in SCENARIOS.iterdir())


# --- the CI recipes -----------------------------------------------------------------------------

RECIPES = ("policy-repo.yml", "pre-merge-dns.yml", "pre-commit-config.yaml", ".pre-commit-hooks.yaml")
PRE_MERGE = "pytest --mailflow policies/ --mailflow-zones zones/ --mailflow-fallback cassette"


def plugin_options() -> set[str]:
    text = (ROOT / "pytest_mailflow" / "plugin.py").read_text(encoding="utf-8")
    names = set(re.findall(r'"(mailflow-[a-z-]+)"', text))
    if re.search(r'option\(\s*"mailflow",', text):
        names.add("mailflow")
    return {f"--{n}" for n in names}


def recipe_commands(data: Any) -> list[str]:
    """Every shell command of a recipe: workflow steps' run, pre-commit hooks' entry."""
    found: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            if key in {"run", "entry"} and isinstance(value, str):
                found.append(value)
            else:
                found += recipe_commands(value)
    elif isinstance(data, list):
        for item in data:
            found += recipe_commands(item)
    return found


@pytest.mark.parametrize("name", RECIPES)
def test_recipes_are_valid_yaml_and_use_only_existing_options(name: str) -> None:
    data = yaml.safe_load((CI / name).read_text(encoding="utf-8"))
    commands = recipe_commands(data)
    pytest_runs = [c for c in commands if c.startswith("pytest ")]
    assert pytest_runs, commands
    known = plugin_options()
    assert {"--mailflow", "--mailflow-source", "--mailflow-zones", "--mailflow-fallback"} <= known
    for command in pytest_runs:
        used = {word.split("=", 1)[0] for word in shlex.split(command) if word.startswith("--mailflow")}
        assert used <= known, f"{name}: {sorted(used - known)} are not options of plugin.py"


def test_workflows_run_on_the_right_events() -> None:
    live = yaml.safe_load((CI / "policy-repo.yml").read_text(encoding="utf-8"))
    pre_merge = yaml.safe_load((CI / "pre-merge-dns.yml").read_text(encoding="utf-8"))
    for workflow in (live, pre_merge):
        events = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare 'on' as true
        assert isinstance(events, dict)
        steps = workflow["jobs"]["mailflow"]["steps"]
        runs = [s["run"] for s in steps if "run" in s and s["run"].startswith("pytest ")]
        assert len(runs) == 1 and "--junitxml=mailflow-report.xml" in runs[0]
        words = shlex.split(runs[0])
        reports = {words[i + 1] for i, word in enumerate(words[:-1]) if word == "--mailflow-report"}
        assert reports == {"mailflow.sarif", "mailflow.html", "mailflow.md"}
        upload = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
        assert len(upload) == 1 and upload[0]["with"]["path"].split() == ["mailflow.html", "mailflow-report.xml"]
        assert "always()" in upload[0]["if"]
        # The SARIF report goes to code scanning, also when a check failed (pytest exits 1 then).
        (sarif,) = [s for s in steps if str(s.get("uses", "")).startswith("github/codeql-action/upload-sarif@")]
        assert sarif["with"]["sarif_file"] == "mailflow.sarif" and "always()" in sarif["if"]
        assert workflow["permissions"] == {"contents": "read", "security-events": "write"}
        (summary,) = [s for s in steps if "GITHUB_STEP_SUMMARY" in s.get("run", "")]
        assert summary["run"] == 'cat mailflow.md >> "$GITHUB_STEP_SUMMARY"' and "always()" in summary["if"]
        if workflow is live:
            assert {"schedule", "push"} <= set(events)
            assert runs[0].startswith("pytest --mailflow policies/ --mailflow-source live")
        else:
            assert "pull_request" in events
            assert runs[0].startswith(PRE_MERGE)
    hooks = yaml.safe_load((CI / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    config = yaml.safe_load((CI / "pre-commit-config.yaml").read_text(encoding="utf-8"))
    for hook in (hooks[0], config["repos"][0]["hooks"][0]):
        assert hook["entry"].startswith(PRE_MERGE)
        assert hook["pass_filenames"] is False
        assert hook["language"] == "python"


def test_pre_merge_command_runs_on_a_dns_repository(pytester: pytest.Pytester) -> None:
    # The layout the recipes describe: zones/ and policies/ with cassettes for the names outside the zones.
    shutil.copytree(EXAMPLES / "zones", pytester.path / "zones")
    (pytester.path / "policies").mkdir()
    shutil.copy(EXAMPLES / "contoso.yaml", pytester.path / "policies" / "mail.yaml")
    shutil.copytree(EXAMPLES / "cassettes", pytester.path / "policies" / "cassettes")
    config = yaml.safe_load((CI / "pre-commit-config.yaml").read_text(encoding="utf-8"))
    entry = shlex.split(config["repos"][0]["hooks"][0]["entry"])
    assert entry[0] == "pytest"
    result = pytester.runpytest(*entry[1:])
    result.assert_outcomes(passed=109)
    # The workflow's command, with its reports.
    workflow = yaml.safe_load((CI / "pre-merge-dns.yml").read_text(encoding="utf-8"))
    (command,) = [s["run"] for s in workflow["jobs"]["mailflow"]["steps"] if s.get("run", "").startswith("pytest ")]
    result = pytester.runpytest(*shlex.split(command)[1:])
    result.assert_outcomes(passed=109)
    for name in ("mailflow.sarif", "mailflow.html", "mailflow.md", "mailflow-report.xml"):
        assert (pytester.path / name).is_file(), name
    # The live recipe's options are accepted (collection only: no DNS is asked).
    result = pytester.runpytest("--mailflow", "policies/", "--mailflow-source", "live", "--collect-only", "-q")
    assert result.ret == 0, result.stdout.str()


def test_the_ci_folder_holds_no_policy() -> None:
    from pytest_mailflow.policy.load import is_policy_text

    assert not [p.name for p in CI.iterdir() if is_policy_text(p.read_text(encoding="utf-8"))]


# --- docs/cli.md --------------------------------------------------------------------------------


def test_docs_cover_every_command_and_option() -> None:
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    parser = cli.build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    for name, sub in subparsers.choices.items():  # type: ignore[union-attr]
        assert f"mailflow {name}" in text, name
        for action in sub._actions:
            for option in action.option_strings:
                if option.startswith("--") and option != "--help":
                    assert option in text, f"docs/cli.md does not mention {name} {option}"
    for recipe in RECIPES:
        assert f"examples/ci/{recipe}" in text


def test_init_warns_when_failures_are_recorded(pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    # A server that does not recurse refuses the names outside its zones: recorded as they happened,
    # and said at once rather than discovered as errors at pytest time.
    records: dict[str, BehaviourSpec] = dict(LIVE_RECORDS)
    records["spf.protection.outlook.com."] = "refused"
    with FaultServer(records, default="nxdomain") as server:
        code, _, err = run(
            capsys,
            "init",
            "litware.example",
            "--nameserver",
            f"127.0.0.1:{server.port}",
            "-o",
            "mail.yaml",
            "--record-cassettes",
        )
    assert code == 0
    assert err.startswith("mailflow init: warning: litware.example: ")
    assert "1 question failed and was recorded as failing (spf.protection.outlook.com. TXT REFUSED)" in err
    assert "is the name server a recursive resolver?" in err
