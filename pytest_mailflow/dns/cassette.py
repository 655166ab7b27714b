"""Cassettes: recorded DNS answers, one readable YAML file per policy domain.

Format (version 1), in DNS presentation format and sorted by (name, type) so that re-recording an
unchanged zone gives no diff::

    mailflow_cassette: 1
    domain: contoso.example
    answers:
    - name: contoso.example.
      type: MX
      rcode: NOERROR
      records:
      - 0 contoso-example.mail.protection.outlook.com.
    - name: _dmarc.contoso.example.
      type: TXT
      rcode: NXDOMAIN

``rcode`` is NOERROR (with records), NODATA or NXDOMAIN; an answer that could not be determined
when it was recorded carries ``error`` (TIMEOUT, SERVFAIL, ...) instead, and replays as that error.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import dns.exception
import dns.name
import dns.rdatatype
import jsonschema
import yaml

from ..errors import CassetteError, MailflowError, Problem
from ..inputs import CASSETTE_MAX_BYTES, decode_text, read_input
from ..names import InvalidDomainName, absolute, to_a_label
from ..yamlload import Located, YamlLoadError, load_located
from .base import Answer, DnsSource, Question, ResolutionError
from .https import FetchError, HttpsResult
from .records import RecordSyntaxError, normalise
from .shared import SharedResolver

CASSETTE_VERSION = 1
#: Resolution failures a cassette can hold; they replay as the same error.
RECORDABLE_ERRORS = ("TIMEOUT", "SERVFAIL", "REFUSED", "FORMERR", "UNREACHABLE")
RECORD_HINT = "record it: run the same command again with --mailflow-record-mode=once (docs/cassettes.md)"
ADD_HINT = (
    "re-record: run the same command again (with the same --mailflow-zones and name servers) "
    "with --mailflow-record-mode=new_episodes (docs/cassettes.md)"
)


def _schema() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("cassette.schema.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


_VALIDATOR = jsonschema.Draft202012Validator(_schema())


def cassette_path(folder: Path, domain: str) -> Path:
    """Where the cassette of a domain lives; a domain name can never leave the folder.

    The file itself is not resolved: a symbolic link in its place is refused when the cassette is read
    (see :meth:`Cassette.load`), as an invalid cassette of that domain, not as an error of the run.
    """
    name = to_a_label(domain)
    base = folder.resolve()
    candidate = base / f"{name}.yaml"
    if candidate.parent != base or name in {".", ".."}:
        raise InvalidDomainName(f"'{domain}' would place its cassette outside {folder}")
    return candidate


@dataclass(frozen=True)
class Recorded:
    """One recorded answer, or the error that was recorded instead."""

    answer: Answer | None
    error: str | None
    line: int


class CassetteWriteError(MailflowError):
    """A recorded cassette could not be written."""


class CassetteMissing(ResolutionError):
    """There is no cassette file for this domain."""


class QuestionNotRecorded(ResolutionError):
    """The cassette exists but does not hold this question."""


class Cassette:
    """A loaded cassette: a map from question to what was recorded."""

    def __init__(
        self,
        path: Path,
        domain: str,
        entries: dict[Question, Recorded],
        fetches: dict[str, HttpsResult | FetchError] | None = None,
    ) -> None:
        self.path = path
        self.domain = domain
        self.entries = entries
        self.fetches = fetches or {}
        self.domain_line = 1

    @classmethod
    def load(cls, path: Path, display: str | None = None, *, within: tuple[Path, ...] = ()) -> Cassette:
        """Read a cassette file; ``within`` lists the folders a symbolic link in its place may lead into."""
        shown = display or str(path)
        raw = read_input(
            path,
            shown,
            what="cassette",
            limit=CASSETTE_MAX_BYTES,
            error=CassetteError,
            within=within,
            hint="a cassette holds one domain's answers; re-record it with --mailflow-record-mode=all",
        )
        text = decode_text(raw, shown, error=CassetteError)
        try:
            located = load_located(text, shown)
        except YamlLoadError as exc:
            raise CassetteError([exc.problem]) from None
        return cls._from_located(path, located)

    @classmethod
    def _from_located(cls, path: Path, located: Located) -> Cassette:
        if not isinstance(located.data, dict):
            raise CassetteError(
                [
                    located.problem(
                        (),
                        "a cassette is a mapping with 'mailflow_cassette: 1', 'domain' and 'answers' "
                        "(is the file empty or cut short?); record it again with --mailflow-record-mode=all",
                    )
                ]
            )
        problems = [
            located.problem(tuple(err.absolute_path), err.message)
            for err in sorted(_VALIDATOR.iter_errors(located.data), key=lambda e: list(e.absolute_path))
        ]
        if problems:
            raise CassetteError(problems)
        data = located.data
        try:
            domain = to_a_label(data["domain"])
        except InvalidDomainName as exc:
            raise CassetteError([located.problem(("domain",), str(exc))]) from None
        entries: dict[Question, Recorded] = {}
        for index, item in enumerate(data["answers"]):
            where = ("answers", index)
            line = located.mark(where)[0]
            checks: list[tuple[tuple[str | int, ...], str | None]] = [
                ((*where, "name"), _name_problem(item["name"])),
                ((*where, "type"), _type_problem(item["type"])),
            ]
            checks += [
                ((*where, "cname_chain", i), _name_problem(n)) for i, n in enumerate(item.get("cname_chain", []))
            ]
            wrong = next(((at, message) for at, message in checks if message), None)
            if wrong is not None:
                problems.append(located.problem(*wrong))
                continue
            question = Question.of(item["name"], item["type"])
            if question in entries:
                problems.append(located.problem(where, f"{question} is recorded twice"))
                continue
            if "error" in item:
                entries[question] = Recorded(None, item["error"], line)
                continue
            try:
                records = tuple(normalise(question.rdtype, r) for r in item.get("records", []))
                chain = tuple(absolute(n) for n in item.get("cname_chain", []))
            except RecordSyntaxError as exc:
                problems.append(located.problem((*where, "records"), str(exc)))
                continue
            status = item["rcode"]
            if (status == "NOERROR") != bool(records):
                problems.append(located.problem(where, "rcode NOERROR needs records; NODATA and NXDOMAIN have none"))
                continue
            provenance = f"cassette {located.path}:{line}"
            answer = Answer(question, status, records, chain, provenance, item.get("ttl"))
            entries[question] = Recorded(answer, None, line)
        fetches: dict[str, HttpsResult | FetchError] = {}
        for index, item in enumerate(data.get("fetches", [])):
            line = located.mark(("fetches", index))[0]
            origin = f"cassette {located.path}:{line}"
            url = item["url"]
            if "error" in item:
                fetches[url] = FetchError(url, item["error"], "recorded as an error", origin)
            else:
                body = item.get("body", "")
                fetches[url] = HttpsResult(url, item["status"], item.get("content_type", ""), body, origin)
        if problems:
            raise CassetteError(problems)
        cassette = cls(path, domain, entries, fetches)
        cassette.domain_line = located.mark(("domain",))[0]
        return cassette

    def replay(self, question: Question, display: str) -> Answer:
        recorded = self.entries.get(question)
        if recorded is None:
            derived = self.through_chain(question)
            if derived is not None:
                return derived
            raise QuestionNotRecorded(
                question,
                "this question was not recorded",
                f"nearest recorded: {', '.join(self.nearest(question)) or 'none'}; {ADD_HINT}",
                f"cassette {display}",
            )
        if recorded.error is not None:
            raise ResolutionError(
                question, recorded.error, "recorded as an error", f"cassette {display}:{recorded.line}"
            )
        assert recorded.answer is not None
        return recorded.answer

    def through_chain(self, question: Question) -> Answer | None:
        """Answer a question about a CNAME target from a recorded answer whose chain passes through it.

        The answer to (target, type) is the rest of that chain and its final records (RFC 1034 §3.6.2).
        Zone mode needs this: it follows a zone's CNAME itself and asks the fallback about the target,
        which a cassette recorded in plain replay mode holds only inside the alias's answer.
        """
        for recorded in self.entries.values():
            answer = recorded.answer
            if answer is None or answer.question.rdtype != question.rdtype or question.name not in answer.cname_chain:
                continue
            rest = answer.cname_chain[answer.cname_chain.index(question.name) + 1 :]
            where = f"{answer.provenance} (through the CNAME chain of {answer.question.name})"
            return Answer(question, answer.status, answer.records, rest, where, answer.ttl)
        return None

    def nearest(self, question: Question, count: int = 3) -> list[str]:
        recorded = [str(q) for q in sorted(self.entries)]
        return difflib.get_close_matches(str(question), recorded, n=count, cutoff=0.5)


def _name_problem(text: str) -> str | None:
    """Why a recorded name cannot be a name in a DNS question, if it cannot.

    Spaces and '%' are possible (SPF macros expand into names such as ``% .example.com``, which the
    RFC 7208 test suite asks about), so only what no question can hold is refused.
    """
    if any(not ch.isprintable() for ch in text):
        return f"{text!r} holds control characters, which no DNS question as recorded holds; remove them"
    try:
        dns.name.from_text(text)
    except (dns.exception.DNSException, UnicodeError, ValueError) as exc:
        return f"{text!r} is not a valid DNS name ({exc})"
    return None


def _type_problem(text: str) -> str | None:
    try:
        dns.rdatatype.from_text(text)
    except dns.exception.DNSException:
        return f"'{text}' is not a DNS record type (A, MX, TXT, ... or TYPE<number>)"
    return None


def dump(
    domain: str,
    answers: dict[Question, Answer | ResolutionError],
    *,
    keep_ttl: bool = False,
    fetches: dict[str, HttpsResult | FetchError] | None = None,
) -> str:
    """Render a cassette: sorted, no volatile fields, records in presentation format."""
    items: list[dict[str, Any]] = []
    for question in sorted(answers):
        result = answers[question]
        item: dict[str, Any] = {"name": question.name, "type": question.rdtype}
        if isinstance(result, ResolutionError):
            if result.cause not in RECORDABLE_ERRORS:
                continue  # e.g. "not recorded" upstream: a fact about our data, not about DNS
            item["error"] = result.cause
        else:
            item["rcode"] = result.status
            if result.cname_chain:
                item["cname_chain"] = list(result.cname_chain)
            if result.records:
                item["records"] = sorted(result.records)
            if keep_ttl and result.ttl is not None:
                item["ttl"] = result.ttl
        items.append(item)
    document: dict[str, Any] = {"mailflow_cassette": CASSETTE_VERSION, "domain": to_a_label(domain), "answers": items}
    recorded_fetches: list[dict[str, Any]] = []
    for url in sorted(fetches or {}):
        fetched = (fetches or {})[url]
        if isinstance(fetched, FetchError):
            recorded_fetches.append({"url": url, "error": fetched.cause})
        else:
            recorded_fetches.append(
                {"url": url, "status": fetched.status, "content_type": fetched.content_type, "body": fetched.body}
            )
    if recorded_fetches:
        document["fetches"] = recorded_fetches
    header = "# DNS answers recorded by pytest-mailflow; see docs/cassettes.md\n"
    return header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=1000)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on the cassette folder itself (no lock file left behind); POSIX only."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: atomic replace only
        yield
        return
    handle = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        os.close(handle)


@functools.cache
def _file_mode() -> int:
    """The mode a newly created file gets from the process's umask (read once: setting the umask to
    read it is not safe while other threads create files)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomic(path: Path, text: str, mode: int | None = None) -> None:
    """Write a file so that readers see the old or the new content, never a mix.

    The file gets ``mode``, or else the mode any new file would get from the umask (mkstemp alone
    would make it private, 0600, which surprises a CI job or a reviewer running as another user)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, _file_mode() if mode is None else mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _remove_stale_temporaries(path: Path) -> None:
    """Remove temporary files that a killed writer of this cassette left behind.

    Called with the folder lock held: no other recording writes this cassette now, so every
    ``.<name>.*.tmp`` beside it is left over. (They are never read as cassettes either way: cassettes
    are found by name, ``<domain>.yaml``.)
    """
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        with contextlib.suppress(OSError):
            stale.unlink()


RECORD_MODES = ("none", "once", "new_episodes", "all")


class CassetteSource:
    """One domain's cassette, replayed and (depending on the record mode) recorded.

    Record modes follow vcrpy: ``none`` replays only (the default: never touches the network);
    ``once`` records when the file does not exist yet and replays it when it does; ``new_episodes``
    replays what is recorded and records what is not; ``all`` records everything again.
    """

    def __init__(
        self,
        path: Path,
        display: str,
        domain: str | None = None,
        mode: str = "none",
        upstream: DnsSource | None = None,
        keep_ttl: bool = False,
    ) -> None:
        if mode not in RECORD_MODES:
            raise ValueError(f"record mode must be one of {', '.join(RECORD_MODES)}, not '{mode}'")
        if mode != "none" and upstream is None:
            raise ValueError(f"record mode '{mode}' needs a live source to record from")
        self.path = path
        self.display = display
        self.domain = domain
        self.mode = mode
        self.upstream = upstream
        self.keep_ttl = keep_ttl
        self._cassette: Cassette | None = None
        self._error: CassetteError | None = None
        self._loaded = False
        self._existed = False
        self._recorded: dict[Question, Answer | ResolutionError] = {}
        self._fetched: dict[str, HttpsResult | FetchError] = {}
        self._dirty = False
        self._stamp: tuple[int, int] | None = None  # the file as this source last saw or wrote it
        self.written = False

    def _load(self) -> Cassette | None:
        if not self._loaded:
            self._loaded = True
            # Anything in the cassette's place counts (a link, a folder): it is reported, not recorded over.
            self._existed = self.path.exists() or self.path.is_symlink()
            self._stamp = _stamp(self.path)
            if self._existed and self.mode != "all":
                try:
                    self._cassette = Cassette.load(self.path, self.display, within=(self.path.parent,))
                except CassetteError as exc:
                    self._error = exc
                if self._cassette is not None and self.domain and self._cassette.domain != self.domain:
                    problem = Problem(
                        self.display,
                        self._cassette.domain_line,
                        1,
                        "domain",
                        f"this cassette is for '{self._cassette.domain}', not '{self.domain}'",
                    )
                    self._error, self._cassette = CassetteError([problem]), None
        return self._cassette

    def _records(self, question: Question) -> bool:
        """Whether this question goes to the live source (and into the cassette)."""
        cassette = self._load()
        if self.mode == "all":
            return True
        if self.mode == "once":
            return not self._existed
        if self.mode == "new_episodes":
            if self._error is not None:
                return False
            # A question answered by a recorded CNAME chain is not new (zone mode asks for chain targets).
            return cassette is None or (question not in cassette.entries and cassette.through_chain(question) is None)
        return False

    def resolve(self, question: Question) -> Answer:
        if question in self._recorded:
            known = self._recorded[question]
            if isinstance(known, ResolutionError):
                raise known
            return known
        if self._records(question):
            assert self.upstream is not None
            try:
                answer = self.upstream.resolve(question)
            except ResolutionError as exc:
                self._recorded[question] = exc
                self._dirty = True
                raise
            self._recorded[question] = answer
            self._dirty = True
            return answer
        cassette = self._load()
        if self._error is not None:
            problems = self._error.problems
            more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
            raise ResolutionError(
                question, "the cassette is invalid", f"{problems[0]}{more}", f"cassette {self.display}"
            )
        if cassette is None:
            raise CassetteMissing(question, "no cassette for this domain", f"expected {self.display}; {RECORD_HINT}")
        return cassette.replay(question, self.display)

    def fetch(self, url: str) -> HttpsResult:
        """An HTTPS fetch, replayed or recorded under the same record mode as DNS answers."""
        known = self._fetched.get(url)
        if known is None:
            cassette = self._load()
            recorded = cassette.fetches.get(url) if cassette is not None else None
            records = self.mode == "all" or (self.mode == "once" and not self._existed)
            records = records or (self.mode == "new_episodes" and self._error is None and recorded is None)
            if records:
                upstream_fetch = getattr(self.upstream, "fetch", None)
                if upstream_fetch is None:
                    raise FetchError(url, "UNREACHABLE", "the live source does not fetch over HTTPS")
                try:
                    known = upstream_fetch(url)
                except FetchError as exc:
                    known = exc
                self._fetched[url] = known
                self._dirty = True
            elif recorded is not None:
                known = recorded
            elif self._error is not None:
                raise FetchError(
                    url, "the cassette is invalid", str(self._error.problems[0]), f"cassette {self.display}"
                )
            elif cassette is None:
                raise FetchError(url, "no cassette for this domain", f"expected {self.display}; {RECORD_HINT}")
            else:
                raise FetchError(url, "this fetch was not recorded", ADD_HINT, f"cassette {self.display}")
        if isinstance(known, FetchError):
            raise known
        return known

    def flush(self) -> bool:
        """Write what was recorded (atomically); returns whether the file was written.

        Raises :class:`CassetteWriteError` when the cassette cannot be written (the folder is a file,
        the disk is full, no permission), never a bare OSError.
        """
        if not self._dirty:
            return False
        try:
            return self._write()
        except OSError as exc:
            raise CassetteWriteError(
                f"cannot write the cassette {self.display}: {exc.strerror or exc}; the answers of this run "
                "were not saved: check that the cassette folder (--mailflow-cassettes) is a writable folder"
            ) from None

    def _write(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _folder_lock(self.path.parent):
            # Merge with what is on disk now: another process (one domain named in two policy files
            # under pytest-xdist) may have written this cassette since we read it.
            base = self._cassette
            # In 'all' mode start afresh, unless another process wrote the file during this run.
            written_by_other = self.mode == "all" and _stamp(self.path) not in (None, self._stamp)
            if (self.mode != "all" or written_by_other) and self.path.is_file():
                try:
                    base = Cassette.load(self.path, self.display, within=(self.path.parent,))
                except CassetteError:
                    base = self._cassette
            combined: dict[Question, Answer | ResolutionError] = {}
            fetches: dict[str, HttpsResult | FetchError] = {}
            if (self.mode != "all" or written_by_other) and base is not None:
                for question, recorded in base.entries.items():
                    if recorded.answer is not None:
                        combined[question] = recorded.answer
                    elif recorded.error is not None:
                        combined[question] = ResolutionError(question, recorded.error)
                fetches.update(base.fetches)
            combined.update(self._recorded)
            fetches.update(self._fetched)
            text = dump(self.domain or self.path.stem, combined, keep_ttl=self.keep_ttl, fetches=fetches)
            _remove_stale_temporaries(self.path)
            write_atomic(self.path, text)
            self._stamp = _stamp(self.path)
        self.written = True
        self._dirty = False
        return True

    def describe(self) -> str:
        verb = "cassette" if self.mode == "none" else f"cassette (record mode {self.mode})"
        return f"{verb} {self.display}"


def CassetteReplaySource(path: Path, display: str, domain: str | None = None) -> CassetteSource:
    """A replay-only cassette source (record mode ``none``)."""
    return CassetteSource(path, display, domain)


class CassetteFolderFactory:
    """Hands out a cassette source per domain: ``<folder>/<domain>.yaml``.

    With no folder configured, the cassettes live in ``cassettes/`` beside each policy file.
    """

    def __init__(
        self,
        folder: Path | None,
        rootdir: Path,
        mode: str = "none",
        upstream: DnsSource | None = None,
        keep_ttl: bool = False,
    ) -> None:
        self.folder = folder
        self.keep_ttl = keep_ttl
        self.rootdir = rootdir
        self.mode = mode
        self.upstream = upstream
        self._sources: dict[Path, CassetteSource] = {}

    def folder_for(self, policy_path: str) -> Path:
        # policy_path is shown relative to the root directory (or absolute when outside it).
        return self.folder if self.folder is not None else (self.rootdir / policy_path).parent / "cassettes"

    def path_for(self, domain: str, policy_path: str) -> Path:
        return cassette_path(self.folder_for(policy_path), domain)

    def source_for(self, domain: str, policy_path: str) -> CassetteSource:
        path = self.path_for(domain, policy_path)
        if path not in self._sources:
            shown = _display(path, self.rootdir)
            self._sources[path] = CassetteSource(
                path, shown, to_a_label(domain), self.mode, self.upstream, self.keep_ttl
            )
        return self._sources[path]

    @property
    def uses_network(self) -> bool:
        """Recording: unrecorded questions go to live DNS."""
        return self.upstream is not None and self.mode != "none"

    @property
    def resolver(self) -> SharedResolver | None:
        return self.upstream if isinstance(self.upstream, SharedResolver) else None

    def written(self) -> list[str]:
        """The cassettes this run wrote (shown in the terminal summary)."""
        return sorted(source.display for source in self._sources.values() if source.written)

    def describe(self) -> str:
        where = f"cassettes in {self.folder}" if self.folder else "cassettes beside each policy file"
        return where if self.mode == "none" else f"{where} (record mode {self.mode})"


def _display(path: Path, rootdir: Path) -> str:
    try:
        return str(path.resolve().relative_to(rootdir.resolve()))
    except ValueError:
        return str(path)
