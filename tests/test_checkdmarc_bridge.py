"""checkdmarc fed by the project's DNS source: zero packets, no cache leaks, fast failures."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import checkdmarc.bimi
import checkdmarc.dmarc
import checkdmarc.mta_sts
import checkdmarc.smtp
import checkdmarc.spf
import checkdmarc.utils
import dns.message
import dns.rcode
import dns.rdatatype
import dns.resolver
import pytest

from pytest_mailflow.dns.base import Answer, Question, ResolutionError
from pytest_mailflow.dns.checkdmarc_bridge import (
    CHECKDMARC_CACHES,
    MTA_STS_DOWNLOAD_DISABLED,
    SourceNameserver,
    checkdmarc_fed_by,
)
from tests.support.scenario import zone, zone_source

ZONES = {
    "example.test": zone(
        "example.test",
        """
@ MX 10 mx1
@ MX 20 mx2.mail.example.
@ TXT "v=spf1 include:_spf.mail.example mx a:out.example.test ip4:192.0.2.0/24 -all"
_dmarc TXT "v=DMARC1; p=reject; rua=mailto:dmarc@reports.example"
_mta-sts TXT "v=STSv1; id=20240101T000000"
mx1 A 192.0.2.10
out A 192.0.2.20
_25._tcp.mx1 TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
alias CNAME gone.mail.example.
""",
    ),
    "mail.example": zone(
        "mail.example",
        """
_spf TXT "v=spf1 ip4:198.51.100.0/24 ip6:2001:db8::/32 ~all"
mx2 A 198.51.100.7
""",
    ),
    "reports.example": zone(
        "reports.example",
        """
@ MX 10 mx
mx A 203.0.113.5
example.test._report._dmarc TXT "v=DMARC1"
""",
    ),
}


@pytest.fixture
def packets(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[object, ...]]]:
    """Every attempt to use the network, which fails and is recorded."""
    attempts: list[tuple[str, tuple[object, ...]]] = []

    def guard(name: str):
        def refuse(*args: object, **kwargs: object) -> None:
            attempts.append((name, args[1:]))
            raise OSError(f"network access in a test: socket.{name}")

        return refuse

    for name in ("connect", "connect_ex", "sendto", "sendmsg", "send", "sendall"):
        monkeypatch.setattr(socket.socket, name, guard(name))
    monkeypatch.setattr(socket, "getaddrinfo", guard("getaddrinfo"))
    return attempts


@pytest.fixture(scope="module")
def source():
    return zone_source(ZONES, providers=False)


def test_check_spf_reads_the_zone_and_counts_its_lookups(packets, source):
    with checkdmarc_fed_by(source.resolve) as kwargs:
        result = checkdmarc.spf.check_spf("example.test", **kwargs)
        nameserver = kwargs["nameservers"][0]
    assert result["valid"] is True, result
    assert result["record"] == "v=spf1 include:_spf.mail.example mx a:out.example.test ip4:192.0.2.0/24 -all"
    assert result["dns_lookups"] == 3  # include, mx, a
    assert result["void_dns_lookups"] == 0
    include = result["parsed"]["mechanisms"][0]
    assert include["record"] == "v=spf1 ip4:198.51.100.0/24 ip6:2001:db8::/32 ~all"
    mx = result["parsed"]["mechanisms"][1]
    assert [h["hostname"] for h in mx["hosts"]] == ["mx1.example.test", "mx2.mail.example"]
    assert Question.of("_spf.mail.example", "TXT") in nameserver.questions
    assert nameserver.answered == len(nameserver.questions) > 0
    assert nameserver.errors == []
    assert packets == []


def test_check_mx_answers_dnssec_and_tlsa_questions_from_the_source(packets, source):
    with checkdmarc_fed_by(source.resolve) as kwargs:
        result = checkdmarc.smtp.check_mx("example.test", **kwargs)
        asked = kwargs["nameservers"][0].questions
        errors = kwargs["nameservers"][0].errors
    assert "error" not in result, result
    hosts = {h["hostname"]: h for h in result["hosts"]}
    assert hosts["mx1.example.test"]["addresses"] == ["192.0.2.10"]
    assert hosts["mx2.mail.example"]["addresses"] == ["198.51.100.7"]
    # The DS / DNSKEY / TLSA path (checkdmarc.dnssec) went through the source too. The zone has no
    # RRSIGs, so checkdmarc sees an unsigned zone and drops the unsigned TLSA record.
    for question in ("mx1.example.test DS", "mx1.example.test DNSKEY", "_25._tcp.mx1.example.test TLSA"):
        assert Question.of(*question.split()) in asked
    assert Question.of("_25._tcp.mx2.mail.example", "TLSA") in asked  # NXDOMAIN in the zone
    assert all(h["dnssec"] is False and "tlsa" not in h for h in hosts.values())
    # Reverse lookups are answered (NXDOMAIN) by the empty in-addr.arpa zone, not the network.
    assert "192.0.2.10 does not have any reverse DNS (PTR) records" in result["warnings"]
    assert errors == []
    assert packets == []


def test_check_dmarc_verifies_a_foreign_rua_from_the_zone(packets, source):
    with checkdmarc_fed_by(source.resolve) as kwargs:
        result = checkdmarc.dmarc.check_dmarc("example.test", **kwargs)
        asked = kwargs["nameservers"][0].questions
    assert result["valid"] is True, result
    assert result["record"] == "v=DMARC1; p=reject; rua=mailto:dmarc@reports.example"
    assert result["tags"]["p"]["value"] == "reject"
    assert result["warnings"] == []  # the authorisation record was found
    assert Question.of("example.test._report._dmarc.reports.example", "TXT") in asked
    assert packets == []


def test_check_dmarc_reports_a_missing_authorisation_record(packets):
    zones = {
        "example.test": zone("example.test", '_dmarc TXT "v=DMARC1; p=reject; rua=mailto:d@reports.example"'),
        "reports.example": zone("reports.example", "@ MX 10 mx\nmx A 203.0.113.5"),
    }
    with checkdmarc_fed_by(zone_source(zones, providers=False).resolve) as kwargs:
        result = checkdmarc.dmarc.check_dmarc("example.test", **kwargs)
    assert result["valid"] is True
    assert result["warnings"] == [
        'reports.example does not indicate that it accepts DMARC reports about example.test - Authorization record not found: example.test._report._dmarc.reports.example IN TXT "v=DMARC1"'
    ]
    assert packets == []


def test_the_same_name_from_two_sources_gives_two_results(packets):
    first = zone_source({"example.test": zone("example.test", '@ TXT "v=spf1 ip4:192.0.2.1 -all"')}, providers=False)
    second = zone_source(
        {"example.test": zone("example.test", '@ TXT "v=spf1 ip4:198.51.100.1 ~all"')}, providers=False
    )
    results = []
    for source in (first, second, first):
        with checkdmarc_fed_by(source.resolve) as kwargs:
            results.append(checkdmarc.spf.check_spf("example.test", **kwargs)["record"])
            assert kwargs["nameservers"][0].answered > 0  # asked, not served from a cache
        for module, attribute in CHECKDMARC_CACHES:
            assert len(getattr(module, attribute)) == 0, attribute
    assert results == ["v=spf1 ip4:192.0.2.1 -all", "v=spf1 ip4:198.51.100.1 ~all", "v=spf1 ip4:192.0.2.1 -all"]
    assert packets == []


def test_checkdmarc_cache_ignores_the_resolver_which_is_why_the_bridge_clears_it(packets):
    first = zone_source({"example.test": zone("example.test", '@ TXT "first"')}, providers=False)
    second = zone_source({"example.test": zone("example.test", '@ TXT "second"')}, providers=False)
    with checkdmarc_fed_by(first.resolve) as kwargs:
        other = dns.resolver.Resolver(configure=False)
        other.nameservers = [SourceNameserver(second.resolve)]
        assert checkdmarc.utils.query_dns("example.test", "TXT", **kwargs) == ["first"]
        assert checkdmarc.utils.query_dns("example.test", "TXT", nameservers=[], resolver=other) == ["first"]
    assert len(checkdmarc.utils.DNS_CACHE) == 0
    assert packets == []


class FailingSource:
    def __init__(self, cause: str) -> None:
        self.cause = cause

    def resolve(self, question: Question) -> Answer:
        raise ResolutionError(question, self.cause, "injected by the test")


@pytest.mark.parametrize("cause", ["TIMEOUT", "SERVFAIL", "REFUSED", "FORMERR"])
def test_a_resolution_error_fails_fast(packets, cause):
    started = time.monotonic()
    with checkdmarc_fed_by(FailingSource(cause).resolve) as kwargs:
        spf = checkdmarc.spf.check_spf("example.test", **kwargs)
        mx = checkdmarc.smtp.check_mx("example.test", **kwargs)
        dmarc = checkdmarc.dmarc.check_dmarc("example.test", **kwargs)
        errors = kwargs["nameservers"][0].errors
    assert time.monotonic() - started < 2
    expected = "REFUSED" if cause == "REFUSED" else "SERVFAIL"
    for result in (spf, mx, dmarc):
        assert f"answered {expected}" in result["error"], result
    assert spf["valid"] is False and dmarc["valid"] is False and mx["hosts"] == []
    assert {e.cause for e in errors} == {cause}
    assert packets == []


def test_a_name_outside_the_zones_without_fallback_fails_fast(packets):
    zones = {"example.test": zone("example.test", '@ TXT "v=spf1 include:_spf.elsewhere.example -all"')}
    started = time.monotonic()
    with checkdmarc_fed_by(zone_source(zones, providers=False).resolve) as kwargs:
        result = checkdmarc.spf.check_spf("example.test", **kwargs)
        errors = kwargs["nameservers"][0].errors
    assert time.monotonic() - started < 2
    assert result["valid"] is False
    assert "_spf.elsewhere.example. IN TXT" in result["error"] and "SERVFAIL" in result["error"]
    assert errors and all("outside the loaded zones" in e.cause for e in errors)
    assert packets == []


def test_a_bug_in_the_source_is_not_passed_off_as_a_dns_failure(packets):
    def broken(question: Question) -> Answer:
        raise KeyError("bug")

    started = time.monotonic()
    with pytest.raises(KeyError, match="bug"), checkdmarc_fed_by(broken) as kwargs:
        result = checkdmarc.spf.check_spf("example.test", **kwargs)
        assert "SERVFAIL" in result["error"]
    assert time.monotonic() - started < 2
    assert packets == []


def test_mta_sts_download_is_refused_inside_and_restored_after(packets, source):
    original = checkdmarc.mta_sts.download_mta_sts_policy
    with checkdmarc_fed_by(source.resolve) as kwargs:
        result = checkdmarc.mta_sts.check_mta_sts("example.test", **kwargs)
        with pytest.raises(checkdmarc.mta_sts.MTASTSPolicyDownloadError, match="download is disabled"):
            checkdmarc.mta_sts.download_mta_sts_policy("example.test")
    assert result == {"valid": False, "error": MTA_STS_DOWNLOAD_DISABLED, "warnings": []}
    assert checkdmarc.mta_sts.download_mta_sts_policy is original
    with pytest.raises(RuntimeError), checkdmarc_fed_by(source.resolve):
        raise RuntimeError("the block failed")
    assert checkdmarc.mta_sts.download_mta_sts_policy is original
    assert packets == []


def test_bimi_downloads_are_refused(packets):
    zones = {"example.test": zone("example.test", 'default._bimi TXT "v=BIMI1; l=https://bimi.example.test/logo.svg"')}
    original = checkdmarc.bimi.requests
    with checkdmarc_fed_by(zone_source(zones, providers=False).resolve) as kwargs:
        result = checkdmarc.bimi.check_bimi("example.test", **kwargs)
    assert result["record"] == "v=BIMI1; l=https://bimi.example.test/logo.svg"
    assert "BIMI download is disabled" in result["image"]["error"]
    assert checkdmarc.bimi.requests is original
    assert packets == []


def test_responses_follow_dns_semantics(source):
    nameserver = SourceNameserver(source.resolve)

    def ask(name: str, rdtype: str) -> dns.message.Message:
        return nameserver.query(dns.message.make_query(name, rdtype), 1.0, None, 0, False)

    nxdomain_via_alias = ask("alias.example.test", "A")
    assert nxdomain_via_alias.rcode() == dns.rcode.NXDOMAIN
    assert [(str(r.name), dns.rdatatype.to_text(r.rdtype)) for r in nxdomain_via_alias.answer] == [
        ("alias.example.test.", "CNAME")
    ]
    nodata = ask("mx1.example.test", "AAAA")
    assert nodata.rcode() == dns.rcode.NOERROR and nodata.answer == []
    found = ask("MX1.Example.Test", "A")
    assert [rr.to_text() for rr in found.answer] == ["MX1.Example.Test. 3600 IN A 192.0.2.10"]
    refused = SourceNameserver(FailingSource("REFUSED").resolve)
    request = dns.message.make_query("example.test", "TXT")
    assert refused.query(request, 1.0, None, 0, False).rcode() == dns.rcode.REFUSED
    assert asyncio.run(nameserver.async_query(request, 1.0, None, 0, False, None)).answer
    assert nameserver.answered == 4


def test_uses_are_serialised_across_threads(source):
    inside = threading.Event()
    release = threading.Event()
    entered: list[str] = []

    def first() -> None:
        with checkdmarc_fed_by(source.resolve):
            entered.append("first")
            inside.set()
            release.wait(2)
            entered.append("first done")

    def second() -> None:
        inside.wait(2)
        with checkdmarc_fed_by(source.resolve):
            entered.append("second")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    inside.wait(2)
    time.sleep(0.05)
    assert entered == ["first"]  # the second thread waits for the lock
    release.set()
    for thread in threads:
        thread.join(2)
    assert entered == ["first", "first done", "second"]


def test_the_exp_lookup_made_without_resolver_is_answered_by_the_source(packets):
    # checkdmarc looks up exp= targets with nameservers= only (it drops resolver= there).
    zones = {"example.test": zone("example.test", '@ TXT "v=spf1 -all exp=why.example.test"\nwhy TXT "one" "two"')}
    with checkdmarc_fed_by(zone_source(zones, providers=False).resolve) as kwargs:
        result = checkdmarc.spf.check_spf("example.test", **kwargs)
        asked = kwargs["nameservers"][0].questions
    assert result["valid"] is True and result["warnings"] == []
    assert Question.of("why.example.test", "TXT") in asked
    assert packets == []
