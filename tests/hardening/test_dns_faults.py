"""DNS faults from tests/support/faultserver.py, through LiveSource.resolve and through the plugin.

Every fault ends in an *error* outcome ("could not determine", with its cause) or in the verdict the
RFC gives (SPF include loops and over-long include chains are permerror: failures), never in a crash,
and within bounded time. Wall-time bounds are generous: they only guard against hangs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from pytest_mailflow.dns.base import Question, ResolutionError
from pytest_mailflow.dns.live import LiveSource, Server
from pytest_mailflow.dns.shared import SharedResolver
from tests.hardening.guard import deadline
from tests.support.faultserver import Behaviour, BehaviourKey, BehaviourSpec, FaultServer, cname_loop

TIMEOUT = 0.3
SPF_TXT = '"v=spf1 ip4:192.0.2.0/24 -all"'

#: Include chains: deep0 -> deep1 -> ... -> deep11 (12 lookups with the includes, over RFC 7208's 10).
DEEP: dict[BehaviourKey, BehaviourSpec] = {
    f"deep{i}.test.": {"TXT": [f'"v=spf1 include:deep{i + 1}.test -all"']} for i in range(11)
}
DEEP["deep11.test."] = {"TXT": [SPF_TXT]}

ZONE: dict[BehaviourKey, BehaviourSpec] = {
    "good.test.": {"MX": ["10 mx.good.test."], "TXT": [SPF_TXT]},
    "mx.good.test.": {"A": ["192.0.2.25"]},
    "trunc.test.": Behaviour.truncate({"MX": ["10 mx.good.test."], "TXT": [SPF_TXT]}),
    "timeout.test.": "timeout",
    "servfail.test.": "servfail",
    "refused.test.": "refused",
    "formerr.test.": "formerr",
    "malformed.test.": "malformed",
    "garbage.test.": "garbage",
    "wrongid.test.": "wrong_id",
    "wrongq.test.": "wrong_question",
    "silent.test.": "tc_then_silent",
    "flood.test.": "flood",
    **cname_loop("loop.test.", "loop2.test."),
    "spfloop.test.": {"MX": ["10 mx.good.test."], "TXT": ['"v=spf1 include:spfloop.test -all"']},
    **DEEP,
}

#: A reply that does not belong to the query is discarded (RFC 5452 §9.1): when no real answer follows,
#: the wait ends in TIMEOUT, an error with its cause.
UNEXPECTED = ("TIMEOUT",)
#: Fault domains: every check is an error whose message names the cause (one of these).
FAULTS: dict[str, tuple[str, ...]] = {
    "timeout.test": ("TIMEOUT",),
    "servfail.test": ("SERVFAIL",),
    "refused.test": ("REFUSED",),
    "formerr.test": ("FORMERR",),
    "malformed.test": UNEXPECTED,
    "garbage.test": UNEXPECTED,
    "wrongid.test": UNEXPECTED,
    "wrongq.test": UNEXPECTED,
    "silent.test": ("TIMEOUT",),
    "loop.test": ("SERVFAIL",),
}
BASIC_RULES = "[MF-MX-001, MF-SPF-001]"


def policy() -> str:
    lines = ["mailflow: 1", "domains:"]
    for domain in ("good.test", "trunc.test", "flood.test", *FAULTS):
        lines += [f"  {domain}:", "    scenario: custom", f"    rules: {BASIC_RULES}"]
    for domain in ("spfloop.test", "deep0.test"):
        lines += [
            f"  {domain}:",
            "    scenario: custom",
            "    rules: [MF-SPF-001, MF-SPF-003, MF-SPF-010, MF-SPF-013]",
            "    expect: {spf: {must_pass: [192.0.2.1]}}",
        ]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def server() -> Iterator[FaultServer]:
    with FaultServer(ZONE, default="nxdomain") as running:
        yield running


def run_live(pytester: pytest.Pytester, port: int, *args: str) -> pytest.RunResult:
    """``pytest --mailflow`` in pytester's folder against our server on 127.0.0.1:``port``."""
    live = ["--mailflow-source", "live", "--mailflow-nameserver", f"127.0.0.1:{port}"]
    return pytester.runpytest("--mailflow", "-p", "no:cacheprovider", *live, "--mailflow-timeout", str(TIMEOUT), *args)


def outcomes(result: pytest.RunResult) -> dict[str, str]:
    """nodeid -> passed, failed or error (a check that could not be determined fails in setup)."""
    found: dict[str, str] = {}
    for report in result.reprec.getreports("pytest_runtest_logreport"):  # type: ignore[attr-defined]
        if report.when == "setup" and report.failed:
            found[report.nodeid] = "error"
        elif report.when == "call":
            found[report.nodeid] = report.outcome
    return found


def test_every_fault_is_an_error_or_the_rfc_verdict_in_bounded_time(
    pytester: pytest.Pytester, server: FaultServer
) -> None:
    (pytester.path / "policy.yaml").write_text(policy())
    server.reset_counts()
    started = time.monotonic()
    with deadline(120):
        result = run_live(pytester, server.port, "--mailflow-retries", "0")
    elapsed = time.monotonic() - started
    output = result.stdout.str()
    assert "Traceback" not in output and "INTERNALERROR" not in output
    got = outcomes(result)
    by_domain: dict[str, dict[str, str]] = {}
    for nodeid, outcome in got.items():
        _, domain, rule = nodeid.split("::")
        by_domain.setdefault(domain, {})[rule] = outcome

    # Answers, also when they only come over TCP.
    assert by_domain["good.test"] == {"MF-MX-001": "passed", "MF-SPF-001": "passed"}
    assert by_domain["trunc.test"] == {"MF-MX-001": "passed", "MF-SPF-001": "passed"}
    # 64 KB of TXT strings over TCP, with 1 MiB more behind it on the connection: read, judged, no hang.
    assert by_domain["flood.test"]["MF-SPF-001"] == "failed"
    # Every fault is an error with its cause, never a pass or a failure.
    for domain, causes in FAULTS.items():
        assert set(by_domain[domain].values()) == {"error"}, (domain, by_domain[domain])
        assert any(f"could not determine {domain}. MX: {cause}" in output for cause in causes), domain
    # RFC 7208: an include loop and more than 10 DNS-querying terms are permerror, which are failures
    # (MF-SPF-013 and MF-SPF-003), and the authorised sender does not pass (MF-SPF-010).
    assert by_domain["spfloop.test"]["MF-SPF-013"] == "failed"
    assert by_domain["spfloop.test"]["MF-SPF-010[192.0.2.1]"] == "failed"
    assert by_domain["deep0.test"]["MF-SPF-003"] == "failed"
    assert by_domain["deep0.test"]["MF-SPF-010[192.0.2.1]"] == "failed"
    assert "permerror" in output
    # A hang guard, not a benchmark: each query may cost one timeout over UDP and one over TCP.
    assert elapsed < len(server.queries) * TIMEOUT * 2 + 20


@pytest.fixture
def live(server: FaultServer) -> LiveSource:
    return LiveSource([Server(server.address, server.port)], timeout=TIMEOUT, retries=0)


@pytest.mark.parametrize(
    ("name", "causes"),
    [
        ("garbage.test", UNEXPECTED),
        ("wrongid.test", UNEXPECTED),
        ("wrongq.test", UNEXPECTED),
        ("silent.test", ("TIMEOUT",)),
    ],
)
def test_live_source_faults_are_errors_with_their_cause(live: LiveSource, name: str, causes: tuple[str, ...]) -> None:
    started = time.monotonic()
    with deadline(10), pytest.raises(ResolutionError) as caught:
        live.resolve(Question.of(name, "TXT"))
    assert caught.value.cause in causes
    assert time.monotonic() - started < 10 * TIMEOUT


def test_a_flood_over_tcp_gives_the_answer_and_stops_reading(server: FaultServer) -> None:
    # The server sends the largest DNS message and then 1 MiB more: only the message is read.
    live = LiveSource([Server(server.address, server.port)], timeout=5.0, retries=0)
    with deadline(30):
        answer = live.resolve(Question.of("flood.test", "TXT"))
    assert answer.status == "NOERROR" and answer.provenance.endswith("over TCP")
    assert sum(len(record) for record in answer.records) > 60_000


def test_truncation_with_tcp_refused_is_unreachable() -> None:
    with FaultServer({"trunc.test.": "truncate"}, tcp=False) as no_tcp:
        live = LiveSource([Server(no_tcp.address, no_tcp.port)], timeout=TIMEOUT, retries=0)
        with deadline(10), pytest.raises(ResolutionError) as caught:
            live.resolve(Question.of("trunc.test", "TXT"))
    assert caught.value.cause == "UNREACHABLE"
    assert "Connection refused" in caught.value.detail


def test_a_dead_server_then_a_good_one(server: FaultServer) -> None:
    # The first server never answers TCP after truncating; the second answers.
    with FaultServer({"trunc.test.": "tc_then_silent"}) as silent:
        live = LiveSource([Server(silent.address, silent.port), Server(server.address, server.port)], TIMEOUT, 0)
        started = time.monotonic()
        answer = live.resolve(Question.of("trunc.test", "TXT"))
    assert answer.status == "NOERROR"
    assert time.monotonic() - started < 10 * TIMEOUT


def test_a_decoy_reply_does_not_abort_the_query() -> None:
    decoy = {"decoy.test.": Behaviour("decoy_first", {"TXT": (SPF_TXT,)})}
    with FaultServer(decoy) as running:
        live = LiveSource([Server(running.address, running.port)], timeout=TIMEOUT, retries=0)
        answer = live.resolve(Question.of("decoy.test", "TXT"))
        shared = SharedResolver(LiveSource([Server(running.address, running.port)], timeout=TIMEOUT, retries=0))
        try:
            shared_answer = shared.resolve(Question.of("decoy.test", "TXT"))
        finally:
            shared.close()
    assert answer.records == shared_answer.records == (SPF_TXT,)


#: An MX host of 250 octets is a valid name; its TLSA name (_25._tcp. before it) is not: 259 octets.
LONG_HOST = ".".join(["a" * 60] * 3 + ["a" * 57, "b", "example"])
LONG_ZONE = f"""\
$ORIGIN b.example.
$TTL 3600
@ SOA ns1 hostmaster 1 3600 600 1209600 3600
@ NS ns1
@ MX 10 {LONG_HOST}.
"""


def test_a_name_too_long_to_ask_is_an_error_in_zone_mode(pytester: pytest.Pytester) -> None:
    assert len(LONG_HOST) == 250
    (pytester.path / "policy.yaml").write_text(
        "mailflow: 1\ndomains:\n  b.example:\n    scenario: custom\n    rules: [MF-MX-001, MF-DANE-001]\n"
    )
    (pytester.path / "zones").mkdir()
    (pytester.path / "zones" / "b.example.zone").write_text(LONG_ZONE)
    result = pytester.runpytest(
        "--mailflow", "-p", "no:cacheprovider", "--mailflow-zones", "zones", "--mailflow-fallback", "none"
    )
    assert "Traceback" not in result.stdout.str() and "NameTooLong" not in result.stdout.str()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*TLSA: not a name that can be asked (A DNS name is > 255 octets long.)*"])


def test_a_name_too_long_to_ask_is_a_resolution_error_live(server: FaultServer) -> None:
    live = LiveSource([Server(server.address, server.port)], timeout=TIMEOUT, retries=0)
    question = Question.of(f"_25._tcp.{LONG_HOST}", "TLSA")
    with pytest.raises(ResolutionError, match="not a name that can be asked"):
        live.resolve(question)
    shared = SharedResolver(live)
    try:
        with pytest.raises(ResolutionError, match="not a name that can be asked"):
            shared.resolve(question)
    finally:
        shared.close()


def test_control_characters_in_dns_answers_are_escaped_in_failures(pytester: pytest.Pytester) -> None:
    # Anyone's DNS (an SPF include target, a third party's MX) can hold bytes that a terminal would
    # obey: an escape sequence or a right-to-left override must appear escaped in the failure text.
    hostile = {
        "b.example.": {"TXT": ['"v=spf1 \\027[2J\\027[31mred -all"'], "MX": ["10 mx.b.example."]},
        "_dmarc.b.example.": {"TXT": ['"v=DMARC1; p=\\226\\128\\174reject"']},
    }
    (pytester.path / "policy.yaml").write_text(
        "mailflow: 1\ndomains:\n  b.example:\n    scenario: custom\n    rules: [MF-SPF-002, MF-DMARC-002]\n"
    )
    with FaultServer(hostile) as running:
        result = run_live(pytester, running.port)
    output = result.stdout.str()
    result.assert_outcomes(failed=2)
    assert "\x1b" not in output and "\u202e" not in output
    assert "\\x1b[2J\\x1b[31mred" in output
    assert "\\u202ereject" in output
