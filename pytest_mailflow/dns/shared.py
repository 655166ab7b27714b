"""One live-DNS cache for a whole run, filled concurrently on an asyncio event loop.

Every domain's gatherer, pyspf and the HTTPS fetcher ask through :class:`SharedResolver`: a question is
sent once per run however many domains need it (a vendor's SPF include is shared by thousands), and at
most ``max_in_flight`` questions are on the wire at once. The gatherers are ordinary blocking code
running in threads; they wait on futures that the event loop (in its own daemon thread) completes, and
can :meth:`~SharedResolver.warm` questions they will need so that independent questions travel together.

Aliases that lead out of the answering server's zones are asked again through the same cache, so the
target's answer is shared too. A chase never waits on a question another chase is resolving (two
aliases pointing at each other would deadlock); it asks privately instead, which costs one query.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass

import dns.name

from .base import Answer, Question, ResolutionError
from .https import HttpsResult, LiveFetcher
from .live import Alias, LiveSource, askable_name, read_response

Outcome = Answer | ResolutionError


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
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._slots: asyncio.Semaphore | None = None
        self._tasks: set[asyncio.Future[None]] = set()
        self._in_flight = 0
        self._in_flight_peak = 0
        self._unique = 0

    # The source protocol (blocking; any thread).

    def resolve(self, question: Question) -> Answer:
        outcome = self._future(question).result()
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
        for question in questions:
            self._future(question)

    def stats(self) -> DnsStats:
        return DnsStats(self.live.queries_sent, self._unique, self._in_flight_peak)

    def close(self) -> None:
        """Stop the event loop (questions still in flight are abandoned)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.close()
        self._loop = self._thread = None

    # Internals.

    def _future(self, question: Question) -> Future[Outcome]:
        with self._lock:
            future = self._futures.get(question)
            if future is not None:
                return future
            future = Future()
            self._futures[question] = future
            self._unique += 1
            loop = self._start()
        loop.call_soon_threadsafe(self._spawn, question, future)
        return future

    def _start(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=loop.run_forever, name="mailflow-dns", daemon=True)
            self._thread.start()
            self._loop = loop
        return self._loop

    def _spawn(self, question: Question, future: Future[Outcome]) -> None:
        task = asyncio.ensure_future(self._settle(question, frozenset(), future))
        # Keep a reference until done: the loop holds tasks only weakly.
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _settle(self, question: Question, seen: frozenset[dns.name.Name], future: Future[Outcome]) -> None:
        try:
            outcome: Outcome = await self._ask(question, seen)
        except ResolutionError as exc:
            outcome = exc
        except BaseException as exc:  # a bug: hand it to the waiting thread rather than lose it
            future.set_exception(exc)
            return
        future.set_result(outcome)

    async def _ask(self, question: Question, seen: frozenset[dns.name.Name]) -> Answer:
        name = askable_name(question)
        response, where = await self._exchange(question)
        step = read_response(question, name, response, where, seen)
        if isinstance(step, Answer):
            return step
        return step.extend(question, await self._chase(question, step))

    async def _chase(self, question: Question, alias: Alias) -> Answer:
        """The target's answer: shared through the cache unless another chase is resolving it now."""
        target = Question.of(alias.target.to_text(), question.rdtype)
        with self._lock:
            known = self._futures.get(target)
            owned = known is None
            if known is None:
                known = self._futures[target] = Future()
                self._unique += 1
        if owned:
            await self._settle(target, alias.seen, known)
        elif not known.done():
            return await self._ask(target, alias.seen)
        outcome = known.result()
        if isinstance(outcome, ResolutionError):
            raise outcome
        return outcome

    async def _exchange(self, question: Question) -> tuple[dns.message.Message, str]:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_in_flight)
        async with self._slots:
            self._in_flight += 1
            self._in_flight_peak = max(self._in_flight_peak, self._in_flight)
            try:
                return await self.live.exchange_async(question)
            finally:
                self._in_flight -= 1
