"""The smp-based models: local weights files, encoders, DeepLab's batch-size pitfall."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ceec_lab.models import create_model
from ceec_lab.models.utils import load_weights

SMP_MODELS = ["unet", "deeplabv3", "deeplabv3plus", "unet_early_fusion"]


def _forward(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    return model(x, x.flip(-1)) if model.task == "change" else model(x)


@pytest.mark.parametrize("name", SMP_MODELS)
def test_weights_file_round_trip(name: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    trained = create_model(name).eval()
    path = tmp_path / f"{name}.pt"
    torch.save(trained.state_dict(), path)
    torch.manual_seed(1)  # a different random initialisation...
    loaded = create_model(name, weights_path=path).eval()
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(_forward(loaded, x), _forward(trained, x))  # ...overwritten


def test_mismatched_weights_file_names_the_problem(tmp_path: Path) -> None:
    path = tmp_path / "five_classes.pt"
    torch.save(create_model("unet", num_classes=5).state_dict(), path)
    with pytest.raises(
        ValueError,
        match=r"five_classes\.pt: does not fit SmpSegmentation: 2 shape: .*segmentation_head",
    ):
        create_model("unet", num_classes=3, weights_path=path)


def test_weights_file_for_another_architecture(tmp_path: Path) -> None:
    path = tmp_path / "fcn.pt"
    torch.save(create_model("fcn8s").state_dict(), path)
    with pytest.raises(ValueError, match=r"\d+ missing: net\.encoder.*\d+ unexpected: backbone"):
        create_model("unet", weights_path=path)


def test_file_without_a_state_dict(tmp_path: Path) -> None:
    path = tmp_path / "tensor.pt"
    torch.save(torch.zeros(3), path)
    with pytest.raises(ValueError, match=r"tensor\.pt: holds a Tensor, not a checkpoint dict"):
        create_model("deeplabv3plus", weights_path=path)


def test_trainer_checkpoint_is_not_a_state_dict(tmp_path: Path) -> None:
    path = tmp_path / "last.pt"
    torch.save({"model": create_model("unet").state_dict(), "epoch": 3}, path)
    with pytest.raises(
        ValueError, match=r"last\.pt: holds no state dict .*'epoch', 'model'.*load_model"
    ):
        create_model("unet", weights_path=path)


def test_bare_smp_state_dict_loads_into_net(tmp_path: Path) -> None:
    source = create_model("unet").eval()
    path = tmp_path / "bare.pt"
    torch.save(source.net.state_dict(), path)  # e.g. saved from a plain smp.Unet
    target = create_model("unet").eval()
    load_weights(target.net, path)
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(target(x), source(x))


def test_other_encoders_and_smp_arguments() -> None:
    model = create_model("unet", encoder_name="resnet34", decoder_channels=(64, 32, 16, 8, 4))
    assert model.net.encoder.out_channels[-1] == 512
    assert model(torch.rand(2, 3, 64, 64)).shape == (2, 5, 64, 64)


def test_early_fusion_stacks_both_dates() -> None:
    model = create_model("unet_early_fusion", in_channels=4)
    assert model.net.encoder.conv1.in_channels == 8


@pytest.mark.parametrize("name", ["deeplabv3", "deeplabv3plus"])
def test_deeplab_batch_of_one(name: str) -> None:
    model = create_model(name)
    x = torch.rand(1, 3, 64, 64)
    with pytest.raises(ValueError, match=r"x has batch size 1.*training mode"):
        model(x)
    with torch.no_grad():
        assert model.eval()(x).shape == (1, 5, 64, 64)  # fine for inference
