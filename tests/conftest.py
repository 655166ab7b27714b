from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


@pytest.fixture
def examples(pytester: pytest.Pytester) -> Path:
    """A copy of examples/ inside the pytester folder: the Contoso policy with its zones and cassettes
    (the per-scenario examples under examples/scenarios/ have their own tests)."""
    target = pytester.path / "examples"
    shutil.copytree(EXAMPLES, target, ignore=shutil.ignore_patterns("scenarios", "*.ps1", "ci"))
    return target
