"""Model backends besides vidfuse's own: each loads a model folder of another format behind the call and
output contract of :class:`vidfuse.pipeline.TextToVideoPipeline` (prompts in, ``uint8 (B, T, H, W, 3)`` out)."""
