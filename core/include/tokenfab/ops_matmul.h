// Recorders for quantized weights: matrix x vector (decode), tiled matrix x matrix (prefill)
// and the embedding row gather. Weights are uploaded in tokenfab's GPU layout (uploadMatrix:
// ggml's blocks split into aligned planes of quants and scales, the same values) and decoded in
// the shader (shaders/include/tokenfab/dequant.glsl).
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "tokenfab/gguf.h"
#include "tokenfab/status.h"
#include "tokenfab/vk.h"

namespace tokenfab::ops {

// A weight matrix on the GPU: `rows` rows (ggml ne[1], output features) of `cols` elements
// (ne[0], input features, a multiple of the type's block size), rows stored back to back.
// `view` holds the rows in the GPU layout, gpuRowBytes(type, cols) each (write it with
// uploadMatrix). A view larger than maxStorageBufferRange is bound in row pieces automatically
// (its offset must be aligned to minStorageBufferOffsetAlignment).
struct QuantMatrix {
  gguf::TensorType type = gguf::TensorType::kF32;
  vk::BufferView view;
  uint64_t rows = 0;
  uint32_t cols = 0;
};

// Types the GPU decodes: those the type table marks gpu_decode (gguf::typeTraits).
bool matMulSupports(gguf::TensorType type);
// Bytes of one row of `cols` elements in the file (ggml blocks); 0 for an unsupported type or a
// bad column count.
uint64_t quantRowBytes(gguf::TensorType type, uint64_t cols);
// Bytes of one row in the GPU layout: the same bytes reordered into planes, padded to 16.
uint64_t gpuRowBytes(gguf::TensorType type, uint64_t cols);
// The view size QuantMatrix needs: rows * gpuRowBytes.
uint64_t gpuMatrixBytes(gguf::TensorType type, uint64_t rows, uint64_t cols);
// Rewrites whole rows from the file's ggml blocks (`ggml`, a multiple of quantRowBytes) into
// the GPU layout (`gpu`, as many rows of gpuRowBytes).
Status packRows(gguf::TensorType type, uint64_t cols, std::span<const uint8_t> ggml, std::span<uint8_t> gpu);
// Packs `rows` rows of `ggml` and uploads them to `dst` (gpuMatrixBytes) piece by piece;
// `progress`, when given, receives the file bytes of each piece and may cancel by failing.
Status uploadMatrix(vk::Device& device, const vk::BufferView& dst, gguf::TensorType type, uint64_t rows,
                    uint64_t cols, std::span<const uint8_t> ggml,
                    const std::function<Status(uint64_t)>& progress = {});

// Which units a prefill product (recordMatMul) runs on.
enum class MatMulPath : uint8_t {
  // kScalar, or kCoopMatrix for every product when env TOKENFAB_COOPMAT=1 and the device has
  // cooperative matrices (opt-in: f16 inputs move prefill logits ~1e-2 from token-by-token ones).
  kAuto,
  // Register-blocked tiles in float32 (matmul.comp): any device.
  kScalar,
  // Tensor cores through VK_NV_cooperative_matrix (matmul_coop.comp): weights and activations
  // rounded to f16, products summed in f32. kUnsupported where the device has none.
  kCoopMatrix,
};
const char* matMulPathName(MatMulPath path);  // "auto", "scalar", "coopmat"
// The path recordMatMul takes on this device for a batch of `batch` rows: kScalar or kCoopMatrix
// (kCoopMatrix requested where the device has none stays kCoopMatrix: recordMatMul refuses it
// with kUnsupported).
MatMulPath matMulPath(const vk::Device& device, uint32_t batch, MatMulPath requested = MatMulPath::kAuto);

// Activation / output layout: row n of x starts at element n * x_stride (x_stride >= cols, 0
// means cols); row n of y at n * y_stride (0 means w.rows). Views start at element 0.
struct MatMulLayout {
  uint32_t x_stride = 0;
  uint32_t y_stride = 0;
  // Largest binding in bytes; 0 = the device's maxStorageBufferRange. Weights beyond it are bound
  // in row pieces, activations/outputs beyond it in runs of batch rows. Tests set it lower to
  // exercise those paths on devices whose limit is large.
  uint64_t max_binding_bytes = 0;
  // y += product instead of y = product: a residual add fused into the product.
  bool accumulate = false;
  // recordMatMul only: the units it runs on.
  MatMulPath path = MatMulPath::kAuto;
};

// y (batch, rows) f32 = x (batch, cols) f32 . W^T, for decode (batch 1) and small batches; reads
// the weights once per row of x. With subgroup arithmetic one subgroup reduces a row, reading
// whole quant blocks as words (matvec_sg.comp); else a workgroup reduces TF_MATVEC_ROWS rows
// element by element through shared memory (matvec.comp).
Status recordMatVec(vk::Recorder& rec, const QuantMatrix& w, const vk::BufferView& x,
                    const vk::BufferView& y, uint32_t batch = 1, MatMulLayout layout = {});
// An RMS norm of x before the grouped products below: x / sqrt(mean(x^2) + eps) * weight. The
// fused dispatch folds it in (no dispatch of its own); the fallback normalises x into `scratch`
// (cols floats) first.
struct FusedNorm {
  vk::BufferView weight;  // (cols) f32
  float eps = 0.0f;
  vk::BufferView scratch;
};
// Decode products of several matrices in one dispatch (batch 1, x of `cols` floats at offset 0):
// ys[m] (parts[m].rows) = W_m x. Fused when the parts share one buffer (increasing offsets, the
// span fitting one binding), type and column count and the device has subgroup arithmetic;
// otherwise one recordMatVec per part. 1 to 3 parts.
Status recordMatVecGroup(vk::Recorder& rec, std::span<const QuantMatrix> parts, const vk::BufferView& x,
                         std::span<const vk::BufferView> ys, const FusedNorm* norm = nullptr);
// y (gate.rows) = silu(W_gate x) * (W_up x), the SwiGLU of a decode step, fused under the same
// conditions (gate before up in one buffer); otherwise gate -> y, up -> scratch (gate.rows
// floats), a barrier and recordSiluMul.
Status recordMatVecGlu(vk::Recorder& rec, const QuantMatrix& gate, const QuantMatrix& up, const vk::BufferView& x,
                       const vk::BufferView& y, const vk::BufferView& scratch, const FusedNorm* norm = nullptr);
// The same product, tiled through shared memory: for prefill batches. On the scalar path the
// error is that of float32 sums; on cooperative matrices each weight and activation is first
// rounded to f16 (relative error 2^-11 each, see tests/gpu/matmul_test.cpp).
Status recordMatMul(vk::Recorder& rec, const QuantMatrix& w, const vk::BufferView& x,
                    const vk::BufferView& y, uint32_t batch, MatMulLayout layout = {});
// out (n_ids, cols) f32 = rows ids[0..n_ids) of W, decoded exactly as ref::dequantize does.
// ids (uint32) outside [0, rows) give rows of zeros.
// out_stride: elements between output rows (0 = cols); max_binding_bytes as in MatMulLayout.
Status recordGetRows(vk::Recorder& rec, const QuantMatrix& w, const vk::BufferView& ids,
                     const vk::BufferView& out, uint32_t n_ids, uint32_t out_stride = 0,
                     uint64_t max_binding_bytes = 0);

}  // namespace tokenfab::ops
