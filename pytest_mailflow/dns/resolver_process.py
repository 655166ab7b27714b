"""The resolver process: an asyncio event loop that answers live-DNS questions for :class:`SharedResolver`.

Building and parsing DNS messages is CPU work (dnspython spends most of a query there), and a pytest run
is CPU work too: in one process they would take turns on the interpreter lock. So the event loop runs in
a child process of its own and talks to the parent over two pipes: questions in, outcomes out.

Within the loop every question is resolved once: the parent never sends a question twice, and aliases
that lead out of the answering server's zones are chased through the same table, so a target shared by
many aliases is asked once as well. A chase never waits on a question that another chase is resolving
(two aliases pointing at each other would wait for ever); it asks privately instead, which costs one
query. At most ``max_in_flight`` questions are on the wire at once.

Messages are pickled tuples of strings and numbers (``multiprocessing.connection``); nothing else
crosses the pipes.
"""

from __future__ import annotations

import asyncio
import json
import sys
from multiprocessing.connection import Connection

import dns.name

from .base import Answer, Question, ResolutionError
from .live import Alias, LiveSource, askable_name, parse_server, read_response

Outcome = Answer | ResolutionError
#: (queries sent, unique questions, most in flight): the counters sent with every outcome.
Counters = tuple[int, int, int]


def encode(question: Question, outcome: Outcome, counters: Counters) -> tuple[object, ...]:
    if isinstance(outcome, Answer):
        body: tuple[object, ...] = (
            "answer",
            outcome.status,
            outcome.records,
            outcome.cname_chain,
            outcome.provenance,
            outcome.ttl,
        )
    else:
        body = (
            "error",
            outcome.question.name,
            outcome.question.rdtype,
            outcome.cause,
            outcome.detail,
            outcome.provenance,
        )
    return (question.name, question.rdtype, counters, *body)


def decode(message: tuple[object, ...]) -> tuple[Question, Outcome, Counters]:
    name, rdtype, counters, kind, *rest = message
    question = Question(str(name), str(rdtype))
    numbers = tuple(int(n) for n in counters)  # type: ignore[attr-defined]
    sent: Counters = (numbers[0], numbers[1], numbers[2])
    if kind == "answer":
        status, records, chain, provenance, ttl = rest
        answer = Answer(question, status, records, chain, provenance, ttl)  # type: ignore[arg-type]
        return question, answer, sent
    error_name, error_type, cause, detail, provenance = rest
    error = ResolutionError(Question(str(error_name), str(error_type)), str(cause), str(detail), str(provenance))
    return question, error, sent


class Resolving:
    """The table of questions being resolved or resolved, on one event loop."""

    def __init__(self, live: LiveSource, max_in_flight: int) -> None:
        self.live = live
        self.slots = asyncio.Semaphore(max_in_flight)
        self.outcomes: dict[Question, asyncio.Future[Outcome]] = {}
        self.in_flight = 0
        self.in_flight_peak = 0

    @property
    def counters(self) -> Counters:
        return (self.live.queries_sent, len(self.outcomes), self.in_flight_peak)

    async def outcome(self, question: Question) -> Outcome:
        known = self.outcomes.get(question)
        if known is None:
            known = self.outcomes[question] = asyncio.get_running_loop().create_future()
            known.set_result(await self._settle(question, frozenset()))
        return await known

    async def _settle(self, question: Question, seen: frozenset[dns.name.Name]) -> Outcome:
        try:
            return await self._ask(question, seen)
        except ResolutionError as exc:
            return exc

    async def _ask(self, question: Question, seen: frozenset[dns.name.Name]) -> Answer:
        name = askable_name(question)
        async with self.slots:
            self.in_flight += 1
            self.in_flight_peak = max(self.in_flight_peak, self.in_flight)
            try:
                response, where = await self.live.exchange_async(question)
            finally:
                self.in_flight -= 1
        step = read_response(question, name, response, where, seen)
        if isinstance(step, Answer):
            return step
        return step.extend(question, await self._chase(question, step))

    async def _chase(self, question: Question, alias: Alias) -> Answer:
        target = Question.of(alias.target.to_text(), question.rdtype)
        known = self.outcomes.get(target)
        if known is None:
            known = self.outcomes[target] = asyncio.get_running_loop().create_future()
            known.set_result(await self._settle(target, alias.seen))
        elif not known.done():
            return await self._ask(target, alias.seen)
        outcome = known.result()
        if isinstance(outcome, ResolutionError):
            raise outcome
        return outcome


async def serve(requests: Connection, replies: Connection, resolving: Resolving) -> None:
    """Answer every question received until the parent sends ``None`` or closes its end."""
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    tasks: set[asyncio.Task[None]] = set()

    async def answer(question: Question) -> None:
        outcome = await resolving.outcome(question)
        replies.send(encode(question, outcome, resolving.counters))

    def readable() -> None:
        try:
            batch = requests.recv()
        except (EOFError, OSError):
            batch = None
        if batch is None:
            if not done.done():
                done.set_result(None)
            return
        for name, rdtype in batch:
            task = loop.create_task(answer(Question(name, rdtype)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    loop.add_reader(requests.fileno(), readable)
    await done
    loop.remove_reader(requests.fileno())


def main(argv: list[str]) -> int:
    """``python -m pytest_mailflow.dns.resolver_process REQUEST_FD REPLY_FD SETTINGS_JSON``."""
    request_fd, reply_fd, settings = int(argv[0]), int(argv[1]), json.loads(argv[2])
    live = LiveSource(
        [parse_server(server) for server in settings["servers"]], settings["timeout"], settings["retries"]
    )
    requests = Connection(request_fd, writable=False)
    replies = Connection(reply_fd, readable=False)

    async def run() -> None:
        await serve(requests, replies, Resolving(live, settings["max_in_flight"]))

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        return 1
    finally:
        replies.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
