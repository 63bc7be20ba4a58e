// add, mul, silu_mul, gelu_mul, softcap: flat elementwise ops, split into pieces when a tensor exceeds one binding.
#include <algorithm>
#include <cmath>
#include <string>

#include "ops/op_util.h"
#include "tokenfab/ops.h"
#include "tokenfab/shader_abi.h"

namespace tokenfab::ops {
namespace {

using detail::needBytes;

// Elements per piece: fits max_binding and keeps every piece's offset aligned.
Result<uint64_t> pieceElements(const vk::Device& device, uint64_t max_binding_bytes) {
  uint64_t limit = device.report().max_storage_buffer_range;
  if (max_binding_bytes) limit = std::min(limit, max_binding_bytes);
  const uint64_t align = std::max<uint64_t>(device.report().min_storage_buffer_offset_alignment, 4);
  const uint64_t bytes = limit / align * align;
  if (bytes < 4) return Status(Code::kLimitExceeded, "binding limit below one element");
  return bytes / 4;
}

Status recordBinary(const char* op, const char* shader, vk::Recorder& rec, const vk::BufferView& a,
                    const vk::BufferView& b, const vk::BufferView& dst, uint64_t n, uint64_t n_b,
                    uint64_t max_binding_bytes) {
  vk::Device& dev = *rec.device();
  if (n == 0) return Status::ok();
  if (n_b == 0) n_b = n;
  if (n_b > n || n % n_b != 0)
    return Status(Code::kInvalidArgument, std::string(op) + ": broadcast length " + std::to_string(n_b) +
                                              " does not divide " + std::to_string(n));
  TF_RETURN_IF_ERROR(needBytes(op, "a", a, n * 4));
  TF_RETURN_IF_ERROR(needBytes(op, "b", b, n_b * 4));
  TF_RETURN_IF_ERROR(needBytes(op, "dst", dst, n * 4));
  TF_ASSIGN_OR_RETURN(uint64_t per_piece, pieceElements(dev, max_binding_bytes));
  const bool broadcast = n_b != n;
  if (broadcast && n_b > per_piece)
    return Status(Code::kLimitExceeded, std::string(op) + ": broadcast operand larger than one binding");
  const uint32_t wg = detail::flatWorkgroup(dev);
  TF_ASSIGN_OR_RETURN(const vk::Pipeline* pipe, dev.pipeline({shader, 3, sizeof(abi::BinaryParams), {wg}}));
  for (uint64_t start = 0; start < n; start += per_piece) {
    const uint64_t count = std::min(per_piece, n - start);
    TF_ASSIGN_OR_RETURN(detail::FlatGrid grid, detail::flatGrid(dev, count, wg));
    abi::BinaryParams p{};
    p.n = static_cast<uint32_t>(count);
    p.groups_x = grid.groups_x;
    vk::BufferView b_view;
    if (broadcast) {
      b_view = b.sub(0, n_b * 4);
      p.n_b = static_cast<uint32_t>(n_b);
      p.base = static_cast<uint32_t>(start % n_b);
    } else {
      b_view = b.sub(start * 4, count * 4);
      p.n_b = static_cast<uint32_t>(count);
      p.base = 0;
    }
    TF_RETURN_IF_ERROR(rec.dispatch(*pipe, {a.sub(start * 4, count * 4), b_view, dst.sub(start * 4, count * 4)}, p,
                                    grid.groups_x, grid.groups_y));
  }
  return Status::ok();
}

// The gated units (silu_mul, gelu_mul): dst = act(gate) * up, with Params {n, groups_x}.
template <typename Params>
Status recordGated(const char* op, vk::Recorder& rec, const vk::BufferView& gate, const vk::BufferView& up,
                   const vk::BufferView& dst, uint64_t n, uint64_t max_binding_bytes) {
  vk::Device& dev = *rec.device();
  if (n == 0) return Status::ok();
  TF_RETURN_IF_ERROR(needBytes(op, "gate", gate, n * 4));
  TF_RETURN_IF_ERROR(needBytes(op, "up", up, n * 4));
  TF_RETURN_IF_ERROR(needBytes(op, "dst", dst, n * 4));
  TF_ASSIGN_OR_RETURN(uint64_t per_piece, pieceElements(dev, max_binding_bytes));
  const uint32_t wg = detail::flatWorkgroup(dev);
  TF_ASSIGN_OR_RETURN(const vk::Pipeline* pipe, dev.pipeline({op, 3, sizeof(Params), {wg}}));
  for (uint64_t start = 0; start < n; start += per_piece) {
    const uint64_t count = std::min(per_piece, n - start);
    TF_ASSIGN_OR_RETURN(detail::FlatGrid grid, detail::flatGrid(dev, count, wg));
    Params p{static_cast<uint32_t>(count), grid.groups_x};
    TF_RETURN_IF_ERROR(rec.dispatch(
        *pipe, {gate.sub(start * 4, count * 4), up.sub(start * 4, count * 4), dst.sub(start * 4, count * 4)}, p,
        grid.groups_x, grid.groups_y));
  }
  return Status::ok();
}

}  // namespace

Status recordAdd(vk::Recorder& rec, const vk::BufferView& a, const vk::BufferView& b, const vk::BufferView& dst,
                 uint64_t n, uint64_t n_b, uint64_t max_binding_bytes) {
  return recordBinary("add", "add", rec, a, b, dst, n, n_b, max_binding_bytes);
}

Status recordMul(vk::Recorder& rec, const vk::BufferView& a, const vk::BufferView& b, const vk::BufferView& dst,
                 uint64_t n, uint64_t n_b, uint64_t max_binding_bytes) {
  return recordBinary("mul", "mul", rec, a, b, dst, n, n_b, max_binding_bytes);
}

Status recordSiluMul(vk::Recorder& rec, const vk::BufferView& gate, const vk::BufferView& up,
                     const vk::BufferView& dst, uint64_t n, uint64_t max_binding_bytes) {
  return recordGated<abi::SiluMulParams>("silu_mul", rec, gate, up, dst, n, max_binding_bytes);
}

Status recordGeluMul(vk::Recorder& rec, const vk::BufferView& gate, const vk::BufferView& up,
                     const vk::BufferView& dst, uint64_t n, uint64_t max_binding_bytes) {
  return recordGated<abi::GeluMulParams>("gelu_mul", rec, gate, up, dst, n, max_binding_bytes);
}

Status recordSoftcap(vk::Recorder& rec, const vk::BufferView& x, const vk::BufferView& dst, uint64_t n, float cap,
                     uint64_t max_binding_bytes) {
  vk::Device& dev = *rec.device();
  if (n == 0) return Status::ok();
  if (!(cap > 0.0f) || !std::isfinite(cap))
    return Status(Code::kInvalidArgument, "softcap: cap " + std::to_string(cap) + " must be positive and finite");
  TF_RETURN_IF_ERROR(needBytes("softcap", "x", x, n * 4));
  TF_RETURN_IF_ERROR(needBytes("softcap", "dst", dst, n * 4));
  TF_ASSIGN_OR_RETURN(uint64_t per_piece, pieceElements(dev, max_binding_bytes));
  const uint32_t wg = detail::flatWorkgroup(dev);
  TF_ASSIGN_OR_RETURN(const vk::Pipeline* pipe, dev.pipeline({"softcap", 2, sizeof(abi::SoftcapParams), {wg}}));
  for (uint64_t start = 0; start < n; start += per_piece) {
    const uint64_t count = std::min(per_piece, n - start);
    TF_ASSIGN_OR_RETURN(detail::FlatGrid grid, detail::flatGrid(dev, count, wg));
    abi::SoftcapParams p{static_cast<uint32_t>(count), grid.groups_x, cap};
    TF_RETURN_IF_ERROR(
        rec.dispatch(*pipe, {x.sub(start * 4, count * 4), dst.sub(start * 4, count * 4)}, p, grid.groups_x, grid.groups_y));
  }
  return Status::ok();
}

}  // namespace tokenfab::ops
