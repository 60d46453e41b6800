"""A ``POST /v1/videos`` request checked before it is queued: against the :class:`Limits`, the model it
names and what this install can run; a script is planned now, so a script the worker could not render is
a 422 at once rather than a failed job later."""

from __future__ import annotations

import random
from typing import Any

from fastapi import HTTPException

from vidfuse.data.durations import length_asked
from vidfuse.data.tokenizer import CUT_HINT
from vidfuse.errors import InputError
from vidfuse.inputs import ONE_PASS_GUIDANCE
from vidfuse.server.schemas import DIFFUSERS_ONLY, PROMPT_ONLY, SCRIPT_ONLY, LimitError, Limits, VideoRequest
from vidfuse.server.served import ServedModel, music_options, voice_options


def size_for_aspect(aspect: str, native_h: int, native_w: int) -> tuple[int, int]:
    """Keep the model's short side, stretch the other to the aspect; even sizes for H.264."""
    a, b = (int(x) for x in aspect.split(":"))
    if a >= b:
        h = native_h
        return h, 2 * round(h * a / b / 2)
    w = native_w
    return 2 * round(w * b / a / 2), w


def check_size(req: VideoRequest, limits: Limits, *, even: bool) -> tuple[int | None, int | None]:
    """Explicit height/width against the limits (None, None when not given)."""
    if (req.height is None) != (req.width is None):
        raise HTTPException(422, "give both height and width, or neither")
    if req.height is None:
        return None, None
    if req.aspect is not None:
        raise HTTPException(422, "give aspect or height/width, not both")
    for name, v in (("height", req.height), ("width", req.width)):
        if v > limits.max_side:
            raise LimitError(
                "max_side", limits.max_side, f"{name}={v} is over the limit of {limits.max_side} pixels (max_side)"
            )
        if v < limits.min_side:
            raise LimitError(
                "min_side", limits.min_side, f"{name}={v} is under the minimum of {limits.min_side} pixels (min_side)"
            )
        if even and v % 2:
            raise HTTPException(422, f"{name}={v}: a story needs even sizes (H.264 4:2:0)")
    if req.height * req.width > limits.max_pixels:
        raise LimitError(
            "max_pixels",
            limits.max_pixels,
            f"{req.width}×{req.height} = {req.width * req.height} "
            f"pixels is over the limit of {limits.max_pixels} pixels a frame (max_pixels)",
        )
    return req.height, req.width


def check_length_in_words(prompt: str, req: VideoRequest, limits: Limits, chosen: ServedModel) -> None:
    """A vidfuse model takes a length stated in the prompt ("for 100 seconds") as the clip's length when the
    request gives no ``frames``: it counts against ``max_frames`` as ``frames`` does."""
    if req.frames is not None or chosen.info.backend != "vidfuse":
        return
    try:
        asked = length_asked(prompt)
    except InputError as e:  # "for -3 seconds"
        raise HTTPException(422, str(e)) from None
    if asked is None:
        return
    fps = req.fps or chosen.info.fps  # counted at the rate asked, as the runner counts it
    n = asked.num_frames(fps)
    if n > limits.max_frames:
        said = f"{asked.frames} frames" if asked.frames is not None else f"{asked.seconds:g} s"
        raise LimitError(
            "max_frames",
            limits.max_frames,
            f"the prompt asks for {said} ({n} frames at {fps:g} fps), over the limit of "
            f"{limits.max_frames} (max_frames): ask for a shorter clip",
        )


def check_request(
    req: VideoRequest, limits: Limits, served: dict[str, ServedModel], default: str
) -> tuple[str, dict[str, Any]]:
    """Validate against the limits; returns (kind, params to store). Raises LimitError / HTTPException(422)."""
    given = req.model_dump(exclude_none=True)
    name = req.model or default
    if name not in served:
        raise HTTPException(422, f"model {name!r} is not served here; the models: {', '.join(served)} (GET /v1/models)")
    chosen = served[name]
    tokenizer = chosen.tokenizer
    if chosen.info.backend != "diffusers":
        wrong = [k for k in DIFFUSERS_ONLY if k in given]
        if wrong:
            raise HTTPException(
                422, f"{', '.join(wrong)}: for pretrained diffusers models; the model {name!r} has no such option"
            )
    if req.frames is not None and req.frames > limits.max_frames:
        raise LimitError(
            "max_frames",
            limits.max_frames,
            f"frames={req.frames} is over the limit of {limits.max_frames} (max_frames)",
        )
    prompt = (req.prompt or "").strip()
    script = (req.script or "").strip()
    if bool(prompt) == bool(script):
        raise HTTPException(422, "send exactly one of a non-empty 'prompt' (one clip) or 'script' (a story)")
    if req.fps is not None and req.fps > limits.max_fps:
        raise LimitError("max_fps", limits.max_fps, f"fps={req.fps} is over the limit of {limits.max_fps} (max_fps)")
    if prompt:
        if len(prompt) > limits.max_prompt_chars:
            raise LimitError(
                "max_prompt_chars",
                limits.max_prompt_chars,
                f"the prompt is {len(prompt)} characters; the limit is {limits.max_prompt_chars} "
                "(max_prompt_chars); for longer text send a 'script'",
            )
        wrong = [k for k in SCRIPT_ONLY if k in given]
        if wrong:
            raise HTTPException(422, f"{', '.join(wrong)}: for script jobs only")
        check_length_in_words(prompt, req, limits, chosen)
        if tokenizer is not None:
            try:
                tokenizer.encode([prompt])
            except InputError as e:
                said = str(e).replace(CUT_HINT, "")  # the service cuts nothing: --truncate is the command line's
                raise LimitError("max_text_len", chosen.max_text_len, f"{said} (the model's max_text_len)") from None
        if req.guidance_scale is not None and req.guidance_scale > limits.max_guidance_scale:
            raise LimitError(
                "max_guidance_scale",
                limits.max_guidance_scale,
                f"guidance_scale={req.guidance_scale} is over {limits.max_guidance_scale} (max_guidance_scale)",
            )
        if req.guidance_scale not in (None, 1.0) and chosen.info.extra.get("guidance") is False:
            raise HTTPException(422, f"guidance_scale={req.guidance_scale}: the model {name!r} {ONE_PASS_GUIDANCE}")
        height, width = check_size(req, limits, even=False)
        if req.aspect is not None:
            height, width = size_for_aspect(req.aspect, chosen.info.height, chosen.info.width)
        params = {
            "prompt": prompt,
            "frames": req.frames,
            "height": height,
            "width": width,
            "aspect": req.aspect,
            "guidance_scale": req.guidance_scale,
        }
        kind = "prompt"
    else:
        if len(script) > limits.max_script_chars:
            raise LimitError(
                "max_script_chars",
                limits.max_script_chars,
                f"the script is {len(script)} characters; the limit is {limits.max_script_chars} "
                "(max_script_chars); split it into several stories",
            )
        wrong = [k for k in PROMPT_ONLY if k in given]
        if wrong:
            raise HTTPException(422, f"{', '.join(wrong)}: for prompt jobs only")
        if req.voice is not None and req.voice not in (allowed := [v["voice"] for v in voice_options()]):
            raise HTTPException(
                422,
                f"voice must be one of {', '.join(allowed)} (GET /v1/info: voices), not {req.voice[:64]!r}"
                if allowed
                else "no voice is installed: send no_voice",
            )
        if req.music is not None and req.music not in music_options():
            raise HTTPException(422, f"music must be one of {', '.join(music_options())}, not {req.music[:64]!r}")
        if req.rate is not None and not limits.min_rate <= req.rate <= limits.max_rate:
            over = req.rate > limits.max_rate
            raise LimitError(
                "max_rate" if over else "min_rate",
                limits.max_rate if over else limits.min_rate,
                f"rate={req.rate} words a minute is outside {limits.min_rate}–{limits.max_rate} (min_rate, max_rate)",
            )
        height, width = check_size(req, limits, even=True)
        params = {
            "script": script,
            "aspect": req.aspect or "16:9",
            "height": height,
            "width": width,
            "lang": req.lang or "auto",
            "subtitles": req.subtitles or "soft",
            "voice": req.voice,
            "rate": req.rate,
            "pitch": req.pitch,
            "no_voice": bool(req.no_voice),
            "frames": req.frames,
            "music": req.music,
        }
        kind = "script"
    params.update(model=name, steps=req.steps, negative_prompt=req.negative_prompt)
    params["fps"] = req.fps or (8.0 if kind == "script" else chosen.info.fps)
    params["seed"] = req.seed if req.seed is not None else random.SystemRandom().randrange(2**31)
    return kind, params


def check_story(params: dict[str, Any]) -> list:
    """Plan the script now, with the story planner's own parsing and limits (scenes, lengths), so
    that a script the worker could not render is a 422 now rather than a failed job later."""
    from vidfuse.story.planner import validate_script

    try:
        # without a voice the composer ignores the rate, so the limits must too
        return validate_script(
            params["script"], lang=params["lang"], rate=None if params.get("no_voice") else params["rate"]
        )
    except InputError as e:
        raise HTTPException(422, str(e)) from None
