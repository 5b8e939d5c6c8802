"""The arithmetic and conditions of definitions: whole numbers, sizes, fractions, located errors."""

from __future__ import annotations

import pytest

from resdsl.lang.evaluate import EvaluationError, holds, names, value
from resdsl.lang.parse import parse


def expr(text: str):
    """The value of ``let x = TEXT`` in a block, as written."""
    (block,) = parse(f"block b {{ let x = {text} }}", "b.res").items
    return block.body[0].value


def cond(text: str):
    (block,) = parse(f'block b {{ require {text}: "no" }}', "b.res").items
    return block.body[0].condition


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("planes * 64 / 64 * 1", {"planes": 48}, 48),
        ("7 / 2", {}, 3),  # rounds down, as Python's //
        ("7 % 4", {}, 3),
        ("max(8, (c / 16 + 4) / 8 * 8)", {"c": 256}, 16),  # timm's make_divisible(c / 16, 8)
        ("max(8, (c / 16 + 4) / 8 * 8)", {"c": 64}, 8),
        ("log2(c)", {"c": 2048}, 11),
        ("log2(c)", {"c": 96}, 6),  # the floor
        ("(log2(c) + 1) / 2", {"c": 256}, 4),  # ECA's t for 256 channels (timm: int(9 / 2))
        ("(s if on == 1x1 else 1)", {"s": 2, "on": (1, 1)}, 2),
        ("(s if on == 1x1 else 1)", {"s": 2, "on": (3, 3)}, 1),
        ("0.3", {}, 0.3),
        ("-c + 3", {"c": 1}, 2),
    ],
)
def test_values(text, env, expected):
    assert value(expr(text), env) == expected


def test_conditions_compare_numbers_and_sizes():
    assert holds(cond("on == 1x1 or on == 3x3"), {"on": (3, 3)})
    assert not holds(cond("not (d > 0 and d < 1)"), {"d": 0.3})
    assert names(cond("width > 0 and groups != 1")) == {"width", "groups"}


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("planez", {"planes": 1}, "unknown name planez (names here: planes)"),
        ("c / 0", {"c": 4}, "4 / 0 divides by zero"),
        ("log2(c)", {"c": 0}, "log2 of 0: it needs a number of 1 or more"),
        ("on * 2", {"on": (3, 3)}, "a size cannot take part in *"),
    ],
)
def test_errors_are_located(text, env, message):
    with pytest.raises(EvaluationError) as caught:
        value(expr(text), env)
    assert caught.value.message == message
    assert caught.value.span.line == 1 and caught.value.span.column > 1


def test_sizes_compare_only_for_equality():
    with pytest.raises(EvaluationError, match="sizes compare only with == and !="):
        holds(cond("on < 3x3"), {"on": (1, 1)})
