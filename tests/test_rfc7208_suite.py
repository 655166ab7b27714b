"""Replay the openspf.org RFC 7208 test suite through the project's SPF evaluation path.

Every scenario runs pyspf's ``check2`` inside :func:`pytest_mailflow.spf.evaluate.answering_from`,
as :func:`pytest_mailflow.spf.evaluate.evaluate` does, so each DNS query goes through the project's
adapter (``Question`` -> ``Answer`` -> pyspf's tuples). The suite gives the client IP, MAIL FROM
and HELO separately; ``evaluate`` derives the last two from the domain, so ``check2`` is called
here directly with the suite's values.

Conventions of the suite's drivers that this file follows:

* ``result`` is one result or a list of acceptable ones;
* ``explanation: DEFAULT`` means the implementation's default explanation (pyspf's driver sets it
  to the text ``DEFAULT``; ``check2`` cannot, so it is pyspf's ``EXPLANATIONS[result]`` here);
* ``strict: 2`` (only ``bytes-bug``) is pyspf's harsh mode; the suite lets other implementations
  ignore it, and the project's path always runs pyspf's default mode.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import spf

from pytest_mailflow.dns.base import Answer, Question, ResolutionError
from pytest_mailflow.dns.cassette import CassetteReplaySource, dump, write_atomic
from pytest_mailflow.dns.recording import RecordingSource
from pytest_mailflow.dns.records import txt_strings
from pytest_mailflow.spf.evaluate import answering_from
from tests.support.rfc7208 import SUITE, Case, SuiteZone, load_cases, load_documents

#: Scenarios where the project's path is known to differ from the suite, with the reason.
DEVIATIONS: dict[str, str] = {
    "ptr-cname-loop": (
        "RFC 7208 5.5/7 skips a PTR name whose A lookup fails; pyspf 2.0.14 turns the DNS error of a "
        "CNAME loop (the source reports it as a ResolutionError, as a resolver would SERVFAIL) into "
        "temperror instead. pyspf's own driver passes only because it emulates CNAMEs one level deep. "
        "A pyspf limitation, not the adapter's."
    ),
}

CASES = list(load_cases())


def _param(case: Case) -> object:
    marks = [pytest.mark.xfail(strict=True, reason=DEVIATIONS[case.name])] if case.name in DEVIATIONS else []
    return pytest.param(case, id=case.name, marks=marks)


def check(case: Case) -> tuple[str, str]:
    with answering_from(case.zone.lookup):
        result, explanation = spf.check2(i=case.host, s=case.mailfrom, h=case.helo, querytime=0, timeout=30)
    return str(result), str(explanation)


@pytest.mark.parametrize("case", [_param(case) for case in CASES])
def test_rfc7208_scenario(case: Case) -> None:
    result, explanation = check(case)
    assert result in case.results, f"{case.document} / {case.name} (RFC 7208 {case.spec}): {case.description}"
    if case.explanation is not None:
        expected = spf.EXPLANATIONS[result] if case.explanation == "DEFAULT" else case.explanation
        assert explanation == expected


class _SuiteSource:
    def __init__(self, zone: SuiteZone) -> None:
        self.zone = zone

    def resolve(self, question: Question) -> Answer:
        # Like the project's live and zone sources, hand records over sorted: cassettes store them
        # sorted, and the order decides which 10 PTR names pyspf follows (ptr-limit).
        answer = self.zone.lookup(question)
        return dataclasses.replace(answer, records=tuple(sorted(answer.records)))

    def describe(self) -> str:
        return "RFC 7208 suite zone data"


@pytest.mark.parametrize("case", [_param(case) for case in CASES])
def test_rfc7208_scenario_replayed_from_a_cassette(case: Case, tmp_path: Path) -> None:
    # Record what the evaluation asks into a cassette, then judge again from the cassette alone:
    # the cassette format (presentation text, TXT strings, errors) must carry every case unchanged.
    recorder = RecordingSource(_SuiteSource(case.zone))
    with answering_from(recorder.resolve):
        expected = spf.check2(i=case.host, s=case.mailfrom, h=case.helo, querytime=0, timeout=30)
    path = tmp_path / "suite.example.yaml"
    write_atomic(path, dump("suite.example", recorder.recorded))
    replay = CassetteReplaySource(path, path.name, "suite.example")
    with answering_from(replay.resolve):
        replayed = spf.check2(i=case.host, s=case.mailfrom, h=case.helo, querytime=0, timeout=30)
    assert replayed[0] == expected[0]
    if expected[0] != "temperror":  # a temperror's text names the source, which differs by design
        assert replayed[1] == expected[1]
    assert str(replayed[0]) in case.results


def test_suite_is_complete() -> None:
    documents = load_documents(SUITE)
    assert len(documents) == 16
    assert len(CASES) == 203
    assert len({(case.document, case.name) for case in CASES}) == len({case.name for case in CASES}) == 203
    assert set(DEVIATIONS) <= {case.name for case in CASES}


ZONE = SuiteZone(
    {
        "spf.example": [{"SPF": "v=spf1 -all"}],
        "both.example": [{"SPF": "v=spf1 -all"}, {"TXT": "v=spf1 +all"}],
        "none.example": [{"SPF": "v=spf1 -all"}, {"TXT": "NONE"}, "TIMEOUT"],
        "split.example": [{"TXT": ["v=spf1 ip4:", '192.0.2.5 "-all"\\']}, {"A": "192.0.2.5"}, "TIMEOUT"],
        "binary.example": [{"TXT": "\x80\xef\xbb\xbf\x0d"}],
        "alias.example": [{"CNAME": "Spf.Example."}],
        "loop1.example": [{"CNAME": "loop2.example"}],
        "loop2.example": [{"CNAME": "loop1.example."}],
        "mx.example": [{"MX": [10, "mail.example"]}, {"MX": [0, ""]}],
    }
)


def test_zone_serves_spf_entries_as_txt_unless_the_name_has_txt() -> None:
    assert ZONE.lookup(Question.of("spf.example", "TXT")).records == ('"v=spf1 -all"',)
    assert ZONE.lookup(Question.of("spf.example", "SPF")).records == ('"v=spf1 -all"',)
    assert ZONE.lookup(Question.of("both.example", "TXT")).records == ('"v=spf1 +all"',)


def test_zone_none_timeout_nxdomain_and_nodata() -> None:
    assert ZONE.lookup(Question.of("none.example", "SPF")).records == ('"v=spf1 -all"',)
    with pytest.raises(ResolutionError) as excinfo:
        ZONE.lookup(Question.of("none.example", "TXT"))
    assert excinfo.value.cause == "TIMEOUT"
    assert ZONE.lookup(Question.of("split.example", "A")).records == ("192.0.2.5",)
    with pytest.raises(ResolutionError):
        ZONE.lookup(Question.of("split.example", "AAAA"))
    assert ZONE.lookup(Question.of("nowhere.example", "TXT")).status == "NXDOMAIN"
    assert ZONE.lookup(Question.of("spf.example", "A")).status == "NODATA"


def test_zone_txt_strings_survive_presentation_format() -> None:
    (split,) = ZONE.lookup(Question.of("split.example", "TXT")).records
    assert txt_strings(split) == (b"v=spf1 ip4:", b'192.0.2.5 "-all"\\')
    (binary,) = ZONE.lookup(Question.of("binary.example", "TXT")).records
    assert txt_strings(binary) == ("\x80\xef\xbb\xbf\x0d".encode(),)


def test_zone_chases_cnames_and_reports_loops() -> None:
    answer = ZONE.lookup(Question.of("alias.example", "TXT"))
    assert (answer.status, answer.records, answer.cname_chain) == ("NOERROR", ('"v=spf1 -all"',), ("spf.example.",))
    assert ZONE.lookup(Question.of("alias.example", "CNAME")).records == ("Spf.Example.",)
    with pytest.raises(ResolutionError) as excinfo:
        ZONE.lookup(Question.of("loop1.example", "A"))
    assert excinfo.value.cause == "CNAME loop"


def test_zone_mx_records() -> None:
    assert ZONE.lookup(Question.of("mx.example", "MX")).records == ("10 mail.example.", "0 .")
