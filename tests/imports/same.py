"""Holding an imported spec to its model: the spec's network, given the model's weights under
its own names, computes what the model computes (and counts the parameters torch counts)."""

from __future__ import annotations

import re

import torch

import resdsl


def assert_computes_the_same(model, text: str, renames: tuple[tuple[str, str], ...] = ()) -> None:
    """Load ``model``'s state dict (keys renamed by the regular expressions ``renames``; an
    SE's linear weights reshaped to its 1x1 convolutions') into the spec's module, strictly,
    and compare the two in eval mode on one random batch, batch norm's statistics made
    non-trivial first so that a misplaced BN shows."""
    torch.manual_seed(0)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 1.5)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.5, 0.5)
    built = resdsl.build(text)
    wanted = built.state_dict()
    state = {}
    for key, value in model.state_dict().items():
        for pattern, replacement in renames:
            key = re.sub(pattern, replacement, key)
        state[key] = value.reshape(wanted[key].shape) if key in wanted else value
    built.load_state_dict(state, strict=True)
    net = resdsl.network(text)
    assert resdsl.stats(text).params == sum(p.numel() for p in model.parameters())
    x = torch.randn(2, *net.input)
    model.eval(), built.eval()
    with torch.no_grad():
        torch.testing.assert_close(built(x), model(x), rtol=1e-4, atol=1e-5)
