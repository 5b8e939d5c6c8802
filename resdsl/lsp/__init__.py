"""``resdsl lsp``: a language server for ``.res`` files, over stdio (docs/editor.md).

One module per concern; only :mod:`resdsl.lsp.server` knows pygls, the others take the
analysis of a document and a position and answer in lsprotocol's types, so each can be
tested without a client:

    documents.py    the open documents, each checked with the unsaved text of the others
    text.py         positions: the front end's 1-based columns <-> the editor's code units
    diagnostics.py  every error of a file, as ``resdsl check`` reports it
    hover.py        shapes, parameters, multiply-adds and training memory under the cursor
    definition.py   ``use "file.res"`` -> the file; a base network -> where it is defined
    completion.py   the keywords the parser takes at the cursor, and the names that fit
    symbols.py      the outline: networks with their stem, stages and head
    actions.py      "did you mean X?" -> replace the word with X
    server.py       the pygls server that wires them to the protocol

Importing this package imports nothing but this docstring; ``resdsl lsp --help`` stays fast.
"""
