"""The source of the helper classes some ops' PyTorch forms name (``Op.helper_source``).

A generated module defines each helper it uses once, above its blocks. They are written
against the generated module's imports (``torch``, ``nn``, ``F`` for ``torch.nn.functional``,
``Tensor``) and, where timm defines the same layer, behave as timm's does (same ``state_dict``
keys, same outputs: tests/ops/ holds them to recorded outputs of timm 1.0.31).

    >>> namespace = {}
    >>> exec("import torch\\nfrom torch import Tensor, nn\\nfrom torch.nn import functional as F",
    ...      namespace)
    >>> exec(DROP_PATH, namespace)
    >>> namespace["DropPath"](0.1)
    DropPath(drop_prob=0.100)
"""

from __future__ import annotations

# Option A's shortcut, as the template of resdsl/codegen writes it today, character for
# character (tests/ops/test_helpers.py holds the two together).
ZERO_PAD_SHORTCUT = '''\
class ZeroPadShortcut(nn.Module):
    """Option A shortcut (He et al. 2015, section 3.3): the identity, plus zero channels.

    It subsamples by keeping every `stride`-th row and column, then appends
    `out_planes - in_planes` channels of zeros after the input's channels (channel indices
    in_planes .. out_planes - 1 are zero). It has no parameters.
    """

    def __init__(self, in_planes: int, out_planes: int, stride: int = 1) -> None:
        super().__init__()
        self.stride = stride
        self.extra = out_planes - in_planes

    def forward(self, x: Tensor) -> Tensor:
        x = x[:, :, :: self.stride, :: self.stride]  # (N, in_planes, H / stride, W / stride)
        # F.pad's pairs run from the last dimension back (W, H, C): the zeros go after the
        # input's channels.
        return F.pad(x, (0, 0, 0, 0, 0, self.extra))  # (N, out_planes, H / stride, W / stride)
'''

STD_CONV2D = '''\
class StdConv2d(nn.Conv2d):
    """A convolution with weight standardisation (Qiao et al. 2019), as BiT's ResNet-V2 uses it
    (Kolesnikov et al. 2020; timm's StdConv2d, whose BiT models pass eps=1e-8).

    Before every convolution each output channel's weights are normalised to zero mean and
    unit variance (biased, over its in_channels / groups x kh x kw values, `eps` added to the
    variance). The parameters are a plain convolution's: state_dict keys `weight` (and `bias`).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        groups: int = 1,
        bias: bool = False,
        eps: float = 1e-6,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            groups=groups,
            bias=bias,
        )
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        # One batch norm over a (1, out_channels, rest) view normalises every output channel's
        # weights at once, with autograd through it (timm computes it the same way).
        weight = F.batch_norm(
            self.weight.reshape(1, self.out_channels, -1),
            None,
            None,
            training=True,
            momentum=0.0,
            eps=self.eps,
        ).reshape_as(self.weight)
        return F.conv2d(x, weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
'''

BLUR_POOL2D = '''\
class BlurPool2d(nn.Module):
    """Anti-aliased downsampling (Zhang 2019, "Making Convolutional Networks Shift-Invariant
    Again"), as timm's BlurPool2d: a fixed binomial filter of `filt_size` taps a side (3:
    [1, 2, 1] / 4 each way) blurs each channel apart, reflect-padded, then `stride` subsamples.

    The filter is a buffer left out of the state_dict: the module has no state_dict keys.
    """

    def __init__(self, channels: int, filt_size: int = 3, stride: int = 2) -> None:
        super().__init__()
        self.channels = channels
        self.filt_size = filt_size
        self.stride = stride
        # the same padding on every side: timm's get_padding(filt_size, stride)
        self.padding = [(stride - 1 + filt_size - 1) // 2] * 4
        taps = [1.0]  # a row of Pascal's triangle: the binomial coefficients C(filt_size - 1, k)
        for _ in range(filt_size - 1):
            taps = [a + b for a, b in zip([0.0, *taps], [*taps, 0.0], strict=True)]
        row = torch.tensor(taps) / sum(taps)
        blur = (row[:, None] * row[None, :])[None, None].repeat(channels, 1, 1, 1)
        self.register_buffer("filt", blur, persistent=False)  # (channels, 1, k, k)

    def forward(self, x: Tensor) -> Tensor:
        x = F.pad(x, self.padding, mode="reflect")
        return F.conv2d(x, self.filt, stride=self.stride, groups=self.channels)
'''

DROP_PATH = '''\
class DropPath(nn.Module):
    """Stochastic depth (Huang et al. 2016), as timm's DropPath: while training, each sample's
    residual branch is dropped with probability `drop_prob` (zeroed) and the kept ones are
    scaled by 1 / (1 - drop_prob), so that its expectation is unchanged. The identity in eval.
    """

    def __init__(self, drop_prob: float = 0.0) -> None:
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x: Tensor) -> Tensor:
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep = 1.0 - self.drop_prob
        # one draw per sample, broadcast over its channels and positions
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        if keep > 0.0:
            mask.div_(keep)
        return x * mask

    def extra_repr(self) -> str:
        return f"drop_prob={self.drop_prob:.3f}"
'''

EVO_NORM2D_S0 = '''\
class EvoNorm2dS0(nn.Module):
    """EvoNorm-S0 (Liu et al. 2020, "Evolving Normalization-Activation Layers"), as timm's
    EvoNorm2dS0: a normalisation and activation in one, x * sigmoid(v * x) divided by the
    standard deviation of each sample's group of channels (`groups` groups), then scaled and
    shifted per channel. state_dict keys `weight`, `bias`, `v`; no batch statistics.
    """

    def __init__(self, num_features: int, groups: int = 32, eps: float = 1e-5) -> None:
        super().__init__()
        self.groups = groups
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.v = nn.Parameter(torch.ones(num_features))

    def forward(self, x: Tensor) -> Tensor:
        n, c, h, w = x.shape
        shape = (1, -1, 1, 1)
        x_dtype = x.dtype
        v = self.v.view(shape).to(x_dtype)
        grouped = x.reshape(n, self.groups, c // self.groups, h, w)
        var = grouped.float().var(dim=(2, 3, 4), unbiased=False, keepdim=True)
        std = var.add(self.eps).sqrt().to(x_dtype).expand(grouped.shape).reshape(n, c, h, w)
        x = x * (x * v).sigmoid() / std
        return x * self.weight.view(shape).to(x_dtype) + self.bias.view(shape).to(x_dtype)
'''

FILTER_RESPONSE_NORM_TLU2D = '''\
class FilterResponseNormTlu2d(nn.Module):
    """Filter response normalisation with its thresholded linear unit (Singh & Krishnan 2020),
    as timm's FilterResponseNormTlu2d: each channel of each sample divided by its root mean
    square over H and W, scaled and shifted per channel, then max(x, tau). state_dict keys
    `weight`, `bias`, `tau`; no batch statistics.
    """

    def __init__(self, num_features: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.tau = nn.Parameter(torch.zeros(num_features))

    def forward(self, x: Tensor) -> Tensor:
        shape = (1, -1, 1, 1)
        x_dtype = x.dtype
        rms = x.square().float().mean(dim=(2, 3), keepdim=True).add(self.eps).rsqrt()
        x = x * rms.to(x_dtype).expand(x.shape)
        x = x * self.weight.view(shape).to(x_dtype) + self.bias.view(shape).to(x_dtype)
        return torch.maximum(x, self.tau.reshape(shape).to(x_dtype))
'''
