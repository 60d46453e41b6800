"""Real-data loaders (WebVid CSV, JSONL, Kinetics, COCO), skip-on-corrupt, errors, hflip, collate."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from vidfuse.data.augment import hflip_clip, swap_left_right
from vidfuse.data.collate import collate
from vidfuse.data.folder import CocoCaptions, KineticsCSV, VideoCaptionFolder, open_dataset
from vidfuse.errors import InputError
from vidfuse.media.video_io import write_video


def clip_frames(t: int = 20, h: int = 36, w: int = 48, tint: int = 0) -> np.ndarray:
    """uint8 (T, H, W, 3): bright on the left, dark on the right, so a mirror is visible."""
    ramp = np.linspace(230, 20, w, dtype=np.float32)[None, None, :, None]  # (1, 1, W, 1)
    frames = np.broadcast_to(ramp, (t, h, w, 3)).copy()
    frames[..., 2] = tint
    return frames.astype(np.uint8)


def make_video(path: Path, tint: int = 0, t: int = 20) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_video(path, clip_frames(t=t, tint=tint), fps=8.0)


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text(
        "\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8"
    )
    return path


def check_sample(sample, shape) -> None:
    video, caption, attrs = sample
    assert video.dtype == torch.float32 and tuple(video.shape) == shape  # (C, T, H, W)
    assert video.min() >= -1.0 and video.max() <= 1.0
    assert isinstance(caption, str) and caption
    assert isinstance(attrs, dict) and Path(attrs["path"]).is_file()


# ---------------------------------------------------------------------- WebVid CSV / JSONL


def test_webvid_csv_local_paths_and_url_layout(tmp_path):
    make_video(tmp_path / "clips" / "a.mp4")
    make_video(tmp_path / "001" / "42.mp4", tint=200)
    (tmp_path / "results.csv").write_text(
        "videoid,name,page_dir,duration,contentUrl\n"
        "7,A man walks to the left,000,PT00H00M11S,clips/a.mp4\n"
        '42,"Waves, at sunset",001,PT00H00M09S,https://example.com/videos/42.mp4\n',
        encoding="utf-8",
    )
    ds = VideoCaptionFolder(tmp_path / "results.csv", num_frames=8, size=32)
    assert len(ds) == 2
    for i in range(2):
        check_sample(ds[i], (3, 8, 32, 32))
    assert ds[0][1] == "A man walks to the left"
    assert ds[1][1] == "Waves, at sunset"
    assert ds[1][2]["path"] == str(tmp_path / "001" / "42.mp4")
    assert ds[1][2]["videoid"] == "42" and ds[1][2]["source"] == "webvid"
    assert len(list(ds)) == 2  # plain iteration stops (IndexError past the end)


def test_webvid_root_for_url_rows(tmp_path):
    make_video(tmp_path / "videos" / "001" / "42.mp4")
    (tmp_path / "index").mkdir()
    csv_path = tmp_path / "index" / "results.csv"
    csv_path.write_text(
        "videoid,name,page_dir,duration,contentUrl\n42,waves,001,PT9S,https://x/42.mp4\n", encoding="utf-8"
    )
    ds = VideoCaptionFolder(csv_path, root=tmp_path / "videos", num_frames=4, size=16)
    check_sample(ds[0], (3, 4, 16, 16))


def test_jsonl_and_folder(tmp_path):
    make_video(tmp_path / "v" / "one.mp4")
    make_video(tmp_path / "v" / "two.mp4")
    write_jsonl(
        tmp_path / "captions.jsonl",
        [{"video": "v/one.mp4", "caption": "数字3向左移动", "fps": 8}, "", {"video": "v/two.mp4", "caption": "a cat"}],
    )
    for ds in (
        VideoCaptionFolder(tmp_path, num_frames=16, size=(24, 40)),
        open_dataset(tmp_path, num_frames=16, size=(24, 40)),
    ):
        assert isinstance(ds, VideoCaptionFolder) and len(ds) == 2
        check_sample(ds[0], (3, 16, 24, 40))
        assert ds[0][1] == "数字3向左移动" and ds[0][2]["fps"] == 8
        assert ds[1][1] == "a cat"


def test_fps_sampling_window(tmp_path):
    make_video(tmp_path / "a.mp4", t=20)  # 2.5 s at 8 fps
    write_jsonl(tmp_path / "c.jsonl", [{"video": "a.mp4", "caption": "x"}])
    video, _, _ = VideoCaptionFolder(tmp_path / "c.jsonl", num_frames=4, size=16, fps=4.0)[0]
    assert video.shape == (3, 4, 16, 16)
    video, _, _ = VideoCaptionFolder(tmp_path / "c.jsonl", num_frames=16, size=16, fps=4.0)[0]
    assert video.shape == (3, 16, 16, 16)  # 10 frames at 4 fps, the last one held
    assert torch.equal(video[:, 9], video[:, 15])


# ---------------------------------------------------------------------- Kinetics


KINETICS_CSV = (
    "label,youtube_id,time_start,time_end,split\n"
    "playing_guitar,abc,10,20,train\n"
    "riding a bike,def,0,10,train\n"
    "dancing,ghi,5,15,train\n"
    "dancing,jkl,30,40,val\n"
)


def test_kinetics_layouts_and_split(tmp_path):
    root = tmp_path / "k400"
    make_video(root / "train" / "playing_guitar" / "abc_000010_000020.mp4")
    make_video(root / "train" / "riding_a_bike" / "def_000000_000010.mp4")  # label folder with underscores
    make_video(root / "ghi_000005_000015.mp4")  # flat layout
    make_video(root / "jkl.mp4")  # youtube id only
    (tmp_path / "k400.csv").write_text(KINETICS_CSV, encoding="utf-8")

    ds = KineticsCSV(tmp_path / "k400.csv", root=root, split="train", num_frames=8, size=32)
    assert [e.caption for e in ds.entries] == ["playing guitar", "riding a bike", "dancing"]
    for i in range(len(ds)):
        check_sample(ds[i], (3, 8, 32, 32))
    assert ds[0][2]["label"] == "playing_guitar" and ds[0][2]["time_start"] == 10

    everything = KineticsCSV(tmp_path / "k400.csv", root=root, num_frames=8, size=32)
    assert len(everything) == 4 and everything.entries[3].path == root / "jkl.mp4"

    with pytest.raises(InputError, match=r"no rows of split 'test'.*'train', 'val'"):
        KineticsCSV(tmp_path / "k400.csv", root=root, split="test")


def test_kinetics_missing_clip_names_line(tmp_path):
    (tmp_path / "k.csv").write_text(KINETICS_CSV, encoding="utf-8")
    make_video(tmp_path / "abc_000010_000020.mp4")
    with pytest.raises(InputError) as e:
        KineticsCSV(tmp_path / "k.csv", root=tmp_path)
    msg = str(e.value)
    assert "k.csv" in msg and "3 of the 4" in msg
    assert "line 3" in msg and "def_000000_000010.mp4" in msg and "line 5" in msg


def test_kinetics_bad_time_names_line(tmp_path):
    (tmp_path / "k.csv").write_text("label,youtube_id,time_start,time_end\nx,abc,ten,20\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"k\.csv: line 2: time_start"):
        KineticsCSV(tmp_path / "k.csv", root=tmp_path)


# ---------------------------------------------------------------------- COCO


def make_coco(tmp_path: Path, split: str = "val2017") -> Path:
    images = tmp_path / split
    images.mkdir()
    for i, name in enumerate(["000000000001.png", "000000000002.png"]):
        Image.fromarray(clip_frames(t=1, h=30, w=40, tint=100 * i)[0]).save(images / name)
    data = {
        "images": [{"id": 1, "file_name": "000000000001.png"}, {"id": 2, "file_name": "000000000002.png"}],
        "annotations": [
            {"id": 10, "image_id": 1, "caption": "A dog to the left of a cat."},
            {"id": 11, "image_id": 1, "caption": "Two pets."},
            {"id": 12, "image_id": 2, "caption": "左边有一只猫"},
        ],
    }
    (tmp_path / "annotations").mkdir()
    path = tmp_path / "annotations" / f"captions_{split}.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_coco_captions_as_still_clips(tmp_path):
    ann = make_coco(tmp_path)
    ds = CocoCaptions(ann, images_dir=tmp_path / "val2017", size=16)
    assert len(ds) == 3  # one item per caption
    check_sample(ds[0], (3, 1, 16, 16))
    assert ds[2][1] == "左边有一只猫" and ds[2][2]["image_id"] == 2
    video, _, _ = CocoCaptions(ann, images_dir=tmp_path / "val2017", size=16, num_frames=4)[0]
    assert video.shape == (3, 4, 16, 16) and all(torch.equal(video[:, 0], video[:, t]) for t in range(4))
    auto = open_dataset(ann, size=16)  # images_dir from COCO's own layout
    assert isinstance(auto, CocoCaptions) and auto.entries[0].path == tmp_path / "val2017" / "000000000001.png"


def test_coco_errors_name_entry(tmp_path):
    ann = make_coco(tmp_path)
    data = json.loads(ann.read_text(encoding="utf-8"))
    data["annotations"][1]["caption"] = "  "
    ann.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InputError, match=r"captions_val2017\.json: annotations\[1\].*caption"):
        CocoCaptions(ann, images_dir=tmp_path / "val2017")
    data["annotations"][1]["caption"] = "ok"
    ann.write_text(json.dumps(data), encoding="utf-8")
    (tmp_path / "val2017" / "000000000002.png").unlink()
    with pytest.raises(InputError, match=r"1 of the 2 files.*images\[1\]: .*000000000002\.png"):
        CocoCaptions(ann, images_dir=tmp_path / "val2017")
    ann.write_text('{\n  "images": [,]\n}', encoding="utf-8")
    with pytest.raises(InputError, match="line 2: not valid JSON"):
        CocoCaptions(ann, images_dir=tmp_path / "val2017")


# ---------------------------------------------------------------------- robustness


def test_corrupt_video_is_skipped_and_counted(tmp_path, caplog):
    make_video(tmp_path / "a.mp4")
    (tmp_path / "bad.mp4").write_bytes(b"definitely not a video " * 50)
    make_video(tmp_path / "c.mp4", tint=150)
    write_jsonl(
        tmp_path / "c.jsonl",
        [
            {"video": "a.mp4", "caption": "first"},
            {"video": "bad.mp4", "caption": "broken"},
            {"video": "c.mp4", "caption": "third"},
        ],
    )
    ds = VideoCaptionFolder(tmp_path / "c.jsonl", num_frames=4, size=16)
    with caplog.at_level(logging.WARNING, logger="vidfuse.data"):
        batches = list(DataLoader(ds, batch_size=2, collate_fn=collate))
    videos = torch.cat([b[0] for b in batches])
    captions = [c for b in batches for c in b[1]]
    assert videos.shape == (3, 3, 4, 16, 16)  # the epoch is complete
    assert captions == ["first", "third", "third"]  # the corrupt clip is replaced by the next one
    assert ds.skipped == 1 and ds.skipped_paths == [str(tmp_path / "bad.mp4")]
    warnings = [r for r in caplog.records if r.name == "vidfuse.data" and r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "bad.mp4" in warnings[0].getMessage() and "line 2" in warnings[0].getMessage()
    ds[1]
    assert ds.skipped == 1  # a known-bad clip is not tried (or counted) again


def test_last_clip_corrupt_wraps_around(tmp_path):
    make_video(tmp_path / "a.mp4")
    (tmp_path / "bad.mp4").write_bytes(make_video(tmp_path / "b.mp4").read_bytes()[:300])  # truncated
    write_jsonl(tmp_path / "c.jsonl", [{"video": "a.mp4", "caption": "first"}, {"video": "bad.mp4", "caption": "cut"}])
    ds = VideoCaptionFolder(tmp_path / "c.jsonl", num_frames=4, size=16)
    assert ds[1][1] == "first" and ds.skipped == 1


def test_nothing_readable_is_an_input_error(tmp_path):
    for name in ("x.mp4", "y.mp4"):
        (tmp_path / name).write_bytes(b"\x00" * 100)
    write_jsonl(tmp_path / "c.jsonl", [{"video": "x.mp4", "caption": "x"}, {"video": "y.mp4", "caption": "y"}])
    ds = VideoCaptionFolder(tmp_path / "c.jsonl", num_frames=4, size=16)
    with pytest.raises(InputError, match="none of the 2 clips"):
        ds[0]
    assert ds.skipped == 2


def test_missing_files_listed_with_lines(tmp_path):
    make_video(tmp_path / "here.mp4")
    rows = [{"video": "here.mp4", "caption": "ok"}] + [{"video": f"gone{i}.mp4", "caption": "x"} for i in range(7)]
    write_jsonl(tmp_path / "c.jsonl", rows)
    with pytest.raises(InputError) as e:
        VideoCaptionFolder(tmp_path / "c.jsonl")
    msg = str(e.value)
    assert "c.jsonl" in msg and "7 of the 8 files" in msg and "(and 2 more)" in msg
    assert "line 2: " in msg and "gone0.mp4" in msg and "line 6: " in msg and "gone5.mp4" not in msg


@pytest.mark.parametrize(
    "body, match",
    [
        (
            "videoid,name,page_dir,duration,contentUrl\n1,ok,0,PT1S,a.mp4\n2,short row,0\n",
            r"captions\.csv: line 3: 3 fields, but the header has 5",
        ),
        (
            "videoid,name,page_dir,duration,contentUrl\n1,,0,PT1S,a.mp4\n",
            r"captions\.csv: line 2: the 'name' column is empty",
        ),
        ("videoid,name,page_dir,duration,contentUrl\n1,x,0,PT1S,a.mp4,extra\n", r"line 2: 6 fields"),
        ("file,text\na.mp4,x\n", r"captions\.csv: line 1: unknown columns"),
        ("", r"captions\.csv: line 1: the file is empty"),
    ],
)
def test_malformed_csv_names_file_and_line(tmp_path, body, match):
    make_video(tmp_path / "a.mp4")
    (tmp_path / "captions.csv").write_text(body, encoding="utf-8")
    with pytest.raises(InputError, match=match):
        VideoCaptionFolder(tmp_path)


@pytest.mark.parametrize(
    "line, match",
    [
        ('{"video": "a.mp4", "caption": "x"', r"c\.jsonl: line 2: not valid JSON"),
        ('{"video": "a.mp4"}', r"c\.jsonl: line 2: 'caption' is missing"),
        ('{"video": "a.mp4", "caption": "   "}', r"line 2: 'caption' is missing, empty"),
        ('["a.mp4", "x"]', r"line 2: expected an object"),
    ],
)
def test_malformed_jsonl_names_file_and_line(tmp_path, line, match):
    make_video(tmp_path / "a.mp4")
    write_jsonl(tmp_path / "c.jsonl", [{"video": "a.mp4", "caption": "fine"}, line])
    with pytest.raises(InputError, match=match):
        VideoCaptionFolder(tmp_path / "c.jsonl")


def test_bad_options_fail_at_construction(tmp_path):
    make_video(tmp_path / "a.mp4")
    write_jsonl(tmp_path / "c.jsonl", [{"video": "a.mp4", "caption": "x"}])
    for kwargs, match in [
        ({"size": 0}, "size"),
        ({"num_frames": 0}, "num_frames"),
        ({"fps": -1.0}, "fps"),
        ({"hflip_p": 2}, "hflip_p"),
    ]:
        with pytest.raises(InputError, match=match):
            VideoCaptionFolder(tmp_path / "c.jsonl", **kwargs)


# ---------------------------------------------------------------------- open_dataset


def test_open_dataset_dispatch(tmp_path):
    make_video(tmp_path / "a.mp4")
    (tmp_path / "webvid.csv").write_text(
        "videoid,name,page_dir,duration,contentUrl\n1,x,0,PT1S,a.mp4\n", encoding="utf-8"
    )
    (tmp_path / "plain.csv").write_text("video,caption\na.mp4,a plain caption\n", encoding="utf-8")
    (tmp_path / "kinetics.csv").write_text(
        "label,youtube_id,time_start,time_end,split\nx,a,0,10,train\n", encoding="utf-8"
    )
    assert isinstance(open_dataset(tmp_path / "webvid.csv"), VideoCaptionFolder)
    assert open_dataset(tmp_path / "plain.csv", num_frames=2, size=8)[0][1] == "a plain caption"
    assert isinstance(open_dataset(tmp_path / "kinetics.csv"), KineticsCSV)  # root defaults to the CSV's folder
    with pytest.raises(InputError, match="training code"):
        open_dataset("moving-digits")
    (tmp_path / "notes.txt").write_text("hi", encoding="utf-8")
    with pytest.raises(InputError, match="not a dataset"):
        open_dataset(tmp_path / "notes.txt")
    (tmp_path / "other.json").write_text("{}", encoding="utf-8")
    with pytest.raises(InputError, match="images_dir"):
        open_dataset(tmp_path / "other.json")


# ---------------------------------------------------------------------- hflip


@pytest.mark.parametrize(
    "caption, flipped",
    [
        ("the red digit 3 is moving to the left", "the red digit 3 is moving to the right"),
        ("Left then RIGHT", "Right then LEFT"),
        ("moves leftward, then rightwards", "moves rightward, then leftwards"),
        ("the rightmost car, a left-handed player", "the leftmost car, a right-handed player"),
        ("leftover bread, bright light, copyright", "leftover bread, bright light, copyright"),
        ("digit 5 is going left and right", "digit 5 is going right and left"),
        ("turn right now, he has left the room", "turn right now, he has left the room"),
        ("红色的数字7向左移动", "红色的数字7向右移动"),
        ("数字3在左右移动", "数字3在左右移动"),
        ("从左到右滑动, 右边是树", "从右到左滑动, 左边是树"),
        ("左顾右盼的猫向左走", "左顾右盼的猫向右走"),
        ("a cat 向左 walks left", "a cat 向右 walks right"),
    ],
)
def test_swap_left_right(caption, flipped):
    assert swap_left_right(caption) == flipped
    assert swap_left_right(flipped) == caption  # a second flip undoes the first


def test_hflip_clip_mirrors_pixels():
    video = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(2, 3, 4, 5)  # (C, T, H, W)
    out, caption = hflip_clip(video, "向左 left")
    assert caption == "向右 right"
    assert torch.equal(out[..., 0], video[..., -1]) and torch.equal(out, video.flip(-1))


def test_dataset_hflip_mirrors_video_and_caption(tmp_path):
    make_video(tmp_path / "a.mp4")
    write_jsonl(tmp_path / "c.jsonl", [{"video": "a.mp4", "caption": "a digit moving to the left, 向左"}])
    plain, cap0, attrs0 = VideoCaptionFolder(tmp_path / "c.jsonl", num_frames=4, size=32)[0]
    flipped, cap1, attrs1 = VideoCaptionFolder(tmp_path / "c.jsonl", num_frames=4, size=32, hflip_p=1.0)[0]
    assert plain[..., :8].mean() > plain[..., -8:].mean()  # bright on the left ...
    assert flipped[..., :8].mean() < flipped[..., -8:].mean()  # ... mirrored to the right
    assert torch.equal(flipped, plain.flip(-1))
    assert cap0 == "a digit moving to the left, 向左" and cap1 == "a digit moving to the right, 向右"
    assert attrs0["hflip"] is False and attrs1["hflip"] is True


def test_coco_hflip_exact_mirror(tmp_path):
    ann = make_coco(tmp_path)
    plain, _, _ = CocoCaptions(ann, images_dir=tmp_path / "val2017", size=16)[0]
    flipped, caption, _ = CocoCaptions(ann, images_dir=tmp_path / "val2017", size=16, hflip_p=1.0)[0]
    assert torch.equal(flipped, plain.flip(-1)) and caption == "A dog to the right of a cat."


# ---------------------------------------------------------------------- collate


def test_collate_shapes_and_mismatch():
    a = (torch.zeros(3, 4, 8, 8), "a", {"k": 1})
    b = (torch.ones(3, 4, 8, 8), "b", {"k": 2})
    videos, captions, attrs = collate([a, b])
    assert videos.shape == (2, 3, 4, 8, 8) and captions == ["a", "b"] and attrs == [{"k": 1}, {"k": 2}]
    with pytest.raises(InputError, match="different shapes"):
        collate([a, (torch.zeros(3, 2, 8, 8), "c", {})])
    with pytest.raises(InputError, match="empty batch"):
        collate([])


def test_a_folder_without_a_caption_index_says_what_to_add(tmp_path):
    """A probe: an empty folder was told to "pass the index file itself", which it does not have."""
    with pytest.raises(InputError, match="holds no caption index: add captions.csv"):
        VideoCaptionFolder(tmp_path)
    (tmp_path / "captions.csv").write_text("video,caption\n")
    (tmp_path / "captions.jsonl").write_text("")
    with pytest.raises(InputError, match="holds both captions.csv and captions.jsonl"):
        VideoCaptionFolder(tmp_path)
