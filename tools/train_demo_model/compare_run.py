#!/usr/bin/python3
"""Compares a re-training run with the committed one (results/): are they the same model?

usage: compare_run.py RUN_DIR [--committed results] [--margin 0.02]

- train_log.csv: every row both runs logged (step, tokens, learning rate, training loss,
  held-out loss) is compared; rows that agree to the printed digits are counted.
- result.json: held-out perplexity of the re-run vs the committed figure. The run is accepted
  when it lies within --margin (relative; default 2 %) of the committed perplexity. Same
  software and thread count reproduce the run exactly (equal rows); other BLAS builds or CPUs
  round differently, and the margin is what we state for those.
Exit status 0 when accepted, 1 when not, 2 on bad input.
"""
import argparse
import csv
import json
import os
import sys


def readLog(path):
    with open(path, newline="") as f:
        return {row["step"]: row for row in csv.DictReader(f)}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("run_dir")
    p.add_argument("--committed", default=os.path.join(here, "results"))
    p.add_argument("--margin", type=float, default=0.02)
    args = p.parse_args()
    try:
        mine, theirs = readLog(os.path.join(args.run_dir, "train_log.csv")), readLog(os.path.join(args.committed, "train_log.csv"))
    except (OSError, KeyError) as e:
        print(f"cannot read the logs: {e}", file=sys.stderr)
        return 2
    keys = ["tokens", "lr", "train_loss", "val_loss"]
    common = sorted(set(mine) & set(theirs), key=int)
    same = [s for s in common if all(mine[s][k] == theirs[s][k] for k in keys)]
    first_diff = next((s for s in common if s not in same), None)
    print(f"train_log.csv: {len(common)} steps logged by both, {len(same)} identical"
          + (f"; first difference at step {first_diff}: {[mine[first_diff][k] for k in keys]} vs "
             f"{[theirs[first_diff][k] for k in keys]}" if first_diff else ""))
    result_path = os.path.join(args.run_dir, "result.json")
    if not os.path.exists(result_path):
        print("result.json: none (the run did not finish); the logged steps above are the comparison")
        return 0 if common and len(same) == len(common) else 1
    with open(result_path) as f:
        r = json.load(f)
    with open(os.path.join(args.committed, "result.json")) as f:
        c = json.load(f)
    rel = abs(r["val_ppl"] - c["val_ppl"]) / c["val_ppl"]
    ok = rel <= args.margin and r["step"] == c["step"]
    print(f"held-out perplexity: re-run {r['val_ppl']} at step {r['step']}, committed {c['val_ppl']} at step "
          f"{c['step']}: {100 * rel:.2f} % apart (margin {100 * args.margin:.1f} %) -> {'same quality' if ok else 'DIFFERENT'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
