"""Leave-some-out transfer: every pair is scored by a model that never trained on it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ceec_lab import transfer
from ceec_lab.data import write_change_folder
from ceec_lab.models import create_model
from ceec_lab.models.pretrained import load_pretrained


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five synthetic 64×64 pairs written as a LEVIR-CD style folder."""
    root = tmp_path_factory.mktemp("pairs")
    write_change_folder(root, 5, size=64, seed=3, progress=False)
    return root


def test_folds_hold_every_pair_out_exactly_once() -> None:
    folds = transfer.leave_some_out_folds(11, 4)
    held_out = sorted(i for _, test in folds for i in test)
    assert held_out == list(range(11))
    for train, test in folds:
        assert not set(train) & set(test) and sorted(train + test) == list(range(11))
    with pytest.raises(ValueError, match=r"n_folds must be in \[2, 11\]"):
        transfer.leave_some_out_folds(11, 12)


def test_recipe_rejects_nonsense() -> None:
    assert transfer.Recipe(epochs=2, steps_per_epoch=3).steps == 6
    with pytest.raises(ValueError, match=r"Recipe\.crop must be a positive int"):
        transfer.Recipe(crop=0)


def test_repeat_cycles_through_the_pairs(tiny_folder: Path) -> None:
    pairs = transfer.real_pairs(tiny_folder, transfer.Recipe(crop=32), seed=0)
    repeated = transfer.Repeat(pairs, 12)
    assert len(repeated) == 12
    first, again = repeated[0], repeated[5]  # the same pair, another random crop
    assert first["image1"].shape == (3, 32, 32) and "boundary" in first
    assert not torch.equal(first["image1"], again["image1"])


def test_leave_some_out_never_scores_a_pair_on_its_own_training(
    tiny_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trained_on: list[set[str]] = []
    fine_tune = transfer.fine_tune

    def recording(model, pairs, *args, **kwargs):
        trained_on.append({pairs.dataset.names[i] for i in pairs.indices})
        return fine_tune(model, pairs, *args, **kwargs)

    monkeypatch.setattr(transfer, "fine_tune", recording)
    recipe = transfer.Recipe(epochs=1, steps_per_epoch=1, batch_size=2, crop=64)
    result = transfer.leave_some_out(tiny_folder, recipe, n_folds=2, progress=False)

    names = transfer.real_pairs(tiny_folder).names
    assert len(trained_on) == 2 * len(transfer.LEARNERS)
    for k, (_, test) in enumerate(result.folds):
        held_out = {names[i] for i in test}
        assert all(not seen & held_out for seen in trained_on[k * 2 : k * 2 + 2])
    assert [row["model"] for row in result.rows] == list(transfer.METHODS)
    for method in transfer.METHODS:
        assert len(result.probabilities[method]) == 5
        assert all(p.shape == (64, 64) for p in result.probabilities[method])
        assert 0.0 <= result.row(method)["f1"] <= 1.0
    assert result.row("fine-tuned")["time (s)"] > 0 and result.row("zero-shot")["time (s)"] is None
    with pytest.raises(ValueError, match="unknown methods"):
        transfer.leave_some_out(tiny_folder, recipe, methods=["fine-tuned", "magic"])


def test_levir_weights_script_writes_weights_the_kit_can_load(
    tiny_folder: Path, tmp_path: Path, load_script, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The script's tiny run: scores first, then weights that load_pretrained's route and the
    command line's (``load_model``) both rebuild at half resolution."""
    from ceec_lab.files import load_torch
    from ceec_lab.models.rescaled import Rescaled
    from ceec_lab.train.runs import load_model

    script = load_script("train_levir_weights", "scripts")
    out = tmp_path / "levir.pt"
    argv = ["x", "--root", str(tiny_folder), "--folds", "2", "--epochs", "1"]
    argv += ["--steps-per-epoch", "1", "--batch-size", "2", "--crop", "64", "--out", str(out)]
    monkeypatch.setattr("sys.argv", argv)
    script.main()

    stored = load_torch(out)
    rows = stored["leave_some_out"]["rows"]
    assert [row["model"] for row in rows] == ["differencing + Otsu", "zero-shot", "fine-tuned"]
    assert stored["pairs"] == transfer.real_pairs(tiny_folder).names
    assert out.with_suffix(".json").is_file()
    model, _ = load_model(out, device="cpu")
    assert isinstance(model, Rescaled) and model.scale == 0.5
    probs = model(torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64))[0]
    assert probs.shape == (1, 2, 64, 64)


def test_leave_some_out_starts_from_the_network_it_is_given(tiny_folder: Path) -> None:
    """``start`` replaces the shipped weights for zero-shot and fine-tuned, and each fold
    fine-tunes a copy: the network passed in is left as it was."""
    start = load_pretrained("ceecnet-tiny-synthetic")
    before = {name: value.clone() for name, value in start.state_dict().items()}
    recipe = transfer.Recipe(epochs=1, steps_per_epoch=1, batch_size=2, crop=64)

    def zero_shot(**kwargs) -> torch.Tensor:
        result = transfer.leave_some_out(tiny_folder, recipe, 2, ["zero-shot"], **kwargs)
        return torch.stack(result.probabilities["zero-shot"])  # (5, 64, 64)

    assert torch.equal(zero_shot(progress=False), zero_shot(progress=False, start=start))
    fresh = create_model("ceecnet_v1", **transfer.TINY_KWARGS)
    assert not torch.equal(zero_shot(progress=False), zero_shot(progress=False, start=fresh))
    transfer.leave_some_out(tiny_folder, recipe, 2, ["fine-tuned"], progress=False, start=start)
    assert all(torch.equal(before[name], value) for name, value in start.state_dict().items())
