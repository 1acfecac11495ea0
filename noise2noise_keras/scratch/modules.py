"""Modules with hand-written forward and backward passes (NHWC tensors, HWIO kernels)."""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


@dataclasses.dataclass(eq=False)
class Parameter:
    """A trainable array and the gradient accumulated into it by ``backward``."""

    value: np.ndarray
    grad: np.ndarray = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        self.grad = np.zeros_like(self.value)


class Module:
    """``forward`` caches what ``backward`` needs; ``backward`` takes dL/d(output), returns dL/d(input)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def parameters(self) -> list[Parameter]:
        return []

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)


class Conv2d(Module):
    """2-D convolution as one matrix product over im2col patches; col2im in ``backward``.

    ``padding`` zero-pads every side (``kernel // 2`` with stride 1 is Keras'
    ``same``, 0 is ``valid``). Weights are He-uniform, biases zero: the seed
    report's U(-1/sqrt(batch)) weights and N(0, 1) biases drove its network to
    a flat colour.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int = 1, padding: int = 0, rng: np.random.Generator | None = None) -> None:
        rng = rng or np.random.default_rng(0)
        bound = np.sqrt(6.0 / (kernel * kernel * in_channels))
        self.weight = Parameter(rng.uniform(-bound, bound, (kernel, kernel, in_channels, out_channels)).astype(np.float32))
        self.bias = Parameter(np.zeros(out_channels, np.float32))
        self.kernel, self.stride, self.padding = kernel, stride, padding

    def forward(self, x: np.ndarray) -> np.ndarray:
        k, s, p = self.kernel, self.stride, self.padding
        padded = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0))) if p else x
        windows = sliding_window_view(padded, (k, k), axis=(1, 2))[:, ::s, ::s]  # (B, Ho, Wo, C, k, k), a view
        batch, out_h, out_w = windows.shape[:3]
        columns = windows.transpose(0, 1, 2, 4, 5, 3).reshape(batch * out_h * out_w, -1)  # im2col: rows of (k, k, C) patches
        self._cache = x.shape, padded.shape, columns
        out = columns @ self.weight.value.reshape(columns.shape[1], -1) + self.bias.value
        return out.reshape(batch, out_h, out_w, -1)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        k, s, p = self.kernel, self.stride, self.padding
        input_shape, padded_shape, columns = self._cache
        batch, out_h, out_w, out_channels = grad.shape
        flat = grad.reshape(-1, out_channels)
        self.weight.grad += (columns.T @ flat).reshape(self.weight.value.shape)
        self.bias.grad += flat.sum(axis=0)
        patches = (flat @ self.weight.value.reshape(-1, out_channels).T).reshape(batch, out_h, out_w, k, k, -1)
        padded = np.zeros(padded_shape, dtype=grad.dtype)
        for i in range(k):  # col2im: every kernel offset adds its patch entries back where they came from
            for j in range(k):
                padded[:, i : i + s * out_h : s, j : j + s * out_w : s] += patches[:, :, :, i, j]
        return padded[:, p : p + input_shape[1], p : p + input_shape[2]]

    def parameters(self) -> list[Parameter]:
        return [self.weight, self.bias]


class NearestUpsampling(Module):
    """Repeat every pixel ``scale`` x ``scale`` times; the gradient sums over each block."""

    def __init__(self, scale: int = 2) -> None:
        self.scale = scale

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x.repeat(self.scale, axis=1).repeat(self.scale, axis=2)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        batch, height, width, channels = grad.shape
        s = self.scale
        return grad.reshape(batch, height // s, s, width // s, s, channels).sum(axis=(2, 4))


class ReLU(Module):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self._positive = x > 0
        return np.where(self._positive, x, 0)

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return np.where(self._positive, grad, 0)


class Sigmoid(Module):
    def forward(self, x: np.ndarray) -> np.ndarray:
        self._out = 1.0 / (1.0 + np.exp(-x))
        return self._out

    def backward(self, grad: np.ndarray) -> np.ndarray:
        return grad * self._out * (1.0 - self._out)


class Sequential(Module):
    """Modules applied in order; ``backward`` runs them in reverse."""

    def __init__(self, *modules: Module) -> None:
        self.modules = list(modules)

    def forward(self, x: np.ndarray) -> np.ndarray:
        for module in self.modules:
            x = module.forward(x)
        return x

    def backward(self, grad: np.ndarray) -> np.ndarray:
        for module in reversed(self.modules):
            grad = module.backward(grad)
        return grad

    def parameters(self) -> list[Parameter]:
        return [parameter for module in self.modules for parameter in module.parameters()]

    def zero_grad(self) -> None:
        for parameter in self.parameters():
            parameter.grad[...] = 0
