import os

import pytest
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")
torch.set_num_threads(2)

CAPTIONS = ["the red digit 3 is moving to the left", "a blue seven moves down", "数字3在左右移动",
            "红色的数字7向下移动", "digit 5 is going right", "a green 4 bouncing up and down"]


def tiny_pipeline(generator: str = "gan", seed: int = 0):
    from vidfuse.config import tiny
    from vidfuse.data.tokenizer import CharTokenizer
    from vidfuse.models.model import VidFuseModel
    from vidfuse.pipeline import TextToVideoPipeline

    torch.manual_seed(seed)
    tok = CharTokenizer.build(CAPTIONS, max_length=48)
    cfg = tiny()
    cfg.generator = generator
    cfg.vocab_size = tok.vocab_size
    return TextToVideoPipeline(VidFuseModel(cfg), tok, device="cpu")


@pytest.fixture(params=["gan", "vae", "anchor"])
def pipe(request):
    return tiny_pipeline(request.param)
