// rms_norm and rope recorders.
#include <string>

#include "ops/op_util.h"
#include "tokenfab/ops.h"
#include "tokenfab/shader_abi.h"

namespace tokenfab::ops {

using detail::fitsBinding;
using detail::needBytes;

Status recordRmsNorm(vk::Recorder& rec, const vk::BufferView& x, const vk::BufferView& weight,
                     const vk::BufferView& dst, uint32_t n_rows, uint32_t n_cols, float eps,
                     uint64_t max_binding_bytes) {
  vk::Device& dev = *rec.device();
  if (n_rows == 0) return Status::ok();
  if (n_cols == 0) return Status(Code::kInvalidArgument, "rms_norm: zero columns");
  if (!(eps >= 0.0f)) return Status(Code::kInvalidArgument, "rms_norm: eps must be >= 0");
  const uint64_t row_bytes = uint64_t{n_cols} * 4;
  TF_RETURN_IF_ERROR(needBytes("rms_norm", "x", x, n_rows * row_bytes));
  TF_RETURN_IF_ERROR(needBytes("rms_norm", "weight", weight, row_bytes));
  TF_RETURN_IF_ERROR(needBytes("rms_norm", "dst", dst, n_rows * row_bytes));
  TF_RETURN_IF_ERROR(fitsBinding("rms_norm", "weight", dev, row_bytes));
  TF_ASSIGN_OR_RETURN(auto ranges, detail::rowRanges(dev, n_rows, {row_bytes}, max_binding_bytes));
  const uint32_t wg = detail::rowWorkgroup(dev);
  const char* shader = detail::useSubgroups(dev) ? "rms_norm_sg" : "rms_norm";
  TF_ASSIGN_OR_RETURN(const vk::Pipeline* pipe, dev.pipeline({shader, 3, sizeof(abi::RmsNormParams), {wg}}));
  for (const detail::RowRange& r : ranges) {
    abi::RmsNormParams p{n_cols, static_cast<uint32_t>(r.count), eps};
    TF_RETURN_IF_ERROR(rec.dispatch(*pipe,
                                    {x.sub(r.first * row_bytes, r.count * row_bytes), weight.sub(0, row_bytes),
                                     dst.sub(r.first * row_bytes, r.count * row_bytes)},
                                    p, static_cast<uint32_t>(r.count)));
  }
  return Status::ok();
}

Status recordRope(vk::Recorder& rec, const vk::BufferView& x, const vk::BufferView& positions,
                  const vk::BufferView& freq_factors, uint32_t n_tokens, uint32_t n_heads, uint32_t head_dim,
                  const RopeConfig& config) {
  vk::Device& dev = *rec.device();
  if (n_tokens == 0 || n_heads == 0) return Status::ok();
  const uint32_t n_rot = config.n_rot ? config.n_rot : head_dim;
  if (head_dim == 0 || n_rot % 2 != 0 || n_rot > head_dim)
    return Status(Code::kInvalidArgument, "rope: n_rot " + std::to_string(n_rot) + " must be even and <= head_dim " +
                                              std::to_string(head_dim));
  if (!(config.freq_base > 0.0f) || !(config.freq_scale > 0.0f))
    return Status(Code::kInvalidArgument, "rope: freq_base and freq_scale must be positive");
  const uint64_t bytes = uint64_t{n_tokens} * n_heads * head_dim * 4;
  TF_RETURN_IF_ERROR(needBytes("rope", "x", x, bytes));
  TF_RETURN_IF_ERROR(needBytes("rope", "positions", positions, uint64_t{n_tokens} * 4));
  TF_RETURN_IF_ERROR(fitsBinding("rope", "x", dev, bytes));
  const bool has_ff = freq_factors.valid() && freq_factors.size > 0;
  if (has_ff) TF_RETURN_IF_ERROR(needBytes("rope", "freq_factors", freq_factors, uint64_t{n_rot / 2} * 4));
  if (n_rot == 0) return Status::ok();
  const uint32_t wg = 64;
  const char* shader = config.layout == RopeLayout::kNeox ? "rope_neox" : "rope_adjacent";
  TF_ASSIGN_OR_RETURN(const vk::Pipeline* pipe, dev.pipeline({shader, 3, sizeof(abi::RopeParams), {wg}}));
  abi::RopeParams p{n_tokens, n_heads, head_dim, n_rot, config.freq_base, config.freq_scale, has_ff ? 1u : 0u};
  // Without factors the positions view stands in for binding 2; the shader never reads it.
  const vk::BufferView ff = has_ff ? freq_factors.sub(0, uint64_t{n_rot / 2} * 4) : positions.sub(0, uint64_t{n_tokens} * 4);
  return rec.dispatch(*pipe, {x.sub(0, bytes), positions.sub(0, uint64_t{n_tokens} * 4), ff}, p,
                      (n_rot / 2 + wg - 1) / wg, n_heads, n_tokens);
}

}  // namespace tokenfab::ops
