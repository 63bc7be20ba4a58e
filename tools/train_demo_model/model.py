"""The demo model: a small llama (RMSNorm, rotary attention, SwiGLU FFN, no biases).

Rotary embedding uses the *adjacent pairs* layout: dimensions (2i, 2i+1) of each head are rotated
together by the angle pos * base^(-2i / head_dim). That is what llama.cpp's `llama` architecture
computes (ggml rope mode 0) on GGUF weights, so Q/K weights are exported without any permutation.
Here it is written with complex numbers; check_export.py re-computes it with explicit pairs.
"""
import dataclasses
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclasses.dataclass
class Config:
    n_vocab: int = 4096
    n_embd: int = 256
    n_layer: int = 4
    n_head: int = 4
    n_head_kv: int = 4
    n_ff: int = 768
    n_ctx: int = 256
    rope_base: float = 10000.0
    rms_eps: float = 1e-5

    @property
    def head_dim(self):
        return self.n_embd // self.n_head


class RmsNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def ropeTable(cfg, dtype=torch.float32):
    """(n_ctx, head_dim / 2) complex: e^(i * pos * base^(-2j / head_dim))."""
    hd = cfg.head_dim
    freqs = cfg.rope_base ** (-torch.arange(0, hd, 2, dtype=torch.float64) / hd)
    angles = torch.outer(torch.arange(cfg.n_ctx, dtype=torch.float64), freqs)
    table = torch.polar(torch.ones_like(angles), angles)
    return table.to(torch.complex64 if dtype == torch.float32 else torch.complex128)


def applyRope(x, table):
    """x: (B, T, H, D) real; pairs (2j, 2j+1) are one complex number each."""
    b, t, h, d = x.shape
    xc = torch.view_as_complex(x.reshape(b, t, h, d // 2, 2).contiguous())
    return torch.view_as_real(xc * table[:t].view(1, t, 1, d // 2)).reshape(b, t, h, d)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        hd = cfg.head_dim
        self.wq = nn.Linear(cfg.n_embd, cfg.n_head * hd, bias=False)
        self.wk = nn.Linear(cfg.n_embd, cfg.n_head_kv * hd, bias=False)
        self.wv = nn.Linear(cfg.n_embd, cfg.n_head_kv * hd, bias=False)
        self.wo = nn.Linear(cfg.n_head * hd, cfg.n_embd, bias=False)

    def forward(self, x, table, mask):
        cfg = self.cfg
        b, t, _ = x.shape
        hd = cfg.head_dim
        q = applyRope(self.wq(x).view(b, t, cfg.n_head, hd), table)      # (B, T, H, D)
        k = applyRope(self.wk(x).view(b, t, cfg.n_head_kv, hd), table)   # (B, T, Hkv, D)
        v = self.wv(x).view(b, t, cfg.n_head_kv, hd)
        rep = cfg.n_head // cfg.n_head_kv
        if rep > 1:
            k = k.repeat_interleave(rep, dim=2)
            v = v.repeat_interleave(rep, dim=2)
        q, k, v = (z.transpose(1, 2) for z in (q, k, v))                  # (B, H, T, D)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hd)                   # (B, H, T, T)
        att = att.masked_fill(mask[:t, :t], float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, cfg.n_head * hd)
        return self.wo(y)


class FeedForward(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.w_gate = nn.Linear(cfg.n_embd, cfg.n_ff, bias=False)
        self.w_up = nn.Linear(cfg.n_embd, cfg.n_ff, bias=False)
        self.w_down = nn.Linear(cfg.n_ff, cfg.n_embd, bias=False)

    def forward(self, x):
        return self.w_down(F.silu(self.w_gate(x)) * self.w_up(x))


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.attn_norm = RmsNorm(cfg.n_embd, cfg.rms_eps)
        self.attn = Attention(cfg)
        self.ffn_norm = RmsNorm(cfg.n_embd, cfg.rms_eps)
        self.ffn = FeedForward(cfg)

    def forward(self, x, table, mask):
        h = x + self.attn(self.attn_norm(x), table, mask)
        return h + self.ffn(self.ffn_norm(h))


class Llama(nn.Module):
    """Token embedding and output projection are tied (one matrix, exported twice)."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.tok_embd = nn.Embedding(cfg.n_vocab, cfg.n_embd)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.out_norm = RmsNorm(cfg.n_embd, cfg.rms_eps)
        self.register_buffer("rope", ropeTable(cfg), persistent=False)
        mask = torch.triu(torch.ones(cfg.n_ctx, cfg.n_ctx, dtype=torch.bool), diagonal=1)
        self.register_buffer("mask", mask, persistent=False)
        self.apply(self._init)
        for block in self.blocks:  # scaled init of the residual projections (GPT-2 style)
            std = 0.02 / math.sqrt(2 * cfg.n_layer)
            nn.init.normal_(block.attn.wo.weight, std=std)
            nn.init.normal_(block.ffn.w_down.weight, std=std)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)

    def toDouble(self):
        self.double()
        self.rope = ropeTable(self.cfg, torch.float64)
        return self

    def forward(self, idx):
        """idx: (B, T) int64 -> logits (B, T, n_vocab)."""
        x = self.tok_embd(idx)
        for block in self.blocks:
            x = block(x, self.rope, self.mask)
        return F.linear(self.out_norm(x), self.tok_embd.weight)

    def ggufTensors(self):
        """(gguf name, float32 tensor in PyTorch [out, in] layout) in llama.cpp order."""
        out = [("token_embd.weight", self.tok_embd.weight)]
        for i, b in enumerate(self.blocks):
            p = f"blk.{i}."
            out += [(p + "attn_norm.weight", b.attn_norm.weight),
                    (p + "attn_q.weight", b.attn.wq.weight),
                    (p + "attn_k.weight", b.attn.wk.weight),
                    (p + "attn_v.weight", b.attn.wv.weight),
                    (p + "attn_output.weight", b.attn.wo.weight),
                    (p + "ffn_norm.weight", b.ffn_norm.weight),
                    (p + "ffn_gate.weight", b.ffn.w_gate.weight),
                    (p + "ffn_up.weight", b.ffn.w_up.weight),
                    (p + "ffn_down.weight", b.ffn.w_down.weight)]
        out += [("output_norm.weight", self.out_norm.weight),
                ("output.weight", self.tok_embd.weight)]
        return [(n, t.detach().float().contiguous()) for n, t in out]
