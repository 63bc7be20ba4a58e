// The laboratory's entry points for programs (tokenfab_lab): the CPU quantizers and the float64
// reference forward pass, for tools that write or check model files (tokenfab-cli import).
// Synthetic models, the self-test and check-ops have their own headers (synth.h, self_test.h,
// check_ops.h).
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "tokenfab/gguf.h"
#include "tokenfab/status.h"

namespace tokenfab::lab {

// `values` (a multiple of the type's block size) in ggml's block layout of `type`, as
// llama-quantize would write them (bit-exact for the types core/lab/quantize.cpp covers).
Result<std::vector<uint8_t>> quantize(gguf::TensorType type, std::span<const float> values);

// Logits of the float64 CPU reference for `tokens` fed one at a time from position 0: one row of
// n_vocab per token.
Result<std::vector<std::vector<double>>> referenceLogits(const gguf::GgufFile& file, std::span<const int32_t> tokens);

}  // namespace tokenfab::lab
