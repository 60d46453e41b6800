"""`make demo`'s job: clips for seen and held-out prompts in both languages, a contact sheet, two stories."""

import shutil

from conftest import tiny_pipeline

from vidfuse.demo import PROMPTS, STORIES, run_demo
from vidfuse.media.speech import default_piper_voice
from vidfuse.media.video_io import probe_video
from vidfuse.story.music import library_dir


def test_prompts_cover_languages_and_pairs():
    assert {held for _, held in PROMPTS} == {True, False}
    assert any(any("\u4e00" <= ch <= "\u9fff" for ch in p) for p, _ in PROMPTS)
    assert any(p.isascii() for p, _ in PROMPTS)


def test_demo_with_a_model_writes_clips_sheet_and_stories(tmp_path):
    model = tmp_path / "model"
    tiny_pipeline("flow").save_pretrained(model)
    lines = list(run_demo(tmp_path / "out", model=model, story_size=(96, 64), topic_story=False))
    out = tmp_path / "out"
    assert len(list(out.glob("generated_*.mp4"))) == len(PROMPTS)
    assert (out / "generated_sheet.png").stat().st_size > 0
    for name in STORIES:
        assert (out / f"{name}.mp4").is_file() and (out / f"{name}.storyboard.png").is_file()
        info = probe_video(out / f"{name}.mp4")
        assert info.duration_s > 2
        if name == "story_zh":
            assert info.has_audio == (shutil.which("espeak-ng") is not None)
    if default_piper_voice() is not None and library_dir() is not None:  # Piper over a music bed
        assert any("story_en.mp4" in line and "voice: Piper" in line and "music: calm" in line for line in lines)
        assert probe_video(out / "story_en.mp4").has_audio
    assert any("held-out pair" in line for line in lines) and any("seen pair" in line for line in lines)
