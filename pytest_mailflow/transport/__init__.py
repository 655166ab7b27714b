"""Transport security records: MTA-STS (RFC 8461), SMTP TLS Reporting (RFC 8460) and DANE TLSA (RFC 7672).

Pure parsers and matchers over record and policy text; the rules in ``pytest_mailflow.rules.mtasts``,
``.tlsrpt`` and ``.dane`` judge gathered evidence with them.
"""

from __future__ import annotations

from .dane import TlsaRecord, parse_tlsa, smtp_problem
from .mta_sts import (
    StsPolicy,
    StsRecord,
    coverage_problems,
    max_age_problem,
    mode_problem,
    mx_covered,
    parse_sts_policy,
    parse_sts_record,
    uncovered,
)
from .tls_rpt import ReportUri, TlsRptRecord, parse_report_uri, parse_tlsrpt_record

__all__ = [
    "ReportUri",
    "StsPolicy",
    "StsRecord",
    "TlsRptRecord",
    "TlsaRecord",
    "coverage_problems",
    "max_age_problem",
    "mode_problem",
    "mx_covered",
    "parse_report_uri",
    "parse_sts_policy",
    "parse_sts_record",
    "parse_tlsa",
    "parse_tlsrpt_record",
    "smtp_problem",
    "uncovered",
]
