// softmax, argmax, top_k: one workgroup per row.
#include <algorithm>
#include <string>

#include "ops/op_util.h"
#include "tokenfab/ops.h"
#include "tokenfab/shader_abi.h"

namespace tokenfab::ops {

using detail::fitsBinding;
using detail::needBytes;

namespace {
Status checkRows(const char* op, vk::Device& dev, const vk::BufferView& x, uint32_t n_rows, uint32_t n_cols) {
  if (n_cols == 0) return Status(Code::kInvalidArgument, std::string(op) + ": zero columns");
  if (n_rows > dev.report().max_workgroup_count[0])
    return Status(Code::kLimitExceeded, std::string(op) + ": too many rows for one dispatch");
  const uint64_t bytes = uint64_t{n_rows} * n_cols * 4;
  TF_RETURN_IF_ERROR(needBytes(op, "x", x, bytes));
  return fitsBinding(op, "x", dev, bytes);
}
}  // namespace

Status recordSoftmax(vk::Recorder& rec, const vk::BufferView& x, const vk::BufferView& dst, uint32_t n_rows,
                     uint32_t n_cols) {
  vk::Device& dev = *rec.device();
  if (n_rows == 0) return Status::ok();
  TF_RETURN_IF_ERROR(checkRows("softmax", dev, x, n_rows, n_cols));
  const uint64_t bytes = uint64_t{n_rows} * n_cols * 4;
  TF_RETURN_IF_ERROR(needBytes("softmax", "dst", dst, bytes));
  const uint32_t wg = detail::rowWorkgroup(dev);
  TF_ASSIGN_OR_RETURN(const vk::Pipeline* pipe, dev.pipeline({detail::useSubgroups(dev) ? "softmax_sg" : "softmax", 2,
                                                              sizeof(abi::RowParams), {wg}}));
  abi::RowParams p{n_cols, n_rows, 0};
  return rec.dispatch(*pipe, {x.sub(0, bytes), dst.sub(0, bytes)}, p, n_rows);
}

Status recordArgmax(vk::Recorder& rec, const vk::BufferView& x, const vk::BufferView& dst, uint32_t n_rows,
                    uint32_t n_cols) {
  vk::Device& dev = *rec.device();
  if (n_rows == 0) return Status::ok();
  TF_RETURN_IF_ERROR(checkRows("argmax", dev, x, n_rows, n_cols));
  TF_RETURN_IF_ERROR(needBytes("argmax", "dst", dst, uint64_t{n_rows} * 4));
  const uint32_t wg = detail::rowWorkgroup(dev);
  TF_ASSIGN_OR_RETURN(const vk::Pipeline* pipe, dev.pipeline({"argmax", 2, sizeof(abi::RowParams), {wg}}));
  abi::RowParams p{n_cols, n_rows, 0};
  return rec.dispatch(*pipe, {x.sub(0, uint64_t{n_rows} * n_cols * 4), dst.sub(0, uint64_t{n_rows} * 4)}, p, n_rows);
}

Status recordTopK(vk::Recorder& rec, const vk::BufferView& x, const vk::BufferView& idx, const vk::BufferView& val,
                  uint32_t n_rows, uint32_t n_cols, uint32_t k) {
  vk::Device& dev = *rec.device();
  if (n_rows == 0) return Status::ok();
  TF_RETURN_IF_ERROR(checkRows("top_k", dev, x, n_rows, n_cols));
  if (k == 0 || k > n_cols || k > 1024)
    return Status(Code::kInvalidArgument, "top_k: k " + std::to_string(k) + " must be in [1, min(n_cols, 1024)]");
  const uint64_t out_bytes = uint64_t{n_rows} * k * 4;
  TF_RETURN_IF_ERROR(needBytes("top_k", "idx", idx, out_bytes));
  TF_RETURN_IF_ERROR(needBytes("top_k", "val", val, out_bytes));
  const uint32_t wg = detail::rowWorkgroup(dev);
  TF_ASSIGN_OR_RETURN(const vk::Pipeline* pipe, dev.pipeline({"top_k", 3, sizeof(abi::RowParams), {wg}}));
  abi::RowParams p{n_cols, n_rows, k};
  return rec.dispatch(*pipe, {x.sub(0, uint64_t{n_rows} * n_cols * 4), idx.sub(0, out_bytes), val.sub(0, out_bytes)}, p,
                      n_rows);
}

}  // namespace tokenfab::ops
