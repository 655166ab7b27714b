"""MTA-STS policy fetches: resolved through our DNS source, TLS verified, no redirects, recorded like DNS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_mailflow.dns.base import Answer, Question
from pytest_mailflow.dns.cassette import CassetteFolderFactory
from pytest_mailflow.dns.https import MAX_BODY, FetchError, LiveFetcher, policy_url
from pytest_mailflow.dns.live import LiveSource, Server
from pytest_mailflow.gather import GatherRequest, gather
from tests.support.faultserver import FaultServer
from tests.support.https_server import HttpsServer, Reply

POLICY = b"version: STSv1\r\nmode: enforce\r\nmx: mail.contoso.example\r\nmax_age: 604800\r\n"
PATH = "/.well-known/mta-sts.txt"


def to_loopback(question: Question) -> Answer:
    if question.rdtype == "A":
        return Answer(question, "NOERROR", ("127.0.0.1",))
    return Answer(question, "NODATA")


@pytest.fixture
def https(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HttpsServer]:
    replies = {
        PATH: Reply(200, POLICY),
        "/moved": Reply(302, b"", headers={"Location": "https://elsewhere.example/"}),
        "/slow": Reply(200, POLICY, delay=1.5),
        "/huge": Reply(200, b"x" * (MAX_BODY + 10)),
    }
    with HttpsServer(tmp_path / "tls", ["mta-sts.contoso.example"], replies) as server:
        monkeypatch.setenv("SSL_CERT_FILE", str(server.ca))
        yield server


def fetcher(server: HttpsServer, timeout: float = 1.0) -> LiveFetcher:
    return LiveFetcher(to_loopback, timeout=timeout, port=server.port)


def test_policy_is_fetched_with_tls_verified(https: HttpsServer) -> None:
    result = fetcher(https).fetch(policy_url("contoso.example"))
    assert (result.status, result.content_type) == (200, "text/plain")
    assert result.body == POLICY.decode()
    assert https.requests == [("mta-sts.contoso.example", PATH)]


def test_a_certificate_for_another_name_is_refused(https: HttpsServer) -> None:
    with pytest.raises(FetchError) as caught:
        fetcher(https).fetch("https://mta-sts.fabrikam.example" + PATH)
    assert caught.value.cause == "TLS"
    assert "mta-sts.fabrikam.example" in caught.value.detail


def test_redirects_are_not_followed(https: HttpsServer) -> None:
    result = fetcher(https).fetch("https://mta-sts.contoso.example/moved")
    assert result.status == 302
    assert len(https.requests) == 1


def test_timeout_and_oversized_bodies_are_errors(https: HttpsServer) -> None:
    with pytest.raises(FetchError) as slow:
        fetcher(https, timeout=0.3).fetch("https://mta-sts.contoso.example/slow")
    assert slow.value.cause == "TIMEOUT"
    with pytest.raises(FetchError) as huge:
        fetcher(https).fetch("https://mta-sts.contoso.example/huge")
    assert huge.value.cause == "HTTP"


def test_unreachable_and_unresolvable_hosts(https: HttpsServer) -> None:
    closed = LiveFetcher(to_loopback, timeout=0.5, port=9)
    with pytest.raises(FetchError) as refused:
        closed.fetch(policy_url("contoso.example"))
    assert refused.value.cause in {"UNREACHABLE", "TIMEOUT"}
    nowhere = LiveFetcher(lambda q: Answer(q, "NXDOMAIN"), timeout=0.5, port=https.port)
    with pytest.raises(FetchError, match="has no A or AAAA record"):
        nowhere.fetch(policy_url("contoso.example"))


def test_fetch_is_recorded_in_the_cassette_and_replayed(https: HttpsServer, tmp_path: Path) -> None:
    zone = {
        "_mta-sts.contoso.example.": {"TXT": ['"v=STSv1; id=20261127"']},
        "mta-sts.contoso.example.": {"A": ["127.0.0.1"]},
    }
    with FaultServer(zone, default="nxdomain") as dns_server:
        live = LiveSource([Server(dns_server.address, dns_server.port)], timeout=0.5, https_port=https.port)
        recording = CassetteFolderFactory(tmp_path, tmp_path, "once", live)
        source = recording.source_for("contoso.example", "policy.yaml")
        request = GatherRequest("contoso.example", fetch_mta_sts=True)
        recorded = gather(request, source)
        source.flush()
    url = policy_url("contoso.example")
    assert recorded.fetches[url].body == POLICY.decode()  # type: ignore[union-attr]
    text = (tmp_path / "contoso.example.yaml").read_text()
    assert "fetches:" in text and "mode: enforce" in text

    replay = CassetteFolderFactory(tmp_path, tmp_path).source_for("contoso.example", "policy.yaml")
    replayed = gather(request, replay)
    assert replayed.fetches[url].body == recorded.fetches[url].body  # type: ignore[union-attr]
    assert replayed.fetches[url].provenance.startswith("cassette contoso.example.yaml:")


def test_without_the_option_nothing_is_fetched(https: HttpsServer, tmp_path: Path) -> None:
    zone = {"_mta-sts.contoso.example.": {"TXT": ['"v=STSv1; id=1"']}}
    with FaultServer(zone, default="nxdomain") as dns_server:
        live = LiveSource([Server(dns_server.address, dns_server.port)], timeout=0.5, https_port=https.port)
        evidence = gather(GatherRequest("contoso.example"), live)
    assert evidence.fetches == {}
    assert https.requests == []


def test_a_dns_failure_for_the_policy_host_is_a_fetch_error(https: HttpsServer) -> None:
    from pytest_mailflow.dns.base import ResolutionError

    def servfail(question: Question) -> Answer:
        raise ResolutionError(question, "SERVFAIL", "test", "test dns")

    with pytest.raises(FetchError) as caught:
        LiveFetcher(servfail, timeout=0.5, port=https.port).fetch(policy_url("contoso.example"))
    assert caught.value.cause == "UNREACHABLE" and "SERVFAIL" in caught.value.detail
