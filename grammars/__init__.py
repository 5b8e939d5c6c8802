"""The .res grammar, shipped inside the wheel as the package data ``resdsl.grammars``."""
