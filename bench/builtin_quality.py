"""The built-in styles against the reference networks of the same paintings, side by side in one run.

    python bench/builtin_quality.py                       # all six, 200 test photos at 256 px
    python bench/builtin_quality.py muse wave --photos 20 --sheet-dir sheets/

For each style: mean style loss (to its painting) and content loss (to the photo) over BSDS500's held-out
test_* photos, with training's layers and relative losses (`vidstyle evaluate-style`), for the reference
network (imported from ../shared/assets/reference-styles, research use only, never shipped) and for the
built-in; their ratios, and whether both are within the 1.5x bar. `--sheet-dir` also writes a contact sheet
per style: photo | reference | built-in. The reference is imported in memory, nothing is installed.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from vidstyle.evaluate import score_style
from vidstyle.imagefile import read_rgb, to_tensor, write_rgb
from vidstyle.losses import JOHNSON
from vidstyle.preview import contact_sheet
from vidstyle.styles import BUILTIN_DIR, StyleInfo, import_deeplearnjs, load_network, read_info
from vidstyle.vgg import load_state, load_vgg

ASSETS = Path(__file__).resolve().parents[2] / "shared" / "assets"
#: built-in name -> (reference network folder, painting file)
PAIRS = {"muse": ("la_muse", "la_muse.jpg"), "udnie": ("udnie", "udnie.jpg"), "wave": ("wave", "wave.jpg"),
         "rain-princess": ("rain_princess", "rain_princess.jpg"), "scream": ("scream", "the_scream.jpg"),
         "wreck": ("wreck", "the_shipwreck_of_the_minotaur.jpg")}
BAR = 1.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("styles", nargs="*", default=list(PAIRS), choices=list(PAIRS))
    parser.add_argument("--assets", type=Path, default=ASSETS)
    parser.add_argument("--photos", type=int, default=200, help="how many test_* photos (sorted by name)")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--sheet-dir", type=Path, help="write NAME.jpg contact sheets here")
    parser.add_argument("--jsonl", type=Path, help="append one JSON line per style here")
    parser.add_argument("--ours", type=Path, default=BUILTIN_DIR, help="folder of NAME.vstyle to score (default: "
                        "the built-ins; a training run's output folder scores candidates)")
    args = parser.parse_args()
    photos = sorted((args.assets / "photos" / "bsds500").glob("test_*.jpg"))[: args.photos]
    vgg = load_vgg(JOHNSON.all, load_state(args.assets / "weights" / "vgg16-imagenet-features-to-relu4_3.pth"))
    print(f"{len(photos)} test photos at {args.size} px; ratios are built-in / reference (bar {BAR}x)")
    print(f"{'style':14} {'ref style':>9} {'ours':>7} {'ratio':>6} {'ref content':>11} {'ours':>7} {'ratio':>6}  bar")
    for name in args.styles:
        folder, painting_file = PAIRS[name]
        painting = to_tensor(read_rgb(args.assets / "styles" / painting_file))
        reference = import_deeplearnjs(args.assets / "reference-styles" / folder, StyleInfo(name=f"{name}-ref"))
        ours = load_network(read_info(args.ours / f"{name}.vstyle"))
        started = time.perf_counter()
        kept_ref: list = []
        kept_ours: list = []
        ref_s, ref_c = score_style(reference, vgg, painting, photos, args.size, keep=kept_ref)
        our_s, our_c = score_style(ours, vgg, painting, photos, args.size, keep=kept_ours)
        ok = our_s <= BAR * ref_s and our_c <= BAR * ref_c
        print(f"{name:14} {ref_s:9.4f} {our_s:7.4f} {our_s / ref_s:6.2f} {ref_c:11.4f} {our_c:7.4f} "
              f"{our_c / ref_c:6.2f}  {'met' if ok else 'NOT met'}  ({time.perf_counter() - started:.0f} s)",
              flush=True)
        if args.jsonl:
            with args.jsonl.open("a") as out:
                out.write(json.dumps({"name": name, "photos": len(photos), "size": args.size, "ref_style": ref_s,
                                      "ref_content": ref_c, "style": our_s, "content": our_c, "met": ok}) + "\n")
        if args.sheet_dir:
            args.sheet_dir.mkdir(parents=True, exist_ok=True)
            picks = np.linspace(0, len(photos) - 1, num=min(6, len(photos))).round().astype(int)
            rows = [(photos[i].stem, [read_rgb(photos[i]), kept_ref[i], kept_ours[i]]) for i in picks]
            write_rgb(args.sheet_dir / f"{name}.jpg",
                      np.asarray(contact_sheet(rows, ["photo", "reference (research only)", f"vidstyle {name}"], 240)))


if __name__ == "__main__":
    main()
