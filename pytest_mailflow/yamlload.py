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
            return yaml.compose(text, Loader=fast)
        except yaml.YAMLError:
            pass
    return yaml.compose(text, Loader=yaml.SafeLoader)


def load_located(text: str, path: str) -> Located:
    """Parse one YAML document; raise :class:`YamlLoadError` with a located message on failure."""
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
    except yaml.YAMLError as exc:
        raise YamlLoadError(Problem(path, 1, 1, "", f"YAML error: {exc}")) from None
    located = Located(path=path, data=None)
    if node is None:
        return located
    builder = _Builder(located)
    located.data = builder.build(node, ())
    return located


class _Builder:
    def __init__(self, located: Located) -> None:
        self.located = located
        self.visited = 0
        self.constructor = yaml.SafeLoader("")

    def _fail(self, node: yaml.Node, path: Path, message: str) -> YamlLoadError:
        mark = node.start_mark
        return YamlLoadError(Problem(self.located.path, mark.line + 1, mark.column + 1, dotted(path), message))

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.visited += 1
        if self.visited > MAX_NODES:
            raise self._fail(node, path, f"document expands to more than {MAX_NODES} nodes (alias bomb?)")
        self.located.value_marks.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != "tag:yaml.org,2002:seq":
                raise self._fail(node, path, f"tag {node.tag} is not allowed here")
            return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
        return self._scalar(node, path)

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict[str, Any]:
        if node.tag != "tag:yaml.org,2002:map":
            raise self._fail(node, path, f"tag {node.tag} is not allowed here")
        self.constructor.flatten_mapping(node)  # resolve YAML merge keys (<<)
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self._scalar(key_node, path) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str | int | float | bool) or isinstance(key, bool):
                raise self._fail(
                    key_node, path, f"mapping keys must be plain strings; quote it: '{getattr(key_node, 'value', '')}'"
                )
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
