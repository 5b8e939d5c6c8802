"""The front end: ``.res`` text to resolved network descriptions, with located diagnostics.

    grammar.py       the Lark parser of grammars/res.lark (tables cached per user)
    parse.py         text -> AST (syntax.py), structure only; syntax_errors.py: every syntax error
    options.py       a statement's options folded into it, as parsing meets them
    load.py          a file and every file it uses -> Program; prelude.res, the bundled blocks
    definitions.py   the block definitions, derivations expanded, each checked (networkx)
    elaborate.py     one use of a definition -> its ops, wired (vocabulary.py: the layer words;
                     evaluate.py: the arithmetic and conditions)
    resolve.py       Program -> NetworkSpec (spec.py): families, derivations, defaults, rules;
                     scope.py (numbers), settings.py (input, classes, block, shortcut),
                     sections.py (stem and head), names.py (safe network names)
    limits.py        every limit on input, quoted by the messages and docs/language.md

No module here imports torch.
"""
