#!/usr/bin/python3
"""Reads the exported GGUF with a small parser of its own (GGUF v3 spec, no tokenfab code) and
checks it against the training export:

  /usr/bin/python3 verify_gguf.py RUN_DIR FILE.gguf

* every llama.cpp key the brief lists is present with the type llama.cpp's converter writes,
  and equal to the manifest's hyper-parameters and vocab;
* every tensor has llama.cpp's name, ne = reversed PyTorch shape, F32 for norms;
* each tensor dequantized (F32, F16 or Q8_0: d = f16 scale, 32 int8 q, x = d * q) is within the
  format's rounding bound of weights.bin: Q8_0 |err| <= d / 2 (+ f16 rounding of d), F16
  relative 2^-11, F32 exact.
Exit status 0 when everything matches.
"""
import json
import os
import struct
import sys

import numpy as np

kTypes = {0: "u8", 1: "i8", 2: "u16", 3: "i16", 4: "u32", 5: "i32", 6: "f32", 7: "bool",
          8: "string", 9: "array", 10: "u64", 11: "i64", 12: "f64"}
kScalar = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q",
           11: "<q", 12: "<d"}


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def scalar(self, fmt):
        v = struct.unpack_from(fmt, self.data, self.pos)[0]
        self.pos += struct.calcsize(fmt)
        return v

    def string(self):
        n = self.scalar("<Q")
        s = self.data[self.pos:self.pos + n].decode("utf-8")
        self.pos += n
        return s

    def value(self, vtype):
        if vtype == 8:
            return self.string()
        if vtype == 9:
            etype, n = self.scalar("<I"), self.scalar("<Q")
            return (etype, [self.value(etype) for _ in range(n)])
        return self.scalar(kScalar[vtype])


def parseGguf(path):
    data = open(path, "rb").read()
    r = Reader(data)
    assert data[:4] == b"GGUF", "bad magic"
    r.pos = 4
    version, n_tensors, n_kv = r.scalar("<I"), r.scalar("<Q"), r.scalar("<Q")
    kv = {}
    for _ in range(n_kv):
        key = r.string()
        vtype = r.scalar("<I")
        kv[key] = (vtype, r.value(vtype))
    tensors = []
    for _ in range(n_tensors):
        name = r.string()
        n_dims = r.scalar("<I")
        ne = [r.scalar("<Q") for _ in range(n_dims)]
        ttype, offset = r.scalar("<I"), r.scalar("<Q")
        tensors.append((name, ne, ttype, offset))
    align = kv.get("general.alignment", (4, 32))[1]
    data_start = (r.pos + align - 1) // align * align
    return version, kv, tensors, data, data_start


def dequant(raw, ttype, n):
    if ttype == 0:
        return np.frombuffer(raw, "<f4", n).astype(np.float64), None
    if ttype == 1:
        return np.frombuffer(raw, "<f2", n).astype(np.float64), None
    if ttype == 8:  # Q8_0: 34-byte blocks of (f16 d, 32 x int8)
        blocks = np.frombuffer(raw, np.uint8, n // 32 * 34).reshape(-1, 34)
        d = blocks[:, :2].copy().view("<f2").astype(np.float64)            # (n_blocks, 1)
        q = blocks[:, 2:].copy().view(np.int8).astype(np.float64)          # (n_blocks, 32)
        return (d * q).reshape(-1), d.reshape(-1)
    raise ValueError(f"type {ttype} not handled")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    run_dir, gguf_path = sys.argv[1:]
    manifest = json.load(open(os.path.join(run_dir, "manifest.json"), encoding="utf-8"))
    blob = np.fromfile(os.path.join(run_dir, "weights.bin"), dtype="<f4")
    hp, tok = manifest["hparams"], manifest["tokenizer"]
    version, kv, tensors, data, data_start = parseGguf(gguf_path)
    problems = []

    def expect(key, vtype, value):
        if key not in kv:
            problems.append(f"missing key {key}")
        elif kv[key][0] != vtype:
            problems.append(f"{key}: type {kTypes[kv[key][0]]}, expected {kTypes[vtype]}")
        elif value is not None and kv[key][1] != value:
            problems.append(f"{key}: {str(kv[key][1])[:60]} != {str(value)[:60]}")

    expect("general.architecture", 8, "llama")
    expect("llama.context_length", 4, hp["n_ctx"])
    expect("llama.embedding_length", 4, hp["n_embd"])
    expect("llama.block_count", 4, hp["n_layer"])
    expect("llama.feed_forward_length", 4, hp["n_ff"])
    expect("llama.attention.head_count", 4, hp["n_head"])
    expect("llama.attention.head_count_kv", 4, hp["n_head_kv"])
    expect("llama.rope.dimension_count", 4, hp["n_embd"] // hp["n_head"])
    expect("llama.rope.freq_base", 6, struct.unpack("<f", struct.pack("<f", hp["rope_base"]))[0])
    expect("llama.attention.layer_norm_rms_epsilon", 6,
           struct.unpack("<f", struct.pack("<f", hp["rms_eps"]))[0])
    expect("tokenizer.ggml.model", 8, "llama")
    expect("tokenizer.ggml.tokens", 9, (8, tok["pieces"]))
    expect("tokenizer.ggml.scores", 9,
           (6, [struct.unpack("<f", struct.pack("<f", s))[0] for s in tok["scores"]]))
    expect("tokenizer.ggml.token_type", 9, (5, tok["types"]))
    expect("tokenizer.ggml.bos_token_id", 4, tok["bos_id"])
    expect("tokenizer.ggml.eos_token_id", 4, tok["eos_id"])
    expect("tokenizer.ggml.unknown_token_id", 4, tok["unk_id"])
    expect("tokenizer.ggml.add_bos_token", 7, True)

    by_name = {t[0]: t for t in tensors}
    if [t["name"] for t in manifest["tensors"]] != [t[0] for t in tensors]:
        problems.append("tensor names/order differ from the manifest")
    worst = {}
    for t in manifest["tensors"]:
        name, shape = t["name"], t["shape"]
        if name not in by_name:
            continue
        _, ne, ttype, offset = by_name[name]
        if ne != shape[::-1]:
            problems.append(f"{name}: ne {ne} != reversed shape {shape[::-1]}")
            continue
        if len(shape) == 1 and ttype != 0:
            problems.append(f"{name}: norm not F32")
        n = int(np.prod(shape))
        want = blob[t["offset"] // 4: t["offset"] // 4 + n].astype(np.float64)
        got, d = dequant(data[data_start + offset:], ttype, n)
        err = np.abs(got - want)
        if ttype == 0:
            bound = np.zeros(n)
        elif ttype == 1:
            bound = np.abs(want) * 2.0 ** -11 + 2.0 ** -24
        else:  # rounding to the nearest step d, plus the step itself rounded to f16
            amax = np.abs(want.reshape(-1, 32)).max(1)
            bound = np.repeat(np.abs(d) / 2 * (1 + 2.0 ** -10) + amax * 2.0 ** -11 + 1e-12, 32)
        if np.any(err > bound):
            i = int(np.argmax(err - bound))
            problems.append(f"{name}: element {i} off by {err[i]:.3g} > bound {bound[i]:.3g}")
        worst[ttype] = max(worst.get(ttype, 0.0), float(err.max()))
    print(f"GGUF v{version}: {len(kv)} keys, {len(tensors)} tensors, "
          f"max |dequantized - trained| by type id: {worst}")
    for p in problems:
        print("FAIL:", p)
    print("all checks passed" if not problems else f"{len(problems)} problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
