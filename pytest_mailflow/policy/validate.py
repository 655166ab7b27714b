"""JSON Schema validation with messages an admin can act on: located, and with 'did you mean'."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError

from ..errors import Problem
from ..hints import did_you_mean
from ..yamlload import Located

_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "boolean": "true or false",
    "null": "nothing",
    "number": "a number",
}


def _python_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    if isinstance(value, int | float):
        return "a number"
    return "a string"


def _leaves(error: ValidationError) -> Iterator[ValidationError]:
    """Descend anyOf/oneOf to the errors of the branch that fits the value's type."""
    if not error.context:
        yield error
        return
    branches: dict[int, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
    fitting = [
        errs for errs in branches.values() if not any(e.validator == "type" and list(e.path) == [] for e in errs)
    ]
    if len(fitting) == 1:
        for sub in fitting[0]:
            yield from _leaves(sub)
        return
    yield error


def problems(validator: jsonschema.protocols.Validator, located: Located) -> list[Problem]:
    found: list[Problem] = []
    for top in validator.iter_errors(located.data):
        for error in _leaves(top):
            found.extend(_explain(error, located))
    found.sort(key=lambda p: (p.line, p.column, p.message))
    unique: list[Problem] = []
    for problem in found:
        if problem not in unique:
            unique.append(problem)
    return _one_per_mistake(unique)


def _one_per_mistake(found: list[Problem]) -> list[Problem]:
    """Drop the echoes of one mistake: 'missing required key X' beside "unknown key 'x' (did you mean
    'X'?)" in the same mapping, and range or format complaints about a value of the wrong type."""
    suggested = set()
    for problem in found:
        if problem.message.startswith("unknown key '") and "(did you mean '" in problem.message:
            parent = problem.key_path.rpartition(".")[0] if "." in problem.key_path else ""
            suggested.add((parent, problem.message.split("(did you mean '", 1)[1].split("'", 1)[0]))
    wrong_type = {p.key_path for p in found if p.message.startswith("expected ") and ", got " in p.message}
    kept = []
    for problem in found:
        missing = problem.message.startswith("missing required key '")
        if missing and (problem.key_path, problem.message.split("'")[1]) in suggested:
            continue
        typed = problem.message.startswith("expected ") and ", got " in problem.message
        if problem.key_path in wrong_type and not typed:
            continue
        kept.append(problem)
    return kept


def _explain(error: ValidationError, located: Located) -> list[Problem]:
    path = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = list(schema.get("properties", {}))
        extra = [key for key in error.instance if key not in allowed]
        hint_list = f"; allowed here: {', '.join(allowed)}" if allowed else ""
        return [
            located.problem((*path, key), f"unknown key '{key}'{did_you_mean(key, allowed) or hint_list}", key=True)
            for key in extra
        ]
    if error.validator == "required":
        missing = str(error.message).split("'")[1] if "'" in str(error.message) else str(error.message)
        return [located.problem(path, f"missing required key '{missing}'")]
    if error.validator == "type":
        wanted: Any = error.validator_value
        names = [wanted] if isinstance(wanted, str) else list(wanted)
        expected = " or ".join(_TYPE_NAMES.get(n, n) for n in names)
        return [located.problem(path, f"expected {expected}, got {_python_type(error.instance)} ({error.instance!r})")]
    if error.validator == "enum":
        choices: Any = error.validator_value
        options = [str(o) for o in choices]
        hint = did_you_mean(str(error.instance), options)
        return [located.problem(path, f"'{error.instance}' is not one of: {', '.join(options)}{hint}")]
    if error.validator in {"anyOf", "oneOf"} and error.context:
        # No branch takes a value of this type: name the types that would do.
        wanted_types: list[str] = []
        for sub in error.context:
            if sub.validator == "type" and list(sub.path) == []:
                value: Any = sub.validator_value
                wanted_types += [value] if isinstance(value, str) else list(value)
        if wanted_types and all(
            sub.validator == "type" for sub in error.context if list(sub.path) == [] and sub.validator != "enum"
        ):
            expected = " or ".join(dict.fromkeys(_TYPE_NAMES.get(n, n) for n in wanted_types))
            got = f"{_python_type(error.instance)} ({error.instance!r})"
            return [located.problem(path, f"expected {expected}, got {got}")]
    if error.validator == "const" and path == ("mailflow",) and error.instance is None:
        return [located.problem(path, "the schema version is missing: write mailflow: 1")]
    if error.validator == "const" and path == ("mailflow",) and str(error.instance) == "1":
        return [located.problem(path, "write the schema version as a number: mailflow: 1")]
    if error.validator == "const" and path == ("mailflow",):
        return [
            located.problem(
                path,
                f"unsupported policy schema version {error.instance!r}; this pytest-mailflow reads version 1",
            )
        ]
    if error.validator == "pattern" and "MF-" in str(error.validator_value):
        return [located.problem(path, f"'{error.instance}' is not a rule ID (they look like MF-SPF-003)")]
    if error.validator == "pattern" and len(path) >= 2 and path[-2] == "selectors":
        return [located.problem(path, f"'{error.instance}' is not a DKIM selector (letters, digits, '-' and '.')")]
    if error.validator == "pattern" and path and path[-1] == "tenant":
        return [
            located.problem(
                path,
                f"'{error.instance}' is not a tenant name: give the first label of "
                "<tenant>.onmicrosoft.com, e.g. 'contoso'",
            )
        ]
    if error.validator in {"minItems", "minProperties", "minLength"}:
        return [located.problem(path, "must not be empty")]
    if error.validator == "uniqueItems":
        return [located.problem(path, "the list has duplicate entries")]
    return [located.problem(path, error.message)]
