"""The table of outputs: every file a build can write, one line each.

Like Pandoc's ``Writers.hs`` and Sphinx's ``add_builder``: the build, the command line
(``--only``), the stamps, the watcher and the clean-up of temporary files all ask this table and
never name an output. To add an output, write one module with an
:class:`~coursepack.outputs.Output` (see ``docs/architecture.md``) and add it here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from coursepack.outputs import Output
from coursepack.writers import deck, handout, moodle, qti


class Registry:
    """Registered outputs in build order; names are unique, and suffixes within a scope."""

    def __init__(self, outputs: Iterable[Output]) -> None:
        self._outputs: tuple[Output, ...] = ()
        for output in outputs:
            self.add(output)

    def add(self, output: Output) -> None:
        """Register ``output``; a second output with its name, or with its suffix in its scope
        (a lesson's ``x-moodle.xml`` and a course's ``<slug>-moodle.xml`` may share one), is a
        bug."""
        for other in self._outputs:
            if other.name == output.name:
                raise ValueError(f"output {output.name!r} is registered twice")
            if other.suffix == output.suffix and other.scope == output.scope:
                raise ValueError(f"outputs {other.name!r} and {output.name!r} share a suffix")
        self._outputs += (output,)

    def __iter__(self):
        return iter(self._outputs)

    def __len__(self) -> int:
        return len(self._outputs)

    def get(self, name: str) -> Output:
        """The output called ``name`` (``KeyError`` when there is none)."""
        for output in self._outputs:
            if output.name == name:
                return output
        raise KeyError(name)

    def words(self) -> tuple[str, ...]:
        """The words ``--only`` and ``exports:`` accept, in table order."""
        return tuple(dict.fromkeys(output.word for output in self._outputs))

    def default_words(self) -> tuple[str, ...]:
        """The words a plain build writes."""
        return tuple(dict.fromkeys(o.word for o in self._outputs if o.default))

    def export_words(self) -> tuple[str, ...]:
        """The words that only ``--only`` or ``exports:`` turn on."""
        defaults = set(self.default_words())
        return tuple(word for word in self.words() if word not in defaults)

    def endings(self) -> str:
        """A regular expression (an alternation) that every output's file name ends with."""
        return "|".join(f"(?:{output.suffix_pattern})" for output in self._outputs)

    def is_output_name(self, name: str) -> bool:
        """True when a file called ``name`` is one a build writes (any output, any variant)."""
        return re.search(f"(?:{self.endings()})$", name) is not None

    def of_scope(self, scope: str) -> Sequence[Output]:
        """The outputs written once per lesson (``lesson``) or once per course (``course``)."""
        return tuple(output for output in self._outputs if output.scope == scope)


#: The outputs, in the order a lesson's progress line and the summary list them.
OUTPUTS = Registry(
    [
        handout.HANDOUT,
        handout.KEY,
        deck.SLIDES,
        handout.HANDOUT_VERSIONS,
        handout.KEY_VERSIONS,
        handout.ANSWER_SHEET,
        moodle.MOODLE,
        qti.QTI,
        handout.PACK,
        handout.PACK_KEY,
        moodle.MOODLE_BANK,
        qti.QTI_BANK,
    ]
)
