"""--mailflow-zones: checking the zone data of a DNS-as-code repository before it is merged."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from pytest_mailflow.dns.base import Question, ResolutionError
from pytest_mailflow.dns.zonefiles import load_zone_paths
from tests.support.scenario import zone

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_ITEMS = 109


def test_bind_folder_with_cassette_fallback(pytester: pytest.Pytester, examples: Path) -> None:
    # The examples' own zones come from the repository; Microsoft's names from the cassettes.
    result = pytester.runpytest("--mailflow", "examples", "--mailflow-zones", "examples/zones")
    result.assert_outcomes(passed=EXAMPLE_ITEMS)


def test_zone_findings_point_at_the_zone_file_and_line(pytester: pytest.Pytester, examples: Path) -> None:
    zone_file = examples / "zones" / "fabrikam.example.zone"
    zone_file.write_text(zone_file.read_text().replace("ip4:203.0.113.10 ", ""))
    result = pytester.runpytest("--mailflow", "examples", "--mailflow-zones", "examples/zones", "-k", "MF-SPF-010")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*fabrikam.example. TXT -> *[[]zone examples/zones/fabrikam.example.zone:9[]]*"])


def test_without_fallback_outside_names_are_errors_that_say_so(pytester: pytest.Pytester, examples: Path) -> None:
    result = pytester.runpytest(
        "--mailflow", "examples", "--mailflow-zones", "examples/zones", "--mailflow-fallback", "none", "-k", "contoso"
    )
    outcomes = result.parseoutcomes()
    assert outcomes["errors"] > 0
    result.stdout.fnmatch_lines(["*spf.protection.outlook.com. TXT: outside the loaded zones and no fallback*"])


def test_a_broken_zone_file_is_an_error_for_its_names_only(pytester: pytest.Pytester, examples: Path) -> None:
    broken = examples / "zones" / "old-brand.example.zone"
    text = broken.read_text()
    line = text.count("\n") + 1
    broken.write_text(text + "@ MX 10\n")
    result = pytester.runpytest("--mailflow", "examples", "--mailflow-zones", "examples/zones")
    outcomes = result.parseoutcomes()
    assert outcomes["passed"] == EXAMPLE_ITEMS - 29  # contoso and fabrikam are unaffected
    assert outcomes["errors"] == 29
    result.stdout.fnmatch_lines(
        [
            f"*old-brand.example. MX: the zone file for this name is invalid (examples/zones/old-brand.example.zone:{line}:1:*"
        ]
    )
    result.stdout.fnmatch_lines(
        ["*mailflow: zone files with problems*", f"examples/zones/old-brand.example.zone:{line}:1: *"]
    )


OCTODNS_CONFIG = """\
---
manager:
  max_workers: 1
providers:
  config:
    class: octodns.provider.yaml.YamlProvider
    directory: ./config
    default_ttl: 3600
    enforce_order: true
  route53:
    class: octodns_route53.Route53Provider
    access_key_id: env/AWS_ACCESS_KEY_ID
zones:
  fabrikam.example.:
    sources:
      - config
    targets:
      - route53
"""

OCTODNS_ZONE = """\
---
'':
  - type: MX
    value:
      exchange: mail.fabrikam.example.
      preference: 10
  - type: TXT
    values:
      - some-verification=abc\\;def
      - v=spf1 ip4:203.0.113.10 include:spf.protection.outlook.com -all
_dmarc:
  type: TXT
  value: v=DMARC1\\; p=quarantine\\; rua=mailto:dmarc@fabrikam.example
mail:
  type: A
  value: 203.0.113.25
"""


@pytest.fixture
def octodns_repo(pytester: pytest.Pytester, examples: Path) -> Path:
    pytest.importorskip("octodns")
    repo = pytester.path / "dns"
    (repo / "config").mkdir(parents=True)
    (repo / "config" / "production.yaml").write_text(OCTODNS_CONFIG)
    (repo / "config" / "fabrikam.example.yaml").write_text(OCTODNS_ZONE)
    return repo


def test_octodns_repository_layout(pytester: pytest.Pytester, octodns_repo: Path) -> None:
    result = pytester.runpytest("--mailflow", "examples", "--mailflow-zones", "dns/config", "-k", "fabrikam")
    result.assert_outcomes(passed=32)


def test_octodns_escaping_and_context(octodns_repo: Path) -> None:
    zones = load_zone_paths([octodns_repo / "config" / "production.yaml"], octodns_repo)
    assert not zones.problems
    (loaded,) = zones.zones
    from pytest_mailflow.dns.records import txt_value
    from pytest_mailflow.dns.zone import ZoneSource

    source = ZoneSource(zones.zones)
    txt = source.resolve(Question.of("fabrikam.example", "TXT"))
    assert sorted(txt_value(r) for r in txt.records) == [
        "some-verification=abc;def",
        "v=spf1 ip4:203.0.113.10 include:spf.protection.outlook.com -all",
    ]
    assert (
        txt_value(source.resolve(Question.of("_dmarc.fabrikam.example", "TXT")).records[0])
        == "v=DMARC1; p=quarantine; rua=mailto:dmarc@fabrikam.example"
    )
    assert "fabrikam.example.yaml, line 7" in txt.provenance
    assert loaded.origin.to_text() == "fabrikam.example."


def test_octodns_validation_error_is_located(octodns_repo: Path) -> None:
    (octodns_repo / "config" / "fabrikam.example.yaml").write_text("---\nmail:\n  type: A\n  value: not-an-ip\n")
    zones = load_zone_paths([octodns_repo / "config"], octodns_repo)
    assert not zones.zones
    assert any("not-an-ip" in problem.message for problem in zones.problems), zones.problems
    with pytest.raises(ResolutionError, match="zone file for this name is invalid"):
        from pytest_mailflow.dns.zone import ZoneSource

        ZoneSource(zones.zones, None, zones.broken).resolve(Question.of("mail.fabrikam.example", "A"))


def test_zone_semantics(tmp_path: Path) -> None:
    text = zone(
        "z.example",
        textwrap.dedent(
            """\
            a A 192.0.2.1
            alias CNAME a.z.example.
            far CNAME target.other.example.
            deep.empty A 192.0.2.2
            *.wild TXT "wildcard"
            loop1 CNAME loop2.z.example.
            loop2 CNAME loop1.z.example.
            """
        ),
    )
    other = zone("other.example", 'target TXT "from the other zone"')
    (tmp_path / "z.example.zone").write_text(text)
    (tmp_path / "db.other.example").write_text(other)
    zones = load_zone_paths([tmp_path], tmp_path)
    assert not zones.problems
    from pytest_mailflow.dns.zone import ZoneSource

    source = ZoneSource(zones.zones)

    def ask(name: str, rdtype: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
        answer = source.resolve(Question.of(name, rdtype))
        return answer.status, answer.records, answer.cname_chain

    assert ask("alias.z.example", "A") == ("NOERROR", ("192.0.2.1",), ("a.z.example.",))
    assert ask("far.z.example", "TXT") == ("NOERROR", ('"from the other zone"',), ("target.other.example.",))
    assert ask("a.z.example", "TXT") == ("NODATA", (), ())
    assert ask("empty.z.example", "A") == ("NODATA", (), ())  # empty non-terminal
    assert ask("missing.z.example", "A") == ("NXDOMAIN", (), ())
    assert ask("x.wild.z.example", "TXT") == ("NOERROR", ('"wildcard"',), ())
    assert ask("x.y.wild.z.example", "TXT") == ("NOERROR", ('"wildcard"',), ())
    assert ask("alias.z.example", "CNAME") == ("NOERROR", ("a.z.example.",), ())
    with pytest.raises(ResolutionError, match="CNAME chain"):
        source.resolve(Question.of("loop1.z.example", "A"))
    with pytest.raises(ResolutionError, match="outside the loaded zones"):
        source.resolve(Question.of("elsewhere.test", "A"))


def test_include_directive_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("x A 192.0.2.9\n")
    (tmp_path / "i.example.zone").write_text(zone("i.example", f"$INCLUDE {tmp_path / 'secret'}"))
    zones = load_zone_paths([tmp_path / "i.example.zone"], tmp_path)
    assert [p.line for p in zones.problems] == [5]
    assert "i.example.zone" in zones.problems[0].path


def test_examples_zone_copy_is_independent() -> None:
    # The shipped example zones load without problems (they are what the cassettes were recorded from).
    zones = load_zone_paths([ROOT / "examples" / "zones"], ROOT)
    assert sorted(z.origin.to_text() for z in zones.zones) == [
        "contoso.example.",
        "fabrikam.example.",
        "old-brand.example.",
    ]
    assert not zones.problems
    assert shutil.which("true") is not None or True


def test_delegated_names_and_broken_child_zones(tmp_path: Path) -> None:
    from pytest_mailflow.dns.base import Answer
    from pytest_mailflow.dns.zone import ZoneSource

    (tmp_path / "p.example.zone").write_text(zone("p.example", "sub NS ns.provider.test.\nwww A 192.0.2.1"))
    (tmp_path / "bad.p.example.zone").write_text(zone("bad.p.example", "@ MX 10"))
    zones = load_zone_paths([tmp_path], tmp_path)

    class Outside:
        def resolve(self, question: Question) -> Answer:
            return Answer(question, "NOERROR", ("198.51.100.1",), (), "outside")

        def describe(self) -> str:
            return "outside"

    source = ZoneSource(zones.zones, Outside(), zones.broken)
    # Below a delegation the child zone answers, not the parent: the fallback is asked.
    assert source.resolve(Question.of("www.sub.p.example", "A")).provenance == "outside"
    assert source.resolve(Question.of("www.p.example", "A")).records == ("192.0.2.1",)
    # A broken child zone is never answered from its parent.
    with pytest.raises(ResolutionError, match="zone file for this name is invalid"):
        source.resolve(Question.of("bad.p.example", "MX"))


def test_zone_paths_that_hold_nothing_are_usage_errors(pytester: pytest.Pytester, examples: Path) -> None:
    (pytester.path / "empty").mkdir()
    for path, message in [("missing", "no such file or folder"), ("empty", "no zone files in this folder")]:
        result = pytester.runpytest("--mailflow", "examples", "--mailflow-zones", path)
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines([f"*--mailflow-zones: *{path}: {message}*"])


def test_a_config_that_does_not_load_makes_its_zones_errors(octodns_repo: Path) -> None:
    config = octodns_repo / "config" / "production.yaml"
    config.write_text(config.read_text().replace("providers:", "providers: [unclosed\n  config:", 1))
    zones = load_zone_paths([config], octodns_repo)
    assert not zones.zones
    assert [b.origin.to_text() for b in zones.broken] == ["fabrikam.example."]


def test_live_source_with_zones_asks_outside_names_live(pytester: pytest.Pytester, examples: Path) -> None:
    from tests.support.faultserver import FaultServer

    records = {"spf.protection.outlook.com.": {"TXT": ['"v=spf1 ip4:40.107.0.0/16 -all"']}}
    with FaultServer(records, default="nxdomain") as server:
        result = pytester.runpytest(
            "--mailflow",
            "examples",
            "--mailflow-zones",
            "examples/zones",
            "--mailflow-source",
            "live",
            "--mailflow-nameserver",
            f"127.0.0.1:{server.port}",
            "-k",
            "fabrikam and MF-SPF-008",
        )
    result.assert_outcomes(passed=1)


def test_a_zone_folder_that_yields_no_zone_stops_the_run(pytester: pytest.Pytester, examples: Path) -> None:
    (pytester.path / "dns").mkdir()
    (pytester.path / "dns" / "settings.yaml").write_text("ttl: 300\n")
    result = pytester.runpytest("--mailflow", "examples", "--mailflow-zones", "dns")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--mailflow-zones loaded no zone*"])


def test_zone_provenance_names_every_line_of_an_rrset(tmp_path: Path) -> None:
    from pytest_mailflow.dns.zone import ZoneSource

    (tmp_path / "d.example.zone").write_text(zone("d.example", '@ TXT "v=spf1 -all"\n@ TXT "v=spf1 +all"'))
    zones = load_zone_paths([tmp_path], tmp_path)
    answer = ZoneSource(zones.zones).resolve(Question.of("d.example", "TXT"))
    assert answer.provenance == "zone d.example.zone:5,6"


def test_new_episodes_in_zone_mode_keeps_chain_answers(pytester: pytest.Pytester, examples: Path) -> None:
    # The DKIM keys behind the example's CNAMEs are answered from the recorded chains, not asked again.
    before = (examples / "cassettes" / "contoso.example.yaml").read_text()
    result = pytester.runpytest(
        "--mailflow",
        "examples",
        "--mailflow-zones",
        "examples/zones",
        "--mailflow-record-mode",
        "new_episodes",
        "--mailflow-nameserver",
        "127.0.0.1:9",
        "--mailflow-timeout",
        "0.2",
        "--mailflow-retries",
        "0",
    )
    result.assert_outcomes(passed=EXAMPLE_ITEMS)
    assert (examples / "cassettes" / "contoso.example.yaml").read_text() == before


def test_zone_records_read_from_provenance() -> None:
    from pytest_mailflow.dns.zone import zone_records

    assert zone_records("zone zones/a.example.zone:9") == [("zones/a.example.zone", 9)]
    # Every line of an RRset, and each hop of a CNAME chain that ends outside the zones.
    assert zone_records("zone a.zone:3,5, zone b.zone:7, cassette c.yaml:4") == [
        ("a.zone", 3),
        ("a.zone", 5),
        ("b.zone", 7),
    ]
    assert zone_records("zone a.zone:3, cassette c.yaml:43 (through the CNAME chain of x.a.)") == [("a.zone", 3)]
    # octoDNS's own context.
    assert zone_records("zone config/a.example.yaml, line 7, column 3") == [("config/a.example.yaml", 7)]
    # NXDOMAIN and NODATA name the zone but no record; other sources name no zone.
    assert zone_records("zone a.zone") == []
    assert zone_records("cassette c.yaml:4") == []
    assert zone_records("live DNS via 192.0.2.53:53") == []
