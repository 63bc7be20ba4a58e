// Shared between the product recorders of core/ops (matmul.cpp, matvec_group.cpp): the GPU
// weight types, matrix checks and the decode workgroup geometry.
#pragma once

#include <cstdint>

#include "tokenfab/ops_matmul.h"

namespace tokenfab::ops::detail {

struct TypeInfo {
  const char* suffix;  // shader variant suffix, as in shaders/lists/matmul.cmake
  uint32_t block_size;
  uint32_t block_bytes;
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
  bool use_subgroup = false;  // the row-per-subgroup shaders (subgroup arithmetic available)
};
MatVecGeometry matVecGeometry(const vk::Device& device);

}  // namespace tokenfab::ops::detail
