"""Typed configs and named presets.

A :class:`ModelConfig` travels inside every model folder as ``config.json`` so the folder rebuilds
itself; a :class:`TrainConfig` is saved with every run as ``config.json`` beside the checkpoints.
Presets are plain functions of nothing, kept in :data:`PRESETS` (the CLI offers the keys as choices).
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from vidfuse.errors import InputError

# ---- documented bounds, checked when a config is read (a model folder's config.json, a training config) ----
GENERATORS = ("gan", "vae", "flow", "anchor")  # the generator families build_generator knows
FRAME_OUTS = ("linear", "tanh")
MAX_FRAMES = 512        # frames per clip, for training and for generation
MAX_SIZE = 512          # native frame height and width in pixels (the pipeline resizes to other sizes)
MAX_WIDTH = 4096        # dim, flow_width, every channel count and latent size
MAX_LAYERS = 64         # layers of any one stack (text, fusion, flow blocks, channel tuples)
MAX_VOCAB = 1_000_000   # vocab_size, text_words
MAX_TEXT_LEN = 4096     # max_text_len
MAX_GUIDANCE = 20.0     # classifier-free guidance: 0 (text ignored) to 20; 1 = off
MAX_SEED = 2**63 - 1    # seeds are 0 ... 2**63 - 1


def offset_seed(seed: int | None, offset: int) -> int | None:
    """``seed + offset`` kept inside 0 … :data:`MAX_SEED` (it wraps): batch chunk and story scene ``i`` use
    ``offset_seed(seed, i)``. ``seed`` must already be valid; ``None`` (random) stays ``None``."""
    return None if seed is None else (seed + offset) % (MAX_SEED + 1)

# field: (low, high) for numbers, inclusive; tuple fields bound each entry and need 1 to MAX_LAYERS entries
_MODEL_BOUNDS: dict[str, tuple[float, float]] = {
    "num_frames": (1, MAX_FRAMES), "height": (8, MAX_SIZE), "width": (8, MAX_SIZE), "channels": (1, 4),
    "dim": (1, MAX_WIDTH), "heads": (1, 64), "text_layers": (0, MAX_LAYERS), "max_text_len": (3, MAX_TEXT_LEN),
    "text_words": (0, MAX_VOCAB), "vocab_size": (0, MAX_VOCAB), "visual_channels": (1, MAX_WIDTH),
    "fusion_layers": (0, MAX_LAYERS), "p_drop_text": (0, 1), "p_image": (0, 1), "gen_channels": (1, MAX_WIDTH),
    "z_content": (1, MAX_WIDTH), "z_motion": (1, MAX_WIDTH), "disc_channels": (1, MAX_WIDTH),
    "r1_gamma": (0, math.inf), "kl_weight": (0, math.inf), "kl_free_nats": (0, math.inf),
    "ae_channels": (1, MAX_WIDTH), "latent_channels": (1, MAX_WIDTH), "ae_steps": (0, math.inf),
    "ae_content_weight": (0, math.inf), "flow_width": (1, MAX_WIDTH), "flow_depth": (1, MAX_LAYERS),
    "flow_patch": (1, 16), "flow_time_patch": (1, 16), "sample_steps": (1, 1000),
    "guidance_scale": (0, MAX_GUIDANCE),
}
_TRAIN_BOUNDS: dict[str, tuple[float, float]] = {
    "level": (1, 2), "paraphrase": (0, 1), "steps": (1, math.inf), "max_minutes": (0, math.inf),
    "batch_size": (1, 65536), "lr": (0, math.inf), "lr_d": (0, math.inf), "lr_ae": (0, math.inf),
    "betas": (0, 1), "weight_decay": (0, math.inf), "grad_clip": (0, math.inf), "ema_decay": (0, 1),
    "warmup_steps": (0, math.inf), "spell_p": (0, 1), "seed": (0, MAX_SEED), "num_workers": (0, 1024),
    "log_every": (1, math.inf), "ckpt_every": (1, math.inf), "sample_every": (1, math.inf),
}


@dataclass
class ModelConfig:
    # --- what to generate -------------------------------------------------------------------
    generator: str = "gan"            # "gan" (the seed's VideoGAN) | "vae" (conditional video VAE) | "flow" (latent
                                      # flow) | "anchor" (anchor flow): GENERATORS
    num_frames: int = 16              # frames per clip at training time; generation may ask for more
    height: int = 64                  # native frame size; other sizes are resized by the pipeline
    width: int = 64
    channels: int = 3
    # --- shared width of text tokens, visual tokens and fusion ------------------------------
    dim: int = 128
    heads: int = 4
    # --- H = Transformer(X): text encoder ---------------------------------------------------
    text_encoder: str = "scratch"     # "scratch" | "minilm" | path to a local Hugging Face encoder folder
    text_layers: int = 2              # layers of the from-scratch encoder
    max_text_len: int = 128           # tokens per prompt, including BOS/EOS (level-2 English Moving Digits
                                      # captions reach 112 characters; far fewer tokens with words)
    text_words: int = 4000            # scratch tokenizer: up to this many frequent words get one token each
                                      # (0: characters only, as models before 2026-11-26)
    vocab_size: int = 0               # set from the tokenizer when the model is built
    freeze_text: bool = True          # pretrained encoders: keep frozen (False = fine-tune)
    # --- V = CNN(I): visual encoder ---------------------------------------------------------
    visual_channels: tuple[int, ...] = (32, 64, 128)  # ResNet stages; each halves the size (64 → 8×8 tokens)
    # --- Z = MultimodalTransformer(H, V): fusion --------------------------------------------
    fusion_layers: int = 2
    p_drop_text: float = 0.1          # modality dropout at train time (enables classifier-free guidance)
    p_image: float = 0.3              # chance a training clip is conditioned on its own first frame
    # --- Y = Generator(Z) --------------------------------------------------------------------
    gen_channels: tuple[int, ...] = (256, 128, 64, 32, 32)  # decoder widths from 4×4 up to 64×64
    z_content: int = 64               # GAN: per-clip content noise; VAE: per-clip latent
    z_motion: int = 16                # GAN: per-frame motion noise; VAE: per-frame latent
    disc_channels: tuple[int, ...] = (32, 64, 128, 256)  # GAN discriminators, 64 → 4
    r1_gamma: float = 0.0             # GAN: R1 penalty weight on real videos (spectral norm already stabilises)
    kl_weight: float = 1e-3           # VAE: beta on the KL term (per latent dim, vs per-pixel recon)
    kl_free_nats: float = 0.0         # VAE: the posterior pays no KL for a clip's first N nats (batch mean; the
                                      # prior still learns from all of it): a guard against posterior collapse
    frame_out: str = "linear"         # GAN/VAE decoder output: "linear" (clamped, straight-through gradient) or
                                      # "tanh" (model configs written before 2026-11-26 load as "tanh": on black
                                      # backgrounds it saturated, see NOTES.md)
    # --- latent flow generator ---------------------------------------------------------------
    ae_channels: tuple[int, ...] = (16, 32, 64)  # per-frame autoencoder; each entry halves the size (64 → 8)
    latent_channels: int = 8          # channels of the per-frame latent (8×8×8 for 64×64 frames)
    ae_steps: int = 1500              # train the autoencoder for this many steps, then freeze it
    ae_content_weight: float = 4.0    # extra loss weight on pixels unlike the frame's background (its median
                                      # colour) in the pixel reconstruction losses (this autoencoder, the VAE):
                                      # sparse scenes' content would otherwise be a tiny part of the loss
                                      # (0: plain L1 + MSE, as models before 2026-11-26)
    flow_width: int = 192             # Transformer width
    flow_depth: int = 6               # Transformer blocks
    flow_patch: int = 2               # latent patch size (8×8 latent → 16 tokens a frame)
    flow_time_patch: int = 2          # frames per token (16 frames → 8 token rows)
    sample_steps: int = 6             # Euler steps at generation time
    guidance_scale: float = 1.0       # classifier-free guidance a pipeline uses unless asked otherwise

    @property
    def native_size(self) -> tuple[int, int]:
        return self.height, self.width

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, prefix: str = "") -> "ModelConfig":
        """Build and :meth:`validate` a config; ``prefix`` names where it sits in messages (``"model."``)."""
        if not isinstance(d, dict):
            raise InputError(f"{prefix.rstrip('.') or 'the model config'} must be a mapping of field: value, "
                             f"got {type(d).__name__}")
        if "generator" in d and "frame_out" not in d:  # a model saved before the field existed used tanh
            d = {**d, "frame_out": "tanh"}
        return _from_dict(cls, d, prefix).validate(prefix)

    def validate(self, prefix: str = "") -> "ModelConfig":
        """Check types, bounds and the fields that must agree, before anything is built from the config:
        :class:`InputError` naming the first bad field and what it may be. Returns ``self``."""
        _check_fields(self, _MODEL_BOUNDS, prefix)
        if self.generator not in GENERATORS:
            raise InputError(f"{prefix}generator {self.generator!r} is unknown; choose one of {', '.join(GENERATORS)}")
        if self.frame_out not in FRAME_OUTS:
            raise InputError(f"{prefix}frame_out {self.frame_out!r} is unknown; choose one of {', '.join(FRAME_OUTS)}")
        if not self.text_encoder.strip():
            raise InputError(f"{prefix}text_encoder is empty; use 'scratch', 'minilm' or a local encoder folder")
        for name in ("dim", "flow_width"):
            if getattr(self, name) % self.heads:
                raise InputError(f"{prefix}{name}={getattr(self, name)} must be divisible by heads={self.heads}")
        # each stage of these stacks halves the frame: the native size must divide evenly
        stacks = {"visual_channels": 2 ** len(self.visual_channels)}
        if self.generator in ("gan", "vae"):
            stacks["gen_channels"] = 2 ** (len(self.gen_channels) - 1)
        else:
            stacks["ae_channels and flow_patch"] = 2 ** len(self.ae_channels) * self.flow_patch
        for what, scale in stacks.items():
            if self.height % scale or self.width % scale:
                raise InputError(f"{prefix}height×width {self.height}×{self.width} must be divisible by {scale} "
                                 f"(set by {prefix}{what})")
        return self


@dataclass
class TrainConfig:
    preset: str = "small"
    data: str = "moving-digits"       # "moving-digits" or a path (folder, WebVid CSV, JSONL, Kinetics CSV, COCO JSON)
    allow_outside_paths: bool = False  # a caption index may name files outside its data folder (else refused)
    level: tuple[int, ...] = (1,)     # Moving Digits levels to mix
    lang: str = "both"                # Moving Digits caption language: en | zh | both
    paraphrase: float = 0.0           # Moving Digits: share of training captions from the wide grammar
                                      # (vidfuse/data/paraphrase.py) instead of the templates; 0 = templates only
    steps: int = 2000
    max_minutes: float = 0.0          # wall-clock budget for the whole run (resumes included); 0 = none. Training
                                      # stops before a step that would overrun it, saving as at --steps
    batch_size: int = 32              # per process
    lr: float = 2e-4
    lr_d: float = 2e-4                # GAN discriminator learning rate
    lr_ae: float = 2e-3               # latent flow: the per-frame autoencoder's learning rate
    betas: tuple[float, float] = (0.5, 0.99)
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    warmup_steps: int = 100
    spell_p: float = 0.1              # scratch tokenizer: spell a known word by characters with this probability
    bf16: bool = True                 # bf16 autocast (CPU with AVX-512 bf16, or CUDA); never fp16 on CPU
    seed: int = 0
    num_workers: int = 0              # DataLoader workers; Moving Digits renders fast enough in-process
    log_every: int = 10
    ckpt_every: int = 200
    sample_every: int = 500
    out: str = "runs/default"
    model: ModelConfig = field(default_factory=ModelConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        """Build and validate a config (the model's fields too)."""
        d = dict(d)
        model = ModelConfig.from_dict(d.pop("model", {}), prefix="model.")
        cfg = _from_dict(cls, d)
        cfg.model = model
        _check_fields(cfg, _TRAIN_BOUNDS, "")
        return cfg


def _from_dict(cls, d: dict[str, Any], prefix: str = ""):
    """Build a dataclass from a dict: unknown keys are an error (a typo must not be silently ignored)."""
    names = {f.name: f for f in fields(cls)}
    unknown = sorted(set(d) - set(names))
    if unknown:
        raise InputError(f"unknown {cls.__name__} field(s) {[prefix + k for k in unknown]}; valid fields: "
                         f"{sorted(names)}")
    kwargs = {}
    for k, v in d.items():
        default = getattr(cls(), k) if k != "model" else None
        kwargs[k] = tuple(v) if isinstance(default, tuple) and isinstance(v, list) else v
    return cls(**kwargs)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


_TYPE_WORDS = {"int": "an integer", "float": "a finite number", "str": "a string", "bool": "true or false",
               "tuple[int, ...]": "a list of integers", "tuple[float, float]": "a list of two numbers"}


def _type_ok(v: Any, kind: str) -> bool:
    if kind == "int":
        return _is_int(v)
    if kind == "float":
        return _is_number(v) and math.isfinite(v)
    if kind == "str":
        return isinstance(v, str)
    if kind == "bool":
        return isinstance(v, bool)
    if kind == "tuple[int, ...]":
        return isinstance(v, tuple) and all(_is_int(x) for x in v)
    if kind == "tuple[float, float]":
        return isinstance(v, tuple) and len(v) == 2 and all(_is_number(x) and math.isfinite(x) for x in v)
    return True


def _check_fields(cfg: Any, bounds: dict[str, tuple[float, float]], prefix: str) -> None:
    """Every field of the dataclass ``cfg`` has its declared type (ints for ints; finite numbers for floats)
    and lies within ``bounds``; :class:`InputError` naming the first that does not."""
    for f in fields(cfg):
        kind, value, name = str(f.type), getattr(cfg, f.name), prefix + f.name
        if not _type_ok(value, kind):
            hint = " (in YAML write a float with a dot, e.g. 2.0e-4)" if kind == "float" and isinstance(value, str) else ""
            raise InputError(f"{name} must be {_TYPE_WORDS.get(kind, kind)}, got {value!r}{hint}")
        if f.name not in bounds:
            continue
        lo, hi = bounds[f.name]
        entries = value if isinstance(value, tuple) else (value,)
        if isinstance(value, tuple) and kind == "tuple[int, ...]" and not 1 <= len(value) <= MAX_LAYERS:
            raise InputError(f"{name} must list 1 to {MAX_LAYERS} entries, got {list(value)}")
        for x in entries:
            if not lo <= x <= hi:
                shown = list(value) if isinstance(value, tuple) else value
                allowed = f"{lo:g} to {hi:g}" if hi != math.inf else f"at least {lo:g}"
                each = "each entry " if isinstance(value, tuple) else ""
                raise InputError(f"{name}={shown} is out of range: {each}must be {allowed}")


# ---- presets -------------------------------------------------------------------------------
def tiny() -> ModelConfig:
    """For tests: a few thousand parameters per part, 16×16 frames, seconds on a CPU."""
    return ModelConfig(num_frames=4, height=16, width=16, dim=32, heads=2, text_layers=1, max_text_len=48,
                       visual_channels=(8, 16), fusion_layers=1, gen_channels=(32, 16, 8), z_content=8,
                       z_motion=4, disc_channels=(8, 16), ae_channels=(8, 16), latent_channels=4, ae_steps=2,
                       flow_width=32, flow_depth=1, sample_steps=2)


def small() -> ModelConfig:
    """For this 2-core CPU: trains on Moving Digits (16 × 64 × 64) in minutes."""
    return ModelConfig()


def base() -> ModelConfig:
    """For a GPU: wider everywhere."""
    return ModelConfig(dim=256, heads=8, text_layers=4, fusion_layers=4, visual_channels=(64, 128, 256),
                       gen_channels=(512, 256, 128, 64, 64), z_content=128, z_motion=32,
                       disc_channels=(64, 128, 256, 512), ae_channels=(64, 128, 128), flow_width=384,
                       flow_depth=12)


PRESETS = {"tiny": tiny, "small": small, "base": base}


def model_preset(name: str, **overrides: Any) -> ModelConfig:
    if name not in PRESETS:
        raise InputError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    cfg = PRESETS[name]()
    return dataclasses.replace(cfg, **overrides) if overrides else cfg


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML or JSON config file into a dict (merged over a preset by the trainer)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"config file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            data = json.loads(text)
    except Exception as e:  # yaml and json raise different classes; both mean the same to the user
        raise InputError(f"config file {path} is not valid {path.suffix.lstrip('.').upper()}: {e}") from e
    if not isinstance(data, dict):
        raise InputError(f"config file {path} must hold a mapping of field: value, got {type(data).__name__}")
    return data
