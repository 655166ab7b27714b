"""Live DNS through dnspython: explicit servers, absolute names, no search list, bounded time.

Each question is sent as-is (absolute, no search domains) to the configured servers in order, with
retries; a truncated UDP answer is repeated over TCP. CNAME chains are followed inside the answer
and, when the server stops at an alias (an authoritative server for another zone), by asking again
for the target. Outcomes map to the source protocol: NOERROR with records, NODATA, NXDOMAIN, or a
:class:`ResolutionError` with the cause (TIMEOUT, SERVFAIL, REFUSED, FORMERR, UNREACHABLE).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.resolver

from .base import Answer, Question, ResolutionError
from .https import HttpsResult, LiveFetcher

MAX_CNAME_CHAIN = 16
_RCODE_CAUSES = {dns.rcode.SERVFAIL: "SERVFAIL", dns.rcode.REFUSED: "REFUSED", dns.rcode.FORMERR: "FORMERR"}


@dataclass(frozen=True)
class Server:
    address: str
    port: int = 53

    def __str__(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"


def parse_server(text: str) -> Server:
    """``ADDR``, ``ADDR:PORT``, ``[v6]:PORT`` or a bare IPv6 address."""
    raw = text.strip()
    address, port = raw, "53"
    if raw.startswith("["):
        address, _, rest = raw[1:].partition("]")
        port = rest.removeprefix(":") or "53"
    elif raw.count(":") == 1:
        address, port = raw.split(":")
    try:
        ipaddress.ip_address(address)
        number = int(port)
    except ValueError:
        raise ValueError(f"'{text}' is not ADDR[:PORT] with an IP address (e.g. 127.0.0.1:5353)") from None
    if not 0 < number < 65536:
        raise ValueError(f"'{text}': port {number} is out of range")
    return Server(address, number)


def system_servers() -> list[Server]:
    """The system's resolvers (resolv.conf); their search list is never used."""
    try:
        resolver = dns.resolver.Resolver(configure=True)
    except dns.exception.DNSException as exc:
        raise ValueError(f"no system resolver configured ({exc}); give --mailflow-nameserver") from None
    return [Server(str(ns), 53) for ns in resolver.nameservers]


class LiveSource:
    """Asks real name servers. Used for live runs, for recording cassettes, and as a zone fallback."""

    def __init__(self, servers: list[Server], timeout: float = 3.0, retries: int = 1, https_port: int = 443) -> None:
        if not servers:
            raise ValueError("the live DNS source needs at least one name server")
        self.servers = servers
        self.timeout = timeout
        self.retries = retries
        self.queries_sent = 0
        self.https_port = https_port

    def fetch(self, url: str) -> HttpsResult:
        """HTTPS GET (MTA-STS policy files), resolving the host through this source."""
        return LiveFetcher(self.resolve, timeout=max(self.timeout, 5.0), port=self.https_port).fetch(url)

    def describe(self) -> str:
        return "live DNS via " + ", ".join(str(s) for s in self.servers)

    def resolve(self, question: Question) -> Answer:
        rdtype = dns.rdatatype.from_text(question.rdtype)
        name = dns.name.from_text(question.name)
        chain: list[str] = []
        seen = {name}
        for _ in range(MAX_CNAME_CHAIN):
            response, where = self._exchange(question, name, rdtype)
            final = self._follow(response, name, rdtype, chain, seen)
            if final is None:
                # A recursive resolver answers SERVFAIL for a CNAME loop; so do we.
                raise ResolutionError(question, "SERVFAIL", "CNAME loop: " + " -> ".join(chain), where)
            if response.rcode() == dns.rcode.NXDOMAIN:
                return Answer(question, "NXDOMAIN", (), tuple(chain), where)
            rrset = response.get_rrset(response.answer, final, dns.rdataclass.IN, rdtype)
            if rrset is not None:
                records = tuple(sorted(r.to_text(origin=dns.name.root, relativize=False) for r in rrset))
                return Answer(question, "NOERROR", records, tuple(chain), where, rrset.ttl)
            if final != name and rdtype != dns.rdatatype.CNAME:
                name = final  # the server stopped at an alias it is not authoritative for: ask for the target
                continue
            return Answer(question, "NODATA", (), tuple(chain), where)
        raise ResolutionError(question, "SERVFAIL", "CNAME chain too long: " + " -> ".join(chain))

    @staticmethod
    def _follow(
        response: dns.message.Message,
        name: dns.name.Name,
        rdtype: dns.rdatatype.RdataType,
        chain: list[str],
        seen: set[dns.name.Name],
    ) -> dns.name.Name | None:
        """Walk the CNAMEs in the answer section from ``name``: the last name reached, or None on a loop."""
        current = name
        while rdtype != dns.rdatatype.CNAME and len(chain) <= MAX_CNAME_CHAIN:
            cname = response.get_rrset(response.answer, current, dns.rdataclass.IN, dns.rdatatype.CNAME)
            if cname is None:
                break
            target = next(iter(cname)).target
            chain.append(target.to_text().lower())
            if target in seen:
                return None
            seen.add(target)
            current = target
        return current

    def _exchange(
        self, question: Question, name: dns.name.Name, rdtype: dns.rdatatype.RdataType
    ) -> tuple[dns.message.Message, str]:
        causes: list[str] = []
        for _attempt in range(self.retries + 1):
            for server in self.servers:
                query = dns.message.make_query(name, rdtype, use_edns=0, payload=1232)
                query.flags |= dns.flags.RD
                self.queries_sent += 1
                try:
                    response, used_tcp = dns.query.udp_with_fallback(
                        query, server.address, timeout=self.timeout, port=server.port
                    )
                except dns.exception.Timeout:
                    causes.append(f"TIMEOUT from {server}")
                    continue
                except OSError as exc:
                    causes.append(f"UNREACHABLE {server} ({exc.strerror or exc})")
                    continue
                except (dns.exception.DNSException, ValueError) as exc:
                    causes.append(f"FORMERR from {server} (malformed answer: {exc})")
                    continue
                cause = _RCODE_CAUSES.get(response.rcode())
                if cause is not None:
                    causes.append(f"{cause} from {server}")
                    continue
                return response, f"{server} over {'TCP' if used_tcp else 'UDP'}"
        first = causes[-1].split(" ", 1)[0] if causes else "TIMEOUT"
        raise ResolutionError(
            Question.of(name.to_text(), question.rdtype), first, "; ".join(dict.fromkeys(causes)), "live DNS"
        )
