// Float64 reference of the quantized matrix products (the spec ops::recordMatVec /
// recordMatMul are tested against).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "tokenfab/gguf.h"
#include "tokenfab/status.h"

namespace tokenfab::ref {

// y (batch, rows) = x (batch, cols) . W^T with W (rows, cols) f32, accumulated in float64.
// Also returns, per output, sum_k |W[r][k] * x[n][k]| (the scale of its rounding error) when
// `abs_sum` is not null.
std::vector<double> matMul(std::span<const float> w, uint64_t rows, uint64_t cols,
                           std::span<const float> x, uint32_t batch,
                           std::vector<double>* abs_sum = nullptr);

// The same over a quantized weight matrix (`bytes` in ggml's block layout), dequantized exactly.
Result<std::vector<double>> matMulQuant(gguf::TensorType type, std::span<const uint8_t> bytes,
                                        uint64_t rows, uint64_t cols, std::span<const float> x,
                                        uint32_t batch, std::vector<double>* abs_sum = nullptr);

}  // namespace tokenfab::ref
