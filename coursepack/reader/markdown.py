"""Step 4a, the Markdown parser: markdown-it-py (CommonMark + tables, raw HTML off) with
our inline rules for ``[[blanks]]`` and formulas (Pandoc's ``tex_math_dollars`` rules)."""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline
from mdit_py_plugins.subscript import sub_plugin
from mdit_py_plugins.superscript import superscript_plugin

# --------------------------------------------------------------------------- markdown-it


def _next_index(state: StateInline, needle: str, start: int) -> int:
    """``state.src.find(needle, start)``, remembered so many ``[[`` on one line stay linear."""
    cache = state.env.setdefault("_next_index", {})
    if cache.get("src") is not state.src:
        cache.clear()
        cache["src"] = state.src
    searched = cache.get(needle)
    if searched is not None:
        searched_from, found = searched
        if searched_from <= start and (found < 0 or found >= start):
            return found
    found = state.src.find(needle, start)
    cache[needle] = (start, found)
    return found


def _cloze_rule(state: StateInline, silent: bool) -> bool:
    """``[[answer]]`` as a ``cloze`` token; a lone ``[[`` becomes a ``cloze_error`` token."""
    src = state.src
    pos = state.pos
    if not src.startswith("[[", pos):
        return False
    end = _next_index(state, "]]", pos + 2)
    newline = _next_index(state, "\n", pos)
    reopen = _next_index(state, "[[", pos + 2)
    # A blank stays on one line and holds no other blank; otherwise this '[[' is unclosed.
    if end < 0 or end >= state.posMax or 0 <= newline < end or 0 <= reopen < end:
        if not silent:
            token = state.push("cloze_error", "", 0)
            token.content = "[["
            token.meta = {
                "offset": pos,
                "message": "'[[' is never closed with ']]' (a blank is written [[answer]])",
            }
        state.pos = pos + 2
        return True
    answer = src[pos + 2 : end]
    if not silent:
        if not answer.strip():
            token = state.push("cloze_error", "", 0)
            token.content = src[pos : end + 2]
            token.meta = {
                "offset": pos,
                "message": "empty blank '[[ ]]' (write the answer inside: [[answer]])",
            }
        else:
            token = state.push("cloze", "", 0)
            token.content = answer
            token.meta = {"offset": pos}
    state.pos = end + 2
    return True


def _cloze_close_rule(state: StateInline, silent: bool) -> bool:
    """A ``]]`` that closes no ``[[`` (escape it as ``\\]\\]`` to write it literally)."""
    src = state.src
    pos = state.pos
    if not src.startswith("]]", pos):
        return False
    if silent:
        return False  # let link-label scanning see the ']' as usual
    token = state.push("cloze_error", "", 0)
    token.content = "]]"
    token.meta = {
        "offset": pos,
        "message": "']]' without a matching '[[' (a blank is written [[answer]])",
    }
    state.pos = pos + 2
    return True


def _math_close(src: str, start: int, end: int) -> int:
    """Where the ``$`` closing inline math opened before ``start`` is, or -1 (Pandoc's rules).

    The closing ``$`` has a non-space right before it and no digit right after it, so
    "Tickets cost $20 and $30" holds no math; ``\\$`` inside the formula is TeX's dollar.
    """
    index = start
    while True:
        found = src.find("$", index, end)
        if found < 0:
            return -1
        escaped = src[found - 1] == "\\"
        after = src[found + 1] if found + 1 < end else ""
        if not escaped and not src[found - 1].isspace() and not after.isdigit():
            return found
        index = found + 1


def _math_rule(state: StateInline, silent: bool) -> bool:
    """Formulas as Pandoc reads them: ``$…$``, ``$$…$$``, ``\\(…\\)`` and ``\\[…\\]``.

    Runs before the backslash-escape rule, so ``\\(`` opens a formula; ``\\$`` is still a
    dollar sign. Unclosed delimiters are ordinary text, as in Pandoc.
    """
    src, pos, end = state.src, state.pos, state.posMax
    if src.startswith("\\[\\[", pos) or (pos >= 2 and src.startswith("\\[\\[", pos - 2)):
        return False  # \[\[ is how a literal "[[" (not a blank) is written
    if src.startswith(("\\(", "\\["), pos):
        display = src[pos + 1] == "["
        close = src.find("\\]" if display else "\\)", pos + 2, end)
        if close < 0:
            return False
        content, stop = src[pos + 2 : close], close + 2
    elif src.startswith("$$", pos):
        display = True
        close = src.find("$$", pos + 2, end)
        if close < 0 or not src[pos + 2 : close].strip():
            return False
        content, stop = src[pos + 2 : close], close + 2
    elif src.startswith("$", pos):
        display = False
        if pos + 1 >= end or src[pos + 1].isspace():
            return False
        close = _math_close(src, pos + 2, end)
        if close < 0:
            return False
        content, stop = src[pos + 1 : close], close + 1
    else:
        return False
    if not silent:
        token = state.push("math", "", 0)
        token.content = content
        token.meta = {"display": display, "newlines": src.count("\n", pos, stop)}
    state.pos = stop
    return True


def _make_parser() -> MarkdownIt:
    """CommonMark + GFM tables + formulas and ``~sub~``/``^sup^`` (Pandoc's syntax); raw
    HTML off (it stays text); all link schemes let through."""
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    md.inline.ruler.before("escape", "math", _math_rule)
    md.use(sub_plugin).use(superscript_plugin)
    md.inline.ruler.before("link", "cloze", _cloze_rule)
    md.inline.ruler.before("link", "cloze_close", _cloze_close_rule)
    # Keep file:, data:, javascript: links and images as links/images so the checks can name
    # them (markdown-it would otherwise turn them silently into text).
    md.validateLink = lambda url: True  # type: ignore[method-assign]
    return md


_PARSER = _make_parser()
