// CPU quantization into ggml's block layouts (the reference quantizers: no importance matrix).
// Used by the demo-model exporter, the synth tool and tests that need quantized weights.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "tokenfab/gguf.h"
#include "tokenfab/status.h"

namespace tokenfab::ref {

// float32 -> IEEE binary16, round to nearest even (overflow to inf, NaN kept a NaN).
uint16_t floatToFp16(float f);
// float32 -> bfloat16, round to nearest even (NaN kept a quiet NaN), as ggml does.
uint16_t floatToBf16(float f);

// Quantizes n floats (multiple of block size) into ggml's block layout, following ggml's
// reference quantizers (quantize_row_*_ref, no importance matrix). Types: F32, F16, BF16, Q8_0,
// Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K; IQ4_NL and IQ4_XS with a simpler encoder
// than ggml's (quantize_iq.h).
Result<std::vector<uint8_t>> quantize(gguf::TensorType type, std::span<const float> src);
bool canQuantize(gguf::TensorType type);

}  // namespace tokenfab::ref
