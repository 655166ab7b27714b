"""A recording killed with SIGKILL at any moment leaves a cassette that loads: the old one or the new one.

The writer (dns/cassette.py write_atomic) writes a temporary file beside the cassette, syncs it and
renames it over the cassette. These tests kill writers at random moments (seeded, so a failure can be
replayed) and read what is left.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pytest_mailflow.dns.base import Answer, Question
from pytest_mailflow.dns.cassette import Cassette, CassetteFolderFactory, dump
from tests.support.faultserver import BehaviourKey, BehaviourSpec, FaultServer

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = "b.example"
KILLS = 5


def big_cassette(tag: str, answers: int = 1500) -> str:
    """A cassette of about 1 MB, so that writing it takes long enough to be caught in the middle."""
    recorded: dict[Question, Answer | Exception] = {}
    for index in range(answers):
        question = Question.of(f"host{index}.{DOMAIN}", "TXT")
        recorded[question] = Answer(question, "NOERROR", (f'"{tag}-{index:05d}-{"x" * 230}"',))
    return dump(DOMAIN, recorded)  # type: ignore[arg-type]


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from pytest_mailflow.dns.cassette import write_atomic

    path = Path(sys.argv[1])
    texts = [Path(sys.argv[2]).read_text(encoding="utf-8"), Path(sys.argv[3]).read_text(encoding="utf-8")]
    print("ready", flush=True)
    turn = 0
    while True:
        write_atomic(path, texts[turn % 2])
        turn += 1
    """
)


def test_a_writer_killed_at_random_moments_leaves_the_old_or_the_new_cassette(tmp_path: Path) -> None:
    old, new = big_cassette("old"), big_cassette("new")
    sources = tmp_path / "old.txt", tmp_path / "new.txt"
    sources[0].write_text(old, encoding="utf-8")
    sources[1].write_text(new, encoding="utf-8")
    cassettes = tmp_path / "cassettes"
    cassettes.mkdir()
    path = cassettes / f"{DOMAIN}.yaml"
    path.write_text(old, encoding="utf-8")
    chance = random.Random(7208)
    for _ in range(KILLS):
        with subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), *map(str, sources)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        ) as writer:
            try:
                assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
                time.sleep(chance.uniform(0.01, 0.25))
            finally:
                writer.send_signal(signal.SIGKILL)
                writer.wait(timeout=10)
        # Equal to one of two valid cassettes, so it loads (checked once below: loading takes a second).
        assert path.read_text(encoding="utf-8") in (old, new)
    assert len(Cassette.load(path, path.name).entries) == 1500
    # The writer spends nearly all its time between creating its temporary file and renaming it, so
    # the kills caught writes in the middle: their temporary files are still there.
    assert any(p.name.endswith(".tmp") for p in cassettes.iterdir())
    # A killed writer may leave its temporary file; it is never taken for a cassette ...
    factory = CassetteFolderFactory(cassettes, tmp_path)
    answer = factory.source_for(DOMAIN, "policy.yaml").resolve(Question.of(f"host1.{DOMAIN}", "TXT"))
    assert answer.records[0].startswith(('"old-00001', '"new-00001'))
    assert [p.name for p in cassettes.iterdir() if not p.name.startswith(".")] == [path.name]


def test_the_next_recording_removes_what_killed_writers_left(tmp_path: Path) -> None:
    cassettes = tmp_path / "cassettes"
    cassettes.mkdir()
    stale = cassettes / f".{DOMAIN}.yaml.abc123.tmp"
    stale.write_text("half a cassette")
    other = cassettes / ".other.example.yaml.abc123.tmp"  # another cassette's: not this writer's business
    other.write_text("half another cassette")

    class Upstream:
        def resolve(self, question: Question) -> Answer:
            return Answer(question, "NXDOMAIN")

        def describe(self) -> str:
            return "test upstream"

    source = CassetteFolderFactory(cassettes, tmp_path, "all", Upstream()).source_for(DOMAIN, "policy.yaml")
    source.resolve(Question.of(DOMAIN, "MX"))
    assert source.flush()
    assert not stale.exists()
    assert other.exists()
    assert Cassette.load(cassettes / f"{DOMAIN}.yaml").entries


ZONE: dict[BehaviourKey, BehaviourSpec] = {
    f"{DOMAIN}.": {"MX": [f"10 mx.{DOMAIN}."], "TXT": ['"v=spf1 -all"']},
    f"mx.{DOMAIN}.": {"A": ["192.0.2.25"]},
}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_recording_run_killed_at_a_random_moment(tmp_path: Path, seed: int) -> None:
    (tmp_path / "policy.yaml").write_text(
        f"mailflow: 1\ndomains:\n  {DOMAIN}:\n    scenario: custom\n    rules: [MF-MX-001, MF-SPF-001]\n"
    )
    cassettes = tmp_path / "cassettes"
    cassettes.mkdir()
    path = cassettes / f"{DOMAIN}.yaml"
    previous = dump(DOMAIN, {Question.of(DOMAIN, "MX"): Answer(Question.of(DOMAIN, "MX"), "NXDOMAIN")})
    path.write_text(previous)
    command = [sys.executable, "-m", "pytest", "--mailflow", "-p", "no:cacheprovider", "-q"]
    with (
        FaultServer(ZONE) as server,
        subprocess.Popen(
            [*command, "--mailflow-record-mode", "all", "--mailflow-nameserver", f"127.0.0.1:{server.port}"],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        ) as run,
    ):
        time.sleep(random.Random(seed).uniform(0.2, 1.5))
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=30)
    text = path.read_text()
    assert Cassette.load(path).domain == DOMAIN
    assert text == previous or f"10 mx.{DOMAIN}." in text


def test_a_cassette_that_cannot_be_written_is_an_error_with_its_cause(pytester: pytest.Pytester) -> None:
    (pytester.path / "policy.yaml").write_text(
        f"mailflow: 1\ndomains:\n  {DOMAIN}:\n    scenario: custom\n    rules: [MF-MX-001]\n"
    )
    (pytester.path / "not-a-folder").write_text("a file where the cassette folder should be\n")
    with FaultServer(ZONE) as server:
        result = pytester.runpytest(
            "--mailflow",
            "-p",
            "no:cacheprovider",
            "--mailflow-cassettes",
            "not-a-folder",
            "--mailflow-record-mode",
            "once",
            "--mailflow-nameserver",
            f"127.0.0.1:{server.port}",
        )
    output = result.stdout.str()
    assert "Traceback" not in output and "FileExistsError" not in output
    result.assert_outcomes(errors=1)
    assert f"cannot write the cassette not-a-folder/{DOMAIN}.yaml: " in output
    assert "check that the cassette folder (--mailflow-cassettes) is a writable folder" in output
