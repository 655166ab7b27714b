"""dane rules (filled in with the record-rule families)."""

from __future__ import annotations

from .base import Rule

RULES: tuple[Rule, ...] = ()
