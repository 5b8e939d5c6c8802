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
* autograd runs the backward in reverse creation order, which is the IR's order reversed;
  a node allocates its input's gradient and its parameters' gradients, then lets go of its
  output's gradient and its saved tensors; a gradient arriving where one already waits is added
  in place when that one has no other holder (torch's ``InputBuffer``), else into a new tensor;
  ``AccumulateGrad`` takes a fp32 gradient as ``.grad`` without a copy;
* bf16 autocast: a conv or fc casts its weights (kept for backward; the fc's bias copy only
  until autocast exits) and an fp32 input to bf16 and computes in bf16; batch norm takes the
  bf16 input and returns bf16 (its mean and inverse std stay fp32), so everything after the
  first conv is bf16; a lowered layer's weight gradient is bf16, then copied to fp32;
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

import math

from resdsl.ir.network import Network, Node
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


class _Replay:
    """The state of one replay: the heap, each node's output and dtype, what each keeps."""

    def __init__(
        self, net: Network, low: bool, copies: int, checkpointed: frozenset[str], kernels: str
    ) -> None:
        self.net, self.low, self.copies, self.kernels = net, low, copies, kernels
        self.heap = Heap()
        count = len(net.nodes)
        self.out = [0] * count  # storage of each node's output
        self.itemsize = [FP32] * count  # bytes per element of each node's output
        self.kept: list[list[int]] = [[] for _ in range(count)]  # what each keeps for backward
        self.param_bytes = sum(FP32 * n.op.params() for n in net.nodes)
        self.uses = [0] * count  # forward readers of each node's output
        for node in net.nodes:
            for i in node.inputs:
                self.uses[i] += 1
        self.uses[-1] += 1  # the runner keeps the logits (for its error count) to the end
        self.sections = [section(node) for node in net.nodes]
        self.elements = [math.prod(node.shape) for node in net.nodes]  # type: ignore[arg-type]
        # checkpointed stages: name -> (first node, last node)
        self.spans: dict[str, tuple[int, int]] = {}
        for index, name in enumerate(self.sections):
            if name in checkpointed:
                self.spans[name] = (self.spans.get(name, (index, index))[0], index)
        self.stage_input: dict[str, int] = {}  # the input each checkpoint holds on to

    def run(self) -> Trace:
        heap, net = self.heap, self.net
        buffers = sum(n.op.buffer_bytes() for n in net.nodes)
        state = self.copies * self.param_bytes
        heap.new(self.param_bytes + buffers + state, INT64, record=False)  # and the labels
        grads = heap.new(self.param_bytes, 0, record=False)  # last step's, until zero_grad
        self.batch = heap.new(0, FP32 * math.prod(net.input), record=False)  # held by the runner
        resident = (heap.fixed, heap.per_sample)
        cache = []
        for index, node in enumerate(net.nodes):
            cache += self._forward(index, node, self.uses)
            if self.sections[index] in self.spans:  # packed as a checkpoint's placeholder: not kept
                for key in self.kept[index]:
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
        for key in reading:  # a recomputation reads the stage's input, whose uses are over
            if phase != "forward" and self._outside(key, name):
                heap.hold(key)
        if op.lowers and self.low:  # bf16 copies of the weights, cached until autocast exits
            weights = op.kept_params()
            cache.append(heap.new(BF16 * weights, 0, holders=2))
            kept.append(cache[-1])
            if op.params() > weights:  # the fc's bias: cached, never kept
                cache.append(heap.new(BF16 * (op.params() - weights), 0))
            if size == FP32:  # an fp32 input is cast; the copy is what backward keeps
                source, size = heap.new(0, BF16 * self.elements[first]), BF16
                reading.append(source)
                if op.keeps_input:
                    heap.hold(source)
                    kept.append(source)
        if op.keeps_input and source == self.out[first]:
            heap.hold(source)
            kept.append(source)
        if op.in_place:
            key = self.out[first]
            heap.hold(key, uses[index])
        else:
            key = heap.new(0, size * self.elements[index], holders=uses[index])
        if op.keeps_output:
            heap.hold(key)
            kept.append(key)
        if op.extra_saved(node.shape):
            itemsize = op.extra_saved_itemsize(size, self.kernels)
            kept.append(heap.new(0, itemsize * op.extra_saved(node.shape)))
        if op.stats_saved():
            kept.append(heap.new(FP32 * op.stats_saved(), 0))
        for key_read in reading:  # the call is over
            heap.drop(key_read)
        self._made(index, key, size, kept)
        return cache

    def _outside(self, key: int, name: str) -> bool:
        """Whether storage ``key`` was made before stage ``name`` (its checkpointed input)."""
        return key == self.stage_input.get(name) or key == self.batch

    def _made(self, index: int, key: int, size: int, kept: list[int]) -> None:
        self.out[index], self.itemsize[index], self.kept[index] = key, size, kept

    def _recompute(self, name: str) -> None:
        """The checkpointed stage's forward again, keeping what it keeps; autocast's cache of
        it is emptied when it ends."""
        first, last = self.spans[name]
        uses = [0] * len(self.net.nodes)
        for node in self.net.nodes[first : last + 1]:
            for i in node.inputs:
                uses[i] += 1 if i >= first else 0
        cache = []
        for index in range(first, last + 1):
            cache += self._forward(index, self.net.nodes[index], uses, phase="backward")
        for key in cache:
            self.heap.drop(key)

    def _saved_by_section(self) -> dict[str, tuple[int, int]]:
        """Bytes kept for backward at the end of the forward, by the section that made them;
        the batch, which the first conv keeps, is the runner's and counted with it."""
        counted: set[int] = {self.batch}
        found: dict[str, tuple[int, int]] = {}
        for node, kept in zip(self.net.nodes, self.kept, strict=True):
            name = section(node)
            fixed, per_sample = found.get(name, (0, 0))
            held = [self.stage_input[name]] if name in self.stage_input else []
            for key in kept + held:
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

    def _backward(self, log_probs: int) -> None:
        heap, net = self.heap, self.net
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
        waiting: list[int | None] = [None] * len(net.nodes)
        waiting[-1] = grad
        for index in range(len(net.nodes) - 1, -1, -1):
            name = self.sections[index]
            span = self.spans.get(name)
            if span and index == span[1]:
                self._recompute(name)
            self._node_backward(index, waiting)
            if span and index == span[0]:  # the stage is done: its checkpoint lets go
                heap.drop(self.stage_input[name])
        heap.drop(seed)

    def _node_backward(self, index: int, waiting: list[int | None]) -> None:
        """One node's backward, in torch's order: allocate the input's and the parameters'
        gradients, let go of the output's gradient and the saved tensors, pass the input's
        gradient on, then copy a bf16 weight gradient to fp32."""
        heap, node = self.heap, self.net.nodes[index]
        op, grad = node.op, waiting[index]
        waiting[index] = None
        heap.where = ("backward", self.sections[index], node.path)
        if grad is None or not node.inputs:
            heap.drop(grad)
            return
        first = self.net.nodes[node.inputs[0]]
        needs_grad = bool(first.inputs)  # the batch needs no gradient
        lowered = op.lowers and self.low
        size = BF16 if lowered else self.itemsize[node.inputs[0]]
        steps = op.grad_steps([self.net.nodes[i].shape for i in node.inputs], node.shape)
        produced = grad if not steps else None
        if steps and needs_grad:
            produced = heap.new(0, size * math.prod(steps[0]))
        param_grad = None
        if op.params():  # bf16 for a lowered layer; else the fp32 .grad itself
            param_grad = heap.new(op.params() * (BF16 if lowered else FP32), 0)
        if produced is grad:
            heap.hold(grad)  # held on by this node while it passes it on
        heap.drop(grad)
        for key in self.kept[index]:
            heap.drop(key)
        for shape in steps[1:] if needs_grad else ():
            previous, produced = produced, heap.new(0, size * math.prod(shape))
            heap.drop(previous)
        if produced is not None and size != self.itemsize[node.inputs[0]]:  # a cast's backward
            previous, produced = produced, heap.new(0, FP32 * self.elements[node.inputs[0]])
            heap.drop(previous)
        if produced is not None:
            for i in node.inputs:
                self._deliver(i, produced, waiting)
            heap.drop(produced)
        if lowered and param_grad is not None:  # the bf16 gradient, copied to the fp32 .grad
            heap.new(FP32 * op.params(), 0)
            heap.drop(param_grad)

    def _deliver(self, target: int, grad: int, waiting: list[int | None]) -> None:
        """Add ``grad`` to the gradient waiting for node ``target`` (torch's InputBuffer)."""
        heap, old = self.heap, waiting[target]
        if old is None:
            heap.hold(grad)
            waiting[target] = grad
        elif heap.holders[old] > 1:  # shared with another buffer: old + grad, a new tensor
            waiting[target] = heap.new(*heap.sizes[grad])
            heap.drop(old)
        # else: the buffer holds the only reference, and torch adds in place
