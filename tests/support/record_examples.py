"""Re-record the example cassettes from the example zone files plus recorded provider answers.

    python -m tests.support.record_examples

The examples' own domains come from examples/zones/*.zone; names outside them (Microsoft 365's
SPF include and MX hosts) come from tests/data/recorded-providers.yaml.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pytest_mailflow.dns.cassette import CassetteReplaySource, cassette_path, dump, write_atomic
from pytest_mailflow.dns.recording import RecordingSource
from pytest_mailflow.dns.zone import ZoneSource, load_zone_file
from pytest_mailflow.gather import GatherRequest, gather
from pytest_mailflow.policy.load import is_policy_text, load_policy

ROOT = Path(__file__).resolve().parents[2]


def record(policy_dir: Path, zone_dir: Path, providers: Path) -> list[Path]:
    zones = [load_zone_file(p, display=p.name) for p in sorted(zone_dir.glob("*.zone"))]
    fallback = CassetteReplaySource(providers, providers.name)
    written = []
    for path in sorted(policy_dir.glob("*.yaml")):
        if not is_policy_text(path.read_text(encoding="utf-8")):
            continue
        policy = load_policy(path)
        for domain in policy.domains:
            source = RecordingSource(ZoneSource(zones, fallback))
            gather(GatherRequest.for_policy(domain), source)
            target = cassette_path(path.parent / "cassettes", domain.name)
            write_atomic(target, dump(domain.name, source.recorded))
            written.append(target)
    return written


if __name__ == "__main__":
    for written in record(ROOT / "examples", ROOT / "examples" / "zones", ROOT / "tests/data/recorded-providers.yaml"):
        sys.stdout.write(f"wrote {written.relative_to(ROOT)}\n")
