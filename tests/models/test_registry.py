"""What every registered model shares: ``create_model(name, weights_path=...)`` loads a file."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ceec_lab.models import create_model, list_models

#: The CEECNet family at its small size (the default is the paper's 40 M-parameter D6nf32).
TINY = ("ceecnet_v1", "ceecnet_v2", "fractal_resnet", "ceecnet_segmentation")


@pytest.mark.parametrize("name", list_models())
def test_every_factory_loads_a_weights_file(name: str, tmp_path: Path) -> None:
    kwargs = {"preset": "ceecnet-tiny"} if name in TINY else {}
    torch.manual_seed(0)
    saved = create_model(name, **kwargs).state_dict()
    path = tmp_path / f"{name}.pt"
    torch.save(saved, path)
    torch.manual_seed(1)
    fresh = create_model(name, **kwargs).state_dict()
    if saved:  # a different seed gives different weights (differencing_otsu has none)
        assert any(not torch.equal(saved[k], fresh[k]) for k in saved)
    loaded = create_model(name, **kwargs, weights_path=path).state_dict()
    assert loaded.keys() == saved.keys()
    assert all(torch.equal(loaded[k], saved[k]) for k in saved)


def test_a_missing_weights_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nope\.pt"):
        create_model("fc_siam_diff", weights_path=tmp_path / "nope.pt")
