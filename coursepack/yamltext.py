"""Reading a small YAML settings file (``course.yaml``) as text values, bounded.

YAML's own typing turns a teacher's ``term: 2027-02-30`` into a date error and a number of
thousands of digits into an integer error, and a 400-byte file of nested aliases (``*a``)
expands to millions of values. Here every scalar stays the text as written (``null`` and an
empty value are None), aliases are refused at their line, and the file's size is bounded, so
each such mistake is one ``path:line`` problem.
"""

from __future__ import annotations

from typing import Any

import yaml

#: The largest settings file read (a course.yaml is a few hundred bytes).
MAX_BYTES = 1_000_000


class YamlProblem(Exception):
    """A YAML file that cannot be read: ``line`` (1-based, 0 for none) and a reason."""

    def __init__(self, line: int, reason: str):
        super().__init__(reason)
        self.line = line
        self.reason = reason


class _TextLoader(yaml.SafeLoader):
    """The safe loader with no implicit typing but null: dates, numbers, yes/no stay text."""


_TextLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag == "tag:yaml.org,2002:null"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_text_yaml(text: str) -> tuple[Any, yaml.Node | None]:
    """The data of ``text`` (scalars as strings) and its node tree (for the lines of keys).

    Raises :class:`YamlProblem` for invalid YAML, an alias, a value YAML cannot construct
    (an explicit ``!!int`` of thousands of digits), nesting too deep, or a file too big.
    """
    if len(text) > MAX_BYTES:
        raise YamlProblem(0, f"the file is too big ({len(text)} characters, at most {MAX_BYTES})")
    try:
        node = yaml.compose(text, Loader=_TextLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise YamlProblem(mark.line + 1 if mark else 0, f"invalid YAML: {reason}") from None
    except RecursionError:
        raise YamlProblem(0, "invalid YAML: nested too deeply") from None
    if node is None:
        return None, None
    _refuse_aliases(node)
    try:
        return yaml.load(text, Loader=_TextLoader), node  # noqa: S506 - a safe loader
    except (yaml.YAMLError, ValueError, OverflowError, TypeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else _first_tagged_line(node)
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise YamlProblem(line, f"invalid value: {reason}") from None
    except RecursionError:
        raise YamlProblem(0, "invalid YAML: nested too deeply") from None


def _first_tagged_line(root: yaml.Node) -> int:
    """The line of the first value with an explicit type (``!!int ...``): with no implicit
    typing, only those can fail to construct."""
    plain = ("tag:yaml.org,2002:str", "tag:yaml.org,2002:null")
    stack = [root]
    while stack:
        node = stack.pop(0)
        if isinstance(node, yaml.ScalarNode) and node.tag not in plain:
            return node.start_mark.line + 1
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            stack.extend(value for pair in node.value for value in pair)
    return 0


def _refuse_aliases(root: yaml.Node) -> None:
    """An alias makes the composer reuse a node: a node met twice is an alias (``*name``)."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            raise YamlProblem(
                node.start_mark.line + 1,
                "this value is used again through a YAML alias (*name), which is not allowed here: "
                "write the value out",
            )
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend((key, value))
