"""The paper's U-Net: exact parameter count, any multiple-of-32 size, loadable checkpoints."""

import keras
import numpy as np
import pytest

import noise2noise_keras  # noqa: F401  (registers losses/schedules for loading)
from noise2noise_keras.losses import AnnealedL0Loss, build_loss
from noise2noise_keras.models import build_model


def test_unet_has_the_papers_991203_parameters():
    assert build_model("unet", channels=3).count_params() == 991_203


def test_unet_layer_table_matches_the_paper():
    model = build_model("unet")
    convs = {layer.name: layer.filters for layer in model.layers if isinstance(layer, keras.layers.Conv2D)}
    assert convs == {
        **{f"enc_conv{i}": 48 for i in range(7)},
        **{f"dec_conv{i}{ab}": 96 for i in range(2, 6) for ab in "ab"},
        "dec_conv1a": 64,
        "dec_conv1b": 32,
        "dec_conv1c": 3,
    }
    assert sum(isinstance(layer, keras.layers.MaxPooling2D) for layer in model.layers) == 5
    slopes = [layer.negative_slope for layer in model.layers if isinstance(layer, keras.layers.LeakyReLU)]
    assert slopes == pytest.approx([0.1] * 17)  # after every convolution but the last


@pytest.mark.parametrize("height,width", [(64, 96), (256, 256), (512, 768)])
def test_output_shape_equals_input_shape(height, width):
    model = build_model("unet")
    assert model(np.zeros((1, height, width, 3), np.float32)).shape == (1, height, width, 3)


def test_single_channel_model():
    model = build_model("unet", channels=1)
    assert model(np.zeros((2, 64, 64, 1), np.float32)).shape == (2, 64, 64, 1)


def test_saved_checkpoint_loads_with_plain_keras_and_gives_same_output(tmp_path):
    model = build_model("unet")
    model.compile(optimizer="adam", loss=build_loss("l0"))
    model.optimizer.build(model.trainable_variables)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    batch = np.random.default_rng(0).random((1, 64, 64, 3), dtype=np.float32)
    np.testing.assert_allclose(loaded(batch), model(batch), atol=1e-6)
    assert isinstance(loaded.loss, AnnealedL0Loss)


SEED_ARCHITECTURES = {"hourglass": (234_339, 2), "unet_bn": (213_235, 8), "dsc": (3_175_303, 16)}  # parameters, size multiple


@pytest.mark.parametrize("arch", sorted(SEED_ARCHITECTURES))
def test_seed_architectures_shapes_parameters_and_saving(arch, tmp_path):
    parameters, multiple = SEED_ARCHITECTURES[arch]
    model = build_model(arch)
    assert model.count_params() == parameters
    for shape in [(2, 32, 32, 3), (1, 64, 96, 3), (1, 5 * multiple, 3 * multiple, 3)]:
        assert model(np.zeros(shape, np.float32)).shape == shape
    assert build_model(arch, channels=1)(np.zeros((1, 32, 32, 1), np.float32)).shape == (1, 32, 32, 1)
    model.save(tmp_path / "model.keras")
    batch = np.random.default_rng(0).random((1, 32, 32, 3), dtype=np.float32)
    np.testing.assert_allclose(keras.saving.load_model(tmp_path / "model.keras")(batch), model(batch), atol=1e-6)


def test_dsc_gates_are_trainable_scalars_starting_as_reported():
    model = build_model("dsc")
    gates = [layer.gate for layer in model.layers if layer.name.startswith("gate")]
    assert [float(gate.numpy()) for gate in gates] == pytest.approx([0.1, 0.2, 0.3, 0.4]) and all(gate.trainable for gate in gates)
