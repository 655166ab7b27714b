"""Live DNS through dnspython: explicit servers, absolute names, no search list, bounded time.

Each question is sent as-is (absolute, no search domains) to the configured servers in order, with
retries; a truncated UDP answer is repeated over TCP. CNAME chains are followed inside the answer
and, when the server stops at an alias (an authoritative server for another zone), by asking again
for the target. Outcomes map to the source protocol: NOERROR with records, NODATA, NXDOMAIN, or a
:class:`ResolutionError` with the cause (TIMEOUT, SERVFAIL, REFUSED, FORMERR, UNREACHABLE).

Reading a response is shared by the blocking :meth:`LiveSource.resolve` and the asyncio exchange
the concurrent gatherer uses (:meth:`LiveSource.exchange_async`, see ``dns/shared.py``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass

import dns.asyncquery
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


def askable_name(question: Question) -> dns.name.Name:
    """The question's name for the wire, or :class:`ResolutionError` when no server could be asked it
    (a name built from DNS data can be over 255 octets: ``_25._tcp.`` before a 250-octet MX host)."""
    try:
        return dns.name.from_text(question.name)
    except dns.exception.DNSException as exc:
        raise ResolutionError(question, "not a name that can be asked", str(exc), "live DNS") from None


@dataclass(frozen=True)
class Alias:
    """The server stopped at an alias it does not serve: ask again for ``target``.

    ``chain`` holds the CNAME targets followed so far (ending with ``target``); ``seen`` every name on
    the way, so that a loop through later answers is still recognised.
    """

    target: dns.name.Name
    chain: tuple[str, ...]
    seen: frozenset[dns.name.Name]

    def extend(self, question: Question, tail: Answer) -> Answer:
        """The answer to the original question, once the target's answer is known."""
        return Answer(question, tail.status, tail.records, self.chain + tail.cname_chain, tail.provenance, tail.ttl)


def read_response(
    question: Question,
    name: dns.name.Name,
    response: dns.message.Message,
    where: str,
    seen: frozenset[dns.name.Name],
) -> Answer | Alias:
    """What one (NOERROR or NXDOMAIN) response says about ``question``, asked at ``name``."""
    rdtype = dns.rdatatype.from_text(question.rdtype)
    chain: list[str] = []
    visited = set(seen) | {name}
    final = name
    while rdtype != dns.rdatatype.CNAME:
        cname = response.get_rrset(response.answer, final, dns.rdataclass.IN, dns.rdatatype.CNAME)
        if cname is None:
            break
        target = next(iter(cname)).target
        chain.append(target.to_text().lower())
        if target in visited:
            # A recursive resolver answers SERVFAIL for a CNAME loop; so do we.
            raise ResolutionError(question, "SERVFAIL", "CNAME loop: " + " -> ".join(chain), where)
        if len(visited) > MAX_CNAME_CHAIN:
            raise ResolutionError(question, "SERVFAIL", "CNAME chain too long: " + " -> ".join(chain), where)
        visited.add(target)
        final = target
    if response.rcode() == dns.rcode.NXDOMAIN:
        return Answer(question, "NXDOMAIN", (), tuple(chain), where)
    rrset = response.get_rrset(response.answer, final, dns.rdataclass.IN, rdtype)
    if rrset is not None:
        records = tuple(sorted(r.to_text(origin=dns.name.root, relativize=False) for r in rrset))
        return Answer(question, "NOERROR", records, tuple(chain), where, rrset.ttl)
    if final != name:
        return Alias(final, tuple(chain), frozenset(visited))
    return Answer(question, "NODATA", (), tuple(chain), where)


class LiveSource:
    """Asks real name servers. Used for live runs, for recording cassettes, and as a zone fallback."""

    #: Safe to call from several threads at once (each call uses its own socket).
    thread_safe = True

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
        return self._resolve(question, frozenset())

    def _resolve(self, question: Question, seen: frozenset[dns.name.Name]) -> Answer:
        name = askable_name(question)
        response, where = self.exchange(question)
        step = read_response(question, name, response, where, seen)
        if isinstance(step, Answer):
            return step
        target = Question.of(step.target.to_text(), question.rdtype)
        return step.extend(question, self._resolve(target, step.seen))

    def exchange(self, question: Question) -> tuple[dns.message.Message, str]:
        """One question to the servers in turn (with retries): the first usable response and where from."""
        causes: list[str] = []
        for server, query in self._attempts(question):
            try:
                # ignore_*: a UDP reply with another ID or question, or one that does not parse, is dropped
                # and the wait goes on (RFC 5452 §9.1): a stray or forged datagram must not decide the answer.
                response, used_tcp = dns.query.udp_with_fallback(
                    query,
                    server.address,
                    timeout=self.timeout,
                    port=server.port,
                    ignore_unexpected=True,
                    ignore_errors=True,
                )
            except Exception as exc:  # classified by _failure(); anything else is re-raised
                causes.append(_failure(exc, server))
                continue
            if usable := _usable(response, used_tcp, server, causes):
                return usable
        raise _undetermined(question, causes)

    async def exchange_async(self, question: Question) -> tuple[dns.message.Message, str]:
        """:meth:`exchange` on asyncio (the concurrent gatherer's event loop)."""
        causes: list[str] = []
        for server, query in self._attempts(question):
            try:
                response, used_tcp = await dns.asyncquery.udp_with_fallback(
                    query,
                    server.address,
                    timeout=self.timeout,
                    port=server.port,
                    ignore_unexpected=True,
                    ignore_errors=True,
                )
            except Exception as exc:  # classified by _failure(); anything else is re-raised
                causes.append(_failure(exc, server))
                continue
            if usable := _usable(response, used_tcp, server, causes):
                return usable
        raise _undetermined(question, causes)

    def _attempts(self, question: Question) -> Iterator[tuple[Server, dns.message.Message]]:
        for _attempt in range(self.retries + 1):
            for server in self.servers:
                query = dns.message.make_query(question.name, question.rdtype, use_edns=0, payload=1232)
                query.flags |= dns.flags.RD
                self.queries_sent += 1
                yield server, query


def _usable(
    response: dns.message.Message, used_tcp: bool, server: Server, causes: list[str]
) -> tuple[dns.message.Message, str] | None:
    """The response and where it came from, unless its rcode says the server could not answer."""
    cause = _RCODE_CAUSES.get(response.rcode())
    if cause is None:
        return response, f"{server} over {'TCP' if used_tcp else 'UDP'}"
    causes.append(f"{cause} from {server}")
    return None


def _failure(exc: Exception, server: Server) -> str:
    """The cause an exchange failed with; exceptions that are bugs rather than network outcomes propagate."""
    if isinstance(exc, dns.exception.Timeout):
        return f"TIMEOUT from {server}"
    if isinstance(exc, OSError):
        return f"UNREACHABLE {server} ({exc.strerror or exc})"
    if isinstance(exc, dns.exception.DNSException | ValueError | EOFError):
        return f"FORMERR from {server} (malformed answer: {exc})"
    raise exc


def _undetermined(question: Question, causes: list[str]) -> ResolutionError:
    first = causes[-1].split(" ", 1)[0] if causes else "TIMEOUT"
    return ResolutionError(question, first, "; ".join(dict.fromkeys(causes)), "live DNS")
