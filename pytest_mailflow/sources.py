"""Choosing the DNS source from settings: cassette replay (default), recording, live, or zone files.

Works without pytest; the plugin turns its options into :class:`SourceSettings`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .dns.base import DnsSource
from .dns.cassette import RECORD_MODES, CassetteFolderFactory
from .dns.live import LiveSource, Server, system_servers
from .dns.shared import SharedResolver
from .dns.zone import ZoneSource
from .dns.zonefiles import ZoneSet, cached_zone_set
from .errors import Problem

SOURCES = ("cassette", "live")
FALLBACKS = ("cassette", "live", "none")


@dataclass(frozen=True)
class SourceSettings:
    source: str = "cassette"
    record_mode: str = "none"
    keep_ttl: bool = False
    fetch_mta_sts: bool = False
    https_port: int = 443
    cassettes: Path | None = None
    nameservers: tuple[Server, ...] = ()
    timeout: float = 3.0
    retries: int = 1
    zones: tuple[Path, ...] = ()
    fallback: str = "cassette"
    #: Domains gathered at once from live DNS (1: one after the other, as they are checked).
    concurrency: int = 32

    def check(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"--mailflow-source must be one of {', '.join(SOURCES)}")
        if self.record_mode not in RECORD_MODES:
            raise ValueError(f"--mailflow-record-mode must be one of {', '.join(RECORD_MODES)}")
        if self.fallback not in FALLBACKS:
            raise ValueError(f"--mailflow-fallback must be one of {', '.join(FALLBACKS)}")
        if self.source == "live" and self.record_mode != "none":
            raise ValueError("--mailflow-source=live never writes cassettes; recording uses the cassette source")
        if self.timeout <= 0:
            raise ValueError("--mailflow-timeout must be a positive number of seconds")
        if self.retries < 0:
            raise ValueError("--mailflow-retries must be 0 or more")
        if self.concurrency < 1:
            raise ValueError("--mailflow-concurrency must be 1 or more")

    @property
    def recording(self) -> bool:
        return self.record_mode != "none" and self.source == "cassette"


@dataclass
class ZoneFactory:
    """Zone files for the names they define; a fallback for everything else."""

    zone_set: ZoneSet
    fallback: CassetteFolderFactory | Upstream | None
    _sources: dict[tuple[str, str], DnsSource] = field(default_factory=dict)

    def source_for(self, domain: str, policy_path: str) -> DnsSource:
        key = (domain, policy_path)
        if key not in self._sources:
            fallback: DnsSource | None
            if isinstance(self.fallback, CassetteFolderFactory):
                fallback = self.fallback.source_for(domain, policy_path)
            else:
                fallback = self.fallback
            self._sources[key] = ZoneSource(self.zone_set.zones, fallback, self.zone_set.broken)
        return self._sources[key]

    def describe(self) -> str:
        zones = ", ".join(z.display for z in self.zone_set.zones) or "no zones"
        other = self.fallback.describe() if self.fallback is not None else "no fallback"
        return f"zone files ({zones}); other names: {other}"

    @property
    def problems(self) -> list[Problem]:
        return self.zone_set.problems

    @property
    def uses_network(self) -> bool:
        if isinstance(self.fallback, CassetteFolderFactory):
            return self.fallback.upstream is not None
        return self.fallback is not None

    @property
    def resolver(self) -> SharedResolver | None:
        if isinstance(self.fallback, CassetteFolderFactory):
            return self.fallback.resolver
        return self.fallback if isinstance(self.fallback, SharedResolver) else None


@dataclass
class LiveFactory:
    """Live DNS for every domain, no cassettes involved."""

    live: Upstream
    uses_network = True

    def source_for(self, domain: str, policy_path: str) -> DnsSource:
        return self.live

    def describe(self) -> str:
        return self.live.describe()

    @property
    def resolver(self) -> SharedResolver | None:
        return self.live if isinstance(self.live, SharedResolver) else None


#: Live DNS as the engine uses it: one shared, concurrent cache, or a plain source asked question by question.
Upstream = SharedResolver | LiveSource


def live_source(settings: SourceSettings) -> Upstream:
    servers = list(settings.nameservers) or system_servers()
    live = LiveSource(servers, settings.timeout, settings.retries, settings.https_port)
    # Eight questions in flight per domain being gathered: the first questions of a domain go together.
    return SharedResolver(live, settings.concurrency * 8) if settings.concurrency > 1 else live


def build_sources(settings: SourceSettings, rootdir: Path) -> CassetteFolderFactory | ZoneFactory | LiveFactory:
    """The source factory the engine uses for every domain."""
    settings.check()
    if settings.source == "live" and not settings.zones:
        return LiveFactory(live_source(settings))
    upstream = live_source(settings) if settings.recording or settings.source == "live" else None
    cassettes = CassetteFolderFactory(settings.cassettes, rootdir, settings.record_mode, upstream, settings.keep_ttl)
    if not settings.zones:
        return cassettes
    fallback: CassetteFolderFactory | Upstream | None
    if settings.fallback == "cassette":
        fallback = cassettes
    elif settings.fallback == "live":
        fallback = upstream or live_source(settings)
    else:
        fallback = None
    return ZoneFactory(cached_zone_set(settings.zones, rootdir), fallback)


def close_sources(sources: object) -> None:
    """Stop the shared resolver's event loop, when the sources have one (it is a daemon thread, but a
    long-lived process that builds sources more than once should not keep them all)."""
    resolver = getattr(sources, "resolver", None)
    if isinstance(resolver, SharedResolver):
        resolver.close()
