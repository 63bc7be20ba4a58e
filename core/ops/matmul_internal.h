// Shared between the product recorders of core/ops (matmul.cpp, matvec_group.cpp): the GPU
// weight types, matrix checks and the decode workgroup geometry.
#pragma once

#include <cstdint>
#include <vector>

#include "tokenfab/ops_matmul.h"

namespace tokenfab::ops::detail {

// The planes of a row in the GPU layout (weight_pack.cpp): per unit of 32 elements q_bits * 4
// bytes of low quant bits and h_bits * 4 bytes of high bits, then per scale block (s_block
// elements) s_bytes of scales. q_bits == 0: a float row, stored as in the file.
struct PlaneLayout {
  uint32_t q_bits = 0, h_bits = 0, s_block = 0, s_bytes = 0;
};

struct TypeInfo {
  const char* suffix;  // shader variant suffix, as in shaders/lists/matmul.cmake
  uint32_t block_size;
  uint32_t block_bytes;
  PlaneLayout planes;
};
// nullptr for a type the GPU cannot decode.
const TypeInfo* typeInfo(gguf::TensorType type);
// Checks the matrix itself (type, shape, view size); returns its type info.
Result<const TypeInfo*> checkMatrix(const char* op, const QuantMatrix& w);
// The largest binding: maxStorageBufferRange, or max_binding_bytes when smaller and non-zero.
uint64_t bindingLimit(const vk::Device& device, uint64_t max_binding_bytes);

// Workgroup size and weight rows per workgroup of the decode products.
struct MatVecGeometry {
  uint32_t workgroup = 64;
  uint32_t rows_per_group = 4;
  bool use_subgroup = false;  // the subgroup shaders (subgroup arithmetic available)
  // Subgroup shaders (matvec_core.glsl): rows one subgroup computes together, the most floats of
  // x staged in shared memory at once, and how bytes become floats (matvec_unit.glsl).
  uint32_t rows_per_subgroup = 2;
  uint32_t x_chunk_max = 4096;
  uint32_t bits_to_float = 1;
  // The specialization constants of a subgroup shader for rows of `cols` elements.
  std::vector<uint32_t> spec(uint32_t cols) const;
};
// From the device limits; TOKENFAB_MATVEC="wg=128,rows=2,chunk=4096,b2f=1" overrides any of
// them (for tuning on a real GPU with bench-matmul, no rebuild).
MatVecGeometry matVecGeometry(const vk::Device& device);

}  // namespace tokenfab::ops::detail
