"""coursepack: one Markdown lesson becomes a handout PDF, an answer key PDF and a PowerPoint deck.

Stages: ``reader`` (Markdown → :mod:`coursepack.model`), ``check`` (diagnostics with
``path:line``), ``writers`` (one per output). ``cli.py`` at the project root wires them together.
"""

__version__ = "0.1.0"
