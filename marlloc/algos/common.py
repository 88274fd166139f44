"""Pieces every learner shares: MLPs, the agent-transition replay, atomic run files, episode seeds."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import torch
from torch import Tensor, nn

from marlloc.core.errors import MarllocError
from marlloc.core.seeding import numpy_rng


def mlp(n_in: int, hidden: tuple[int, ...], n_out: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for h in hidden:
        layers += [nn.Linear(n_in, h), nn.ReLU()]
        n_in = h
    return nn.Sequential(*layers, nn.Linear(n_in, n_out))


class Replay:
    """Preallocated ring buffer of agent-transitions; fields are named tensors of fixed width."""

    def __init__(self, size: int, widths: dict[str, int], device: torch.device):
        self.size, self.ptr, self.n = size, 0, 0
        self.data = {k: torch.zeros(size, w, device=device) for k, w in widths.items()}

    def add(self, **rows: Tensor) -> None:
        k = next(iter(rows.values())).shape[0]
        if k == 0:
            return
        if k > self.size:  # more than the buffer holds: keep the newest
            rows = {n: v[-self.size:] for n, v in rows.items()}
            k = self.size
        idx = (self.ptr + torch.arange(k, device=self.data["obs"].device)) % self.size
        for name, v in rows.items():
            self.data[name][idx] = v.reshape(k, -1).to(self.data[name].dtype)
        self.ptr = (self.ptr + k) % self.size
        self.n = min(self.n + k, self.size)

    def sample(self, batch: int, g: torch.Generator) -> dict[str, Tensor]:
        idx = torch.randint(self.n, (batch,), generator=g, device=g.device)
        return {k: v[idx] for k, v in self.data.items()}

    def state_dict(self) -> dict:
        return {"ptr": self.ptr, "n": self.n, **{k: v[: self.n].clone() for k, v in self.data.items()}}

    def load_state_dict(self, d: dict) -> None:
        self.ptr, self.n = int(d["ptr"]), int(d["n"])
        for k, v in self.data.items():
            v[: self.n] = d[k]


class TrainingDiverged(MarllocError):
    """A loss became NaN/inf or exploded; the last good checkpoint is kept."""


def episode_seed(seed: int, episode: int) -> int:
    return int(numpy_rng(seed, f"train_episode_{episode}").integers(2**31))


def save_checkpoint(path: Path, payload: dict) -> None:
    """Atomic: write next to it, then rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def write_rows(path: Path, rows: list[dict], columns: list[str]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, restval="", extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(buf.getvalue())
    os.replace(tmp, path)


__all__ = ["Replay", "TrainingDiverged", "episode_seed", "mlp", "save_checkpoint", "write_rows"]
