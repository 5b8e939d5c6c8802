"""Identifier rules, shared by validate and codegen: one wording for each problem."""

from __future__ import annotations

import pytest

from resdsl.lang import names


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("resnet50", None),
        ("class", "is a Python keyword"),
        ("match", "is a Python keyword"),
        ("print", "is a Python builtin"),
        ("_x", "starts with an underscore, which Python reserves for private names"),
        ("résnet", "is not a Python identifier"),
        ("a-b", "is not a Python identifier"),
        ("ResNet", "would shadow a name the generated code uses"),
        ("conv3x3", "would shadow a name the generated code uses"),
    ],
)
def test_network_name_problems(name: str, problem: str | None) -> None:
    assert names.problem(name) == problem


def test_identifier_rules_alone_allow_the_module_names() -> None:
    assert names.identifier_problem("ResNet") is None
    assert names.problem("ResNet", taken=frozenset()) is None
