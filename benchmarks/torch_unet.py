"""The paper's U-Net in PyTorch, layer for layer the twin of ``noise2noise_keras.models.unet`` (the speed reference).

Same layer table, same 991,203 parameters for 3 channels, same [0, 1] ->
[-0.5, 0.5] shift; :func:`copy_keras_weights` loads a Keras model's weights
so the benchmark can check both compute the same function before timing them.
Used by benchmarks only: PyTorch is not a dependency of the package.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

LEAKY_SLOPE = 0.1


class TorchUNet(nn.Module):
    def __init__(self, channels: int = 3) -> None:
        super().__init__()
        conv = lambda cin, cout: nn.Conv2d(cin, cout, 3, padding=1)  # noqa: E731
        self.enc = nn.ModuleDict({f"enc_conv{i}": conv(channels if i == 0 else 48, 48) for i in range(7)})
        self.dec = nn.ModuleDict()
        for level in range(5, 0, -1):
            incoming = 48 if level == 5 else 96
            skip = channels if level == 1 else 48
            first, second = (64, 32) if level == 1 else (96, 96)
            self.dec[f"dec_conv{level}a"] = conv(incoming + skip, first)
            self.dec[f"dec_conv{level}b"] = conv(first, second)
        self.dec["dec_conv1c"] = conv(32, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act = lambda name, t, group: F.leaky_relu(group[name](t), LEAKY_SLOPE)  # noqa: E731
        x = x - 0.5
        skips = [x]
        x = act("enc_conv0", x, self.enc)
        x = F.max_pool2d(act("enc_conv1", x, self.enc), 2)
        skips.append(x)
        for level in range(2, 6):
            x = F.max_pool2d(act(f"enc_conv{level}", x, self.enc), 2)
            if level < 5:
                skips.append(x)
        x = act("enc_conv6", x, self.enc)
        for level in range(5, 0, -1):
            x = torch.cat([F.interpolate(x, scale_factor=2, mode="nearest"), skips.pop()], dim=1)
            x = act(f"dec_conv{level}a", x, self.dec)
            x = act(f"dec_conv{level}b", x, self.dec)
        return self.dec["dec_conv1c"](x) + 0.5


def copy_keras_weights(twin: TorchUNet, keras_model) -> None:
    """Load the Keras U-Net's kernels (HWIO) and biases into the twin's (OIHW) convolutions."""
    layers = {**twin.enc, **twin.dec}
    with torch.no_grad():
        for name, module in layers.items():
            kernel, bias = keras_model.get_layer(name).get_weights()
            module.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))))
            module.bias.copy_(torch.from_numpy(bias))


def forward_flops(twin: TorchUNet, height: int, width: int) -> int:
    """Multiply-adds x 2 of every convolution for one (height, width) image (pooling etc. are negligible)."""
    flops = 0

    def count(module, inputs, output):
        nonlocal flops
        flops += 2 * output.shape[2] * output.shape[3] * module.out_channels * module.in_channels * 9

    hooks = [module.register_forward_hook(count) for module in twin.modules() if isinstance(module, nn.Conv2d)]
    with torch.no_grad():
        twin(torch.zeros(1, twin.enc["enc_conv0"].in_channels, height, width))
    for hook in hooks:
        hook.remove()
    return flops
