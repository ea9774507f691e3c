"""tinygrad_n2n.utils: gradient checkpointing, as torch.utils.checkpoint."""

from .checkpoint import checkpoint, checkpoint_sequential

__all__ = ["checkpoint", "checkpoint_sequential"]
