"""Step 4b, building the model: markdown-it tokens of each region, with the region's
first line, become the typed, immutable :mod:`coursepack.model` nodes, each with its line."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import unquote

from markdown_it.token import Token

from ..diagnostics import Diagnostic, error, warning
from ..model import (
    AUDIENCE_KINDS,
    BUILD_KINDS,
    CALLOUT_KINDS,
    MAX_SLIDE_COLUMNS,
    Block,
    BulletList,
    Callout,
    Cloze,
    Code,
    CodeBlock,
    Column,
    Columns,
    Div,
    Emph,
    Image,
    Inline,
    Inlines,
    LineBreak,
    Link,
    ListItem,
    Match,
    MatchPair,
    Math,
    Option,
    Order,
    OrderItem,
    Paragraph,
    Question,
    Quote,
    Section,
    Strong,
    Subscript,
    Superscript,
    Table,
    TableCell,
    Text,
    Topic,
    iter_blocks,
    plain_text,
)
from .divs import _Chunk, _DivRegion, _parse_div_spec, _whole_number, _yes_no
from .markdown import _PARSER
from .syntax import (
    _FORMATTING_RE,
    _OPTION_MISTAKES,
    _SPACED_IMAGE_RE,
    MAX_INLINE_DEPTH,
    MAX_LIST_DEPTH,
    _answer_re,
    _short,
    is_remote,
)

# --------------------------------------------------------------------------- building the model


@dataclass(frozen=True)
class _Heading:
    """A ``#``/``##`` heading met while converting a region (structure is built later)."""

    level: int
    title: Inlines
    line: int


_Item = Block | _Heading


class _Builder:
    """Turns the region tree into model blocks, collecting diagnostics as it goes."""

    def __init__(self, path: Path, env: dict, answer_words: tuple[str, ...] = ("Answer",)) -> None:
        self.path = path
        self.answer_words = answer_words
        self.answer_re = _answer_re(answer_words)
        # Option lines with a mistake, by the line of their question (see _option_mistakes).
        self.option_mistakes: dict[int, list[Option]] = {}
        self.folder = path.parent
        self.env = env
        self.diagnostics: list[Diagnostic] = []
        self.number = 0  # graded blocks seen so far
        self.graded_open: list[str] = []  # kinds of the graded blocks being converted
        self.images: dict[Path, None] = {}

    # ---------------------------------------------------------------- regions

    def regions(
        self, nodes: list[_Chunk | _DivRegion], *, top: bool, parent_div: str = ""
    ) -> list[_Item]:
        """Convert a list of chunks and divs, in order, into blocks (and headings when top)."""
        items: list[_Item] = []
        for node in nodes:
            if isinstance(node, _Chunk):
                items.extend(self.chunk(node, top=top, parent_div=parent_div))
            else:
                items.extend(self.div(node, parent_div=parent_div))
        return items

    def chunk(self, chunk: _Chunk, *, top: bool, parent_div: str) -> list[_Item]:
        """Parse one chunk with markdown-it and convert its tokens."""
        if not any(line.strip() for line in chunk.lines):
            return []
        tokens = _PARSER.parse("\n".join(chunk.lines), self.env)
        stream = _Tokens(tokens, chunk.start)
        items: list[_Item] = []
        while not stream.done():
            token = stream.peek()
            if token.type == "heading_open":
                stream.next()
                inline = stream.next()
                stream.next()  # heading_close
                level = int(token.tag[1:])
                line = stream.line(token)
                title = self.inlines(inline, line)
                if top and level <= 2:
                    items.append(_Heading(level, title, line))
                else:
                    if level <= 2 and parent_div:
                        self.diagnostics.append(
                            warning(
                                self.path,
                                line,
                                f"a '{'#' * level}' heading inside '::: {parent_div}' cannot start "
                                "a new section or topic; it is shown as bold text (close the "
                                "block with ':::' before the heading)",
                            )
                        )
                    items.append(Paragraph((Strong(title, line),) if title else (), line))
            else:
                block = self.block(stream)
                if block is not None:
                    items.append(block)
        return items

    def div(self, region: _DivRegion, *, parent_div: str) -> list[_Item]:
        """Convert one ``:::`` region into a Div, Question, Match or Order."""
        spec, diagnostics = _parse_div_spec(region, self.path)
        self.diagnostics.extend(diagnostics)
        if spec is None:  # unknown kind: keep its content in place
            return self.blocks_only(region, parent_div=parent_div)
        kind = spec.kind
        if kind == "columns":
            return [self.columns(region, parent_div)]
        if kind == "column":
            self.diagnostics.append(
                error(
                    self.path,
                    region.line,
                    "a '::: column' goes inside a ':::: columns' block (its text is kept here)",
                )
            )
            return self.blocks_only(region, parent_div=parent_div)
        if kind in CALLOUT_KINDS:
            blocks = self.blocks_only(region, parent_div=parent_div)
            style = kind.removeprefix("callout-")
            title = spec.attrs.get("title", "").strip()
            return [Callout(style, title, tuple(blocks), region.line)]  # type: ignore[arg-type]
        if kind in BUILD_KINDS:  # the lists in it are built one item per click (or not)
            blocks = self.blocks_only(region, parent_div=parent_div)
            built = kind == "incremental"
            return [
                replace(b, incremental=built) if isinstance(b, BulletList) else b for b in blocks
            ]
        if kind in AUDIENCE_KINDS:
            blocks = self.blocks_only(region, parent_div=kind if region.closed else "")
            return [Div(kind, tuple(blocks), region.line)]  # type: ignore[arg-type]
        # graded block
        if self.graded_open:
            outer = self.graded_open[-1]
            self.diagnostics.append(
                error(
                    self.path,
                    region.line,
                    f"a '::: {kind}' cannot go inside a '::: {outer}' (close the "
                    f"{outer} with ':::' first)",
                )
            )
        elif parent_div in ("notes", "teacher"):
            self.diagnostics.append(
                warning(
                    self.path,
                    region.line,
                    f"this {kind} is inside '::: {parent_div}', so students will not see it "
                    "in the handout (move it out of the block)",
                )
            )
        self.number += 1
        number = self.number
        points = _whole_number(spec.attrs, "points", region.line, self.path, self.diagnostics) or 1
        lines = _whole_number(spec.attrs, "lines", region.line, self.path, self.diagnostics)
        shuffle = _yes_no(spec.attrs, "shuffle", region.line, self.path, self.diagnostics)
        if region.closed:
            self.graded_open.append(kind)
        try:
            blocks = self.blocks_only(region, parent_div=kind if region.closed else "")
        finally:
            if region.closed:
                self.graded_open.pop()
        if kind == "question":
            self._option_mistakes(region)
            graded: Block = self.question(blocks, number, points, lines, region.line)
        elif kind == "match":
            graded = self.match(blocks, number, points, region.line)
        else:
            graded = self.order(blocks, number, points, region.line)
        return [graded if shuffle else replace(graded, shuffle=False)]

    def columns(self, region: _DivRegion, parent_div: str) -> Columns:
        """``:::: columns``: each ``::: column`` inside is a column (``width=40%``); text
        between them goes into the column before it, with a warning."""
        columns: list[Column] = []
        for node in region.children:
            if isinstance(node, _DivRegion):
                spec, diagnostics = _parse_div_spec(node, self.path)
                if spec is not None and spec.kind == "column":
                    self.diagnostics.extend(diagnostics)
                    width = self.column_width(spec.attrs.get("width"), node.line)
                    blocks = self.blocks_only(node, parent_div=parent_div)
                    columns.append(Column(width, tuple(blocks), node.line))
                    continue
                stray = self.div(node, parent_div=parent_div)
            else:
                stray = self.chunk(node, top=False, parent_div=parent_div)
            blocks = [b for b in stray if not isinstance(b, _Heading)]
            if not blocks:
                continue
            self.diagnostics.append(
                warning(
                    self.path,
                    blocks[0].line,
                    "text inside ':::: columns' but outside a '::: column' goes into the column "
                    "before it (put it inside a '::: column')",
                )
            )
            if columns:
                last = columns[-1]
                columns[-1] = replace(last, blocks=(*last.blocks, *blocks))
            else:
                columns.append(Column(None, tuple(blocks), blocks[0].line))
        if len(columns) > MAX_SLIDE_COLUMNS:
            self.diagnostics.append(
                warning(
                    self.path,
                    region.line,
                    f"{len(columns)} columns: too many to stand side by side on a slide (they "
                    f"follow one another there; at most {MAX_SLIDE_COLUMNS} fit); the handout "
                    "shows them all",
                )
            )
        if not columns:
            self.diagnostics.append(
                warning(self.path, region.line, "':::: columns' has no '::: column' inside")
            )
        return Columns(tuple(columns), region.line)

    def column_width(self, raw: str | None, line: int) -> float | None:
        """``width=40%`` → 0.4 (None when absent or not a percentage, with an error)."""
        if raw is None:
            return None
        match = re.fullmatch(r"\s*(\d{1,3}(?:\.\d+)?)\s*%\s*", raw)
        if match is None or not 0 < float(match[1]) <= 100:
            self.diagnostics.append(
                error(
                    self.path,
                    line,
                    f"column width '{raw}' is not a percentage (write e.g. width=40%)",
                )
            )
            return None
        return float(match[1]) / 100

    def blocks_only(self, region: _DivRegion, *, parent_div: str) -> list[Block]:
        """The blocks of a region (headings inside divs are already bold paragraphs)."""
        return [
            item
            for item in self.regions(region.children, top=False, parent_div=parent_div)
            if not isinstance(item, _Heading)
        ]

    # ---------------------------------------------------------------- graded blocks

    def _option_mistakes(self, region: _DivRegion) -> None:
        """An error at each line of a question that was meant as an option but is none
        ('-[x]', '- []', '- [ x ]', a tab before it): without it the question would read as
        an open question with no answer, which says nothing about the real mistake."""
        for chunk in region.children:
            if not isinstance(chunk, _Chunk):
                continue
            for offset, text in enumerate(chunk.lines):
                for pattern, message in _OPTION_MISTAKES:
                    found = pattern.match(text)
                    if found:
                        number = chunk.start + offset
                        self.diagnostics.append(error(self.path, number, message))
                        # Kept as an option, so the question is not also called an open
                        # question without an answer.
                        rest = text[found.end() :].strip() or "?"
                        correct = "x" in found.group(0).lower() or "✓" in found.group(0)
                        recovered = Option((Text(rest, number),), correct, number)
                        self.option_mistakes.setdefault(region.line, []).append(recovered)
                        break

    def question(
        self, blocks: list[Block], number: int, points: int, lines: int | None, line: int
    ) -> Question:
        """Split a question's blocks into prompt, options and answer."""
        answer_at = len(blocks)
        answer: list[Block] = []
        for index, block in enumerate(blocks):
            stripped = _strip_answer_prefix(block, self.answer_re, self.answer_words)
            if stripped is not None:
                answer_at = index
                answer = ([stripped] if stripped.inlines else []) + blocks[index + 1 :]
                break
        prompt: list[Block] = []
        options: list[Option] = []
        for block in blocks[:answer_at]:
            if not options and isinstance(block, BulletList):
                found = self.options(block)
                if found is not None:
                    options = found
                    continue
            prompt.append(block)
        if not options and line in self.option_mistakes:
            options = self.option_mistakes[line]
            prompt = [b for b in prompt if b.line not in {o.line for o in options}]
        if options and lines is not None:
            self.diagnostics.append(
                warning(
                    self.path,
                    line,
                    "lines= is ignored for a multiple-choice question (it is for open questions)",
                )
            )
            lines = None
        return Question(number, points, tuple(prompt), tuple(options), tuple(answer), lines, line)

    def options(self, block: BulletList) -> list[Option] | None:
        """A task list (``- [ ]`` / ``- [x]``) as options, or None when it is no task list."""
        marked = [_task_marker(item.inlines) for item in block.items]
        if not any(mark is not None for mark in marked):
            return None
        options: list[Option] = []
        for item, mark in zip(block.items, marked, strict=True):
            if mark is None:
                if any(
                    o.line == item.line for found in self.option_mistakes.values() for o in found
                ):
                    options.append(Option(item.inlines, False, item.line))
                    continue  # already said what is wrong with this option line
                self.diagnostics.append(
                    error(
                        self.path,
                        item.line,
                        "this option has no box: start every option with '[ ]' "
                        "(or '[x]' for a correct one)",
                    )
                )
                options.append(Option(item.inlines, False, item.line))
                continue
            correct, rest = mark
            if item.children:
                self.diagnostics.append(
                    warning(
                        self.path,
                        item.children[0].line,
                        "sub-bullets under an option are left out (write each option on one line)",
                    )
                )
            rest, fixed = _pinned(rest)
            if not plain_text(rest).strip():
                self.diagnostics.append(
                    error(self.path, item.line, "this option is empty (write it after the box)")
                )
            options.append(Option(rest, correct, item.line, fixed))
        return options

    def match(self, blocks: list[Block], number: int, points: int, line: int) -> Match:
        """A match block: prompt paragraphs, then ``- term :: definition`` items."""
        lists = [b for b in blocks if isinstance(b, BulletList)]
        pair_list = lists[-1] if lists else None
        prompt = tuple(b for b in blocks if b is not pair_list)
        pairs: list[MatchPair] = []
        for item in pair_list.items if pair_list else ():
            if item.children:
                self.diagnostics.append(
                    warning(
                        self.path,
                        item.children[0].line,
                        "sub-bullets in a match block are left out (write each pair on one line)",
                    )
                )
            split = _split_pair(item.inlines)
            if split is None:
                self.diagnostics.append(
                    error(
                        self.path,
                        item.line,
                        "match item has no '::' (write it as '- term :: definition')",
                    )
                )
                continue
            term, definition = split
            if not plain_text(term).strip() or not plain_text(definition).strip():
                self.diagnostics.append(
                    error(
                        self.path,
                        item.line,
                        "match item needs text on both sides of '::' ('- term :: definition')",
                    )
                )
                continue
            pairs.append(MatchPair(term, definition, item.line))
        return Match(number, points, prompt, tuple(pairs), line)

    def order(self, blocks: list[Block], number: int, points: int, line: int) -> Order:
        """An order block: prompt paragraphs, then the items in their right order."""
        lists = [b for b in blocks if isinstance(b, BulletList)]
        item_list = lists[-1] if lists else None
        prompt = tuple(b for b in blocks if b is not item_list)
        items = tuple(OrderItem(i.inlines, i.line) for i in (item_list.items if item_list else ()))
        for item in item_list.items if item_list else ():
            if item.children:
                self.diagnostics.append(
                    warning(
                        self.path,
                        item.children[0].line,
                        "sub-bullets in an order block are left out (write each item on one line)",
                    )
                )
        return Order(number, points, prompt, items, line)

    # ---------------------------------------------------------------- blocks

    def block(self, stream: _Tokens) -> Block | None:
        """Convert the block starting at the stream's position (None for ignored tokens)."""
        token = stream.next()
        line = stream.line(token)
        kind = token.type
        if kind == "paragraph_open":
            inline = stream.next()
            stream.next()  # paragraph_close
            return self.paragraph(inline, line)
        if kind in ("bullet_list_open", "ordered_list_open"):
            return self.bullet_list(stream, token, depth=1)
        if kind == "blockquote_open":
            blocks = self.until(stream, "blockquote_close")
            return Quote(tuple(blocks), line)
        if kind in ("fence", "code_block"):
            text = token.content
            return CodeBlock(text[:-1] if text.endswith("\n") else text, token.info.strip(), line)
        if kind == "table_open":
            return self.table(stream, line)
        if kind == "heading_open":  # inside a quote or list item
            inline = stream.next()
            stream.next()
            title = self.inlines(inline, line)
            return Paragraph((Strong(title, line),) if title else (), line)
        if kind == "hr":
            self.diagnostics.append(
                warning(
                    self.path,
                    line,
                    "a '---' line is ignored (start a new slide with a '##' heading instead)",
                )
            )
            return None
        if kind in ("html_block",):  # not produced with html disabled; kept literal anyway
            return Paragraph((Text(token.content.rstrip("\n"), line),), line)
        # Every token the parser can produce has a case above: a new Markdown feature must
        # get one, not vanish from every output.
        raise AssertionError(f"the reader has no case for the block token {kind!r}")

    def until(self, stream: _Tokens, close: str) -> list[Block]:
        """Blocks up to the matching ``close`` token (which is consumed)."""
        blocks: list[Block] = []
        while not stream.done():
            if stream.peek().type == close:
                stream.next()
                break
            block = self.block(stream)
            if block is not None:
                blocks.append(block)
        return blocks

    def paragraph(self, inline: Token, line: int) -> Block:
        """A paragraph, or an :class:`Image` block when it holds only one image."""
        children = inline.children or []
        meaningful = [
            c
            for c in children
            if not (
                c.type in ("softbreak", "hardbreak") or (c.type == "text" and not c.content.strip())
            )
        ]
        if len(meaningful) == 1 and meaningful[0].type == "image":
            return self.image(meaningful[0], line)
        return Paragraph(self.inlines(inline, line), line)

    def image(self, token: Token, line: int) -> Image:
        """An image block; the path is resolved against the lesson's folder."""
        src = unquote(str(token.attrGet("src") or ""))
        alt = plain_text(self.inline_children(token.children or [], line, None)).strip()
        caption = str(token.attrGet("title") or "")
        if is_remote(src) or not src:
            path = Path(src)
        else:
            try:
                path = (self.folder / src).resolve()
            except (OSError, RuntimeError, ValueError):
                path = self.folder / src
            self.images.setdefault(path, None)
        return Image(src, path, alt, caption, line)

    def bullet_list(self, stream: _Tokens, open_token: Token, depth: int) -> BulletList:
        """A (possibly nested) list; items deeper than 3 levels are flattened to level 3."""
        ordered = open_token.type == "ordered_list_open"
        close = "ordered_list_close" if ordered else "bullet_list_close"
        start = 1
        if ordered:
            try:
                start = int(open_token.attrGet("start") or 1)
            except ValueError:
                start = 1
        items: list[ListItem] = []
        while not stream.done():
            token = stream.next()
            if token.type == close:
                break
            if token.type == "list_item_open":
                items.extend(self.list_item(stream, token, depth))
        return BulletList(tuple(items), stream.line(open_token), ordered, start)

    def list_item(self, stream: _Tokens, open_token: Token, depth: int) -> list[ListItem]:
        """One item (plus, below level 3, its flattened descendants)."""
        line = stream.line(open_token)
        inlines: list[Inline] = []
        children: list[ListItem] = []
        ordered_children: bool | None = None
        while not stream.done():
            token = stream.peek()
            if token.type == "list_item_close":
                stream.next()
                break
            if token.type == "paragraph_open":
                stream.next()
                inline = stream.next()
                stream.next()
                para_line = stream.line(token)
                if inlines:
                    inlines.append(LineBreak(para_line))
                inlines.extend(self.inlines(inline, para_line))
            elif token.type in ("bullet_list_open", "ordered_list_open"):
                stream.next()
                sub = self.bullet_list(stream, token, depth + 1)
                if ordered_children is None:
                    ordered_children = sub.ordered
                children.extend(sub.items)
            else:
                block = self.block(stream)
                if block is not None:
                    self.diagnostics.append(
                        warning(
                            self.path,
                            block.line,
                            f"a {_block_name(block)} inside a bullet is left out (a bullet can "
                            "only hold text and sub-bullets; move it out of the list)",
                        )
                    )
        item_inlines = _merge_text(inlines)
        if depth < MAX_LIST_DEPTH:
            return [ListItem(item_inlines, tuple(children), line, bool(ordered_children))]
        if children and depth == MAX_LIST_DEPTH:
            self.diagnostics.append(
                warning(
                    self.path,
                    children[0].line,
                    f"bullets nest at most {MAX_LIST_DEPTH} levels deep; deeper bullets are "
                    f"shown at level {MAX_LIST_DEPTH}",
                )
            )
        return [ListItem(item_inlines, (), line), *children]

    def table(self, stream: _Tokens, line: int) -> Table:
        """A GFM table."""
        header: list[TableCell] = []
        rows: list[tuple[TableCell, ...]] = []
        aligns: list[str] = []
        row: list[TableCell] = []
        row_line = line
        in_head = False
        while not stream.done():
            token = stream.next()
            if token.type == "table_close":
                break
            if token.type == "thead_open":
                in_head = True
            elif token.type == "tbody_open":
                in_head = False
            elif token.type == "tr_open":
                row = []
                row_line = stream.line(token)
            elif token.type in ("th_open", "td_open"):
                inline = stream.next()
                row.append(TableCell(self.inlines(inline, row_line), row_line))
                if in_head:
                    style = str(token.attrGet("style") or "")
                    aligns.append(style.removeprefix("text-align:") if style else "")
            elif token.type == "tr_close":
                if in_head:
                    header = row
                else:
                    rows.append(tuple(row))
        return Table(tuple(header), tuple(rows), tuple(aligns), line)  # type: ignore[arg-type]

    # ---------------------------------------------------------------- inlines

    def _spaced_image_path(self, text: str, line: int) -> None:
        """A picture whose file name has a space is no picture in Markdown (it would print
        as typed): say how to write it."""
        for match in _SPACED_IMAGE_RE.finditer(text):
            alt, target = match.group(1), match.group(2).strip()
            self.diagnostics.append(
                error(
                    self.path,
                    line,
                    f"the picture '{_short(target)}' has a space in its file name, so it would "
                    "print as typed: put the name in angle brackets, "
                    f"![{_short(alt)}](<{_short(target)}>) (or rename the file without spaces)",
                )
            )

    def inlines(self, inline: Token, line: int) -> Inlines:
        """The inline children of an ``inline`` token, with lines and cloze diagnostics."""
        return self.inline_children(inline.children or [], line, inline.content)

    def cloze(self, answer: str, line: int) -> Cloze:
        """A blank; its answer's formulas and sub/superscripts are kept as inlines."""
        if not any(mark in answer for mark in ("$", "\\(", "\\[", "~", "^")):
            return Cloze(answer, line)
        tokens = _PARSER.parseInline(answer, self.env)
        parsed = self.inline_children(tokens[0].children or [], line, None) if tokens else ()
        if any(isinstance(node, (Math, Subscript, Superscript)) for node in parsed):
            return Cloze(answer, line, parsed)
        return Cloze(answer, line)

    def inline_children(self, children: list[Token], line: int, content: str | None) -> Inlines:
        """Convert inline tokens; ``content`` (the source) gives cloze error lines."""
        base = line
        newlines: list[int] | None = None  # positions of "\n" in content, for error lines
        stack: list[tuple[str, list[Inline], int, str]] = []
        out: list[Inline] = []
        current = out
        too_deep = 0  # formatting opened beyond MAX_INLINE_DEPTH (dropped, and its closers)
        script: str | None = None  # inside ~sub~ or ^sup^
        for token in children:
            kind = token.type
            if kind == "text" and script == "sub_open":
                current.append(Subscript(token.content, line))
            elif kind == "text" and script == "sup_open":
                current.append(Superscript(token.content, line))
            elif kind == "text":
                if "](" in token.content:
                    self._spaced_image_path(token.content, line)
                current.append(Text(token.content, line))
            elif kind == "softbreak":
                current.append(Text(" ", line))
                line += 1
            elif kind == "hardbreak":
                current.append(LineBreak(line))
                line += 1
            elif kind == "code_inline":
                current.append(Code(token.content, line))
            elif kind == "math":
                current.append(Math(token.content, bool(token.meta["display"]), line))
                line += token.meta["newlines"]
            elif kind in ("sub_open", "sup_open"):
                script = kind  # the plugins put one text token between open and close
            elif kind in ("sub_close", "sup_close"):
                script = None
            elif kind == "cloze":
                answer = token.content.strip()
                if _FORMATTING_RE.search(answer):
                    plain = _FORMATTING_RE.sub(
                        lambda m: next(g for g in m.groups()[1:] if g), answer
                    )
                    self.diagnostics.append(
                        error(
                            self.path,
                            line,
                            f"formatting inside the blank [[{_short(answer)}]] would be printed "
                            f"as typed: write the answer as plain text, [[{_short(plain)}]] (the "
                            "key prints answers in bold)",
                        )
                    )
                    answer = plain
                current.append(self.cloze(answer, line))
            elif kind == "cloze_error":
                where = line
                if content is not None and token.meta:
                    if newlines is None:
                        newlines = [i for i, char in enumerate(content) if char == "\n"]
                    where = base + bisect.bisect_left(newlines, token.meta["offset"])
                self.diagnostics.append(error(self.path, where, token.meta["message"]))
                current.append(Text(token.content, line))
            elif kind in ("strong_open", "em_open", "link_open"):
                if len(stack) >= MAX_INLINE_DEPTH:
                    if not too_deep:
                        self.diagnostics.append(
                            warning(
                                self.path,
                                line,
                                f"bold, italics and links nest at most {MAX_INLINE_DEPTH} deep; "
                                "the deeper formatting is left out (the text is kept)",
                            )
                        )
                    too_deep += 1
                    continue
                stack.append((kind, current, line, str(token.attrGet("href") or "")))
                current = []
            elif kind in ("strong_close", "em_close", "link_close") and too_deep:
                # Tokens nest properly, so the innermost (dropped) formatting closes first.
                too_deep -= 1
            elif kind in ("strong_close", "em_close", "link_close") and stack:
                opened, parent, start, href = stack.pop()
                merged = _merge_text(current)
                if opened == "strong_open":
                    parent.append(Strong(merged, start))
                elif opened == "em_open":
                    parent.append(Emph(merged, start))
                else:
                    parent.append(Link(href, merged, start))
                current = parent
            elif kind == "image":
                alt = self.inline_children(token.children or [], line, None)
                self.diagnostics.append(
                    warning(
                        self.path,
                        line,
                        "an image inside text is shown as its description only (put the image "
                        "on a line of its own, with blank lines around it)",
                    )
                )
                current.extend(alt)
            elif kind == "html_inline":  # not produced with html disabled; literal if it is
                current.append(Text(token.content, line))
            elif kind in ("strong_close", "em_close", "link_close"):
                pass  # a closer without its opener (should not happen): nothing to close
            else:
                # A new inline token kind must get a case, not vanish from every output.
                raise AssertionError(f"the reader has no case for the inline token {kind!r}")
        while stack:  # unbalanced (should not happen): keep the content
            _, parent, _, _ = stack.pop()
            parent.extend(current)
            current = parent
        return _merge_text(out)

    # ---------------------------------------------------------------- structure

    def structure(self, items: list[_Item]) -> tuple[tuple[Block, ...], tuple[Section, ...]]:
        """Group top-level items into the introduction, sections and topics."""
        intro: list[Block] = []
        sections: list[Section] = []
        section: dict | None = None
        topic: dict | None = None

        def close_topic() -> None:
            nonlocal topic
            if topic is not None and section is not None:
                section["topics"].append(
                    Topic(topic["title"], tuple(topic["blocks"]), topic["line"])
                )
            topic = None

        def close_section() -> None:
            nonlocal section
            close_topic()
            if section is not None:
                sections.append(
                    Section(
                        section["title"],
                        tuple(section["blocks"]),
                        tuple(section["topics"]),
                        section["line"],
                    )
                )
            section = None

        for item in items:
            if isinstance(item, _Heading):
                if not plain_text(item.title).strip():
                    self.diagnostics.append(
                        warning(
                            self.path,
                            item.line,
                            f"empty '{'#' * item.level}' heading (add a title)",
                        )
                    )
                if item.level == 1:
                    close_section()
                    section = {"title": item.title, "blocks": [], "topics": [], "line": item.line}
                else:
                    close_topic()
                    if section is None:
                        self.diagnostics.append(
                            warning(
                                self.path,
                                item.line,
                                "this '##' topic comes before any '#' section heading; it is put "
                                "in a section without a title (add a '# Section' line above it)",
                            )
                        )
                        section = {"title": (), "blocks": [], "topics": [], "line": item.line}
                    topic = {"title": item.title, "blocks": [], "line": item.line}
            elif topic is not None:
                topic["blocks"].append(item)
            elif section is not None:
                section["blocks"].append(item)
            else:
                intro.append(item)
        close_section()
        return tuple(intro), tuple(sections)


class _Tokens:
    """A cursor over markdown-it tokens of one chunk; ``line`` maps to file lines."""

    def __init__(self, tokens: list[Token], first_line: int) -> None:
        self.tokens = tokens
        self.index = 0
        self.first_line = first_line

    def done(self) -> bool:
        return self.index >= len(self.tokens)

    def peek(self) -> Token:
        return self.tokens[self.index]

    def next(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def line(self, token: Token) -> int:
        """The 1-based file line of a block token."""
        return self.first_line + (token.map[0] if token.map else 0)


def _merge_text(inlines: list[Inline]) -> Inlines:
    """Join neighbouring Text nodes (keeping the first one's line)."""
    merged: list[Inline] = []
    run: list[Text] = []

    def flush() -> None:
        if run:
            merged.append(
                run[0] if len(run) == 1 else Text("".join(t.text for t in run), run[0].line)
            )
            run.clear()

    for node in inlines:
        if isinstance(node, Text):
            if node.text:
                run.append(node)
            continue
        flush()
        merged.append(node)
    flush()
    return tuple(merged)


def _strip_leading(inlines: Inlines, count: int) -> Inlines:
    """Drop ``count`` characters (and then leading spaces) from the first Text node."""
    first = inlines[0]
    assert isinstance(first, Text)
    rest = first.text[count:].lstrip()
    return ((Text(rest, first.line),) if rest else ()) + inlines[1:]


_PINNED_RE = re.compile(r"\s*\{\s*\.fixed\s*\}\s*$")


def _pinned(inlines: Inlines) -> tuple[Inlines, bool]:
    """An option's text without a trailing ``{.fixed}``, and whether it had one (test versions
    keep such an option where it was written: "None of the above")."""
    if inlines and isinstance(inlines[-1], Text):
        last = inlines[-1]
        match = _PINNED_RE.search(last.text)
        if match:
            kept = last.text[: match.start()]
            return (*inlines[:-1], *((replace(last, text=kept),) if kept else ())), True
    return inlines, False


def _task_marker(inlines: Inlines) -> tuple[bool, Inlines] | None:
    """``(correct, rest)`` when an item starts with ``[ ]`` or ``[x]``, else None."""
    if not inlines or not isinstance(inlines[0], Text):
        return None
    text = inlines[0].text
    if len(text) < 3 or text[0] != "[" or text[2] != "]" or text[1] not in " xX":
        return None
    if len(text) > 3 and not text[3].isspace():
        return None
    return text[1] in "xX", _strip_leading(inlines, 3)


def _strip_answer_prefix(
    block: Block, answer_re: re.Pattern[str], words: tuple[str, ...]
) -> Paragraph | None:
    """The paragraph without its ``Answer:`` prefix (or the lesson language's word for it:
    ``Respuesta:``), or None when it has none."""
    if not isinstance(block, Paragraph) or not block.inlines:
        return None
    first = block.inlines[0]
    lowered = {word.casefold() for word in words}
    if isinstance(first, Text):
        match = answer_re.match(first.text)
        if match:
            return Paragraph(_strip_leading(block.inlines, match.end()), block.line)
        return None
    if isinstance(first, (Strong, Emph)):
        label = plain_text(first.children).strip().casefold()
        rest = block.inlines[1:]
        if label.endswith(":") and label[:-1].strip() in lowered:
            pass
        elif (
            label in lowered and rest and isinstance(rest[0], Text) and rest[0].text.startswith(":")
        ):
            rest = _strip_leading(rest, 1)
        else:
            return None
        if rest and isinstance(rest[0], Text):
            rest = _strip_leading(rest, 0)
        return Paragraph(tuple(rest), block.line)
    return None


def _split_pair(inlines: Inlines) -> tuple[Inlines, Inlines] | None:
    """Split ``term :: definition`` at the first ``::`` in top-level text."""
    for index, node in enumerate(inlines):
        if isinstance(node, Text) and "::" in node.text:
            before, _, after = node.text.partition("::")
            term = inlines[:index] + ((Text(before, node.line),) if before else ())
            definition = ((Text(after, node.line),) if after else ()) + inlines[index + 1 :]
            return _trim(term), _trim(definition)
    return None


def _trim(inlines: Inlines) -> Inlines:
    """Strip spaces at both ends of an inline sequence."""
    items = list(inlines)
    if items and isinstance(items[0], Text):
        items[0] = Text(items[0].text.lstrip(), items[0].line)
        if not items[0].text:
            items.pop(0)
    if items and isinstance(items[-1], Text):
        items[-1] = Text(items[-1].text.rstrip(), items[-1].line)
        if not items[-1].text:
            items.pop()
    return tuple(items)


def _block_name(block: Block) -> str:
    names = {
        "codeblock": "code block",
        "quote": "quote",
        "table": "table",
        "image": "picture",
        "paragraph": "paragraph",
    }
    return names.get(block.kind, block.kind)


def iter_images(blocks: tuple[Block, ...]) -> Iterator[Image]:
    """Every image in ``blocks``, including inside divs, quotes and graded blocks."""
    return (block for block in iter_blocks(blocks) if isinstance(block, Image))
