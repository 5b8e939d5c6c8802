"""The words of the language, read from its grammar (``grammars/res.lark``) when first asked for.

    >>> "stage" in keywords(), "with" in keywords(), "conv" in keywords()
    (True, True, False)
    >>> "stage" in statement_keywords(), "stride" in statement_keywords()
    (True, False)

The highlighters (:mod:`resdsl.lexer`, the VS Code grammar under ``editors/vscode``) and the
language server's completion (:mod:`resdsl.lsp.completion`) take their keywords from here, so
a word added to the grammar is highlighted and offered without editing them.

NOTE: what counts. A keyword is a word the grammar spells out: a quoted literal of a rule
(``"with"``, ``"stride"``, ``"x"``) or a terminal defined as one (``STAGE: "stage"``).
Statement keywords are the latter: the words that start a statement (the grammar names them
so that the parser can resume at them after an error), and the few a definition's layer keeps
in its parse tree the same way (``if``, the flags ``bias`` and ``ceil``). Names the grammar
reads as ``NAME`` and the resolver gives meaning to (``basic``, ``conv``, ``A``) are not
keywords; they are the vocabulary (:func:`vocabulary`), taken from the tables the resolver
checks them against.
Nothing here imports Lark: the text is read with two regular expressions, which a test
checks against Lark's own terminals.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources

# "word" in a rule or a terminal's definition; a name-like word only (not "{" or "+").
_QUOTED = re.compile(r'"([A-Za-z_][A-Za-z0-9_]*)"')
# NAME: "word" alone on its line: a terminal that is one keyword.
_TERMINAL = re.compile(r'^([A-Z_][A-Z0-9_]*)(?:\.\d+)?\s*:\s*"([A-Za-z_][A-Za-z0-9_]*)"\s*$', re.M)
_COMMENT = re.compile(r"//[^\n]*")


def grammar_text() -> str:
    """The grammar as shipped in the package (``resdsl/grammars/res.lark`` once installed)."""
    return resources.files("resdsl.grammars").joinpath("res.lark").read_text("utf-8")


@functools.cache
def keywords() -> tuple[str, ...]:
    """Every word the grammar spells out, sorted."""
    return tuple(sorted(set(_QUOTED.findall(_COMMENT.sub("", grammar_text())))))


@functools.cache
def statement_keywords() -> tuple[str, ...]:
    """The words defined as terminals of their own: ``use``, ``network``, ``stage`` ..."""
    found = _TERMINAL.findall(_COMMENT.sub("", grammar_text()))
    return tuple(sorted({word for _, word in found}))


@dataclass(frozen=True)
class Vocabulary:
    """The names the resolver gives meaning to, where each may be written."""

    blocks: tuple[str, ...]  # after `block`: the prelude's definitions
    shortcuts: tuple[str, ...]  # after `shortcut`
    stem_layers: tuple[str, ...]  # first word of a line in `stem { ... }`
    head_layers: tuple[str, ...]  # ... in `head { ... }`
    stems: tuple[str, ...]  # `stem deep`: the prelude's named stems
    block_layers: tuple[str, ...] = ()  # a layer's word in a block definition: conv, bn, se ...

    @property
    def names(self) -> tuple[str, ...]:
        """Every one of them once, sorted."""
        every = (
            *self.blocks,
            *self.shortcuts,
            *self.stem_layers,
            *self.head_layers,
            *self.stems,
            *self.block_layers,
        )
        return tuple(sorted(set(every)))


@functools.cache
def vocabulary() -> Vocabulary:
    """The resolver's own tables (the prelude's blocks and stems, shortcut options, the layer
    words of stems, heads and definitions). A spec's own blocks are its names, not these.

    >>> vocabulary().shortcuts
    ('A', 'B', 'C', 'D', 'none')
    >>> "bottleneck" in vocabulary().blocks, vocabulary().head_layers, vocabulary().stems
    (True, ('avgpool', 'fc'), ('deep',))
    """
    from resdsl.lang import syntax as s
    from resdsl.lang.load import prelude
    from resdsl.lang.sections import POOLS
    from resdsl.lang.settings import SHORTCUTS
    from resdsl.lang.vocabulary import LAYERS

    items = prelude().items
    shortcut_blocks = {  # projection, zero_pad ...: a network's option picks them
        i.name.text
        for i in items
        if isinstance(i, s.BlockDef) and any(p.name.text == "out_planes" for p in i.params)
    }
    return Vocabulary(
        blocks=tuple(
            i.name.text
            for i in items
            if isinstance(i, s.BlockDef | s.BlockDerivation) and i.name.text not in shortcut_blocks
        ),
        shortcuts=tuple(SHORTCUTS),
        stem_layers=("conv", *POOLS),
        # The head is a global average pool then fc (resdsl.lang.sections.head_layers).
        head_layers=("avgpool", "fc"),
        stems=tuple(i.name.text for i in items if isinstance(i, s.StemDef)),
        block_layers=tuple(sorted(LAYERS)),
    )
