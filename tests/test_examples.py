"""The shipped examples: their cassettes match their zone files, and the engine runs them without pytest."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.support.record_examples import record

ROOT = Path(__file__).resolve().parents[1]


def test_example_cassettes_are_reproducible(tmp_path: Path) -> None:
    # Re-recording an unchanged zone gives no diff: sorted output, no volatile fields.
    copy = tmp_path / "examples"
    shutil.copytree(ROOT / "examples", copy, ignore=shutil.ignore_patterns("cassettes"))
    written = record(copy, copy / "zones", ROOT / "tests" / "data" / "recorded-providers.yaml")
    assert written
    for path in written:
        shipped = ROOT / "examples" / "cassettes" / path.name
        assert path.read_text() == shipped.read_text(), f"{shipped} is stale: python -m tests.support.record_examples"
    assert sorted(p.name for p in (ROOT / "examples" / "cassettes").glob("*.yaml")) == sorted(p.name for p in written)


def test_engine_works_without_pytest() -> None:
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["pytest"] = None  # any import of pytest now fails
        from pathlib import Path
        from pytest_mailflow.dns.cassette import CassetteFolderFactory
        from pytest_mailflow.engine import Engine
        from pytest_mailflow.plan import plan
        from pytest_mailflow.policy.load import load_policy

        root = Path({str(ROOT)!r})
        policy = load_policy(root / "examples" / "contoso.yaml", "examples/contoso.yaml")
        engine = Engine(CassetteFolderFactory(None, root))
        results = [engine.run(check) for domain in policy.domains for check in plan(domain)]
        print(len(results), sum(r.finding.passed for r in results))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["109", "109"]
