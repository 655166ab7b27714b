"""Build a policy folder with cassettes recorded from zone text, for end-to-end tests."""

from __future__ import annotations

from pathlib import Path

from pytest_mailflow.dns.base import Answer, DnsSource, Question, ResolutionError
from pytest_mailflow.dns.cassette import CassetteReplaySource, cassette_path, dump, write_atomic
from pytest_mailflow.dns.recording import RecordingSource
from pytest_mailflow.dns.zone import ZoneSource, load_zone_text
from pytest_mailflow.gather import GatherRequest, gather
from pytest_mailflow.policy.load import load_policy

DATA = Path(__file__).resolve().parents[1] / "data"
PROVIDERS = DATA / "recorded-providers.yaml"


def zone_source(zones: dict[str, str], *, providers: bool = True) -> ZoneSource:
    # Reverse lookups (pyspf's ptr and %{p}) find nothing rather than leaving the test data.
    zones = {"in-addr.arpa": zone("in-addr.arpa", ""), "ip6.arpa": zone("ip6.arpa", ""), **zones}
    loaded = [load_zone_text(text, origin, f"{origin}.zone") for origin, text in zones.items()]
    fallback = CassetteReplaySource(PROVIDERS, PROVIDERS.name) if providers else None
    return ZoneSource(loaded, fallback)


def write_policy_with_cassettes(folder: Path, name: str, policy: str, zones: dict[str, str]) -> Path:
    """Write ``folder/name`` and record a cassette per domain from ``zones`` (plus provider data)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(policy, encoding="utf-8")
    for domain in load_policy(path).domains:
        source = RecordingSource(zone_source(zones))
        gather(GatherRequest.for_policy(domain), source)
        write_atomic(cassette_path(folder / "cassettes", domain.name), dump(domain.name, source.recorded))
    return path


def zone(origin: str, body: str) -> str:
    """A zone with SOA and NS, plus ``body`` (relative names are under ``origin``)."""
    return (
        f"$ORIGIN {origin}.\n$TTL 3600\n"
        f"@ SOA ns1.{origin}. hostmaster.{origin}. 1 3600 600 1209600 3600\n"
        f"@ NS ns1.{origin}.\n{body}\n"
    )


def source(zones: dict[str, str]) -> ZoneSource:
    """Zone files from ``{origin: body}``; names outside them raise ResolutionError (no fallback)."""
    return zone_source({origin: zone(origin, body) for origin, body in zones.items()}, providers=False)


class Servfail:
    """Wraps a source; the listed questions fail as on SERVFAIL or a timeout."""

    def __init__(self, inner: DnsSource, *failing: tuple[str, str]) -> None:
        self.inner = inner
        self.failing = {Question.of(name, rdtype) for name, rdtype in failing}

    def resolve(self, question: Question) -> Answer:
        if question in self.failing:
            raise ResolutionError(question, "SERVFAIL", "test", "servfail source")
        return self.inner.resolve(question)

    def describe(self) -> str:
        return "servfail source"


class StaticFactory:
    """A source factory that hands every domain the same source (for Engine in tests)."""

    def __init__(self, dns: DnsSource) -> None:
        self.dns = dns

    def source_for(self, domain: str, policy_path: str) -> DnsSource:
        return self.dns

    def describe(self) -> str:
        return "test factory"
