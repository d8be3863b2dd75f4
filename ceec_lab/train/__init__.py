"""The training engine: :class:`Trainer`, callbacks, checkpoints, inference, DDP.

Typical use in a notebook::

    from ceec_lab.train import LivePlot, Trainer

    trainer = Trainer(model, loss_fn, lr=1e-3, callbacks=[LivePlot()])
    history = trainer.fit(train_loader, val_loader, num_epochs=10)
    history.epochs[-1]["val_f1"]

Checkpoints and early stopping are callbacks too; a checkpoint continues a run
(in a later session, with a trainer built the same way)::

    checkpoint = Checkpoint("runs/unet")
    trainer = Trainer(model, loss_fn, callbacks=[EarlyStopping(patience=5), checkpoint])
    trainer.fit(train_loader, val_loader, num_epochs=10)
    trainer.fit(train_loader, val_loader, num_epochs=20, resume=checkpoint.last_path)

From a YAML config (what ``ceec-lab train`` does)::

    from ceec_lab.train import load_config, run_training

    history = run_training(load_config("configs/unet.yaml", ["train.num_epochs=2"]))
"""

from ceec_lab.train.callbacks import Callback, Checkpoint, EarlyStopping, LivePlot
from ceec_lab.train.checkpoints import read_checkpoint
from ceec_lab.train.config import ConfigError, ExperimentConfig, load_config
from ceec_lab.train.history import History
from ceec_lab.train.inference import predict_folder, save_prediction, sliding_window_probs
from ceec_lab.train.runs import load_model, run_evaluation, run_prediction, run_training
from ceec_lab.train.seeding import seed_everything
from ceec_lab.train.trainer import NonFiniteLossError, Trainer, TrainingInterrupted

__all__ = [
    "Callback",
    "Checkpoint",
    "ConfigError",
    "EarlyStopping",
    "ExperimentConfig",
    "History",
    "LivePlot",
    "NonFiniteLossError",
    "Trainer",
    "TrainingInterrupted",
    "load_config",
    "load_model",
    "predict_folder",
    "read_checkpoint",
    "run_evaluation",
    "run_prediction",
    "run_training",
    "save_prediction",
    "seed_everything",
    "sliding_window_probs",
]
