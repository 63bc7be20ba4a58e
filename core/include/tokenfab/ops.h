// Recorders for the non-matmul ops (matmul/matvec/get_rows: ops_matmul.h). Each binds views,
// pushes constants and dispatches into a Recorder; no op owns memory, none inserts barriers
// (the caller puts rec.barrier() between dependent ops). All tensors are f32 unless stated,
// row-major, shapes given as (outer, ..., inner). Views must start at an offset aligned to
// minStorageBufferOffsetAlignment. The shader of op X is shaders/x.comp, its push constants
// XParams in shader_abi.h, its CPU reference ref::x in core/ref/ops_ref.h.
#pragma once

#include <cstdint>

#include "tokenfab/rope.h"
#include "tokenfab/status.h"
#include "tokenfab/vk.h"

namespace tokenfab::ops {

// dst (n) = a (n) + b[i % n_b] (n_b = 0 means n: no broadcast). A tensor larger than one
// binding (maxStorageBufferRange, or max_binding_bytes when non-zero) is processed in pieces;
// a broadcast b must fit one binding.
Status recordAdd(vk::Recorder& rec, const vk::BufferView& a, const vk::BufferView& b, const vk::BufferView& dst,
                 uint64_t n, uint64_t n_b = 0, uint64_t max_binding_bytes = 0);
// dst = a * b[i % n_b], as recordAdd.
Status recordMul(vk::Recorder& rec, const vk::BufferView& a, const vk::BufferView& b, const vk::BufferView& dst,
                 uint64_t n, uint64_t n_b = 0, uint64_t max_binding_bytes = 0);
// dst (n) = silu(gate) * up: the SwiGLU gate of the FFN.
Status recordSiluMul(vk::Recorder& rec, const vk::BufferView& gate, const vk::BufferView& up,
                     const vk::BufferView& dst, uint64_t n, uint64_t max_binding_bytes = 0);

// dst (n) = gelu_tanh(gate) * up: the GELU-gated FFN of gemma (tanh approximation).
Status recordGeluMul(vk::Recorder& rec, const vk::BufferView& gate, const vk::BufferView& up,
                     const vk::BufferView& dst, uint64_t n, uint64_t max_binding_bytes = 0);
// dst (n) = cap * tanh(x / cap), cap > 0: gemma2's final-logit soft-capping. dst may be x.
Status recordSoftcap(vk::Recorder& rec, const vk::BufferView& x, const vk::BufferView& dst, uint64_t n, float cap,
                     uint64_t max_binding_bytes = 0);

// dst (n_rows, n_cols) = x / sqrt(mean(x^2) + eps) * weight (n_cols). dst may be x (in place:
// each element is read and written by one invocation, the writes after the row's sum). Row ops
// (this one, softmax, argmax, top-k) bind more rows than fit one binding in row pieces.
Status recordRmsNorm(vk::Recorder& rec, const vk::BufferView& x, const vk::BufferView& weight,
                     const vk::BufferView& dst, uint32_t n_rows, uint32_t n_cols, float eps,
                     uint64_t max_binding_bytes = 0);

using tokenfab::RopeLayout;
struct RopeConfig {
  RopeLayout layout = RopeLayout::kAdjacent;
  uint32_t n_rot = 0;  // rotated dims (even, <= head_dim); 0 = head_dim
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;  // linear position scaling (1 / factor)
};
// In place on x (n_tokens, n_heads, head_dim); positions (n_tokens) uint32; freq_factors
// (n_rot / 2) f32 or an empty view (Llama 3.1 rope_freqs divide each pair's frequency).
Status recordRope(vk::Recorder& rec, const vk::BufferView& x, const vk::BufferView& positions,
                  const vk::BufferView& freq_factors, uint32_t n_tokens, uint32_t n_heads, uint32_t head_dim,
                  const RopeConfig& config);

enum class KvType { kF32, kF16 };
// Writes src (n_tokens, row) f32 into cache rows pos0.. of a (n_ctx, row) cache of `type`,
// row = n_kv_heads * head_dim (even for f16). The cache view must hold n_ctx rows.
Status recordKvStore(vk::Recorder& rec, const vk::BufferView& src, const vk::BufferView& cache, KvType type,
                     uint32_t n_tokens, uint32_t row, uint32_t pos0);

// One dispatch doing bias add + rope + kv_store for a decoder layer (replaces 3 recordAdd, 2
// recordRope and 2 recordKvStore, and the barriers between them). Afterwards q, k, v hold the
// biased (q, k also rotated) values, bit-identical to that sequence, and the final k, v rows
// are in cache rows positions[0..n_tokens) (pos0 .. pos0 + n_tokens - 1 in a forward pass). head_dim and head_dim_v must be even, n_rot
// a multiple of 4 for kNeox, n_kv_heads must divide n_heads. freq_factors and bias may be
// empty views.
struct RopeStoreArgs {
  vk::BufferView q;             // (n_tokens, n_heads, head_dim) f32, in place
  vk::BufferView k;             // (n_tokens, n_kv_heads, head_dim) f32, in place
  vk::BufferView v;             // (n_tokens, n_kv_heads, head_dim_v) f32, in place
  vk::BufferView positions;     // (n_tokens) uint32: rope positions
  vk::BufferView freq_factors;  // (n_rot / 2) f32, or empty
  vk::BufferView bias;          // (q_dim + k_dim + v_dim) f32 = [bq | bk | bv], or empty
  vk::BufferView k_cache;       // (n_ctx, n_kv_heads, head_dim) of kv_type, n_ctx >= pos0 + n_tokens
  vk::BufferView v_cache;       // (n_ctx, n_kv_heads, head_dim_v) of kv_type
  uint32_t n_tokens = 0;
  uint32_t n_heads = 0;
  uint32_t n_kv_heads = 0;
  uint32_t head_dim = 0;
  uint32_t head_dim_v = 0;  // 0 = head_dim
  uint32_t pos0 = 0;        // position of the first token: the cache must hold rows up to pos0 + n_tokens
  KvType kv_type = KvType::kF32;
  RopeConfig rope;
};
Status recordRopeStore(vk::Recorder& rec, const RopeStoreArgs& args);

struct AttentionShape {
  uint32_t n_q = 1;         // query tokens (1 = decode, more = prefill)
  uint32_t n_heads = 0;
  uint32_t n_kv_heads = 0;  // divides n_heads (grouped-query attention)
  uint32_t head_dim = 0;    // even, <= 256 (64/80/96/128 in practice)
  uint32_t pos0 = 0;        // position of the first query; its keys 0..pos0 are in the cache
  float scale = 0.0f;       // 0 = 1/sqrt(head_dim)
  KvType kv_type = KvType::kF32;
  uint32_t chunk = 0;       // keys per split-K workgroup; 0 = default (256)
  uint32_t window = 0;      // sliding window: query at p sees keys k with p - k < window; 0 = all
  float softcap = 0.0f;     // scores = softcap * tanh(scores / softcap) (gemma2); 0 = off
};
// Bytes of scratch recordAttention needs for this shape.
uint64_t attentionScratchBytes(const AttentionShape& shape);
// out (n_q, n_heads, head_dim) = causal softmax(q k^T * scale) v over the cache rows
// 0..pos0+t for query t (with a window: only rows k with pos0 + t - k < window are read). q (n_q, n_heads, head_dim); caches (n_ctx, n_kv_heads, head_dim) with
// the new rows already stored (recordKvStore + barrier). Two dispatches: split over key chunks,
// then a combine pass (the barrier between them is recorded here); one when a single chunk
// holds every key (pos0 + n_q <= chunk).
Status recordAttention(vk::Recorder& rec, const vk::BufferView& q, const vk::BufferView& k_cache,
                       const vk::BufferView& v_cache, const vk::BufferView& scratch, const vk::BufferView& out,
                       const AttentionShape& shape);

// Decode attention (one query per head) for GPUs: the query heads sharing a kv head in one
// workgroup, keys split over many workgroups (attention_decode.comp). Its per-token values (the
// key count, the split) are read on the GPU from a small step buffer the host fills with
// writeDecodeStep before each submission, so a recorded decode step can be replayed at any
// position. out (n_heads, head_dim) = softmax(q k^T * scale) v over cache rows 0..n_keys-1 (with
// a window: the last `window` of them, the start computed on the GPU from n_keys).
struct AttentionDecodeShape {
  uint32_t n_heads = 0;
  uint32_t n_kv_heads = 0;
  uint32_t head_dim = 0;
  uint32_t n_ctx = 0;   // cache rows: the most keys a step may attend to
  float scale = 0.0f;   // 0 = 1/sqrt(head_dim)
  KvType kv_type = KvType::kF32;
  uint32_t target_chunks = 0;  // workgroups per kv head to aim for; 0 = the device's default
  uint32_t window = 0;   // as AttentionShape::window: only the last `window` of the n_keys keys
  float softcap = 0.0f;  // as AttentionShape::softcap
};
// Whether the device and shape can take this path (head_dim % 32 == 0, at most 8 query heads
// per kv head, subgroup shuffle and arithmetic in subgroups of a multiple of 8); else use
// recordAttention.
bool attentionDecodeSupported(const vk::Device& device, const AttentionDecodeShape& shape);
// Bytes of the step buffer and of the scratch (partials of the largest split) it needs.
constexpr uint64_t kDecodeStepBytes = 64;
uint64_t attentionDecodeScratchBytes(const vk::Device& device, const AttentionDecodeShape& shape);
// Writes the step values for a query attending to n_keys keys (1..n_ctx) into `step` (mapped,
// kDecodeStepBytes).
Status writeDecodeStep(const vk::Device& device, const AttentionDecodeShape& shape, uint32_t n_keys, void* step);
Status recordAttentionDecode(vk::Recorder& rec, const vk::BufferView& q, const vk::BufferView& k_cache,
                             const vk::BufferView& v_cache, const vk::BufferView& scratch, const vk::BufferView& out,
                             const AttentionDecodeShape& shape, const vk::BufferView& step);

// The device's streaming read bandwidth: a compute kernel reading `bytes` of device memory in
// coalesced 16-byte words (0 = 512 MiB, 64 MiB on a CPU device, at most an eighth of the
// device-local heap), the best of several runs timed with GPU timestamps. The bound decode
// speed is judged against.
struct StreamBandwidth {
  double gbps = 0.0;   // bytes read / second / 1e9
  uint64_t bytes = 0;  // bytes read per run
};
Result<StreamBandwidth> measureStreamBandwidth(vk::Device& device, uint64_t bytes = 0);

// Row-wise over x (n_rows, n_cols). Ranking for argmax/top-k: larger first, ties by lower
// index, NaN after every number. softmax: a row with NaN or +Inf (or all -Inf) becomes NaN.
Status recordSoftmax(vk::Recorder& rec, const vk::BufferView& x, const vk::BufferView& dst, uint32_t n_rows,
                     uint32_t n_cols, uint64_t max_binding_bytes = 0);
// dst (n_rows) uint32.
Status recordArgmax(vk::Recorder& rec, const vk::BufferView& x, const vk::BufferView& dst, uint32_t n_rows,
                    uint32_t n_cols, uint64_t max_binding_bytes = 0);
// idx (n_rows, k) uint32, val (n_rows, k) f32, best first; 1 <= k <= min(n_cols, 1024).
Status recordTopK(vk::Recorder& rec, const vk::BufferView& x, const vk::BufferView& idx, const vk::BufferView& val,
                  uint32_t n_rows, uint32_t n_cols, uint32_t k, uint64_t max_binding_bytes = 0);

}  // namespace tokenfab::ops
