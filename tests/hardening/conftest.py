"""Hypothesis profiles for the fuzz tests.

``mailflow-ci`` (the default) is fast and reproducible: a fixed number of examples, derandomised (the
same examples on every run and machine), no deadline (CI machines stall) and no example database
written into the checkout. ``mailflow-deep`` is for a long local hunt:
``MAILFLOW_HYPOTHESIS_PROFILE=mailflow-deep pytest tests/hardening/test_fuzz.py``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "mailflow-ci",
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("mailflow-deep", max_examples=20_000, deadline=None, database=None)
settings.load_profile(os.environ.get("MAILFLOW_HYPOTHESIS_PROFILE", "mailflow-ci"))
