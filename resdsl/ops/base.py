"""The base of the op table: what every operation answers, and the helpers they share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

Shape = tuple[int, ...]
Pair = tuple[int, int]
# Which Convention flag counts an op's operations (see resdsl.ir.costs.Convention).
Counted = Literal["always", "bn", "relu", "pool", "add", "never"]
# How the paper's figures draw it: its own box, folded into the box before it (BN and ReLU
# are part of "3x3 conv, 64" in Fig. 3), the small "+" circle, or the bare input caption.
Drawn = Literal["box", "folded", "circle", "caption"]


class Op:
    """What every operation answers. Subclasses are frozen dataclasses of its parameters."""

    __slots__ = ()
    kind: ClassVar[str]  # the name ``resdsl ir`` and ``--per-layer`` print
    counted: ClassVar[Counted] = "never"
    # What "a layer with weights" drove before it was split in three:
    counts_in_depth: ClassVar[bool] = (
        False  # conv, fc: a layer of the paper's depth (on the main path)
    )
    shown: ClassVar[bool] = False  # its own box in Fig. 3 and its own entry in Table 1
    counts_activations: ClassVar[bool] = False  # pycls's "acts": its output elements are counted
    pool: ClassVar[bool] = False  # a pooling window (Table 1 lists the stem's under conv2_x)
    drawn: ClassVar[Drawn] = "box"
    keeps_input: ClassVar[bool] = False  # autograd saves its input for backward
    keeps_output: ClassVar[bool] = False  # ... or its output
    flattens: ClassVar[bool] = False  # reads a (C, 1, 1) map as a (C,) vector
    # The head's global pool: where a generated module's forward_features ends and its
    # forward_head begins (timm's contract: the features are the map before pooling).
    pools_globally: ClassVar[bool] = False
    # Training memory (resdsl.memory), measured on torch's saved tensors and allocations:
    in_place: ClassVar[bool] = False  # writes its output over its first input (ReLU, out += x)
    view: ClassVar[bool] = False  # its output is a view of its first input: nothing allocated
    lowers: ClassVar[bool] = False  # bf16 autocast casts its input and weights to bf16 (conv, fc)
    # The source of a helper class its torch() names (a generated module defines it once),
    # written against the generated module's imports: torch, nn, F (torch.nn.functional), Tensor.
    helper_source: ClassVar[str | None] = None

    def shape(self, inputs: Sequence[Shape]) -> Shape | None:
        """The output shape, or None where the op cannot apply (a window larger than its input)."""
        return inputs[0]

    def params(self) -> int:
        """Learnable parameters (batch norm's running statistics are buffers, not these)."""
        return 0

    def macs(self, inputs: Sequence[Shape], out: Shape) -> int:
        """Multiply-adds (conv, fc) or elementwise operations (the rest). Every op states its
        own: one without a formula fails loudly rather than counting as free."""
        raise NotImplementedError(f"no cost formula for op {self.kind!r}")

    def extra_saved(self, out: Shape, inputs: Sequence[Shape] | None = None) -> int:
        """Elements autograd keeps beyond its input or output (max pool's argmax indices).

        ``inputs`` are the input shapes, which an op whose saved tensor is sized by its input
        needs (blur pool's padded copy); ops sized by their output ignore them."""
        return 0

    def extra_saved_itemsize(self, itemsize: int, kernels: str) -> int:
        """Bytes per :meth:`extra_saved` element, given its input's ``itemsize`` and whose
        ``kernels`` run the step (``cuda`` or ``cpu``): int64 indices by default."""
        return 8

    def stats_saved(self) -> int:
        """fp32 elements it keeps for backward whatever the batch (batch norm's per-channel
        mean and inverse standard deviation)."""
        return 0

    def buffer_bytes(self) -> int:
        """Bytes of its buffers, state that is not a parameter (batch norm's running statistics)."""
        return 0

    def kept_params(self) -> int:
        """Parameters its backward reads (for an op that ``lowers``, the bf16 copies autocast
        made of them stay alive until then)."""
        return self.params()

    def made_weight(self) -> int:
        """Elements of a weight its forward computes from its parameters for its convolution
        (weight standardisation's normalised copy): made in fp32, kept for backward (under bf16
        autocast its bf16 copy is kept instead), and gone back through in the backward, one
        more weight-sized fp32 tensor on the way to the parameter's gradient."""
        return 0

    def buffer_weight(self) -> int:
        """Elements of a buffer its convolution reads as its weight (blur pool's fixed filter).
        Autocast caches its casts of parameters only, so under bf16 autocast each call makes a
        bf16 copy of the buffer, which the convolution keeps for backward."""
        return 0

    def runs_in_fp32(self, kernels: str) -> bool:
        """Whether bf16 autocast runs it in fp32 on ``kernels`` (``cuda`` or ``cpu``): autocast's
        fp32 list there casts a bf16 input up to an fp32 copy, and its output is fp32."""
        return False

    def parts(self, inputs: Sequence[Shape]) -> tuple[tuple[Op, Shape], ...]:
        """The autograd steps it is made of, each an op with its output shape, where the memory
        replay must see them apart (blur pool: a padding, then a convolution; each keeps, casts
        and frees its own); ``()`` for an op that is one step."""
        return ()

    def grad_steps(self, inputs: Sequence[Shape], out: Shape) -> tuple[Shape, ...]:
        """Shapes of the tensors its backward allocates on the way to its input's gradient, in
        order, each freed once the next exists; the last is that gradient. ``()``: the output's
        gradient is passed on to every input unchanged (the addition).

        The first is made by the op's own autograd node, the rest by the nodes that follow it
        (option A's slices), after the output's gradient and the saved tensors are let go."""
        return (inputs[0],)

    def input_grads(self, inputs: Sequence[Shape], out: Shape) -> tuple[InputGrad, ...]:
        """How its backward makes each input's gradient, one :class:`InputGrad` per input.

        By default every input's is :meth:`grad_steps`: right for one input, and for the
        addition, which passes the output's gradient to both. An op whose inputs get different
        gradients (the product, the concatenation) answers here."""
        steps = self.grad_steps(inputs, out)
        return (InputGrad(steps[:1], steps[1:]),) * len(inputs)

    def problem(self, inputs: Sequence[Shape | None], block: int | None = None) -> str | None:
        """What is wrong with the inputs this op is given, in the user's words; None if fine.

        An input shape is None where an earlier op already failed: that one was reported.
        ``block`` is the index of the block the op belongs to, for messages that name it."""
        return None

    def label(self) -> str:
        """The op as the paper's figures label it (Fig. 3: ``3x3 conv, 128, /2``)."""
        return self.kind

    def table_entry(self, stride: bool = True) -> str:
        """The op as Table 1 writes it (``3x3, 128, stride 2``)."""
        return self.label()

    def torch(self, classes: str = "num_classes") -> str:
        """Its PyTorch constructor, for the generated module's stem and head."""
        raise NotImplementedError(f"{self.kind} has no PyTorch module of its own")

    def module(self) -> str:
        """Its PyTorch constructor inside a block's class, as torchvision's blocks write it
        (``conv3x3(inplanes, planes, stride)``); its fields may be Python source there."""
        return self.torch()

    def call(self, module: str, x: str) -> str:
        """The forward expression applying its module (``module``, the attribute :meth:`torch`
        built) to the expression ``x``."""
        return f"{module}({x})"

    def inline(self, x: str) -> str | None:
        """An expression computing it on ``x`` without a module, or None where it needs one."""
        return None

    def merge(self, inputs: Sequence[str]) -> str:
        """The expression combining the expressions ``inputs``, for an op of several inputs."""
        raise NotImplementedError(f"{self.kind} takes one input")


@dataclass(frozen=True, slots=True)
class InputGrad:
    """How an op's backward makes the gradient of one of its inputs (:mod:`resdsl.memory`).

    ``steps`` are the shapes its own autograd node allocates, in order, each freed once the
    next exists; the last is the gradient (``()``: the output's gradient itself, passed on).
    ``after`` are those the nodes that follow it allocate, once the output's gradient and the
    saved tensors are let go (option A's slices). ``view``: the gradient
    is a view into the output's gradient (the concatenation's backward narrows it), which
    holds all of that storage, and into which torch never adds another gradient in place.

        >>> InputGrad(((64, 8, 8),)).steps
        ((64, 8, 8),)
    """

    steps: tuple[Shape, ...] = ()
    after: tuple[Shape, ...] = ()
    view: bool = False


class Window(Op):
    """A kernel sliding over H and W: convolutions and windowed pools."""

    __slots__ = ()
    kernel: Pair
    stride: Pair
    padding: Pair

    def window(self, shape: Shape) -> tuple[int, int] | None:
        """Output H and W by PyTorch's floor rule, or None if the window does not fit."""
        _, h, w = shape
        return sliding(h, w, self.kernel, self.stride, self.padding)

    def misfit(self, shape: Shape) -> str:
        """Why :meth:`window` is None: the message ``validate`` reports."""
        _, h, w = shape
        kh, kw = self.kernel
        return (
            f"{self.kind} {kh}x{kw} is larger than its input ({h}x{w}, padded by {self.padding[0]})"
        )

    def problem(self, inputs: Sequence[Shape | None], block: int | None = None) -> str | None:
        shape = inputs[0]
        return None if shape is None or self.window(shape) else self.misfit(shape)

    def _kernel_text(self) -> str:
        return f"{self.kernel[0]}x{self.kernel[1]}"

    def _torch_window(self) -> str:
        return (
            f"kernel_size={pair(self.kernel)}, stride={pair(self.stride)}, "
            f"padding={pair(self.padding)}"
        )


def sliding(h: int, w: int, kernel: Pair, stride: Pair, padding: Pair) -> tuple[int, int] | None:
    """Output size of a convolution or pooling window, or None if the window does not fit.

    >>> sliding(224, 224, (7, 7), (2, 2), (3, 3)), sliding(2, 2, (7, 7), (1, 1), (0, 0))
    ((112, 112), None)
    """
    if h + 2 * padding[0] < kernel[0] or w + 2 * padding[1] < kernel[1]:
        return None
    return (
        (h + 2 * padding[0] - kernel[0]) // stride[0] + 1,
        (w + 2 * padding[1] - kernel[1]) // stride[1] + 1,
    )


def downsampling(stride: Pair) -> str:
    """The paper's ``, /2`` suffix for a downsampling layer; nothing for stride 1."""
    s = max(stride)
    return f", /{s}" if s > 1 else ""


def pair(value: Pair) -> str:
    """A (h, w) pair as torch writes it: ``3`` when square, ``(3, 5)`` otherwise."""
    h, w = value
    return str(h) if h == w else f"({h}, {w})"


def show(shape: Shape) -> str:
    """``128x28x28``."""
    return "x".join(str(d) for d in shape)


def with_stride(text: str, stride: Pair, written: bool) -> str:
    return f"{text}, stride {stride[0]}" if written and stride[0] != 1 else text
