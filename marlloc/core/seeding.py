"""One master seed -> independent random streams, one per purpose.

Streams are derived with numpy's SeedSequence so adding a purpose never shifts another
stream; a purpose's stream depends only on (seed, purpose name).
"""

from __future__ import annotations

import zlib

import numpy as np
import torch


def _child(seed: int, purpose: str) -> np.random.SeedSequence:
    return np.random.SeedSequence([int(seed) & 0xFFFFFFFFFFFF, zlib.crc32(purpose.encode())])


def numpy_rng(seed: int, purpose: str) -> np.random.Generator:
    """A numpy Generator for ``purpose`` under master ``seed``."""
    return np.random.default_rng(_child(seed, purpose))


def torch_rng(seed: int, purpose: str, device: str | torch.device = "cpu") -> torch.Generator:
    """A torch Generator on ``device`` for ``purpose`` under master ``seed``."""
    g = torch.Generator(device=device)
    g.manual_seed(int(_child(seed, purpose).generate_state(1, np.uint64)[0] & 0x7FFFFFFFFFFFFFFF))
    return g
