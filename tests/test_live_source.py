"""The live source against our fault-injecting server: every fault is an error with its cause, in bounded time."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from pytest_mailflow.dns.base import Question, ResolutionError
from pytest_mailflow.dns.live import LiveSource, Server, parse_server
from pytest_mailflow.dns.records import txt_value
from tests.support.faultserver import Behaviour, BehaviourKey, BehaviourSpec, FaultServer, cname_loop

TIMEOUT = 0.3


@pytest.fixture(scope="module")
def server() -> Iterator[FaultServer]:
    behaviours: dict[BehaviourKey, BehaviourSpec] = {
        "ok.test.": {"A": ["192.0.2.1"], "TXT": ['"v=spf1 ip4:192.0.2.0/24" " -all"']},
        "alias.test.": {"CNAME": ["ok.test."]},
        "empty.test.": "nodata",
        "timeout.test.": "timeout",
        "servfail.test.": "servfail",
        "refused.test.": "refused",
        "formerr.test.": "formerr",
        "malformed.test.": "malformed",
        "trunc.test.": Behaviour.truncate({"TXT": ['"a long answer that did not fit"']}),
        "big.test.": "oversized",
        **cname_loop("loop1.test.", "loop2.test."),
    }
    with FaultServer(behaviours, default="nxdomain") as running:
        yield running


@pytest.fixture
def live(server: FaultServer) -> LiveSource:
    return LiveSource([Server(server.address, server.port)], timeout=TIMEOUT, retries=0)


def ask(live: LiveSource, name: str, rdtype: str = "A") -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    answer = live.resolve(Question.of(name, rdtype))
    return answer.status, answer.records, answer.cname_chain


def test_answers_and_negative_answers(live: LiveSource) -> None:
    assert ask(live, "ok.test") == ("NOERROR", ("192.0.2.1",), ())
    assert ask(live, "alias.test") == ("NOERROR", ("192.0.2.1",), ("ok.test.",))
    assert ask(live, "empty.test") == ("NODATA", (), ())
    assert ask(live, "nothing.test") == ("NXDOMAIN", (), ())


def test_multi_string_txt_is_joined_without_spaces(live: LiveSource) -> None:
    (record,) = live.resolve(Question.of("ok.test", "TXT")).records
    assert txt_value(record) == "v=spf1 ip4:192.0.2.0/24 -all"


def test_provenance_names_the_server_and_transport(live: LiveSource, server: FaultServer) -> None:
    answer = live.resolve(Question.of("ok.test", "A"))
    assert answer.provenance == f"127.0.0.1:{server.port} over UDP"


def test_truncation_falls_back_to_tcp(live: LiveSource, server: FaultServer) -> None:
    answer = live.resolve(Question.of("trunc.test", "TXT"))
    assert txt_value(answer.records[0]) == "a long answer that did not fit"
    assert answer.provenance.endswith("over TCP")
    assert server.count("trunc.test.", "TXT", "tcp") >= 1


def test_oversized_answer_over_tcp(server: FaultServer) -> None:
    # 64 KB over TCP: give it more than the fault tests' short timeout, even on a loaded machine.
    live = LiveSource([Server(server.address, server.port)], timeout=5.0, retries=0)
    answer = live.resolve(Question.of("big.test", "TXT"))
    assert answer.status == "NOERROR"
    assert sum(len(r) for r in answer.records) > 30_000


@pytest.mark.parametrize(
    ("name", "cause"),
    [
        ("timeout.test", "TIMEOUT"),
        ("servfail.test", "SERVFAIL"),
        ("refused.test", "REFUSED"),
        ("formerr.test", "FORMERR"),
        # An answer that does not parse is dropped like a stray datagram (RFC 5452 §9.1): the wait times out.
        ("malformed.test", "TIMEOUT"),
        ("loop1.test", "SERVFAIL"),
    ],
)
def test_faults_are_errors_with_their_cause(live: LiveSource, name: str, cause: str) -> None:
    started = time.monotonic()
    with pytest.raises(ResolutionError) as caught:
        live.resolve(Question.of(name, "A"))
    assert caught.value.cause == cause
    assert time.monotonic() - started < 5 * TIMEOUT + 1


def test_unreachable_server_is_an_error() -> None:
    # Port 9 on loopback has no DNS server: UDP gets an ICMP refusal or a timeout; either is an error.
    live = LiveSource([Server("127.0.0.1", 9)], timeout=TIMEOUT, retries=0)
    with pytest.raises(ResolutionError) as caught:
        live.resolve(Question.of("ok.test", "A"))
    assert caught.value.cause in {"UNREACHABLE", "TIMEOUT"}


def test_next_server_is_tried(server: FaultServer) -> None:
    live = LiveSource([Server("127.0.0.1", 9), Server(server.address, server.port)], timeout=TIMEOUT, retries=0)
    assert live.resolve(Question.of("ok.test", "A")).records == ("192.0.2.1",)


def test_questions_are_absolute_without_search_list(live: LiveSource, server: FaultServer) -> None:
    server.reset_counts()
    live.resolve(Question.of("ok.test", "A"))
    assert [q.name for q in server.queries] == ["ok.test."]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1", Server("127.0.0.1", 53)),
        ("127.0.0.1:5353", Server("127.0.0.1", 5353)),
        ("[::1]:5353", Server("::1", 5353)),
        ("::1", Server("::1", 53)),
    ],
)
def test_server_syntax(text: str, expected: Server) -> None:
    assert parse_server(text) == expected


@pytest.mark.parametrize("text", ["localhost", "127.0.0.1:0", "127.0.0.1:99999", "dns.example:53"])
def test_bad_server_syntax(text: str) -> None:
    with pytest.raises(ValueError, match=r"ADDR|out of range"):
        parse_server(text)
