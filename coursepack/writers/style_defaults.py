"""Compute the CSS properties an element does not set by WeasyPrint's two plain rules, directly.

WeasyPrint computes each property of each element's style when it is first asked for
(``weasyprint.css.ComputedStyle.__missing__``), through one general path: cascaded value,
logical properties, ``var()``, ``inherit``/``initial``, text decorations, the page, math
functions. Most properties an element is asked for it does not set (27,000 of the handout's
and 36,000 of the key's computations for unamir.md); for those the general path comes down to
one of two answers, which :func:`install` gives before it:

- an inherited property: the parent's computed value, unless that value still holds a math
  function (a ``calc()`` with a percentage, solved per element: the general path does that);
- any other property whose initial value needs no computing: the initial value.

Properties with a rule of their own on that path are left to it: ``float``, ``display``,
``position``, ``page``, the physical properties that have a logical twin, text decorations
and custom properties; so is every property of the root element that inherits. The values are
those the general path stores, so every PDF is the same (``tests/test_style_defaults.py``).
Only WeasyPrint 70 is patched, and only while its ``__missing__`` uses the names it used
when this was written; otherwise it is left alone.
"""

from __future__ import annotations

from typing import Any

_MARK = "_coursepack_style_defaults"
#: The names WeasyPrint 70.0's ``ComputedStyle.__missing__`` uses (its code's ``co_names``).
_MISSING_NAMES = frozenset(
    (
        "COMPUTER_FUNCTIONS",
        "Exception",
        "INHERITED",
        "INITIAL_NOT_COMPUTED",
        "INITIAL_VALUES",
        "InvalidValues",
        "LOGGER",
        "PHYSICAL_FUNCTIONS",
        "Pending",
        "PercentageInMath",
        "append",
        "base_url",
        "cascaded",
        "check_math",
        "extend",
        "get",
        "isinstance",
        "parent_style",
        "replace",
        "resolve_math",
        "resolve_var",
        "serialize",
        "solve",
        "source_column",
        "source_line",
        "specified",
        "text_decoration",
        "tokens",
        "tuple",
        "type",
        "validate_non_shorthand",
        "warning",
    )
)


def install() -> bool:
    """Put the two plain rules before ``ComputedStyle.__missing__`` (once); False if
    WeasyPrint has changed shape and its own is kept."""
    import weasyprint
    from weasyprint import css

    style_class = getattr(css, "ComputedStyle", None)
    missing = getattr(style_class, "__missing__", None)
    if missing is None:
        return False
    if getattr(missing, _MARK, False):
        return True
    code = getattr(missing, "__code__", None)
    if not weasyprint.__version__.startswith("70.") or code is None:
        return False
    if frozenset(code.co_names) != _MISSING_NAMES:
        return False
    style_class.__missing__ = _plain_first(missing)
    return True


def _plain_first(general: Any) -> Any:
    """``general`` (WeasyPrint's ``__missing__``) with the two plain rules answered first."""
    from weasyprint.css.computed_values import PHYSICAL_FUNCTIONS
    from weasyprint.css.functions import check_math
    from weasyprint.css.properties import INHERITED, INITIAL_NOT_COMPUTED, INITIAL_VALUES

    def own_rule(key: str) -> bool:
        return (
            key in {"float", "display", "position", "page"}
            or key in PHYSICAL_FUNCTIONS
            or key.startswith(("text_decoration_", "__"))
        )

    inherited = frozenset(key for key in INHERITED if not own_rule(key))
    initial = frozenset(
        key
        for key, value in INITIAL_VALUES.items()
        if key not in INHERITED
        and key not in INITIAL_NOT_COMPUTED
        and not own_rule(key)
        and not check_math(value)
    )

    def __missing__(self: Any, key: str) -> Any:  # noqa: N807 (the dict hook it replaces)
        """The computed value of ``key``, stored: a plain rule, else WeasyPrint's path."""
        if key not in self.cascaded:
            if key in initial:
                value = self[key] = INITIAL_VALUES[key]
                return value
            parent = self.parent_style
            if key in inherited and parent is not None:
                value = parent[key]
                if not check_math(value):
                    self[key] = value
                    return value
        return general(self, key)

    setattr(__missing__, _MARK, True)
    return __missing__
