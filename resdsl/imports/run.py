"""Running a traced model once, on the meta device, to learn every value its forward computes.

    >>> import torch
    >>> from torch import fx, nn
    >>> model = fx.symbolic_trace(nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.Flatten()))
    >>> values, failure = propagate(model, (3, 32, 32))
    >>> [tuple(v.shape) for v in values.values()], failure
    ([(2, 3, 32, 32), (2, 8, 16, 16), (2, 2048), (2, 2048)], '')

Each node's value is kept: tensors (their shapes), and the sizes the forward reads off them
(``out.size(2)`` is 8), so that ``F.avg_pool2d(out, out.size(2))`` reads as the global pool
it is. The run is ``torch.func.functional_call`` with every parameter and buffer replaced by
an empty tensor on the meta device: nothing is computed, nothing of the model's own tensors is
read or changed (a model built on the CPU, or with a state dict loaded, is left as it was).
The batch is 2, so that a reshape that folds the batch into other axes shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from torch import fx

Size = tuple[int, int, int]


def sizes_to_try(graph: fx.Graph, modules: dict[str, Any], size: Size | None) -> list[Size]:
    """``size`` if given; else CIFAR's 32x32 where the first convolution keeps the size and
    224x224 where it strides, then the other (its channels: the first convolution's input).

    >>> from torch import fx, nn
    >>> model = nn.Sequential(nn.Conv2d(1, 8, 7, 2))
    >>> sizes_to_try(fx.symbolic_trace(model).graph, dict(model.named_modules()), None)
    [(1, 224, 224), (1, 32, 32)]
    """
    from torch import nn

    if size is not None:
        return [size]
    first = None
    for node in graph.nodes:
        module = modules.get(str(node.target)) if node.op == "call_module" else None
        if isinstance(module, nn.Conv2d):
            first = module
            break
    channels = first.in_channels if first is not None else 3
    strided = first is not None and tuple(first.stride) != (1, 1)
    small, large = (channels, 32, 32), (channels, 224, 224)
    return [large, small] if strided else [small, large]


def propagate(module: fx.GraphModule, size: Size) -> tuple[dict | None, str]:
    """Every node's value when ``module`` runs on a meta batch of 2 at ``size``; or None and
    the first line of what went wrong."""
    import torch
    from torch import fx, nn

    values: dict = {}

    class Recorder(fx.Interpreter):
        def run_node(self, node):
            result = super().run_node(node)
            values[node] = result
            return result

        def call_module(self, target, args, kwargs):
            shaped = _shaped(self.fetch_attr(target), args, kwargs)
            return shaped if shaped is not None else super().call_module(target, args, kwargs)

    class Runner(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.graph_module = module

        def forward(self, x):
            return Recorder(self.graph_module).run(x)

    runner = Runner()
    empty = {
        name: torch.empty_like(tensor, device="meta")
        for name, tensor in [
            *runner.named_parameters(remove_duplicate=False),
            *runner.named_buffers(remove_duplicate=False),
        ]
    }
    x = torch.empty(2, *size, device="meta")
    try:
        with torch.no_grad():
            torch.func.functional_call(runner, empty, (x,), strict=False, tie_weights=False)
    except Exception as error:  # whatever the forward raises at this size
        text = str(error).strip()
        return None, text.splitlines()[0] if text else type(error).__name__
    return values, ""


def _shaped(module: Any, args: tuple, kwargs: dict) -> Any:
    """The output of a common layer on a meta tensor, made from its shape without running it
    (running each is most of the time a deep network takes): what keeps the shape passes its
    input on; a convolution's size is PyTorch's formula. None for any other."""
    import torch
    from torch import nn

    x = args[0] if len(args) == 1 and not kwargs else None
    if not isinstance(x, torch.Tensor) or x.device.type != "meta" or x.dim() != 4:
        return None
    kind = type(module)
    if kind in (nn.BatchNorm2d, nn.ReLU, nn.Identity, nn.Dropout, nn.Sigmoid):
        if kind is nn.BatchNorm2d and x.shape[1] != module.num_features:
            return None  # let it raise as it does
        return torch.empty_like(x)
    if kind is nn.Conv2d and isinstance(module.padding, tuple) and x.shape[1] == module.in_channels:
        size = [
            (n + 2 * p - d * (k - 1) - 1) // s + 1
            for n, k, s, p, d in zip(
                x.shape[2:],
                module.kernel_size,
                module.stride,
                module.padding,
                module.dilation,
                strict=True,
            )
        ]
        if min(size) < 1:
            return None
        return torch.empty(x.shape[0], module.out_channels, *size, device="meta", dtype=x.dtype)
    return None
