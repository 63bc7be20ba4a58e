// Recorders for the quantized-weight shaders (shaders/matvec*.comp, get_rows.comp): variant choice
// from the weight type and device features, workgroup sizes from the device limits, and row
// pieces for weights larger than one binding. The prefill products are in matmul_tiled.cpp.
#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "ops/matmul_internal.h"
#include "tokenfab/ops_matmul.h"
#include "tokenfab/shader_abi_matmul.h"

namespace tokenfab::ops {

using gguf::TensorType;

namespace detail {

const TypeInfo* typeInfo(TensorType type) {
  const gguf::TypeTraits* traits = gguf::typeTraits(type);
  return traits != nullptr && traits->gpu_decode ? traits : nullptr;
}

}  // namespace detail

namespace {

using detail::TypeInfo;
using detail::typeInfo;

std::string typeLabel(TensorType type) {
  return std::string(gguf::typeName(type)) + " (" + std::to_string(static_cast<uint32_t>(type)) + ")";
}

}  // namespace

namespace detail {

Result<const TypeInfo*> checkMatrix(const char* op, const QuantMatrix& w) {
  const TypeInfo* info = typeInfo(w.type);
  if (info == nullptr) {
    return Status(Code::kUnsupported, std::string(op) + ": weight type " + typeLabel(w.type) +
                                          " has no GPU decoder");
  }
  if (w.rows == 0 || w.cols == 0 || w.cols % info->block_size != 0) {
    return Status(Code::kInvalidArgument,
                  std::string(op) + ": bad weight shape " + std::to_string(w.rows) + " x " +
                      std::to_string(w.cols) + " (cols must be a positive multiple of " +
                      std::to_string(info->block_size) + ")");
  }
  if (w.rows >= (1ull << 32)) {
    return Status(Code::kLimitExceeded, std::string(op) + ": more than 2^32 weight rows");
  }
  if (!w.view.valid() || w.view.size < gpuMatrixBytes(w.type, w.rows, w.cols)) {
    return Status(Code::kOutOfRange,
                  std::string(op) + ": weight view of " + std::to_string(w.view.size) +
                      " bytes, need " + std::to_string(gpuMatrixBytes(w.type, w.rows, w.cols)));
  }
  return info;
}

}  // namespace detail

using detail::batchChunks;
using detail::bindingLimit;
using detail::checkActivations;
using detail::checkMatrix;
using detail::matMulParams;
using detail::powerOfTwoAtMost;
using detail::weightPieces;

// The weight rows split into bindings no larger than the limit (GPU rows are whole 16-byte
// pieces, so every piece is too).
Result<std::vector<vk::BufferPiece>> detail::weightPieces(const vk::Device& device, const QuantMatrix& w,
                                                  uint64_t max_binding_bytes) {
  const uint64_t row_bytes = gpuRowBytes(w.type, w.cols);
  const auto& report = device.report();
  const uint64_t limit = bindingLimit(device, max_binding_bytes);
  if (limit < 8) return Status(Code::kLimitExceeded, "weight binding limit too small");
  TF_ASSIGN_OR_RETURN(auto pieces, vk::splitRows(w.view, row_bytes, w.rows, limit,
                                                 std::max<uint64_t>(report.min_storage_buffer_offset_alignment, 16)));
  for (auto& piece : pieces) {
    if (piece.rows * row_bytes >= (1ull << 32)) {
      return Status(Code::kLimitExceeded, "weight piece exceeds 4 GiB of byte addresses");
    }
  }
  return pieces;
}

Status detail::checkActivations(const char* op, const QuantMatrix& w, const vk::BufferView& x,
                        const vk::BufferView& y, uint32_t batch, const MatMulLayout& layout,
                        uint32_t* x_stride, uint32_t* y_stride) {
  if (batch == 0) return Status(Code::kInvalidArgument, std::string(op) + ": batch of 0");
  *x_stride = layout.x_stride ? layout.x_stride : w.cols;
  *y_stride = layout.y_stride ? layout.y_stride : static_cast<uint32_t>(w.rows);
  if (*x_stride < w.cols || *y_stride < w.rows) {
    return Status(Code::kInvalidArgument, std::string(op) + ": stride smaller than a row");
  }
  const uint64_t x_need = (uint64_t(batch - 1) * *x_stride + w.cols) * 4;
  const uint64_t y_need = (uint64_t(batch - 1) * *y_stride + w.rows) * 4;
  if (x.size < x_need || y.size < y_need) {
    return Status(Code::kOutOfRange, std::string(op) + ": activation or output view too small (x " +
                                         std::to_string(x.size) + " < " + std::to_string(x_need) +
                                         " or y " + std::to_string(y.size) + " < " +
                                         std::to_string(y_need) + " bytes)");
  }
  if (y_need / 4 >= (1ull << 32) || x_need / 4 >= (1ull << 32)) {
    return Status(Code::kLimitExceeded, std::string(op) + ": more than 2^32 elements");
  }
  return Status::ok();
}

uint64_t detail::bindingLimit(const vk::Device& device, uint64_t max_binding_bytes) {
  uint64_t limit = device.report().max_storage_buffer_range;
  if (max_binding_bytes != 0) limit = std::min(limit, max_binding_bytes);
  return limit;
}

namespace {

vk::BufferView alignedWindow(const vk::BufferView& v, uint64_t byte_begin, uint64_t bytes, uint64_t align,
                             uint32_t* elem_offset) {
  const uint64_t begin = v.offset + byte_begin;
  const uint64_t start = begin / align * align;  // >= v.offset: v.offset is aligned
  *elem_offset = static_cast<uint32_t>((begin - start) / 4);
  return vk::BufferView{v.buffer, start, begin - start + bytes};
}

}  // namespace

// Activations and outputs that fit one binding are bound whole; larger ones (long prefill
// batches times a large vocabulary) are split into runs of activation rows.
Result<std::vector<detail::BatchChunk>> detail::batchChunks(const vk::Device& device, const QuantMatrix& w,
                                            const vk::BufferView& x, const vk::BufferView& y, uint32_t batch,
                                            uint32_t x_stride, uint32_t y_stride, uint64_t max_binding_bytes) {
  const uint64_t limit = bindingLimit(device, max_binding_bytes);
  const uint64_t x_need = (uint64_t(batch - 1) * x_stride + w.cols) * 4;
  const uint64_t y_need = (uint64_t(batch - 1) * y_stride + w.rows) * 4;
  std::vector<BatchChunk> chunks;
  if (x_need <= limit && y_need <= limit) {
    chunks.push_back({x.sub(0, x_need), y.sub(0, y_need), 0, batch, 0, 0});
    return chunks;
  }
  const uint64_t align = std::max<uint64_t>(4, device.report().min_storage_buffer_offset_alignment);
  // Rows per chunk: the most whose windows (plus the alignment slack) fit the limit.
  const auto fit = [&](uint64_t stride, uint64_t row) -> uint64_t {
    if (row * 4 + align > limit) return 0;
    return (limit - align - row * 4) / (stride * 4) + 1;
  };
  const uint64_t per_chunk = std::min(fit(x_stride, w.cols), fit(y_stride, w.rows));
  if (per_chunk == 0) {
    return Status(Code::kLimitExceeded, "one activation or output row exceeds the binding limit " +
                                            std::to_string(limit));
  }
  for (uint64_t first = 0; first < batch; first += per_chunk) {
    BatchChunk c;
    c.first = static_cast<uint32_t>(first);
    c.count = static_cast<uint32_t>(std::min<uint64_t>(per_chunk, batch - first));
    c.x = alignedWindow(x, first * x_stride * 4, (uint64_t(c.count - 1) * x_stride + w.cols) * 4, align, &c.x_offset);
    c.y = alignedWindow(y, first * y_stride * 4, (uint64_t(c.count - 1) * y_stride + w.rows) * 4, align, &c.y_offset);
    chunks.push_back(c);
  }
  return chunks;
}

uint32_t detail::powerOfTwoAtMost(uint32_t n) {
  uint32_t p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}

std::vector<std::pair<std::string, uint32_t>> detail::envOverrides(const char* name) {
  std::vector<std::pair<std::string, uint32_t>> out;
  const char* env = std::getenv(name);
  if (env == nullptr) return out;
  const std::string spec(env);
  size_t pos = 0;
  while (pos < spec.size()) {
    const size_t end = std::min(spec.find(',', pos), spec.size());
    const std::string item = spec.substr(pos, end - pos);
    pos = end + 1;
    const size_t eq = item.find('=');
    if (eq == std::string::npos) continue;
    const unsigned long value = std::strtoul(item.c_str() + eq + 1, nullptr, 10);
    out.emplace_back(item.substr(0, eq), static_cast<uint32_t>(std::min<unsigned long>(value, 1u << 20)));
  }
  return out;
}

namespace {

// TOKENFAB_MATVEC: comma-separated key=value pairs overriding the decode geometry.
void applyMatVecOverrides(detail::MatVecGeometry& g) {
  for (const auto& [key, value] : detail::envOverrides("TOKENFAB_MATVEC")) {
    if (value == 0 && key != "b2f") continue;
    if (key == "wg") g.workgroup = value;
    if (key == "rows") g.rows_per_subgroup = std::min<uint32_t>(value, 4);
    if (key == "chunk") g.x_chunk_max = std::max<uint32_t>(32, value / 32 * 32);
    if (key == "b2f") g.bits_to_float = value != 0 ? 1 : 0;
  }
}

}  // namespace

detail::MatVecGeometry detail::matVecGeometry(const vk::Device& device) {
  const auto& report = device.report();
  MatVecGeometry g;
  const uint32_t subgroup = report.subgroup_size ? report.subgroup_size : 32;
  g.use_subgroup = device.features().subgroup_arithmetic;
  if (!g.use_subgroup) {
    // The shared-memory fallback (matvec.comp): a power of two that reduces by halving.
    g.workgroup = powerOfTwoAtMost(std::min<uint32_t>(std::max<uint32_t>(64, subgroup), report.max_workgroup_invocations));
    g.rows_per_group = TF_MATVEC_ROWS;
    return g;
  }
  // Four subgroups of 32 (two of 64) per workgroup: enough to share one staging of x, small
  // enough that many workgroups fit a multiprocessor.
  g.workgroup = std::max<uint32_t>(128, subgroup);
  applyMatVecOverrides(g);
  g.workgroup = std::clamp<uint32_t>(g.workgroup / subgroup * subgroup, subgroup,
                                     std::max(subgroup, report.max_workgroup_invocations / subgroup * subgroup));
  // x in shared memory, leaving room for the norm partial sums (one float per invocation).
  const uint64_t shared = report.max_compute_shared_memory > 4ull * g.workgroup + 256
                              ? report.max_compute_shared_memory - 4ull * g.workgroup - 256 : 0;
  g.x_chunk_max = std::max<uint32_t>(32, std::min<uint32_t>(g.x_chunk_max, static_cast<uint32_t>(shared / 4 / 32 * 32)));
  // Rows are handed to whatever subgroups the shader really gets, so a different actual
  // subgroup size stays correct.
  g.rows_per_group = g.workgroup / subgroup * g.rows_per_subgroup;
  return g;
}

std::vector<uint32_t> detail::MatVecGeometry::spec(uint32_t cols) const {
  const uint32_t chunk = std::min<uint32_t>(x_chunk_max, (cols + 31) / 32 * 32);
  return {workgroup, rows_per_group, rows_per_subgroup, chunk, bits_to_float};
}

bool matMulSupports(gguf::TensorType type) { return typeInfo(type) != nullptr; }

uint64_t quantRowBytes(gguf::TensorType type, uint64_t cols) {
  const TypeInfo* info = typeInfo(type);
  if (info == nullptr || cols % info->block_size != 0) return 0;
  return cols / info->block_size * info->type_size;
}


// Push constants for one (weight row piece, activation batch chunk) dispatch; shared by the
// matvec and the tiled matmuls, which read the same layout.
abi::MatMulParams detail::matMulParams(const QuantMatrix& w, const vk::BufferPiece& piece, const BatchChunk& chunk,
                                       uint32_t x_stride, uint32_t y_stride, bool accumulate) {
  abi::MatMulParams p{};
  p.rows = static_cast<uint32_t>(piece.rows);
  p.cols = w.cols;
  p.batch = chunk.count;
  p.row_bytes = static_cast<uint32_t>(gpuRowBytes(w.type, w.cols));
  p.x_offset = chunk.x_offset;
  p.x_stride = x_stride;
  p.y_offset = chunk.y_offset;
  p.y_stride = y_stride;
  p.row_offset = static_cast<uint32_t>(piece.first_row);
  p.accumulate = accumulate ? 1u : 0u;
  return p;
}

Status recordMatVec(vk::Recorder& rec, const QuantMatrix& w, const vk::BufferView& x,
                    const vk::BufferView& y, uint32_t batch, MatMulLayout layout) {
  vk::Device* device = rec.device();
  if (device == nullptr) return Status(Code::kInvalidArgument, "recordMatVec: recorder has no device");
  TF_ASSIGN_OR_RETURN(const TypeInfo* info, checkMatrix("recordMatVec", w));
  uint32_t x_stride = 0, y_stride = 0;
  TF_RETURN_IF_ERROR(checkActivations("recordMatVec", w, x, y, batch, layout, &x_stride, &y_stride));
  const auto& report = device->report();
  if (batch > report.max_workgroup_count[2]) {
    return Status(Code::kLimitExceeded, "recordMatVec: batch exceeds maxComputeWorkGroupCount[2]");
  }

  const detail::MatVecGeometry geo = detail::matVecGeometry(*device);
  const bool use_subgroup = geo.use_subgroup;
  const uint32_t workgroup = geo.workgroup, rows_per_group = geo.rows_per_group;
  vk::PipelineDesc desc;
  desc.shader = std::string("matvec_") + std::string(info->suffix) + (use_subgroup ? "" : "_nosg");
  desc.bindings = 3;
  desc.push_bytes = sizeof(abi::MatMulParams);
  desc.spec = use_subgroup ? geo.spec(w.cols) : std::vector<uint32_t>{workgroup};
  TF_ASSIGN_OR_RETURN(const vk::Pipeline* pipe, device->pipeline(desc));

  TF_ASSIGN_OR_RETURN(auto pieces, weightPieces(*device, w, layout.max_binding_bytes));
  TF_ASSIGN_OR_RETURN(auto chunks, batchChunks(*device, w, x, y, batch, x_stride, y_stride, layout.max_binding_bytes));
  for (const auto& piece : pieces) {
    for (const auto& chunk : chunks) {
      abi::MatMulParams p = matMulParams(w, piece, chunk, x_stride, y_stride, layout.accumulate);
      const uint64_t groups = (piece.rows + rows_per_group - 1) / rows_per_group;
      const uint32_t gx = static_cast<uint32_t>(std::min<uint64_t>(groups, report.max_workgroup_count[0]));
      const uint64_t gy = (groups + gx - 1) / gx;
      if (gy > report.max_workgroup_count[1]) {
        return Status(Code::kLimitExceeded, "recordMatVec: too many weight rows for one dispatch grid");
      }
      p.groups_x = gx;
      TF_RETURN_IF_ERROR(rec.dispatch(*pipe, {piece.view, chunk.x, chunk.y}, p, gx, static_cast<uint32_t>(gy), chunk.count));
    }
  }
  return Status::ok();
}

Status recordGetRows(vk::Recorder& rec, const QuantMatrix& w, const vk::BufferView& ids,
                     const vk::BufferView& out, uint32_t n_ids, uint32_t out_stride,
                     uint64_t max_binding_bytes) {
  vk::Device* device = rec.device();
  if (device == nullptr) return Status(Code::kInvalidArgument, "recordGetRows: recorder has no device");
  TF_ASSIGN_OR_RETURN(const TypeInfo* info, checkMatrix("recordGetRows", w));
  if (n_ids == 0) return Status::ok();
  const uint32_t stride = out_stride ? out_stride : w.cols;
  if (stride < w.cols) return Status(Code::kInvalidArgument, "recordGetRows: stride smaller than a row");
  if (ids.size < uint64_t(n_ids) * 4 || out.size < (uint64_t(n_ids - 1) * stride + w.cols) * 4) {
    return Status(Code::kOutOfRange, "recordGetRows: ids or output view too small");
  }
  const auto& report = device->report();
  const uint32_t workgroup = powerOfTwoAtMost(std::min<uint32_t>(64, report.max_workgroup_invocations));
  vk::PipelineDesc desc;
  desc.shader = std::string("get_rows_") + std::string(info->suffix);
  desc.bindings = 3;
  desc.push_bytes = sizeof(abi::GetRowsParams);
  desc.spec = {workgroup};
  TF_ASSIGN_OR_RETURN(const vk::Pipeline* pipe, device->pipeline(desc));
  const uint32_t gx = (w.cols + workgroup - 1) / workgroup;
  if (gx > report.max_workgroup_count[0]) {
    return Status(Code::kLimitExceeded, "recordGetRows: row too long for one dispatch grid");
  }
  const uint32_t ids_per_dispatch = std::max<uint32_t>(1, report.max_workgroup_count[1]);

  TF_ASSIGN_OR_RETURN(auto pieces, weightPieces(*device, w, max_binding_bytes));
  for (const auto& piece : pieces) {
    for (uint32_t first = 0; first < n_ids; first += ids_per_dispatch) {
      abi::GetRowsParams p{};
      p.rows = static_cast<uint32_t>(piece.rows);
      p.cols = w.cols;
      p.n_ids = std::min(ids_per_dispatch, n_ids - first);
      p.row_bytes = static_cast<uint32_t>(gpuRowBytes(w.type, w.cols));
      p.first_row = static_cast<uint32_t>(piece.first_row);
      p.total_rows = static_cast<uint32_t>(w.rows);
      p.ids_offset = first;
      p.out_offset = first * stride;
      p.out_stride = stride;
      TF_RETURN_IF_ERROR(rec.dispatch(*pipe, {piece.view, ids, out}, p, gx, p.n_ids));
    }
  }
  return Status::ok();
}

}  // namespace tokenfab::ops
