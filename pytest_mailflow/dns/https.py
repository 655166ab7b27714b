"""Fetching MTA-STS policy files over HTTPS (RFC 8461 §3.3), only when asked to.

The host name is resolved through the project's DNS source (never the system resolver), the TLS
certificate must be valid for ``mta-sts.<domain>``, redirects are not followed, and the body is
capped. Results and failures are recorded in cassettes like DNS answers and replay the same way.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from .base import Answer, Question, ResolutionError

#: RFC 8461 §3.3: senders may limit the policy body; 64 KiB is what common implementations allow.
MAX_BODY = 64 * 1024
#: Causes a fetch can end with; like DNS errors, they make the checks that need the file errors.
FETCH_ERRORS = ("TIMEOUT", "UNREACHABLE", "TLS", "HTTP")


def policy_url(domain: str) -> str:
    return f"https://mta-sts.{domain.rstrip('.').lower()}/.well-known/mta-sts.txt"


@dataclass(frozen=True)
class HttpsResult:
    url: str
    status: int
    content_type: str
    body: str
    provenance: str = ""


class FetchError(ResolutionError):
    """An HTTPS fetch that did not produce a response (timeout, refused, bad certificate, ...)."""

    def __init__(self, url: str, cause: str, detail: str = "", provenance: str = "") -> None:
        super().__init__(Question(url, "GET"), cause, detail, provenance)
        self.url = url


class _PinnedConnection(http.client.HTTPSConnection):
    """Connects to an address we resolved ourselves, while verifying TLS for the URL's host name."""

    def __init__(self, host: str, address: str, port: int, context: ssl.SSLContext, timeout: float) -> None:
        super().__init__(host, port, context=context, timeout=timeout)
        self._address = address
        self._tls_context = context

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls_context.wrap_socket(raw, server_hostname=self.host)


class LiveFetcher:
    def __init__(
        self,
        resolve: Callable[[Question], Answer],
        timeout: float = 10.0,
        port: int = 443,
        cafile: str | None = None,
    ) -> None:
        self.resolve = resolve
        self.timeout = timeout
        self.port = port
        self.cafile = cafile

    def _address(self, host: str) -> str:
        for rdtype in ("A", "AAAA"):
            try:
                answer = self.resolve(Question.of(host, rdtype))
            except ResolutionError as exc:
                raise FetchError(f"https://{host}/", "UNREACHABLE", str(exc), exc.provenance) from None
            if answer.status == "NOERROR" and answer.records:
                return answer.records[0]
        raise FetchError(f"https://{host}/", "UNREACHABLE", f"{host} has no A or AAAA record")

    def fetch(self, url: str) -> HttpsResult:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.scheme != "https" or not host:
            raise FetchError(url, "HTTP", "only https:// URLs are fetched")
        address = self._address(host)
        where = f"https {address}:{self.port}"
        context = ssl.create_default_context(cafile=self.cafile)
        connection = _PinnedConnection(host, address, self.port, context, self.timeout)
        response: http.client.HTTPResponse | None = None
        try:
            connection.request("GET", parts.path or "/", headers={"Host": host, "User-Agent": "pytest-mailflow"})
            response = connection.getresponse()
            body = response.read(MAX_BODY + 1)
            content_type = response.getheader("Content-Type", "") or ""
            status = response.status
        except ssl.SSLCertVerificationError as exc:
            raise FetchError(url, "TLS", f"certificate not valid for {host}: {exc.verify_message}", where) from None
        except ssl.SSLError as exc:
            raise FetchError(url, "TLS", str(exc), where) from None
        except TimeoutError:
            raise FetchError(url, "TIMEOUT", f"no answer within {self.timeout} s", where) from None
        except OSError as exc:
            raise FetchError(url, "UNREACHABLE", exc.strerror or str(exc), where) from None
        except http.client.HTTPException as exc:
            raise FetchError(url, "HTTP", f"not a valid HTTP response: {exc!r}", where) from None
        finally:
            if response is not None:
                response.close()
            connection.close()
        if len(body) > MAX_BODY:
            raise FetchError(url, "HTTP", f"the body is larger than {MAX_BODY} bytes", where)
        return HttpsResult(url, status, content_type, body.decode("utf-8", errors="replace"), where)
