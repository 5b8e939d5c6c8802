"""The block definitions an imported spec carries for its channel gates, and their parameters.

    >>> draft = fit("se", [(256, 16), (512, 32), (2048, 128)], "", "after", "bn3", "se",
    ...             ("fc1", "fc2"), (True, True))
    >>> draft.formula, draft.params
    ('divisible', (('ratio', 16),))
    >>> print("\\n".join(definitions(draft, "bottleneck", "Bottleneck")[-3:-1]))
    # The SE-ResNet module (Hu et al. 2018, Fig. 3): SE after the bottleneck's last BN.
    block se_bottleneck as SEBottleneck = bottleneck with se after bn3

A gate's definition is written as specs/seresnet.res and specs/ecaresnet.res write theirs
(the same text, comments included, where the model's gate is the one they define, so that a
spec compiled, built and imported comes back byte for byte), with the layer names and
parameters read from the model: the squeezed width as timm's ``make_divisible(channels /
ratio, 8)`` or as SENet's ``channels // reduction`` (whichever gives every block's width; the
legacy SENet's first where both do), ECA's size from log2 of the channels or one size for
all. The block that holds it is the prelude's block with the gate inserted where the model
has it (``bottleneck with se after bn3``).
"""

from __future__ import annotations

from dataclasses import dataclass

_KINDS = {"se": ("SE", "SE"), "eca": ("ECA", "Eca")}  # (name in text, class prefix)
_NOUNS = {
    "basic": ("basic block", "bn2"),
    "bottleneck": ("bottleneck", "bn3"),
    "preact": ("pre-activation unit", None),
    "preact_bottleneck": ("pre-activation bottleneck", None),
}


@dataclass(frozen=True)
class GateDraft:
    """The gate of every block of a network, as its definition and insertion write it."""

    kind: str  # se, eca
    place: str  # after, before
    anchor: str  # the label of the block's layer it is inserted after or before
    label: str  # its module name in the block
    layers: tuple[str, ...]  # the names of its weighted layers
    biases: tuple[bool, ...]  # SE's convolutions: whether each has a bias
    formula: str  # divisible, floor (SE); log2, fixed (ECA)
    params: tuple[tuple[str, int], ...]  # the definition's parameters and their values


class NoFit(ValueError):
    """No formula of the language gives every block's gate width."""


def fit(kind: str, pairs: list[tuple[int, int]], cls: str, place: str, anchor: str,
        label: str, layers: tuple[str, ...], biases: tuple[bool, ...]) -> GateDraft:  # fmt: skip
    """The gate's definition that gives ``width`` for each ``(channels, width)``."""
    if kind == "se":
        formula, params = _fit_se(pairs, legacy=cls.startswith("timm.models.senet."))
    else:
        formula, params = _fit_eca(pairs)
    return GateDraft(kind, place, anchor, label, layers, biases, formula, params)


def divisible(channels: int, ratio: int) -> int:
    """timm's make_divisible(channels / ratio, 8), as the language computes it."""
    return max(8, (channels // ratio + 4) // 8 * 8)


def log2_size(channels: int, gamma: int, beta: int) -> int:
    """ECA's 1-d convolution size, as specs/ecaresnet.res computes it (log2 rounded down)."""
    t = (channels.bit_length() - 1 + beta) // gamma
    return max(3, t + 1 - t % 2)


def _fit_se(pairs: list[tuple[int, int]], legacy: bool) -> tuple[str, tuple]:
    c0, w0 = pairs[0]
    ratios = [16, *sorted(range(1, max(c for c, _ in pairs) + 1), key=lambda r: abs(r - c0 / w0))]
    forms = [
        ("divisible", "ratio", divisible),
        ("floor", "reduction", lambda c, r: c // r),
    ]
    for formula, name, width in forms[::-1] if legacy else forms:
        for r in ratios:
            if all(width(c, r) == w for c, w in pairs):
                return formula, ((name, r),)
    raise NoFit("squeezed widths that neither channels / ratio rounded to 8 nor rounded down give")


def _fit_eca(pairs: list[tuple[int, int]]) -> tuple[str, tuple]:
    choices = [(2, 1)] + [(g, b) for g in range(1, 5) for b in range(0, 5)]
    for gamma, beta in choices:
        if all(log2_size(c, gamma, beta) == k for c, k in pairs):
            return "log2", (("gamma", gamma), ("beta", beta))
    if len({k for _, k in pairs}) == 1:
        return "fixed", (("k", pairs[0][1]),)
    raise NoFit("1-d convolution sizes that no gamma and beta of log2 of the channels give")


def definitions(gate: GateDraft, base: str, base_cls: str) -> list[str]:
    """The lines of the gate's definition and of the block that holds it (a blank line
    between and after)."""
    lines = _gate_lines(gate)
    kind_text, prefix = _KINDS[gate.kind]
    noun, last_bn = _NOUNS[base]
    if gate.place == "after" and gate.anchor == last_bn:
        about = f"{kind_text} after the {noun}'s last BN"
        if gate.kind == "se":
            about = f"The SE-ResNet module (Hu et al. 2018, Fig. 3): {about}"
        elif gate.label == "se":
            about += ", where timm puts it (as `se`)"
    else:
        about = f"{kind_text} {gate.place} the {noun}'s {gate.anchor}"
    label = "" if gate.label == gate.kind else f"{gate.label}: "
    lines += [
        "",
        f"# {about}.",
        f"block {gate.kind}_{base} as {prefix}{base_cls} = {base} with {label}{gate.kind} "
        f"{gate.place} {gate.anchor}",
        "",
    ]
    return lines


def _gate_lines(gate: GateDraft) -> list[str]:
    params = ", ".join(f"{name} = {value}" for name, value in gate.params)
    if gate.kind == "eca":
        (conv,) = gate.layers
        head = [
            "# Efficient Channel Attention (Wang et al. 2020): the pooled channels gated by one "
            "1-D",
            "# convolution across them, its size growing with log2 of the channels (timm's "
            "EcaModule)."
            if gate.formula == "log2"
            else "# convolution across them, of one size in every block.",
            f"block eca({params}) as EcaModule {{",
        ]
        if gate.formula == "log2":
            head += [
                "    let t = (log2(channels) + beta) / gamma",
                "    let k = max(3, t + 1 - t % 2)  # the odd size at or above t, as timm rounds "
                "it",
            ]
        body = ["avgpool", f"{conv}: conv1d, k", "sigmoid"]
    else:
        fc1, fc2 = gate.layers
        bias1, bias2 = (", bias" if b else "" for b in gate.biases)
        head = [
            "# Squeeze-and-Excitation (Hu et al. 2018, Fig. 2): each channel pooled to one number, "
            "two 1x1",
            "# convolutions around a ReLU, and a sigmoid that rescales the channels (timm's "
            "SEModule).",
            f"block se({params}) as SEModule {{",
        ]
        if gate.formula == "divisible":
            head += [
                "    # timm's make_divisible(channels / ratio, 8): the squeezed width, to the "
                "nearest 8",
                "    let reduced = max(8, (channels / ratio + 4) / 8 * 8)",
            ]
        else:
            head[1] = "# convolutions around a ReLU, and a sigmoid that rescales the channels."
            head += [
                "    let reduced = channels / reduction  # rounded down, as SENet's own code",
                '    require reduced > 0: "SE squeezes {channels} channels by {reduction} to none"',
            ]
        body = ["avgpool", f"{fc1}: conv 1x1, reduced{bias1}", "relu",
                f"{fc2}: conv 1x1, channels{bias2}", "sigmoid"]  # fmt: skip
    return [
        *head,
        "    branch scale {",
        *(f"        {line}" for line in body),
        "    }",
        "    multiply scale",
        "}",
    ]
