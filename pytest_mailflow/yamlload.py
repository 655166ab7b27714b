"""Safe YAML loading that remembers where every key and value came from.

PyYAML's safe composer builds a node tree with marks; we turn that tree into plain Python values
ourselves so that we can (a) keep a line/column for every path, (b) reject duplicate keys, which
PyYAML silently overwrites, (c) refuse non-standard tags, and (d) bound alias expansion.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from .errors import Problem

Path = tuple[str | int, ...]

#: Upper bound on nodes visited while expanding a document (defends against alias bombs).
MAX_NODES = 200_000
#: Upper bound on nesting. Policies nest about eight levels; PyYAML's composer recurses per level,
#: so a document of thousands of '[' would otherwise end in a RecursionError.
MAX_DEPTH = 64

_STANDARD_SCALARS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


@dataclass
class Located:
    """A loaded document plus the source position of every key path."""

    path: str
    data: Any
    value_marks: dict[Path, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def mark(self, path: Path, *, key: bool = False) -> tuple[int, int]:
        """Line and column (1-based) of a path, falling back to the nearest ancestor."""
        marks = self.key_marks if key else self.value_marks
        probe = tuple(path)
        while probe:
            if probe in marks:
                return marks[probe]
            if key and probe in self.value_marks:
                return self.value_marks[probe]
            probe = probe[:-1]
        return self.value_marks.get((), (1, 1))

    def problem(self, path: Path, message: str, *, key: bool = False) -> Problem:
        line, col = self.mark(path, key=key)
        return Problem(self.path, line, col, dotted(path), message)


def dotted(path: Path) -> str:
    return ".".join(str(p) for p in path)


class YamlLoadError(Exception):
    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(str(problem))


def _compose(text: str) -> yaml.Node | None:
    """The node tree, composed by libyaml when PyYAML has it (cassettes of thousands of domains are read
    in one run); on an error the pure-Python composer runs again, for its clearer messages."""
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        try:
            node = yaml.compose(text, Loader=fast)
        except yaml.YAMLError:
            pass
        else:
            # libyaml's extension cannot be imported twice: if the yaml package was imported again
            # (pytester's in-process runs drop and re-import modules), it builds nodes of the first
            # import's classes, whose tags the new resolver leaves unresolved. Use them only when sound.
            if node is None or (isinstance(node, yaml.Node) and node.tag is not None):
                return node
    return yaml.compose(text, Loader=yaml.SafeLoader)


def compose(text: str, path: str) -> yaml.Node | None:
    """PyYAML's node tree of one document (no Python object is built), or :class:`YamlLoadError`."""
    too_deep = _too_deep(text)
    if too_deep is not None:
        raise YamlLoadError(Problem(path, too_deep[0], too_deep[1], "", _DEPTH_MESSAGE))
    try:
        node = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = " ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
        if exc.context_mark is not None and exc.problem_mark is not None and exc.context_mark.line != line - 1:
            # The opening bracket or key is often the real culprit: say where it was.
            what += f" (opened at line {exc.context_mark.line + 1}, column {exc.context_mark.column + 1})"
        raise YamlLoadError(Problem(path, line, col, "", f"YAML syntax error: {what}")) from None
    except yaml.reader.ReaderError as exc:
        # A character YAML does not allow (control characters, U+FFFE, ...): say where and which.
        line, col = _position(text, exc.position)
        raise YamlLoadError(
            Problem(
                path,
                line,
                col,
                "",
                f"the character U+{exc.character:04X} is not allowed in YAML; remove it "
                "(or write it as an escape such as \\x01 inside a double-quoted string)",
            )
        ) from None
    except yaml.YAMLError as exc:
        raise YamlLoadError(Problem(path, 1, 1, "", f"YAML error: {exc}")) from None
    except RecursionError:  # guarded by _too_deep; kept for forms it does not count
        raise YamlLoadError(Problem(path, 1, 1, "", _DEPTH_MESSAGE)) from None
    return node


def load_located(text: str, path: str) -> Located:
    """Parse one YAML document; raise :class:`YamlLoadError` with a located message on failure."""
    node = compose(text, path)
    located = Located(path=path, data=None)
    if node is None:
        return located
    builder = _Builder(located)
    located.data = builder.build(node, ())
    return located


def check_structure(text: str, path: str) -> yaml.Node | None:
    """The checks of :func:`load_located` that do not depend on tags, for YAML read by other tools.

    octoDNS reads its own files with its own tags (``!include``); before it does, this refuses what
    would hurt any reader: syntax errors, duplicate keys, alias bombs, recursive aliases, deep nesting.
    Returns the node tree so that the caller can look at the tags.
    """
    node = compose(text, path)
    if node is not None:
        _Walker(path).walk(node, ())
    return node


_DEPTH_MESSAGE = f"the document is nested more than {MAX_DEPTH} levels deep; no mail-flow file needs that"


def _too_deep(text: str) -> tuple[int, int] | None:
    """Where flow collections (``[`` and ``{``) first nest deeper than :data:`MAX_DEPTH`, if they do.

    A cheap scan before PyYAML's recursive composer sees the text. Quoted strings (a quote that
    opens a value, not the apostrophe in "don't") and comments are skipped. Block nesting is bounded
    by indentation and checked while building; anything this scan misses still ends in the
    RecursionError handler of :func:`compose`.
    """
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return None
    depth = 0
    line, col = 1, 0
    quote = ""
    comment = False
    previous = " "
    for char in text:
        col += 1
        if char == "\n":
            line, col, comment = line + 1, 0, False
            previous = " "
            continue
        if comment:
            continue
        if quote:
            if char == quote and previous != "\\":
                quote = ""
            previous = char
            continue
        if char in "'\"" and previous in " \t[{,:-?":
            quote = char
        elif char == "#" and previous in " \t":
            comment = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return line, col
        elif char in "]}":
            depth = max(0, depth - 1)
        previous = char
    return None


def _position(text: str, offset: int) -> tuple[int, int]:
    before = text[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


class _Walker:
    """Walks a node tree once, counting nodes (alias bombs), depth and the collections being walked
    (an alias to an enclosing collection would be expanded forever)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.visited = 0
        self.open: set[int] = set()  # id() of the collections on the current path

    def _fail(self, node: yaml.Node, path: Path, message: str) -> YamlLoadError:
        mark = node.start_mark
        return YamlLoadError(Problem(self.path, mark.line + 1, mark.column + 1, dotted(path), message))

    def enter(self, node: yaml.Node, path: Path) -> None:
        self.visited += 1
        if self.visited > MAX_NODES:
            raise self._fail(
                node,
                path,
                f"the document expands to more than {MAX_NODES} values through its aliases (an alias bomb?); "
                "write the values out instead of nesting aliases (*name)",
            )
        if len(path) > MAX_DEPTH:
            raise self._fail(node, path, _DEPTH_MESSAGE)
        if id(node) in self.open:
            raise self._fail(
                node, path, "this alias refers to a collection that contains it, which never ends; remove the alias"
            )

    def walk(self, node: yaml.Node, path: Path) -> None:
        self.enter(node, path)
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            self.open.add(id(node))
            if isinstance(node, yaml.SequenceNode):
                for index, item in enumerate(node.value):
                    self.walk(item, (*path, index))
            else:
                seen: dict[str, int] = {}
                for key_node, value_node in node.value:
                    key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
                    if isinstance(key_node, yaml.ScalarNode) and key in seen and key != "<<":
                        raise self._fail(
                            key_node, (*path, key), f"duplicate key '{key}' (first defined at line {seen[key]})"
                        )
                    seen.setdefault(key, key_node.start_mark.line + 1)
                    self.walk(value_node, (*path, key))
            self.open.discard(id(node))


class _Builder(_Walker):
    def __init__(self, located: Located) -> None:
        super().__init__(located.path)
        self.located = located
        self.constructor = yaml.SafeLoader("")

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.enter(node, path)
        self.located.value_marks.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, yaml.MappingNode):
            self.open.add(id(node))
            try:
                return self._mapping(node, path)
            finally:
                self.open.discard(id(node))
        if isinstance(node, yaml.SequenceNode):
            if node.tag != "tag:yaml.org,2002:seq":
                raise self._fail(node, path, f"tag {node.tag} is not allowed here")
            self.open.add(id(node))
            try:
                return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
            finally:
                self.open.discard(id(node))
        return self._scalar(node, path)

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict[str, Any]:
        if node.tag != "tag:yaml.org,2002:map":
            raise self._fail(node, path, f"tag {node.tag} is not allowed here")
        try:
            self.constructor.flatten_mapping(node)  # resolve YAML merge keys (<<)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or node.start_mark
            raise YamlLoadError(
                Problem(
                    self.path,
                    mark.line + 1,
                    mark.column + 1,
                    dotted(path),
                    "a merge key (<<) takes an alias of a mapping, or a list of them (<<: *defaults)",
                )
            ) from None
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self._fail(key_node, path, "a list or mapping cannot be a key; keys are plain strings")
            key = self._scalar(key_node, path)
            if not isinstance(key, str | int | float | bool) or isinstance(key, bool):
                raise self._fail(key_node, path, f"mapping keys must be plain strings; quote it: '{key_node.value}'")
            key = str(key)
            child = (*path, key)
            if key in result:
                first = self.located.key_marks[child]
                raise self._fail(key_node, child, f"duplicate key '{key}' (first defined at line {first[0]})")
            self.located.key_marks[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = self.build(value_node, child)
        return result

    def _scalar(self, node: yaml.Node, path: Path) -> Any:
        if node.tag == _TIMESTAMP:
            return str(node.value)  # keep dates as written; schemas check their format
        if node.tag not in _STANDARD_SCALARS:
            raise self._fail(node, path, f"tag {node.tag} is not allowed (only plain YAML values)")
        try:
            return self.constructor.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            raise self._fail(node, path, f"invalid value: {exc}") from None
        except ValueError:
            # Python refuses to convert integers of thousands of digits (int_max_str_digits).
            raise self._fail(
                node, path, f"the number {str(node.value)[:20]}... is too long; write a smaller number"
            ) from None
