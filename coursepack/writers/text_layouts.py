"""Set up WeasyPrint's Pango text layouts from a few shared objects instead of anew each time.

WeasyPrint 70 sets up every text layout (``weasyprint.text.line_break.Layout.setup``: each
measure of a word or a line while laying out, and again for each piece of text it draws) with
a new Pango context, a new font description, the OpenType features worked out again and, for
underlined text, the font's metrics asked of Pango again: about 1,300 layouts in a handout of
unamir.md and 1,800 in its key, from about 16 fonts and 2 contexts. :func:`install` replaces
``setup`` with the same steps, keeping, per font configuration, the contexts (by direction
and language), the font descriptions (by the style's font values), the metrics and the
feature strings. Pango copies a font description into each layout and nothing changes a
context after it is made, so every layout is the same as before and so is the PDF
(``tests/test_text_layouts.py``). Only WeasyPrint 70 is patched, and only while its ``setup``
is the one copied here (the names its code uses are compared); otherwise it is left alone.
"""

from __future__ import annotations

from typing import Any

_MARK = "_coursepack_shared_setup"
_CACHES = "_coursepack_layout_parts"
#: The names WeasyPrint 70.0's ``Layout.setup`` uses (its code's ``co_names``): another
#: ``setup`` is not the one copied below, and is kept.
_SETUP_NAMES = frozenset(
    (
        "FROM_UNITS",
        "LST_TO_ISO",
        "PANGO_DIRECTION",
        "ascent",
        "encode",
        "ffi",
        "first_line_direction",
        "font_config",
        "font_features",
        "font_map",
        "g_object_unref",
        "gc",
        "get",
        "get_font_description",
        "gobject",
        "isinstance",
        "items",
        "join",
        "language",
        "layout",
        "lower",
        "pango",
        "pango_attr_font_features_new",
        "pango_attr_list_insert",
        "pango_attr_list_new",
        "pango_context_get_metrics",
        "pango_context_set_base_dir",
        "pango_context_set_language",
        "pango_context_set_round_glyph_positions",
        "pango_font_map_create_context",
        "pango_font_metrics_get_ascent",
        "pango_font_metrics_get_strikethrough_position",
        "pango_font_metrics_get_strikethrough_thickness",
        "pango_font_metrics_get_underline_position",
        "pango_font_metrics_get_underline_thickness",
        "pango_font_metrics_unref",
        "pango_language_from_string",
        "pango_language_get_default",
        "pango_layout_new",
        "pango_layout_set_attributes",
        "pango_layout_set_auto_dir",
        "pango_layout_set_font_description",
        "setdefault",
        "str",
        "strikethrough_position",
        "strikethrough_thickness",
        "style",
        "underline_position",
        "underline_thickness",
        "unicode_to_char_p",
    )
)


def install() -> bool:
    """Replace ``Layout.setup`` with :func:`_shared_setup` (once); False if WeasyPrint has
    changed shape and its own is kept."""
    import weasyprint
    from weasyprint.text import line_break

    layout = getattr(line_break, "Layout", None)
    setup = getattr(layout, "setup", None)
    if setup is None:
        return False
    if getattr(setup, _MARK, False):
        return True
    code = getattr(setup, "__code__", None)
    if not weasyprint.__version__.startswith("70.") or code is None:
        return False
    if frozenset(code.co_names) != _SETUP_NAMES:
        return False
    layout.setup = _shared_setup()
    return True


def _parts(font_config: Any) -> tuple[dict, dict, dict, dict]:
    """The kept contexts, font descriptions, metrics and feature strings of ``font_config``
    (they live as long as it does: the contexts hold its font map)."""
    parts = font_config.__dict__.get(_CACHES)
    if parts is None:
        parts = font_config.__dict__[_CACHES] = ({}, {}, {}, {})
    return parts


def _kept(cache: dict, key: tuple, make: Any) -> Any:
    """``cache[key]``, made by ``make()`` the first time; made afresh each time for a key
    that cannot be hashed (a list inside a value: not seen from WeasyPrint 70's styles)."""
    try:
        value = cache.get(key)
    except TypeError:
        return make()
    if value is None:
        value = cache[key] = make()
    return value


def _shared_setup() -> Any:
    """WeasyPrint 70's ``Layout.setup`` with its Pango context, font description, metrics and
    feature string kept per font configuration (the same values, made once)."""
    from weasyprint.text.constants import LST_TO_ISO, PANGO_DIRECTION
    from weasyprint.text.ffi import FROM_UNITS, ffi, gobject, pango, unicode_to_char_p
    from weasyprint.text.line_break import font_features, get_font_description

    def setup(self: Any, style: Any) -> None:
        """Set up this layout for ``style``: WeasyPrint's steps, its shared parts kept."""
        self.style = style
        self.first_line_direction = 0
        font_config = style.font_config
        contexts, descriptions, metrics, features = _parts(font_config)

        override = style["font_language_override"]
        if override != "normal":
            lang = LST_TO_ISO.get(override.lower(), override)
        else:
            lang = style["lang"] or None
        direction = style["direction"]
        context_key = (direction, lang)

        def make_context() -> tuple[Any, Any]:
            context = ffi.gc(
                pango.pango_font_map_create_context(font_config.font_map), gobject.g_object_unref
            )
            pango.pango_context_set_round_glyph_positions(context, False)
            pango.pango_context_set_base_dir(context, PANGO_DIRECTION[direction])
            if not lang:
                return context, pango.pango_language_get_default()
            lang_p, _ = unicode_to_char_p(lang)
            language = pango.pango_language_from_string(lang_p)
            pango.pango_context_set_language(context, language)
            return context, language

        context, self.language = _kept(contexts, context_key, make_context)

        assert not isinstance(style["font_family"], str), "font_family should be a list"
        font_key = (
            tuple(style["font_family"]),
            style["font_style"],
            style["font_stretch"],
            style["font_weight"],
            style["font_size"],
            style["font_variant_caps"],
            style["font_variation_settings"],
        )
        description = _kept(descriptions, font_key, lambda: get_font_description(style))
        self.layout = ffi.gc(pango.pango_layout_new(context), gobject.g_object_unref)
        pango.pango_layout_set_auto_dir(self.layout, False)
        pango.pango_layout_set_font_description(self.layout, description)  # Pango copies it

        if style["text_decoration_line"] != "none":

            def make_metrics() -> tuple[float, float, float, float, float]:
                found = ffi.gc(
                    pango.pango_context_get_metrics(context, description, self.language),
                    pango.pango_font_metrics_unref,
                )
                return (
                    FROM_UNITS * pango.pango_font_metrics_get_ascent(found),
                    FROM_UNITS * pango.pango_font_metrics_get_underline_position(found),
                    FROM_UNITS * pango.pango_font_metrics_get_strikethrough_position(found),
                    FROM_UNITS * pango.pango_font_metrics_get_underline_thickness(found),
                    FROM_UNITS * pango.pango_font_metrics_get_strikethrough_thickness(found),
                )

            (
                self.ascent,
                self.underline_position,
                self.strikethrough_position,
                self.underline_thickness,
                self.strikethrough_thickness,
            ) = _kept(metrics, (context_key, font_key), make_metrics)
        else:
            self.ascent = None
            self.underline_position = None
            self.strikethrough_position = None

        feature_values = (
            style["font_kerning"],
            style["font_variant_ligatures"],
            style["font_variant_position"],
            style["font_variant_caps"],
            style["font_variant_numeric"],
            style["font_variant_alternates"],
            style["font_variant_east_asian"],
            style["font_feature_settings"],
        )

        def make_features() -> bytes:
            found = font_features(*feature_values)
            return ",".join(f"{key} {value}" for key, value in found.items()).encode()

        wanted = _kept(features, feature_values, make_features)
        if wanted:
            # As WeasyPrint does: one attribute per feature string, kept by the configuration.
            attr = font_config.font_features.setdefault(
                wanted, pango.pango_attr_font_features_new(wanted)
            )
            attr_list = pango.pango_attr_list_new()
            pango.pango_attr_list_insert(attr_list, attr)
            pango.pango_layout_set_attributes(self.layout, attr_list)

    setattr(setup, _MARK, True)
    return setup
