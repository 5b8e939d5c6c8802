"""Go to definition: from ``use "file.res"`` to the file, from a network's name to where it is
defined (the base of ``network r = cifar_resnet(n=3)``, in this file or a used one).

    >>> from resdsl.lsp.documents import Documents
    >>> (analysis,) = Documents().update("specs/resnet1202.res", 'use "cifar.res"\\n'
    ...     "network resnet1202 = cifar_resnet(n=200)\\n")
    >>> place = definition(analysis, 1, 25)
    >>> place.uri.endswith("/specs/cifar.res"), place.range.start
    (True, 1:8)
    >>> definition(analysis, 0, 7).uri.endswith("/specs/cifar.res")
    True

The ``use`` line is read from the text, so it answers while the document does not parse; a
name is looked up among the networks the document sees
(:func:`~resdsl.lsp.documents.visible_names`, which also answers while it does not).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from lsprotocol import types

from resdsl.lsp.documents import Analysis, key, uri
from resdsl.lsp.text import Text

# use "path": the path's characters, for the cursor test.
_USE = re.compile(r'^\s*use\s+"([^"\n]*)"')


def definition(analysis: Analysis, line: int, character: int, encoding: str = "utf-16"):
    """The location the name or ``use`` path at the position stands for, or None."""
    column = analysis.text.column(line, character, encoding)
    found = _USE.match(analysis.text.line(line))
    if found and found.start(1) - 1 <= column <= found.end(1) + 1:
        target = key(str(Path(analysis.path).parent / found.group(1)))
        if os.path.isfile(target):
            return types.Location(
                uri(target), types.Range(types.Position(0, 0), types.Position(0, 0))
            )
        return None
    word = analysis.text.word_at(line, column)
    if word is None:
        return None
    span = analysis.names.get(word[0])
    if span is None:
        return None
    source = analysis.checked.sources.get(span.file)
    text = Text.of(source) if source is not None else analysis.text
    if key(span.file) == key(analysis.path):
        text = analysis.text
    return types.Location(uri(span.file), text.range(span, encoding))
