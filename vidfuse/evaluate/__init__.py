"""The judge and FD-judge: how well generated clips match their captions (spec: ``specs/moving-digits.md``).

- :mod:`~vidfuse.evaluate.judge`: the judge network, its ensemble, save/load, and reading clips
  (:func:`judge_clips`);
- :mod:`~vidfuse.evaluate.clips`: real test clips, and clips the judge must call invalid or static;
- :mod:`~vidfuse.evaluate.metrics`: scoring verdicts against targets, and FD-judge with its standard error;
- :mod:`~vidfuse.evaluate.harness`: the judge's self-test, and a generator judged on test or your own captions;
- :mod:`~vidfuse.evaluate.report`: the tables and lines that ``vidfuse eval`` prints.

Why the judge and its measures are as they are, with figures: ``docs/decisions/evaluation.md``.
"""

from vidfuse.evaluate.clips import INVALID_KINDS, freeze, invalid_clips, occluded, real_test_clips
from vidfuse.evaluate.harness import (
    SELF_TEST_MIN_JOINT,
    GeneratorLike,
    Progress,
    evaluate_captions,
    evaluate_captions_file,
    evaluate_model,
    judge_accuracy_on_real,
    judge_self_test,
    read_captions_file,
)
from vidfuse.evaluate.judge import (
    CONFIG_NAME,
    COUNT_CLASSES,
    ENSEMBLE_NAME,
    JUDGE_DIR,
    JUDGE_FRAMES,
    JUDGE_SIZE,
    STATIC,
    WEIGHTS_NAME,
    Judge,
    JudgeConfig,
    JudgeEnsemble,
    clips_to_tensor,
    colour_classes,
    judge_clips,
    load_judge,
    motion_classes,
    save_judge,
)
from vidfuse.evaluate.metrics import (
    FD_ERROR_ROUNDS,
    FD_MIN_N,
    frechet_distance,
    frechet_distance_with_error,
    score_clips,
    summarise_scores,
)
from vidfuse.evaluate.report import fd_summary, report_tables

__all__ = [
    "CONFIG_NAME",
    "COUNT_CLASSES",
    "ENSEMBLE_NAME",
    "FD_ERROR_ROUNDS",
    "FD_MIN_N",
    "INVALID_KINDS",
    "JUDGE_DIR",
    "JUDGE_FRAMES",
    "JUDGE_SIZE",
    "SELF_TEST_MIN_JOINT",
    "STATIC",
    "WEIGHTS_NAME",
    "GeneratorLike",
    "Judge",
    "JudgeConfig",
    "JudgeEnsemble",
    "Progress",
    "clips_to_tensor",
    "colour_classes",
    "evaluate_captions",
    "evaluate_captions_file",
    "read_captions_file",
    "evaluate_model",
    "fd_summary",
    "freeze",
    "frechet_distance",
    "frechet_distance_with_error",
    "invalid_clips",
    "judge_accuracy_on_real",
    "judge_clips",
    "judge_self_test",
    "load_judge",
    "motion_classes",
    "occluded",
    "real_test_clips",
    "report_tables",
    "save_judge",
    "score_clips",
    "summarise_scores",
]
