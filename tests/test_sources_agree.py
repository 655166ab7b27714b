"""The same policy gives the same verdicts from live Knot DNS, from a cassette recorded from it, and from
the zone files Knot served."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_mailflow.dns.records import txt_presentation
from tests.support.knot import KnotServer, require_knotd
from tests.support.scenario import zone

INCLUDES = " ".join(f"include:s{i}.vendor.test" for i in range(11))
ZONES = {
    "fabrikam.example": zone(
        "fabrikam.example",
        '@ MX 10 mail.fabrikam.example.\nmail A 203.0.113.25\n@ TXT "v=spf1 ip4:203.0.113.10 include:spf.vendor.test -all"\n'
        '_dmarc TXT "v=DMARC1; p=reject; rua=mailto:dmarc@fabrikam.example"',
    ),
    "broken.example": zone(
        "broken.example",
        "@ MX 10 mx.broken.example.\n@ MX 20 gone.broken.example.\nmx CNAME host.broken.example.\n"
        "host A 192.0.2.30\n"
        f"@ TXT {txt_presentation(f'v=spf1 {INCLUDES} ~all')}\n"
        '@ TXT "v=spf1 +all"',
    ),
    "vendor.test": zone(
        "vendor.test",
        'spf TXT "v=spf1 ip4:198.51.100.0/28 -all"\n'
        + "\n".join(f's{i} TXT "v=spf1 ip4:192.0.2.{i}/32 -all"' for i in range(11)),
    ),
}
POLICY = """\
mailflow: 1
domains:
  fabrikam.example:
    expect:
      mx: {hosts: [{host: mail.fabrikam.example, priority: 10}]}
      spf:
        include: [spf.vendor.test]
        must_pass: [203.0.113.10, 198.51.100.1]
        must_fail: [198.51.100.200]
  broken.example:
    expect:
      spf:
        must_fail: [203.0.113.99]
"""


def verdicts(pytester: pytest.Pytester, *args: str) -> dict[str, str]:
    events = pytester.inline_run("--mailflow", "-p", "no:cacheprovider", *args)
    found: dict[str, str] = {}
    for report in events.getreports("pytest_runtest_logreport"):
        if report.when == "call" or report.outcome != "passed":
            found.setdefault(report.nodeid, "error" if report.when != "call" else report.outcome)
    return found


def test_live_cassette_and_zone_files_agree(pytester: pytest.Pytester) -> None:
    knotd = require_knotd()
    (pytester.path / "policy.yaml").write_text(POLICY)
    zone_dir = pytester.path / "zones"
    zone_dir.mkdir()
    for origin, text in ZONES.items():
        (zone_dir / f"{origin}.zone").write_text(text)
    with KnotServer(pytester.path / "knot", ZONES, knotd=knotd) as knot:
        server = f"{knot.address}:{knot.port}"
        live = verdicts(pytester, "--mailflow-source", "live", "--mailflow-nameserver", server)
        recorded = verdicts(pytester, "--mailflow-record-mode", "once", "--mailflow-nameserver", server)
    # Knot is stopped: replay has nothing to talk to.
    replayed = verdicts(pytester)
    zones = verdicts(pytester, "--mailflow-zones", "zones", "--mailflow-fallback", "none")

    assert live == recorded == replayed == zones
    assert set(live.values()) == {"passed", "failed"}
    failed = sorted(nodeid.split("::", 1)[1] for nodeid, outcome in live.items() if outcome == "failed")
    assert failed == [
        "broken.example::MF-DMARC-001",
        "broken.example::MF-MX-002",
        "broken.example::MF-MX-003",
        "broken.example::MF-SPF-001",
        "broken.example::MF-SPF-011[203.0.113.99]",
    ]
    assert Path(pytester.path / "cassettes" / "broken.example.yaml").is_file()
