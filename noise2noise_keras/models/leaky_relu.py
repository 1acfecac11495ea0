"""A leaky ReLU that lets TensorFlow fuse each convolution, its bias and its activation into one kernel.

TensorFlow's gradient of ``LeakyRelu`` reads the activation's *input* (the
convolution + bias sum), so that sum must outlive the forward pass. Grappler's
remapper still tries to fuse convolution + bias + leaky ReLU, then finds the
gradient pointing at the node it removed and drops its rewrites of the whole
training graph ("remapper failed: ... fanout '.../LeakyReluGrad' exist for
missing node '.../BiasAdd'"): every activation stays a pass of its own over
memory. The gradient can read the *output* instead (for a positive slope,
output and input have the same sign; TensorFlow's ReLU gradient does the
same), which leaves the sum free to fuse. Same values, same gradients;
``benchmarks/leaky_relu_fusion.py`` measures the gain.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers


@keras.saving.register_keras_serializable(package="noise2noise_keras")
class FusableLeakyReLU(layers.LeakyReLU):
    """``keras.layers.LeakyReLU`` whose gradient is computed from its output, so grappler can fuse it."""

    def call(self, inputs):
        slope = float(self.negative_slope)

        @tf.custom_gradient
        def leaky_relu(features):
            activations = tf.nn.leaky_relu(features, alpha=slope)

            def gradient(upstream):
                with tf.name_scope("leaky_relu_gradient"):  # custom gradients get no scope of their own; profiles read this one
                    return tf.raw_ops.LeakyReluGrad(gradients=upstream, features=activations, alpha=slope)

            return activations, gradient

        return leaky_relu(inputs)
