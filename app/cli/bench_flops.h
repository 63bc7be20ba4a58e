// Arithmetic work of a prefill, for `tokenfab-cli bench`'s GFLOP/s figure. Kept apart from the
// command so the count can be checked by a unit test against hand-computed cases.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "tokenfab/model.h"

namespace tokenfab::cli {

// Floating-point operations (a multiply-add counts 2) of a prefill of `n_tokens` tokens at
// positions 0..n_tokens-1, fed in chunks of `n_batch` tokens as the engine does:
//
//   FLOPs = 2 * ( n_tokens * sum over layers L of M(L)                  weight matrices
//               + sum over layers L of A(L) * n_tokens (n_tokens+1) / 2   causal attention
//               + ceil(n_tokens / n_batch) * n_embd * n_vocab )           output projection
//
//   M(L) = n_embd * q_dim + n_embd * k_dim(L) + n_embd * v_dim(L)      q, k, v
//        + n_head * head_dim_v * n_embd                                attention output
//        + 3 * n_embd * n_ff(L)                                        gate, up, down
//   A(L) = n_head * (head_dim + head_dim_v)     q.k and p.v multiply-adds per attended position
//
// The token at position i attends to positions 0..i (i+1 of them). The output projection runs
// once per chunk, for the chunk's last token only. Not counted (small next to the products):
// the embedding lookup, norms, biases, rope, softmax, activations and residual adds.
double prefillFlops(const model::ModelConfig& config, int64_t n_tokens, int64_t n_batch);


}  // namespace tokenfab::cli
