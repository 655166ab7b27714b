"""The benchmark: ``python -m benchmarks.run`` (see docs/performance.md).

For each size N it generates N synthetic domains (benchmarks/synth.py), serves them with Knot DNS on
127.0.0.1 behind a proxy that holds every answer for ``--latency-ms``, and measures, each in a fresh
process:

  (a) ``pytest --mailflow`` on the domains' policies through live DNS (via the proxy);
  (b) checkdmarc on the same domains through the same proxy;
  (c) bare pytest with as many trivial test items as (a) collected;
  (d) (a) replayed from cassettes recorded beforehand;
  (e) collection alone (``--collect-only``) of the policies;
  and at the largest size, (a) and (c) again with pytest-xdist ``-n 2``.

It prints wall time, peak memory (max RSS of the process tree), queries sent and unique questions (as the
proxy saw them), prefetch misses (from pytest-mailflow's summary) and the ratios, writes ``results.json``
and a PNG plot of wall time against N for (a) and (b) into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.latency_proxy import LatencyProxy
from benchmarks.synth import write
from tests.support.knot import KnotServer

ROOT = Path(__file__).resolve().parents[1]
PYTEST = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--tb=line"]


@dataclass
class Measurement:
    name: str
    size: int
    wall: float
    max_rss_mb: float
    items: int = 0
    queries_sent: int = 0
    unique_questions: int = 0
    prefetch_misses: int | None = None
    note: str = ""


def timed(command: list[str], cwd: Path, log: Path) -> tuple[float, float, str]:
    """Run a command; its wall time, the max RSS of it and its waited-for children (MB), and its output."""
    with log.open("w") as out:
        began = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=_env())
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - began
    process.returncode = os.waitstatus_to_exitcode(status)
    text = log.read_text(encoding="utf-8", errors="replace")
    if process.returncode not in (0, 1):  # 1: some checks failed, as the broken domains should
        raise RuntimeError(f"{' '.join(command)} exited {process.returncode}; see {log}\n{text[-2000:]}")
    return wall, usage.ru_maxrss / 1024, text


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _items(text: str) -> int:
    counts = re.findall(r"(\d+) (passed|failed|error|errors|xfailed|tests? collected)", text)
    return sum(int(n) for n, _ in counts)


def _misses(text: str) -> int | None:
    found = re.search(r"prefetch misses: (\d+)", text)
    return int(found.group(1)) if found else None


def bare_tests(folder: Path, items: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "test_bare.py"
    path.write_text(
        f"import pytest\n\n\n@pytest.mark.parametrize('i', range({items}))\ndef test_trivial(i):\n    pass\n"
    )
    return folder


def measure_size(
    size: int, work: Path, latency: float, with_checkdmarc: bool, xdist: bool, sequential: bool = False
) -> list[Measurement]:
    folder = work / f"n{size}"
    domains, zones = write(folder, size)
    (folder / "domains.txt").write_text("\n".join(d.name for d in domains) + "\n")
    policies = folder / "policies"
    rows: list[Measurement] = []
    with KnotServer(folder / "knot", zones) as knot, LatencyProxy(knot.port, latency) as proxy:
        live = ["--mailflow-source", "live", "--mailflow-nameserver", f"127.0.0.1:{proxy.port}"]
        common = [*PYTEST, "--mailflow", "--rootdir", str(folder), str(policies)]

        def run(name: str, command: list[str], note: str = "") -> Measurement:
            proxy.reset()
            wall, rss, text = timed(command, folder, folder / f"{name}.log")
            row = Measurement(name, size, wall, rss, _items(text), proxy.counts.queries, proxy.counts.unique)
            row.prefetch_misses, row.note = _misses(text), note
            rows.append(row)
            print(f"  {name:<28} {wall:8.2f} s  {rss:7.0f} MB  {row.items:>7} items  {row.queries_sent:>7} "
                  f"queries / {row.unique_questions:>7} unique  misses {row.prefetch_misses}", flush=True)  # fmt: skip
            return row

        mailflow = run("a_mailflow_live", [*common, *live])
        if with_checkdmarc:
            run("b_checkdmarc", [sys.executable, "-m", "benchmarks.checkdmarc_run", str(proxy.port), "domains.txt"])
        bare = bare_tests(folder / "bare", mailflow.items)
        run("c_bare_pytest", [*PYTEST, "--rootdir", str(bare), str(bare)])
        # Cassettes are recorded straight from Knot (not timed), then replayed without any server.
        cassettes = folder / "cassettes"
        record = [*common, "--mailflow-record-mode", "all", "--mailflow-nameserver", f"127.0.0.1:{knot.port}"]
        timed([*record, "--mailflow-cassettes", str(cassettes)], folder, folder / "record.log")
        run("d_cassette_replay", [*common, "--mailflow-cassettes", str(cassettes)])
        run("e_collect_only", [*common, "--collect-only"])
        if xdist:
            run("a_mailflow_live_xdist2", [*common, *live, "-n", "2"])
            run("c_bare_pytest_xdist2", [*PYTEST, "--rootdir", str(bare), str(bare), "-n", "2"])
        if sequential:
            # When does xdist pay? When each process waits for DNS one question at a time.
            one_by_one = [*common, *live, "--mailflow-concurrency", "1"]
            run("f_mailflow_live_sequential", one_by_one)
            run("f_mailflow_live_sequential_xdist2", [*one_by_one, "-n", "2"])
    return rows


def ratios(rows: list[Measurement], size: int) -> dict[str, float]:
    # The concurrency-1 runs are made at the smallest size only; their ratio compares them with each other.
    wall = {r.name: r.wall for r in rows if r.size == size or r.name.startswith("f_")}
    out = {}
    for label, top, bottom in (
        ("(b)/(a) checkdmarc / mailflow", "b_checkdmarc", "a_mailflow_live"),
        ("(a)/(c) mailflow live / bare pytest", "a_mailflow_live", "c_bare_pytest"),
        ("(d)/(c) cassette replay / bare pytest", "d_cassette_replay", "c_bare_pytest"),
        ("(e)/(c) collection / bare pytest", "e_collect_only", "c_bare_pytest"),
        ("xdist -n 2 / one process, mailflow live", "a_mailflow_live_xdist2", "a_mailflow_live"),
        ("xdist -n 2 / one process, bare pytest", "c_bare_pytest_xdist2", "c_bare_pytest"),
        ("xdist -n 2 / one process, concurrency 1", "f_mailflow_live_sequential_xdist2", "f_mailflow_live_sequential"),
    ):
        if top in wall and bottom in wall:
            out[label] = wall[top] / wall[bottom]
    return out


def plot(rows: list[Measurement], path: Path, latency_ms: float) -> bool:
    """The PNG of wall time against N; False when matplotlib is not installed (extra ``bench``)."""
    try:
        import matplotlib
    except ImportError:
        return False

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5), dpi=120)
    for name, label, style in (
        ("b_checkdmarc", "checkdmarc", "o-"),
        ("a_mailflow_live", "pytest --mailflow (live)", "s-"),
        ("c_bare_pytest", "bare pytest, same item count", "^--"),
        ("d_cassette_replay", "pytest --mailflow (cassettes)", "v:"),
    ):
        points = sorted((r.size, r.wall) for r in rows if r.name == name)
        if points:
            axes.plot([p[0] for p in points], [p[1] for p in points], style, label=label)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("domains")
    axes.set_ylabel("wall time (s, log scale)")
    axes.set_title(f"Checking N domains, {latency_ms:g} ms per DNS answer")
    axes.grid(True, alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,300,1000", help="comma-separated domain counts (default %(default)s)")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="delay per DNS answer (default 20)")
    parser.add_argument("--no-checkdmarc", action="store_true", help="skip (b), the slow part")
    parser.add_argument("--no-xdist", action="store_true", help="skip the -n 2 runs at the largest size")
    parser.add_argument(
        "--sequential",
        action="store_true",
        help="at the smallest size, also run (a) with --mailflow-concurrency 1, alone and with -n 2",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results", help="where results go")
    parser.add_argument("--plot-only", type=Path, metavar="RESULTS_JSON", help="redraw the plot of a finished run")
    args = parser.parse_args(argv)
    if args.plot_only:
        earlier = json.loads(args.plot_only.read_text())
        done = plot([Measurement(**row) for row in earlier["rows"]], args.out / "wall-time.png", earlier["latency_ms"])
        return 0 if done else 1
    sizes = sorted(int(s) for s in args.sizes.split(","))
    args.out.mkdir(parents=True, exist_ok=True)
    rows: list[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="mailflow-bench-") as work:
        for size in sizes:
            print(f"N = {size} domains, {args.latency_ms:g} ms per answer", flush=True)
            largest, smallest = size == sizes[-1], size == sizes[0]
            rows += measure_size(
                size,
                Path(work),
                args.latency_ms / 1000,
                not args.no_checkdmarc,
                largest and not args.no_xdist,
                smallest and args.sequential,
            )
    summary = ratios(rows, sizes[-1])
    print(f"\nratios at N = {sizes[-1]}:")
    for label, value in summary.items():
        print(f"  {label:<42} {value:6.2f}")
    machine = {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()}
    results = {"latency_ms": args.latency_ms, "machine": machine, "rows": [asdict(r) for r in rows], "ratios": summary}
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    written = [args.out / "results.json"]
    if plot(rows, args.out / "wall-time.png", args.latency_ms):
        written.append(args.out / "wall-time.png")
    else:
        print("\nno plot: matplotlib is not installed (pip install -e '.[bench]')")
    print("\nwrote " + " and ".join(str(path) for path in written))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
