"""Finding and loading the zone data of a DNS-as-code repository (``--mailflow-zones``).

A path may be a BIND zone file (``<zone>.zone``, ``<zone>.db``, ``db.<zone>``, or any file with an
``$ORIGIN``), an octoDNS config file, an octoDNS ``<zone>.yaml``, or a folder of any of these. A file
that does not load is reported with its path and line; the other files still load, and names under
the broken zone become errors instead of silently falling through to another source.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import dns.exception
import dns.name

from ..errors import InputFileError, Problem
from ..inputs import outside
from . import octodns_zones
from .zone import BrokenZone, LoadedZone, load_zone_text, read_zone_text, zone_origin_of

BIND_SUFFIXES = (".zone", ".db")


@dataclass
class ZoneSet:
    zones: list[LoadedZone] = field(default_factory=list)
    broken: list[BrokenZone] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def add_error(self, origin: str, error: InputFileError) -> None:
        self.problems.extend(error.problems)
        with contextlib.suppress(dns.exception.DNSException):  # a name that is not a domain: nothing to shadow
            self.broken.append(BrokenZone(dns.name.from_text(origin), error))


def _display(path: Path, rootdir: Path) -> str:
    try:
        return Path(os.path.relpath(path, rootdir)).as_posix()
    except ValueError:
        return str(path)


@functools.cache
def cached_zone_set(paths: tuple[Path, ...], rootdir: Path) -> ZoneSet:
    """Zone data loaded once per process (checked when pytest starts, used when checks run)."""
    return load_zone_paths(list(paths), rootdir)


def load_zone_paths(paths: list[Path], rootdir: Path) -> ZoneSet:
    found = ZoneSet()
    for path in paths:
        if path.is_dir():
            _load_folder(path, rootdir, found)
        elif path.is_file():
            _load_file(path, rootdir, found)
        else:
            found.problems.append(Problem(str(path), 1, 1, "", "no such file or folder (from --mailflow-zones)"))
    return found


def unusable_paths(paths: list[Path]) -> list[str]:
    """Zone paths that cannot hold zone data (checked up front, so nothing silently falls back)."""
    found = []
    for path in paths:
        if not path.exists():
            found.append(f"{path}: no such file or folder")
        elif path.is_dir() and not any(
            p.is_file() and (_is_bind(p) or p.suffix in {".yaml", ".yml"}) for p in path.iterdir()
        ):
            found.append(f"{path}: no zone files in this folder (*.zone, *.db, db.*, octoDNS *.yaml)")
    return found


def _is_bind(path: Path) -> bool:
    return path.suffix in BIND_SUFFIXES or path.name.startswith("db.")


def _load_folder(folder: Path, rootdir: Path, found: ZoneSet) -> None:
    configs: list[Path] = []
    zone_yaml: list[Path] = []
    # Files found by listing a folder were not named by the user: a link among them must stay inside
    # the folder (or the repository), or it could make the run read any file on the machine.
    within = (folder, rootdir)
    for path in sorted(folder.iterdir()):
        if path.is_symlink() and (path.suffix in {".yaml", ".yml"} or _is_bind(path)) and outside(path, within):
            problem = Problem(
                _display(path, rootdir),
                1,
                1,
                "",
                f"this zone file is a symbolic link to a file outside {_display(folder, rootdir)}, which is not "
                "read; put the file itself there instead of a link",
            )
            yaml_zone = path.suffix in {".yaml", ".yml"}
            found.add_error(
                path.name[: -len(path.suffix)] if yaml_zone else zone_origin_of(path, ""), InputFileError([problem])
            )
            continue
        if path.is_file() and path.suffix in {".yaml", ".yml"}:
            (configs if _is_octodns_config(path) else zone_yaml).append(path)
        elif path.is_file() and _is_bind(path):
            _load_file(path, rootdir, found)
    for config in configs:
        _load_file(config, rootdir, found)
    if not configs and zone_yaml:
        display = _display(folder, rootdir)
        for path in zone_yaml:
            if path.name.count(".") >= 2:
                _load_octodns_zone(path, display, found)


def _load_file(path: Path, rootdir: Path, found: ZoneSet) -> None:
    display = _display(path, rootdir)
    if path.suffix in {".yaml", ".yml"}:
        if _is_octodns_config(path):
            try:
                for zone_name, result in octodns_zones.load_config(path, display):
                    if isinstance(result, InputFileError):
                        found.add_error(zone_name, result)
                    else:
                        found.zones.append(result)
            except InputFileError as exc:
                # The config did not load (or octoDNS is missing): its zones must not fall through
                # to another source, so mark every zone it names as broken.
                zones = _zones_named_in(path)
                for zone_name in zones:
                    found.add_error(zone_name, exc)
                if not zones:
                    found.problems.extend(exc.problems)
        else:
            _load_octodns_zone(path, display, found)
        return
    try:
        text = read_zone_text(path, display)
    except InputFileError as exc:
        found.add_error(zone_origin_of(path, ""), exc)
        return
    origin = zone_origin_of(path, text)
    try:
        found.zones.append(load_zone_text(text, origin, display))
    except InputFileError as exc:
        found.add_error(origin, exc)


def _load_octodns_zone(path: Path, display: str, found: ZoneSet) -> None:
    zone = path.name[: -len(path.suffix)]
    try:
        found.zones.append(octodns_zones.load_zone(path.parent, zone, display))
    except InputFileError as exc:
        found.add_error(zone, exc)


def _zones_named_in(config: Path) -> list[str]:
    """Zone names listed under ``zones:`` in an octoDNS config, read without octoDNS (best effort)."""
    names = []
    in_zones = False
    indent: int | None = None
    for line in config.read_text(encoding="utf-8", errors="replace").splitlines():
        if re.match(r"^zones[ \t]*:", line):
            in_zones = True
            continue
        if not in_zones or not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            break
        depth = len(line) - len(line.lstrip())
        indent = depth if indent is None else indent
        match = re.match(r"^\s+['\"]?([A-Za-z0-9_.*-]+\.?)['\"]?[ \t]*:", line)
        if match and depth == indent:
            names.append(match.group(1))
    return names


_TOP_KEY = re.compile(r"^(providers|zones)[ \t]*:", re.MULTILINE)


def _is_octodns_config(path: Path) -> bool:
    # A textual look, since octoDNS configs may use tags (!include) that a plain YAML parser refuses.
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            head = handle.read(1 << 20)
    except OSError:
        return False
    return {m.group(1) for m in _TOP_KEY.finditer(head)} == {"providers", "zones"}
