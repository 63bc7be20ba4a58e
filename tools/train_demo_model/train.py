#!/usr/bin/python3
"""Trains the demo model on the CPU, then evaluates, samples and exports it.

  nice -n 19 /usr/bin/python3 train.py DATA_DIR OUT_DIR [--steps N] [--deadline HH:MM]

DATA_DIR is prepare_data.py's output. OUT_DIR receives:
  train_log.csv   step, tokens, lr, train_loss (mean since the last row), val_loss, elapsed_s
  ckpt.pt         model + optimizer + RNG state (every --ckpt-every steps; --resume continues)
  loss_curve.png  the CSV, plotted
  samples.txt     text generated with fixed seeds
  result.json     held-out loss / perplexity, step reached, wall time
  weights.bin + manifest.json   the export read by `tokenfab-cli import-demo`
Learning rate: linear warm-up, then a cosine to --min-lr over a progress that is the larger of
step / --steps and elapsed / --budget-min. On an idle 2-core machine the step count binds and a
re-run with the same seed reproduces the run; on a busy machine the time budget binds (the CSV
records the learning rate used). --deadline (UTC HH:MM) is a hard stop that still saves
everything.
"""
import argparse
import csv
import datetime
import json
import math
import os
import time

import numpy as np
import sentencepiece as spm
import torch
import torch.nn.functional as F

from model import Config, Llama

kSamplePrompts = ["In the beginning", "And Jesus said unto them,", "The LORD is my shepherd;",
                  "And it came to pass"]


def parseArgs():
    p = argparse.ArgumentParser(description="train the tokenfab demo model")
    p.add_argument("data_dir")
    p.add_argument("out_dir")
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--min-lr", type=float, default=1e-4)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--eval-every", type=int, default=100)
    p.add_argument("--ckpt-every", type=int, default=200)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--budget-min", type=float, default=0, help="wall-clock minutes for the schedule (0: steps only)")
    p.add_argument("--deadline", help="UTC HH:MM: stop (and save) when reached")
    p.add_argument("--eval-windows", type=int, default=32, help="held-out windows per curve point")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--bench", type=int, default=0, help="only time N steps, write nothing")
    return p.parse_args()


def progressAt(step, elapsed, args):
    """Fraction of the run done: by steps or by the wall-clock budget, whichever is further."""
    p = step / args.steps
    if args.budget_min > 0:
        p = max(p, elapsed / (60 * args.budget_min))
    return p


def lrAt(step, progress, args):
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    t = min(1.0, progress)
    return args.min_lr + 0.5 * (args.lr - args.min_lr) * (1 + math.cos(math.pi * t))


def deadlineReached(deadline):
    if not deadline:
        return False
    now = datetime.datetime.now(datetime.timezone.utc)
    hh, mm = (int(v) for v in deadline.split(":"))
    return (now.hour, now.minute) >= (hh, mm)


@torch.no_grad()
def evaluate(model, tokens, n_ctx, max_windows=None):
    """Mean next-token loss over non-overlapping n_ctx windows of `tokens` (all of them)."""
    model.eval()
    n = (len(tokens) - 1) // n_ctx
    if max_windows:
        n = min(n, max_windows)
    total, count = 0.0, 0
    for start in range(0, n, 16):
        rows = range(start, min(n, start + 16))
        x = torch.stack([tokens[r * n_ctx: r * n_ctx + n_ctx] for r in rows])
        y = torch.stack([tokens[r * n_ctx + 1: r * n_ctx + n_ctx + 1] for r in rows])
        loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten(), reduction="sum")
        total += loss.item()
        count += y.numel()
    model.train()
    return total / count


@torch.no_grad()
def generate(model, sp, prompt, n_tokens, seed, temperature=0.8, top_k=40):
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    ids = [sp.bos_id()] + sp.encode(prompt)
    for _ in range(n_tokens):
        logits = model(torch.tensor([ids[-model.cfg.n_ctx:]]))[0, -1] / temperature
        kth = torch.topk(logits, top_k).values[-1]
        probs = logits.masked_fill(logits < kth, float("-inf")).softmax(-1)
        nxt = int(torch.multinomial(probs, 1, generator=gen))
        if nxt == sp.eos_id():
            break
        ids.append(nxt)
    model.train()
    return sp.decode(ids[1:])


def plotLoss(csv_path, png_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = list(csv.DictReader(open(csv_path)))
    tok = [int(r["tokens"]) / 1e6 for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    ax.plot(tok, [float(r["train_loss"]) for r in rows], lw=1, label="train (mean per log row)")
    val = [(t, float(r["val_loss"])) for t, r in zip(tok, rows) if r["val_loss"]]
    if val:
        ax.plot(*zip(*val), "o-", ms=3, label="held-out")
    ax.set_xlabel("training tokens (millions)")
    ax.set_ylabel("cross-entropy (nats / token)")
    ax.set_title("tokenfab demo model (KJV, vocab 4096)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(png_path)


def exportWeights(model, sp, cfg, out_dir, extra):
    """weights.bin: float32 little-endian tensors back to back, PyTorch [out, in] row-major
    (= GGUF ne [in, out]); manifest.json: hyper-parameters, tensor table, SentencePiece vocab."""
    tensors, offset = [], 0
    with open(os.path.join(out_dir, "weights.bin"), "wb") as f:
        for name, t in model.ggufTensors():
            data = t.numpy().astype("<f4").tobytes()
            f.write(data)
            tensors.append({"name": name, "shape": list(t.shape), "offset": offset})
            offset += len(data)
    types = []
    for i in range(sp.get_piece_size()):
        # GGUF token types: 1 normal, 2 unknown, 3 control, 4 user defined, 5 unused, 6 byte
        types.append(2 if sp.is_unknown(i) else 3 if sp.is_control(i) else 6 if sp.is_byte(i)
                     else 5 if sp.is_unused(i) else 1)
    manifest = {
        "format": "tokenfab-demo-weights-v1",
        "hparams": {**{k: getattr(cfg, k) for k in dataclasses_fields(cfg)}},
        "tensors": tensors,
        "tokenizer": {"model": "llama", "bos_id": sp.bos_id(), "eos_id": sp.eos_id(),
                      "unk_id": sp.unk_id(), "add_bos": True, "add_eos": False,
                      "pieces": [sp.id_to_piece(i) for i in range(sp.get_piece_size())],
                      "scores": [sp.get_score(i) for i in range(sp.get_piece_size())],
                      "types": types},
        "training": extra,
    }
    with open(os.path.join(out_dir, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False)


def dataclasses_fields(cfg):
    import dataclasses
    return [f.name for f in dataclasses.fields(cfg)]


def main():
    args = parseArgs()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.out_dir, exist_ok=True)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(args.data_dir, "tokenizer.model"))
    train = torch.from_numpy(np.fromfile(os.path.join(args.data_dir, "train.u16"), np.uint16).astype(np.int64))
    val = torch.from_numpy(np.fromfile(os.path.join(args.data_dir, "val.u16"), np.uint16).astype(np.int64))
    cfg = Config(n_vocab=sp.get_piece_size(), n_layer=args.layers, n_head=args.heads,
                 n_head_kv=args.heads)
    model = Llama(cfg)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"config {cfg}, {n_params / 1e6:.2f} M parameters, train {len(train)} / val {len(val)} tokens")

    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8)
    gen = torch.Generator().manual_seed(args.seed)
    step, elapsed_before = 0, 0.0
    ckpt_path = os.path.join(args.out_dir, "ckpt.pt")
    csv_path = os.path.join(args.out_dir, "train_log.csv")
    if args.resume and os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        gen.set_state(ck["gen"])
        step, elapsed_before = ck["step"], ck["elapsed"]
        print(f"resumed at step {step}")
    elif not args.bench:
        with open(csv_path, "w", newline="") as f:
            csv.writer(f).writerow(["step", "tokens", "lr", "train_loss", "val_loss", "elapsed_s"])

    def save():
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "gen": gen.get_state(),
                    "step": step, "elapsed": elapsed_before + time.time() - t0}, ckpt_path)

    t0 = time.time()
    T, B = cfg.n_ctx, args.batch
    run_loss, run_n, stopped_early = 0.0, 0, False
    last_steps = args.bench if args.bench else args.steps
    lr = args.lr
    while step < last_steps:
        if not args.bench and deadlineReached(args.deadline):
            stopped_early = True
            print(f"deadline {args.deadline} UTC reached at step {step}: stopping")
            break
        progress = progressAt(step, elapsed_before + time.time() - t0, args)
        if progress >= 1.0 and not args.bench:
            print(f"schedule complete at step {step} (progress {progress:.3f})")
            break
        lr = lrAt(step, progress, args)
        for group in opt.param_groups:
            group["lr"] = lr
        starts = torch.randint(0, len(train) - T - 1, (B,), generator=gen)
        x = torch.stack([train[s: s + T] for s in starts])
        y = torch.stack([train[s + 1: s + T + 1] for s in starts])
        loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        run_loss += loss.item()
        run_n += 1
        if args.bench:
            dt = time.time() - t0
            print(f"step {step} loss {loss.item():.3f} {step * B * T / dt:.0f} tok/s")
            continue
        if step % args.log_every == 0:
            val_loss = ""
            if step % args.eval_every == 0:
                val_loss = f"{evaluate(model, val, T, args.eval_windows):.4f}"
            elapsed = elapsed_before + time.time() - t0
            with open(csv_path, "a", newline="") as f:
                csv.writer(f).writerow([step, step * B * T, f"{lr:.6f}",
                                        f"{run_loss / run_n:.4f}", val_loss, f"{elapsed:.1f}"])
            print(f"step {step} lr {lr:.2e} train {run_loss / run_n:.4f} val {val_loss or '-'} "
                  f"{step * B * T / elapsed:.0f} tok/s elapsed {elapsed:.0f}s", flush=True)
            run_loss, run_n = 0.0, 0
        if step % args.ckpt_every == 0:
            save()
    if args.bench:
        return
    if run_n:
        elapsed = elapsed_before + time.time() - t0
        with open(csv_path, "a", newline="") as f:
            csv.writer(f).writerow([step, step * B * T, f"{lr:.6f}", f"{run_loss / run_n:.4f}",
                                    f"{evaluate(model, val, T, args.eval_windows):.4f}", f"{elapsed:.1f}"])
    save()

    val_loss = evaluate(model, val, T)
    train_loss = evaluate(model, train, T, max_windows=len(val) // T)
    elapsed = elapsed_before + time.time() - t0
    result = {"step": step, "planned_steps": args.steps, "stopped_early": stopped_early,
              "tokens_seen": step * B * T, "wall_s": round(elapsed, 1), "params": n_params,
              "val_loss": round(val_loss, 4), "val_ppl": round(math.exp(val_loss), 2),
              "train_loss_first_windows": round(train_loss, 4), "seed": args.seed,
              "args": vars(args)}
    print(json.dumps(result))
    with open(os.path.join(args.out_dir, "result.json"), "w") as f:
        json.dump(result, f, indent=1)
    with open(os.path.join(args.out_dir, "samples.txt"), "w") as f:
        for i, prompt in enumerate(kSamplePrompts):
            seed = args.seed + i
            f.write(f"--- prompt {prompt!r}, seed {seed}, temperature 0.8, top-k 40, 80 tokens\n")
            f.write(generate(model, sp, prompt, 80, seed) + "\n\n")
    plotLoss(csv_path, os.path.join(args.out_dir, "loss_curve.png"))
    exportWeights(model, sp, cfg, args.out_dir, result)
    print("done")


if __name__ == "__main__":
    main()
