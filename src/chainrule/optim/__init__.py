"""Optimizers (SGD, Adam) and learning-rate schedules; each states its exact update rule."""

from .adam import Adam
from .base import Optimizer
from .clip import clip_grad_norm_
from .schedule import SCHEDULES, Constant, CosineDecay, ExponentialDecay, Schedule, StepDecay
from .sgd import SGD

OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "adam": Adam}

__all__ = [
    "OPTIMIZERS", "SCHEDULES", "SGD", "Adam", "Constant", "CosineDecay", "ExponentialDecay",
    "Optimizer", "Schedule", "StepDecay", "clip_grad_norm_",
]
