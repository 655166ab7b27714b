"""Run a real Knot DNS authoritative server on 127.0.0.1 for live-DNS tests.

``KnotServer(workdir, zones)`` writes the zone files and a knotd configuration into ``workdir``, starts
``knotd -c <conf>`` in the foreground at a free port and waits until every zone answers its SOA. Nothing
listens anywhere but 127.0.0.1; no DNSSEC, no journal, and knotd never rewrites the zone files.

``require_knotd()`` returns the knotd path, or skips the test when knotd is missing — unless
``MAILFLOW_REQUIRE_KNOT=1`` (CI), in which case a missing knotd fails the test.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

__all__ = ["KnotServer", "KnotStartError", "free_port", "knotd_path", "require_knotd"]

REQUIRE_ENV = "MAILFLOW_REQUIRE_KNOT"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
_POLL_TIMEOUT = 0.05
# sun_path holds 108 bytes on Linux (104 on BSD); knotd exits if its control socket path does not fit.
_MAX_SOCKET_PATH = 100


class KnotStartError(RuntimeError):
    """knotd exited early or never answered; the message carries its stderr."""


def knotd_path() -> str | None:
    """The knotd executable on PATH (or in the usual sbin folders), or None."""
    found = shutil.which("knotd")
    if found:
        return found
    for folder in ("/usr/sbin", "/usr/local/sbin", "/sbin"):
        candidate = Path(folder) / "knotd"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def require_knotd() -> str:
    """knotd's path; skip the test if knotd is missing, or fail it when ``MAILFLOW_REQUIRE_KNOT=1``."""
    path = knotd_path()
    if path is not None:
        return path
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"knotd is not installed, and {REQUIRE_ENV}=1 requires it")
    pytest.skip("knotd is not installed")


def free_port(attempts: int = 50) -> int:
    """A port on 127.0.0.1 that is free for both UDP and TCP right now (the caller binds it later)."""
    for _ in range(attempts):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port: int = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise OSError("no port on 127.0.0.1 is free for both UDP and TCP")


def _quote(value: str | Path) -> str:
    text = str(value)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _zone_name(origin: str) -> str:
    """``contoso.example.`` / ``Contoso.Example`` -> ``contoso.example`` (knotd's ``%s``)."""
    name = origin.strip().rstrip(".").lower()
    if not name:
        raise ValueError("the root zone is not supported")
    return name


class KnotServer:
    """A knotd serving ``zones`` (origin -> BIND master-format text with SOA and NS) on 127.0.0.1."""

    address = "127.0.0.1"

    def __init__(self, workdir: Path, zones: dict[str, str], *, knotd: str | None = None) -> None:
        if not zones:
            raise ValueError("KnotServer needs at least one zone")
        self.workdir = Path(workdir).resolve()
        self.zones = {_zone_name(origin): text for origin, text in zones.items()}
        self.zone_dir = self.workdir / "zones"
        self.rundir = self.workdir / "run"
        self.database = self.workdir / "db"
        self.config_path = self.workdir / "knot.conf"
        self.stderr_path = self.workdir / "knotd.stderr"
        self.port = 0
        self.startup_seconds: float | None = None
        self._knotd = knotd
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._short_rundir: Path | None = None

    # -- lifecycle -----------------------------------------------------------------------------------------

    def start(self) -> Self:
        if self._process is not None:
            raise RuntimeError("KnotServer is already running")
        knotd = self._knotd or knotd_path()
        if knotd is None:
            raise KnotStartError("knotd is not installed")
        for folder in (self.zone_dir, self.rundir, self.database):
            folder.mkdir(parents=True, exist_ok=True)
        for name, text in self.zones.items():
            (self.zone_dir / f"{name}.zone").write_text(text if text.endswith("\n") else text + "\n", "utf-8")
        self.port = free_port()
        if len(os.fsencode(self.control_socket)) > _MAX_SOCKET_PATH:
            self._short_rundir = Path(tempfile.mkdtemp(prefix="knot-"))
        self.config_path.write_text(self.config_text(), encoding="utf-8")

        began = time.monotonic()
        self._stderr = self.stderr_path.open("wb")
        self._process = subprocess.Popen(
            [knotd, "-c", str(self.config_path)],
            stdin=subprocess.DEVNULL,
            stdout=self._stderr,
            stderr=self._stderr,
            cwd=self.workdir,
        )
        try:
            self._wait_until_serving(began + START_TIMEOUT)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        if self._short_rundir is not None:
            shutil.rmtree(self._short_rundir, ignore_errors=True)
            self._short_rundir = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def control_socket(self) -> Path:
        """knotd's control socket: in ``rundir``, or in a short temporary folder when that path is too long."""
        return (self._short_rundir or self.rundir) / "knot.sock"

    def stderr_text(self) -> str:
        try:
            return self.stderr_path.read_text("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    # -- configuration -------------------------------------------------------------------------------------

    def config_text(self) -> str:
        zones = "".join(f"  - domain: {_quote(name + '.')}\n" for name in self.zones)
        return (
            "server:\n"
            f"    listen: {self.address}@{self.port}\n"
            f"    rundir: {_quote(self.rundir)}\n"
            "    udp-workers: 1\n"
            "    tcp-workers: 1\n"
            "    background-workers: 1\n"
            "\n"
            "control:\n"
            f"    listen: {_quote(self.control_socket)}\n"
            "\n"
            "log:\n"
            "  - target: stderr\n"
            "    any: warning\n"
            "\n"
            "database:\n"
            f"    storage: {_quote(self.database)}\n"
            "\n"
            "template:\n"
            "  - id: default\n"
            f"    storage: {_quote(self.zone_dir)}\n"
            '    file: "%s.zone"\n'
            "    zonefile-sync: -1\n"
            "    zonefile-load: whole\n"
            "    journal-content: none\n"
            "\n"
            "zone:\n"
            f"{zones}"
        )

    # -- readiness -----------------------------------------------------------------------------------------

    def _wait_until_serving(self, deadline: float) -> None:
        pending = list(self.zones)
        last = "no answer yet"
        while pending:
            assert self._process is not None
            code = self._process.poll()
            if code is not None:
                raise KnotStartError(f"knotd exited early with status {code}:\n{self.stderr_text()}")
            if time.monotonic() >= deadline:
                raise KnotStartError(
                    f"knotd did not serve zone {pending[0]!r} on {self.address}@{self.port} "
                    f"within {START_TIMEOUT:.0f} s ({last}):\n{self.stderr_text()}"
                )
            query = dns.message.make_query(pending[0] + ".", dns.rdatatype.SOA)
            try:
                response = dns.query.udp(query, self.address, port=self.port, timeout=_POLL_TIMEOUT)
            except (dns.exception.Timeout, OSError) as error:
                last = f"{type(error).__name__}: {error}"
                time.sleep(0.02)
                continue
            if response.rcode() == dns.rcode.NOERROR and response.flags & dns.flags.AA and response.answer:
                pending.pop(0)
                continue
            last = f"SOA query answered {dns.rcode.to_text(response.rcode())}"
            if f" error: [{pending[0]}.] " in self.stderr_text():
                raise KnotStartError(f"knotd could not load zone {pending[0]!r} ({last}):\n{self.stderr_text()}")
            time.sleep(0.02)
