"""Reports of a run's mail-flow results: JSON, SARIF 2.1.0, a self-contained HTML page, a Markdown summary.

Works without pytest: build a :class:`~pytest_mailflow.report.model.Report` and call :func:`write`.
The format follows the file's extension (:data:`FORMATS`).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from .model import Report

#: Extension -> format; each format is the module ``<format>_report`` of this package (imported when used).
FORMATS = {".json": "json", ".sarif": "sarif", ".html": "html", ".md": "markdown"}


def format_of(path: Path | str) -> str:
    """The format a report path asks for; ``ValueError`` naming the supported extensions otherwise."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        given = f"'{suffix}'" if suffix else "no extension"
        raise ValueError(f"unknown report format ({given}); use one of {', '.join(FORMATS)}")
    return FORMATS[suffix]


def render(report: Report, path: Path | str) -> str:
    """The report's text in the format ``path``'s extension asks for."""
    module = importlib.import_module(f"{__name__}.{format_of(path)}_report")
    text: str = module.render(report)
    return text


def write(report: Report, path: Path) -> None:
    """Write the report atomically (readers see the old file or the new one), creating parent folders."""
    from ..dns.cassette import write_atomic

    # A report is for sharing: the usual mode of a new file, not mkstemp's private one.
    write_atomic(path, render(report, path))


__all__ = ["FORMATS", "Report", "format_of", "render", "write"]
