"""Reading input files (policies, waivers, cassettes, zone files, tenant exports) as untrusted data.

Every reader goes through :func:`read_input`, which refuses what could hang or exhaust the process
before a byte is parsed: anything but a regular file (a FIFO blocks on open, a device never ends),
files over a size limit (parsing is pure Python: its time grows with the size), and, where a folder
is given, symbolic links that lead out of it (a link committed to a repository must not make the
checks read, and quote in their messages, a file elsewhere on the machine). :func:`decode_text`
turns the bytes into text and reports the usual mis-encodings (UTF-16 with or without a byte-order
mark, a legacy code page) with the line and column of the first bad byte.

Problems are raised as the caller's :class:`~pytest_mailflow.errors.InputFileError` subclass, so a
policy gets a ``PolicyError``, a cassette a ``CassetteError`` and so on.
"""

from __future__ import annotations

import codecs
import os
import stat
from pathlib import Path

from .errors import InputFileError, Problem

KIB = 1024
MIB = 1024 * KIB
#: Size limits per kind of file. Human-written YAML is small; recorded and exported data is larger.
POLICY_MAX_BYTES = 2 * MIB
WAIVERS_MAX_BYTES = 2 * MIB
CASSETTE_MAX_BYTES = 8 * MIB
TENANT_EXPORT_MAX_BYTES = 8 * MIB
OCTODNS_MAX_BYTES = 8 * MIB
ZONE_MAX_BYTES = 32 * MIB

_UTF16_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def size_text(count: int) -> str:
    """``2 MiB``, ``52428800 bytes``: how limits and sizes are shown."""
    return f"{count // MIB} MiB" if count >= MIB and count % MIB == 0 else f"{count} bytes"


def outside(path: Path, folders: tuple[Path, ...]) -> bool:
    """Whether ``path``, with every symbolic link followed, lies outside all of ``folders``."""
    try:
        real = path.resolve()
    except (OSError, RuntimeError):  # a link loop: treated as leading nowhere acceptable
        return True
    for folder in folders:
        try:
            real.relative_to(folder.resolve())
        except (ValueError, OSError, RuntimeError):
            continue
        return False
    return True


def read_input(
    path: Path,
    display: str,
    *,
    what: str,
    limit: int,
    error: type[InputFileError] = InputFileError,
    within: tuple[Path, ...] = (),
    hint: str = "",
) -> bytes:
    """The bytes of an input file, or ``error`` with one located problem that says what to do.

    ``what`` names the kind of file in messages ("policy file"); ``within`` lists the folders a
    symbolic link may lead into (empty: links are followed anywhere, as the user named the file).
    """

    def fail(message: str) -> InputFileError:
        return error([Problem(display, 1, 1, "", message)])

    if within and path.is_symlink() and outside(path, within):
        shown = ", ".join(str(folder) for folder in within)
        raise fail(
            f"this {what} is a symbolic link to a file outside {shown}, which is not read; "
            "put the file itself there instead of a link"
        )
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise fail(f"no such {what}") from None
    except OSError as exc:
        raise fail(f"cannot read the {what}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file (a device, FIFO or socket)"
        raise fail(f"this is {kind}, not a {what}")
    if info.st_size > limit:
        raise fail(_too_large(info.st_size, limit, what, hint))
    try:
        with path.open("rb") as handle:
            raw = handle.read(limit + 1)  # the file may have grown since stat()
    except OSError as exc:
        raise fail(f"cannot read the {what}: {exc.strerror or exc}") from None
    if len(raw) > limit:
        raise fail(_too_large(len(raw), limit, what, hint))
    return raw


def _too_large(size: int, limit: int, what: str, hint: str) -> str:
    advice = hint or f"check that this is the {what} you meant"
    return f"the file is {size} bytes; a {what} may be at most {size_text(limit)}: {advice}"


def decode_text(raw: bytes, display: str, *, error: type[InputFileError] = InputFileError) -> str:
    """UTF-8 text (an initial UTF-8 byte-order mark is dropped), or ``error`` saying how to re-save it."""
    for bom, name in _UTF16_BOMS:
        if raw.startswith(bom):
            raise error([Problem(display, 1, 1, "", f"the file is {name} text; save it as UTF-8")])
    body = raw.removeprefix(codecs.BOM_UTF8)
    if b"\0" in body[:4]:
        # Text in UTF-16 or UTF-32 without a byte-order mark has zero bytes between ASCII letters.
        raise error(
            [Problem(display, 1, 1, "", "the file holds zero bytes: it looks like UTF-16 or UTF-32; save it as UTF-8")]
        )
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = body[: exc.start].decode("utf-8", errors="replace")
        line = before.count("\n") + 1
        column = len(before) - (before.rfind("\n") + 1) + 1
        bad = body[exc.start : exc.start + 1].hex()
        raise error(
            [
                Problem(
                    display,
                    line,
                    column,
                    "",
                    f"the file is not UTF-8 text (byte 0x{bad}: {exc.reason}); save it as UTF-8",
                )
            ]
        ) from None
