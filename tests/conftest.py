from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


@pytest.fixture
def examples(pytester: pytest.Pytester) -> Path:
    """A copy of examples/ inside the pytester folder (policies plus their cassettes)."""
    target = pytester.path / "examples"
    shutil.copytree(EXAMPLES, target)
    return target
