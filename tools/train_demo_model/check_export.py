#!/usr/bin/python3
"""Checks the export (weights.bin + manifest.json) against the trained PyTorch model.

  /usr/bin/python3 check_export.py DATA_DIR RUN_DIR

An independent float64 NumPy forward pass reads *only* weights.bin + manifest.json and computes
what llama.cpp's `llama` architecture computes on GGUF weights: rotary embedding on adjacent
pairs (x[2i], x[2i+1]) with theta_i = base^(-2i/head_dim) (ggml rope mode 0), RMSNorm, causal
attention, SwiGLU. Its logits must match the PyTorch model (ckpt.pt, run in float64) on a
held-out window to ~1e-8. It also checks that the vocab in the manifest is the tokenizer's, and
writes check_logits.bin (PyTorch logits on held-out tokens) for `tokenfab-cli import-demo`.
Exit status 0 when everything matches.
"""
import json
import os
import sys

import numpy as np
import sentencepiece as spm
import torch

from model import Config, Llama

kCheckTokens = 48


def loadExport(run_dir):
    manifest = json.load(open(os.path.join(run_dir, "manifest.json"), encoding="utf-8"))
    blob = np.fromfile(os.path.join(run_dir, "weights.bin"), dtype="<f4")
    weights = {}
    for t in manifest["tensors"]:
        n = int(np.prod(t["shape"]))
        start = t["offset"] // 4
        weights[t["name"]] = blob[start:start + n].reshape(t["shape"]).astype(np.float64)
    return manifest, weights


def rmsNorm(x, w, eps):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w


def ropePairs(x, pos, base, halves=False):
    """x: (T, H, D). Rotates (x[..., 2i], x[..., 2i+1]) by pos * base^(-2i/D): llama.cpp's
    `llama` layout. halves=True pairs (x[i], x[i + D/2]) instead (HF / NeoX layout)."""
    d = x.shape[-1]
    out = np.empty_like(x)
    for i in range(d // 2):
        theta = pos * base ** (-2.0 * i / d)              # (T,)
        c, s = np.cos(theta)[:, None], np.sin(theta)[:, None]
        a, b = (i, i + d // 2) if halves else (2 * i, 2 * i + 1)
        x0, x1 = x[:, :, a], x[:, :, b]
        out[:, :, a] = x0 * c - x1 * s
        out[:, :, b] = x0 * s + x1 * c
    return out


def numpyForward(hp, w, tokens, halves=False):
    """tokens: (T,) -> logits (T, n_vocab), float64. Weights are [out, in] (GGUF ne [in, out])."""
    n_head, n_kv, eps = hp["n_head"], hp["n_head_kv"], hp["rms_eps"]
    hd = hp["n_embd"] // n_head
    t = len(tokens)
    pos = np.arange(t, dtype=np.float64)
    x = w["token_embd.weight"][tokens]                                      # (T, n_embd)
    for layer in range(hp["n_layer"]):
        p = f"blk.{layer}."
        h = rmsNorm(x, w[p + "attn_norm.weight"], eps)
        q = ropePairs((h @ w[p + "attn_q.weight"].T).reshape(t, n_head, hd), pos, hp["rope_base"], halves)
        k = ropePairs((h @ w[p + "attn_k.weight"].T).reshape(t, n_kv, hd), pos, hp["rope_base"], halves)
        v = (h @ w[p + "attn_v.weight"].T).reshape(t, n_kv, hd)
        att_out = np.zeros((t, n_head, hd))
        for head in range(n_head):
            kv = head // (n_head // n_kv)
            scores = q[:, head] @ k[:, kv].T / np.sqrt(hd)                  # (T, T)
            scores[np.triu_indices(t, 1)] = -np.inf
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            att_out[:, head] = (scores / scores.sum(-1, keepdims=True)) @ v[:, kv]
        x = x + att_out.reshape(t, n_head * hd) @ w[p + "attn_output.weight"].T
        h = rmsNorm(x, w[p + "ffn_norm.weight"], eps)
        gate = h @ w[p + "ffn_gate.weight"].T
        up = h @ w[p + "ffn_up.weight"].T
        x = x + (gate / (1 + np.exp(-gate)) * up) @ w[p + "ffn_down.weight"].T
    return rmsNorm(x, w["output_norm.weight"], eps) @ w["output.weight"].T


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    data_dir, run_dir = sys.argv[1:]
    manifest, weights = loadExport(run_dir)
    hp = manifest["hparams"]
    ok = True

    sp = spm.SentencePieceProcessor(model_file=os.path.join(data_dir, "tokenizer.model"))
    tok = manifest["tokenizer"]
    if tok["pieces"] != [sp.id_to_piece(i) for i in range(sp.get_piece_size())]:
        print("FAIL: manifest pieces differ from tokenizer.model")
        ok = False
    n_byte = sum(1 for ty in tok["types"] if ty == 6)
    print(f"vocab {len(tok['pieces'])}: {n_byte} byte tokens, types of 0..3 = {tok['types'][:4]}")

    cfg = Config(**hp)
    model = Llama(cfg)
    model.load_state_dict(torch.load(os.path.join(run_dir, "ckpt.pt"))["model"])
    model.toDouble().eval()
    val = np.fromfile(os.path.join(data_dir, "val.u16"), np.uint16).astype(np.int64)
    for start, length in ((0, 64), (1000, cfg.n_ctx)):
        tokens = val[start:start + length]
        ref = numpyForward(hp, weights, tokens)
        with torch.no_grad():
            got = model(torch.from_numpy(tokens)[None])[0].numpy()
        err = np.abs(ref - got).max()
        # weights.bin holds float32 copies of the float32 parameters: both sides use the same
        # values, so only float64 rounding differences remain.
        status = "ok" if err < 1e-8 else "FAIL"
        ok &= status == "ok"
        print(f"{status}: tokens [{start}, {start + length}) max |numpy - torch| = {err:.3e}, "
              f"argmax agree {np.mean(ref.argmax(-1) == got.argmax(-1)) * 100:.1f} %")
    # Negative control: the halves layout must NOT match, or the check could not tell them apart.
    tokens = val[:64]
    with torch.no_grad():
        got = model(torch.from_numpy(tokens)[None])[0].numpy()
    err = np.abs(numpyForward(hp, weights, tokens, halves=True) - got).max()
    status = "ok" if err > 1e-3 else "FAIL"
    ok &= status == "ok"
    print(f"{status}: halves-layout rope differs as it should, max diff {err:.3e}")
    # Reference logits for `tokenfab-cli import-demo`, which runs the written GGUF through the
    # project's CPU forward pass and compares: uint32 n, uint32 n_vocab, n int32 ids, n x n_vocab f32.
    tokens = val[:kCheckTokens]
    with torch.no_grad():
        logits = model(torch.from_numpy(tokens)[None])[0].numpy()
    with open(os.path.join(run_dir, "check_logits.bin"), "wb") as f:
        f.write(np.array([len(tokens), logits.shape[1]], dtype="<u4").tobytes())
        f.write(tokens.astype("<i4").tobytes())
        f.write(logits.astype("<f4").tobytes())
    print(f"wrote check_logits.bin ({len(tokens)} held-out positions)")
    print("all checks passed" if ok else "CHECKS FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
