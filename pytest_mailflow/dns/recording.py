"""A source wrapper that remembers every answer (and error) it passed on, for writing cassettes."""

from __future__ import annotations

from .base import Answer, DnsSource, Question, ResolutionError


class RecordingSource:
    def __init__(self, inner: DnsSource) -> None:
        self.inner = inner
        self.recorded: dict[Question, Answer | ResolutionError] = {}

    def resolve(self, question: Question) -> Answer:
        try:
            answer = self.inner.resolve(question)
        except ResolutionError as exc:
            self.recorded[question] = exc
            raise
        self.recorded[question] = answer
        return answer

    def describe(self) -> str:
        return f"recording {self.inner.describe()}"
