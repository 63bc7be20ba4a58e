// CPU references of the non-matmul GPU ops (core/ops, shaders/*.comp): float64 accumulation,
// plain loops. They are the spec the GPU ops are tested against; shapes as in tokenfab/ops.h.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace tokenfab::ref {

// a (n) + b[i % b.size()] / a * b[i % b.size()].
std::vector<double> add(std::span<const float> a, std::span<const float> b);
std::vector<double> mul(std::span<const float> a, std::span<const float> b);
// silu(gate) * up = gate / (1 + exp(-gate)) * up.
std::vector<double> siluMul(std::span<const float> gate, std::span<const float> up);
// gelu_tanh(gate) * up, gelu_tanh(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
std::vector<double> geluMul(std::span<const float> gate, std::span<const float> up);
// cap * tanh(x / cap).
std::vector<double> softcap(std::span<const float> x, double cap);
// x (rows, cols) / sqrt(mean(x^2) + eps) * weight (cols).
std::vector<double> rmsNorm(std::span<const float> x, std::span<const float> weight, uint32_t rows, uint32_t cols,
                            double eps);

// x (n_tokens, n_heads, head_dim) rotated: pair i of n_rot/2 at angle
// pos[t] * freq_scale * freq_base^(-2i/n_rot) / freq_factors[i] (factors optional: empty span);
// neox: pairs (i, i + n_rot/2), else (2i, 2i+1). Dims >= n_rot copied.
std::vector<double> rope(std::span<const float> x, std::span<const uint32_t> pos, uint32_t n_tokens, uint32_t n_heads,
                         uint32_t head_dim, uint32_t n_rot, bool neox, double freq_base, double freq_scale,
                         std::span<const float> freq_factors);

// Causal grouped-query attention: q (n_q, n_heads, D); k, v (n_keys >= pos0 + n_q, n_kv_heads, D)
// as floats (an f16 cache is passed decoded). Query t sees keys 0..pos0+t; with a window only
// keys j with pos0 + t - j < window; softcap > 0 caps each scaled score at softcap * tanh(s / softcap).
std::vector<double> attention(std::span<const float> q, std::span<const float> k, std::span<const float> v,
                              uint32_t n_q, uint32_t n_heads, uint32_t n_kv_heads, uint32_t head_dim, uint32_t pos0,
                              double scale, uint32_t window = 0, double softcap = 0.0);

// Row softmax; a row with NaN or +Inf, or all -Inf, is all NaN; -Inf -> 0.
std::vector<double> softmax(std::span<const float> x, uint32_t rows, uint32_t cols);
// True when a ranks before b: larger first, equal values by lower index, NaN after numbers.
bool rankBefore(float va, uint32_t ia, float vb, uint32_t ib);
std::vector<uint32_t> argmax(std::span<const float> x, uint32_t rows, uint32_t cols);
// The k best (rankBefore order) of each row: indices (rows, k).
std::vector<uint32_t> topK(std::span<const float> x, uint32_t rows, uint32_t cols, uint32_t k);

}  // namespace tokenfab::ref
