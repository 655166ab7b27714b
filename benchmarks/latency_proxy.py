"""A DNS proxy on 127.0.0.1 that holds every answer for a fixed delay, and counts what it forwards.

Loopback has no latency and ``tc netem`` is not available everywhere, so the benchmark puts this in front
of the authoritative server to model the round trip to a real resolver. UDP queries share one upstream
socket (answers are matched by query ID and question); TCP connections are relayed message by message.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from collections import Counter
from dataclasses import dataclass, field


def _question(wire: bytes) -> tuple[str, int]:
    """(lower-case name, type) of the first question, from the wire format (no compression in questions)."""
    labels, at = [], 12
    while at < len(wire) and wire[at]:
        length = wire[at]
        labels.append(wire[at + 1 : at + 1 + length].decode("ascii", "replace").lower())
        at += 1 + length
    qtype = struct.unpack("!H", wire[at + 1 : at + 3])[0] if at + 3 <= len(wire) else 0
    return ".".join(labels) + ".", qtype


@dataclass
class ProxyCounts:
    """Queries forwarded, by (name, type): ``sum`` is queries sent, ``len`` unique questions."""

    questions: Counter[tuple[str, int]] = field(default_factory=Counter)

    @property
    def queries(self) -> int:
        return sum(self.questions.values())

    @property
    def unique(self) -> int:
        return len(self.questions)


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, proxy: LatencyProxy) -> None:
        self.proxy = proxy
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if len(data) < 12:
            return
        key = (data[:2], _question(data))
        self.proxy.counts.questions[key[1]] += 1
        self.proxy.waiting.setdefault(key, []).append(addr)
        assert self.proxy.upstream is not None
        self.proxy.upstream.sendto(data)


class _Upstream(asyncio.DatagramProtocol):
    def __init__(self, proxy: LatencyProxy) -> None:
        self.proxy = proxy

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        key = (data[:2], _question(data))
        clients = self.proxy.waiting.get(key)
        if not clients:
            return
        client = clients.pop(0)
        if not clients:
            del self.proxy.waiting[key]
        assert self.proxy.listener is not None and self.proxy.listener.transport is not None
        self.proxy.loop.call_later(self.proxy.delay, self.proxy.listener.transport.sendto, data, client)


class LatencyProxy:
    """``with LatencyProxy(upstream_port, delay=0.02) as proxy:`` listens on ``proxy.port`` (UDP and TCP)."""

    def __init__(self, upstream_port: int, delay: float = 0.020, upstream_host: str = "127.0.0.1") -> None:
        self.upstream_addr = (upstream_host, upstream_port)
        self.delay = delay
        self.counts = ProxyCounts()
        self.port = 0
        self.loop = asyncio.new_event_loop()
        self.waiting: dict[tuple[bytes, tuple[str, int]], list[tuple[str, int]]] = {}
        self.listener: _Udp | None = None
        self.upstream: asyncio.DatagramTransport | None = None
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, name="latency-proxy", daemon=True)

    def __enter__(self) -> LatencyProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(timeout=10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        self.loop.close()

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for transport in (self.upstream, self.listener.transport if self.listener else None):
            if transport is not None:
                transport.close()
        await asyncio.sleep(0)  # let the transports finish closing

    def reset(self) -> None:
        self.counts = ProxyCounts()

    async def _start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        _, listener = await self.loop.create_datagram_endpoint(lambda: _Udp(self), sock=sock)
        self.listener = listener
        upstream, _ = await self.loop.create_datagram_endpoint(lambda: _Upstream(self), remote_addr=self.upstream_addr)
        self.upstream = upstream
        self._server = await asyncio.start_server(self._relay_tcp, "127.0.0.1", self.port)

    async def _relay_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_writer: asyncio.StreamWriter | None = None
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream_addr)
            while True:
                head = await reader.readexactly(2)
                message = await reader.readexactly(struct.unpack("!H", head)[0])
                self.counts.questions[_question(message)] += 1
                up_writer.write(head + message)
                answer_head = await up_reader.readexactly(2)
                answer = await up_reader.readexactly(struct.unpack("!H", answer_head)[0])
                await asyncio.sleep(self.delay)
                writer.write(answer_head + answer)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            if up_writer is not None:
                up_writer.close()
