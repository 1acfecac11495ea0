"""``python train_model.py NOISE DATASET [options]``: the design's training entry point (= ``n2n train``)."""

import sys

from noise2noise_keras.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
