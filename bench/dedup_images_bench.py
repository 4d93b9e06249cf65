"""Near-duplicate images: GTN's pHash/dHash stage vs the `imagehash` package on a planted
set built from real images shipped on this machine (Debian's Adwaita 512x512 icons and
/usr/share/doc PNGs, scikit-learn's two sample photos).

    python bench/dedup_images_bench.py [--radius 10]

Each base image gets five planted copies: resized to 50 %, re-encoded as JPEG quality 30,
cropped by 5 % on every side, brightened by 20 %, and resized + re-encoded together. A pair
is positive when both images come from the same base. Both systems hash the same RGB
arrays; both cluster pairs within the Hamming radius by union-find; pair precision and
recall are over the clusters. imagehash runs in bench/out/venv-curate (its own process).
"""
from __future__ import annotations

import argparse
import glob
import io
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image, ImageEnhance

HERE = os.path.dirname(os.path.abspath(__file__))
PEER_PYTHON = os.path.join(HERE, "out", "venv-curate", "bin", "python")


def base_images():
    import sklearn.datasets
    paths = sorted(glob.glob("/usr/share/icons/Adwaita/512x512/*/*.png"))
    paths += sorted(p for p in glob.glob("/usr/share/doc/**/*.png", recursive=True) if os.path.getsize(p) > 5000)
    root = os.path.join(os.path.dirname(sklearn.datasets.__file__), "images")
    paths += [os.path.join(root, "china.jpg"), os.path.join(root, "flower.jpg")]
    out = []
    for p in paths:
        im = Image.open(p)
        if im.mode in ("RGBA", "LA", "P"):
            im = im.convert("RGBA")
            bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
            im = Image.alpha_composite(bg, im)
        im = im.convert("RGB")
        if max(im.size) > 640:
            s = 640 / max(im.size)
            im = im.resize((max(1, int(im.width * s)), max(1, int(im.height * s))))
        out.append((p, im))
    return out


def variants(im):
    w, h = im.size

    def jpeg(x, q):
        buf = io.BytesIO()
        x.save(buf, "JPEG", quality=q)
        return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    return [im.resize((max(8, w // 2), max(8, h // 2))), jpeg(im, 30),
            im.crop((w // 20, h // 20, w - w // 20, h - h // 20)), ImageEnhance.Brightness(im).enhance(1.2),
            jpeg(im.resize((max(8, w * 3 // 4), max(8, h * 3 // 4))), 50)]


def clusters_from_hashes(hashes, radius):
    hashes = np.asarray(hashes, dtype=np.uint64)
    n = len(hashes)
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x
    for i in range(n):
        x = np.bitwise_xor(hashes[i + 1:], hashes[i])
        d = np.array([bin(int(v)).count("1") for v in x]) if len(x) else np.array([])
        for j in np.flatnonzero(d <= radius):
            a, b = find(i), find(i + 1 + int(j))
            if a != b:
                parent[max(a, b)] = min(a, b)
    return np.array([find(i) for i in range(n)])


def pair_scores(cluster, group):
    n = len(cluster)
    same_c = cluster[:, None] == cluster[None, :]
    same_g = group[:, None] == group[None, :]
    iu = np.triu_indices(n, 1)
    tp = int((same_c & same_g)[iu].sum())
    fp = int((same_c & ~same_g)[iu].sum())
    fn = int((~same_c & same_g)[iu].sum())
    return {"precision": tp / max(1, tp + fp), "recall": tp / max(1, tp + fn), "tp": tp, "fp": fp, "fn": fn}


PEER = r"""
import sys, json, time, numpy as np, imagehash
from PIL import Image
arr = np.load(sys.argv[1], allow_pickle=True)
out = {}
for kind in ("phash", "dhash"):
    f = getattr(imagehash, kind)
    t = time.perf_counter()
    hs = [int(str(f(Image.fromarray(a))), 16) for a in arr]
    out[kind] = {"hashes": [str(h) for h in hs], "seconds": time.perf_counter() - t}
print(json.dumps(out))
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--radius", type=int, default=10, help="radius of the timed dedup stage")
    args = ap.parse_args()
    import gtn
    images, group = [], []
    for g, (path, im) in enumerate(base_images()):
        for v in [im] + variants(im):
            images.append(np.asarray(v))
            group.append(g)
    group = np.array(group)
    print(f"{len(set(group.tolist()))} base images, {len(images)} images in all")
    with tempfile.TemporaryDirectory() as tmp:
        ds = gtn.dataset(os.path.join(tmp, "ds"))
        ds.create_tensor("images", htype="image", sample_compression="png")
        ds.extend({"images": images})
        arr_path = os.path.join(tmp, "images.npy")
        obj = np.empty(len(images), dtype=object)
        obj[:] = images
        np.save(arr_path, obj, allow_pickle=True)
        peer = json.loads(subprocess.check_output([PEER_PYTHON, "-c", PEER, arr_path]))
        for kind in ("phash", "dhash"):
            t = time.perf_counter()
            hashes = [gtn.curate.image_hash(a, kind) for a in images]
            t_hash = time.perf_counter() - t
            t = time.perf_counter()
            r = gtn.curate.find_duplicates(ds, tensor="images", method="image", image_hash=kind, hamming=args.radius)
            t_ds = time.perf_counter() - t
            # The stage's clusters are those of its hashes within the radius.
            assert r.cluster_id.tolist() == clusters_from_hashes(hashes, args.radius).tolist()
            theirs_h = [int(h) for h in peer[kind]["hashes"]]
            agree = np.mean([bin(a ^ b).count("1") for a, b in zip(hashes, theirs_h)])
            print(f"{kind}: GTN hashes {t_hash:.2f} s from arrays ({t_ds:.2f} s as a dedup stage incl. PNG decode), "
                  f"imagehash {peer[kind]['seconds']:.2f} s; mean bits differing GTN vs imagehash {agree:.1f}")
            for radius in (2, 4, 6, 8, 10):
                ours = pair_scores(clusters_from_hashes(hashes, radius), group)
                theirs = pair_scores(clusters_from_hashes(theirs_h, radius), group)
                print(f"  radius {radius:2d}: GTN precision {ours['precision']:.3f} recall {ours['recall']:.3f} | "
                      f"imagehash precision {theirs['precision']:.3f} recall {theirs['recall']:.3f}")


if __name__ == "__main__":
    main()
