"""Progress bars for the commands that run in stages."""

from __future__ import annotations

import contextlib


@contextlib.contextmanager
def stage_bars(labels: dict[str, str]):
    """Rich progress bars, one per stage, driven by a ``progress(stage, fraction)`` callback (yielded)."""
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description:<20}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn()) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, fraction: float) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(labels.get(stage, stage), total=1.0)
            bar.update(tasks[stage], completed=fraction)

        yield progress
