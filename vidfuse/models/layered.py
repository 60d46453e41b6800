"""Y = LayeredFlow(Z): a video as its first frame cut into layers, each carried along its own path.

The anchor flow (``anchor.py``) draws a clip as one picture moved along one path, so two things moving
their own ways (Moving Digits level 2, a person walking past a parked car) are beyond it by construction.
This generator keeps what made the anchor flow learn within a CPU hour — a key frame drawn once, motion
as a few numbers a frame, the picture unable to change shape — and splits the key frame into ``K``
layers, as layered video models and codecs with sprite coding do:

``anchor``  the first frame, centred (as the anchor flow), as the per-frame autoencoder's latent (8×8×c);
``mask``    which layer each latent cell belongs to: K channels on the same 8×8 grid (±1 one-hot);
``paths``   for every frame, each layer's translation (dx, dy) in pixels from the centred anchor: one
            token a frame carries all K layers' (2K numbers), so the sequence is as long as the anchor
            flow's.

A clip is drawn by cutting the decoded anchor into its layers, moving each along its path, and stacking
them bottom (layer 0) to top with their masks as alpha. Where nothing lands, the frame shows the anchor's
median colour (its background: black on Moving Digits).

The layers of a real clip are found without labels, for any video (:func:`analyse`):

1. **candidate motions**: for every frame, the strongest peaks of its phase correlation with the first
   frame (each peak is a translation some part of the picture made), plus standing still;
2. **block tracks**: every 8×8 block of the anchor takes, frame by frame, the candidate that carries its
   pixels onto the frame best (block matching restricted to the candidates), so every block has a track;
3. **layers**: the tracks of the blocks with content (unlike the frame's median colour) are clustered
   by weighted k-means (``K`` clusters; clusters whose tracks are within ``merge_px`` of another's are
   merged); layer 0 is the heaviest cluster and also takes the blocks with no content (a uniform
   background moves with the main motion), the others follow by weight. A layer's path is its blocks'
   weighted mean track; an empty layer stands still.

What it cannot draw: non-rigid motion within a layer (a walking person's legs), zoom, rotation, things
that appear, and what a moving layer uncovers (the layer below shows its own first-frame content there).
:func:`reconstruct` (encode a real clip into this representation and draw it back, no sampling)
measures that ceiling on real footage (``bench/real_footage.py``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange

from vidfuse.config import ModelConfig
from vidfuse.models.anchor import AnchorFlow, FlowBatch, centring_offset, phase_correlation_peaks, translate
from vidfuse.models.base import Condition
from vidfuse.models.sampling import euler_flow

MASK_SHARPNESS = 3.0  # softmax(sharpness · mask) at drawing time: a ±1 one-hot gives 0.995 to its layer


# ---- analysis: a real clip → (centred anchor, layer masks, layer paths) ---------------------------------
def _content(frame: torch.Tensor, block: int) -> torch.Tensor:
    """How much each block differs from the frame's median colour: frame (B, C, H, W) → (B, gh, gw)."""
    median = frame.flatten(-2).median(dim=-1).values[..., None, None]  # (B, C, 1, 1)
    return F.avg_pool2d((frame - median).abs().amax(dim=1, keepdim=True), block)[:, 0]


def lossless_centring_offset(frame: torch.Tensor, threshold: float = 0.1) -> torch.Tensor:
    """The anchor flow's centring offset (B, 2), limited so that nothing unlike the background (the median
    colour, by more than ``threshold``) leaves the frame: one small picture is centred as in the anchor
    flow, two far apart move only as far as both stay whole, and a full frame of real footage stays put."""
    h, w = frame.shape[-2:]
    median = frame.flatten(-2).median(dim=-1).values[..., None, None]
    on = (frame - median).abs().amax(dim=1) > threshold  # (B, H, W)
    cols, rows = on.any(dim=1), on.any(dim=2)  # (B, W), (B, H)

    def span(hit: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.arange(size, dtype=torch.float32).expand_as(hit)
        lo = torch.where(hit, idx, torch.full_like(idx, size)).amin(-1)
        hi = torch.where(hit, idx, torch.full_like(idx, -1)).amax(-1)
        return lo, hi

    (x0, x1), (y0, y1) = span(cols, w), span(rows, h)
    offset = centring_offset(frame)
    # translate(frame, -offset) moves the picture by -offset: keep x0 - ox >= 0 and x1 - ox <= w - 1
    ox = torch.minimum(torch.maximum(offset[:, 0], x1 - (w - 1)), x0)
    oy = torch.minimum(torch.maximum(offset[:, 1], y1 - (h - 1)), y0)
    blank = ~cols.any(dim=1)
    return torch.where(blank[:, None], torch.zeros_like(offset), torch.stack([ox, oy], dim=-1))


def block_errors(anchor: torch.Tensor, video: torch.Tensor, candidates: torch.Tensor, block: int) -> torch.Tensor:
    """How well each candidate translation carries each block of the anchor onto each frame.

    anchor (B, C, H, W) and video (B, C, T, H, W) in [-1, 1]; candidates (B, T, P, 2) pixels (dx, dy)
    from the anchor. Returns errors (B, T, P, gh·gw): the mean squared difference between ``anchor(x)``
    and ``frame_t(x + d)`` over the block, plus a tie-break (1e-6 per squared pixel away from the first
    candidate, which callers make "standing still") so that blank blocks stand still.
    """
    b, c, t, h, w = video.shape
    p = candidates.shape[2]
    # at half resolution (4× cheaper; blocks of 2 pixels or more): the chosen candidate keeps its full value
    scale = 2 if block % 2 == 0 and h % 2 == 0 == w % 2 else 1
    frames = F.avg_pool2d(rearrange(video.float(), "b c t h w -> (b t) c h w"), scale)
    ref = F.avg_pool2d(anchor.float(), scale).repeat_interleave(t, dim=0)
    cand = candidates.reshape(b * t, p, 2).float()
    warped = translate(frames, -cand / scale)  # (B·T, C, P, H, W): frame_t(x + d) for every candidate d
    err = (warped - ref[:, :, None]).pow(2).mean(dim=1)
    block //= scale
    err = F.avg_pool2d(err, block).flatten(2)  # (B·T, P, N)
    err = err + 1e-6 * (cand - cand[:, :1]).pow(2).sum(-1)[..., None]
    return err.view(b, t, p, -1)


def pick(candidates: torch.Tensor, errors: torch.Tensor) -> torch.Tensor:
    """The candidate (B, T, P, 2) with the least error (B, T, P, X) for every frame and column X → (B, X, T, 2)."""
    best = errors.argmin(dim=2)  # (B, T, X)
    b, t, x = best.shape
    chosen = candidates.gather(2, best[..., None].expand(b, t, x, 2))  # (B, T, X, 2)
    return chosen.transpose(1, 2)


def cluster_tracks(
    tracks: torch.Tensor, weight: torch.Tensor, layers: int, *, merge_px: float = 1.0, iters: int = 8
) -> torch.Tensor:
    """Weighted k-means of block tracks into at most ``layers`` clusters, per clip.

    tracks (B, N, T, 2), weight (B, N) ≥ 0 (0: a block with no content, which joins layer 0). Returns the
    layer of every block (B, N), layers ordered by total weight (0 the heaviest); clusters whose mean
    tracks are within ``merge_px`` (RMS over frames) of a heavier one are merged into it.
    """
    bsz, n = weight.shape
    x = tracks.flatten(2).float()  # (B, N, D)
    d = x.shape[-1]
    w = weight.float()
    has = w > 0
    # deterministic farthest-point start: the heaviest block, then the block farthest from every centre
    first = w.argmax(dim=1)
    centres = [x[torch.arange(bsz), first]]
    for _ in range(1, layers):
        dist = torch.stack([(x - c[:, None]).pow(2).sum(-1) for c in centres]).amin(0)
        dist = torch.where(has, dist, torch.full_like(dist, -1.0))
        centres.append(x[torch.arange(bsz), dist.argmax(dim=1)])
    cent = torch.stack(centres, dim=1)  # (B, K, D)
    for _ in range(iters):
        assign = torch.cdist(x, cent).argmin(dim=-1)  # (B, N)
        onehot = F.one_hot(assign, layers).float() * w[..., None]  # (B, N, K)
        mass = onehot.sum(1)  # (B, K)
        new = torch.einsum("bnk,bnd->bkd", onehot, x) / mass.clamp_min(1e-9)[..., None]
        cent = torch.where(mass[..., None] > 0, new, cent)
    assign = torch.cdist(x, cent).argmin(dim=-1)
    mass = (F.one_hot(assign, layers).float() * w[..., None]).sum(1)  # (B, K)
    # order by weight, heaviest first; then merge each cluster into a heavier one whose track is close
    order = mass.argsort(dim=1, descending=True)
    rank = order.argsort(dim=1)
    assign = rank.gather(1, assign)
    cent = cent.gather(1, order[..., None].expand(-1, -1, d))
    mass = mass.gather(1, order)
    target = torch.arange(layers).expand(bsz, layers).clone()
    for k in range(1, layers):
        rms = ((cent[:, :k] - cent[:, k : k + 1]).pow(2).sum(-1) / (d // 2)).sqrt()  # (B, k)
        rms = torch.where(mass[:, :k] > 0, rms, torch.full_like(rms, float("inf")))
        near, j = rms.min(dim=1)
        merge = (near < merge_px) | (mass[:, k] <= 0)
        target[:, k] = torch.where(merge, target.gather(1, j[:, None])[:, 0], target[:, k])
    assign = target.gather(1, assign)
    # renumber the surviving layers 0, 1, … in order, and send content-free blocks to layer 0
    alive = F.one_hot(assign, layers).amax(1).bool()  # (B, K)
    renumber = alive.long().cumsum(1) - 1
    assign = renumber.gather(1, assign)
    return torch.where(has, assign, torch.zeros_like(assign))


def analyse(
    video: torch.Tensor, layers: int, block: int, *, peaks: int = 6, content_min: float = 0.02, refine: bool = True
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """A real clip as layers (see the module docstring). video (B, C, T, H, W) in [-1, 1] →

    ``anchor`` (B, C, H, W): the first frame centred; ``offset`` (B, 2): its centring offset;
    ``masks`` (B, K, gh, gw): one-hot layer of every block; ``paths`` (B, T, K, 2): every layer's
    translation from the centred anchor in pixels (an empty layer's is the offset: it stands still).
    """
    first = video[:, :, 0]
    offset = lossless_centring_offset(first)  # (B, 2)
    anchor = translate(first, -offset[:, None])[:, :, 0]
    motions = phase_correlation_peaks(video, peaks)  # (B, T, P, 2), frame 0 all zero
    still = torch.zeros_like(motions[:, :, :1])
    candidates = offset[:, None, None] + torch.cat([still, motions], dim=2)  # standing still first
    errors = block_errors(anchor, video, candidates, block)  # (B, T, P + 1, N)
    tracks = pick(candidates, errors)  # (B, N, T, 2): every block's own best track
    content = _content(anchor, block).flatten(1)  # (B, N)
    weight = torch.where(content > content_min, content, torch.zeros_like(content))
    assign = cluster_tracks(tracks, weight, layers)  # (B, N)
    onehot = F.one_hot(assign, layers).float()  # (B, N, K)
    # a layer's path: in every frame, the candidate that carries all its blocks best (content-free blocks
    # count a little, so that a blank clip's layer 0 stands still)
    layer_err = torch.einsum("btpn,bnk->btpk", errors, onehot * (weight[..., None] + 1e-6))
    paths = pick(candidates, layer_err).transpose(1, 2)  # (B, T, K, 2)
    if refine:
        # every content block goes to the layer whose whole path carries it best (the clustering above
        # compared tracks, which a block shared by two things or a frame of doubt can mislead)
        best = layer_err.argmin(dim=2)  # (B, T, K): each layer's candidate in every frame
        along = errors.gather(2, best[..., None].expand(-1, -1, -1, errors.shape[-1]))  # (B, T, K, N)
        alive = onehot.sum(1) > 0  # (B, K)
        cost = along.sum(1).masked_fill(~alive[..., None], torch.inf)  # (B, K, N)
        assign = torch.where(weight > 0, cost.argmin(dim=1), assign)
        onehot = F.one_hot(assign, layers).float()
        layer_err = torch.einsum("btpn,bnk->btpk", errors, onehot * (weight[..., None] + 1e-6))
        paths = pick(candidates, layer_err).transpose(1, 2)
    standing = offset[:, None, None].expand_as(paths)
    gh, gw = video.shape[-2] // block, video.shape[-1] // block
    masks = rearrange(onehot, "b (h w) k -> b k h w", h=gh, w=gw)
    # a layer that lost every block (only its weight was tiny) stands still
    empty = masks.flatten(2).sum(-1) == 0  # (B, K)
    paths = torch.where(empty[:, None, :, None], standing, paths)
    return anchor, offset, masks, paths


# ---- drawing: (anchor pixels, masks, paths) → frames -------------------------------------------------
def composite(pixels: torch.Tensor, masks: torch.Tensor, paths: torch.Tensor) -> torch.Tensor:
    """Stack the moved layers: pixels (B, C, H, W) in [-1, 1]; masks (B, K, H, W) in [0, 1] (full size);
    paths (B, T, K, 2) pixels → video (B, C, T, H, W) in [-1, 1]. Layer 0 is at the bottom, each layer's
    mask is its alpha (moved with it). Where no layer lands (what a moving layer uncovers, what enters at an
    edge), the frame shows the anchor's background: its median colour (black on Moving Digits; on real
    footage a hole of background colour costs far less than a black one)."""
    colour = (pixels.float() + 1) / 2
    background = colour.flatten(-2).median(dim=-1).values[:, :, None, None, None]  # (B, C, 1, 1, 1)
    out = cover = None
    for k in range(masks.shape[1]):
        m = masks[:, k : k + 1].float()
        moved = (translate(torch.cat([colour * m, m], dim=1) * 2 - 1, paths[:, :, k]) + 1) / 2  # black pads 0
        c, alpha = moved[:, :-1], moved[:, -1:]
        out = c if out is None else out * (1 - alpha) + c
        cover = alpha if cover is None else cover * (1 - alpha) + alpha
    out = out + (1 - cover).clamp(0, 1) * background
    return out.clamp(0, 1) * 2 - 1


def upsample_masks(masks: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Block masks (B, K, gh, gw) → (B, K, H, W), each block's value over its pixels."""
    return F.interpolate(masks.float(), size=size, mode="nearest")


def cell_residual(video: torch.Tensor, drawn: torch.Tensor, cell: int) -> torch.Tensor:
    """What ``drawn`` misses of ``video`` (both (B, C, T, H, W)), averaged over ``cell``×``cell`` pixels in
    every frame → (B, T, C, H / cell, W / cell): a coarse appearance correction per frame."""
    b, c, t, h, w = video.shape
    err = (video.float() - drawn.float()).transpose(1, 2).reshape(b * t, c, h, w)
    return F.avg_pool2d(err, cell, ceil_mode=True).unflatten(0, (b, t))


def add_residual(drawn: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
    """``drawn`` (B, C, T, H, W) plus a per-frame correction (B, T, C, h, w) brought to full size bilinearly."""
    b, c, t, h, w = drawn.shape
    up = F.interpolate(residual.flatten(0, 1).float(), size=(h, w), mode="bilinear", align_corners=False)
    return drawn + up.unflatten(0, (b, t)).transpose(1, 2)


def reconstruct(video: torch.Tensor, layers: int = 3, block: int = 4, residual_cell: int = 0) -> torch.Tensor:
    """A real clip encoded into the layered representation and drawn back, in pixels (no autoencoder, no
    sampling): the ceiling of what this generator's representation can show of that clip. With
    ``residual_cell``, the per-frame appearance correction is added (``gen.residual_cell``)."""
    anchor, _, masks, paths = analyse(video, layers, block)
    drawn = composite(anchor, upsample_masks(masks, video.shape[-2:]), paths)
    if residual_cell:
        drawn = add_residual(drawn, cell_residual(video, drawn, residual_cell)).clamp(-1, 1)
    return drawn


# ---- the generator -------------------------------------------------------------------------------------
class LayeredFlow(AnchorFlow):
    """Layered anchor flow: the centred first frame's latent + layer masks + every layer's path, generated
    jointly by rectified flow (see the module docstring); the anchor flow is its one-layer case."""

    continues_itself = False  # longer clips: extend() carries every layer's motion on (the module docstring)

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        self.cell = cfg.height // self.latent_hw[0]  # pixels of one latent cell
        self.block = cfg.gen.mask_block  # pixels of one mask cell; a latent cell carries (cell / block)² of them
        if self.cell % self.block:
            raise ValueError(f"gen.mask_block must divide the latent cell ({self.cell} px), got {self.block}")
        rc = cfg.gen.residual_cell
        if rc and (cfg.height % rc or cfg.width % rc):
            raise ValueError(f"gen.residual_cell must divide the frame ({cfg.height}×{cfg.width}), got {rc}")
        if rc:
            # the correction's RMS in [-1, 1] pixel units, set on the first flow batch as the motion scale is
            self.register_buffer("residual_scale", torch.ones(()))

    @staticmethod
    def centring(frame: torch.Tensor) -> torch.Tensor:
        """Centring that pushes nothing out of the frame (:func:`lossless_centring_offset`), as in training."""
        return lossless_centring_offset(frame)

    @property
    def layers(self) -> int:
        return self.cfg.gen.layers

    @property
    def path_dim(self) -> int:
        return 2 * self.layers

    @property
    def residual_shape(self) -> tuple[int, int, int]:
        """(C, h, w) of a frame's appearance correction; (0, 0, 0) without one."""
        rc = self.cfg.gen.residual_cell
        return (3, self.cfg.height // rc, self.cfg.width // rc) if rc else (0, 0, 0)

    @property
    def motion_dim(self) -> int:
        """A frame token: every layer's (dx, dy), then the frame's appearance correction, if any, flattened."""
        c, h, w = self.residual_shape
        return self.path_dim + c * h * w

    def start_token(self, offset: torch.Tensor) -> torch.Tensor:
        """A given first frame: every layer starts at its offset, with no appearance correction."""
        start = (offset / self.motion_scale).repeat(1, self.layers)
        return torch.cat([start, start.new_zeros(start.shape[0], self.motion_dim - self.path_dim)], dim=1)

    def frame_tokens(
        self, video: torch.Tensor, anchor: torch.Tensor, masks: torch.Tensor, paths: torch.Tensor, *, set_scale: bool
    ) -> torch.Tensor:
        """Every frame's token in flow units (B, T, motion_dim): the analysed paths (B, T, K, 2), then, with
        ``gen.residual_cell``, what the layers drawn from the analysed anchor miss of ``video``."""
        paths = paths.flatten(2)  # (B, T, 2K)
        if set_scale:
            self._set_motion_scale(paths)
        tokens = paths / self.motion_scale
        if not self.cfg.gen.residual_cell:
            return tokens
        drawn = composite(anchor, upsample_masks(masks, video.shape[-2:]), paths.unflatten(-1, (self.layers, 2)))
        res = cell_residual(video, drawn, self.cfg.gen.residual_cell).flatten(2)  # (B, T, C·h·w)
        if set_scale:
            rms = self.mean_across_processes(res.pow(2).mean().reshape(1))[0]
            self.residual_scale.copy_(rms.clamp_min(1e-6).sqrt())
        return torch.cat([tokens, res / self.residual_scale], dim=-1)

    @property
    def mask_channels(self) -> int:
        return self.layers * (self.cfg.height // self.latent_hw[0] // self.cfg.gen.mask_block) ** 2

    @torch.no_grad()
    def representation(self, video: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """A real clip as the Transformer sees it: (B, c + K·f², h, w) — the centred anchor's normalised latent
        and its ±1 layer masks, f × f mask cells folded into each latent cell — and the paths in flow units
        (B, T, 2K). The first call sets the scales."""
        first_batch = not bool(self.latent_stats_set)
        anchor, _, masks, paths = analyse(video, self.layers, self.block)
        latent = self.encode(anchor[:, :, None])[:, 0].float()
        folded = F.pixel_unshuffle(masks * 2 - 1, self.cell // self.block)  # (B, K·f², h, w)
        return torch.cat([latent, folded], dim=1), self.frame_tokens(video, anchor, masks, paths, set_scale=first_batch)

    def render(self, a: torch.Tensor, m: torch.Tensor, num_frames: int, dtype: torch.dtype) -> torch.Tensor:
        """(anchor + masks, paths) → video: the decoded anchor cut into its layers, each moved on its path."""
        c = self.latent_channels
        pixels = self.decode(a[:, None, :c].to(dtype))[:, :, 0].float()  # (B, C, H, W)
        masks = torch.softmax(MASK_SHARPNESS * F.pixel_shuffle(a[:, c:].float(), self.cell // self.block), dim=1)
        m = m[:, :num_frames].float()
        paths = (m[..., : self.path_dim] * self.motion_scale).unflatten(-1, (self.layers, 2))
        video = composite(pixels, upsample_masks(masks, pixels.shape[-2:]), paths)
        if not self.cfg.gen.residual_cell:
            return video
        residual = (m[..., self.path_dim :] * self.residual_scale).unflatten(-1, self.residual_shape)
        return add_residual(video, residual).clamp(-1, 1)

    def flow_batch(self, video: torch.Tensor, cond: Condition) -> FlowBatch:
        """Rectified flow on (anchor + masks, paths), with what a sample is given held clean and out of the loss:
        an image gives the anchor's latent and every layer's start; a prefix (a share ``gen.p_prefix`` of the
        batch: how a clip is continued, :meth:`extend`) gives the whole anchor and the first k frames."""
        a1, m1 = self.representation(video)
        b, g, frames = a1.shape[0], self.latent_channels, m1.shape[1]
        a0, m0 = torch.randn_like(a1), torch.randn_like(m1)
        t = torch.sigmoid(torch.randn(b, device=a1.device))  # logit-normal: more weight mid-path (SD3)
        at = (1 - t[:, None, None, None]) * a0 + t[:, None, None, None] * a1
        mt = (1 - t[:, None, None]) * m0 + t[:, None, None] * m1
        no = torch.zeros(b, dtype=torch.bool, device=a1.device)
        latent_given, masks_given = no.clone(), no.clone()
        frames_given = torch.zeros(b, frames, dtype=torch.bool, device=a1.device)
        if cond.image is not None:
            latent_given |= cond.has_image
            frames_given[:, 0] |= cond.has_image
        if self.cfg.gen.p_prefix > 0:
            prefix = torch.rand(b, device=a1.device) < self.cfg.gen.p_prefix
            known = torch.randint(1, frames, (b,), device=a1.device)  # 1 … T − 1 frames known
            latent_given |= prefix
            masks_given |= prefix
            frames_given |= prefix[:, None] & (torch.arange(frames, device=a1.device) < known[:, None])
        at = torch.cat(
            [
                torch.where(latent_given[:, None, None, None], a1[:, :g], at[:, :g]),
                torch.where(masks_given[:, None, None, None], a1[:, g:], at[:, g:]),
            ],
            dim=1,
        )
        mt = torch.where(frames_given[..., None], m1, mt)
        n_anchor = self.latent_hw[0] * self.latent_hw[1] // self.cfg.gen.flow_patch**2
        flags = torch.cat([latent_given[:, None].expand(b, n_anchor), frames_given], dim=1)
        return FlowBatch(at, mt, t, flags, a1 - a0, m1 - m0, latent_given, masks_given)

    def flow_loss(self, video: torch.Tensor, cond: Condition) -> dict[str, torch.Tensor]:
        x = self.flow_batch(video, cond)
        va, vm = self.velocity(x, cond)
        g, frames_given = self.latent_channels, x.flags[:, -x.path.shape[1] :]

        def masked_mse(err: torch.Tensor, given: torch.Tensor) -> torch.Tensor:
            keep = (~given).float()
            return (err * keep).sum() / keep.sum().clamp_min(1)

        err = (va.float() - x.anchor_target).pow(2)
        anchor_mse = masked_mse(err[:, :g].mean(dim=(1, 2, 3)), x.latent_given)
        mask_mse = masked_mse(err[:, g:].mean(dim=(1, 2, 3)), x.masks_given)
        err_m = (vm.float() - x.path_target).pow(2)  # (B, T, motion_dim)
        p = self.path_dim  # the paths and the correction weigh the same whatever their sizes
        motion_mse = masked_mse(err_m[..., :p].mean(dim=-1), frames_given)
        out = {
            "loss": anchor_mse + mask_mse + motion_mse,
            "anchor_mse": anchor_mse.detach(),
            "mask_mse": mask_mse.detach(),
            "motion_mse": motion_mse.detach(),
        }
        if err_m.shape[-1] > p:
            residual_mse = masked_mse(err_m[..., p:].mean(dim=-1), frames_given)
            out["loss"] = out["loss"] + residual_mse
            out["residual_mse"] = residual_mse.detach()
        return out

    @torch.no_grad()
    def extend(
        self,
        video: torch.Tensor,
        cond: Condition,
        *,
        new_frames: int,
        uncond: Condition | None,
        guidance_scale: float,
        generator: torch.Generator | None = None,
        steps: int | None = None,
    ) -> torch.Tensor:
        """``new_frames`` more frames (B, C, new_frames, H, W) that carry ``video`` (B, C, T0, H, W) on.

        The last half-window of the clip is analysed into layers (:func:`analyse`, as a training clip is);
        its anchor, masks and known paths are pinned, and the flow samples the paths of the half-window
        after it, so every layer keeps its own motion (speed, direction, a bounce) across the seam instead of
        starting again from a still first frame. Repeats half a window at a time.
        """
        frames = self.cfg.num_frames
        keep = max(1, min(frames // 2, video.shape[2]))
        n_anchor = self.latent_hw[0] * self.latent_hw[1] // self.cfg.gen.flow_patch**2
        parts, have = [], 0
        while have < new_frames:
            tail = video[:, :, -keep:].float()
            anchor, _, masks, paths = analyse(tail, self.layers, self.block)
            latent = self.encode(anchor[:, :, None])[:, 0].float()
            fixed = torch.cat([latent, F.pixel_unshuffle(masks * 2 - 1, self.cell // self.block)], dim=1)
            known = self.frame_tokens(tail, anchor, masks, paths, set_scale=False)  # (B, keep, motion_dim)
            b = video.shape[0]
            flags = torch.zeros(b, n_anchor + frames, dtype=torch.bool, device=video.device)
            flags[:, : n_anchor + keep] = True
            noise = self.sample_noise(b, frames, generator=generator)

            def velocity(state, t, c, doubled, flags=flags):
                return self.transformer(*state, t, c, torch.cat([flags, flags]) if doubled else flags)

            def pin(state, fixed=fixed, known=known):
                return fixed, torch.cat([known, state[1][:, keep:]], dim=1)

            a, m = euler_flow(
                velocity,
                (noise["anchor"], noise["path"]),
                cond=cond,
                uncond=uncond,
                guidance_scale=guidance_scale,
                steps=steps or self.cfg.gen.sample_steps,
                pin=pin,
            )
            new = self.render(a, m, frames, video.dtype)[:, :, keep:]
            video = torch.cat([video, new], dim=2)
            parts.append(new)
            have += new.shape[2]
        return torch.cat(parts, dim=2)[:, :, :new_frames]
