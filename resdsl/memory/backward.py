"""The backward half of the replay (:mod:`resdsl.memory.step`): the loss's gradient, then every
node's in reverse order, each input's gradient made as its op says (:class:`~resdsl.ops.InputGrad`).

    >>> from resdsl.pipeline import check_or_raise
    >>> from resdsl.memory.step import simulate
    >>> (net,) = check_or_raise("specs/cifar.res", "resnet20")
    >>> trace = simulate(net, "fp32", "sgd")
    >>> backward = [e for e in trace.events if e.phase == "backward"]
    >>> backward[0].at, backward[-1].at  # from the loss back to the stem's convolution
    ('loss', 'conv1')

NOTE: gradients per input, as torch's engine makes them. One autograd node computes the
gradients of all its inputs before it lets go of its output's gradient and its saved tensors:
an addition passes that gradient itself to both inputs; a product makes d main = g * scale and
g * main, which the engine then sums down to the scale's shape (``sum_to`` in
``validate_outputs``), freeing the full-size product; a concatenation hands each input a view
(``narrow``) of its channels. A view holds the whole of the output's gradient, and a gradient
that waits as a view is never added into in place (torch's ``InputBuffer`` adds in place only
into a dense tensor whose storage it alone holds), so a second one arriving makes a new tensor.
The steps an op's later autograd nodes take (option A's slices) come after the output's
gradient and the saved tensors are gone; a gradient computed in another dtype than its input's
(a lowered layer's, a widened one's) is then cast, one more tensor.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from resdsl.ir.network import Network, Node
from resdsl.memory.events import BF16, FP32, Heap
from resdsl.ops import Op, Shape


class Backward:
    """The backward pass over the replay's state (set by ``step._Replay``)."""

    net: Network
    nodes: list[Node]
    heap: Heap
    low: bool
    itemsize: list[int]
    elements: list[int]
    kept: list[list[int]]
    late: dict[int, list[int]]
    viewed: set[int]
    sections: list[str]
    spans: dict[str, tuple[int, int]]
    stage_input: dict[str, int]

    def _recompute(self, name: str) -> None:
        raise NotImplementedError

    def _backward(self, log_probs: int) -> None:
        heap = self.heap
        classes = self.elements[-1]
        heap.where = ("backward", "head", "loss")
        seed = heap.new(FP32, 0)  # d loss / d loss
        nll = heap.new(0, FP32 * classes)
        grad = heap.new(0, FP32 * classes)  # through log-softmax
        heap.drop(nll)
        heap.drop(log_probs)
        if self.itemsize[-1] != FP32:  # back to the logits' dtype
            fp32, grad = grad, heap.new(0, self.itemsize[-1] * classes)
            heap.drop(fp32)
        waiting: list[int | None] = [None] * len(self.nodes)
        waiting[-1] = grad
        for index in range(len(self.nodes) - 1, -1, -1):
            name = self.sections[index]
            span = self.spans.get(name)
            if span and index == span[1]:
                self._recompute(name)
            self._node_backward(index, waiting)
            if span and index == span[0]:  # the stage is done: its checkpoint lets go
                heap.drop(self.stage_input[name])
        heap.drop(seed)

    def _node_backward(self, index: int, waiting: list[int | None]) -> None:
        """One node's backward, in torch's order: allocate its inputs' gradients (each input's
        steps in turn) and the parameters', let go of the output's gradient and the saved
        tensors, finish each input's gradient (the later nodes' steps, a cast back to the
        input's dtype) and pass it on, then copy bf16 parameter gradients to fp32 and go back
        through a standardised weight."""
        heap, node = self.heap, self.nodes[index]
        op, grad = node.op, waiting[index]
        waiting[index] = None
        self.viewed.discard(index)
        heap.where = ("backward", self.sections[index], node.path)
        if grad is None or not node.inputs:
            heap.drop(grad)
            return
        lowered = op.lowers and self.low
        size = self.itemsize[index]  # what it computed in: bf16 lowered, fp32 widened
        shapes: list[Shape] = [self.nodes[i].shape for i in node.inputs]  # type: ignore[misc]
        ways = op.input_grads(shapes, node.shape)  # type: ignore[arg-type]
        made: list[int | None] = []  # each input's gradient so far, held by this node
        for i, way in zip(node.inputs, ways, strict=True):
            if not self.nodes[i].inputs:  # the batch needs no gradient
                made.append(None)
            elif not way.steps:  # the output's gradient itself (or a view of it), passed on
                heap.hold(grad)
                made.append(grad)
            else:
                made.append(self._chain(None, way.steps, size))
        weights = self._param_grads(op, BF16 if lowered else FP32)
        heap.drop(grad)
        for key in self.kept[index]:
            heap.drop(key)
        for i, shape, way, produced in zip(node.inputs, shapes, ways, made, strict=True):
            if produced is None:
                continue
            produced = self._chain(produced, way.after, size)
            if size != self.itemsize[i]:  # a cast's backward
                produced = self._chain(produced, (shape,), self.itemsize[i])
            self._deliver(i, produced, waiting, way.view)  # type: ignore[arg-type]
            heap.drop(produced)
        if lowered:  # the bf16 gradients, copied to fp32
            weights = [self._copy(key, FP32 * heap.sizes[key][0] // BF16) for key in weights]
        if op.made_weight():  # back through the standardisation to the weight's .grad
            self._copy(weights[0], FP32 * op.made_weight())
            for key in self.late.pop(index):
                heap.drop(key)

    def _chain(self, key: int | None, shapes: Sequence[Shape], itemsize: int) -> int | None:
        """Allocate a tensor of each shape in turn, freeing the one before (``key`` first)."""
        for shape in shapes:
            previous, key = key, self.heap.new(0, itemsize * math.prod(shape))
            self.heap.drop(previous)
        return key

    def _copy(self, key: int, fixed: int) -> int:
        """A batch-independent tensor of ``fixed`` bytes made from ``key``, which is freed."""
        made = self.heap.new(fixed, 0)
        self.heap.drop(key)
        return made

    def _param_grads(self, op: Op, itemsize: int) -> list[int]:
        """The parameters' gradients: a standardised weight's apart (its chain goes on), then
        the rest. In fp32 they are the ``.grad`` tensors themselves, never freed here."""
        made, keys = op.made_weight(), []
        for count in (made, op.params() - made):
            if count:
                keys.append(self.heap.new(itemsize * count, 0))
        return keys

    def _deliver(self, target: int, grad: int, waiting: list[int | None], view: bool) -> None:
        """Add ``grad`` to the gradient waiting for node ``target`` (torch's InputBuffer)."""
        heap, old = self.heap, waiting[target]
        if old is None:
            heap.hold(grad)
            waiting[target] = grad
            if view:
                self.viewed.add(target)
        elif heap.holders[old] > 1 or target in self.viewed:
            # shared with another buffer, or a view into one: old + grad, a new tensor
            waiting[target] = heap.new(0, self.itemsize[target] * self.elements[target])
            heap.drop(old)
            self.viewed.discard(target)
        # else: the buffer holds the only reference, and torch adds in place
