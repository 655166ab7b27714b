"""The live-DNS test servers work: Knot DNS serving zone text, and the fault-injecting server."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from tests.support import knot
from tests.support.faultserver import STANDARD_BEHAVIOURS, Behaviour, BehaviourKey, BehaviourSpec, FaultServer, Query
from tests.support.knot import KnotServer, KnotStartError, require_knotd
from tests.support.scenario import zone

TIMEOUT = 0.3


def ask(
    server: KnotServer | FaultServer, name: str, rdtype: str, *, tcp: bool = False, timeout: float = 2.0
) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype)
    send = dns.query.tcp if tcp else dns.query.udp
    return send(query, server.address, port=server.port, timeout=timeout)


def rrset_texts(response: dns.message.Message) -> list[str]:
    return [rrset.to_text() for rrset in response.answer]


# -- Knot DNS ------------------------------------------------------------------------------------------------

CONTOSO = zone(
    "contoso.example",
    "ns1 A 192.0.2.53\n"
    "www A 192.0.2.1\n"
    "mail CNAME www\n"
    '@ TXT "v=spf1 include:spf.protection.outlook.com" " -all"\n'
    "@ MX 0 contoso-example.mail.protection.outlook.com.\n",
)


@pytest.fixture(scope="module")
def knot_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnotServer]:
    require_knotd()
    zones = {"contoso.example": CONTOSO, "fabrikam.example": zone("fabrikam.example", "ns1 A 192.0.2.54\n")}
    with KnotServer(tmp_path_factory.mktemp("knot"), zones) as server:
        yield server


def test_knot_answers_a(knot_server: KnotServer) -> None:
    response = ask(knot_server, "www.contoso.example.", "A")
    assert response.rcode() == dns.rcode.NOERROR
    assert response.flags & dns.flags.AA
    assert rrset_texts(response) == ["www.contoso.example. 3600 IN A 192.0.2.1"]
    assert knot_server.address == "127.0.0.1"
    assert (knot_server.zone_dir / "contoso.example.zone").read_text("utf-8") == CONTOSO


def test_knot_answers_txt_with_several_strings_over_udp_and_tcp(knot_server: KnotServer) -> None:
    for tcp in (False, True):
        response = ask(knot_server, "contoso.example.", "TXT", tcp=tcp)
        (rrset,) = response.answer
        (rdata,) = rrset
        assert rdata.strings == (b"v=spf1 include:spf.protection.outlook.com", b" -all")


def test_knot_nxdomain_and_nodata_differ(knot_server: KnotServer) -> None:
    missing = ask(knot_server, "nothere.contoso.example.", "A")
    assert missing.rcode() == dns.rcode.NXDOMAIN
    assert not missing.answer
    assert missing.authority[0].rdtype == dns.rdatatype.SOA

    empty = ask(knot_server, "www.contoso.example.", "MX")
    assert empty.rcode() == dns.rcode.NOERROR
    assert not empty.answer
    assert empty.authority[0].rdtype == dns.rdatatype.SOA


def test_knot_follows_a_cname_inside_the_zone(knot_server: KnotServer) -> None:
    response = ask(knot_server, "mail.contoso.example.", "A")
    assert rrset_texts(response) == [
        "mail.contoso.example. 3600 IN CNAME www.contoso.example.",
        "www.contoso.example. 3600 IN A 192.0.2.1",
    ]
    assert isinstance(response, dns.message.QueryMessage)
    assert response.resolve_chaining().canonical_name == dns.name.from_text("www.contoso.example.")


def test_knot_serves_every_zone_and_refuses_others(knot_server: KnotServer) -> None:
    assert rrset_texts(ask(knot_server, "ns1.fabrikam.example.", "A")) == ["ns1.fabrikam.example. 3600 IN A 192.0.2.54"]
    assert ask(knot_server, "example.org.", "A").rcode() == dns.rcode.REFUSED


def test_knot_start_fails_fast_on_a_broken_zone(tmp_path: Path) -> None:
    require_knotd()
    began = time.monotonic()
    with pytest.raises(KnotStartError, match=r"could not load zone 'broken\.example'(?s:.*)broken\.example\.zone"):
        KnotServer(tmp_path, {"broken.example": "this is not a zone\n"}).start()
    assert time.monotonic() - began < 5


def test_knot_start_fails_clearly_when_knotd_exits(tmp_path: Path) -> None:
    with pytest.raises(KnotStartError, match="knotd exited early with status 1"):
        KnotServer(tmp_path, {"contoso.example": CONTOSO}, knotd="/bin/false").start()


def test_knot_stop_ends_knotd_and_frees_the_port(tmp_path: Path) -> None:
    require_knotd()
    server = KnotServer(tmp_path / ("long-" * 20), {"contoso.example": CONTOSO}).start()
    try:
        assert server.running
        assert server.startup_seconds is not None and server.startup_seconds < 10
    finally:
        server.stop()
    assert not server.running
    with pytest.raises(dns.exception.Timeout):
        ask(server, "www.contoso.example.", "A", timeout=0.2)


def test_require_knotd_skips_or_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(knot, "knotd_path", lambda: None)
    monkeypatch.delenv("MAILFLOW_REQUIRE_KNOT", raising=False)
    with pytest.raises(pytest.skip.Exception, match="knotd is not installed"):
        require_knotd()
    monkeypatch.setenv("MAILFLOW_REQUIRE_KNOT", "1")
    with pytest.raises(pytest.fail.Exception, match="knotd is not installed"):
        require_knotd()
    monkeypatch.setattr(knot, "knotd_path", lambda: "/usr/sbin/knotd")
    assert require_knotd() == "/usr/sbin/knotd"


# -- fault server --------------------------------------------------------------------------------------------


@pytest.fixture
def faults() -> Iterator[FaultServer]:
    behaviours: dict[BehaviourKey, BehaviourSpec] = {
        **STANDARD_BEHAVIOURS,
        "alias.test.": {"CNAME": ["ok.test."]},
        "big.test.": {"TXT": [f'"{index:03d} {"x" * 60}"' for index in range(40)]},
        ("typed.test.", "TXT"): "servfail",
        "typed.test.": {"A": ["192.0.2.7"]},
    }
    with FaultServer(behaviours) as server:
        yield server


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_fault_answer_nxdomain_nodata(faults: FaultServer, tcp: bool) -> None:
    response = ask(faults, "ok.test.", "TXT", tcp=tcp)
    assert response.rcode() == dns.rcode.NOERROR
    assert rrset_texts(response) == ['ok.test. 300 IN TXT "v=spf1" " -all"']
    assert ask(faults, "nxdomain.test.", "A", tcp=tcp).rcode() == dns.rcode.NXDOMAIN
    nodata = ask(faults, "ok.test.", "AAAA", tcp=tcp)
    assert (nodata.rcode(), nodata.answer) == (dns.rcode.NOERROR, [])
    assert ask(faults, "not-listed.test.", "A", tcp=tcp).rcode() == dns.rcode.NXDOMAIN  # the default


def test_fault_cname_is_followed_and_keys_may_name_a_type(faults: FaultServer) -> None:
    assert rrset_texts(ask(faults, "alias.test.", "A")) == [
        "alias.test. 300 IN CNAME ok.test.",
        "ok.test. 300 IN A 192.0.2.1",
    ]
    assert ask(faults, "typed.test.", "TXT").rcode() == dns.rcode.SERVFAIL
    assert rrset_texts(ask(faults, "typed.test.", "A")) == ["typed.test. 300 IN A 192.0.2.7"]


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_fault_timeout_never_replies(faults: FaultServer, tcp: bool) -> None:
    began = time.monotonic()
    with pytest.raises(dns.exception.Timeout):
        ask(faults, "timeout.test.", "A", tcp=tcp, timeout=TIMEOUT)
    assert time.monotonic() - began < TIMEOUT + 0.5
    assert faults.count("timeout.test.", "A", "tcp" if tcp else "udp") == 1


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
@pytest.mark.parametrize("kind", ["servfail", "refused", "formerr"])
def test_fault_error_rcodes(faults: FaultServer, kind: str, tcp: bool) -> None:
    response = ask(faults, f"{kind}.test.", "MX", tcp=tcp)
    assert dns.rcode.to_text(response.rcode()).lower() == kind
    assert not response.answer


def test_fault_truncate_sets_tc_over_udp_and_answers_over_tcp(faults: FaultServer) -> None:
    over_udp = ask(faults, "truncate.test.", "TXT")
    assert over_udp.flags & dns.flags.TC
    assert not over_udp.answer
    over_tcp = ask(faults, "truncate.test.", "TXT", tcp=True)
    assert not over_tcp.flags & dns.flags.TC
    assert {rdata.to_text() for rdata in over_tcp.answer[0]} == {'"v=spf1 ip4:192.0.2.0/24 -all"', '"only over tcp"'}

    faults.reset_counts()
    query = dns.message.make_query("truncate.test.", "TXT")
    response, used_tcp = dns.query.udp_with_fallback(query, faults.address, port=faults.port, timeout=2)
    assert used_tcp
    assert len(response.answer[0]) == 2
    assert faults.counts() == {Query("truncate.test.", "TXT", "udp"): 1, Query("truncate.test.", "TXT", "tcp"): 1}


def test_fault_answers_too_big_for_udp_are_truncated(faults: FaultServer) -> None:
    assert ask(faults, "big.test.", "TXT").flags & dns.flags.TC  # 512 bytes without EDNS
    query = dns.message.make_query("big.test.", "TXT", use_edns=0, payload=4096)
    response, used_tcp = dns.query.udp_with_fallback(query, faults.address, port=faults.port, timeout=2)
    assert (used_tcp, len(response.answer[0])) == (False, 40)


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_fault_malformed_reply_does_not_parse(faults: FaultServer, tcp: bool) -> None:
    with pytest.raises(dns.exception.FormError):
        ask(faults, "malformed.test.", "A", tcp=tcp, timeout=1)


def test_fault_oversized(faults: FaultServer) -> None:
    assert ask(faults, "oversized.test.", "TXT").flags & dns.flags.TC
    query = dns.message.make_query("oversized.test.", "TXT")
    response, used_tcp = dns.query.udp_with_fallback(query, faults.address, port=faults.port, timeout=2)
    assert used_tcp
    size = len(response.to_wire())
    assert 60_000 < size <= 65_535
    assert len(response.answer[0]) > 200
    assert faults.count("oversized.test.", transport="tcp") == 1

    other = ask(faults, "oversized.test.", "MX", tcp=True)
    assert (other.answer, len(other.additional[0])) == ([], len(response.answer[0]))


def test_fault_cname_loop(faults: FaultServer) -> None:
    response = ask(faults, "a.loop.test.", "A")
    assert rrset_texts(response) == ["a.loop.test. 300 IN CNAME b.loop.test.", "b.loop.test. 300 IN CNAME a.loop.test."]
    assert isinstance(response, dns.message.QueryMessage)
    with pytest.raises(dns.message.ChainTooLong):
        response.resolve_chaining()
    assert rrset_texts(ask(faults, "b.loop.test.", "TXT", tcp=True))[0] == "b.loop.test. 300 IN CNAME a.loop.test."


def test_fault_counts_per_name_type_and_transport(faults: FaultServer) -> None:
    ask(faults, "ok.test.", "A")
    ask(faults, "OK.TEST.", "A")
    ask(faults, "ok.test.", "MX", tcp=True)
    assert faults.count("ok.test.", "A", "udp") == 2
    assert faults.count("ok.test", "mx") == 1
    assert faults.count(transport="tcp") == 1
    assert faults.count() == 3
    faults.reset_counts()
    assert faults.queries == []


def test_fault_default_behaviour_and_garbage_queries() -> None:
    with FaultServer({"ok.test": {"A": ["192.0.2.1"]}}, default="refused") as server:
        assert ask(server, "anything.test.", "A").rcode() == dns.rcode.REFUSED
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as raw:
            raw.settimeout(2)
            raw.sendto(b"\x12\x34\x01\x00" + b"\xff" * 20, (server.address, server.port))
            reply = raw.recv(512)
        assert reply[:2] == b"\x12\x34"
        assert struct.unpack("!H", reply[2:4])[0] & 0x800F == 0x8000 | dns.rcode.FORMERR


def test_fault_server_rejects_unknown_behaviours() -> None:
    with pytest.raises(ValueError, match="unknown fault behaviour 'explode'"):
        FaultServer({"x.test.": "explode"})
    with pytest.raises(ValueError, match="needs records"):
        Behaviour.of("answer")


def test_fault_server_stops_quickly_with_a_client_still_waiting() -> None:
    server = FaultServer(STANDARD_BEHAVIOURS).start()
    with socket.create_connection((server.address, server.port), timeout=2) as client:
        wire = dns.message.make_query("timeout.test.", "A").to_wire()
        client.sendall(struct.pack("!H", len(wire)) + wire)
        while server.count("timeout.test.") == 0:
            time.sleep(0.01)
        began = time.monotonic()
        server.stop()
        assert time.monotonic() - began < 2
        assert client.recv(2) == b""  # the server closed its side without replying
    with pytest.raises(dns.exception.Timeout):
        ask(server, "ok.test.", "A", timeout=0.2)
