"""A text corpus with planted duplicates and their ground truth, for bench/dedup_bench.py.

    python bench/dedup_corpus.py OUT_DIR [--docs 200000] [--shards 8] [--seed 0]

writes OUT_DIR/shard-XX.jsonl ({"id": i, "text": ...}; ids run across the shards in order)
and OUT_DIR/truth.json: every planted pair {"a", "b", "jaccard", "op"} with its true word
5-gram Jaccard, computed exactly on the generated words (texts are lowercase words split by
single spaces and blank lines between paragraphs, so every tokenizer sees the same words).

What is planted (fractions of the documents):
  62 % unique documents, Zipf-distributed words from a 60,000-word vocabulary, lengths
       log-normal (20 to 20,000 words), paragraphs of 40 to 160 words;
  24 % near-duplicates of an earlier document (sometimes of a copy, so clusters chain),
       made by one of: word edits, inserted spans, deleted spans, shuffled paragraphs plus
       edits, an added boilerplate paragraph plus edits; the amount is drawn so that the
       true Jaccard spreads over about 0.45 to 1.0;
   5 % exact copies of an earlier document;
   9 % unrelated documents that share one of 50 boilerplate paragraphs.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

_MULT = np.uint64(0x9E3779B97F4A7C15)


def shingles(ids, n=5):
    """Sorted distinct uint64 hashes of the word n-grams of a sequence of word ids."""
    ids = np.asarray(ids, dtype=np.uint64)
    if len(ids) <= n:
        h = np.uint64(0)
        for x in ids:
            h = (h ^ x) * _MULT
        return np.array([h], dtype=np.uint64)
    m = len(ids) - n + 1
    h = np.zeros(m, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            h = (h ^ ids[k:k + m]) * _MULT
            h ^= h >> np.uint64(29)
    return np.unique(h)


def jaccard(a, b):
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)


def _vocabulary(rng, size):
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    words, seen = [], set()
    while len(words) < size:
        length = int(rng.integers(2, 11))
        w = "".join(rng.choice(letters, length))
        if w not in seen:
            seen.add(w)
            words.append(w)
    return words


class Generator:
    def __init__(self, seed=0, vocab_size=60_000):
        self.rng = np.random.default_rng(seed)
        self.vocab = _vocabulary(self.rng, vocab_size)
        p = 1.0 / (np.arange(vocab_size) + 10.0)
        self.cdf = np.cumsum(p / p.sum())
        self.boilerplates = [self.words(int(self.rng.integers(30, 150))) for _ in range(50)]

    def words(self, n):
        return np.searchsorted(self.cdf, self.rng.random(n)).astype(np.int32)

    def new_doc(self):
        n = int(np.clip(self.rng.lognormal(6.2, 0.9), 20, 20_000))
        out, left = [], n
        while left > 0:
            k = min(left, int(self.rng.integers(40, 161)))
            out.append(self.words(k))
            left -= k
        return out

    def edit(self, paras, rate):
        out = []
        for p in paras:
            p = p.copy()
            mask = self.rng.random(len(p)) < rate
            p[mask] = self.words(int(mask.sum()))
            out.append(p)
        return out

    def near(self, paras, target):
        """A near-duplicate aimed at Jaccard `target` and the operation used."""
        op = self.rng.choice(["edit", "insert", "delete", "shuffle", "boilerplate"])
        # Replacing a fraction f of words keeps about (1 - f)^5 of the 5-grams.
        keep = 2 * target / (1 + target)
        f = 1 - keep ** (1 / 5)
        if op == "edit":
            return self.edit(paras, f), op
        total = sum(len(p) for p in paras)
        if op == "insert":
            out = []
            for p in paras:
                pieces, pos = [], 0
                n_spans = max(1, int(round(len(p) * f / 6)))
                cuts = np.sort(self.rng.integers(0, len(p) + 1, n_spans))
                for c in cuts:
                    pieces.append(p[pos:c])
                    pieces.append(self.words(int(self.rng.integers(3, 9))))
                    pos = c
                pieces.append(p[pos:])
                out.append(np.concatenate(pieces))
            return out, op
        if op == "delete":
            out = []
            for p in paras:
                keep_mask = np.ones(len(p), dtype=bool)
                n_spans = max(1, int(round(len(p) * f / 6)))
                for s in self.rng.integers(0, max(1, len(p) - 6), n_spans):
                    keep_mask[s:s + int(self.rng.integers(3, 9))] = False
                q = p[keep_mask]
                out.append(q if len(q) else p[:1])
            return out, op
        if op == "shuffle":
            order = self.rng.permutation(len(paras))
            return self.edit([paras[i] for i in order], f * 0.6), op
        bp = self.boilerplates[int(self.rng.integers(len(self.boilerplates)))]
        extra = [bp] + paras if self.rng.random() < 0.5 else paras + [bp]
        return self.edit(extra, f * 0.7), op

    def text(self, paras):
        v = self.vocab
        return "\n\n".join(" ".join([v[i] for i in p.tolist()]) for p in paras)


def generate(out_dir, n_docs=200_000, shards=8, seed=0, log=print):
    t0 = time.time()
    os.makedirs(out_dir, exist_ok=True)
    g = Generator(seed)
    rng = g.rng
    docs, sigs, truth = [], [], []
    files = [open(os.path.join(out_dir, f"shard-{s:02d}.jsonl"), "w") for s in range(shards)]
    per_shard = (n_docs + shards - 1) // shards
    total_bytes = 0
    for i in range(n_docs):
        u = rng.random()
        src = None
        if i >= 10 and u < 0.24:
            src = int(rng.integers(0, i)) if rng.random() < 0.85 else max(0, i - int(rng.integers(1, 10)))
            target = 0.45 + 0.55 * float(np.sqrt(rng.random()))
            paras, op = g.near(docs[src], target)
        elif i >= 10 and u < 0.29:
            src = int(rng.integers(0, i))
            paras, op = docs[src], "exact"
        elif u < 0.38:
            paras = g.new_doc()
            bp = g.boilerplates[int(rng.integers(len(g.boilerplates)))]
            paras = [bp] + paras if rng.random() < 0.5 else paras + [bp]
            op = None
        else:
            paras, op = g.new_doc(), None
        docs.append(paras)
        sig = shingles(np.concatenate(paras))
        sigs.append(sig)
        if src is not None:
            truth.append({"a": src, "b": i, "jaccard": 1.0 if op == "exact" else jaccard(sigs[src], sig), "op": op})
        line = json.dumps({"id": i, "text": g.text(paras)}) + "\n"
        total_bytes += len(line.encode())
        files[i // per_shard].write(line)
        if log and (i + 1) % 20_000 == 0:
            log(f"  {i + 1} documents, {total_bytes / 1e9:.2f} GB, {time.time() - t0:.0f} s")
    for f in files:
        f.close()
    with open(os.path.join(out_dir, "truth.json"), "w") as f:
        json.dump({"docs": n_docs, "shards": shards, "seed": seed, "bytes": total_bytes, "pairs": truth}, f)
    return total_bytes


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir")
    ap.add_argument("--docs", type=int, default=200_000)
    ap.add_argument("--shards", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    n = generate(a.out_dir, a.docs, a.shards, a.seed)
    print(f"wrote {a.docs} documents, {n / 1e9:.3f} GB of JSONL to {a.out_dir}")
