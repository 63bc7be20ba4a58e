// softmax, argmax, top_k: one workgroup per row.
#include <algorithm>
#include <string>

#include "ops/op_util.h"
#include "tokenfab/ops.h"
#include "tokenfab/shader_abi.h"

namespace tokenfab::ops {

using detail::needBytes;

namespace {
Status checkRows(const char* op, vk::Device& dev, const vk::BufferView& x, uint32_t n_rows, uint32_t n_cols) {
  if (n_cols == 0) return Status(Code::kInvalidArgument, std::string(op) + ": zero columns");
  if (n_rows > dev.report().max_workgroup_count[0])
    return Status(Code::kLimitExceeded, std::string(op) + ": too many rows for one dispatch");
  return needBytes(op, "x", x, uint64_t{n_rows} * n_cols * 4);
}
}  // namespace

Status recordSoftmax(vk::Recorder& rec, const vk::BufferView& x, const vk::BufferView& dst, uint32_t n_rows,
                     uint32_t n_cols, uint64_t max_binding_bytes) {
  vk::Device& dev = *rec.device();
  if (n_rows == 0) return Status::ok();
  TF_RETURN_IF_ERROR(checkRows("softmax", dev, x, n_rows, n_cols));
  const uint64_t rb = uint64_t{n_cols} * 4;
  TF_RETURN_IF_ERROR(needBytes("softmax", "dst", dst, n_rows * rb));
  TF_ASSIGN_OR_RETURN(auto ranges, detail::rowRanges(dev, n_rows, {rb}, max_binding_bytes));
  const uint32_t wg = detail::rowWorkgroup(dev);
  TF_ASSIGN_OR_RETURN(const vk::Pipeline* pipe, dev.pipeline({detail::useSubgroups(dev) ? "softmax_sg" : "softmax", 2,
                                                              sizeof(abi::RowParams), {wg}}));
  for (const detail::RowRange& r : ranges) {
    abi::RowParams p{n_cols, static_cast<uint32_t>(r.count), 0};
    TF_RETURN_IF_ERROR(rec.dispatch(*pipe, {x.sub(r.first * rb, r.count * rb), dst.sub(r.first * rb, r.count * rb)}, p,
                                    static_cast<uint32_t>(r.count)));
  }
  return Status::ok();
}

Status recordArgmax(vk::Recorder& rec, const vk::BufferView& x, const vk::BufferView& dst, uint32_t n_rows,
                    uint32_t n_cols, uint64_t max_binding_bytes) {
  vk::Device& dev = *rec.device();
  if (n_rows == 0) return Status::ok();
  TF_RETURN_IF_ERROR(checkRows("argmax", dev, x, n_rows, n_cols));
  TF_RETURN_IF_ERROR(needBytes("argmax", "dst", dst, uint64_t{n_rows} * 4));
  const uint64_t rb = uint64_t{n_cols} * 4;
  TF_ASSIGN_OR_RETURN(auto ranges, detail::rowRanges(dev, n_rows, {rb, 4}, max_binding_bytes));
  const uint32_t wg = detail::rowWorkgroup(dev);
  TF_ASSIGN_OR_RETURN(const vk::Pipeline* pipe, dev.pipeline({"argmax", 2, sizeof(abi::RowParams), {wg}}));
  for (const detail::RowRange& r : ranges) {
    abi::RowParams p{n_cols, static_cast<uint32_t>(r.count), 0};
    TF_RETURN_IF_ERROR(rec.dispatch(*pipe, {x.sub(r.first * rb, r.count * rb), dst.sub(r.first * 4, r.count * 4)}, p,
                                    static_cast<uint32_t>(r.count)));
  }
  return Status::ok();
}

Status recordTopK(vk::Recorder& rec, const vk::BufferView& x, const vk::BufferView& idx, const vk::BufferView& val,
                  uint32_t n_rows, uint32_t n_cols, uint32_t k, uint64_t max_binding_bytes) {
  vk::Device& dev = *rec.device();
  if (n_rows == 0) return Status::ok();
  TF_RETURN_IF_ERROR(checkRows("top_k", dev, x, n_rows, n_cols));
  if (k == 0 || k > n_cols || k > 1024)
    return Status(Code::kInvalidArgument, "top_k: k " + std::to_string(k) + " must be in [1, min(n_cols, 1024)]");
  const uint64_t rb = uint64_t{n_cols} * 4, ob = uint64_t{k} * 4;
  TF_RETURN_IF_ERROR(needBytes("top_k", "idx", idx, n_rows * ob));
  TF_RETURN_IF_ERROR(needBytes("top_k", "val", val, n_rows * ob));
  TF_ASSIGN_OR_RETURN(auto ranges, detail::rowRanges(dev, n_rows, {rb, ob}, max_binding_bytes));
  const uint32_t wg = detail::rowWorkgroup(dev);
  TF_ASSIGN_OR_RETURN(const vk::Pipeline* pipe, dev.pipeline({"top_k", 3, sizeof(abi::RowParams), {wg}}));
  for (const detail::RowRange& r : ranges) {
    abi::RowParams p{n_cols, static_cast<uint32_t>(r.count), k};
    TF_RETURN_IF_ERROR(rec.dispatch(
        *pipe, {x.sub(r.first * rb, r.count * rb), idx.sub(r.first * ob, r.count * ob), val.sub(r.first * ob, r.count * ob)},
        p, static_cast<uint32_t>(r.count)));
  }
  return Status::ok();
}

}  // namespace tokenfab::ops
