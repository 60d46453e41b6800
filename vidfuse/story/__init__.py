"""Narrated stories: a script becomes scenes (planner), then clips, speech and subtitles in one MP4 (compose).

from vidfuse.story import render_story
render_story("story.txt", "story.mp4", aspect="16:9", subtitles="soft")
"""

from vidfuse.story.compose import StoryResult, render_story
from vidfuse.story.planner import Scene, load_script, plan_story
from vidfuse.story.timeline import SceneRender

__all__ = ["Scene", "SceneRender", "StoryResult", "load_script", "plan_story", "render_story"]
