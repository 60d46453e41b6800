"""Shapes and behaviour of the encoders and the fusion Transformer (tiny preset, CPU, seconds)."""

import pytest
import torch

from vidfuse.config import ModelConfig, model_preset, tiny
from vidfuse.data.pretrained_text import HFTokenizer, load_text_backbone, resolve_pretrained
from vidfuse.errors import InputError
from vidfuse.models.fusion import MultimodalFusion
from vidfuse.models.text_encoder import PretrainedTextEncoder, ScratchTextEncoder
from vidfuse.models.visual_encoder import VisualEncoder


def test_scratch_text_encoder_shapes_and_padding_invariance():
    torch.manual_seed(0)
    enc = ScratchTextEncoder(vocab_size=50, dim=32, heads=2, layers=2, max_len=16).eval()
    ids = torch.randint(1, 50, (2, 10))
    mask = torch.ones(2, 10, dtype=torch.bool)
    h = enc(ids, mask)
    assert h.shape == (2, 10, 32)
    # extra padding must not change the features of real tokens
    ids_pad = torch.cat([ids, torch.zeros(2, 4, dtype=torch.long)], 1)
    mask_pad = torch.cat([mask, torch.zeros(2, 4, dtype=torch.bool)], 1)
    assert torch.allclose(enc(ids_pad, mask_pad)[:, :10], h, atol=1e-5)


def test_visual_encoder_tokens():
    enc = VisualEncoder(in_channels=3, channels=(8, 16, 32), dim=32, height=64, width=64)
    v = enc(torch.randn(2, 3, 64, 64))
    assert v.shape == (2, 64, 32)  # 8×8 tokens


def test_fusion_modalities_optional_and_dropout():
    torch.manual_seed(0)
    fusion = MultimodalFusion(dim=32, heads=2, layers=2).eval()
    text = torch.randn(3, 7, 32)
    mask = torch.ones(3, 7, dtype=torch.bool)
    mask[0, 5:] = False
    visual = torch.randn(3, 16, 32)
    both = fusion(text, mask, visual, batch_size=3)
    assert both.tokens.shape == (3, 1 + 7 + 1 + 16, 32) and both.mask.shape == (3, 25)
    assert both.pooled.shape == (3, 32)
    text_only = fusion(text, mask, None, batch_size=3)
    assert text_only.tokens.shape == (3, 1 + 7 + 1, 32)
    nothing = fusion(None, None, None, batch_size=3)
    assert nothing.tokens.shape == (3, 2, 32) and nothing.mask.all()
    # dropping the text of a sample = the unconditional branch: identical to having no text at all
    dropped = fusion(text, mask, None, batch_size=3, drop_text=torch.tensor([True, False, True]))
    assert torch.allclose(dropped.pooled[0], nothing.pooled[0], atol=1e-5)
    assert not torch.allclose(dropped.pooled[1], nothing.pooled[1], atol=1e-3)
    # a sample flagged as having no image matches the text-only condition
    partial = fusion(text, mask, visual, batch_size=3, has_image=torch.tensor([False, True, True]))
    assert torch.allclose(partial.pooled[0], text_only.pooled[0], atol=1e-5)
    assert torch.isfinite(partial.tokens).all()


def test_cross_attention_reads_the_image():
    torch.manual_seed(0)
    fusion = MultimodalFusion(dim=32, heads=2, layers=1).eval()
    text, mask = torch.randn(1, 5, 32), torch.ones(1, 5, dtype=torch.bool)
    a = fusion(text, mask, torch.randn(1, 4, 32), batch_size=1)
    b = fusion(text, mask, torch.randn(1, 4, 32), batch_size=1)
    assert not torch.allclose(a.tokens[:, :6], b.tokens[:, :6])  # text tokens changed with the image


def test_minilm_token_embeddings_offline():
    enc = PretrainedTextEncoder(load_text_backbone("minilm"), dim=32, freeze=True)

    tok = HFTokenizer("minilm", max_length=32)
    ids, mask = tok.encode(["a red digit 3 moves left", "红色的数字7向下移动"])
    h = enc(ids, mask)
    assert h.shape == (2, ids.shape[1], 32)
    assert not any(p.requires_grad for p in enc.backbone.parameters())
    h.sum().backward()
    assert enc.proj.weight.grad is not None


def test_missing_pretrained_folder_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="no config.json"):
        resolve_pretrained(str(tmp_path / "nowhere"))


def test_presets_and_config_round_trip():
    for name in ("tiny", "small", "base"):
        cfg = model_preset(name)
        assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    assert (model_preset("small").num_frames, model_preset("small").height) == (16, 64)
    with pytest.raises(InputError, match="unknown preset"):
        model_preset("huge")
    with pytest.raises(InputError, match="unknown ModelConfig field"):
        ModelConfig.from_dict({**tiny().to_dict(), "dimm": 3})


def test_cpu_math_attention_matches_the_fused_kernel():
    """Short sequences on a CPU take the plain matmul path (3-5x faster); it must compute the same thing."""
    from vidfuse.models import layers

    torch.manual_seed(0)
    attn = layers.Attention(32, 4, context_dim=16)
    x, ctx = torch.randn(3, 7, 32), torch.randn(3, 5, 16)
    mask = torch.tensor([[True] * 5, [True, True, False, False, False], [False, True, True, True, True]])
    fast = attn(x, ctx, mask)
    limit = layers._CPU_MATH_ATTENTION_MAX
    try:
        layers._CPU_MATH_ATTENTION_MAX = 0  # force the fused kernel
        fused = attn(x, ctx, mask)
    finally:
        layers._CPU_MATH_ATTENTION_MAX = limit
    assert torch.allclose(fast, fused, atol=1e-5)


def test_visual_encoder_runs_only_on_samples_with_an_image():
    from vidfuse.models.model import VidFuseModel

    torch.manual_seed(0)
    cfg = tiny()
    cfg.vocab_size = 50
    model = VidFuseModel(cfg).eval()
    image = torch.rand(3, 3, 16, 16) * 2 - 1
    has = torch.tensor([True, False, True])
    feats = model.encode_images(image, has)
    assert torch.allclose(feats[[0, 2]], model.visual_encoder(image[[0, 2]]), atol=1e-5)
    assert torch.equal(feats[1], torch.zeros_like(feats[1]))
    ids, mask = torch.randint(1, 50, (3, 6)), torch.ones(3, 6, dtype=torch.bool)
    cond = model.condition(ids, mask, image, has_image=has)
    assert torch.equal(cond.has_image, has) and cond.image is image  # an image-to-video generator reads it


def test_guidance_encodes_the_prompt_once_and_its_unconditional_branch_ignores_the_text():
    """The unconditional branch hides every text token behind the null token, so the text encoder need not run
    for it (with e5 that second pass was a third of a prompt's time); its Z is the one a dropped text gives."""
    from vidfuse.models.model import VidFuseModel

    torch.manual_seed(0)
    cfg = tiny()
    cfg.vocab_size = 50
    model = VidFuseModel(cfg).eval()
    calls = {"text": 0, "visual": 0}
    model.text_encoder.register_forward_hook(lambda *_: calls.__setitem__("text", calls["text"] + 1))
    model.visual_encoder.register_forward_hook(lambda *_: calls.__setitem__("visual", calls["visual"] + 1))
    ids, mask = torch.randint(1, 50, (3, 6)), torch.ones(3, 6, dtype=torch.bool)
    mask[1, 4:] = False
    image = torch.rand(3, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        cond, uncond = model._conditions(ids, mask, image, guidance_scale=2.0)
        assert calls == {"text": 1, "visual": 1}
        dropped = model.condition(ids, mask, image, drop_text=torch.ones(3, dtype=torch.bool))
        plain = model.condition(ids, mask, image)
    for got, want in ((uncond, dropped), (cond, plain)):
        assert torch.equal(got.mask, want.mask) and got.image is image
        torch.testing.assert_close(got.tokens[got.mask], want.tokens[want.mask], rtol=1e-5, atol=1e-6)  # hidden: unread
        torch.testing.assert_close(got.pooled, want.pooled, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(uncond.pooled, cond.pooled, atol=1e-3)  # it is the unconditional branch


def test_a_training_step_that_wants_the_unconditional_branch_encodes_the_text_once():
    """anchor-add's teacher samples with guidance in training: its Z without text comes from the step's own
    encoders (the text hidden, the image features reused), and equals the Z a dropped text gives."""
    from vidfuse.models.model import VidFuseModel

    torch.manual_seed(0)
    cfg = tiny("anchor")
    cfg.vocab_size, cfg.p_image, cfg.p_drop_text = 50, 1.0, 0.0
    model = VidFuseModel(cfg).eval()
    seen = {}
    model.generator.wants_uncond = True
    model.generator.loss = lambda video, cond, *, phase, uncond: (
        seen.update(cond=cond, uncond=uncond) or {"loss": cond.pooled.sum()}
    )
    calls = []
    model.text_encoder.register_forward_hook(lambda *_: calls.append(1))
    ids, mask = torch.randint(1, 50, (3, 6)), torch.ones(3, 6, dtype=torch.bool)
    video = torch.rand(3, 3, cfg.num_frames, cfg.height, cfg.width) * 2 - 1
    with torch.no_grad():
        model.loss(ids, mask, video, phase=model.generator.cond_phase)
        assert len(calls) == 1
        cond, uncond = seen["cond"], seen["uncond"]
        want = model.condition(
            ids, mask, cond.image, drop_text=torch.ones(3, dtype=torch.bool), has_image=cond.has_image
        )
    assert torch.equal(uncond.mask, want.mask) and uncond.image is cond.image
    torch.testing.assert_close(uncond.tokens[uncond.mask], want.tokens[want.mask], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(uncond.pooled, want.pooled, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("family", ["gan", "anchor", "flow"])
def test_a_clip_drawn_from_given_noise_is_the_clip_its_seed_draws(family):
    """The pipeline draws each layered prompt's noise from its own generator and all the clips in one batch: that
    must be the clip the generator would have drawn. A clip continued in windows draws its noise as it goes."""
    from tests.conftest import tiny_pipeline
    from vidfuse.pipeline import pad_tokens

    pipe = tiny_pipeline(family)
    model, frames = pipe.model, pipe.num_frames
    ids, mask = pad_tokens(*pipe.tokenizer.encode(["a red 3 moving left", "a blue 7 moving up"]))
    seeded = model.generate(ids, mask, num_frames=frames, generator=torch.Generator().manual_seed(5))
    noise = model.generator.sample_noise(2, frames, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(model.generate(ids, mask, num_frames=frames, noise=noise), seeded)
    assert model.draws_once(frames)
    longer = 2 * frames + 1
    assert model.draws_once(longer) == (family != "flow")  # the anchor continues itself; a GAN has no native length
    if family == "flow":
        with pytest.raises(ValueError, match="one pass"):
            model.generate(ids, mask, num_frames=longer, noise=noise)
