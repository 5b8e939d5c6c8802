"""One training step, replayed over the IR: every tensor torch allocates and frees, in order.

    >>> from resdsl.pipeline import check_or_raise
    >>> (net,) = check_or_raise("specs/cifar.res", "resnet20")
    >>> trace = simulate(net, "fp32", "sgd-momentum")
    >>> trace.peak(2).phase, trace.peak(2).at  # the loss: all is saved, last step's grads live
    ('forward', 'loss')
    >>> trace.peak(128).phase, trace.peak(128).at  # the last block's backward, grads freed
    ('backward', 'layer3.2.relu')

Nothing runs and torch is not imported: each op says what it allocates, keeps and frees (its
memory facts in :mod:`resdsl.ops`), and this pass plays the runner's step through them
(:mod:`resdsl.train.runner`, ``_iteration``), keeping a count of the live bytes after every
allocation. Every size is ``fixed + per_sample * batch`` (the parameters and their copies are
fixed, every activation and its gradient grows with the batch), so one replay answers every
batch size: the peak at batch N is the largest ``fixed + per_sample * N`` over the events.

NOTE: what the replay assumes, each point measured on torch 2.13's saved tensors and
allocations (``benchmarks/memory.py`` checks the result end to end):

* the runner's order, in steady state (the second step on): forward and loss under autocast,
  then ``zero_grad(set_to_none=True)`` (so last step's gradients are still alive during the
  forward), ``backward()``, ``optimizer.step()``; the logits and the batch live to the end;
* autograd runs the backward in reverse creation order, which is the IR's order reversed
  (an op of several autograd steps, :meth:`~resdsl.ops.Op.parts`, is replayed step by step);
  a node allocates each input's gradient (:class:`~resdsl.ops.InputGrad`: the output's
  gradient passed on, a view into it, or new tensors) and its parameters' gradients, then lets
  go of its output's gradient and its saved tensors (:mod:`resdsl.memory.backward`); a
  gradient arriving where one already waits is added in place when that one has no other
  holder and is no view (torch's ``InputBuffer``), else into a new tensor; ``AccumulateGrad``
  takes a fp32 gradient as ``.grad`` without a copy;
* bf16 autocast: a conv or fc casts its weights (kept for backward; a bias copy only until
  autocast exits) and an fp32 input to bf16 and computes in bf16; batch norm takes the bf16
  input and returns bf16 (its mean and inverse std stay fp32), so everything after the first
  conv is bf16; an op on autocast's fp32 list there (``Op.runs_in_fp32``: group norm on CUDA,
  blur pool's reflect padding on the CPU) casts a bf16 input up and returns fp32; a product
  or concatenation of mixed dtypes promotes; a lowered layer's weight gradient is bf16, then
  copied to fp32;
* the optimiser is ``torch.optim``'s foreach implementation (the default on CUDA), whose step
  allocates one temporary the size of the parameters: the weight-decayed gradients (SGD, with
  the runner's weight decay) or the denominator sqrt(v) (Adam);
* activation checkpointing (``checkpointed``: stage names) is ``torch.utils.checkpoint``'s
  non-reentrant form around each such stage: its forward keeps nothing but the stage's input;
  when the backward reaches the stage, its forward runs again, keeping what it normally keeps,
  and the backward goes on as without checkpointing;
* what a kernel allocates and frees inside one call (cuDNN and oneDNN workspaces) is not a
  tensor of the step and is not counted here (see :mod:`resdsl.memory.fits`).
"""

from __future__ import annotations

import dataclasses
import math

from resdsl.ir.network import Network, Node
from resdsl.memory.backward import Backward
from resdsl.memory.events import BF16, FP32, INT64, OPTIMIZERS, Heap, Phase, Trace, section


def simulate(
    net: Network,
    precision: str,
    optimizer: str,
    checkpointed: frozenset[str] = frozenset(),
    kernels: str = "cuda",
) -> Trace:
    """Replay one steady-state training step of ``net`` (see the module NOTE). ``kernels``
    (``cuda`` or ``cpu``) says whose kernels run it, where they keep different things."""
    low = precision == "bf16-autocast"
    return _Replay(net, low, OPTIMIZERS[optimizer], checkpointed, kernels).run()


def steps(net: Network) -> list[Node]:
    """The IR's nodes as autograd runs them: an op of several parts (blur pool's padding and
    convolution) as one node per part, each with the op's path and reading the one before.

    >>> from resdsl.pipeline import check_or_raise
    >>> (net,) = check_or_raise("specs/cifar.res", "resnet20")
    >>> len(steps(net)) == len(net.nodes)
    True
    """
    found: list[Node] = []
    at: list[int] = []  # where each IR node's output is made
    for node in net.nodes:
        inputs = tuple(at[i] for i in node.inputs)
        parts = node.op.parts([net.nodes[i].shape for i in node.inputs])  # type: ignore[misc]
        for op, shape in parts or ((node.op, node.shape),):
            found.append(dataclasses.replace(node, op=op, inputs=inputs, shape=shape))
            inputs = (len(found) - 1,)
        at.append(len(found) - 1)
    return found


class _Replay(Backward):
    """The state of one replay: the heap, each node's output and dtype, what each keeps."""

    def __init__(
        self, net: Network, low: bool, copies: int, checkpointed: frozenset[str], kernels: str
    ) -> None:
        self.net, self.low, self.copies, self.kernels = net, low, copies, kernels
        self.heap = Heap()
        self.nodes = steps(net)
        count = len(self.nodes)
        self.out = [0] * count  # storage of each node's output
        self.itemsize = [FP32] * count  # bytes per element of each node's output
        self.kept: list[list[int]] = [[] for _ in range(count)]  # what each keeps for backward
        self.param_bytes = sum(FP32 * n.op.params() for n in net.nodes)
        self.uses = [0] * count  # forward readers of each node's output
        for node in self.nodes:
            for i in node.inputs:
                self.uses[i] += 1
        self.uses[-1] += 1  # the runner keeps the logits (for its error count) to the end
        self.sections = [section(node) for node in self.nodes]
        self.elements = [math.prod(node.shape) for node in self.nodes]  # type: ignore[arg-type]
        # checkpointed stages: name -> (first node, last node)
        self.spans: dict[str, tuple[int, int]] = {}
        for index, name in enumerate(self.sections):
            if name in checkpointed:
                self.spans[name] = (self.spans.get(name, (index, index))[0], index)
        self.stage_input: dict[str, int] = {}  # the input each checkpoint holds on to
        self.late: dict[int, list[int]] = {}  # kept until a made weight's gradient is made
        self.viewed: set[int] = set()  # nodes whose waiting gradient is a view into another

    def run(self) -> Trace:
        heap, net = self.heap, self.net
        buffers = sum(n.op.buffer_bytes() for n in net.nodes)
        state = self.copies * self.param_bytes
        heap.new(self.param_bytes + buffers + state, INT64, record=False)  # and the labels
        grads = heap.new(self.param_bytes, 0, record=False)  # last step's, until zero_grad
        self.batch = heap.new(0, FP32 * math.prod(net.input), record=False)  # held by the runner
        resident = (heap.fixed, heap.per_sample)
        cache = []
        for index, node in enumerate(self.nodes):
            cache += self._forward(index, node, self.uses)
            if self.sections[index] in self.spans:  # packed as a checkpoint's placeholder: not kept
                for key in self.kept[index] + self.late.pop(index, []):
                    heap.drop(key)
                self.kept[index] = []
        saved = self._saved_by_section()
        log_probs = self._loss()
        for key in cache:  # autocast exits: its cache of weight copies is emptied
            heap.drop(key)
        heap.where = ("forward", "head", "zero_grad")
        heap.drop(grads)
        self._backward(log_probs)
        heap.where = ("step", "head", "step")
        heap.drop(heap.new(self.param_bytes, 0))  # foreach's temporary: decayed grads, sqrt(v)
        head = saved.get("head", (0, 0))
        saved["head"] = (head[0], head[1] + heap.sizes[log_probs][1])
        return Trace(tuple(heap.events), saved, resident)

    def _forward(
        self, index: int, node: Node, uses: list[int], phase: Phase = "forward"
    ) -> list[int]:
        """Run one node forward; returns the autocast cache entries it made."""
        heap, op = self.heap, node.op
        name = self.sections[index]
        heap.where = (phase, name, node.path)
        kept: list[int] = []
        cache: list[int] = []
        if not node.inputs:  # the batch
            heap.hold(self.batch, uses[index])
            self._made(index, self.batch, FP32, kept)
            return cache
        if name in self.spans and phase == "forward" and index == self.spans[name][0]:
            self.stage_input[name] = self.out[node.inputs[0]]
            heap.hold(self.out[node.inputs[0]])  # the checkpoint keeps its stage's input
        first = node.inputs[0]
        source, size = self.out[first], self.itemsize[first]
        reading = [self.out[i] for i in node.inputs]  # what the call holds while it runs
        if phase != "forward":  # a recomputation reads the stage's input, whose uses are over
            for i in node.inputs:  # (by node: a view of it shares its storage)
                if i < self.spans[name][0]:
                    heap.hold(self.out[i])
        made = op.made_weight()
        if made:  # the standardised weight, fp32, held by the call; conv keeps it or its copy
            weight = heap.new(FP32 * made, 0)
            self.late[index] = [heap.new(FP32 * op.stats_saved(), 0)]  # its mean, inverse std
            reading.append(weight)
            if self.low:  # the convolution's cast (not cached: the weight is no parameter)
                kept.append(heap.new(BF16 * made, 0))
            else:
                heap.hold(weight)
                kept.append(weight)
        cast = 0  # the dtype autocast casts the input to, if it does
        if op.lowers and self.low:  # bf16 copies of the weights, cached until autocast exits
            weights, cached = op.kept_params(), op.params() - made
            if weights:
                cache.append(heap.new(BF16 * weights, 0, holders=2))
                kept.append(cache[-1])
            if cached > weights:  # a bias: cached, never kept
                cache.append(heap.new(BF16 * (cached - weights), 0))
            cast = BF16 if size == FP32 else 0
        elif self.low and op.runs_in_fp32(self.kernels) and size != FP32:
            cast = FP32
        if cast:  # the input's copy, which is what backward keeps
            source, size = heap.new(0, cast * self.elements[first]), cast
            reading.append(source)
            if op.keeps_input:
                heap.hold(source)
                kept.append(source)
        if self.low and op.buffer_weight():  # cast anew each call, kept by the convolution
            kept.append(heap.new(BF16 * op.buffer_weight(), 0))
        if op.keeps_input:
            for i in node.inputs:
                if i != first or source == self.out[first]:
                    heap.hold(self.out[i])
                    kept.append(self.out[i])
        if op.in_place or op.view:
            key = self.out[first]
            heap.hold(key, uses[index])
        else:
            if len(node.inputs) > 1:  # type promotion: the widest of the inputs
                size = max(size, *(self.itemsize[i] for i in node.inputs))
            # held by its readers, and by the call until it returns (a recomputed stage's
            # last output has no reader there, and goes at once)
            key = heap.new(0, size * self.elements[index], holders=uses[index] + 1)
            reading.append(key)
        if op.keeps_output:
            heap.hold(key)
            kept.append(key)
        shapes = [self.nodes[i].shape for i in node.inputs]
        extra = op.extra_saved(node.shape, shapes)  # type: ignore[arg-type]
        if extra:
            kept.append(heap.new(0, op.extra_saved_itemsize(size, self.kernels) * extra))
        if op.stats_saved() and not made:
            kept.append(heap.new(FP32 * op.stats_saved(), 0))
        for key_read in reading:  # the call is over
            heap.drop(key_read)
        self._made(index, key, size, kept)
        return cache

    def _made(self, index: int, key: int, size: int, kept: list[int]) -> None:
        self.out[index], self.itemsize[index], self.kept[index] = key, size, kept

    def _recompute(self, name: str) -> None:
        """The checkpointed stage's forward again, keeping what it keeps; autocast's cache of
        it is emptied when it ends."""
        first, last = self.spans[name]
        uses = [0] * len(self.nodes)
        for node in self.nodes[first : last + 1]:
            for i in node.inputs:
                uses[i] += 1 if i >= first else 0
        cache = []
        for index in range(first, last + 1):
            cache += self._forward(index, self.nodes[index], uses, phase="backward")
        for key in cache:
            self.heap.drop(key)

    def _saved_by_section(self) -> dict[str, tuple[int, int]]:
        """Bytes kept for backward at the end of the forward, by the section that made them;
        the batch, which the first conv keeps, is the runner's and counted with it."""
        counted: set[int] = {self.batch}
        found: dict[str, tuple[int, int]] = {}
        for index, (node, kept) in enumerate(zip(self.nodes, self.kept, strict=True)):
            name = section(node)
            fixed, per_sample = found.get(name, (0, 0))
            held = [self.stage_input[name]] if name in self.stage_input else []
            for key in kept + self.late.get(index, []) + held:
                if key not in counted:
                    counted.add(key)
                    fixed += self.heap.sizes[key][0]
                    per_sample += self.heap.sizes[key][1]
            found[name] = (fixed, per_sample)
        return found

    def _loss(self) -> int:
        """``F.cross_entropy`` on the logits: log-softmax, kept in fp32 (under autocast from an
        fp32 copy of the bf16 logits, freed at once); returns the log-probabilities."""
        heap, classes = self.heap, self.elements[-1]
        heap.where = ("forward", "head", "loss")
        copy = heap.new(0, FP32 * classes) if self.itemsize[-1] != FP32 else None
        log_probs = heap.new(0, FP32 * classes)
        heap.new(2 * FP32, 0)  # the loss and nll_loss's total weight, kept to the end
        heap.drop(copy)
        return log_probs
