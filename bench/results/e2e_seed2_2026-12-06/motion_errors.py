"""Where a model's misses on the one-digit blind sets are: per attribute, and the motion confusions
(asked → drawn, as the judge reads it), for two bench/evaluate_default.py results side by side.

    python motion_errors.py A.json B.json [A-name B-name]
"""

import collections
import json
import sys


def breakdown(d: dict) -> tuple[dict, collections.Counter, dict]:
    per_set, confusions, examples = {}, collections.Counter(), collections.defaultdict(list)
    for key, value in d.items():
        if not key.startswith("novel") or "two" in key:
            continue
        s = value["all"]
        per_set[key] = {a: s[a] for a in ("digit", "colour", "motion", "joint")}
        for clip in value.get("clips", []):
            asked = clip["target"]["motions"][0]
            drawn = " ".join(clip["judged"].split()[2:])  # "3 red up and down" → "up and down"
            if asked != drawn:
                confusions[(asked, drawn)] += 1
                examples[(asked, drawn)].append(clip["caption"])
    return per_set, confusions, examples


a, b = (json.load(open(p)) for p in sys.argv[1:3])
names = sys.argv[3:5] if len(sys.argv) >= 5 else ["A", "B"]
(sa, ca, ea), (sb, cb, _) = breakdown(a), breakdown(b)
print(f"| set | {names[0]}: digit / colour / motion / joint | {names[1]}: digit / colour / motion / joint |")
print("| --- | --- | --- |")
for key in sa:
    fa, fb = sa[key], sb.get(key, {})
    cell = lambda f: " / ".join(f"{100 * f[x]:.1f}" for x in ("digit", "colour", "motion", "joint")) if f else "–"  # noqa: E731
    print(f"| {key} | {cell(fa)} | {cell(fb)} |")
for name, c in ((names[0], ca), (names[1], cb)):
    print(
        f"\n{name}: {sum(c.values())} motion misses; asked → drawn: "
        + ", ".join(f"{x} → {y} {n}" for (x, y), n in c.most_common(8))
    )
print(f"\n{names[0]}, examples of its two largest confusions:")
for key, _ in ca.most_common(2):
    print(f"  {key[0]} → {key[1]}: " + " | ".join(ea[key][:4]))
