"""Every limit resdsl puts on what it reads, in one place, so the messages and the docs agree.

    >>> MAX_SIZE, MAX_ERRORS_SHOWN, MAX_NAME_LENGTH, MAX_SPEC_BYTES
    (1048576, 50, 64, 262144)

Each is far beyond any ResNet yet small enough that an input at the limit is checked in
milliseconds and its error report fits a screen: a spec that crosses one gets a located
error that states the limit, never a hang, a flood or a crash deep inside Python. They are
documented in docs/language.md ("Errors").
"""

from __future__ import annotations

# Any size, written or derived (channels after an expansion, a padded input): resnet1202
# has 200 blocks a stage and ResNet-50's widest map is 2,048 channels.
MAX_SIZE = 1 << 20
# Blocks in one network, all stages together.
MAX_BLOCKS = 10_000
# Digits of a number as written: beyond this it cannot be a size, and it is not converted
# (Python refuses to convert an int of more than 4,300 digits at all).
MAX_DIGITS = 20
# Levels of nested arithmetic (`- - - 1`, `1 + 1 + ... + 1`); parentheses alone do not count.
MAX_NESTING = 100
# A network's name becomes a Python function and the file NAME.py (with a temporary
# .NAME.py.XXXXXXXX.tmp beside it); file systems allow 255 bytes.
MAX_NAME_LENGTH = 64
# Derivations on the way from a network to the body it comes down to (`network b = a` ...).
MAX_DERIVATION_DEPTH = 100
# Bytes read for one spec, itself and the files it uses together: the largest bundled spec is
# under 1 KiB, and 256 KiB of the worst text (a stray control byte on every line) is checked
# in about a second.
MAX_SPEC_BYTES = 256 << 10
# Files one spec loads, itself and everything it uses, directly or not.
MAX_FILES = 1_000
# Errors printed per report; the rest are counted in one closing line.
MAX_ERRORS_SHOWN = 50
# Characters of a source line an excerpt shows; a longer line is cut around the caret.
MAX_EXCERPT_WIDTH = 120
