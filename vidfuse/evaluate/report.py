"""What ``vidfuse eval`` prints: the self-test and judged-accuracy tables, and the FD-judge line."""

from __future__ import annotations

from typing import Any

from vidfuse.evaluate.harness import SELF_TEST_MIN_JOINT
from vidfuse.evaluate.metrics import FD_MIN_N


def report_tables(self_test: dict[str, Any] | None, result: dict[str, Any] | None) -> list:
    """Rich tables for ``vidfuse eval``: the judge's self-test, then the model's judged accuracy."""
    from rich.table import Table

    def pct(x) -> str:
        return "—" if x is None else f"{100 * x:.1f}"

    tables = []
    if self_test is not None:
        cached = " · cached result for this judge" if self_test.get("cached") else ""
        t = Table(title=f"judge self-test (real test clips; bad clips must be judged wrong){cached}")
        for col in ("check", "n", "digit", "colour", "motion", "joint", "verdict"):
            t.add_column(col, justify="left" if col in ("check", "verdict") else "right")
        for level in (1, 2):
            for part in ("seen", "held_out", "all"):
                r = self_test[f"real_level{level}"][part]
                ok = ""
                if part == "all" and level == 1:  # level 2 is reported: overlapping digits cap it (see occluded)
                    ok = "pass" if r["joint"] is not None and r["joint"] >= SELF_TEST_MIN_JOINT else "FAIL"
                t.add_row(
                    f"real, level {level}, {part.replace('_', '-')}",
                    str(r["n"]),
                    pct(r["digit"]),
                    pct(r["colour"]),
                    pct(r["motion"]),
                    pct(r["joint"]),
                    ok,
                )
        for name in ("black", "noise", "frozen"):
            r = self_test[name]
            t.add_row(
                f"{name} clips",
                str(r["n"]),
                "",
                "",
                "",
                f"wrong {pct(r['wrong'])}",
                "pass" if r["wrong"] == 1.0 else "FAIL",
            )
        tables.append(t)
    if result is not None:
        two = result["level"] == 2
        mode = "text + first frame" if result["image_conditioned"] else "text"
        t = Table(title=f"judged accuracy, %: level {result['level']}, {mode} → video, {result['n']} test captions")
        cols = (
            ["pairs / language", "n", "digit", "colour", "motion"]
            + (["per digit"] if two else [])
            + ["joint", "judge on real"]
        )
        for col in cols:
            t.add_column(col, justify="left" if col == "pairs / language" else "right")
        for key in ("seen/en", "seen/zh", "held_out/en", "held_out/zh", "seen", "held_out", "all"):
            r, real = result["groups"][key], result["judge_on_real"][key]
            t.add_row(
                key.replace("_", "-"),
                str(r["n"]),
                pct(r["digit"]),
                pct(r["colour"]),
                pct(r["motion"]),
                *([pct(r["per_digit"])] if two else []),
                pct(r["joint"]),
                pct(real["joint"]),
            )
        t.caption = f"{fd_summary(result)} · {result['clips_per_second']:.1f} clips/s generated"
        tables.append(t)
    return tables


def fd_summary(result: dict[str, Any]) -> str:
    """One line: FD-judge ± its standard error beside the real-vs-real floor and n, or why it is missing."""
    n = result["n"]
    if result.get("fd_judge") is None:
        return f"FD-judge not computed: n = {n} clips is below {result.get('fd_min_n', FD_MIN_N)}, where it is noise"
    return (
        f"FD-judge {result['fd_judge']:.1f} ± {result['fd_judge_se']:.1f} (real vs real: "
        f"{result['fd_judge_real_vs_real']:.1f} ± {result['fd_judge_real_vs_real_se']:.1f}; n = {n})"
    )
