"""bench/condition_spread.py on a tiny random model: one value per attribute, cosines in range, and a model
whose conditions ignore the words reads 1.0."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
from conftest import tiny_pipeline

_spec = importlib.util.spec_from_file_location(
    "condition_spread", Path(__file__).parents[1] / "bench" / "condition_spread.py"
)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def test_spread_groups_pairs_by_the_one_attribute_they_differ_in(monkeypatch):
    pipe = tiny_pipeline("anchor")
    r = bench.spread(pipe)
    assert set(r) == {"digit", "colour", "motion", "all pairs"}
    assert all(-1 <= v <= 1 for v in r.values()) and r["all pairs"] < 1
    real = pipe.model.condition

    def deaf(ids, mask, *a, **kw):  # the same Z whatever the caption
        cond = real(ids, mask, *a, **kw)
        cond.pooled = torch.ones_like(cond.pooled)
        return cond

    monkeypatch.setattr(pipe.model, "condition", deaf)
    assert bench.spread(pipe) == pytest.approx({k: 1.0 for k in r}, abs=1e-4)
