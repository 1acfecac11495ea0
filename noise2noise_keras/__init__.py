"""noise2noise_keras: Noise2Noise (Lehtinen et al., ICML 2018) in Keras 3 on TensorFlow.

Importing the package registers every custom object (losses, schedules,
layers) with Keras, so checkpoints load with ``keras.saving.load_model``. Images are float32 in
[0, 1], shaped (N, H, W, C).
"""

import os

# Keras 3 reads its backend at import time; this package is written for TensorFlow.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

try:
    import tensorflow  # noqa: F401
except ImportError:  # pragma: no cover - depends on the installation
    raise ImportError("TensorFlow is not installed: run pip install -e '.[cpu]' (or '.[gpu]' on a CUDA machine).") from None

from noise2noise_keras import losses, models, schedules  # noqa: E402,F401  (registers serializables)

__version__ = "0.1.0"
