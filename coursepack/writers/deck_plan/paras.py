"""Lesson → paragraphs: the deck's text for inlines, blocks, speaker notes and graded blocks.

Every walker here matches every :data:`~coursepack.model.Inline` and
:data:`~coursepack.model.Block` kind and ends in ``assert_never``, so a new node kind fails
the type check (and loudly at run time) instead of silently vanishing from the slides.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace

from coursepack import code, formulas
from coursepack.messages import Catalogue, catalogue
from coursepack.model import (
    Block,
    BulletList,
    Callout,
    Cloze,
    Code,
    CodeBlock,
    Columns,
    Div,
    Emph,
    Image,
    Inlines,
    LineBreak,
    Link,
    ListItem,
    Match,
    Math,
    Order,
    Paragraph,
    Question,
    Quote,
    Strong,
    Subscript,
    Superscript,
    Table,
    Text,
    assert_never,
    link_allowed,
    shows,
)
from coursepack.writers.deck_plan.slides import Para, Run, clean

# --------------------------------------------------------------------------- inlines → runs


def runs_of(inlines: Inlines, bold: bool = False, italic: bool = False) -> tuple[Run, ...]:
    """Slide runs for inlines: cloze answers bold, code monospace, line breaks ``\\n``."""
    out: list[Run] = []
    for node in inlines:
        match node:
            case Text():
                out.append(Run(clean(node.text), bold, italic))
            case Code():
                out.append(Run(clean(node.text), bold, italic, mono=True))
            case Cloze() if node.content:  # an answer with formulas or sub/superscripts
                out.extend(runs_of(node.content, True, italic))
            case Cloze():
                out.append(Run(clean(node.answer), True, italic))
            case Math():
                tex = clean(node.tex.strip())
                linear = clean(formulas.linear(tex, node.display))
                out.append(Run(linear, bold, italic, math=tex, display=node.display))
            case Subscript():
                out.append(Run(clean(node.text), bold, italic, script="sub"))
            case Superscript():
                out.append(Run(clean(node.text), bold, italic, script="sup"))
            case LineBreak():
                out.append(Run("\n", bold, italic))
            case Strong():
                out.extend(runs_of(node.children, True, italic))
            case Emph():
                out.extend(runs_of(node.children, bold, True))
            case Link():
                href = clean(node.href) if link_allowed(node.href) else ""
                out.extend(replace(r, href=href) for r in runs_of(node.children, bold, italic))
            case _:
                assert_never(node)
    return _merge(out)


def _merge(runs: Iterable[Run]) -> tuple[Run, ...]:
    merged: list[Run] = []
    for run in runs:
        if not run.text:
            continue
        if merged and not run.math and replace(merged[-1], text="") == replace(run, text=""):
            merged[-1] = replace(merged[-1], text=merged[-1].text + run.text)
        else:
            merged.append(run)
    return tuple(merged)


def _words(t: Catalogue | None) -> Catalogue:
    """The lesson's message catalogue, English when none is given (tests, old callers)."""
    return t if t is not None else catalogue("en")


def readable(inlines: Inlines) -> str:
    """Inlines as the notes show them: formulas as one-line text (``x² + 3x − 4 = 0``)."""
    return "".join(run.text for run in runs_of(inlines))


def paragraph_para(block: Paragraph) -> Para:
    """A paragraph's slide text; one that is a single display formula is a "formula" para."""
    runs = runs_of(block.inlines)
    if len(runs) == 1 and runs[0].math and runs[0].display:
        return Para(runs, 0, "formula")
    return Para(runs, 0, "plain")


# --------------------------------------------------------------------------- blocks → notes


def _table_lines(table: Table) -> list[str]:
    """A table as plain lines, one a row, cells joined by " | "."""
    return [
        " | ".join(clean(readable(c.inlines)) for c in row) for row in (table.header, *table.rows)
    ]


def notes_lines(blocks: Sequence[Block], prefix: str = "", t: Catalogue | None = None) -> list[str]:
    """Speaker-notes paragraphs for blocks (plain text; lists as "- " lines)."""
    t = _words(t)
    lines: list[str] = []

    def item_lines(item: ListItem, depth: int) -> None:
        lines.append("  " * depth + "- " + clean(readable(item.inlines)))
        for child in item.children:
            item_lines(child, depth + 1)

    for block in blocks:
        match block:
            case Paragraph():
                lines.append(clean(readable(block.inlines)))
            case BulletList():
                for item in block.items:
                    item_lines(item, 0)
            case CodeBlock():
                lines.extend(clean(block.text).splitlines())
            case Quote() | Div():
                # a note's own audience divs are all read out: notes are for the teacher
                lines.extend(notes_lines(block.blocks, t=t))
            case Callout():
                lines.extend(notes_lines(block.blocks, f"{callout_label(block, t)}: ", t))
            case Columns():
                lines.extend(notes_lines(block.blocks, t=t))
            case Table():
                lines.extend(_table_lines(block))
            case Image():
                lines.append(t("image_notes", alt=clean(block.alt)))
            case Question() | Match() | Order():
                # a graded block in a notes or teacher div is the answer key's, not the
                # speaker's: the notes leave it out
                pass
            case _:
                assert_never(block)
    if prefix and lines:
        lines[0] = prefix + lines[0]
    return [line for line in lines if line.strip()]


def div_notes(div: Div, t: Catalogue | None = None) -> list[str]:
    """The notes a notes or teacher div gives ("Teacher note: " before a teacher's)."""
    t = _words(t)
    prefix = t("teacher_note_notes") if div.audience == "teacher" else ""
    return notes_lines(div.blocks, prefix, t)


# --------------------------------------------------------------------------- blocks → paras


def list_paras(
    items: Sequence[ListItem], level: int, ordered: bool, start: int, builds: bool = False
) -> list[Para]:
    """A list's items as bullets (or numbered options), sub-lists a level down (at most 2);
    ``builds``: each item appears on a click (its sub-items with it)."""
    out: list[Para] = []
    for n, item in enumerate(items, start):
        out.append(
            Para(
                runs_of(item.inlines),
                min(level, 2),
                "option" if ordered else "bullet",
                f"{n}." if ordered else "",
                builds=builds,
            )
        )
        out.extend(list_paras(item.children, level + 1, item.ordered_children, 1, builds))
    return out


def quote_paras(blocks: Sequence[Block], level: int = 0, t: Catalogue | None = None) -> list[Para]:
    """A block quote's paragraphs, in italics; a quote in a quote goes a level down. A
    picture is its alt text, a callout its heading, in the lesson's language (``t``)."""
    t = _words(t)
    out: list[Para] = []
    for block in blocks:
        match block:
            case Paragraph():
                out.append(Para(runs_of(block.inlines, italic=True), level, "quote"))
            case BulletList():
                for p in list_paras(block.items, level, block.ordered, block.start):
                    out.append(
                        replace(
                            p, runs=tuple(replace(r, italic=True) for r in p.runs), style="quote"
                        )
                    )
            case Quote():
                out.extend(quote_paras(block.blocks, min(level + 1, 2), t))
            case CodeBlock():
                out.extend(code_paras(block))
            case Table():
                # a text frame holds no table: its rows as quoted lines
                out.extend(
                    Para((Run(line, italic=True),), level, "quote") for line in _table_lines(block)
                )
            case Image():
                alt = t("image_notes", alt=clean(block.alt))
                out.append(Para((Run(alt, italic=True),), level, "quote"))
            case Div():
                if shows(block, "slide"):
                    out.extend(quote_paras(block.blocks, level, t))
            case Callout():
                label = callout_label(block, t)
                out.append(Para((Run(label, bold=True, italic=True),), level, "quote"))
                out.extend(quote_paras(block.blocks, level, t))
            case Columns():
                out.extend(quote_paras(block.blocks, level, t))
            case Question() | Match() | Order():
                out.extend(quote_paras(block.prompt, level, t))
            case _:
                assert_never(block)
    return out


def code_paras(block: CodeBlock) -> list[Para]:
    """A code block's lines in monospace, highlighted by token kind, kept together (the
    planner keeps a block on one slide); leading spaces kept, tabs as four spaces."""
    paras = []
    for i, line in enumerate(code.lines(clean(block.text).rstrip("\n"), block.info)):
        runs = tuple(
            Run(t.text.replace("\t", "    "), mono=True, token=t.kind) for t in line if t.text
        )
        paras.append(Para(runs or (Run(" ", mono=True),), 0, "code", continued=i > 0))
    return paras


# --------------------------------------------------------------------------- graded blocks


def _prompt_paras(
    blocks: Sequence[Block], t: Catalogue | None = None
) -> tuple[list[Para], list[str]]:
    """Face paragraphs of a graded block's prompt, and the notes its divs carry."""
    t = _words(t)
    paras: list[Para] = []
    notes: list[str] = []
    for block in blocks:
        match block:
            case Paragraph():
                paras.append(paragraph_para(block))
            case BulletList():
                paras.extend(list_paras(block.items, 0, block.ordered, block.start))
            case Quote():
                paras.extend(quote_paras(block.blocks, 0, t))
            case CodeBlock():
                paras.extend(code_paras(block))
            case Table():
                # the question's slide is one text frame: the table's rows as lines
                paras.extend(Para((Run(line),), 0, "plain") for line in _table_lines(block))
            case Image():
                text = t("image_notes", alt=clean(block.alt))
                paras.append(Para((Run(text, italic=True),), 0, "plain"))
            case Div():
                if shows(block, "slide"):
                    inner, more = _prompt_paras(block.blocks, t)
                    paras.extend(inner)
                    notes.extend(more)
                elif shows(block, "notes"):
                    notes.extend(div_notes(block, t))
            case Callout():
                inner, more = callout_paras(block, t)
                paras.extend(inner)
                notes.extend(more)
            case Columns():  # one text frame: the columns one after the other
                inner, more = _prompt_paras(block.blocks, t)
                paras.extend(inner)
                notes.extend(more)
            case Question() | Match() | Order():
                # check forbids a graded block inside another: show its prompt at least
                inner, more = _prompt_paras(block.prompt, t)
                paras.extend(inner)
                notes.extend(more)
            case _:
                assert_never(block)
    return paras, notes


def callout_paras(block: Callout, t: Catalogue | None = None) -> tuple[list[Para], list[str]]:
    """A callout's face: its label in bold, then its text; and the notes its divs carry."""
    inner, notes = _prompt_paras(block.blocks, t)
    label = callout_label(block, t)
    return [Para((Run(label, bold=True),), 0, "plain"), *inner], notes


def callout_label(block: Callout, t: Catalogue | None = None) -> str:
    """A callout's heading: its title, else its style in the lesson's language ("Nota")."""
    return clean(block.title or _words(t)(f"callout_{block.style}"))


def model_answer(block: Question, t: Catalogue | None = None) -> list[Para]:
    """An open question's model answer as its slide reveals it, labelled in the lesson's
    language ("Model answer: …"); empty when it has none. (The other graded blocks reveal
    marks beside their lines: :func:`answer_marks`.)"""
    t = _words(t)
    paras, _ = _prompt_paras(block.answer, t)
    if not paras:
        return []
    first = paras[0]
    label = t("model_answer")
    if first.style != "plain":  # a list or quote: the label on a line of its own
        return [Para((Run(label.rstrip(), bold=True),), 0, "plain"), *paras]
    return [replace(first, runs=(Run(label, bold=True), *first.runs)), *paras[1:]]


def answer_marks(
    block: Question | Match | Order, t: Catalogue | None = None
) -> dict[str, str | None]:
    """The lines of a graded block's face the answer reveal marks, by their prefix ("A.",
    "1."): every option of a question (``""`` on a correct one: a tick; None: no mark), every
    item of an ordering (its place in the right order, "1", "2"…) and every term of a
    matching (the letter of its definition). A line named here gets room for its mark."""
    t = _words(t)
    match block:
        case Question():
            return {
                f"{t.letter(i)}.": "" if o.correct else None for i, o in enumerate(block.options)
            }
        case Match():
            letter_of = {pair: t.letter(pos) for pos, pair in enumerate(block.definition_order)}
            return {f"{i + 1}.": letter_of[i] for i in range(len(block.pairs))}
        case Order():
            return {
                f"{t.letter(pos)}.": str(item + 1) for pos, item in enumerate(block.shown_order)
            }
        case _:
            assert_never(block)


def graded_title(
    block: Question | Match | Order,
    t: Catalogue | None = None,
    topic: str = "",
    part: tuple[int | str, int | str] | None = None,
) -> str:
    """ "Check for understanding: Question 3 (2 points)", in the lesson's language; with
    ``topic``, the topic's name instead of "Check for understanding" (a topic that opens with
    a question has no slide of its own to show its name). ``part`` (slide, slides) names one
    of a question's several slides in words, "Question 3, slide 1 of 2 (2 points)": a
    topic's "(1/2)" beside "(2 points)" would read as half a point.

    A topic that only names the question word ("Question", "Questions 1-3") is left out, so
    no title reads "Question: Question 1"; a topic ending in a question or exclamation mark
    takes no colon after it ("Why did it fail? Question 2")."""
    t = _words(t)
    # no-break spaces keep "Question 3" and "(2 points)" on one line when the title wraps
    question = t("question_number", n=block.number).replace(" ", "\u00a0")
    if part is not None:
        question = t("question_part", question=question, n=part[0], total=part[1])
    points = t("points", n=block.points).replace(" ", "\u00a0")
    topic = topic.strip().rstrip(":：").rstrip()
    if not topic or _names_questions(topic, t):
        key = "question_title" if topic else "check_title"
        return t(key, question=question, points=points)
    key = "topic_asks_question_title" if topic[-1] in _ASKS else "topic_question_title"
    return t(key, topic=topic, question=question, points=points)


# a topic ending in one of these asks or exclaims: no colon after it (Greek asks with ';')
_ASKS = frozenset("?!¿¡؟;\u037e")
_NOT_WORD = re.compile(r"[\W\d_]+")


def _names_questions(topic: str, t: Catalogue) -> bool:
    """True when ``topic`` is only the word for a question ("Question", "Questions 1–3",
    "Preguntas"): numbers and punctuation aside, one of the catalogue's forms of it."""
    words = _NOT_WORD.sub(" ", topic).casefold().split()
    if not words:
        return False
    forms = {t("questions", n=n).casefold() for n in (0, 1, 2, 3, 11, 100)}
    forms.add(_NOT_WORD.sub(" ", t("question_number", n=1)).strip().casefold())
    return " ".join(words) in forms


def graded_face_and_notes(
    block: Question | Match | Order, t: Catalogue | None = None
) -> tuple[list[Para], list[str]]:
    """What a graded block shows on its slide, and the answers for the speaker notes."""
    t = _words(t)
    paras, extra = _prompt_paras(block.prompt, t)
    notes: list[str] = []
    match block:
        case Question():
            if block.options:
                if block.select_all:
                    paras.append(Para((Run(t("select_all"), italic=True),), 0, "plain"))
                correct = []
                for i, option in enumerate(block.options):
                    paras.append(Para(runs_of(option.inlines), 0, "option", f"{t.letter(i)}."))
                    if option.correct:
                        correct.append(f"{t.letter(i)} — {clean(readable(option.inlines))}")
                notes.append(t("notes_answer", n=len(correct)) + "; ".join(correct))
            else:
                answer = notes_lines(block.answer, t=t)
                if answer:
                    notes.append(t("model_answer") + answer[0])
                    notes.extend(answer[1:])
        case Match():
            texts = [clean(readable(p.definition)) for p in block.pairs]
            order = block.definition_order
            letter_of = {pair_index: t.letter(pos) for pos, pair_index in enumerate(order)}
            paras.append(Para((Run(t("terms"), bold=True),), 0, "label"))
            for i, pair in enumerate(block.pairs):
                paras.append(Para(runs_of(pair.term), 0, "option", f"{i + 1}."))
            paras.append(Para((Run(t("definitions"), bold=True),), 0, "label"))
            for pos, pair_index in enumerate(order):
                pair = block.pairs[pair_index]
                paras.append(Para(runs_of(pair.definition), 0, "option", f"{t.letter(pos)}."))
            notes.append(
                t("notes_answer", n=len(block.pairs))
                + ", ".join(f"{i + 1} — {letter_of[i]}" for i in range(len(block.pairs)))
            )
            for i, pair in enumerate(block.pairs):
                notes.append(f"{i + 1}. {clean(readable(pair.term))} — {letter_of[i]}. {texts[i]}")
        case Order():
            texts = [clean(readable(item.inlines)) for item in block.items]
            order = block.shown_order
            letter_of = {item_index: t.letter(pos) for pos, item_index in enumerate(order)}
            for pos, item_index in enumerate(order):
                paras.append(
                    Para(runs_of(block.items[item_index].inlines), 0, "option", f"{t.letter(pos)}.")
                )
            notes.append(t("correct_order") + ", ".join(letter_of[i] for i in range(len(texts))))
            notes.extend(f"{i + 1}. {letter_of[i]} — {t}" for i, t in enumerate(texts))
        case _:
            assert_never(block)
    return paras, notes + extra
