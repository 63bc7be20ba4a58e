// Shared between the product recorders of core/ops (matmul.cpp, matmul_tiled.cpp,
// matvec_group.cpp): the GPU weight types, matrix checks, bindings and workgroup geometries.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "tokenfab/ops_matmul.h"
#include "tokenfab/shader_abi_matmul.h"

namespace tokenfab::ops::detail {

// The GPU view of a type is its row in the engine's type table (gguf::TypeTraits: block layout,
// shader suffix, GpuPlanes). nullptr for a type the GPU cannot decode.
using TypeInfo = gguf::TypeTraits;
using PlaneLayout = gguf::GpuPlanes;
const TypeInfo* typeInfo(gguf::TensorType type);
// Checks the matrix itself (type, shape, view size); returns its type info.
Result<const TypeInfo*> checkMatrix(const char* op, const QuantMatrix& w);
// The largest binding: maxStorageBufferRange, or max_binding_bytes when smaller and non-zero.
uint64_t bindingLimit(const vk::Device& device, uint64_t max_binding_bytes);
// The weight rows split into bindings no larger than that limit.
Result<std::vector<vk::BufferPiece>> weightPieces(const vk::Device& device, const QuantMatrix& w,
                                                  uint64_t max_binding_bytes);
// Checks the activation and output views against the matrix and the layout; gives the strides.
Status checkActivations(const char* op, const QuantMatrix& w, const vk::BufferView& x, const vk::BufferView& y,
                        uint32_t batch, const MatMulLayout& layout, uint32_t* x_stride, uint32_t* y_stride);
// A run of activation rows [first, first + count) bound as its own x and y windows. A window
// starts at the aligned offset at or below its first element; the remainder goes into the push
// constants (x_offset / y_offset, in elements).
struct BatchChunk {
  vk::BufferView x, y;
  uint32_t first = 0, count = 0, x_offset = 0, y_offset = 0;
};
// Activations and outputs that fit one binding are bound whole; larger ones in runs of rows.
Result<std::vector<BatchChunk>> batchChunks(const vk::Device& device, const QuantMatrix& w, const vk::BufferView& x,
                                            const vk::BufferView& y, uint32_t batch, uint32_t x_stride,
                                            uint32_t y_stride, uint64_t max_binding_bytes);
// Push constants of one (weight row piece, batch chunk) dispatch of the matvec or matmul shaders.
abi::MatMulParams matMulParams(const QuantMatrix& w, const vk::BufferPiece& piece, const BatchChunk& chunk,
                               uint32_t x_stride, uint32_t y_stride, bool accumulate);
uint32_t powerOfTwoAtMost(uint32_t n);
// The key=value pairs of a tuning variable such as TOKENFAB_MATVEC="wg=128,rows=2" (numbers).
std::vector<std::pair<std::string, uint32_t>> envOverrides(const char* name);

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

// Tiles of the scalar prefill product (matmul.comp): kThreadsR x kThreadsN invocations, each
// computing rm x rn outputs; tile_k columns staged per step.
struct MatMulGeometry {
  uint32_t threads_r = 16, threads_n = 16, tile_k = 32, rm = 8, rn = 4;
  uint32_t round_f16 = 0;  // 1: inputs rounded to f16 as on the cooperative-matrix path
  uint32_t tileR() const { return threads_r * rm; }
  uint32_t tileN() const { return threads_n * rn; }
  std::vector<uint32_t> spec() const;
};
// From the device limits; TOKENFAB_MATMUL="tr=16,tn=16,k=32,rm=8,rn=4,f16in=1" overrides any.
MatMulGeometry matMulGeometry(const vk::Device& device);

// Tiles of the cooperative-matrix product (matmul_coop.comp): subgroups_r x subgroups_n
// subgroups, each with mats_r x mats_n accumulators of the shape m x n x k.
struct CoopGeometry {
  vk::CoopMatrixShape shape;
  uint32_t subgroup = 32, subgroups_r = 4, subgroups_n = 2, mats_r = 2, mats_n = 4;
  uint32_t tileR() const { return subgroups_r * mats_r * shape.m; }
  uint32_t tileN() const { return subgroups_n * mats_n * shape.n; }
  uint32_t workgroup() const { return subgroups_r * subgroups_n * subgroup; }
  std::vector<uint32_t> spec() const;
};
// The first shape the device lists that the shader takes, tiles from the limits;
// TOKENFAB_MATMUL="sgr=4,sgn=2,mr=2,mn=4" overrides the tiles. kUnsupported without a usable shape.
Result<CoopGeometry> coopGeometry(const vk::Device& device);
// recordMatMul on matmul_coop_emu_<type> (F32, Q8_0, Q4_K, Q6_K): the cooperative-matrix shader
// with its matrix operations emulated (16 x 16 x 16), so its tiling, staging and double buffering
// are tested on devices without cooperative matrices. f16 inputs, as the real path.
Status recordMatMulCoopEmulated(vk::Recorder& rec, const QuantMatrix& w, const vk::BufferView& x,
                                const vk::BufferView& y, uint32_t batch, MatMulLayout layout);

}  // namespace tokenfab::ops::detail
