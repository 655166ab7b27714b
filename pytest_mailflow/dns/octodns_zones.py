"""octoDNS repositories as zone data, read with octoDNS's own YAML provider.

Install the extra: ``pip install 'pytest-mailflow[octodns]'``. Two layouts are understood:

* an octoDNS config file (top-level ``providers`` and ``zones``): every zone whose ``sources`` name a
  ``YamlProvider`` is read from that provider's directory, with the provider's options
  (``escaped_semicolons``, ``split_extension``, ...) honoured;
* a folder of ``<zone>.yaml`` files, read with a ``YamlProvider`` on that folder.

octoDNS validates records while loading (its own escaping such as ``\\;`` in TXT values, multi-value
records, and the provider-specific types it supports); each record keeps octoDNS's file/line context.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from ..errors import InputFileError, Problem
from ..inputs import OCTODNS_MAX_BYTES, decode_text, read_input
from ..yamlload import YamlLoadError, check_structure
from .zone import LoadedZone, zone_from_records

# octoDNS's record context ("a.example.yaml, line 3, column 5") and PyYAML's marks ('in "a.example.yaml", line 3').
_CONTEXT = re.compile(r"\"?([^\s\"]+\.ya?ml)\"?, line (\d+), column (\d+)")
#: How deep ``!include`` may nest (an included file including another, ...).
MAX_INCLUDE_DEPTH = 4
#: SplitYamlProvider (deprecated in octoDNS) is not read: use YamlProvider with split_extension.
YAML_PROVIDERS = {"octodns.provider.yaml.YamlProvider"}


def _octodns() -> Any:
    try:
        import octodns.provider.yaml
        import octodns.record
        import octodns.yaml
        import octodns.zone
    except ImportError:
        raise InputFileError(
            [Problem("octoDNS", 1, 1, "", "octoDNS zone files need octoDNS: pip install 'pytest-mailflow[octodns]'")]
        ) from None
    return octodns


def is_octodns_config(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("providers"), dict) and isinstance(data.get("zones"), dict)


def load_config(path: Path, display: str) -> list[tuple[str, LoadedZone | InputFileError]]:
    """Zones of an octoDNS config file whose sources include a YAML provider; a zone that does not
    load is returned as its error, so the other zones still load."""
    octodns = _octodns()
    precheck(path, display, path.parent)
    try:
        with path.open(encoding="utf-8") as handle:
            config = octodns.yaml.safe_load(handle, enforce_order=False)
    except Exception as exc:  # octoDNS raises plain YAML and constructor errors
        message = " ".join(str(exc).split())
        raise InputFileError(
            [Problem(display, _line(exc), 1, "", f"octoDNS config does not load: {message}")]
        ) from None
    if not is_octodns_config(config):
        raise InputFileError([Problem(display, 1, 1, "", "not an octoDNS config (needs 'providers' and 'zones')")])
    enabled = ((config.get("manager") or {}).get("validators") or {}).get("enabled", ("legacy",))
    _enable_validators(octodns, enabled)
    providers = {
        name: options
        for name, options in config["providers"].items()
        if isinstance(options, dict) and options.get("class") in YAML_PROVIDERS
    }
    split = sorted(
        name
        for name, options in config["providers"].items()
        if isinstance(options, dict) and str(options.get("class", "")).endswith("SplitYamlProvider")
    )
    if split:
        raise InputFileError(
            [
                Problem(
                    display,
                    1,
                    1,
                    "providers",
                    f"provider {', '.join(split)} uses SplitYamlProvider, which is not "
                    "read: use octodns.provider.yaml.YamlProvider with split_extension (octoDNS's replacement)",
                )
            ]
        )
    loaded: list[tuple[str, LoadedZone | InputFileError]] = []
    for zone_name, zone_config in sorted(config["zones"].items()):
        sources = (zone_config or {}).get("sources") or []
        for source in sources:
            if source in providers:
                options = dict(providers[source])
                options.pop("class")
                directory = _shown(_directory(path, str(options.pop("directory", "."))))
                try:
                    loaded.append((zone_name, _populate(zone_name, source, directory, options, display)))
                except InputFileError as exc:
                    loaded.append((zone_name, exc))
    return loaded


def load_directory(directory: Path, display: str) -> list[LoadedZone]:
    """Every ``<zone>.yaml`` in a folder, read with a YamlProvider on that folder."""
    zones = sorted(p.name[: -len(".yaml")] for p in directory.glob("*.yaml") if p.name.count(".") >= 2)
    return [load_zone(directory, zone, display) for zone in zones]


def load_zone(directory: Path, zone: str, display: str) -> LoadedZone:
    """One ``<zone>.yaml`` of a folder."""
    return _populate(zone if zone.endswith(".") else f"{zone}.", "zones", _shown(directory), {}, display)


def _enable_validators(octodns: Any, sets: Any) -> None:
    # What octoDNS's Manager does before loading; without it octoDNS logs a warning per run.
    record = octodns.record.Record
    registry = getattr(record, "validators", None)
    if registry is not None and not getattr(registry, "configured", True):
        record.enable_validators(set(sets))


def precheck(path: Path, display: str, folder: Path, depth: int = 0) -> None:
    """What octoDNS is not asked to cope with: a file that is too large, not UTF-8, a YAML bomb, or
    an ``!include`` of a file outside ``folder`` (octoDNS reads any path it is given, which would put
    a file from elsewhere on the machine into the zone data and its error messages)."""
    raw = read_input(path, display, what="octoDNS file", limit=OCTODNS_MAX_BYTES, within=(folder,))
    text = decode_text(raw, display)
    try:
        node = check_structure(text, display)
    except YamlLoadError as exc:
        raise InputFileError([exc.problem]) from None
    for include in _includes(node):
        mark = include.start_mark
        where = Problem(display, mark.line + 1, mark.column + 1, "", "")
        target = Path(str(include.value))
        if target.is_absolute() or ".." in target.parts or str(include.value).startswith("~"):
            raise InputFileError(
                [
                    _with(
                        where, f"!include {include.value}: only files in the zone folder can be included; copy it there"
                    )
                ]
            )
        if depth >= MAX_INCLUDE_DEPTH:
            raise InputFileError([_with(where, f"!include nests more than {MAX_INCLUDE_DEPTH} files deep")])
        precheck(path.parent / target, f"{Path(display).parent / target}", folder, depth + 1)


def _zone_files(directory: Path, zone_name: str, options: dict[str, Any]) -> list[Path]:
    """The files a YamlProvider reads for a zone: ``<zone>.yaml`` and, with ``split_extension``, the
    ``*.yaml`` of the folder ``<zone><extension>`` (see octodns.provider.yaml)."""
    name = zone_name if zone_name.endswith(".") else f"{zone_name}."
    files = [directory / f"{name}yaml"]
    extension = options.get("split_extension")
    if isinstance(extension, str) and extension:
        split = directory / f"{name[:-1]}{extension}"
        if split.is_dir():
            files += sorted(split.glob("*.yaml"))
    return [f for f in files if f.is_file() or f.is_symlink()]


def _with(problem: Problem, message: str) -> Problem:
    return Problem(problem.path, problem.line, problem.column, problem.key_path, message)


def _includes(node: yaml.Node | None) -> list[yaml.ScalarNode]:
    found: list[yaml.ScalarNode] = []
    stack = [node] if node is not None else []
    seen: set[int] = set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, yaml.ScalarNode) and current.tag == "!include":
            found.append(current)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
        elif isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                stack.extend((key, value))
    return found


def _populate(zone_name: str, source: str, directory: Path, options: dict[str, Any], display: str) -> LoadedZone:
    octodns = _octodns()
    options.setdefault("escaped_semicolons", True)  # octoDNS 1.x behaviour, stated so it does not warn
    _enable_validators(octodns, ("legacy",))
    for zone_file in _zone_files(directory, zone_name, options):
        precheck(zone_file, str(zone_file), directory)
    try:
        provider = octodns.provider.yaml.YamlProvider(source, str(directory), **options)
        zone = octodns.zone.Zone(zone_name if zone_name.endswith(".") else zone_name + ".", [])
        provider.populate(zone)
    except Exception as exc:  # octoDNS validation errors carry their own file/line context
        # octoDNS names the file and line of the offending record in its message: point there.
        located = _CONTEXT.search(str(exc))
        if located:
            where, line, column = located.group(1), int(located.group(2)), int(located.group(3))
        else:
            where, line, column = f"{display} ({directory})", _line(exc), 1
        message = " ".join(str(exc).split())
        problem = Problem(where, line, column, zone_name, f"octoDNS could not load the zone: {message}")
        raise InputFileError([problem]) from None
    records = []
    for record in sorted(zone.records, key=lambda r: (r.fqdn, r._type)):
        if hasattr(record, "to_rrset"):
            rrset = record.to_rrset()
            owner, ttl, rdtype, values = rrset.name, rrset.ttl, rrset._type, rrset.rdatas
        else:  # octoDNS before 1.16
            owner, ttl, rdtype, values = record.rrs
        context = str(getattr(record, "context", "") or f"{directory}/{zone_name}yaml")
        records.append((owner, ttl, rdtype, list(values), context))
    return zone_from_records(zone.name, records, f"{display}:{zone_name}")


def _line(exc: Exception) -> int:
    mark = getattr(exc, "problem_mark", None) or getattr(getattr(exc, "context", None), "line", None)
    if mark is not None and hasattr(mark, "line"):
        return int(mark.line) + 1
    return 1


def _directory(config: Path, directory: str) -> Path:
    """octoDNS resolves a provider's directory against the folder it is run from (the repository
    root, usually the config file's parent or grandparent); try those in turn."""
    given = Path(directory)
    if given.is_absolute():
        return given
    for base in (Path.cwd(), config.parent, config.parent.parent):
        if (base / given).is_dir():
            return base / given
    return config.parent / given


def _shown(directory: Path) -> Path:
    # octoDNS puts the directory it was given into every record's context: keep it short.
    try:
        return directory.resolve().relative_to(Path.cwd())
    except ValueError:
        return directory.resolve()
