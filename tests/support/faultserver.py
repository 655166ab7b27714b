"""A small DNS server on 127.0.0.1 that misbehaves on purpose, for testing how lookups cope with faults.

``FaultServer(behaviours, default=...)`` answers over UDP and TCP on one free port. ``behaviours`` maps a
lower-case absolute query name (``"timeout.test."``), or a ``(name, rdtype)`` pair such as
``("spf.test.", "TXT")``, to what the server does for it:

* ``{"A": ["192.0.2.1"], "TXT": ['"v=spf1" " -all"']}`` (or ``Behaviour.answer(...)``): NOERROR with those
  records; a type that is not listed gets NODATA; a ``CNAME`` entry is followed through the table.
* ``"nxdomain"``, ``"nodata"``: the negative answers.
* ``"timeout"``: never replies (over TCP the connection stays open until the client gives up).
* ``"servfail"``, ``"refused"``, ``"formerr"``: a reply with that rcode.
* ``"truncate"``: over UDP TC=1 and no records; over TCP the full answer (``Behaviour.truncate(records)``).
* ``"malformed"``: bytes that start like a reply to the query (same ID) but do not parse.
* ``"oversized"``: over UDP TC=1; over TCP the largest reply DNS/TCP can carry (a ~64 KB TXT RRset).
* ``"cname_loop"``: name CNAME itself; ``cname_loop(a, b)`` gives the two-name loop a -> b -> a.
* ``"wrong_id"``, ``"wrong_question"``: a well-formed reply to another query (ID changed, or another name).
* ``"decoy_first"``: over UDP a reply with the wrong ID (as a spoofer would send), then the right answer.
* ``"garbage"``: bytes that are no DNS message at all (not even the query's ID).
* ``"tc_then_silent"``: over UDP TC=1; over TCP the connection is accepted and never answered.
* ``"flood"``: over UDP TC=1; over TCP the largest reply, then 1 MiB more bytes on the same connection.

``FaultServer(..., tcp=False)`` refuses TCP connections (nothing listens), for truncation with no TCP.

Queries are counted per (name, type, transport): ``server.count("trunc.test.", "TXT", "tcp")``.
Replies only ever go back to the loopback client that asked; CNAME chains are bounded.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Literal, NamedTuple, Self, TypeAlias, get_args

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset

__all__ = [
    "STANDARD_BEHAVIOURS",
    "Behaviour",
    "BehaviourKey",
    "BehaviourSpec",
    "Behaviours",
    "FaultServer",
    "Kind",
    "Query",
    "Transport",
    "cname_loop",
]

Kind = Literal[
    "answer",
    "nxdomain",
    "nodata",
    "timeout",
    "servfail",
    "refused",
    "formerr",
    "truncate",
    "malformed",
    "oversized",
    "cname_loop",
    "wrong_id",
    "wrong_question",
    "decoy_first",
    "garbage",
    "tc_then_silent",
    "flood",
]
Transport = Literal["udp", "tcp"]
BehaviourSpec: TypeAlias = "Behaviour | str | Mapping[str, Sequence[str]]"  # a Kind name, records, or Behaviour
BehaviourKey: TypeAlias = str | tuple[str, str]  # "name." or ("name.", "TXT")
# Mapping keys are invariant, so a dict keyed only by str is spelled out as well.
Behaviours: TypeAlias = (
    "Mapping[str, BehaviourSpec] | Mapping[tuple[str, str], BehaviourSpec] | Mapping[BehaviourKey, BehaviourSpec]"
)

MAX_CHAIN = 16  # CNAME links followed inside one reply
MAX_TCP_CLIENTS = 64
TCP_MAX_MESSAGE = 65535
FLOOD_BYTES = 1024 * 1024
_POLL = 0.05  # how often the loops look at the stop flag
_SEND_TIMEOUT = 2.0
_ERROR_RCODES: dict[str, dns.rcode.Rcode] = {
    "servfail": dns.rcode.SERVFAIL,
    "refused": dns.rcode.REFUSED,
    "formerr": dns.rcode.FORMERR,
}
TRUNCATE_RECORDS: dict[str, tuple[str, ...]] = {
    "A": ("192.0.2.53",),
    "MX": ("10 mx.truncate.test.",),
    "TXT": ('"v=spf1 ip4:192.0.2.0/24 -all"', '"only over tcp"'),
}


def _rdtype(value: str | int) -> dns.rdatatype.RdataType:
    return dns.rdatatype.RdataType.make(value.upper() if isinstance(value, str) else value)


def _absolute(name: str) -> str:
    """Lower-case absolute text form, as keys and counts use it."""
    return dns.name.from_text(name).to_text().lower()


@dataclass(frozen=True)
class Behaviour:
    """What the server does for one name; build it with the class methods or pass a shorthand."""

    kind: Kind
    records: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    ttl: int = 300
    _rdatas: dict[dns.rdatatype.RdataType, tuple[dns.rdata.Rdata, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.kind not in get_args(Kind):
            raise ValueError(f"unknown fault behaviour {self.kind!r}; one of {', '.join(get_args(Kind))}")
        parsed: dict[dns.rdatatype.RdataType, tuple[dns.rdata.Rdata, ...]] = {}
        for rdtype_text, texts in self.records.items():
            rdtype = _rdtype(rdtype_text)
            parsed[rdtype] = tuple(
                dns.rdata.from_text(dns.rdataclass.IN, rdtype, text, origin=dns.name.root, relativize=False)
                for text in texts
            )
        if len(parsed.get(dns.rdatatype.CNAME, ())) > 1:
            raise ValueError("a name has at most one CNAME")
        self._rdatas.update(parsed)

    @classmethod
    def answer(cls, records: Mapping[str, Sequence[str]], *, ttl: int = 300) -> Behaviour:
        return cls("answer", {rdtype: tuple(texts) for rdtype, texts in records.items()}, ttl)

    @classmethod
    def truncate(cls, records: Mapping[str, Sequence[str]] | None = None, *, ttl: int = 300) -> Behaviour:
        chosen = TRUNCATE_RECORDS if records is None else records
        return cls("truncate", {rdtype: tuple(texts) for rdtype, texts in chosen.items()}, ttl)

    @classmethod
    def cname_loop(cls, target: str) -> Behaviour:
        """This name CNAME ``target``; pair it with ``target`` CNAME this name (see ``cname_loop()``)."""
        return cls("cname_loop", {"CNAME": (_absolute(target),)})

    @classmethod
    def of(cls, spec: BehaviourSpec) -> Behaviour:
        if isinstance(spec, Behaviour):
            return spec
        if isinstance(spec, str):
            if spec == "answer":
                raise ValueError('"answer" needs records: pass a mapping such as {"A": ["192.0.2.1"]}')
            if spec == "truncate":
                return cls.truncate()
            return cls(spec)  # type: ignore[arg-type]  # __post_init__ rejects unknown kinds
        return cls.answer(spec)

    def rdatas(self, rdtype: dns.rdatatype.RdataType) -> tuple[dns.rdata.Rdata, ...]:
        return self._rdatas.get(rdtype, ())

    def all_rdatas(self) -> dict[dns.rdatatype.RdataType, tuple[dns.rdata.Rdata, ...]]:
        return dict(self._rdatas)


def cname_loop(first: str, second: str) -> dict[BehaviourKey, Behaviour]:
    """``first`` CNAME ``second`` and ``second`` CNAME ``first``, ready to merge into a behaviours dict."""
    return {_absolute(first): Behaviour.cname_loop(second), _absolute(second): Behaviour.cname_loop(first)}


STANDARD_BEHAVIOURS: dict[BehaviourKey, Behaviour] = {
    "ok.test.": Behaviour.answer({"A": ["192.0.2.1"], "TXT": ['"v=spf1" " -all"'], "MX": ["10 mx.ok.test."]}),
    "nxdomain.test.": Behaviour("nxdomain"),
    "nodata.test.": Behaviour("nodata"),
    "timeout.test.": Behaviour("timeout"),
    "servfail.test.": Behaviour("servfail"),
    "refused.test.": Behaviour("refused"),
    "formerr.test.": Behaviour("formerr"),
    "truncate.test.": Behaviour.truncate(),
    "malformed.test.": Behaviour("malformed"),
    "oversized.test.": Behaviour("oversized"),
    **cname_loop("a.loop.test.", "b.loop.test."),
}


class _Stream(bytes):
    """A reply with more around it: a UDP datagram sent ``before`` it, or TCP bytes sent ``after`` it."""

    before: bytes
    after: bytes

    def __new__(cls, message: bytes, *, before: bytes = b"", after: bytes = b"") -> Self:
        made = super().__new__(cls, message)
        made.before, made.after = before, after
        return made


class Query(NamedTuple):
    name: str  # lower-case, absolute
    rdtype: str  # "TXT"
    transport: Transport


class FaultServer:
    """Serve ``behaviours`` over UDP and TCP on 127.0.0.1 at ``port`` (chosen when started)."""

    address = "127.0.0.1"

    def __init__(
        self,
        behaviours: Behaviours | None = None,
        *,
        default: BehaviourSpec = "nxdomain",
        tcp: bool = True,
    ) -> None:
        self.behaviours: dict[tuple[str, int | None], Behaviour] = {}
        for key, spec in (behaviours or {}).items():
            name, rdtype = (key, None) if isinstance(key, str) else (key[0], int(_rdtype(key[1])))
            self.behaviours[(_absolute(name), rdtype)] = Behaviour.of(spec)
        self.default = Behaviour.of(default)
        self.tcp = tcp
        self.port = 0
        self._lock = threading.Lock()
        self._queries: list[Query] = []
        self.errors: list[Exception] = []  # bugs in the server itself; stop() raises if there are any
        self._stop = threading.Event()
        self._udp: socket.socket | None = None
        self._tcp: socket.socket | None = None
        self._threads: list[threading.Thread] = []  # the UDP loop and the TCP accept loop
        self._connections: list[threading.Thread] = []  # one per open TCP connection

    # -- lifecycle -----------------------------------------------------------------------------------------

    def start(self) -> Self:
        if self._udp is not None:
            raise RuntimeError("FaultServer is already running")
        self._stop.clear()
        self._udp, self._tcp = _bind_pair(self.address)
        self.port = self._udp.getsockname()[1]
        self._udp.settimeout(_POLL)
        self._tcp.settimeout(_POLL)
        self._threads = [self._spawn(self._serve_udp, "udp")]
        if self.tcp:  # otherwise the port stays bound, but a TCP connection to it is refused
            self._tcp.listen(16)
            self._threads.append(self._spawn(self._serve_tcp, "tcp-accept"))
        return self

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        # The accept loop has ended, so no connection thread starts after this point.
        for thread in self._connections:
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = [thread.name for thread in [*self._threads, *self._connections] if thread.is_alive()]
        for sock in (self._udp, self._tcp):
            if sock is not None:
                sock.close()
        self._udp = self._tcp = None
        self._threads, self._connections = [], []
        if alive:
            raise RuntimeError(f"FaultServer threads did not stop within {timeout} s: {alive}")
        errors, self.errors = self.errors, []
        if errors:
            raise RuntimeError(f"FaultServer failed while answering: {errors!r}") from errors[0]

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- counting ------------------------------------------------------------------------------------------

    @property
    def queries(self) -> list[Query]:
        """Every query received so far, in order."""
        with self._lock:
            return list(self._queries)

    def counts(self) -> Counter[Query]:
        return Counter(self.queries)

    def count(self, name: str | None = None, rdtype: str | None = None, transport: Transport | None = None) -> int:
        """How many queries matched; ``None`` matches anything."""
        wanted_name = None if name is None else _absolute(name)
        wanted_type = None if rdtype is None else _rdtype(rdtype).name
        return sum(
            1
            for query in self.queries
            if (wanted_name is None or query.name == wanted_name)
            and (wanted_type is None or query.rdtype == wanted_type)
            and (transport is None or query.transport == transport)
        )

    def reset_counts(self) -> None:
        with self._lock:
            self._queries.clear()

    # -- answering -----------------------------------------------------------------------------------------

    def behaviour_for(self, name: str, rdtype: int) -> Behaviour:
        name = name.lower()
        return self.behaviours.get((name, rdtype)) or self.behaviours.get((name, None)) or self.default

    def reply(self, wire: bytes, transport: Transport, udp_limit: int = 512) -> bytes | None:
        """The bytes to send back for query ``wire``, or None to stay silent (SERVFAIL if the server breaks)."""
        try:
            return self._reply(wire, transport, udp_limit)
        except Exception as error:
            with self._lock:
                self.errors.append(error)
            return _error_header(wire, dns.rcode.SERVFAIL)

    def _reply(self, wire: bytes, transport: Transport, udp_limit: int) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except Exception:
            return _error_header(wire, dns.rcode.FORMERR)
        if query.flags & dns.flags.QR:
            return None  # never answer a response
        if len(query.question) != 1:
            return _error_header(wire, dns.rcode.FORMERR)
        question = query.question[0]
        qname = question.name.to_text().lower()
        rdtype = dns.rdatatype.RdataType.make(question.rdtype)
        with self._lock:
            self._queries.append(Query(qname, rdtype.name, transport))
        behaviour = self.behaviour_for(qname, rdtype)
        kind = behaviour.kind

        if kind == "timeout" or (kind == "tc_then_silent" and transport == "tcp"):
            return None
        if kind == "malformed":
            return _malformed(query.id)
        if kind == "garbage":
            return bytes(range(7, 7 + 11))  # shorter than a header, and not the query's ID
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if kind in _ERROR_RCODES:
            response.set_rcode(_ERROR_RCODES[kind])
            return response.to_wire()
        if transport == "udp" and kind in ("truncate", "oversized", "tc_then_silent", "flood"):
            response.flags |= dns.flags.TC
            return response.to_wire()
        if kind == "oversized":
            return _oversized(response, question.name, rdtype)
        if kind == "flood":
            return _Stream(_oversized(response, question.name, rdtype), after=b"\xff" * FLOOD_BYTES)
        if kind == "wrong_id":
            response.id = (query.id + 1) % 65536
            return response.to_wire()
        if kind == "decoy_first":
            self._answer(response, question.name, rdtype, behaviour)
            decoy = dns.message.make_response(query)
            decoy.id = (query.id + 1) % 65536
            return _Stream(response.to_wire(), before=decoy.to_wire()) if transport == "udp" else response.to_wire()
        if kind == "wrong_question":
            other = dns.message.make_query(dns.name.from_text("other.test."), rdtype, id=query.id)
            wrong = dns.message.make_response(other)
            wrong.flags |= dns.flags.AA
            return wrong.to_wire()
        self._answer(response, question.name, rdtype, behaviour)
        limit = TCP_MAX_MESSAGE if transport == "tcp" else max(512, min(udp_limit, TCP_MAX_MESSAGE))
        try:
            return response.to_wire(max_size=limit)
        except dns.exception.TooBig:
            del response.answer[:], response.authority[:], response.additional[:]
            response.flags |= dns.flags.TC
            return response.to_wire()

    def _answer(self, response: dns.message.Message, qname: dns.name.Name, rdtype: int, behaviour: Behaviour) -> None:
        """Fill ``response`` like an authoritative server: records, CNAME chain (bounded), NXDOMAIN or NODATA."""
        seen: set[dns.name.Name] = set()
        name = qname
        for _ in range(MAX_CHAIN):
            seen.add(name)
            if behaviour.kind == "nxdomain":
                response.set_rcode(dns.rcode.NXDOMAIN)
                return
            if behaviour.kind not in ("answer", "nodata", "truncate", "cname_loop", "decoy_first"):
                return  # a fault at a CNAME target: leave the chain where it is
            if rdtype == dns.rdatatype.ANY:
                for rdatas in behaviour.all_rdatas().values():
                    response.answer.append(dns.rrset.from_rdata_list(name, behaviour.ttl, list(rdatas)))
                return
            if rdatas := behaviour.rdatas(dns.rdatatype.RdataType.make(rdtype)):
                response.answer.append(dns.rrset.from_rdata_list(name, behaviour.ttl, list(rdatas)))
                return
            cname = behaviour.rdatas(dns.rdatatype.CNAME)
            if not cname:
                return  # NODATA
            response.answer.append(dns.rrset.from_rdata_list(name, behaviour.ttl, list(cname)))
            target: dns.name.Name = cname[0].target  # type: ignore[attr-defined]
            if target in seen:
                return  # a loop: the client sees every link once
            name = target
            behaviour = self.behaviour_for(target.to_text(), rdtype)

    # -- transports ----------------------------------------------------------------------------------------

    def _spawn(self, target: Callable[..., None], name: str, *args: object) -> threading.Thread:
        thread = threading.Thread(target=target, args=args, name=f"faultserver-{name}", daemon=True)
        thread.start()
        return thread

    def _serve_udp(self) -> None:
        sock = self._udp
        assert sock is not None
        while not self._stop.is_set():
            try:
                wire, peer = sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            if not _is_loopback(peer[0]):
                continue
            reply = self.reply(wire, "udp", _udp_payload(wire))
            if reply is not None:
                try:
                    if getattr(reply, "before", b""):
                        sock.sendto(reply.before, peer)  # type: ignore[attr-defined]
                    sock.sendto(reply, peer)
                except OSError:
                    continue

    def _serve_tcp(self) -> None:
        listener = self._tcp
        assert listener is not None
        while not self._stop.is_set():
            try:
                conn, peer = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._connections = [thread for thread in self._connections if thread.is_alive()]
            if not _is_loopback(peer[0]) or len(self._connections) >= MAX_TCP_CLIENTS:
                conn.close()
                continue
            conn.settimeout(_POLL)
            self._connections.append(self._spawn(self._serve_connection, f"tcp-{peer[1]}", conn))

    def _serve_connection(self, conn: socket.socket) -> None:
        with conn:
            while not self._stop.is_set():
                header = self._recv_exactly(conn, 2)
                if header is None:
                    return
                wire = self._recv_exactly(conn, struct.unpack("!H", header)[0])
                if wire is None:
                    return
                reply = self.reply(wire, "tcp")
                if reply is None:
                    continue  # "timeout": keep the connection until the client gives up
                conn.settimeout(_SEND_TIMEOUT)
                try:
                    conn.sendall(struct.pack("!H", len(reply)) + reply + getattr(reply, "after", b""))
                except OSError:
                    return
                conn.settimeout(_POLL)

    def _recv_exactly(self, conn: socket.socket, size: int) -> bytes | None:
        data = b""
        while len(data) < size:
            if self._stop.is_set():
                return None
            try:
                chunk = conn.recv(size - len(data))
            except TimeoutError:
                continue
            except OSError:
                return None
            if not chunk:
                return None
            data += chunk
        return data


def _bind_pair(address: str, attempts: int = 50) -> tuple[socket.socket, socket.socket]:
    """A UDP and a TCP socket bound to the same free port on ``address``."""
    for _ in range(attempts):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            udp.bind((address, 0))
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                tcp.bind((address, udp.getsockname()[1]))
            except OSError:
                tcp.close()
                udp.close()
                continue
        except BaseException:
            udp.close()
            raise
        return udp, tcp
    raise OSError(f"no port on {address} is free for both UDP and TCP")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _udp_payload(wire: bytes) -> int:
    try:
        query = dns.message.from_wire(wire)
    except Exception:
        return 512
    return query.payload if query.edns >= 0 else 512


def _error_header(wire: bytes, rcode: dns.rcode.Rcode) -> bytes | None:
    """A bare reply with ``rcode`` and no sections (silence if ``wire`` is no query header to answer)."""
    if len(wire) < 12 or wire[2] & 0x80:  # too short, or QR set: never answer a response
        return None
    flags = dns.flags.QR | (wire[2] << 8 & dns.flags.RD) | rcode
    return wire[:2] + struct.pack("!HHHHH", flags, 0, 0, 0, 0)


def _malformed(query_id: int) -> bytes:
    """A header that claims a question and an answer, then label bytes no parser accepts (0x40 label type)."""
    flags = dns.flags.QR | dns.flags.AA | dns.flags.RD
    return struct.pack("!HHHHHH", query_id, flags, 1, 1, 0, 0) + b"\x7fgarbage" * 4


def _oversized(response: dns.message.Message, qname: dns.name.Name, rdtype: int) -> bytes:
    """The largest reply a DNS message can be (TCP's 16-bit length): a TXT RRset of distinct 255-byte strings.

    TXT queries get it as the answer; other types get NODATA with the TXT RRset in the additional section.
    """
    section = response.answer if rdtype in (dns.rdatatype.TXT, dns.rdatatype.ANY) else response.additional
    per_record = 2 + 10 + 256  # compressed owner, type/class/ttl/rdlength, one 255-byte string
    count = (TCP_MAX_MESSAGE - len(response.to_wire())) // per_record + 1
    while count > 0:
        rdatas = [
            dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, '"' + f"{index:06d}".ljust(255, "x") + '"')
            for index in range(count)
        ]
        section[:] = [dns.rrset.from_rdata_list(qname, 300, rdatas)]
        try:
            return response.to_wire(max_size=TCP_MAX_MESSAGE)
        except dns.exception.TooBig:
            count -= 1
    raise AssertionError("unreachable: an empty TXT RRset always fits")
