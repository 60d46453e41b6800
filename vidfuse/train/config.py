"""What a run trains: its config (preset → file → overrides) and the dataset it names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vidfuse.config import TrainConfig, load_config_file, merge_model_layers


def resolve_config(preset: str = "small", config_file: str | Path | None = None, **overrides: Any) -> TrainConfig:
    """Preset, then a YAML/JSON file, then explicit overrides (None values are ignored). The model's family is
    the last ``generator`` named; its preset settings come first (:func:`vidfuse.config.merge_model_layers`)."""
    data = TrainConfig(preset=preset).to_dict()
    file_data = load_config_file(config_file) if config_file else {}
    file_model = file_data.pop("model", None) or {}
    model_over = overrides.pop("model", None) or {}
    data.update(file_data)
    data.update({k: v for k, v in overrides.items() if v is not None})
    data["model"] = merge_model_layers(preset, file_model, model_over)
    return TrainConfig.from_dict(data)


def build_dataset(cfg: TrainConfig):
    if cfg.data == "moving-digits":
        from vidfuse.data.moving_digits import MovingDigits

        return MovingDigits(
            "train", level=tuple(cfg.level), lang=cfg.lang, size=10**9, seed=cfg.seed, paraphrase=cfg.paraphrase
        )
    from vidfuse.data.folder import open_dataset

    m = cfg.model
    return open_dataset(
        cfg.data,
        num_frames=m.num_frames,
        size=(m.height, m.width),
        hflip_p=0.5,
        allow_outside_paths=cfg.allow_outside_paths,
    )


def corpus_captions(dataset, n: int = 4000) -> list[str]:
    """Captions to build the tokenizer's vocabulary from (any character outside it still encodes, as bytes)."""
    if hasattr(dataset, "captions"):
        caps = dataset.captions
        return list(caps(n) if callable(caps) else caps)
    return [dataset[i][1] for i in range(min(n, len(dataset)))]
