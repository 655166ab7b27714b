"""One live-DNS cache for a whole run, filled concurrently by an asyncio resolver in a child process.

Every domain's gatherer, pyspf and the HTTPS fetcher ask through :class:`SharedResolver`: a question is
sent once per run however many domains need it (a vendor's SPF include is shared by thousands), and at
most ``max_in_flight`` questions are on the wire at once. The gatherers are ordinary blocking code
running in threads; they wait on futures that a reader thread completes as outcomes arrive from the
resolver process (see ``resolver_process.py`` for why it is a process), and can
:meth:`~SharedResolver.warm` questions they will need so that independent questions travel together.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from multiprocessing.connection import Connection

from .base import Answer, Question, ResolutionError
from .https import HttpsResult, LiveFetcher
from .live import LiveSource
from .resolver_process import Counters, Outcome, decode

#: Seconds to wait for the resolver process to leave when the run ends.
STOP_TIMEOUT = 5.0


@dataclass
class DnsStats:
    """What a run sent: queries on the wire (retries and private chases included) and unique questions."""

    queries_sent: int = 0
    unique_questions: int = 0
    in_flight_peak: int = 0

    @property
    def ratio(self) -> float:
        return self.queries_sent / self.unique_questions if self.unique_questions else 1.0


class SharedResolver:
    #: Safe to call from several threads at once: the gatherers of many domains share one instance.
    thread_safe = True

    def __init__(self, live: LiveSource, max_in_flight: int = 64) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.live = live
        self.max_in_flight = max_in_flight
        self._lock = threading.Lock()
        self._futures: dict[Question, Future[Outcome]] = {}
        self._process: subprocess.Popen[bytes] | None = None
        self._requests: Connection | None = None
        self._reader: threading.Thread | None = None
        self._counters: Counters = (0, 0, 0)

    # The source protocol (blocking; any thread).

    def resolve(self, question: Question) -> Answer:
        outcome = self._ask([question])[0].result()
        if isinstance(outcome, ResolutionError):
            raise outcome
        return outcome

    def describe(self) -> str:
        return self.live.describe()

    def fetch(self, url: str) -> HttpsResult:
        """HTTPS GET (MTA-STS policy files), the host's address coming from the shared cache."""
        return LiveFetcher(self.resolve, timeout=max(self.live.timeout, 5.0), port=self.live.https_port).fetch(url)

    def warm(self, questions: Iterable[Question]) -> None:
        """Start resolving questions without waiting for them (a hint: answers are read later)."""
        self._ask(list(questions))

    def stats(self) -> DnsStats:
        return DnsStats(*self._counters)

    def close(self) -> None:
        """Stop the resolver process (questions still in flight are answered with an error)."""
        with self._lock:
            process, requests, reader = self._process, self._requests, self._reader
            self._process = self._requests = self._reader = None
        if process is None or requests is None:
            return
        with contextlib.suppress(OSError):
            requests.send(None)
        requests.close()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if reader is not None:
            reader.join(timeout=STOP_TIMEOUT)

    # Internals.

    def _ask(self, questions: list[Question]) -> list[Future[Outcome]]:
        """The futures of these questions; those not asked before are sent to the resolver process."""
        futures: list[Future[Outcome]] = []
        new: list[tuple[str, str]] = []
        with self._lock:
            for question in questions:
                future = self._futures.get(question)
                if future is None:
                    future = self._futures[question] = Future()
                    new.append((question.name, question.rdtype))
                futures.append(future)
            if new:
                try:
                    # Sent under the lock: a Connection is not safe for concurrent writers.
                    self._start().send(new)
                except OSError as exc:
                    for name, rdtype in new:
                        question = Question(name, rdtype)
                        self._futures[question].set_result(
                            ResolutionError(question, "UNREACHABLE", f"the resolver process ended ({exc})", "live DNS")
                        )
        return futures

    def _start(self) -> Connection:
        if self._requests is not None:
            return self._requests
        request_read, request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        settings = {
            "servers": [str(server) for server in self.live.servers],
            "timeout": self.live.timeout,
            "retries": self.live.retries,
            "max_in_flight": self.max_in_flight,
        }
        command = [sys.executable, "-m", "pytest_mailflow.dns.resolver_process"]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        self._process = subprocess.Popen(
            [*command, str(request_read), str(reply_write), json.dumps(settings)],
            pass_fds=(request_read, reply_write),
            stdin=subprocess.DEVNULL,
            env=env,
        )
        os.close(request_read)
        os.close(reply_write)
        self._requests = Connection(request_write, readable=False)
        replies = Connection(reply_read, writable=False)
        self._reader = threading.Thread(target=self._read, args=(replies,), name="mailflow-dns", daemon=True)
        self._reader.start()
        return self._requests

    def _read(self, replies: Connection) -> None:
        """Complete futures as outcomes arrive; when the process ends, fail whatever is still waiting."""
        try:
            while True:
                try:
                    message = replies.recv()
                except (EOFError, OSError):
                    break
                question, outcome, counters = decode(message)
                self._counters = counters
                with self._lock:
                    future = self._futures.get(question)
                if future is not None and not future.done():
                    future.set_result(outcome)
        finally:
            replies.close()
            with self._lock:
                waiting = [(q, f) for q, f in self._futures.items() if not f.done()]
            for question, future in waiting:
                future.set_result(ResolutionError(question, "UNREACHABLE", "the resolver process ended", "live DNS"))
