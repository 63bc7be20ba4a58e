#!/usr/bin/python3
"""Scores a held-out text with the trained PyTorch model exactly as `tokenfab-cli score` does.

usage: score_sample.py DATA_DIR RUN_DIR SAMPLE.txt OUT.json

The text is tokenized once (SentencePiece, BOS first: the GGUF's add_bos_token), cut into
consecutive windows of n_ctx tokens that each start fresh, and every token after the first of a
window is scored by the float32 PyTorch model (ckpt.pt). OUT.json holds the token ids, the number
of scored tokens, the mean log-probability and the perplexity: the independent reference that
tests/engine/demo_model_test.cpp holds the committed Q8_0 GGUF to.
"""
import json
import math
import os
import sys

import sentencepiece as spm
import torch
import torch.nn.functional as F

from model import Config, Llama


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    data_dir, run_dir, sample_path, out_path = sys.argv[1:]
    manifest = json.load(open(os.path.join(run_dir, "manifest.json"), encoding="utf-8"))
    cfg = Config(**manifest["hparams"])
    model = Llama(cfg)
    model.load_state_dict(torch.load(os.path.join(run_dir, "ckpt.pt"))["model"])
    model.eval()
    sp = spm.SentencePieceProcessor(model_file=os.path.join(data_dir, "tokenizer.model"))
    text = open(sample_path, encoding="utf-8").read()
    ids = [manifest["tokenizer"]["bos_id"]] + sp.encode(text)
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(ids), cfg.n_ctx):
            window = torch.tensor(ids[start:start + cfg.n_ctx])
            if len(window) < 2:
                continue
            logp = F.log_softmax(model(window[None])[0].double(), dim=-1)
            total += logp[torch.arange(len(window) - 1), window[1:]].sum().item()
            count += len(window) - 1
    out = {"sample": os.path.basename(sample_path), "model": "PyTorch float32, " + os.path.basename(run_dir.rstrip("/")),
           "n_ctx": cfg.n_ctx, "tokens": ids, "n_scored": count, "mean_logprob": total / count,
           "perplexity": math.exp(-total / count)}
    with open(out_path, "w") as f:
        json.dump(out, f)
    print(f"{len(ids)} tokens, {count} scored: mean log-prob {total / count:.5f}, perplexity {out['perplexity']:.4f}")


if __name__ == "__main__":
    main()
