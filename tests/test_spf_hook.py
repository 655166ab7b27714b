"""pyspf's lookup hook is a module global: our dispatcher keeps each thread on its own source."""

from __future__ import annotations

import threading

import spf

from pytest_mailflow.dns.base import Answer, Question
from pytest_mailflow.dns.records import txt_presentation
from pytest_mailflow.spf.evaluate import answering_from, evaluate


def source_with(record: str):
    def lookup(question: Question) -> Answer:
        if question.rdtype == "TXT" and question.name == "hook.example.":
            return Answer(question, "NOERROR", (txt_presentation(record),))
        return Answer(question, "NXDOMAIN")

    return lookup


def test_threads_each_see_their_own_source() -> None:
    passing = source_with("v=spf1 ip4:192.0.2.0/24 -all")
    failing = source_with("v=spf1 -all")
    results: dict[str, list[str]] = {"pass": [], "fail": []}
    barrier = threading.Barrier(8)

    def work(kind: str) -> None:
        lookup = passing if kind == "pass" else failing
        barrier.wait()
        for _ in range(20):
            results[kind].append(evaluate("hook.example", "192.0.2.7", lookup).result)

    threads = [threading.Thread(target=work, args=(k,)) for k in ("pass", "fail") * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(results["pass"]) == {"pass"} and len(results["pass"]) == 80
    assert set(results["fail"]) == {"fail"} and len(results["fail"]) == 80


def test_outside_our_context_pyspf_is_left_alone() -> None:
    calls: list[tuple[str, str]] = []
    with answering_from(source_with("v=spf1 -all")):
        pass
    original = spf.DNSLookup

    def recording(name: str, qtype: str, *args: object, **kwargs: object) -> list[object]:
        calls.append((name, qtype))
        return []

    # Our dispatcher is installed; with no source bound it hands over to whatever pyspf had before.
    from pytest_mailflow.spf import evaluate as module

    saved = module._original
    module._original = recording
    try:
        assert spf.check2(i="192.0.2.1", s="a@outside.example", h="outside.example", querytime=0)[0] == "none"
    finally:
        module._original = saved
    assert ("outside.example", "TXT") in calls
    assert spf.DNSLookup is original
