"""Scenario expectations written as templates: ``${m365.spf_include}``, ``${params.on_premises.egress}``.

A string that is exactly one ``${path}`` is replaced by the value at that path (a list is spliced into
the surrounding list); ``${?path}`` is optional and simply left out when the policy does not give it.
The values come from the domain's cloud (``m365.*``) and its ``params`` (``params.*``).
"""

from __future__ import annotations

import re
from typing import Any

from ..clouds import CLOUDS

_TEMPLATE = re.compile(r"^\$\{(\?)?([a-z0-9_]+(?:\.[a-z0-9_]+)*)\}$")
_ABSENT = object()


def context(cloud: str, params: dict[str, Any]) -> dict[str, Any]:
    endpoints = CLOUDS[cloud]
    return {
        "m365": {
            "spf_include": endpoints.spf_include,
            "autodiscover": endpoints.autodiscover,
        },
        "params": params,
    }


def _lookup(data: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(data, dict) or part not in data:
            return _ABSENT
        data = data[part]
    return data


def resolve(value: Any, ctx: dict[str, Any], missing: list[str]) -> Any:
    """Fill in the templates in ``value``; paths a required template could not find go to ``missing``."""
    if isinstance(value, dict):
        resolved = {key: resolve(item, ctx, missing) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not _ABSENT}
    if isinstance(value, list):
        items: list[Any] = []
        for item in value:
            result = resolve(item, ctx, missing)
            if result is _ABSENT:
                continue
            if isinstance(item, str) and _TEMPLATE.match(item) and isinstance(result, list):
                items.extend(result)
            else:
                items.append(result)
        return items
    if isinstance(value, str):
        match = _TEMPLATE.match(value)
        if match:
            found = _lookup(ctx, match.group(2))
            if found is _ABSENT and not match.group(1):
                missing.append(match.group(2))
            return found
    return value


def is_absent(value: Any) -> bool:
    return value is _ABSENT
