"""The run-wide live-DNS cache: same answers as the plain live source, each question asked once, bounded
concurrency, aliases chased through the cache, and no deadlock on aliases that point at each other."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from pytest_mailflow.dns.base import Answer, Question, ResolutionError
from pytest_mailflow.dns.live import LiveSource, Server
from pytest_mailflow.dns.shared import SharedResolver
from tests.support.faultserver import Behaviour, BehaviourKey, BehaviourSpec, FaultServer, cname_loop
from tests.support.knot import KnotServer, require_knotd
from tests.support.scenario import zone

TIMEOUT = 0.3


@pytest.fixture(scope="module")
def server() -> Iterator[FaultServer]:
    behaviours: dict[BehaviourKey, BehaviourSpec] = {
        "ok.test.": {"A": ["192.0.2.1"], "TXT": ['"v=spf1 -all"']},
        "alias.test.": {"CNAME": ["ok.test."]},
        "empty.test.": "nodata",
        "timeout.test.": "timeout",
        "servfail.test.": "servfail",
        "refused.test.": "refused",
        "malformed.test.": "malformed",
        "trunc.test.": Behaviour.truncate({"TXT": ['"a long answer that did not fit"']}),
        **cname_loop("loop1.test.", "loop2.test."),
        **{f"n{i}.test.": {"A": [f"192.0.2.{i}"]} for i in range(40)},
    }
    with FaultServer(behaviours, default="nxdomain") as running:
        yield running


def plain(server: FaultServer) -> LiveSource:
    return LiveSource([Server(server.address, server.port)], timeout=TIMEOUT, retries=0)


@pytest.fixture
def shared(server: FaultServer) -> Iterator[SharedResolver]:
    server.reset_counts()
    resolver = SharedResolver(plain(server), max_in_flight=8)
    yield resolver
    resolver.close()


def outcome(source: LiveSource | SharedResolver, name: str, rdtype: str) -> tuple[str, ...]:
    try:
        answer = source.resolve(Question.of(name, rdtype))
    except ResolutionError as exc:
        return ("error", exc.cause, str(exc.question))
    return (answer.status, *answer.records, "|", *answer.cname_chain, answer.provenance.split(" over ")[-1])


@pytest.mark.parametrize(
    ("name", "rdtype"),
    [
        ("ok.test", "A"),
        ("ok.test", "TXT"),
        ("alias.test", "A"),
        ("alias.test", "CNAME"),
        ("empty.test", "A"),
        ("nothing.test", "MX"),
        ("timeout.test", "A"),
        ("servfail.test", "TXT"),
        ("refused.test", "A"),
        ("malformed.test", "A"),
        ("trunc.test", "TXT"),
        ("loop1.test", "A"),
    ],
)
def test_answers_are_those_of_the_plain_live_source(
    server: FaultServer, shared: SharedResolver, name: str, rdtype: str
) -> None:
    assert outcome(shared, name, rdtype) == outcome(plain(server), name, rdtype)


def test_a_question_is_sent_once_however_many_threads_ask(server: FaultServer, shared: SharedResolver) -> None:
    answers: list[Answer] = []
    threads = [
        threading.Thread(target=lambda: answers.append(shared.resolve(Question.of("ok.test", "TXT"))))
        for _ in range(20)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    assert len(answers) == 20 and len({a.records for a in answers}) == 1
    assert server.count("ok.test.", "TXT") == 1
    stats = shared.stats()
    assert (stats.queries_sent, stats.unique_questions, stats.ratio) == (1, 1, 1.0)


def test_errors_are_cached_too(server: FaultServer, shared: SharedResolver) -> None:
    for _ in range(3):
        with pytest.raises(ResolutionError, match="SERVFAIL"):
            shared.resolve(Question.of("servfail.test", "A"))
    assert server.count("servfail.test.", "A") == 1


def test_warmed_questions_travel_together_within_the_bound(server: FaultServer) -> None:
    resolver = SharedResolver(plain(server), max_in_flight=3)
    try:
        questions = [Question.of(f"n{i}.test", "A") for i in range(40)]
        resolver.warm(questions)
        answers = [resolver.resolve(q) for q in questions]
        stats = resolver.stats()
    finally:
        resolver.close()
    assert [a.records for a in answers] == [(f"192.0.2.{i}",) for i in range(40)]
    assert 2 <= stats.in_flight_peak <= 3
    assert stats.queries_sent == stats.unique_questions == 40


def test_retries_count_as_queries_sent(server: FaultServer) -> None:
    resolver = SharedResolver(LiveSource([Server(server.address, server.port)], timeout=TIMEOUT, retries=2))
    try:
        with pytest.raises(ResolutionError, match="TIMEOUT"):
            resolver.resolve(Question.of("timeout.test", "A"))
        stats = resolver.stats()
    finally:
        resolver.close()
    assert (stats.queries_sent, stats.unique_questions) == (3, 1)


@pytest.fixture(scope="module")
def knot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnotServer]:
    # Aliases that leave the answering zone: Knot answers with the CNAME alone, so the target is asked again.
    require_knotd()
    zones = {
        "a.test": zone("a.test", "www CNAME host.b.test.\nx CNAME y.b.test.\nmail CNAME www.a.test."),
        "b.test": zone("b.test", "host A 192.0.2.80\ny CNAME x.a.test."),
    }
    with KnotServer(tmp_path_factory.mktemp("knot"), zones) as running:
        yield running


def knot_resolver(knot: KnotServer) -> SharedResolver:
    return SharedResolver(LiveSource([Server(knot.address, knot.port)], timeout=1.0, retries=0))


def test_an_alias_out_of_the_zone_is_chased_through_the_cache(knot: KnotServer) -> None:
    resolver = knot_resolver(knot)
    try:
        answer = resolver.resolve(Question.of("www.a.test", "A"))
        target = resolver.resolve(Question.of("host.b.test", "A"))
        chained = resolver.resolve(Question.of("mail.a.test", "A"))
        stats = resolver.stats()
    finally:
        resolver.close()
    assert (answer.records, answer.cname_chain) == (("192.0.2.80",), ("host.b.test.",))
    assert target.records == ("192.0.2.80",) and target.cname_chain == ()
    assert chained.cname_chain == ("www.a.test.", "host.b.test.")
    # www.a.test, host.b.test (asked once, for the chase and again directly) and mail.a.test.
    assert (stats.queries_sent, stats.unique_questions) == (3, 3)
    plain_answer = LiveSource([Server(knot.address, knot.port)], timeout=1.0, retries=0).resolve(
        Question.of("mail.a.test", "A")
    )
    assert plain_answer.cname_chain == chained.cname_chain and plain_answer.records == chained.records


def test_aliases_pointing_at_each_other_across_zones_fail_without_deadlock(knot: KnotServer) -> None:
    resolver = knot_resolver(knot)
    results: dict[str, str] = {}

    def ask(name: str) -> None:
        try:
            resolver.resolve(Question.of(name, "A"))
            results[name] = "answered"
        except ResolutionError as exc:
            results[name] = f"{exc.cause}: {exc.detail}"

    began = time.monotonic()
    try:
        threads = [threading.Thread(target=ask, args=(name,)) for name in ("x.a.test", "y.b.test")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
    finally:
        resolver.close()
    assert time.monotonic() - began < 5
    assert set(results) == {"x.a.test", "y.b.test"}
    assert all(text.startswith("SERVFAIL: CNAME loop") for text in results.values()), results


def test_the_event_loop_starts_on_first_use_and_stops_on_close(server: FaultServer) -> None:
    before = set(threading.enumerate())
    resolver = SharedResolver(plain(server))
    assert set(threading.enumerate()) == before
    resolver.resolve(Question.of("ok.test", "A"))
    (started,) = set(threading.enumerate()) - before
    assert started.name == "mailflow-dns" and started.daemon
    resolver.close()
    assert not started.is_alive()


def test_outcomes_cross_the_pipe_unchanged() -> None:
    from pytest_mailflow.dns.resolver_process import decode, encode

    question = Question.of("www.a.test", "A")
    answer = Answer(question, "NOERROR", ("192.0.2.80",), ("host.b.test.",), "127.0.0.1:53 over UDP", 300)
    error = ResolutionError(Question.of("host.b.test", "A"), "TIMEOUT", "TIMEOUT from 127.0.0.1:53", "live DNS")
    assert decode(encode(question, answer, (3, 2, 1))) == (question, answer, (3, 2, 1))
    _, decoded, _ = decode(encode(question, error, (0, 0, 0)))
    assert isinstance(decoded, ResolutionError)
    assert (decoded.question, decoded.cause, decoded.detail, str(decoded)) == (
        error.question,
        error.cause,
        error.detail,
        str(error),
    )


def test_a_resolver_process_that_dies_fails_the_waiting_questions(server: FaultServer) -> None:
    resolver = SharedResolver(plain(server))
    try:
        resolver.resolve(Question.of("ok.test", "A"))
        process = resolver._process
        assert process is not None
        resolver.warm([Question.of("timeout.test", "A")])  # still in flight when the process is killed
        process.kill()
        began = time.monotonic()
        with pytest.raises(ResolutionError, match="the resolver process ended"):
            resolver.resolve(Question.of("timeout.test", "A"))
        assert time.monotonic() - began < 5
    finally:
        resolver.close()
