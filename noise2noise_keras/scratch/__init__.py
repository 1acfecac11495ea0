"""A from-scratch deep-learning framework in NumPy alone (seed 002), that actually learns to denoise.

No autodiff library: every module computes its own ``forward`` and
``backward``. Layout is NHWC with HWIO kernels, as Keras, so weights copy
across and the tests compare outputs and gradients with Keras on the same
weights. The seed report's attempt plateaued at 12.68 dB (a flat colour); the
causes were its initialisation (weights scaled by the batch size, biases drawn
from N(0, 1)) and plain SGD: here He-uniform weights, zero biases and Adam.
"""

from noise2noise_keras.scratch.losses import MSE
from noise2noise_keras.scratch.modules import Conv2d, Module, NearestUpsampling, Parameter, ReLU, Sequential, Sigmoid
from noise2noise_keras.scratch.optim import SGD, Adam

__all__ = ["MSE", "SGD", "Adam", "Conv2d", "Module", "NearestUpsampling", "Parameter", "ReLU", "Sequential", "Sigmoid"]
