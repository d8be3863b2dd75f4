"""What a new user meets at the command line: every bad input is named, nothing is lost.

Each row runs one ``ceec-lab`` command in-process (``ceec_lab.cli.main``) and
checks its exit code, that the message names the file or key at fault, and that
no output was left behind (or that earlier outputs are untouched). The shipped
weights work wherever a checkpoint does, and an interrupted run with
augmentation resumes to bit-identical losses.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
from PIL import Image

from ceec_lab.cli import main
from ceec_lab.data import write_change_folder
from ceec_lab.files import load_torch
from ceec_lab.models.pretrained import pretrained_path
from ceec_lab.train.trainer import Trainer

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
TINY = ["data.size=32", "data.n_train=8", "data.n_val=4", "data.batch_size=4"]
SHIPPED = "ceecnet-tiny-synthetic"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``ceec-lab ARGS`` in-process: ``(exit code, stdout, stderr)``."""
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def train_args(config: str, out: Path, *extra: str) -> list[str]:
    return [
        *("train", "--config", CONFIGS / config, "--quiet", *TINY),
        *("train.num_epochs=1", f"train.out_dir={out}", *extra),
    ]


def write_pairs(root: Path, names: list[str], size: int = 64, bands: int = 3) -> Path:
    """Random ``root/{A,B}/<name>.png`` image pairs and 0/255 ``label/`` masks."""
    rng = np.random.default_rng(0)
    for folder in ("A", "B", "label"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for name in names:
        for date in ("A", "B"):
            pixels = rng.integers(0, 256, (size, size, bands), dtype=np.uint8).squeeze()
            Image.fromarray(pixels).save(root / date / f"{name}.png")
        label = (rng.random((size, size)) > 0.8).astype(np.uint8) * 255
        Image.fromarray(label).save(root / "label" / f"{name}.png")
    return root


def predict_args(pairs: Path, out: Path, checkpoint: str | Path, *extra: str) -> list[str]:
    return [
        *("predict", "--image1", pairs / "A", "--image2", pairs / "B", "--out", out),
        *("--checkpoint", checkpoint, "--window", "64", "--stride", "64", "--quiet", *extra),
    ]


def leftovers(folder: Path) -> list[str]:
    """Files in ``folder`` (temporary ones included); [] when it does not exist."""
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


# ------------------------------------------------------------ shipped weights
@pytest.mark.parametrize("checkpoint", [SHIPPED, str(pretrained_path(SHIPPED))])
def test_shipped_weights_predict_by_name_or_file(tmp_path: Path, capsys, checkpoint: str):
    pairs = write_pairs(tmp_path / "pairs", ["a", "b"])
    code, _, err = run(capsys, *predict_args(pairs, tmp_path / "pred", checkpoint))
    assert code == 0, err
    assert leftovers(tmp_path / "pred" / "masks") == ["a.png", "b.png"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder


def test_shipped_weights_evaluate_with_the_model_the_file_records(capsys):
    code, out, err = run(capsys, "evaluate", "--checkpoint", SHIPPED, "data.n_val=4", "--quiet")
    assert code == 0, err  # the default model (fc_siam_diff) would not take these weights
    assert f"scoring {SHIPPED} on 4 synthetic change pairs of 64×64 (seed 1" in out
    f1 = float(next(line.split()[1] for line in out.splitlines() if line.split()[0] == "f1"))
    assert f1 > 0.5


# ------------------------------------------------------- broken checkpoints
def _truncated(path: Path) -> None:
    data = pretrained_path(SHIPPED).read_bytes()
    path.write_bytes(data[: len(data) // 2])


BROKEN_CHECKPOINTS = {
    "truncated": (_truncated, "not a readable checkpoint"),
    "empty": (lambda path: path.write_bytes(b""), "not a readable checkpoint"),
    "text": (lambda path: path.write_text("model: unet\n"), "not a readable checkpoint"),
    "foreign": (lambda path: torch.save({"weights": torch.ones(2)}, path), "not a ceec_lab"),
    "a tensor": (lambda path: torch.save(torch.ones(2), path), "holds a Tensor"),
}


@pytest.mark.parametrize("kind", BROKEN_CHECKPOINTS)
@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_broken_checkpoint_is_named(tmp_path: Path, capsys, kind: str, command: str):
    make, message = BROKEN_CHECKPOINTS[kind]
    checkpoint = tmp_path / "model.pt"
    make(checkpoint)
    if command == "evaluate":
        args = ["evaluate", "--checkpoint", checkpoint, "--quiet"]
    else:
        args = predict_args(write_pairs(tmp_path / "pairs", ["a"]), tmp_path / "pred", checkpoint)
    code, _, err = run(capsys, *args)
    assert code == 2
    assert f"error: {checkpoint}: " in err and message in err
    assert "Traceback" not in err and leftovers(tmp_path / "pred") == []


def test_unknown_checkpoint_name_lists_the_shipped_ones(capsys):
    code, _, err = run(capsys, "evaluate", "--checkpoint", "ceecnet-huge")
    assert code == 2 and "checkpoint file not found: ceecnet-huge" in err and SHIPPED in err


def test_checkpoint_of_another_model_is_named(tmp_path: Path, capsys):
    config = ["--config", CONFIGS / "fc_ef.yaml"]
    code, _, err = run(capsys, "evaluate", "--checkpoint", SHIPPED, *config, *TINY, "--quiet")
    assert code == 2 and "ceecnet_tiny_synthetic.pt: holds weights of ceecnet_v1" in err
    assert "do not fit the model built here (fc_ef)" in err and "missing" in err


# ------------------------------------------------------------------ train
def test_train_refuses_an_out_dir_holding_a_run(tmp_path: Path, capsys):
    out = tmp_path / "run"
    assert run(capsys, *train_args("fc_ef.yaml", out))[0] == 0
    best = (out / "best.pt").read_bytes()
    code, _, err = run(capsys, *train_args("fc_ef.yaml", out, "train.lr=1e-1"))
    assert code == 2
    assert f"train.out_dir {out}: already holds files (best.pt" in err
    assert "--overwrite" in err and "--resume" in err
    assert (out / "best.pt").read_bytes() == best
    assert run(capsys, *train_args("fc_ef.yaml", out, "train.lr=1e-1", "--overwrite"))[0] == 0
    assert load_torch(out / "best.pt")["config"]["train"]["lr"] == 0.1


def test_resume_with_another_model_changes_nothing(tmp_path: Path, capsys):
    out = tmp_path / "run"
    assert run(capsys, *train_args("fc_ef.yaml", out))[0] == 0
    before = {name: (out / name).read_bytes() for name in leftovers(out)}
    code, _, err = run(capsys, *train_args("fc_siam_diff.yaml", out, "--resume"))
    assert code == 2
    assert f"--resume: {out / 'last.pt'} holds model fc_ef" in err and "fc_siam_diff" in err
    assert {name: (out / name).read_bytes() for name in leftovers(out)} == before


def test_truncated_last_checkpoint_is_named_on_resume(tmp_path: Path, capsys):
    out = tmp_path / "run"
    assert run(capsys, *train_args("fc_ef.yaml", out))[0] == 0
    data = (out / "last.pt").read_bytes()
    (out / "last.pt").write_bytes(data[: len(data) // 3])
    code, _, err = run(capsys, *train_args("fc_ef.yaml", out, "--resume"))
    assert code == 2 and f"{out / 'last.pt'}: not a readable checkpoint" in err


def test_a_size_the_model_cannot_take_stops_before_any_output(tmp_path: Path, capsys):
    out = tmp_path / "run"
    code, _, err = run(capsys, *train_args("ceecnet_v1.yaml", out, "data.size=100"))
    assert code == 2 and "data.size: ceecnet_v1 cannot take 100×100 images" in err
    assert not out.exists()


def _folder_args(data: Path, out: Path, *extra: str) -> list[str]:
    return train_args("fc_ef.yaml", out, "data.kind=folder", f"data.path={data}", *extra)


def test_grey_label_in_the_last_file_stops_before_training(tmp_path: Path, capsys):
    data = tmp_path / "data"
    write_pairs(data / "train", ["a", "b"], size=32)
    write_pairs(data / "val", ["a", "z"], size=32)
    Image.fromarray(np.full((32, 32), 128, np.uint8)).save(data / "val" / "label" / "z.png")
    code, _, err = run(capsys, *_folder_args(data, tmp_path / "run"))
    assert code == 2 and f"{data / 'val' / 'label' / 'z.png'}: label values [128]" in err
    assert not (tmp_path / "run").exists()  # no config.yaml either


def test_tiles_of_mixed_sizes_need_a_patch_size(tmp_path: Path, capsys):
    data = write_pairs(tmp_path / "data", ["small"], size=32)
    write_pairs(data, ["large"], size=64)
    code, _, err = run(capsys, *_folder_args(data, tmp_path / "run"))
    assert code == 2 and "data.patch_size:" in err and "large: 64×64" in err
    assert not (tmp_path / "run").exists()
    assert run(capsys, *_folder_args(data, tmp_path / "run", "data.patch_size=32"))[0] == 0


def test_four_band_tiff_needs_chosen_bands(tmp_path: Path, capsys):
    data = write_pairs(tmp_path / "data", ["a"], size=32)
    for date in ("A", "B"):
        (data / date / "a.png").unlink()
        pixels = np.zeros((4, 32, 32), np.uint8)
        tifffile.imwrite(
            data / date / "a.tif", pixels, photometric="minisblack", planarconfig="separate"
        )
    code, _, err = run(capsys, *_folder_args(data, tmp_path / "run"))
    assert code == 2 and f"{data / 'A' / 'a.tif'}: expected 3 bands, found 4" in err
    assert "bands=[0, 1, 2]" in err and not (tmp_path / "run").exists()
    assert run(capsys, *_folder_args(data, tmp_path / "run", "data.bands=[0, 1, 2]"))[0] == 0


def _interrupt_at_step(monkeypatch: pytest.MonkeyPatch, step: int) -> None:
    """Make the trainer raise KeyboardInterrupt (Ctrl-C) at optimisation step ``step``."""
    original = Trainer._train_step

    def train_step(self: Trainer, batch: dict, epoch: int) -> float:
        if self.step + 1 == step:
            raise KeyboardInterrupt
        return original(self, batch, epoch)

    monkeypatch.setattr(Trainer, "_train_step", train_step)


def test_ctrl_c_names_the_last_checkpoint_and_the_resume_command(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    _interrupt_at_step(monkeypatch, 3)  # in epoch 2 (2 steps an epoch)
    code, _, err = run(capsys, *train_args("fc_ef.yaml", out, "train.num_epochs=3"))
    assert code == 130 and "Traceback" not in err
    assert f"the last checkpoint is {out / 'last.pt'} (epoch 1)" in err
    assert "continue with: ceec-lab train --config" in err and err.rstrip().endswith("--resume")
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("num_workers", [0, 1])
def test_resume_with_augmentation_is_exact(tmp_path, capsys, monkeypatch, num_workers: int):
    """CEECNet with the augmentation on: interrupted + resumed = uninterrupted, bit for bit.

    Epoch 2 is cut at its second step; the resumed run redoes epoch 2 from the
    checkpoint of epoch 1, so its augmentations must continue from that point.
    """
    extra = ["train.num_epochs=2", "data.augment=true", f"data.num_workers={num_workers}"]
    extra += ["data.n_train=2", "data.n_val=1", "data.batch_size=1"]  # 2 steps an epoch
    assert run(capsys, *train_args("ceecnet_v1.yaml", tmp_path / "whole", *extra))[0] == 0
    with monkeypatch.context() as patch:
        _interrupt_at_step(patch, 4)
        assert run(capsys, *train_args("ceecnet_v1.yaml", tmp_path / "cut", *extra))[0] == 130
    code, _, err = run(capsys, *train_args("ceecnet_v1.yaml", tmp_path / "cut", *extra, "--resume"))
    assert code == 0, err
    whole, cut = (json.loads((tmp_path / r / "history.json").read_text()) for r in ("whole", "cut"))
    assert len(cut["steps"]) == 4
    assert [s["loss"] for s in cut["steps"]] == [s["loss"] for s in whole["steps"]]


# ---------------------------------------------------------------- predict
def test_predict_refuses_a_non_empty_out_unless_told(tmp_path: Path, capsys):
    pairs, out = write_pairs(tmp_path / "pairs", ["a"]), tmp_path / "pred"
    (out / "masks").mkdir(parents=True)
    (out / "masks" / "stale.png").write_bytes(b"old")
    code, _, err = run(capsys, *predict_args(pairs, out, SHIPPED))
    assert code == 2 and f"--out {out}: already holds files (masks)" in err
    assert leftovers(out) == ["masks", "stale.png"]
    assert run(capsys, *predict_args(pairs, out, SHIPPED, "--overwrite"))[0] == 0
    assert leftovers(out / "masks") == ["a.png"]  # the stale mask is gone, not mixed in


def test_predict_out_pointing_at_a_file(tmp_path: Path, capsys):
    pairs, out = write_pairs(tmp_path / "pairs", ["a"]), tmp_path / "pred.png"
    out.write_bytes(b"x")
    code, _, err = run(capsys, *predict_args(pairs, out, SHIPPED))
    assert code == 2 and f"--out {out}: is a file; expected a folder" in err


@pytest.mark.parametrize("damage", ["header", "pixels"])
def test_predict_corrupt_image_leaves_no_masks(tmp_path: Path, capsys, damage: str):
    pairs = write_pairs(tmp_path / "pairs", ["a", "b", "c", "d", "e"])
    broken = pairs / "B" / "d.png"
    data = broken.read_bytes()
    broken.write_bytes(b"garbage" if damage == "header" else data[: len(data) // 2])
    code, _, err = run(capsys, *predict_args(pairs, tmp_path / "pred", SHIPPED))
    assert code == 2 and f"{broken}: cannot be read as an image" in err
    assert leftovers(tmp_path / "pred") == []
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_predict_dates_of_different_sizes_are_named_first(tmp_path: Path, capsys):
    pairs = write_pairs(tmp_path / "pairs", ["a", "b"])
    Image.new("RGB", (96, 64)).save(pairs / "B" / "b.png")
    code, _, err = run(capsys, *predict_args(pairs, tmp_path / "pred", SHIPPED))
    assert code == 2 and "the two dates differ in size" in err and str(pairs / "B" / "b.png") in err
    assert leftovers(tmp_path / "pred") == []


def test_predict_four_band_image_is_an_error(tmp_path: Path, capsys):
    pairs = write_pairs(tmp_path / "pairs", ["a"], bands=4)
    code, _, err = run(capsys, *predict_args(pairs, tmp_path / "pred", SHIPPED))
    assert code == 2 and f"{pairs / 'A' / 'a.png'}: expected 3 bands, found 4" in err


def test_predict_window_the_model_cannot_take(tmp_path: Path, capsys):
    pairs = write_pairs(tmp_path / "pairs", ["a"])
    args = predict_args(pairs, tmp_path / "pred", SHIPPED, "--window", "100")
    code, _, err = run(capsys, *args)
    assert code == 2 and "--window: ceecnet_v1 cannot take 100×100 images" in err
    assert leftovers(tmp_path / "pred") == []


def test_predict_shows_progress_over_images(tmp_path: Path, capsys):
    pairs = write_pairs(tmp_path / "pairs", ["a", "b"])
    args = [a for a in predict_args(pairs, tmp_path / "pred", SHIPPED) if a != "--quiet"]
    code, _, err = run(capsys, *args)
    assert code == 0 and "2/2" in err and "image" in err


# ------------------------------------------------------------ data synth
def test_synth_into_a_non_empty_folder_changes_nothing(tmp_path: Path, capsys):
    out = tmp_path / "synth"
    write_change_folder(out, 2, 32, seed=0, progress=False)
    before = {p: p.read_bytes() for p in out.rglob("*.png")}
    code, _, err = run(
        capsys, "data", "synth", "--out", out, "--n", "4", "--size", "32", "--seed", "1"
    )
    assert code == 2 and f"--out {out}: already holds files (A, B, label)" in err
    assert {p: p.read_bytes() for p in out.rglob("*.png")} == before
    args = ["data", "synth", "--out", out, "--n", "3", "--size", "32", "--overwrite"]
    assert run(capsys, *args)[0] == 0
    assert leftovers(out / "A") == ["00000.png", "00001.png", "00002.png"]


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--size", "8"], "--size must be at least 16 pixels, got 8"), (["--n", "0"], None)],
)
def test_synth_bad_arguments(tmp_path: Path, capsys, args: list[str], message: str | None):
    out = tmp_path / "synth"
    if message is None:  # argparse's own check: exit code 2, usage on stderr
        with pytest.raises(SystemExit) as exit_info:
            main(["data", "synth", "--out", str(out), *args])
        assert exit_info.value.code == 2 and "--n" in capsys.readouterr().err
    else:
        code, _, err = run(capsys, "data", "synth", "--out", out, *args)
        assert code == 2 and message in err
    assert not out.exists()


def test_synth_out_pointing_at_a_file(tmp_path: Path, capsys):
    out = tmp_path / "file"
    out.write_text("x")
    code, _, err = run(capsys, "data", "synth", "--out", out, "--n", "1", "--size", "16")
    assert code == 2 and f"--out {out}: is a file" in err


# -------------------------------------------------------- info and --help
def test_levircd_variable_pointing_nowhere_is_an_error(capsys, monkeypatch):
    monkeypatch.setenv("CEEC_LAB_LEVIRCD", "/does/not/exist")
    code, out, err = run(capsys, "info")
    assert code == 2 and "$CEEC_LAB_LEVIRCD=/does/not/exist: not a folder with A/ and B/" in err
    assert "LEVIR-CD samples: error, see below" in out  # not another folder found instead


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        (["data", "synth"], ["(default: 100)", "(default: 256)", "(default: 0.5)"]),
        (["predict"], ["predict.window)", "the paper: 64)", "(default: 8 on a GPU, 1 on a"]),
        (["train"], ["(default: False)"]),
        (["evaluate"], ["(default: False)"]),
    ],
)
def test_every_help_shows_defaults(capsys, command: list[str], shown: list[str]):
    with pytest.raises(SystemExit):
        main([*command, "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    assert all(default in text for default in shown), text
    assert "(default: None)" not in text  # an option without a default says where it comes from


def test_levircd_fallback_is_kept_when_the_variable_is_unset(tmp_path: Path, monkeypatch):
    from ceec_lab import settings

    samples = tmp_path / "shared" / "data" / "levircd_samples"
    (samples / "A").mkdir(parents=True)
    (samples / "B").mkdir()
    monkeypatch.setattr(settings, "PROJECT_ROOT", tmp_path / "project")
    monkeypatch.delenv("CEEC_LAB_LEVIRCD", raising=False)
    assert settings.find_levircd_samples() == samples
    monkeypatch.setenv("CEEC_LAB_LEVIRCD", str(tmp_path / "typo"))
    with pytest.raises(ValueError, match=r"\$CEEC_LAB_LEVIRCD=.*typo: not a folder"):
        settings.find_levircd_samples()
