// Fused bias + rope + kv_store recorder (shaders/rope_store.comp).
#include <algorithm>
#include <string>

#include "ops/op_util.h"
#include "tokenfab/ops.h"
#include "tokenfab/shader_abi.h"

namespace tokenfab::ops {

using detail::fitsBinding;
using detail::needBytes;

namespace {
constexpr const char* kOp = "rope_store";

Status invalid(const std::string& what) {
  return Status(Code::kInvalidArgument, std::string(kOp) + ": " + what);
}

// The bytes checks of one bound view: large enough and within one binding.
Status checkView(vk::Device& dev, const char* name, const vk::BufferView& view, uint64_t bytes) {
  TF_RETURN_IF_ERROR(needBytes(kOp, name, view, bytes));
  return fitsBinding(kOp, name, dev, bytes);
}

const char* shaderName(RopeLayout layout, KvType type) {
  const bool neox = layout == RopeLayout::kNeox, f16 = type == KvType::kF16;
  if (neox) return f16 ? "rope_store_neox_f16" : "rope_store_neox_f32";
  return f16 ? "rope_store_adjacent_f16" : "rope_store_adjacent_f32";
}
}  // namespace

Status recordRopeStore(vk::Recorder& rec, const RopeStoreArgs& a) {
  vk::Device& dev = *rec.device();
  if (a.n_tokens == 0) return Status::ok();
  const uint32_t head_dim_v = a.head_dim_v ? a.head_dim_v : a.head_dim;
  if (a.n_heads == 0 || a.n_kv_heads == 0 || a.n_heads % a.n_kv_heads != 0)
    return invalid("n_kv_heads " + std::to_string(a.n_kv_heads) + " must divide n_heads " +
                   std::to_string(a.n_heads));
  // Even head dims: every invocation owns whole (2j, 2j+1) pairs, i.e. whole f16 words of the
  // cache (so k_dim and v_dim are even too). NEOX: each invocation rotates two adjacent pairs.
  if (a.head_dim == 0 || a.head_dim % 2 != 0)
    return invalid("head_dim " + std::to_string(a.head_dim) + " must be even (k_dim, whole f16 pairs)");
  if (head_dim_v % 2 != 0) return invalid("head_dim_v " + std::to_string(head_dim_v) + " must be even");
  const uint32_t n_rot = a.rope.n_rot ? a.rope.n_rot : a.head_dim;
  const uint32_t n_rot_step = a.rope.layout == RopeLayout::kNeox ? 4 : 2;
  if (n_rot % n_rot_step != 0 || n_rot > a.head_dim)
    return invalid("n_rot " + std::to_string(n_rot) + " must be a multiple of " + std::to_string(n_rot_step) +
                   " and <= head_dim " + std::to_string(a.head_dim));
  if (!(a.rope.freq_base > 0.0f) || !(a.rope.freq_scale > 0.0f))
    return invalid("freq_base and freq_scale must be positive");
  if (uint64_t{a.n_heads} + 2ull * a.n_kv_heads > dev.report().max_workgroup_count[1])
    return invalid("too many heads for one dispatch");

  const uint64_t n = a.n_tokens;
  const uint64_t q_dim = uint64_t{a.n_heads} * a.head_dim, k_dim = uint64_t{a.n_kv_heads} * a.head_dim;
  const uint64_t v_dim = uint64_t{a.n_kv_heads} * head_dim_v;
  const uint64_t elem = a.kv_type == KvType::kF16 ? 2 : 4;
  const uint64_t rows = uint64_t{a.pos0} + n;  // cache rows up to the last one written
  TF_RETURN_IF_ERROR(checkView(dev, "q", a.q, n * q_dim * 4));
  TF_RETURN_IF_ERROR(checkView(dev, "k", a.k, n * k_dim * 4));
  TF_RETURN_IF_ERROR(checkView(dev, "v", a.v, n * v_dim * 4));
  TF_RETURN_IF_ERROR(checkView(dev, "positions", a.positions, n * 4));
  TF_RETURN_IF_ERROR(checkView(dev, "k_cache (rows up to pos0 + n_tokens)", a.k_cache, rows * k_dim * elem));
  TF_RETURN_IF_ERROR(checkView(dev, "v_cache (rows up to pos0 + n_tokens)", a.v_cache, rows * v_dim * elem));
  const bool has_ff = a.freq_factors.valid() && a.freq_factors.size > 0;
  const bool has_bias = a.bias.valid() && a.bias.size > 0;
  const uint64_t ff_bytes = uint64_t{n_rot / 2} * 4, bias_bytes = (q_dim + k_dim + v_dim) * 4;
  if (has_ff) TF_RETURN_IF_ERROR(checkView(dev, "freq_factors", a.freq_factors, ff_bytes));
  if (has_bias) TF_RETURN_IF_ERROR(checkView(dev, "bias [bq | bk | bv]", a.bias, bias_bytes));
  if (n > dev.report().max_workgroup_count[2]) return invalid("too many tokens for one dispatch");

  const uint32_t wg = 64;
  TF_ASSIGN_OR_RETURN(
      const vk::Pipeline* pipe,
      dev.pipeline({shaderName(a.rope.layout, a.kv_type), 8, sizeof(abi::RopeStoreParams), {wg}}));
  abi::RopeStoreParams p{
      a.n_tokens,       a.n_heads,         a.n_kv_heads,     a.head_dim,        head_dim_v,
      n_rot,            a.rope.freq_base,  a.rope.freq_scale, has_ff ? 1u : 0u, has_bias ? 1u : 0u};
  // The cache rows come from the positions (pos0 + t), not from the push constants: a recorded
  // decode step replays at any position. Bind as much of each cache as one binding holds.
  const auto cacheBinding = [&](const vk::BufferView& cache, uint64_t row_bytes) {
    const uint64_t limit = dev.report().max_storage_buffer_range / row_bytes * row_bytes;
    return cache.sub(0, std::max(rows * row_bytes, std::min(cache.size / row_bytes * row_bytes, limit)));
  };
  // Absent optional inputs bind the positions view instead; the shader never reads them then.
  const vk::BufferView pos = a.positions.sub(0, n * 4);
  const vk::BufferView ff = has_ff ? a.freq_factors.sub(0, ff_bytes) : pos;
  const vk::BufferView bias = has_bias ? a.bias.sub(0, bias_bytes) : pos;
  return rec.dispatch(
      *pipe,
      {a.q.sub(0, n * q_dim * 4), a.k.sub(0, n * k_dim * 4), a.v.sub(0, n * v_dim * 4), pos, ff, bias,
       cacheBinding(a.k_cache, k_dim * elem), cacheBinding(a.v_cache, v_dim * elem)},
      p, (std::max(a.head_dim, head_dim_v) / 2 + wg - 1) / wg, a.n_heads + 2 * a.n_kv_heads, a.n_tokens);
}

}  // namespace tokenfab::ops
