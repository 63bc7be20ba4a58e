// kv_store and attention (split-K over the KV length + combine) recorders.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "ops/op_util.h"
#include "tokenfab/ops.h"
#include "tokenfab/shader_abi.h"

namespace tokenfab::ops {

using detail::fitsBinding;
using detail::needBytes;

namespace {
constexpr uint32_t kDefaultChunk = 256;
constexpr uint32_t kMaxHeadDim = 256;  // s_q in attention_split.comp

uint32_t chunkOf(const AttentionShape& s) { return s.chunk ? s.chunk : kDefaultChunk; }

// The flash pass's tile (queries x keys per workgroup): the largest whose shared memory fits
// (attention_flash.comp: queries, keys padded by one, values, scores, three floats a query).
struct FlashTile {
  uint32_t bq = 0, bk = 0;
};
FlashTile flashTile(const vk::Device& dev, uint32_t head_dim) {
  const uint64_t limit = dev.report().max_compute_shared_memory;
  for (const FlashTile t : {FlashTile{16, 32}, FlashTile{16, 16}, FlashTile{8, 16}, FlashTile{8, 8}, FlashTile{4, 8}, FlashTile{2, 4}}) {
    const uint64_t floats = uint64_t{t.bq} * head_dim + uint64_t{t.bk} * (head_dim + 1) + uint64_t{t.bk} * head_dim +
                            uint64_t{t.bq} * t.bk + 3ull * t.bq;
    if (floats * 4 <= limit) return t;
  }
  return {};
}

// Prompts (more than one query) take the flash pass unless a chunk size asks for the split one.
bool useFlash(const vk::Device& dev, const AttentionShape& s) {
  return s.n_q > 1 && s.chunk == 0 && flashTile(dev, s.head_dim).bq > 0;
}
uint32_t chunksOf(const AttentionShape& s) {
  const uint64_t keys = uint64_t{s.pos0} + s.n_q;
  return static_cast<uint32_t>((keys + chunkOf(s) - 1) / chunkOf(s));
}
uint64_t elemBytes(KvType t) { return t == KvType::kF16 ? 2 : 4; }

// The views both attention paths bind: each large enough, the big ones within one binding.
Status checkViews(const char* op, const vk::Device& dev, const vk::BufferView& q, const vk::BufferView& k_cache,
                  const vk::BufferView& v_cache, const vk::BufferView& scratch, const vk::BufferView& out,
                  uint64_t q_bytes, uint64_t kv_bytes, uint64_t scratch_bytes) {
  TF_RETURN_IF_ERROR(needBytes(op, "q", q, q_bytes));
  TF_RETURN_IF_ERROR(needBytes(op, "out", out, q_bytes));
  TF_RETURN_IF_ERROR(needBytes(op, "k_cache", k_cache, kv_bytes));
  TF_RETURN_IF_ERROR(needBytes(op, "v_cache", v_cache, kv_bytes));
  if (scratch_bytes > 0) TF_RETURN_IF_ERROR(needBytes(op, "scratch", scratch, scratch_bytes));
  TF_RETURN_IF_ERROR(fitsBinding(op, "k_cache", dev, kv_bytes));
  TF_RETURN_IF_ERROR(fitsBinding(op, "scratch", dev, scratch_bytes));
  return fitsBinding(op, "q", dev, q_bytes);
}
}  // namespace

Status recordKvStore(vk::Recorder& rec, const vk::BufferView& src, const vk::BufferView& cache, KvType type,
                     uint32_t n_tokens, uint32_t row, uint32_t pos0) {
  vk::Device& dev = *rec.device();
  if (n_tokens == 0) return Status::ok();
  if (row == 0 || (type == KvType::kF16 && row % 2 != 0))
    return Status(Code::kInvalidArgument, "kv_store: row " + std::to_string(row) + " must be positive (even for f16)");
  const uint64_t src_bytes = uint64_t{n_tokens} * row * 4;
  const uint64_t cache_bytes = (uint64_t{pos0} + n_tokens) * row * elemBytes(type);
  TF_RETURN_IF_ERROR(needBytes("kv_store", "src", src, src_bytes));
  TF_RETURN_IF_ERROR(needBytes("kv_store", "cache (rows up to pos0 + n_tokens)", cache, cache_bytes));
  TF_RETURN_IF_ERROR(fitsBinding("kv_store", "cache", dev, cache_bytes));
  TF_RETURN_IF_ERROR(fitsBinding("kv_store", "src", dev, src_bytes));
  const uint32_t wg = 64;
  const bool f16 = type == KvType::kF16;
  TF_ASSIGN_OR_RETURN(const vk::Pipeline* pipe,
                      dev.pipeline({f16 ? "kv_store_f16" : "kv_store_f32", 2, sizeof(abi::KvStoreParams), {wg}}));
  abi::KvStoreParams p{n_tokens, row, pos0};
  const uint32_t per_row = f16 ? row / 2 : row;
  return rec.dispatch(*pipe, {src.sub(0, src_bytes), cache.sub(0, cache_bytes)}, p, (per_row + wg - 1) / wg, n_tokens);
}

uint64_t attentionScratchBytes(const AttentionShape& s) {
  // Partials of the split pass; the flash pass (prompts with the default chunk: its smallest
  // tile fits Vulkan's minimum of 16 KiB of shared memory) needs none.
  if (s.n_q > 1 && s.chunk == 0) return 0;
  return uint64_t{s.n_q} * s.n_heads * chunksOf(s) * (uint64_t{s.head_dim} + 2) * 4;
}

Status recordAttention(vk::Recorder& rec, const vk::BufferView& q, const vk::BufferView& k_cache,
                       const vk::BufferView& v_cache, const vk::BufferView& scratch, const vk::BufferView& out,
                       const AttentionShape& s) {
  vk::Device& dev = *rec.device();
  if (s.n_q == 0) return Status::ok();
  if (s.n_heads == 0 || s.n_kv_heads == 0 || s.n_heads % s.n_kv_heads != 0)
    return Status(Code::kInvalidArgument, "attention: n_kv_heads " + std::to_string(s.n_kv_heads) +
                                              " must divide n_heads " + std::to_string(s.n_heads));
  if (s.head_dim == 0 || s.head_dim % 2 != 0 || s.head_dim > kMaxHeadDim)
    return Status(Code::kInvalidArgument, "attention: head_dim " + std::to_string(s.head_dim) + " must be even and <= 256");
  const uint32_t chunk = chunkOf(s);
  if (chunk > 1024 || chunk * 4 + kMaxHeadDim * 4 + 1024 * 4 > dev.report().max_compute_shared_memory)
    return Status(Code::kInvalidArgument, "attention: chunk " + std::to_string(chunk) + " too large for shared memory");
  const uint32_t n_chunks = chunksOf(s);
  const uint64_t q_bytes = uint64_t{s.n_q} * s.n_heads * s.head_dim * 4;
  const uint64_t kv_bytes = (uint64_t{s.pos0} + s.n_q) * s.n_kv_heads * s.head_dim * elemBytes(s.kv_type);
  const uint64_t scratch_bytes = attentionScratchBytes(s);
  TF_RETURN_IF_ERROR(checkViews("attention", dev, q, k_cache, v_cache, scratch, out, q_bytes, kv_bytes, scratch_bytes));

  const float scale = s.scale != 0.0f ? s.scale : 1.0f / std::sqrt(static_cast<float>(s.head_dim));
  if (useFlash(dev, s)) {
    const FlashTile tile = flashTile(dev, s.head_dim);
    const uint32_t wg = std::min<uint32_t>(128, dev.report().max_workgroup_invocations);
    TF_ASSIGN_OR_RETURN(const vk::Pipeline* flash,
                        dev.pipeline({s.kv_type == KvType::kF16 ? "attention_flash_f16" : "attention_flash_f32", 4,
                                      sizeof(abi::AttentionParams), {wg, tile.bq, tile.bk, s.head_dim}}));
    const abi::AttentionParams p{s.n_q, s.n_heads, s.n_kv_heads, s.head_dim, s.pos0, 0, scale, s.window, s.softcap};
    const uint32_t groups = (s.n_q + tile.bq - 1) / tile.bq;
    return rec.dispatch(*flash, {q.sub(0, q_bytes), k_cache.sub(0, kv_bytes), v_cache.sub(0, kv_bytes), out.sub(0, q_bytes)},
                        p, groups, s.n_heads);
  }
  const uint32_t wg = detail::rowWorkgroup(dev);
  std::string shader = s.kv_type == KvType::kF16 ? "attention_split_f16" : "attention_split_f32";
  if (detail::useSubgroups(dev)) shader += "_sg";
  TF_ASSIGN_OR_RETURN(const vk::Pipeline* split, dev.pipeline({shader, 4, sizeof(abi::AttentionParams), {wg, chunk}}));
  TF_ASSIGN_OR_RETURN(const vk::Pipeline* combine,
                      dev.pipeline({"attention_combine", 2, sizeof(abi::AttentionCombineParams), {64}}));
  abi::AttentionParams p{s.n_q, s.n_heads, s.n_kv_heads, s.head_dim, s.pos0, n_chunks, scale, s.window, s.softcap};
  if (n_chunks == 1) {  // every key in one chunk: the split pass writes the output itself
    return rec.dispatch(*split, {q.sub(0, q_bytes), k_cache.sub(0, kv_bytes), v_cache.sub(0, kv_bytes), out.sub(0, q_bytes)},
                        p, 1, s.n_heads, s.n_q);
  }
  TF_RETURN_IF_ERROR(rec.dispatch(*split,
                                  {q.sub(0, q_bytes), k_cache.sub(0, kv_bytes), v_cache.sub(0, kv_bytes),
                                   scratch.sub(0, scratch_bytes)},
                                  p, n_chunks, s.n_heads, s.n_q));
  rec.barrier();  // the combine pass reads every chunk's partial result
  abi::AttentionCombineParams c{s.n_q, s.n_heads, s.head_dim, n_chunks};
  return rec.dispatch(*combine, {scratch.sub(0, scratch_bytes), out.sub(0, q_bytes)}, c, s.n_heads, s.n_q);
}

namespace {

constexpr uint32_t kDecodeWorkgroup = 128;  // >= head_dim / 2 dim pairs, a multiple of 8
constexpr uint32_t kDecodeChunkMax = 256;
constexpr uint32_t kDecodeChunkMin = 32;
constexpr uint32_t kDecodeMaxGroup = 8;

// Keys per workgroup for n_keys: enough workgroups to fill a GPU (about 256 in all, so a long
// context spreads over every multiprocessor), chunks of 32..256 keys; a CPU device takes whole
// chunks of 256 (its workgroups run one after another anyway).
uint32_t decodeTargetChunks(const vk::Device& device, const AttentionDecodeShape& s) {
  if (s.target_chunks) return s.target_chunks;
  return device.report().type == "cpu" ? 1 : std::max<uint32_t>(1, (256 + s.n_kv_heads - 1) / s.n_kv_heads);
}

uint32_t decodeChunk(const vk::Device& device, const AttentionDecodeShape& s, uint32_t n_keys) {
  const uint32_t target = decodeTargetChunks(device, s);
  const uint32_t per = (n_keys + target - 1) / target;
  return std::clamp<uint32_t>((per + kDecodeChunkMin - 1) / kDecodeChunkMin * kDecodeChunkMin, kDecodeChunkMin,
                              kDecodeChunkMax);
}

// The most chunks any n_keys <= n_ctx is split into: below 256 keys a chunk the split is at most
// the target count, beyond it ceil(n_keys / 256).
uint32_t decodeMaxChunks(const vk::Device& device, const AttentionDecodeShape& s) {
  return std::max(decodeTargetChunks(device, s), (s.n_ctx + kDecodeChunkMax - 1) / kDecodeChunkMax);
}

uint64_t decodeSharedBytes(uint32_t group) {
  return 4ull * (group * 256 + group * kDecodeChunkMax + 2 * group + 2 * kDecodeWorkgroup * group);
}

}  // namespace

bool attentionDecodeSupported(const vk::Device& device, const AttentionDecodeShape& s) {
  const auto& f = device.features();
  const auto& r = device.report();
  if (!f.subgroup_arithmetic || !f.subgroup_shuffle || r.subgroup_size < 8 || r.subgroup_size % 8 != 0) return false;
  if (s.n_heads == 0 || s.n_kv_heads == 0 || s.n_heads % s.n_kv_heads != 0) return false;
  const uint32_t group = s.n_heads / s.n_kv_heads;
  return group <= kDecodeMaxGroup && s.head_dim % 32 == 0 && s.head_dim <= kMaxHeadDim && s.n_ctx > 0 &&
         r.max_workgroup_invocations >= kDecodeWorkgroup && decodeSharedBytes(group) <= r.max_compute_shared_memory;
}

uint64_t attentionDecodeScratchBytes(const vk::Device& device, const AttentionDecodeShape& s) {
  return uint64_t{s.n_heads} * decodeMaxChunks(device, s) * (uint64_t{s.head_dim} + 2) * 4;
}

Status writeDecodeStep(const vk::Device& device, const AttentionDecodeShape& s, uint32_t n_keys, void* step) {
  if (n_keys == 0 || n_keys > s.n_ctx)
    return Status(Code::kInvalidArgument, "decode step: " + std::to_string(n_keys) + " keys for a cache of " +
                                              std::to_string(s.n_ctx));
  abi::DecodeStep st{};
  st.n_keys = n_keys;
  st.chunk = decodeChunk(device, s, n_keys);
  st.n_chunks = (n_keys + st.chunk - 1) / st.chunk;
  st.attn_groups_x = st.n_chunks;
  st.attn_groups_y = s.n_kv_heads;
  st.attn_groups_z = 1;
  st.combine_groups_x = st.n_chunks > 1 ? s.n_heads : 0;  // one chunk writes the output itself
  st.combine_groups_y = 1;
  st.combine_groups_z = 1;
  static_assert(sizeof(st) <= kDecodeStepBytes);
  std::memcpy(step, &st, sizeof(st));
  return Status::ok();
}

Status recordAttentionDecode(vk::Recorder& rec, const vk::BufferView& q, const vk::BufferView& k_cache,
                             const vk::BufferView& v_cache, const vk::BufferView& scratch, const vk::BufferView& out,
                             const AttentionDecodeShape& s, const vk::BufferView& step) {
  vk::Device& dev = *rec.device();
  if (!attentionDecodeSupported(dev, s))
    return Status(Code::kUnsupported, "attention_decode: shape or device not supported (use recordAttention)");
  const uint32_t group = s.n_heads / s.n_kv_heads;
  const uint64_t q_bytes = uint64_t{s.n_heads} * s.head_dim * 4;
  const uint64_t kv_bytes = uint64_t{s.n_ctx} * s.n_kv_heads * s.head_dim * elemBytes(s.kv_type);
  const uint64_t scratch_bytes = attentionDecodeScratchBytes(dev, s);
  TF_RETURN_IF_ERROR(
      checkViews("attention_decode", dev, q, k_cache, v_cache, scratch, out, q_bytes, kv_bytes, scratch_bytes));
  TF_RETURN_IF_ERROR(needBytes("attention_decode", "step", step, kDecodeStepBytes));

  const std::string shader = s.kv_type == KvType::kF16 ? "attention_decode_f16" : "attention_decode_f32";
  TF_ASSIGN_OR_RETURN(const vk::Pipeline* split, dev.pipeline({shader, 6, sizeof(abi::AttentionDecodeParams),
                                                              {kDecodeWorkgroup, kDecodeChunkMax, group}}));
  TF_ASSIGN_OR_RETURN(const vk::Pipeline* combine,
                      dev.pipeline({"attention_combine_step", 3, sizeof(abi::AttentionCombineParams), {64}}));
  const float scale = s.scale != 0.0f ? s.scale : 1.0f / std::sqrt(static_cast<float>(s.head_dim));
  const abi::AttentionDecodeParams p{s.n_heads, s.n_kv_heads, s.head_dim, scale, s.window, s.softcap};
  const vk::BufferView st = step.sub(0, kDecodeStepBytes);
  TF_RETURN_IF_ERROR(rec.dispatchIndirect(*split,
                                          {q.sub(0, q_bytes), k_cache.sub(0, kv_bytes), v_cache.sub(0, kv_bytes),
                                           scratch.sub(0, scratch_bytes), out.sub(0, q_bytes), st},
                                          p, step.sub(offsetof(abi::DecodeStep, attn_groups_x), 12)));
  rec.barrier();  // the combine pass reads every chunk's partial result
  const abi::AttentionCombineParams c{1, s.n_heads, s.head_dim, 0};
  return rec.dispatchIndirect(*combine, {scratch.sub(0, scratch_bytes), out.sub(0, q_bytes), st}, c,
                              step.sub(offsetof(abi::DecodeStep, combine_groups_x), 12));
}

}  // namespace tokenfab::ops
