// CPU dequantization of ggml weight types: the bit-exact reference that the GPU decode shaders,
// the model loader and the tests are checked against.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "tokenfab/gguf.h"
#include "tokenfab/status.h"

namespace tokenfab::ref {

// Block geometry of a weight type as ggml stores it: `block_size` elements in `block_bytes` bytes
// (the type table's block_size / type_size, gguf::typeTraits).
struct BlockLayout {
  uint32_t block_size;
  uint32_t block_bytes;
};
// nullopt for a type this module does not dequantize (the type table's cpu_decode).
std::optional<BlockLayout> blockLayout(gguf::TensorType type);

// The 16-entry non-linear code book of IQ4_NL and IQ4_XS (a constant of the format).
std::span<const int8_t, 16> iq4NlCodeBook();

// IEEE binary16 / bfloat16 -> float32, exact (subnormals, inf and NaN kept).
float fp16ToFloat(uint16_t h);
float bf16ToFloat(uint16_t h);

// Dequantizes n elements (a multiple of the type's block size) of `type` from `src` into `dst`,
// bit-exact with ggml's dequantize_row_* (float32 arithmetic in ggml's order).
// n = dst.size(); src must hold at least n / block_size blocks.
Status dequantize(gguf::TensorType type, std::span<const uint8_t> src, std::span<float> dst);
bool canDequantize(gguf::TensorType type);

}  // namespace tokenfab::ref
