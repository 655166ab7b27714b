"""Feeding checkdmarc from the active DNS source instead of the network.

checkdmarc has two DNS paths. Most lookups go through ``checkdmarc.utils._resolve_with_failover()``,
which uses a ``resolver=`` it is given as is; DS, DNSKEY and TLSA lookups (``checkdmarc.dnssec``,
called by ``check_mx()`` for every MX host) send messages straight to each entry of
``nameservers=`` and never look at ``resolver=``. :class:`SourceNameserver` is a dnspython
``Nameserver`` that answers every message from our source, so passing it as both
``nameservers=[ns]`` and the only nameserver of ``resolver=`` feeds both paths, while dnspython
still applies its own NXDOMAIN / NoAnswer / CNAME-chasing / SERVFAIL semantics to the answers.

checkdmarc also keeps results in module-level caches keyed by name and type only (not by resolver
or source), and downloads MTA-STS policies and BIMI images over HTTPS. :func:`checkdmarc_fed_by`
clears every cache on entry and on exit, and refuses those downloads for its duration.

Usage::

    with checkdmarc_fed_by(source.resolve) as kwargs:
        result = checkdmarc.spf.check_spf("contoso.example", **kwargs)
"""

from __future__ import annotations

import threading
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypedDict

import checkdmarc.bimi
import checkdmarc.dnssec
import checkdmarc.mta_sts
import checkdmarc.smtp
import checkdmarc.utils
import dns.message
import dns.name
import dns.nameserver
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.resolver

from .base import Answer, Question, ResolutionError
from .records import RecordSyntaxError, parse_rdata

Lookup = Callable[[Question], Answer]

#: TTL put on answers whose source does not know one (zone data always does).
DEFAULT_TTL = 300
#: dnspython's lifetime for our resolver. Answers are computed in-process and a failure is a
#: SERVFAIL that ends the query at once, so this only bounds a pathological retry loop.
RESOLVER_LIFETIME = 2.0

MTA_STS_DOWNLOAD_DISABLED = (
    "MTA-STS policy download is disabled: pytest-mailflow fetches nothing over HTTPS unless asked"
)
BIMI_DOWNLOAD_DISABLED = "BIMI download is disabled: pytest-mailflow fetches nothing over HTTPS unless asked"

#: The module-level result caches of checkdmarc 6.x. They are looked up by name on every use, so a
#: checkdmarc that renames one fails loudly here instead of silently leaking results.
CHECKDMARC_CACHES: tuple[tuple[types.ModuleType, str], ...] = (
    (checkdmarc.utils, "DNS_CACHE"),
    (checkdmarc.utils, "_NAMESERVER_FAILURES"),
    (checkdmarc.dnssec, "DNSSEC_CACHE"),
    (checkdmarc.dnssec, "DNSKEY_CACHE"),
    (checkdmarc.dnssec, "TLSA_CACHE"),
    (checkdmarc.smtp, "TLS_CACHE"),
    (checkdmarc.smtp, "STARTTLS_CACHE"),
)

# checkdmarc's caches and the download hooks are process-wide, so two threads checking different
# domains or sources at the same time would read each other's results. Every use of the bridge
# holds this lock; it is re-entrant so that a nested use in one thread does not deadlock (the inner
# one clears the caches again on entry and exit, which is only slower). pytest-xdist workers are
# processes and do not contend for it. Code calling checkdmarc outside the bridge is not covered.
_lock = threading.RLock()


class SourceNameserver(dns.nameserver.Nameserver):
    """A dnspython nameserver answering every message from ``lookup`` (our DNS source).

    NOERROR answers carry the CNAME chain followed by the final RRset; NODATA is NOERROR with an
    empty answer section; NXDOMAIN keeps the CNAME chain that led to it. A
    :class:`ResolutionError` becomes REFUSED when that was its cause and SERVFAIL otherwise, which
    dnspython and checkdmarc turn into an immediate failure rather than a retry until timeout.
    """

    def __init__(self, lookup: Lookup, name: str = "pytest-mailflow source") -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # dnspython's __init__ is unannotated
        self._lookup = lookup
        self.name = name
        #: Every question answered (including with SERVFAIL or REFUSED), in order.
        self.questions: list[Question] = []
        #: The resolution errors that were turned into SERVFAIL / REFUSED.
        self.errors: list[ResolutionError] = []
        #: Exceptions that are bugs rather than DNS outcomes; re-raised by checkdmarc_fed_by().
        self.unexpected: list[Exception] = []

    @property
    def answered(self) -> int:
        """How many questions this nameserver has answered."""
        return len(self.questions)

    def __str__(self) -> str:
        return f"mailflow:{self.name}"

    def kind(self) -> str:
        return "mailflow"

    def is_always_max_size(self) -> bool:
        # No datagram limit: never ask dnspython to retry over "TCP".
        return True

    def answer_nameserver(self) -> str:
        return str(self)

    def answer_port(self) -> int:
        return 0

    def query(
        self,
        request: dns.message.QueryMessage,
        timeout: float,
        source: str | None,
        source_port: int,
        max_size: bool,
        one_rr_per_rrset: bool = False,
        ignore_trailing: bool = False,
    ) -> dns.message.Message:
        return self.respond(request)

    async def async_query(
        self,
        request: dns.message.QueryMessage,
        timeout: float,
        source: str | None,
        source_port: int,
        max_size: bool,
        backend: Any,  # dns.asyncbackend.Backend, which dnspython does not re-export for mypy
        one_rr_per_rrset: bool = False,
        ignore_trailing: bool = False,
    ) -> dns.message.Message:
        return self.respond(request)

    def respond(self, request: dns.message.Message) -> dns.message.Message:
        """The response to ``request``, built from the source's answer."""
        response = dns.message.make_response(request)
        if len(request.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response
        asked = request.question[0]
        if asked.rdclass != dns.rdataclass.IN:
            response.set_rcode(dns.rcode.REFUSED)
            return response
        question = Question.of(asked.name.to_text(), dns.rdatatype.to_text(asked.rdtype))
        self.questions.append(question)
        try:
            answer = self._lookup(question)
            self._fill(response, asked.name, asked.rdtype, answer)
        except ResolutionError as exc:
            self.errors.append(exc)
            response = dns.message.make_response(request)
            response.set_rcode(dns.rcode.REFUSED if exc.cause == "REFUSED" else dns.rcode.SERVFAIL)
        except Exception as exc:
            # An exception escaping query() makes dnspython retry until the lifetime ends; answer
            # SERVFAIL so the check fails at once, and keep the bug to re-raise it afterwards.
            self.unexpected.append(exc)
            response = dns.message.make_response(request)
            response.set_rcode(dns.rcode.SERVFAIL)
        return response

    def _fill(
        self, response: dns.message.Message, qname: dns.name.Name, rdtype: dns.rdatatype.RdataType, answer: Answer
    ) -> None:
        ttl = answer.ttl if answer.ttl is not None else DEFAULT_TTL
        owner = qname
        for target in answer.cname_chain:
            alias = dns.name.from_text(target)
            self._add(response, owner, dns.rdatatype.CNAME, ttl, [alias.to_text()])
            owner = alias
        if answer.status == "NXDOMAIN":
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif answer.status == "NOERROR" and answer.records:
            self._add(response, owner, rdtype, ttl, answer.records)
        # NODATA: NOERROR with no final RRset (and no SOA, so no negative TTL; nothing caches it).

    @staticmethod
    def _add(
        response: dns.message.Message,
        owner: dns.name.Name,
        rdtype: dns.rdatatype.RdataType,
        ttl: int,
        records: tuple[str, ...] | list[str],
    ) -> None:
        rrset = response.find_rrset(response.answer, owner, dns.rdataclass.IN, rdtype, create=True)
        for text in records:
            try:
                rdata = parse_rdata(dns.rdatatype.to_text(rdtype), text)
            except RecordSyntaxError as exc:
                # A record our own source cannot parse means the answer is unknown, not empty.
                question = Question.of(owner.to_text(), dns.rdatatype.to_text(rdtype))
                raise ResolutionError(question, "SERVFAIL", str(exc), "checkdmarc bridge") from None
            rrset.add(rdata, ttl)


class CheckdmarcKwargs(TypedDict):
    """Keyword arguments for checkdmarc's check/query functions (``**kwargs``)."""

    nameservers: list[SourceNameserver]
    resolver: dns.resolver.Resolver


def clear_checkdmarc_caches() -> None:
    """Empty every module-level cache checkdmarc keeps (results, DNSSEC, TLS, failed servers)."""
    seen: set[int] = set()
    for module, attribute in CHECKDMARC_CACHES:
        cache = getattr(module, attribute, None)
        if cache is None:
            raise RuntimeError(
                f"checkdmarc has no {module.__name__}.{attribute}; pytest-mailflow cannot keep its "
                "results from leaking between domains (update CHECKDMARC_CACHES)"
            )
        cache.clear()
        seen.add(id(cache))
    # Any cache a newer checkdmarc adds is an ExpiringDict at module level too: clear those as well.
    expiring_dict: Any = checkdmarc.utils.ExpiringDict
    for module in (checkdmarc.utils, checkdmarc.dnssec, checkdmarc.smtp, checkdmarc.mta_sts, checkdmarc.bimi):
        for value in vars(module).values():
            if isinstance(value, expiring_dict) and id(value) not in seen:
                value.clear()


def _refuse_mta_sts_download(domain: str, *args: Any, **kwargs: Any) -> Any:
    # Raised as checkdmarc's own download error so check_mta_sts() reports it as the check result.
    raise checkdmarc.mta_sts.MTASTSPolicyDownloadError(MTA_STS_DOWNLOAD_DISABLED)


class _RefusingSession:
    """Stands in for ``requests.Session`` in checkdmarc.bimi: every GET fails like a network error."""

    def __init__(self) -> None:
        self.headers: dict[str, str] = {}

    def get(self, url: str, *args: Any, **kwargs: Any) -> Any:
        raise checkdmarc.bimi.requests.RequestException(BIMI_DOWNLOAD_DISABLED)


@contextmanager
def checkdmarc_fed_by(lookup: Lookup, name: str = "pytest-mailflow source") -> Iterator[CheckdmarcKwargs]:
    """Keyword arguments that make checkdmarc resolve through ``lookup`` and nothing else.

    Inside the block checkdmarc's caches start empty (and are emptied again on exit), MTA-STS
    policy and BIMI image/certificate downloads fail with a clear message, and other threads using
    the bridge wait. STARTTLS/TLS probes (``check_mx_tls=True``) are not covered: leave them off.
    """
    nameserver = SourceNameserver(lookup, name)
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [nameserver]
    resolver.lifetime = RESOLVER_LIFETIME
    resolver.timeout = RESOLVER_LIFETIME
    kwargs: CheckdmarcKwargs = {"nameservers": [nameserver], "resolver": resolver}
    with _lock:
        original_download = checkdmarc.mta_sts.download_mta_sts_policy
        original_requests = checkdmarc.bimi.requests
        clear_checkdmarc_caches()
        checkdmarc.mta_sts.download_mta_sts_policy = _refuse_mta_sts_download
        # parse_bimi_record() builds its session from the module global; the rest stays real.
        checkdmarc.bimi.requests = types.SimpleNamespace(
            Session=_RefusingSession, RequestException=original_requests.RequestException
        )
        try:
            yield kwargs
        finally:
            checkdmarc.mta_sts.download_mta_sts_policy = original_download
            checkdmarc.bimi.requests = original_requests
            clear_checkdmarc_caches()
    if nameserver.unexpected:
        # A bug in the source must not pass for a DNS failure.
        raise nameserver.unexpected[0]
