// Grouped decode products (shaders/matvec_group.comp): q/k/v of a layer in one dispatch, and
// gate/up with the SwiGLU applied in one dispatch. Each falls back to one product per matrix
// when the matrices cannot share a binding.
#include <string>
#include <vector>

#include "ops/matmul_internal.h"
#include "tokenfab/ops.h"
#include "tokenfab/ops_matmul.h"
#include "tokenfab/shader_abi_matmul.h"

namespace tokenfab::ops {
namespace {

// The parts as one binding, when they can be fused: same buffer at increasing offsets, same type
// and column count, the span within the binding limit and 32-bit byte addresses.
struct Span {
  bool fusable = false;
  vk::BufferView view;
  uint32_t byte[3] = {0, 0, 0};
  uint32_t first_row[3] = {0, 0, 0};
  uint32_t rows = 0;
};

Result<Span> spanOf(const vk::Device& device, std::span<const QuantMatrix> parts, const char* op) {
  Span span;
  for (const QuantMatrix& w : parts) TF_RETURN_IF_ERROR(detail::checkMatrix(op, w).status());
  if (!device.features().subgroup_arithmetic) return span;
  const QuantMatrix& first = parts.front();
  const QuantMatrix& last = parts.back();
  uint64_t rows = 0;
  for (size_t m = 0; m < parts.size(); ++m) {
    const QuantMatrix& w = parts[m];
    if (w.view.buffer != first.view.buffer || w.type != first.type || w.cols != first.cols) return span;
    if (m > 0 && w.view.offset < parts[m - 1].view.offset + parts[m - 1].view.size) return span;
    span.byte[m] = static_cast<uint32_t>(std::min<uint64_t>(w.view.offset - first.view.offset, UINT32_MAX));
    span.first_row[m] = static_cast<uint32_t>(std::min<uint64_t>(rows, UINT32_MAX));
    rows += w.rows;
  }
  const uint64_t bytes = last.view.offset + last.view.size - first.view.offset;
  if (bytes > detail::bindingLimit(device, 0) || bytes >= (1ull << 32) || rows >= (1ull << 32)) return span;
  span.fusable = true;
  span.view = vk::BufferView{first.view.buffer, first.view.offset, bytes};
  span.rows = static_cast<uint32_t>(rows);
  return span;
}

Status dispatchGroup(vk::Recorder& rec, const char* kind, const QuantMatrix& w0, const Span& span, uint32_t rows,
                     std::vector<vk::BufferView> views, const FusedNorm* norm) {
  vk::Device& device = *rec.device();
  const detail::MatVecGeometry geo = detail::matVecGeometry(device);
  if (norm) views.push_back(norm->weight.sub(0, uint64_t(w0.cols) * 4));
  vk::PipelineDesc desc;
  desc.shader =
      std::string("matvec_") + kind + (norm ? "_norm_" : "_") + std::string(detail::typeInfo(w0.type)->suffix);
  desc.bindings = static_cast<uint32_t>(views.size());
  desc.push_bytes = sizeof(abi::MatVecGroupParams);
  desc.spec = geo.spec(w0.cols);
  TF_ASSIGN_OR_RETURN(const vk::Pipeline* pipe, device.pipeline(desc));
  abi::MatVecGroupParams p{};
  p.rows = rows;
  p.cols = w0.cols;
  p.row_bytes = static_cast<uint32_t>(gpuRowBytes(w0.type, w0.cols));
  p.part_row1 = span.first_row[1] ? span.first_row[1] : rows;
  p.part_row2 = span.first_row[2] ? span.first_row[2] : rows;
  p.part_byte1 = span.byte[1];
  p.part_byte2 = span.byte[2];
  p.eps = norm ? norm->eps : 0.0f;
  const auto& report = device.report();
  const uint64_t groups = (uint64_t(rows) + geo.rows_per_group - 1) / geo.rows_per_group;
  const uint32_t gx = static_cast<uint32_t>(std::min<uint64_t>(groups, report.max_workgroup_count[0]));
  const uint64_t gy = (groups + gx - 1) / gx;
  if (gy > report.max_workgroup_count[1]) return Status(Code::kLimitExceeded, "matvec group: too many rows for one grid");
  p.groups_x = gx;
  return rec.dispatch(*pipe, std::span<const vk::BufferView>(views), &p, sizeof(p), gx, static_cast<uint32_t>(gy));
}

Status checkVector(const char* op, const vk::BufferView& v, uint64_t floats, const char* what) {
  if (!v.valid() || v.size < floats * 4)
    return Status(Code::kOutOfRange, std::string(op) + ": " + what + " view of " + std::to_string(v.size) +
                                         " bytes, need " + std::to_string(floats * 4));
  return Status::ok();
}

Status checkNorm(const char* op, const FusedNorm* norm, uint32_t cols) {
  if (!norm) return Status::ok();
  if (!(norm->eps >= 0.0f)) return Status(Code::kInvalidArgument, std::string(op) + ": norm eps must be >= 0");
  TF_RETURN_IF_ERROR(checkVector(op, norm->weight, cols, "norm weight"));
  return checkVector(op, norm->scratch, cols, "norm scratch");
}

// The fallback's norm: x normalised into the scratch, which then stands for x.
Status normaliseApart(vk::Recorder& rec, const FusedNorm* norm, uint32_t cols, vk::BufferView& x) {
  if (!norm) return Status::ok();
  TF_RETURN_IF_ERROR(recordRmsNorm(rec, x, norm->weight, norm->scratch, 1, cols, norm->eps));
  rec.barrier();  // the normalised x, for the products
  x = norm->scratch;
  return Status::ok();
}

}  // namespace

Status recordMatVecGroup(vk::Recorder& rec, std::span<const QuantMatrix> parts, const vk::BufferView& x,
                         std::span<const vk::BufferView> ys, const FusedNorm* norm) {
  constexpr const char* kOp = "recordMatVecGroup";
  if (rec.device() == nullptr) return Status(Code::kInvalidArgument, "recordMatVecGroup: recorder has no device");
  if (parts.empty() || parts.size() > 3 || ys.size() != parts.size())
    return Status(Code::kInvalidArgument, "recordMatVecGroup: 1 to 3 matrices, one output each");
  TF_ASSIGN_OR_RETURN(Span span, spanOf(*rec.device(), parts, kOp));
  TF_RETURN_IF_ERROR(checkNorm(kOp, norm, parts.front().cols));
  if (!span.fusable) {
    vk::BufferView input = x;
    TF_RETURN_IF_ERROR(normaliseApart(rec, norm, parts.front().cols, input));
    for (size_t m = 0; m < parts.size(); ++m) TF_RETURN_IF_ERROR(recordMatVec(rec, parts[m], input, ys[m], 1));
    return Status::ok();
  }
  TF_RETURN_IF_ERROR(checkVector(kOp, x, parts.front().cols, "x"));
  std::vector<vk::BufferView> views = {span.view, x.sub(0, uint64_t(parts.front().cols) * 4)};
  for (size_t m = 0; m < 3; ++m) {
    // Unused outputs bind the first one again; the shader never writes them.
    const size_t i = m < parts.size() ? m : 0;
    TF_RETURN_IF_ERROR(checkVector(kOp, ys[i], parts[i].rows, "output"));
    views.push_back(ys[i].sub(0, parts[i].rows * 4));
  }
  return dispatchGroup(rec, "group", parts.front(), span, span.rows, std::move(views), norm);
}

Status recordMatVecGlu(vk::Recorder& rec, const QuantMatrix& gate, const QuantMatrix& up, const vk::BufferView& x,
                       const vk::BufferView& y, const vk::BufferView& scratch, const FusedNorm* norm) {
  constexpr const char* kOp = "recordMatVecGlu";
  if (rec.device() == nullptr) return Status(Code::kInvalidArgument, "recordMatVecGlu: recorder has no device");
  if (gate.rows != up.rows || gate.cols != up.cols)
    return Status(Code::kInvalidArgument, "recordMatVecGlu: gate and up must have the same shape");
  const QuantMatrix parts[2] = {gate, up};
  TF_ASSIGN_OR_RETURN(Span span, spanOf(*rec.device(), parts, kOp));
  TF_RETURN_IF_ERROR(checkVector(kOp, y, gate.rows, "output"));
  TF_RETURN_IF_ERROR(checkNorm(kOp, norm, gate.cols));
  if (!span.fusable) {
    TF_RETURN_IF_ERROR(checkVector(kOp, scratch, gate.rows, "scratch"));
    vk::BufferView input = x;
    TF_RETURN_IF_ERROR(normaliseApart(rec, norm, gate.cols, input));
    TF_RETURN_IF_ERROR(recordMatVec(rec, gate, input, y, 1));
    TF_RETURN_IF_ERROR(recordMatVec(rec, up, input, scratch, 1));
    rec.barrier();  // gate and up products, for the SwiGLU
    return recordSiluMul(rec, y, scratch, y, gate.rows);
  }
  TF_RETURN_IF_ERROR(checkVector(kOp, x, gate.cols, "x"));
  return dispatchGroup(rec, "glu", gate, span, static_cast<uint32_t>(gate.rows),
                       {span.view, x.sub(0, uint64_t(gate.cols) * 4), y.sub(0, gate.rows * 4)}, norm);
}

}  // namespace tokenfab::ops
