"""The node tree: policy file -> domain -> one item per applicable rule (and parameter)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .engine import Undetermined
from .errors import Indeterminate, MailflowError, PolicyError
from .plan import Check, plan
from .policy.load import is_policy_text, load_policy
from .policy.model import DomainPolicy
from .render import error_text, failure_text
from .report.model import Detail, detail_of_error, detail_of_result

#: Files larger than this are not sniffed for the policy marker (policies are small).
MAX_POLICY_BYTES = 10 * 1024 * 1024


def looks_like_policy(path: Path) -> bool:
    """A YAML file is a policy when it declares the schema version (``mailflow: 1``)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(MAX_POLICY_BYTES)
    except OSError:
        return False
    if is_policy_text(head.decode("utf-8", errors="replace")):
        return True
    # A policy saved as UTF-16 (some Windows editors do) is collected too, so that loading it says
    # how to re-save it instead of the file being skipped without a word.
    wide = head[:4096]
    if b"\0" not in wide:
        return False
    for encoding in ("utf-16", "utf-16-le", "utf-16-be"):
        if is_policy_text(wide.decode(encoding, errors="replace")):
            return True
    return False


def _display(config: pytest.Config, path: Path) -> str:
    try:
        return Path(os.path.relpath(path, config.rootpath)).as_posix()
    except ValueError:
        return str(path)


class PolicyFile(pytest.File):
    def collect(self) -> Iterator[DomainNode]:
        from .plugin import POLICY_ERRORS

        try:
            policy = load_policy(self.path, _display(self.config, self.path))
        except PolicyError as exc:
            self.config.stash[POLICY_ERRORS].add(self.nodeid)
            hint = "\nFix the problems above; the other policy files still run."
            raise self.CollectError(str(exc) + hint) from None
        for domain in policy.domains:
            yield DomainNode.from_parent(self, name=domain.name, domain=domain)


class DomainNode(pytest.Collector):
    def __init__(self, *, domain: DomainPolicy, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.domain = domain

    def collect(self) -> Iterator[CheckItem]:
        from .plugin import SETTINGS

        settings = self.config.stash.get(SETTINGS, None)
        for check in plan(self.domain, fetch_mta_sts=bool(settings and settings.fetch_mta_sts)):
            # The node ID is given as text so that pytest parses "[param]" as parameters, as it does for
            # parametrized tests; otherwise --lf cannot match bracketed IDs under pytest 9.2.
            yield CheckItem.from_parent(self, name=check.name, nodeid=f"{self.nodeid}::{check.name}", check=check)


class CouldNotDetermine(pytest.fail.Exception):  # type: ignore[misc,name-defined]
    """Raised in setup when evidence is missing: pytest reports an error, without a traceback."""

    __module__ = "builtins"  # shown as "CouldNotDetermine: ..." in the short summary, like pytest's own


class MailflowViolation(AssertionError):
    """The policy is violated; carries the explanation shown as the failure."""


class CheckItem(pytest.Item):
    def __init__(self, *, check: Check, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        rule = check.rule
        facts = {
            "rule": rule.id,
            "family": rule.family,
            "severity": str(rule.severity),
            "domain": check.domain.name,
            "scenario": check.domain.scenario,
        }
        self.add_marker(pytest.mark.mailflow(**facts))
        for value in (rule.family, str(rule.severity), check.domain.scenario):
            self.extra_keyword_matches.add(value)
        self.user_properties.extend((f"mailflow.{key}", value) for key, value in facts.items())
        self.user_properties.append(("mailflow.policy", f"{check.domain.path}:{check.line}"))
        self._failure: str | None = None
        #: What running the check found, for --mailflow-report (set in setup).
        self.mailflow_detail: Detail | None = None

    def setup(self) -> None:
        from .plugin import REPORTS_WANTED, get_engine

        undetermined: str | None = None
        try:
            result = get_engine(self.config).run(self.check)
        except Undetermined as exc:
            undetermined = error_text(self.check, exc.error, exc.consulted)
            self.mailflow_detail = detail_of_error(self.check, exc.error, exc.consulted, undetermined)
        except MailflowError as exc:
            # Raised while gathering or writing a domain's evidence (a cassette that cannot be written):
            # an error of this check with its message, never a traceback.
            cause = Indeterminate(str(exc))
            undetermined = error_text(self.check, cause, [])
            self.mailflow_detail = detail_of_error(self.check, cause, [], undetermined)
        if undetermined is not None:
            # Raised during setup, so pytest reports an error: neither a pass nor a fail.
            raise CouldNotDetermine(undetermined, pytrace=False)
        self._failure = None if result.finding.passed else failure_text(result)
        if self.config.stash.get(REPORTS_WANTED, False):
            self.mailflow_detail = detail_of_result(result, self._failure)

    def runtest(self) -> None:
        if self._failure is None:
            return
        from .plugin import OUTCOME_RULES

        # A waiver, or a rule less severe than --mailflow-fail-on, turns the failure into an xfail
        # (a check that could not be determined already raised in setup: it stays an error). With
        # --runxfail pytest.xfail does nothing; the failure is then reported as such, without the property.
        rules = self.config.stash.get(OUTCOME_RULES, None)
        check = self.check
        soft = (
            rules.soften(check.rule.id, check.rule.severity, check.domain.name, check.domain.scenario)
            if rules
            else None
        )
        if soft is not None and not self.config.getoption("runxfail", False):
            key, value, reason = soft
            self.user_properties.append((key, value))
            pytest.xfail(reason)
        raise MailflowViolation(self._failure)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | Any:
        if isinstance(excinfo.value, MailflowViolation):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        # Used in section headers. pytest rewrites dots to '::' in -v output when this text ends the
        # node ID, so it must not end with "<domain>::<rule>".
        return self.path, self.check.line - 1, f"{self.name} ({self.check.domain.name})"
