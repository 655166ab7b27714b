"""Re-record the example cassettes from the example zone files plus recorded provider answers.

    python -m tests.support.record_examples

The examples' own domains come from zone files: examples/zones/*.zone for examples/*.yaml, and
examples/scenarios/zones/*.zone (the scenario examples' domains and the fictional services they
use) for examples/scenarios/*.yaml. Names outside them (Microsoft 365's SPF include, MX hosts and
the tenants' DKIM keys) come from tests/data/recorded-providers.yaml.
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
PROVIDERS = ROOT / "tests" / "data" / "recorded-providers.yaml"
#: (policy folder, zone folder) of every set of examples, relative to the repository.
EXAMPLE_SETS = (
    (Path("examples"), Path("examples/zones")),
    (Path("examples/scenarios"), Path("examples/scenarios/zones")),
)


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


def record_all(root: Path = ROOT, providers: Path = PROVIDERS) -> list[Path]:
    """Record every set of examples under ``root`` (a repository or a copy of its examples)."""
    written: list[Path] = []
    for policies, zones in EXAMPLE_SETS:
        written += record(root / policies, root / zones, providers)
    return written


if __name__ == "__main__":
    for written in record_all():
        sys.stdout.write(f"wrote {written.relative_to(ROOT)}\n")
