"""The bad-input corpus: every malformed file gives one located, actionable error, fast, and nothing else breaks.

Each case of ``corpus/manifest.yaml`` is loaded twice: with its kind's loader (exactly one problem, at the
expected line, with the expected message) and through the plugin beside good files (the good files'
checks still pass; the output names the file and line and holds no traceback). Cases that cannot be
committed (a 50 MB file, symbolic links, a FIFO, a folder in a file's place) are made here.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_mailflow.dns.cassette import Cassette
from pytest_mailflow.dns.zonefiles import load_zone_paths
from pytest_mailflow.errors import InputFileError, Problem
from pytest_mailflow.policy.load import load_policy
from pytest_mailflow.tenant.load import load_tenant_export
from pytest_mailflow.waivers import load_waiver_files
from tests.hardening.guard import deadline

CORPUS = Path(__file__).parent / "corpus"
MANIFEST: dict[str, dict[str, Any]] = yaml.safe_load((CORPUS / "manifest.yaml").read_text(encoding="utf-8"))
#: Generous: the slowest case (an alias bomb) takes a fraction of a second.
LOAD_SECONDS = 10
RUN_SECONDS = 30

#: How each kind's file is placed and named in a test folder.
PLACED = {
    "policy": "bad.yaml",
    "waivers": "waivers.yaml",
    "cassettes": "cassettes/b.example.yaml",
    "zones-bind": "zones/b.example.zone",
    "zones-octodns": "zones/b.example.yaml",
    "tenant": "tenant.json",
}

GOOD_POLICY = """\
mailflow: 1
domains:
  a.example:
    scenario: custom
    rules: [MF-MX-001, MF-SPF-001]
"""
GOOD_CASSETTE = """\
mailflow_cassette: 1
domain: a.example
answers:
- name: a.example.
  type: MX
  rcode: NOERROR
  records:
  - 10 mx.a.example.
- name: a.example.
  type: TXT
  rcode: NOERROR
  records:
  - '"v=spf1 -all"'
"""
GOOD_ZONE = """\
$ORIGIN a.example.
$TTL 3600
@ SOA ns1.a.example. hostmaster.a.example. 1 3600 600 1209600 3600
@ NS ns1.a.example.
@ MX 10 mx.a.example.
@ TXT "v=spf1 -all"
mx A 192.0.2.25
"""
GOOD_ITEMS = 2


def cases(*kinds: str) -> list[Any]:
    return [pytest.param(name, id=name) for name in MANIFEST if name.split("/", 1)[0] in kinds]


def place(folder: Path, name: str) -> Path:
    """Copy corpus file ``name`` into ``folder`` under its kind's standard name."""
    target = folder / PLACED[name.split("/", 1)[0]]
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(CORPUS / name, target)
    return target


def load_zones(folder: Path) -> None:
    found = load_zone_paths([folder / "zones"], folder)
    if found.problems:
        raise InputFileError(found.problems)


LOADERS: dict[str, Callable[[Path, Path], object]] = {
    "policy": lambda path, root: load_policy(path, PLACED["policy"]),
    "waivers": lambda path, root: load_waiver_files([(path, PLACED["waivers"])]),
    "cassettes": lambda path, root: Cassette.load(path, PLACED["cassettes"]),
    "zones-bind": lambda path, root: load_zones(root),
    "zones-octodns": lambda path, root: load_zones(root),
    "tenant": lambda path, root: load_tenant_export(path, PLACED["tenant"]),
}


def problems_of(kind: str, path: Path, root: Path) -> list[Problem]:
    started = time.monotonic()
    with deadline(LOAD_SECONDS), pytest.raises(InputFileError) as caught:
        LOADERS[kind](path, root)
    assert time.monotonic() - started < LOAD_SECONDS
    return caught.value.problems


def assert_clean(output: str) -> None:
    """No Python traceback, in any form, reached the user."""
    assert "Traceback" not in output
    assert 'File "/' not in output
    assert "INTERNALERROR" not in output


def test_the_corpus_is_large_and_every_file_is_listed() -> None:
    files = sorted(str(p.relative_to(CORPUS)) for p in CORPUS.rglob("*") if p.is_file() and p.name != "manifest.yaml")
    assert files == sorted(MANIFEST)
    assert len(files) >= 80
    assert {name.split("/", 1)[0] for name in files} == set(PLACED)


@pytest.mark.parametrize("name", cases(*PLACED))
def test_one_located_problem(name: str, tmp_path: Path) -> None:
    kind = name.split("/", 1)[0]
    expected = MANIFEST[name]
    path = place(tmp_path, name)
    (problem,) = problems_of(kind, path, tmp_path)
    text = str(problem)
    assert text.startswith(f"{PLACED[kind]}:{expected['line']}:") or f"/{PLACED[kind]}:{expected['line']}:" in text
    assert expected["error"] in text
    assert_clean(text)
    # Hostile bytes never reach the terminal as themselves.
    assert not any(ord(ch) < 32 for ch in text)


@pytest.mark.parametrize("name", cases("policy"))
def test_a_bad_policy_beside_a_good_one(name: str, pytester: pytest.Pytester) -> None:
    expected = MANIFEST[name]
    (pytester.path / "good.yaml").write_text(GOOD_POLICY)
    (pytester.path / "cassettes").mkdir()
    (pytester.path / "cassettes" / "a.example.yaml").write_text(GOOD_CASSETTE)
    place(pytester.path, name)
    with deadline(RUN_SECONDS):
        result = pytester.runpytest("--mailflow", "-p", "no:cacheprovider")
    output = result.stdout.str() + result.stderr.str()
    assert_clean(output)
    if expected.get("collected", True) is False:
        result.assert_outcomes(passed=GOOD_ITEMS)
        return
    result.assert_outcomes(passed=GOOD_ITEMS, errors=1)
    assert f"bad.yaml:{expected['line']}:" in output
    assert expected["error"] in output
    assert "Fix the problems above; the other policy files still run." in output


def _cassette_folder(folder: Path, bad: str) -> None:
    (folder / "policy.yaml").write_text(GOOD_POLICY + "  b.example:\n    scenario: custom\n    rules: [MF-MX-001]\n")
    (folder / "cassettes").mkdir(exist_ok=True)
    (folder / "cassettes" / "a.example.yaml").write_text(GOOD_CASSETTE)
    place(folder, bad)


@pytest.mark.parametrize("name", cases("cassettes"))
def test_a_bad_cassette_is_an_error_for_its_domain_only(name: str, pytester: pytest.Pytester) -> None:
    expected = MANIFEST[name]
    _cassette_folder(pytester.path, name)
    with deadline(RUN_SECONDS):
        result = pytester.runpytest("--mailflow", "-p", "no:cacheprovider")
    output = result.stdout.str() + result.stderr.str()
    assert_clean(output)
    result.assert_outcomes(passed=GOOD_ITEMS, errors=1)
    assert f"the cassette is invalid (cassettes/b.example.yaml:{expected['line']}:" in output
    assert expected["error"] in output
    assert "Fix the cause above" in output


@pytest.mark.parametrize("name", cases("zones-bind", "zones-octodns"))
def test_a_bad_zone_file_is_an_error_for_its_names_only(name: str, pytester: pytest.Pytester) -> None:
    expected = MANIFEST[name]
    (pytester.path / "policy.yaml").write_text(
        GOOD_POLICY + "  b.example:\n    scenario: custom\n    rules: [MF-MX-001]\n"
    )
    (pytester.path / "zones").mkdir()
    (pytester.path / "zones" / "a.example.zone").write_text(GOOD_ZONE)
    placed = PLACED[name.split("/", 1)[0]]
    place(pytester.path, name)
    with deadline(RUN_SECONDS):
        result = pytester.runpytest(
            "--mailflow", "-p", "no:cacheprovider", "--mailflow-zones", "zones", "--mailflow-fallback", "none"
        )
    output = result.stdout.str() + result.stderr.str()
    assert_clean(output)
    result.assert_outcomes(passed=GOOD_ITEMS, errors=1)
    assert f"{placed}:{expected['line']}:" in output
    assert expected["error"] in output
    assert "mailflow: zone files with problems" in output


@pytest.mark.parametrize("name", cases("waivers"))
def test_a_bad_waiver_file_stops_the_run_with_its_problem(name: str, pytester: pytest.Pytester) -> None:
    expected = MANIFEST[name]
    (pytester.path / "good.yaml").write_text(GOOD_POLICY)
    place(pytester.path, name)
    with deadline(RUN_SECONDS):
        result = pytester.runpytest("--mailflow", "-p", "no:cacheprovider", "--mailflow-waivers", "waivers.yaml")
    output = result.stdout.str() + result.stderr.str()
    assert_clean(output)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"waivers.yaml:{expected['line']}:" in output
    assert expected["error"] in output
    assert "fix them (or run without --mailflow-waivers)" in output


@pytest.mark.parametrize("name", cases("tenant"))
def test_a_bad_tenant_export_is_an_error_for_the_connector_checks(name: str, pytester: pytest.Pytester) -> None:
    expected = MANIFEST[name]
    (pytester.path / "policy.yaml").write_text(
        GOOD_POLICY + "  b.example:\n    scenario: custom\n    rules: [MF-CONN-001]\n    tenant_export: tenant.json\n"
    )
    (pytester.path / "cassettes").mkdir()
    (pytester.path / "cassettes" / "a.example.yaml").write_text(GOOD_CASSETTE)
    (pytester.path / "cassettes" / "b.example.yaml").write_text(
        "mailflow_cassette: 1\ndomain: b.example\nanswers: []\n"
    )
    place(pytester.path, name)
    with deadline(RUN_SECONDS):
        result = pytester.runpytest("--mailflow", "-p", "no:cacheprovider")
    output = result.stdout.str() + result.stderr.str()
    assert_clean(output)
    result.assert_outcomes(passed=GOOD_ITEMS, errors=1)
    assert f"the tenant export cannot be used: tenant.json:{expected['line']}:" in output
    assert expected["error"] in output


# --- cases made here ----------------------------------------------------------------------------------

BIG = 50 * 1024 * 1024


def _big_file(path: Path, head: bytes) -> Path:
    """A 50 MB file that starts like the real thing (sparse: no 50 MB is written to the disk)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.write(head)
        handle.truncate(BIG)
    return path


BIG_HEADS = {
    "policy": b"mailflow: 1\ndomains:\n",
    "waivers": b"mailflow_waivers: 1\nwaivers:\n",
    "cassettes": b"mailflow_cassette: 1\ndomain: b.example\nanswers:\n",
    "zones-bind": b"$ORIGIN b.example.\n",
    "zones-octodns": b"'':\n",
    "tenant": b'{"mailflow_tenant_export": 1,\n',
}


@pytest.mark.parametrize("kind", sorted(BIG_HEADS))
def test_a_50_mb_file_is_refused_at_once_by_its_size(kind: str, tmp_path: Path) -> None:
    path = _big_file(tmp_path / PLACED[kind], BIG_HEADS[kind])
    started = time.monotonic()
    (problem,) = problems_of(kind, path, tmp_path)
    assert time.monotonic() - started < 2
    assert f"the file is {BIG} bytes; a " in problem.message
    assert "may be at most" in problem.message
    assert problem.line == 1


def test_a_50_mb_policy_beside_a_good_one(pytester: pytest.Pytester) -> None:
    (pytester.path / "good.yaml").write_text(GOOD_POLICY)
    (pytester.path / "cassettes").mkdir()
    (pytester.path / "cassettes" / "a.example.yaml").write_text(GOOD_CASSETTE)
    _big_file(pytester.path / "bad.yaml", BIG_HEADS["policy"])
    started = time.monotonic()
    with deadline(RUN_SECONDS):
        result = pytester.runpytest("--mailflow", "-p", "no:cacheprovider")
    assert time.monotonic() - started < 10
    result.assert_outcomes(passed=GOOD_ITEMS, errors=1)
    result.stdout.fnmatch_lines([f"bad.yaml:1:1: the file is {BIG} bytes; a policy file may be at most 2 MiB: *"])


@pytest.fixture
def outside_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A file outside the folder under test, such as a secret a link could point at."""
    secret = tmp_path_factory.mktemp("elsewhere") / "secret.yaml"
    secret.write_text("token: do-not-print-me\n")
    return secret


def test_a_cassette_link_out_of_the_folder_is_not_read(pytester: pytest.Pytester, outside_file: Path) -> None:
    _cassette_folder(pytester.path, "cassettes/empty.yaml")
    bad = pytester.path / "cassettes" / "b.example.yaml"
    bad.unlink()
    bad.symlink_to(outside_file)
    result = pytester.runpytest("--mailflow", "-p", "no:cacheprovider")
    output = result.stdout.str()
    assert_clean(output)
    result.assert_outcomes(passed=GOOD_ITEMS, errors=1)
    assert "cassettes/b.example.yaml:1:1: this cassette is a symbolic link to a file outside" in output
    assert "do-not-print-me" not in output


def test_a_cassette_link_inside_the_folder_is_read(pytester: pytest.Pytester) -> None:
    _cassette_folder(pytester.path, "cassettes/empty.yaml")
    cassettes = pytester.path / "cassettes"
    (cassettes / "shared.yaml").write_text(GOOD_CASSETTE.replace("a.example", "b.example"))
    (cassettes / "b.example.yaml").unlink()
    (cassettes / "b.example.yaml").symlink_to("shared.yaml")
    pytester.runpytest("--mailflow", "-p", "no:cacheprovider").assert_outcomes(passed=GOOD_ITEMS + 1)


@pytest.mark.parametrize("what", ["fifo", "folder"])
def test_something_else_in_a_cassettes_place(what: str, pytester: pytest.Pytester) -> None:
    _cassette_folder(pytester.path, "cassettes/empty.yaml")
    bad = pytester.path / "cassettes" / "b.example.yaml"
    bad.unlink()
    if what == "fifo":
        os.mkfifo(bad)  # opening a FIFO would block until a writer comes: it must not be opened
    else:
        bad.mkdir()
    with deadline(RUN_SECONDS):
        result = pytester.runpytest("--mailflow", "-p", "no:cacheprovider")
    assert_clean(result.stdout.str())
    result.assert_outcomes(passed=GOOD_ITEMS, errors=1)
    kind = "a folder" if what == "folder" else "not a regular file"
    result.stdout.fnmatch_lines([f"*the cassette is invalid (cassettes/b.example.yaml:1:1: this is {kind}*"])


@pytest.mark.parametrize("suffix", [".zone", ".yaml"])
def test_a_zone_link_out_of_the_folder_is_not_read(suffix: str, pytester: pytest.Pytester, outside_file: Path) -> None:
    (pytester.path / "policy.yaml").write_text(
        GOOD_POLICY + "  b.example:\n    scenario: custom\n    rules: [MF-MX-001]\n"
    )
    zones = pytester.path / "zones"
    zones.mkdir()
    (zones / "a.example.zone").write_text(GOOD_ZONE)
    (zones / f"b.example{suffix}").symlink_to(outside_file)
    result = pytester.runpytest(
        "--mailflow", "-p", "no:cacheprovider", "--mailflow-zones", "zones", "--mailflow-fallback", "none"
    )
    output = result.stdout.str()
    assert_clean(output)
    result.assert_outcomes(passed=GOOD_ITEMS, errors=1)
    assert f"zones/b.example{suffix}:1:1: this zone file is a symbolic link to a file outside zones" in output
    assert "do-not-print-me" not in output


def test_an_octodns_include_inside_the_zone_folder_still_works(tmp_path: Path) -> None:
    zones = tmp_path / "zones"
    zones.mkdir()
    (zones / "b.example.yaml").write_text("'': !include apex.yaml\n")
    (zones / "apex.yaml").write_text("type: A\nvalue: 192.0.2.1\n")
    found = load_zone_paths([zones], tmp_path)
    assert not found.problems
    assert [z.display for z in found.zones] == ["zones:b.example."]


def test_yaml_is_only_ever_loaded_safely() -> None:
    # Every YAML reader of the package goes through yaml.compose/safe_load with the safe loader; a
    # full or unsafe loader anywhere would turn a python/object tag in an input file into code.
    package = Path(__file__).resolve().parents[2] / "pytest_mailflow"
    unsafe = ("yaml.load(", "yaml.load_all(", "unsafe_load", "full_load", "FullLoader", "UnsafeLoader", "yaml.Loader")
    found = [
        f"{path.relative_to(package)}: {word}"
        for path in package.rglob("*.py")
        for word in unsafe
        if word in path.read_text(encoding="utf-8")
    ]
    assert found == []
