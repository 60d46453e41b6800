"""What one step sees: its batch as a pure function of (seed, step, rank), and clips fitted to the model."""

from __future__ import annotations

import torch


def match_video_size(video: torch.Tensor, num_frames: int, height: int, width: int) -> torch.Tensor:
    """(B, C, T, H, W) → (B, C, num_frames, height, width): frames picked evenly in time, area-resized in space.

    Lets a small preset (tests: 4 frames of 16×16) train on any dataset without the dataset knowing.
    """
    b, c, t, h, w = video.shape
    if t != num_frames:
        idx = torch.linspace(0, t - 1, num_frames).round().long()
        video = video[:, :, idx]
    if (h, w) != (height, width):
        frames = video.transpose(1, 2).reshape(b * num_frames, c, h, w)
        frames = torch.nn.functional.interpolate(frames, size=(height, width), mode="area")
        video = frames.reshape(b, num_frames, c, height, width).transpose(1, 2)
    return video


class StepBatchSampler(torch.utils.data.Sampler):
    """Batches as a pure function of (seed, step, rank): resuming at step s replays exactly what follows.

    Finite datasets are walked in a fresh permutation each epoch; very large virtual datasets (Moving
    Digits renders clip i from a seed derived from i) are walked in order.
    """

    def __init__(
        self, n: int, batch_size: int, *, seed: int, start_step: int, steps: int, rank: int = 0, world: int = 1
    ):
        self.n, self.bs, self.seed, self.start, self.steps, self.rank, self.world = (
            n,
            batch_size,
            seed,
            start_step,
            steps,
            rank,
            world,
        )

    def __len__(self) -> int:
        return max(0, self.steps - self.start)

    def indices(self, step: int) -> list[int]:
        first = (step * self.world + self.rank) * self.bs
        out = []
        for g in range(first, first + self.bs):
            epoch, pos = divmod(g, self.n)
            if self.n <= 10_000_000:
                perm = torch.randperm(self.n, generator=torch.Generator().manual_seed(self.seed * 100_003 + epoch))
                pos = int(perm[pos])
            out.append(pos)
        return out

    def __iter__(self):
        for step in range(self.start, self.steps):
            yield self.indices(step)
