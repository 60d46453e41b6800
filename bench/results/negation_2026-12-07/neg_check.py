import json, sys
from vidfuse.evaluate import evaluate_captions
from vidfuse.pipeline import TextToVideoPipeline

rows = [
    ("a red 9, not a 3", 9, "red", None),
    ("draw a 9 rather than a 3, in red, bouncing left and right", 9, "red", "left and right"),
    ("一个红色的9，不是3，左右弹跳", 9, "red", "left and right"),
    ("not a blue 3 but a green 5 moving up", 5, "green", "up"),
    ("a green 2 moving left, not right", 2, "green", "left"),
    ("a yellow 6, not a 1, going down", 6, "yellow", "down"),
    ("蓝色的7，而不是红色的5，向上", 7, "blue", "up"),
    ("红色的5向左，不要往右", 5, "red", "left"),
    ("a cyan 8 moving right rather than left", 8, "cyan", "right"),
    ("I don't want a 4, draw a magenta 0 going up", 0, "magenta", "up"),
]
pipe = TextToVideoPipeline.from_pretrained(None)
out = {}
for seed in (0, 1, 2):
    caps = [r[0] for r in rows]
    tg = [{"digits": [r[1]], "colours": [r[2]], "motions": [r[3] or "up"], "group": "x"} for r in rows]
    res = evaluate_captions(pipe, caps, tg, seed=seed)
    d = res["all"]["digit"]
    c = res["all"]["colour"]
    m = [cl["joint"] for cl in res["clips"]]
    out[seed] = {"digit": d, "colour": c, "judged": [cl["judged"] for cl in res["clips"]]}
    print(seed, "digit", d, "colour", c)
json.dump(out, open(sys.argv[1], "w"), indent=1, ensure_ascii=False)
