"""The typed policy model: what a policy file says, after defaults and scenario values are merged."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class MxHost:
    host: str  # lower-case, without the trailing dot
    priority: int | None = None

    def __str__(self) -> str:
        return f"{self.priority} {self.host}" if self.priority is not None else self.host


@dataclass(frozen=True)
class MxExpect:
    hosts: tuple[MxHost, ...] | None = None
    null_mx: bool = False
    single: bool = False
    microsoft: bool = False
    forbid: tuple[str, ...] = ()


@dataclass(frozen=True)
class SpfExpect:
    include: tuple[str, ...] = ()
    forbid_include: tuple[str, ...] = ()
    all: tuple[str, ...] = ("-all", "~all")
    must_pass: tuple[str, ...] = ()
    must_fail: tuple[str, ...] = ()
    only_all: bool = False


@dataclass(frozen=True)
class DkimExpect:
    selectors: tuple[str, ...] = ()
    cname: bool = False
    targets: tuple[tuple[str, str], ...] = ()  # (selector, target host) pairs
    min_key_bits: int = 1024
    revoked: bool = False

    def target_of(self, selector: str) -> str | None:
        return dict(self.targets).get(selector)


@dataclass(frozen=True)
class DmarcExpect:
    policy: str | None = None
    subdomain_policy: str | None = None
    pct: int | None = None
    rua: tuple[str, ...] = ()


@dataclass(frozen=True)
class MtaStsExpect:
    required: bool = False
    mode: tuple[str, ...] = ("enforce", "testing")


@dataclass(frozen=True)
class RequiredExpect:
    required: bool = False


@dataclass(frozen=True)
class M365Expect:
    autodiscover: bool = False
    verification: bool = False


@dataclass(frozen=True)
class Expect:
    mx: MxExpect = field(default_factory=MxExpect)
    spf: SpfExpect = field(default_factory=SpfExpect)
    dkim: DkimExpect = field(default_factory=DkimExpect)
    dmarc: DmarcExpect = field(default_factory=DmarcExpect)
    mta_sts: MtaStsExpect = field(default_factory=MtaStsExpect)
    tls_rpt: RequiredExpect = field(default_factory=RequiredExpect)
    dane: RequiredExpect = field(default_factory=RequiredExpect)
    m365: M365Expect = field(default_factory=M365Expect)


@dataclass(frozen=True)
class DomainPolicy:
    """One domain of a policy file with everything it inherits resolved."""

    name: str  # lower-case A-label
    scenario: str
    expect: Expect
    path: str  # the policy file, as shown to the user
    line: int  # where the domain's entry starts
    tenant: str | None = None
    cloud: str = "worldwide"
    #: The tenant export named by the policy, relative to the policy file (connector rules need it).
    tenant_export: str | None = None
    skip: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    #: Line of each expectation key (``("spf", "include")``), from the domain or from defaults.
    expect_lines: dict[tuple[str, ...], int] = field(default_factory=dict, compare=False, hash=False)

    def line_of(self, keys: tuple[str, ...]) -> int:
        probe = keys
        while probe:
            if probe in self.expect_lines:
                return self.expect_lines[probe]
            probe = probe[:-1]
        return self.line

    @property
    def sender_ips(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.expect.spf.must_pass, *self.expect.spf.must_fail)))


@dataclass(frozen=True)
class Policy:
    path: str
    domains: tuple[DomainPolicy, ...]
    description: str = ""
