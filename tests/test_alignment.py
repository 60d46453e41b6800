"""The text–clip alignment loss (vidfuse.models.alignment): what it rewards, what it trains, what it leaves out."""

import math

import torch
from conftest import CAPTIONS, tiny_pipeline

from vidfuse.models.alignment import ClipReader, TextClipAlignment


def test_clip_reader_shapes():
    reader = ClipReader(in_channels=3, dim=16)
    assert reader(torch.rand(3, 3, 8, 64, 64) * 2 - 1).shape == (3, 16)
    assert reader(torch.rand(2, 3, 4, 16, 16) * 2 - 1).shape == (2, 16)  # small frames are read whole


def test_loss_learns_to_match_captions_to_clips():
    """Far below chance (log B) once the text side and the reader have learnt the pairs."""
    torch.manual_seed(0)
    align = TextClipAlignment(dim=16, in_channels=3)
    video = torch.zeros(4, 3, 4, 16, 16)
    for i in range(4):  # four clips that differ in colour and in where the bright square goes
        video[i, i % 3, :, 2 * i : 2 * i + 4, 4:8] = 1
    video = video * 2 - 1
    text = torch.nn.Parameter(torch.randn(4, 16) * 0.01)
    before = align(text, video).item()
    opt = torch.optim.Adam([text, *align.parameters()], lr=1e-2)
    for _ in range(60):
        opt.zero_grad()
        align(text, video).backward()
        opt.step()
    assert align(text, video).item() < min(before, 0.2 * math.log(4))
    assert align(torch.randn(1, 16), video[:1]) == 0  # one pair: nothing to contrast


def test_model_adds_the_loss_and_trains_the_text_side_only_in_training():
    pipe = tiny_pipeline("anchor")
    cfg = pipe.model.cfg
    cfg.align_weight = 0.5
    from vidfuse.models.model import VidFuseModel

    torch.manual_seed(0)
    model = VidFuseModel(cfg)
    ids, mask = pipe.tokenizer.encode(CAPTIONS[:4])
    video = torch.rand(4, cfg.channels, cfg.num_frames, cfg.height, cfg.width) * 2 - 1
    cfg.p_drop_text, cfg.p_image = 0.0, 0.0  # every sample conditioned on its text alone
    out = model.loss(ids, mask, video, phase=model.generator.cond_phase)
    assert "align" in out and out["align"] > 0
    out["loss"].backward()
    assert model.alignment.reader.out.weight.grad is not None
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.text_encoder.parameters())
    assert set(map(id, model.alignment.parameters())) <= set(map(id, model.conditioning_parameters()))
    # a saved model does not carry the reader, and loads without it
    assert not any(k.startswith("alignment.") for k in model.inference_state_dict())


def test_off_by_default():
    pipe = tiny_pipeline("anchor")
    assert pipe.model.cfg.align_weight == 0 and pipe.model.alignment is None


def test_identical_captions_give_no_direction():
    """Centring identical pooled vectors leaves rounding noise: it must not be normalised into a direction
    (the loss stays at chance, log B, and its gradient stays small)."""
    torch.manual_seed(0)
    align = TextClipAlignment(dim=16, in_channels=3)
    video = torch.rand(8, 3, 4, 16, 16) * 2 - 1
    pooled = torch.randn(1, 16).expand(8, 16).clone() * 3 + torch.randn(8, 16) * 1e-9
    pooled.requires_grad_(True)
    loss = align(pooled, video)
    assert abs(loss.item() - math.log(8)) < 1e-3
    loss.backward()
    assert pooled.grad.abs().max() < 50  # ~1/ε; a plain unit-length scaling gives ~1e3 here
