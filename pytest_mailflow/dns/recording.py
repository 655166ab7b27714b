"""A source wrapper that remembers every answer (and error) it passed on, for writing cassettes."""

from __future__ import annotations

from .base import Answer, DnsSource, Question, ResolutionError
from .https import FetchError, HttpsResult


class RecordingSource:
    def __init__(self, inner: DnsSource) -> None:
        self.inner = inner
        self.recorded: dict[Question, Answer | ResolutionError] = {}
        self.fetched: dict[str, HttpsResult | FetchError] = {}

    def resolve(self, question: Question) -> Answer:
        try:
            answer = self.inner.resolve(question)
        except ResolutionError as exc:
            self.recorded[question] = exc
            raise
        self.recorded[question] = answer
        return answer

    def fetch(self, url: str) -> HttpsResult:
        fetch = getattr(self.inner, "fetch", None)
        if fetch is None:
            raise FetchError(url, "UNREACHABLE", "this source does not fetch over HTTPS")
        try:
            result: HttpsResult = fetch(url)
        except FetchError as exc:
            self.fetched[url] = exc
            raise
        self.fetched[url] = result
        return result

    def describe(self) -> str:
        return f"recording {self.inner.describe()}"
