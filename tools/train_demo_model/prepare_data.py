#!/usr/bin/python3
"""Builds the demo model's corpus and tokenizer from the King James Bible (Debian bible-kjv-text).

Steps (all deterministic):
  1. `bible -l 100000 gen1:1-rev22:21` prints the whole text, one verse per line, with
     "Book N" chapter headings. We drop the headings and verse numbers and squeeze whitespace.
  2. Each chapter (1,189 of them) becomes one document: its verses joined by "\n".
     Chapters whose index i (0-based, canonical order) has i % 40 == 39 are held out (29 chapters,
     about 2.4 % of the text); the rest are the training split.
  3. A SentencePiece BPE tokenizer (vocab 4096, byte fallback, identity normalization: the
     settings llama.cpp's "llama" tokenizer reproduces) is trained on the training verses only.
  4. Both splits are encoded as [BOS] chapter [EOS] [BOS] chapter [EOS] ... into uint16 files.

Outputs in OUT_DIR: corpus_train.txt, corpus_val.txt, tokenizer.model, tokenizer.vocab,
train.u16, val.u16, data.json (counts and settings).
"""
import argparse
import json
import os
import re
import subprocess
import sys

import numpy as np
import sentencepiece as spm

kVocabSize = 4096
kHoldOutEvery = 40  # chapter i is held out when i % 40 == 39
kHeading = re.compile(r"^([1-3] )?[A-Z][A-Za-z ]+ \d+$")
kVerse = re.compile(r"^\s+(\d+) (.*)$")


def readChapters():
    text = subprocess.run(["bible", "-l", "100000", "gen1:1-rev22:21"], check=True,
                          capture_output=True, text=True).stdout
    chapters = []
    for line in text.split("\n"):
        if not line.strip():
            continue
        if kHeading.match(line):
            chapters.append([])
            continue
        m = kVerse.match(line)
        if m is None or not chapters:
            sys.exit(f"prepare_data: unexpected line from `bible`: {line[:80]!r}")
        chapters[-1].append(" ".join(m.group(2).split()))
    return chapters


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir")
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)

    chapters = readChapters()
    n_verses = sum(len(c) for c in chapters)
    if len(chapters) != 1189 or n_verses != 31102:
        sys.exit(f"prepare_data: expected 1189 chapters / 31102 verses, got {len(chapters)} / {n_verses}")
    train = [c for i, c in enumerate(chapters) if i % kHoldOutEvery != kHoldOutEvery - 1]
    val = [c for i, c in enumerate(chapters) if i % kHoldOutEvery == kHoldOutEvery - 1]

    paths = {name: os.path.join(args.out_dir, f"corpus_{name}.txt") for name in ("train", "val")}
    for name, split in (("train", train), ("val", val)):
        with open(paths[name], "w", encoding="utf-8") as f:
            for verses in split:
                f.write("\n".join(verses) + "\n")

    prefix = os.path.join(args.out_dir, "tokenizer")
    spm.SentencePieceTrainer.train(
        input=paths["train"], model_prefix=prefix, model_type="bpe", vocab_size=kVocabSize,
        character_coverage=1.0, byte_fallback=True, split_digits=True,
        normalization_rule_name="identity", add_dummy_prefix=True, remove_extra_whitespaces=False,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, num_threads=2, minloglevel=1)
    sp = spm.SentencePieceProcessor(model_file=prefix + ".model")

    counts = {}
    for name, split in (("train", train), ("val", val)):
        ids = []
        for verses in split:
            ids.append(sp.bos_id())
            ids.extend(sp.encode("\n".join(verses)))
            ids.append(sp.eos_id())
        arr = np.asarray(ids, dtype=np.uint16)
        arr.tofile(os.path.join(args.out_dir, f"{name}.u16"))
        counts[name] = {"chapters": len(split), "verses": sum(len(c) for c in split),
                        "chars": sum(len("\n".join(c)) for c in split), "tokens": int(arr.size)}
        print(f"{name}: {counts[name]}")

    with open(os.path.join(args.out_dir, "data.json"), "w") as f:
        json.dump({"source": "Debian bible-kjv-text (via `bible -l 100000 gen1:1-rev22:21`)",
                   "hold_out": f"chapter index % {kHoldOutEvery} == {kHoldOutEvery - 1}",
                   "vocab_size": kVocabSize, "splits": counts}, f, indent=1)


if __name__ == "__main__":
    main()
