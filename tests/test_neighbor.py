"""Neighbor2Neighbor's sub-sampler and loss: the properties the method rests on, checked on labelled pixels."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from noise2noise_keras.neighbor import NEIGHBOUR_PAIRS, neighbor_loss, neighbour_choice, subsample


def labelled(batch: int, height: int, width: int, channels: int) -> np.ndarray:
    """Each pixel holds its own flat position (channel c adds c * 10^6), so a value says where it came from."""
    positions = np.arange(batch * height * width, dtype=np.float64).reshape(batch, height, width, 1)
    return (positions + 1e6 * np.arange(channels)).astype(np.float64)


def origin(values: np.ndarray, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    flat = values.astype(np.int64) % (height * width)
    return flat // width, flat % width


@pytest.mark.parametrize("height,width", [(64, 96), (7, 9)])
def test_the_two_views_are_side_neighbours_of_one_cell_and_never_share_a_pixel(height, width):
    images = tf.constant(labelled(3, height, width, 3))
    first, second = (view.numpy() for view in subsample(images, neighbour_choice(images, tf.constant([4, 2], tf.int64))))
    assert first.shape == second.shape == (3, height // 2, width // 2, 3)  # odd sides lose their last row/column
    rows_a, cols_a = origin(first[..., 0], height, width)
    rows_b, cols_b = origin(second[..., 0], height, width)
    cell_rows, cell_cols = np.meshgrid(np.arange(height // 2), np.arange(width // 2), indexing="ij")
    for rows, cols in ((rows_a, cols_a), (rows_b, cols_b)):  # every view pixel comes from its own 2×2 cell
        assert np.array_equal(rows // 2, np.broadcast_to(cell_rows, rows.shape)) and np.array_equal(cols // 2, np.broadcast_to(cell_cols, cols.shape))
    assert np.array_equal(np.abs(rows_a - rows_b) + np.abs(cols_a - cols_b), np.ones_like(rows_a))  # neighbours sharing a side
    assert not set(first[..., 0].ravel().tolist()) & set(second[..., 0].ravel().tolist())  # never the same pixel
    for channel in (1, 2):  # one choice for all channels
        assert np.array_equal(first[..., channel] - first[..., 0], np.full(first.shape[:3], 1e6 * channel))
        assert np.array_equal(second[..., channel] - second[..., 0], np.full(second.shape[:3], 1e6 * channel))


def test_every_ordered_neighbour_pair_is_drawn_equally_often():
    choice = neighbour_choice(tf.zeros([8, 128, 128, 1]), tf.constant([0, 7], tf.int64)).numpy()
    counts = np.bincount(choice.ravel(), minlength=len(NEIGHBOUR_PAIRS)) / choice.size
    assert counts.size == 8 and np.abs(counts - 1 / 8).max() < 0.005


def test_the_regulariser_vanishes_for_the_identity_and_the_reconstruction_is_the_views_difference():
    inputs = keras.Input((None, None, 3))
    identity = keras.Model(inputs, keras.layers.Identity()(inputs))
    noisy = tf.random.stateless_uniform([2, 32, 32, 3], [1, 2])
    terms = neighbor_loss(identity, noisy, tf.constant([3, 4], tf.int64), 2.0, training=True)
    first, second = subsample(noisy, neighbour_choice(noisy, tf.constant([3, 4], tf.int64)))
    assert float(terms["regulariser"]) == pytest.approx(0.0, abs=1e-12)
    assert float(terms["reconstruction"]) == pytest.approx(float(tf.reduce_mean(tf.square(first - second))), rel=1e-6)
    assert float(terms["loss"]) == pytest.approx(float(terms["reconstruction"]), rel=1e-6)
