"""Test versions A, B, C…: the same questions in other orders, each with its own key.

A version is the lesson model transformed: the options of choice questions, the definitions of
matching blocks and the items of ordering blocks are shuffled, and so is the order of the graded
blocks within each run of consecutive graded blocks (a "check for understanding"); the teaching
text keeps its order. The handout and key writers print a version like any lesson.

Every order comes from a SHA-256 of the seed, the version letter and the block's own text (never
its position or line), so a rebuild gives the same bytes, and editing one question moves no other
question or option. Pinned options (``{.fixed}``) keep the place they were written in; a block
with ``shuffle=false`` keeps its options and its place.

Fairness: a choice question's options are put in one order per lesson (from the seed and the
question), and version number *k* rotates that order by *k* places, so the right answer's letter
differs from version to version (for as many versions as the question has movable options).
Within one version, where the right letter falls is the hash's choice, so it is spread evenly on
average; :func:`letter_balance` measures it and the build warns about a version in which one
letter is right much more often than the others (more than the mean plus twice its spread), with
a ``--seed`` to try.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from coursepack.model import (
    Block,
    BulletList,
    Callout,
    CodeBlock,
    Columns,
    Div,
    Graded,
    Image,
    Lesson,
    Match,
    Order,
    Paragraph,
    Quote,
    Table,
    assert_never,
    block_inlines,
    iter_blocks,
    option_letter,
    plain_text,
    shuffled_order,
)
from coursepack.model import Question as QuestionBlock

#: At most this many versions (A … Z).
MAX_VERSIONS = 26


def version_letters(count: int) -> tuple[str, ...]:
    """The letters of ``count`` versions: A, B, C …"""
    return tuple(option_letter(index) for index in range(count))


def version_of(lesson: Lesson, letter: str, seed: int = 0) -> Lesson:
    """The lesson as version ``letter`` (A, B …) prints it, graded blocks renumbered 1..N."""
    index = version_letters(MAX_VERSIONS).index(letter)
    salt = f"{seed}\x1f{letter}"
    counter = _Counter()

    def redo(items: tuple[Block, ...]) -> tuple[Block, ...]:
        reordered = _shuffle_runs(items, salt)
        shuffled = (_shuffle_block(block, seed, index, salt) for block in reordered)
        return tuple(_renumber(block, counter) for block in shuffled)

    # In reading order, as the graded blocks were numbered: intro, then each section's blocks
    # and its topics'.
    intro = redo(lesson.intro)
    sections = []
    for section in lesson.sections:
        section_blocks = redo(section.blocks)
        topics = tuple(replace(topic, blocks=redo(topic.blocks)) for topic in section.topics)
        sections.append(replace(section, blocks=section_blocks, topics=topics))
    return replace(lesson, intro=intro, sections=tuple(sections))


def letter_balance(lesson: Lesson) -> Counter[str]:
    """How often each letter is the right answer of a single-answer choice question."""
    counts: Counter[str] = Counter()
    for block in lesson.graded():
        if isinstance(block, QuestionBlock) and block.is_multiple_choice and not block.select_all:
            right = next(i for i, option in enumerate(block.options) if option.correct)
            counts[option_letter(right)] += 1
    return counts


def unbalanced(lesson: Lesson) -> str:
    """The right letter that ``lesson`` (a version) favours too much, or ``""``.

    "Too much": more often than the mean count per letter plus twice its binomial spread, for a
    lesson of at least four single-answer questions.
    """
    counts = letter_balance(lesson)
    questions = sum(counts.values())
    widths = [
        len(block.options)
        for block in lesson.graded()
        if isinstance(block, QuestionBlock) and block.is_multiple_choice and not block.select_all
    ]
    if questions < 4 or not widths:
        return ""
    letters = round(sum(widths) / len(widths))
    mean = questions / letters
    bound = mean + 2 * math.sqrt(mean * (1 - 1 / letters))
    letter, most = counts.most_common(1)[0]
    return letter if most > bound else ""


# --------------------------------------------------------------------------- orders


def _order(key: str, count: int) -> list[int]:
    """``range(count)`` sorted by the SHA-256 of ``key`` and each index: stable, seeded."""
    return sorted(range(count), key=lambda i: hashlib.sha256(f"{key}\x1e{i}".encode()).digest())


def content_of(block: Block) -> str:
    """A block's own text (prompt, options, pairs, items), not its place or its line."""
    parts = [block.kind]
    for inner in iter_blocks((block,)):
        parts += [plain_text(inlines) for inlines in block_inlines(inner)]
        if isinstance(inner, CodeBlock):
            parts.append(inner.text)
    return "\x1f".join(parts)


def _shuffle_runs(items: tuple[Block, ...], salt: str) -> list[Block]:
    """``items`` with each run of two or more consecutive graded blocks in a version's order
    (pinned blocks, ``shuffle=false``, stay where they are); divs and quotes are entered."""
    out: list[Block] = []
    run: list[Graded] = []

    def flush() -> None:
        movable = [block for block in run if block.shuffle]
        ranked = sorted(
            movable, key=lambda b: hashlib.sha256(f"{salt}\x1d{content_of(b)}".encode()).digest()
        )
        it = iter(ranked)
        out.extend(block if not block.shuffle else next(it) for block in run)
        run.clear()

    for block in items:
        match block:
            case QuestionBlock() | Match() | Order():
                run.append(block)
                continue
            case Div() | Quote() | Callout():
                flush()
                out.append(replace(block, blocks=tuple(_shuffle_runs(block.blocks, salt))))
            case Columns():
                flush()
                out.append(_map_columns(block, lambda blocks: _shuffle_runs(blocks, salt)))
            case Paragraph() | BulletList() | Table() | Image() | CodeBlock():
                flush()
                out.append(block)
            case _:
                assert_never(block)
    flush()
    return out


def _map_columns(block: Columns, change) -> Columns:
    """``block`` with ``change`` applied to each column's blocks (in order, left to right)."""
    return replace(
        block, columns=tuple(replace(c, blocks=tuple(change(c.blocks))) for c in block.columns)
    )


class _Counter:
    """Numbers graded blocks 1..N in the order a version prints them."""

    def __init__(self) -> None:
        self.number = 0

    def next(self) -> int:
        self.number += 1
        return self.number


def _renumber(block: Block, counter: _Counter) -> Block:
    match block:
        case QuestionBlock() | Match() | Order():
            return replace(block, number=counter.next())
        case Div() | Quote() | Callout():
            return replace(block, blocks=tuple(_renumber(b, counter) for b in block.blocks))
        case Columns():
            return _map_columns(block, lambda blocks: [_renumber(b, counter) for b in blocks])
        case Paragraph() | BulletList() | Table() | Image() | CodeBlock():
            return block
        case _:
            assert_never(block)


def _shuffle_block(block: Block, seed: int, index: int, salt: str) -> Block:
    """One block's own options, definitions or items in the version's order."""
    match block:
        case QuestionBlock() if block.shuffle and block.options:
            return replace(block, options=_options(block, seed, index))
        case Match() if block.shuffle and len(block.pairs) >= 2:
            return replace(block, shown=_deranged(f"{salt}\x1d{content_of(block)}", block))
        case Order() if block.shuffle and len(block.items) >= 2:
            return replace(block, shown=_scrambled(f"{salt}\x1d{content_of(block)}", block))
        case Div() | Quote() | Callout():
            return replace(
                block, blocks=tuple(_shuffle_block(b, seed, index, salt) for b in block.blocks)
            )
        case Columns():
            return _map_columns(
                block, lambda blocks: [_shuffle_block(b, seed, index, salt) for b in blocks]
            )
        case (
            QuestionBlock()
            | Match()
            | Order()
            | Paragraph()
            | BulletList()
            | Table()
            | Image()
            | CodeBlock()
        ):
            return block
        case _:
            assert_never(block)


def _options(question: QuestionBlock, seed: int, index: int) -> tuple:
    """The options in the lesson's order for this question, rotated by the version's index;
    pinned options keep their written places."""
    movable = [i for i, option in enumerate(question.options) if not option.fixed]
    if len(movable) < 2:
        return question.options
    base = _order(f"{seed}\x1d{content_of(question)}", len(movable))
    turn = index % len(movable)
    rotated = base[turn:] + base[:turn]
    picks = iter(movable[i] for i in rotated)
    return tuple(
        option if option.fixed else question.options[next(picks)] for option in question.options
    )


def _deranged(key: str, block: Match) -> tuple[int, ...]:
    """A shown order of the definitions with none opposite its own term (the handout's rule,
    :func:`~coursepack.model.shuffled_order`, with the version's salt)."""
    return shuffled_order([plain_text(p.definition) for p in block.pairs], "derangement", key)


def _scrambled(key: str, block: Order) -> tuple[int, ...]:
    """A shown order of the items that is neither the right order nor a rotation of it."""
    return shuffled_order([plain_text(i.inlines) for i in block.items], "no-rotation", key)


def versions_of(lesson: Lesson, count: int, seed: int = 0) -> dict[str, Lesson]:
    """Every version of ``lesson``, by letter."""
    return {letter: version_of(lesson, letter, seed) for letter in version_letters(count)}


__all__: Sequence[str] = (
    "MAX_VERSIONS",
    "content_of",
    "letter_balance",
    "unbalanced",
    "version_letters",
    "version_of",
    "versions_of",
)
