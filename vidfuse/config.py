"""Typed configs and named presets.

A :class:`ModelConfig` travels inside every model folder as ``config.json`` so the folder rebuilds
itself; a :class:`TrainConfig` is saved with every run as ``config.json`` beside the checkpoints.
Presets are plain functions of nothing, kept in :data:`PRESETS` (the CLI offers the keys as choices).
"""

from __future__ import annotations

import dataclasses
import json
import math
import warnings
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from vidfuse.errors import InputError
from vidfuse.fileio import read_text_file

# ---- documented bounds, checked when a config is read (a model folder's config.json, a training config) ----
FRAME_OUTS = ("linear", "tanh")
MAX_FRAMES = 512  # frames per clip, for training and for generation
MAX_SIZE = 512  # native frame height and width in pixels (the pipeline resizes to other sizes)
MAX_WIDTH = 4096  # dim, flow_width, every channel count and latent size
MAX_LAYERS = 64  # layers of any one stack (text, fusion, flow blocks, channel tuples)
MAX_VOCAB = 1_000_000  # vocab_size, text_words
MAX_TEXT_LEN = 4096  # max_text_len
MAX_GUIDANCE = 20.0  # classifier-free guidance: 0 (text ignored) to 20; 1 = off
MAX_SEED = 2**63 - 1  # seeds are 0 ... 2**63 - 1
CONFIG_VERSION = 2  # of a model config.json: 1 = one flat bag of every family's fields; 2 = ``gen`` nested


def offset_seed(seed: int | None, offset: int) -> int | None:
    """``seed + offset`` kept inside 0 … :data:`MAX_SEED` (it wraps): batch chunk and story scene ``i`` use
    ``offset_seed(seed, i)``. ``seed`` must already be valid; ``None`` (random) stays ``None``."""
    return None if seed is None else (seed + offset) % (MAX_SEED + 1)


# ---- each generator family's own settings ----------------------------------------------------------------
# field: (low, high) for numbers, inclusive; tuple fields bound each entry and need 1 to MAX_LAYERS entries
_FAMILY_BOUNDS: dict[str, tuple[float, float]] = {
    "gen_channels": (1, MAX_WIDTH),
    "z_content": (1, MAX_WIDTH),
    "z_motion": (1, MAX_WIDTH),
    "disc_channels": (1, MAX_WIDTH),
    "r1_gamma": (0, math.inf),
    "kl_weight": (0, math.inf),
    "kl_free_nats": (0, math.inf),
    "temperature": (0, 100),
    "ae_channels": (1, MAX_WIDTH),
    "latent_channels": (1, MAX_WIDTH),
    "ae_steps": (0, math.inf),
    "ae_content_weight": (0, math.inf),
    "flow_width": (1, MAX_WIDTH),
    "flow_depth": (1, MAX_LAYERS),
    "flow_patch": (1, 16),
    "flow_time_patch": (1, 16),
    "sample_steps": (1, 1000),
    "layers": (1, 16),
    "mask_block": (1, 64),
    "p_prefix": (0, 1),
    "residual_cell": (0, 64),
    "reader_depth": (1, MAX_LAYERS),
    "z_dim": (1, MAX_WIDTH),
    "r_gamma": (0, math.inf),
    "match_weight": (0, math.inf),
    "distill_weight": (0, math.inf),
    "adv_weight": (0, math.inf),
    "teacher_guidance": (0, 100),
}


@dataclass(slots=True)
class GeneratorConfig:
    """Base of the per-family settings nested in :class:`ModelConfig` as ``gen``."""

    def validate(self, model: "ModelConfig", prefix: str = "") -> None:
        """Types and bounds of the fields, and that the frame size suits this family's stacks."""
        _check_fields(self, _FAMILY_BOUNDS, prefix)
        for what, scale in self.size_divisors().items():
            if model.height % scale or model.width % scale:
                raise InputError(
                    f"height×width {model.height}×{model.width} must be divisible by {scale} (set by {prefix}{what})"
                )

    def size_divisors(self) -> dict[str, int]:
        """Which fields make the native frame size divide by what (each stage of a stack halves the frame)."""
        return {}


@dataclass(slots=True)
class PixelDecoderConfig(GeneratorConfig):
    """Shared by the two families that decode pixels from per-frame codes with :class:`FrameDecoder`."""

    gen_channels: tuple[int, ...] = (256, 128, 64, 32, 32)  # decoder widths from 4×4 up to 64×64
    z_content: int = 64  # per-clip code (GAN: content noise; VAE: latent)
    z_motion: int = 16  # per-frame code (GAN: motion noise; VAE: latent)
    frame_out: str = "linear"  # decoder output: "linear" (clamped, straight-through gradient) or "tanh",
    # which saturates on mostly-black frames (docs/decisions/generators.md)

    def validate(self, model: "ModelConfig", prefix: str = "") -> None:
        GeneratorConfig.validate(self, model, prefix)  # (slots dataclasses cannot use zero-argument super)
        if self.frame_out not in FRAME_OUTS:
            raise InputError(f"{prefix}frame_out {self.frame_out!r} is unknown; choose one of {', '.join(FRAME_OUTS)}")

    def size_divisors(self) -> dict[str, int]:
        return {"gen_channels": 2 ** (len(self.gen_channels) - 1)}


@dataclass(slots=True)
class GANConfig(PixelDecoderConfig):
    """The seed's VideoGAN: one generator pass from noise + Z; frame and video discriminators."""

    disc_channels: tuple[int, ...] = (32, 64, 128, 256)  # discriminators, 64 → 4
    r1_gamma: float = 0.0  # R1 penalty weight on real videos (spectral norm already stabilises)


@dataclass(slots=True)
class VAEConfig(PixelDecoderConfig):
    """Conditional video VAE: a learned prior given Z, sampled and decoded."""

    kl_weight: float = 1e-3  # beta on the KL term (per latent dim, vs per-pixel recon)
    kl_free_nats: float = 0.0  # the posterior pays no KL for a clip's first N nats (batch mean; the prior
    # still learns from all of it): a guard against posterior collapse
    ae_content_weight: float = 4.0  # extra reconstruction weight on pixels unlike the frame's background
    temperature: float = 1.0  # scales the prior's σ when sampling; below 1: typical over diverse


@dataclass(slots=True)
class LatentConfig(GeneratorConfig):
    """Shared by the families that generate in a per-frame autoencoder's latent space by rectified flow."""

    ae_channels: tuple[int, ...] = (16, 32, 64)  # per-frame autoencoder; each entry halves the size (64 → 8)
    latent_channels: int = 8  # channels of the per-frame latent (8×8×8 for 64×64 frames)
    ae_steps: int = 1000  # train the autoencoder for this many steps, then freeze it
    ae_content_weight: float = 4.0  # extra reconstruction weight on pixels unlike the frame's background (its
    # median colour): sparse scenes' content is otherwise a tiny part of the loss
    flow_width: int = 192  # Transformer width
    flow_depth: int = 6  # Transformer blocks
    flow_patch: int = 1  # latent patch size (8×8 latent, patch 2 → 16 tokens a frame)
    sample_steps: int = 3  # Euler steps at generation time

    def size_divisors(self) -> dict[str, int]:
        return {"ae_channels and flow_patch": 2 ** len(self.ae_channels) * self.flow_patch}


@dataclass(slots=True)
class FlowConfig(LatentConfig):
    """Latent flow: every frame's latents generated jointly by a space-time Transformer."""

    ae_steps: int = 1500
    flow_patch: int = 2
    flow_time_patch: int = 2  # frames per token (16 frames → 8 token rows)
    sample_steps: int = 6


@dataclass(slots=True)
class AnchorConfig(LatentConfig):
    """Anchor flow: the first frame's latent plus the translation path that carries it over the clip."""


@dataclass(slots=True)
class LayeredConfig(LatentConfig):
    """Layered anchor flow: the first frame's latent cut into layers, each carried along its own path."""

    layers: int = 3  # layers a clip is cut into (the bottom one takes the background)
    mask_block: int = 4  # pixels of a layer-mask cell (divides the latent cell: 4 → 2×2 mask cells per latent cell)
    p_prefix: float = 0.2  # share of training clips whose anchor and first frames are given (continuing a clip)
    # pixels of a cell of the per-frame appearance correction (each frame token carries the clip's error
    # after the layers, averaged over cells of this size: what rigid layers cannot draw); 0: none
    residual_cell: int = 0


@dataclass(slots=True)
class OnePassConfig(LatentConfig):
    """Shared by the families that draw the anchor representation (first-frame latent + path) in one pass."""

    reader_depth: int = 4  # blocks of the network that reads a representation (critic / VAE encoder)
    z_dim: int = 64  # the per-clip code drawn from (GAN: noise; VAE: the latent)


@dataclass(slots=True)
class AnchorGANConfig(OnePassConfig):
    """VideoGAN in the anchor space: one generator pass from noise + Z, a text-matching critic (RpGAN + R1/R2)."""

    r_gamma: float = 0.5  # R1 (real) + R2 (fake) gradient penalty weight on the critic's inputs
    match_weight: float = 1.0  # weight of the critic's caption-matching term (real clip vs mismatched caption)


@dataclass(slots=True)
class AnchorVAEConfig(OnePassConfig):
    """VideoVAE in the anchor space: a posterior and a learned prior given Z; samples the prior, decodes once."""

    kl_weight: float = 5e-4  # beta on the KL term (per nat of the whole code, against the mean squared error)
    temperature: float = 1.0  # scales the prior's σ when sampling; below 1: typical over diverse


@dataclass(slots=True)
class AnchorDistilledConfig(AnchorConfig):
    """VideoGAN distilled from a trained anchor flow: one step, a distillation target and a critic (ADD)."""

    reader_depth: int = 4  # blocks of the critic's reader
    r_gamma: float = 0.5  # R1 (real) + R2 (fake) gradient penalty weight on the critic's inputs
    match_weight: float = 1.0  # weight of the critic's caption-matching term
    distill_weight: float = 1.0  # weight of the squared distance to the teacher's sample from the same noise
    adv_weight: float = 0.1  # weight of the critic's verdict in the student's loss
    teacher_guidance: float = 2.0  # classifier-free guidance of the teacher's targets


# name → settings class; the generator classes themselves register in vidfuse.models.registry
GENERATOR_CONFIGS: dict[str, type[GeneratorConfig]] = {
    "anchor": AnchorConfig,
    "flow": FlowConfig,
    "gan": GANConfig,
    "vae": VAEConfig,
    "anchor-gan": AnchorGANConfig,
    "anchor-vae": AnchorVAEConfig,
    "anchor-add": AnchorDistilledConfig,
    "layered": LayeredConfig,
}
GENERATORS = tuple(GENERATOR_CONFIGS)
DEFAULT_GENERATOR = "anchor"  # the family the shipped model uses and `vidfuse train` trains
_FAMILY_FIELDS = frozenset(f.name for c in GENERATOR_CONFIGS.values() for f in fields(c))

# ---- the model ----------------------------------------------------------------------------------------
_MODEL_BOUNDS: dict[str, tuple[float, float]] = {
    "num_frames": (1, MAX_FRAMES),
    "height": (8, MAX_SIZE),
    "width": (8, MAX_SIZE),
    "channels": (1, 4),
    "dim": (1, MAX_WIDTH),
    "heads": (1, 64),
    "text_layers": (0, MAX_LAYERS),
    "max_text_len": (3, MAX_TEXT_LEN),
    "text_words": (0, MAX_VOCAB),
    "vocab_size": (0, MAX_VOCAB),
    "visual_channels": (1, MAX_WIDTH),
    "fusion_layers": (0, MAX_LAYERS),
    "p_drop_text": (0, 1),
    "p_image": (0, 1),
    "align_weight": (0, 100),
    "guidance_scale": (0, MAX_GUIDANCE),
}


@dataclass(slots=True)
class ModelConfig:
    # --- what to generate -------------------------------------------------------------------
    generator: str = DEFAULT_GENERATOR  # a family of GENERATOR_CONFIGS; its own settings are ``gen``
    num_frames: int = 16  # frames per clip at training time; generation may ask for more
    height: int = 64  # native frame size; other sizes are resized by the pipeline
    width: int = 64  # (height above): pixels of the frames the model is trained on
    channels: int = 3  # colour channels (3: RGB)
    # --- shared width of text tokens, visual tokens and fusion ------------------------------
    dim: int = 128  # width of text tokens, visual tokens, fusion and Z
    heads: int = 4  # attention heads in every Transformer (must divide dim and flow_width)
    # --- H = Transformer(X): text encoder ---------------------------------------------------
    text_encoder: str = "scratch"  # "scratch" | "e5" (multilingual) | "minilm" | a local Hugging Face encoder folder
    text_layers: int = 2  # layers of the from-scratch encoder
    max_text_len: int = 128  # tokens per prompt, including BOS/EOS
    text_words: int = 4000  # scratch tokenizer: up to this many frequent words get one token each
    # (0: characters only)
    vocab_size: int = 0  # set from the tokenizer when the model is built
    freeze_text: bool = True  # pretrained encoders: keep frozen (False = fine-tune)
    # --- V = CNN(I): visual encoder ---------------------------------------------------------
    visual_channels: tuple[int, ...] = (32, 64, 128)  # ResNet stages; each halves the size (64 → 8×8 tokens)
    # --- Z = MultimodalTransformer(H, V): fusion --------------------------------------------
    fusion_layers: int = 2  # co-attention layers between text and image tokens
    p_drop_text: float = 0.1  # modality dropout at train time (enables classifier-free guidance)
    p_image: float = 0.3  # chance a training clip is conditioned on its own first frame
    align_weight: float = 0.0  # weight of a text–clip contrastive loss on pooled Z (training only; 0: none)
    # --- Y = Generator(Z) --------------------------------------------------------------------
    guidance_scale: float = 1.0  # classifier-free guidance a pipeline uses unless asked otherwise; 1 = off
    # (the default model's recipe, configs/anchor_small.yaml, sets 2)
    gen: GeneratorConfig | None = None  # the family's own settings; None: its defaults

    def __post_init__(self):
        family = GENERATOR_CONFIGS.get(self.generator)
        if family is None:
            return  # validate() names the unknown family
        if self.gen is None:
            self.gen = family()
        elif isinstance(self.gen, dict):
            self.gen = _from_dict(family, self.gen, "gen.")
        elif isinstance(self.gen, GeneratorConfig):
            # a config of its own: dataclasses.replace(cfg, ...) must not share the settings it may later change
            self.gen = dataclasses.replace(self.gen)

    @property
    def native_size(self) -> tuple[int, int]:
        return self.height, self.width

    def to_dict(self) -> dict[str, Any]:
        """The current format (:data:`CONFIG_VERSION`): shared fields, then the family's ``gen``."""
        return {"config_version": CONFIG_VERSION, **dataclasses.asdict(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, prefix: str = "") -> "ModelConfig":
        """Build and :meth:`validate` a config of any version (older ones are migrated: :func:`migrate_model_dict`);
        ``prefix`` names where it sits in messages (``"model."``)."""
        if not isinstance(d, dict):
            raise InputError(
                f"{prefix.rstrip('.') or 'the model config'} must be a mapping of field: value, got {type(d).__name__}"
            )
        d = migrate_model_dict(d, prefix=prefix)
        family = GENERATOR_CONFIGS.get(d.get("generator", DEFAULT_GENERATOR))
        if family is None:
            raise InputError(
                f"{prefix}generator {d.get('generator')!r} is unknown; choose one of {', '.join(GENERATORS)}"
            )
        gen = d.pop("gen", None) or {}
        if not isinstance(gen, dict):
            raise InputError(f"{prefix}gen must be a mapping of field: value, got {type(gen).__name__}")
        cfg = _from_dict(cls, d, prefix)
        cfg.gen = _from_dict(family, gen, prefix + "gen.")
        return cfg.validate(prefix)

    def validate(self, prefix: str = "") -> "ModelConfig":
        """Check types, bounds and the fields that must agree, before anything is built from the config:
        :class:`InputError` naming the first bad field and what it may be. Returns ``self``."""
        if self.generator not in GENERATOR_CONFIGS:
            raise InputError(f"{prefix}generator {self.generator!r} is unknown; choose one of {', '.join(GENERATORS)}")
        family = GENERATOR_CONFIGS[self.generator]
        if type(self.gen) is not family:
            raise InputError(
                f"{prefix}gen holds {type(self.gen).__name__} settings but the generator is "
                f"{self.generator!r} ({family.__name__})"
            )
        _check_fields(self, _MODEL_BOUNDS, prefix)
        self.gen.validate(self, prefix + "gen.")
        if not self.text_encoder.strip():
            raise InputError(f"{prefix}text_encoder is empty; use 'scratch', 'e5', 'minilm' or a local encoder folder")
        widths = {"dim": self.dim, "gen.flow_width": getattr(self.gen, "flow_width", self.heads)}
        for name, width in widths.items():
            if width % self.heads:
                raise InputError(f"{prefix}{name}={width} must be divisible by heads={self.heads}")
        scale = 2 ** len(self.visual_channels)  # each stage of the visual encoder halves the frame
        if self.height % scale or self.width % scale:
            raise InputError(
                f"{prefix}height×width {self.height}×{self.width} must be divisible by {scale} "
                f"(set by {prefix}visual_channels)"
            )
        return self


def is_version1_dump(d: dict[str, Any]) -> bool:
    """Whether ``d`` is a whole version-1 model config as a model folder or run saved it: unversioned, flat, and
    carrying both pixel-family and latent-family fields, as every version-1 save did (a recipe or an override
    names one family's settings only)."""
    return "config_version" not in d and "gen" not in d and {"gen_channels", "ae_channels"} <= d.keys()


def migrate_model_dict(d: dict[str, Any], *, prefix: str = "") -> dict[str, Any]:
    """A model config dict of any :data:`CONFIG_VERSION` → the current shape (a new dict).

    A whole version-1 config (:func:`is_version1_dump`) is one flat bag of every family's fields: the chosen
    family's fields move into ``gen``, the others are dropped (they never applied), and a GAN or VAE config
    without ``frame_out`` gets ``"tanh"``, the decoder output its weights were trained with. Family fields
    named flat in any other dict (a recipe, an override) move into ``gen`` too, where a field the family
    lacks is an error.
    """
    dump = is_version1_dump(d)
    d = dict(d)
    version = d.pop("config_version", 1)
    if not _is_int(version) or not 1 <= version <= CONFIG_VERSION:
        raise InputError(
            f"{prefix}config_version {version!r} is not one this vidfuse reads (1 to "
            f"{CONFIG_VERSION}); upgrade vidfuse to load this model"
        )
    gen = d.get("gen")
    gen = dict(gen) if isinstance(gen, dict) else gen
    flat = {k: d.pop(k) for k in list(d) if k in _FAMILY_FIELDS}
    if dump:
        family = GENERATOR_CONFIGS.get(d.get("generator", DEFAULT_GENERATOR))
        names = {f.name for f in fields(family)} if family else set()
        flat = {k: v for k, v in flat.items() if k in names}
        if d.get("generator") in ("gan", "vae") and "frame_out" not in flat:
            flat["frame_out"] = "tanh"
    if flat:
        if gen is not None and not isinstance(gen, dict):
            raise InputError(f"{prefix}gen must be a mapping of field: value, got {type(gen).__name__}")
        d["gen"] = {**(gen or {}), **flat}
    return d


_TRAIN_BOUNDS: dict[str, tuple[float, float]] = {
    "level": (1, 2),
    "paraphrase": (0, 1),
    "steps": (1, math.inf),
    "max_minutes": (0, math.inf),
    "batch_size": (1, 65536),
    "lr": (0, math.inf),
    "lr_d": (0, math.inf),
    "lr_ae": (0, math.inf),
    "betas": (0, 1),
    "weight_decay": (0, math.inf),
    "grad_clip": (0, math.inf),
    "ema_decay": (0, 1),
    "warmup_steps": (0, math.inf),
    "cooldown_steps": (0, math.inf),
    "spell_p": (0, 1),
    "seed": (0, MAX_SEED),
    "num_workers": (0, 1024),
    "log_every": (1, math.inf),
    "ckpt_every": (1, math.inf),
    "sample_every": (1, math.inf),
}


@dataclass
class TrainConfig:
    preset: str = "small"
    data: str = "moving-digits"  # "moving-digits" or a path (folder, WebVid CSV, JSONL, Kinetics CSV, COCO JSON)
    allow_outside_paths: bool = False  # a caption index may name files outside its data folder (else refused)
    level: tuple[int, ...] = (1,)  # Moving Digits levels to mix
    lang: str = "both"  # Moving Digits caption language: en | zh | both
    paraphrase: float = 0.0  # Moving Digits: share of training captions from the wide grammar
    # (vidfuse/data/paraphrase.py) instead of the templates; 0 = templates only
    steps: int = 2000  # optimiser steps in all (a resumed run may raise it)
    max_minutes: float = 0.0  # wall-clock budget for the whole run (resumes included); 0 = none. Training
    # stops before a step that would overrun it, saving as at --steps
    batch_size: int = 32  # per process
    lr: float = 2e-4  # AdamW learning rate of the conditioning phase (encoders, fusion, generator)
    lr_d: float = 2e-4  # GAN discriminator learning rate
    lr_ae: float = 2e-3  # latent families (flow, anchor): the per-frame autoencoder's learning rate
    betas: tuple[float, float] = (0.5, 0.99)  # AdamW's moment decays
    weight_decay: float = 0.01  # AdamW's decoupled weight decay
    grad_clip: float = 1.0  # gradient norm clipped to this, per phase
    ema_decay: float = 0.999  # decay of the weights' moving average (the saved model uses it)
    warmup_steps: int = 100  # linear learning-rate warm-up, counted from each phase's start
    cooldown_steps: int = 0  # linear learning-rate decay to zero over the run's last N steps (counted back
    # from --steps, so a resumed run that raises --steps moves it); 0 = constant after warm-up
    spell_p: float = 0.1  # scratch tokenizer: spell a known word by characters with this probability
    bf16: bool = True  # bf16 autocast (CPU with AVX-512 bf16, or CUDA); never fp16 on CPU
    seed: int = 0  # the run's RNG seed: batches, noise and initial weights
    num_workers: int = 0  # DataLoader workers; Moving Digits renders fast enough in-process
    log_every: int = 10  # steps between metrics.jsonl rows
    ckpt_every: int = 200  # steps between checkpoints (and model folders)
    sample_every: int = 500  # steps between sample sheets
    out: str = "runs/default"
    init_from: str = ""  # a model folder whose weights start the run (a trained anchor flow, the teacher of
    # anchor-add); its text, image and size settings are kept
    autoencoder_from: str = ""  # a model folder of a latent family whose trained autoencoder starts the run:
    # its autoencoder phase is skipped (gen.ae_steps = 0), e.g. to try another recipe's flow phase
    model: ModelConfig = field(default_factory=ModelConfig)

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "model": self.model.to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        """Build and validate a config (the model's fields too)."""
        d = dict(d)
        model = ModelConfig.from_dict(d.pop("model", {}), prefix="model.")
        cfg = _from_dict(cls, d)
        cfg.model = model
        _check_fields(cfg, _TRAIN_BOUNDS, "")
        return cfg


# what a run started from another model folder takes from its own recipe rather than from that folder
_OWN_MODEL_FIELDS = ("generator", "gen", "guidance_scale", "p_drop_text", "p_image", "align_weight")


def derive_model_config(base: ModelConfig, recipe: ModelConfig) -> ModelConfig:
    """The model of a run that starts from ``base``'s weights: ``recipe``'s family, its own settings and
    :data:`_OWN_MODEL_FIELDS`; everything else from ``base`` (text encoder, sizes, vocabulary), and the family
    settings both families have (network sizes, the autoencoder, sampling steps) from ``base`` too, so the
    weights fit."""
    family = type(recipe.gen)
    names = {f.name for f in fields(family)}
    from_base = {f.name: getattr(base.gen, f.name) for f in fields(base.gen) if f.name in names}
    gen = family(**{**{n: getattr(recipe.gen, n) for n in names}, **from_base})
    return dataclasses.replace(base, gen=gen, **{k: getattr(recipe, k) for k in _OWN_MODEL_FIELDS if k != "gen"})


def _from_dict(cls, d: dict[str, Any], prefix: str = ""):
    """Build a dataclass from a dict: unknown keys are an error (a typo must not be silently ignored)."""
    names = {f.name: f for f in fields(cls)}
    unknown = sorted(set(d) - set(names))
    if unknown:
        raise InputError(
            f"unknown {cls.__name__} field(s) {[prefix + k for k in unknown]}; valid fields: {sorted(names)}"
        )
    kwargs = {}
    for k, v in d.items():
        default = getattr(cls(), k) if k != "model" else None
        kwargs[k] = tuple(v) if isinstance(default, tuple) and isinstance(v, list) else v
    return cls(**kwargs)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


_TYPE_WORDS = {
    "int": "an integer",
    "float": "a finite number",
    "str": "a string",
    "bool": "true or false",
    "tuple[int, ...]": "a list of integers",
    "tuple[float, float]": "a list of two numbers",
}


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
            hint = (
                " (in YAML write a float with a dot, e.g. 2.0e-4)" if kind == "float" and isinstance(value, str) else ""
            )
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
# A preset sets the shared fields and, for whichever family is chosen, those of its fields the preset names.
_PRESETS: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "tiny": (
        "For tests: a few thousand parameters per part, 16×16 frames, seconds on a CPU.",
        dict(
            num_frames=4,
            height=16,
            width=16,
            dim=32,
            heads=2,
            text_layers=1,
            max_text_len=48,
            visual_channels=(8, 16),
            fusion_layers=1,
        ),
        dict(
            gen_channels=(32, 16, 8),
            z_content=8,
            z_motion=4,
            disc_channels=(8, 16),
            ae_channels=(8, 16),
            latent_channels=4,
            ae_steps=2,
            flow_width=32,
            flow_depth=1,
            sample_steps=2,
        ),
    ),
    "small": ("For a 2-core CPU: trains on Moving Digits (16 × 64 × 64) within the hour.", {}, {}),
    "base": (
        "For a GPU: wider everywhere.",
        dict(dim=256, heads=8, text_layers=4, fusion_layers=4, visual_channels=(64, 128, 256)),
        dict(
            gen_channels=(512, 256, 128, 64, 64),
            z_content=128,
            z_motion=32,
            disc_channels=(64, 128, 256, 512),
            ae_channels=(64, 128, 128),
            flow_width=384,
            flow_depth=12,
        ),
    ),
}
PRESETS = {name: doc for name, (doc, _, _) in _PRESETS.items()}  # name → what it is for


def model_preset(name: str, generator: str = DEFAULT_GENERATOR, **overrides: Any) -> ModelConfig:
    """The preset ``name`` for the family ``generator``; ``overrides`` replace shared fields."""
    if name not in _PRESETS:
        raise InputError(f"unknown preset {name!r}; choose one of {sorted(_PRESETS)}")
    if generator not in GENERATOR_CONFIGS:
        raise InputError(f"generator {generator!r} is unknown; choose one of {', '.join(GENERATORS)}")
    _, shared, family = _PRESETS[name]
    gen_cls = GENERATOR_CONFIGS[generator]
    names = {f.name for f in fields(gen_cls)}
    gen = gen_cls(**{k: v for k, v in family.items() if k in names})
    return dataclasses.replace(ModelConfig(generator=generator, gen=gen, **shared), **overrides)


def tiny(generator: str = DEFAULT_GENERATOR) -> ModelConfig:
    return model_preset("tiny", generator)


def merge_model_layers(preset: str, recipe: dict[str, Any] | None, overrides: dict[str, Any] | None) -> dict[str, Any]:
    """The preset's model config (as a dict) with a recipe file's ``model`` and then explicit ``overrides``
    applied. Either may name family fields flat or under ``gen``, or be a whole saved config (an earlier run's
    config.json: :func:`migrate_model_dict`). The family is the one ``overrides`` names, else the recipe's, else
    the default, and the preset is taken for that family. A recipe's settings that the family lacks (a VAE
    recipe trained as another family) are left out with a warning naming them; an override's are an error."""
    layers = []
    for where, layer in (("the recipe's model", recipe), ("model", overrides)):
        if not layer:
            continue
        if not isinstance(layer, dict):
            raise InputError(f"{where} must be a mapping of field: value, got {type(layer).__name__}")
        layer = migrate_model_dict(layer, prefix="model.")
        gen = layer.pop("gen", None) or {}
        if not isinstance(gen, dict):
            raise InputError(f"model.gen must be a mapping of field: value, got {type(gen).__name__}")
        layers.append((layer, gen))
    generator = next((layer["generator"] for layer, _ in reversed(layers) if "generator" in layer), DEFAULT_GENERATOR)
    if generator not in GENERATOR_CONFIGS:
        raise InputError(f"model.generator {generator!r} is unknown; choose one of {', '.join(GENERATORS)}")
    merged = model_preset(preset, generator).to_dict()
    names = {f.name for f in fields(GENERATOR_CONFIGS[generator])}
    for i, (layer, gen) in enumerate(layers):
        foreign = sorted(k for k in gen if k in _FAMILY_FIELDS and k not in names)
        if foreign and i == 0 and recipe:
            warnings.warn(
                f"the recipe's model settings {', '.join(foreign)} do not apply to the {generator} generator: left out",
                stacklevel=3,
            )
            gen = {k: v for k, v in gen.items() if k not in foreign}
        merged.update(layer)
        merged["gen"].update(gen)
    return merged


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML or JSON config file into a dict (merged over a preset by the trainer)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"config file {path} does not exist")
    text = read_text_file(path, "config file")
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
