#!/usr/bin/python3
"""Checks that the vocab written into the GGUF makes tokenfab's tokenizer reproduce SentencePiece:

  /usr/bin/python3 check_tokenizer.py DATA_DIR TOKENFAB_CLI FILE.gguf [N_LINES]

Tokenizes the first N_LINES (default 200) held-out verses plus a few awkward strings (runs of
spaces, tab, non-ASCII and emoji that need byte fallback, digits, newline) with
`tokenfab-cli tokenize --no-bos` and with the SentencePiece model from prepare_data.py.
Exit status 0 when every text gives identical ids.
"""
import os
import subprocess
import sys

import sentencepiece as spm

kAwkward = ["Hello  world,\tstrange caf\u00e9 \U0001F600 text 12345!", " leading space", "",
            "a\nb", "And God said, Let there be light: and there was light."]


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    data_dir, cli, gguf = sys.argv[1:4]
    n_lines = int(sys.argv[4]) if len(sys.argv) == 5 else 200
    sp = spm.SentencePieceProcessor(model_file=os.path.join(data_dir, "tokenizer.model"))
    verses = open(os.path.join(data_dir, "corpus_val.txt"), encoding="utf-8").read().split("\n")
    texts = verses[:n_lines] + kAwkward
    bad = 0
    for text in texts:
        out = subprocess.run([cli, "tokenize", "-m", gguf, "--no-bos", "--", text],
                             capture_output=True, text=True)
        got = [int(x) for x in out.stdout.split()]
        want = sp.encode(text)
        if out.returncode != 0 or got != want:
            bad += 1
            if bad <= 5:
                print(f"MISMATCH {text[:60]!r}: tokenfab {got[:12]} sentencepiece {want[:12]} "
                      f"{out.stderr.strip()[:200]}")
    print(f"{len(texts) - bad}/{len(texts)} texts tokenized identically to SentencePiece")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
