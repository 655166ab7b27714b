"""DNS sources: one protocol, several ways to answer (cassette replay, zone files, live DNS)."""

from .base import Answer, DnsSource, Question, ResolutionError, SourceFactory

__all__ = ["Answer", "DnsSource", "Question", "ResolutionError", "SourceFactory"]
