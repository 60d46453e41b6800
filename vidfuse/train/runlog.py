"""What a run reports while it trains: progress bar, metrics.jsonl, TensorBoard, the loss curve (rank 0 only)."""

from __future__ import annotations

import json
import logging
from collections import deque
from pathlib import Path

from vidfuse.fileio import atomic_path, atomic_write_text

logger = logging.getLogger(__name__)

# the collapse detector: a generator that reports ``spread`` (how much its samples differ across a batch of
# captions, relative to real clips; 1 = as much as real ones) is warned about when the mean over the last
# COLLAPSE_WINDOW steps falls below COLLAPSE_SPREAD, at most once every COLLAPSE_WINDOW steps
COLLAPSE_SPREAD = 0.2
COLLAPSE_WINDOW = 50
DIVERGE_SPREAD = 3.0  # ... and when it stays above this: samples far more varied than real clips (drifting apart)
# loss.png's panels besides the losses: what shows a GAN (or VAE) working — the critic's scores on real, fake and
# mismatched clips, the samples' spread, the KL — and the gradient norms, on a log scale (they spike)
PROGRESS_KEYS = ("clips_per_s", "d_real", "d_fake", "spread")  # shown beside the losses on the progress bar
LOSS_TERMS = ("distill", "recon_anchor", "recon_path", "align")
DIAGNOSTIC_PREFIXES = ("d_real", "d_fake", "d_mismatch", "spread", "kl")
GRADIENT_PREFIX = "grad_norm/"


def truncate_metrics(out: Path, start: int) -> None:
    """On resume, drop the rows of ``out/metrics.jsonl`` logged after the checkpoint's step ``start`` (a killed
    run logged them; the resumed run logs them again)."""
    path = out / "metrics.jsonl"
    if path.is_file():
        keep = [row for row in path.read_text().splitlines() if row.strip() and json.loads(row)["step"] <= start]
        atomic_write_text(path, "".join(row + "\n" for row in keep))


class RunLog:
    """Progress bar with ETA, metrics.jsonl, TensorBoard scalars and a loss-curve PNG (rank 0 only)."""

    def __init__(self, out: Path, *, enabled: bool, quiet: bool, start: int, total: int):
        self.enabled, self.out = enabled, out
        self.progress = self.writer = None
        self.spreads: deque[float] = deque(maxlen=COLLAPSE_WINDOW)
        self.warned_at = -COLLAPSE_WINDOW
        if not enabled:
            return
        out.mkdir(parents=True, exist_ok=True)
        self._truncate_metrics(start)
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(out / "tb"), purge_step=start)
        if not quiet:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.progress = Progress(
                TextColumn("train"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[info]}"),
            )
            self.task = self.progress.add_task("train", total=total, completed=start, info="")
            self.progress.start()

    def _truncate_metrics(self, start: int) -> None:
        truncate_metrics(self.out, start)

    def step(self, step: int, logs: dict[str, float]) -> None:
        if not self.enabled:
            return
        with open(self.out / "metrics.jsonl", "a") as f:
            f.write(json.dumps({"step": step, **logs}) + "\n")
        for k, v in logs.items():
            self.writer.add_scalar(k, v, step)
        self.check_collapse(step, logs)
        if self.progress is not None:
            info = " ".join(f"{k}={v:.3g}" for k, v in logs.items() if k.endswith("loss") or k in PROGRESS_KEYS)
            self.progress.update(self.task, completed=step, info=info)

    def check_collapse(self, step: int, logs: dict[str, float]) -> bool:
        """Warn (once a window) when the generator's samples have stopped differing across captions."""
        if "spread" not in logs:
            return False
        self.spreads.append(logs["spread"])
        mean = sum(self.spreads) / len(self.spreads)
        low, high = mean < COLLAPSE_SPREAD, mean > DIVERGE_SPREAD
        if len(self.spreads) < COLLAPSE_WINDOW or not (low or high) or step - self.warned_at < COLLAPSE_WINDOW:
            return False
        self.warned_at = step
        what = (
            "barely differ across captions (real clips = 1): the generator may have collapsed to one picture"
            if low
            else "differ far more than real clips do (real = 1): the generator's outputs are drifting apart"
        )
        logger.warning(
            "step %d: generated clips %s (spread %.3f over the last %d steps); see %s and the samples",
            step,
            what,
            mean,
            COLLAPSE_WINDOW,
            self.out / "loss.png",
        )
        return True

    def plot(self) -> None:
        if not self.enabled:
            return
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        rows = [json.loads(row) for row in (self.out / "metrics.jsonl").read_text().splitlines() if row.strip()]
        keys = sorted({k for r in rows for k in r})
        panels = [
            ("loss", [k for k in keys if k.endswith("loss") or k in LOSS_TERMS], "linear"),
            ("diagnostics", [k for k in keys if k.startswith(DIAGNOSTIC_PREFIXES)], "linear"),
            ("gradient norm (before clipping)", [k for k in keys if k.startswith(GRADIENT_PREFIX)], "log"),
        ]
        panels = [p for p in panels if p[1]]
        fig, axes = plt.subplots(len(panels), 1, figsize=(7, 3.5 * len(panels)), squeeze=False)
        for ax, (title, names, scale) in zip(axes[:, 0], panels):
            for k in names:
                pts = [(r["step"], r[k]) for r in rows if k in r]
                ax.plot(*zip(*pts), label=k, linewidth=1)
            ax.set_title(title)
            ax.set_yscale(scale)
            ax.set_xlabel("step")
            ax.legend(fontsize="small")
            ax.grid(alpha=0.3)
        fig.tight_layout()
        with atomic_path(self.out / "loss.png") as tmp:
            fig.savefig(tmp, dpi=100, bbox_inches="tight")
        plt.close(fig)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
        if self.writer is not None:
            self.writer.close()
