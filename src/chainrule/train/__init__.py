"""Training: the one loop (``fit`` / ``Trainer``), ``evaluate``, ``predict``, callbacks,
``History`` and exactly-resumable checkpoints."""

from .callbacks import (
                        Callback,
                        CSVLogger,
                        EarlyStopping,
                        LearningRateScheduler,
                        ModelCheckpoint,
                        ProgressBar,
)
from .checkpoint import NonFiniteLossError, restore_checkpoint, save_checkpoint
from .divergence import Divergence, DivergenceError
from .history import History
from .progress import show_progress
from .trainer import Trainer, TrainingInterrupted, evaluate, fit, predict

__all__ = [
    "CSVLogger", "Callback", "Divergence", "DivergenceError", "EarlyStopping", "History",
    "LearningRateScheduler", "ModelCheckpoint", "NonFiniteLossError", "ProgressBar", "Trainer",
    "TrainingInterrupted", "evaluate", "fit", "predict", "restore_checkpoint", "save_checkpoint",
    "show_progress",
]
