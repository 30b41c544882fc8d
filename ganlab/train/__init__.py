"""The one training loop shared by every GAN family (see ``loop.Trainer``)."""

from ganlab.train.checkpoint import CheckpointError, latest_good, list_checkpoints, load_checkpoint
from ganlab.train.config import History, TrainConfig
from ganlab.train.loop import NonFiniteLossError, Trainer

__all__ = ["Trainer", "TrainConfig", "History", "NonFiniteLossError", "CheckpointError",
           "latest_good", "list_checkpoints", "load_checkpoint"]
