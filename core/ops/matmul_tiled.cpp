// The prefill product (recordMatMul) on two paths: register-blocked f32 tiles on any device
// (shaders/matmul.comp) and tensor cores through VK_NV_cooperative_matrix (matmul_coop.comp).
// Tile sizes come from the device limits and reach the shaders as specialization constants;
// TOKENFAB_MATMUL overrides them for tuning on a real GPU without a rebuild.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ops/matmul_internal.h"
#include "tokenfab/ops_matmul.h"
#include "tokenfab/shader_abi_matmul.h"

namespace tokenfab::ops {

namespace {

// matmul_coop.comp stages 32 columns per step, rows padded to 40 halves (5 x 16 bytes).
constexpr uint32_t kCoopTileK = 32;
constexpr uint64_t kCoopRowBytes = 80;

bool isMultiple(uint32_t a, uint32_t b) { return b != 0 && a % b == 0; }

uint64_t scalarSharedBytes(const detail::MatMulGeometry& g) {
  return uint64_t(g.tileR() + g.tileN()) * g.tile_k * 4;
}

uint64_t coopSharedBytes(const detail::CoopGeometry& g) { return 2 * uint64_t(g.tileR() + g.tileN()) * kCoopRowBytes; }

}  // namespace

const char* matMulPathName(MatMulPath path) {
  switch (path) {
    case MatMulPath::kAuto: return "auto";
    case MatMulPath::kScalar: return "scalar";
    case MatMulPath::kCoopMatrix: return "coopmat";
  }
  return "?";
}

// Cooperative matrices are opt-in: their f16 inputs keep the model references' bounds, but not
// the session test's agreement of prefill and token-by-token logits to 1e-3 (measured 0.010 and
// 0.015 with TOKENFAB_MATMUL=f16in=1; docs/benchmarks.md).
MatMulPath matMulPath(const vk::Device& device, uint32_t /*batch*/, MatMulPath requested) {
  if (requested != MatMulPath::kAuto) return requested;
  const char* env = std::getenv("TOKENFAB_COOPMAT");
  const bool wanted = env && std::strcmp(env, "1") == 0;
  return wanted && device.features().cooperative_matrix ? MatMulPath::kCoopMatrix : MatMulPath::kScalar;
}

std::vector<uint32_t> detail::MatMulGeometry::spec() const {
  // ids: workgroup, threads r, threads n, tile k, bytes-to-float (matvec_unit.glsl), rm, rn, f16
  return {threads_r * threads_n, threads_r, threads_n, tile_k, 1, rm, rn, round_f16};
}

detail::MatMulGeometry detail::matMulGeometry(const vk::Device& device) {
  const auto& report = device.report();
  MatMulGeometry g;
  // 16 x 16 invocations where the device allows 256, else 8 x 16 (Vulkan's minimum is 128);
  // 8 x 4 outputs each: two vec4 weight reads and one activation read from shared memory per 32
  // multiply-adds.
  g.threads_r = report.max_workgroup_invocations >= 256 ? 16 : 8;
  bool k_given = false;
  for (const auto& [key, value] : envOverrides("TOKENFAB_MATMUL")) {
    if (key == "f16in") g.round_f16 = value != 0 ? 1 : 0;
    if (value == 0) continue;
    if (key == "tr") g.threads_r = value;
    if (key == "tn") g.threads_n = value;
    if (key == "rm") g.rm = std::max<uint32_t>(4, value / 4 * 4);
    if (key == "rn") g.rn = std::max<uint32_t>(4, value / 4 * 4);
    if (key == "k") {
      g.tile_k = std::max<uint32_t>(16, value / 16 * 16);
      k_given = true;
    }
  }
  // The most columns per step (fewer barriers) whose two tiles fit the shared memory.
  if (!k_given) {
    g.tile_k = 64;
    while (g.tile_k > 16 && scalarSharedBytes(g) > report.max_compute_shared_memory) g.tile_k /= 2;
  }
  return g;
}

std::vector<uint32_t> detail::CoopGeometry::spec() const {
  // ids: workgroup, subgroups r, subgroups n, mats r, bytes-to-float, mats n, M, N, K
  return {workgroup(), subgroups_r, subgroups_n, mats_r, 1, mats_n, shape.m, shape.n, shape.k};
}

namespace {

// Tiles for g.shape from the defaults (a subgroup owns 32 rows x 64 batch rows), TOKENFAB_MATMUL
// and the device limits.
Status fitCoopTiles(const vk::DeviceReport& report, detail::CoopGeometry& g) {
  g.mats_r = std::max<uint32_t>(1, 32 / g.shape.m);
  g.mats_n = std::max<uint32_t>(1, 64 / g.shape.n);
  for (const auto& [key, value] : detail::envOverrides("TOKENFAB_MATMUL")) {
    if (value == 0) continue;
    if (key == "sgr") g.subgroups_r = value;
    if (key == "sgn") g.subgroups_n = value;
    if (key == "mr") g.mats_r = value;
    if (key == "mn") g.mats_n = value;
  }
  // Fewer subgroups along the batch while the two staging buffers do not fit.
  while (g.subgroups_n > 1 && coopSharedBytes(g) > report.max_compute_shared_memory) g.subgroups_n /= 2;
  const uint64_t staging = uint64_t(g.subgroups_r) * g.subgroups_n * g.shape.m * g.shape.n * 4;
  if (coopSharedBytes(g) > report.max_compute_shared_memory || staging > coopSharedBytes(g) ||
      g.workgroup() > report.max_workgroup_invocations) {
    return Status(Code::kLimitExceeded, "cooperative matrix tiles exceed the device's shared memory or invocations");
  }
  return Status::ok();
}

}  // namespace

Result<detail::CoopGeometry> detail::coopGeometry(const vk::Device& device) {
  const auto& report = device.report();
  if (!device.features().cooperative_matrix) {
    return Status(Code::kUnsupported, "device has no cooperative matrix (VK_NV_cooperative_matrix, f16)");
  }
  CoopGeometry g;
  g.subgroup = report.subgroup_size ? report.subgroup_size : 32;
  // The first shape, in the device's order of preference, that the shader takes: K divides the
  // 32 staged columns (and loads whole 16-byte words), M stores whole 16-byte columns, and a
  // subgroup's 32 rows x 64 batch rows are whole matrices.
  bool found = false;
  for (const vk::CoopMatrixShape& s : report.coop_matrix_shapes) {
    if (isMultiple(kCoopTileK, s.k) && isMultiple(s.k, 8) && isMultiple(32, s.m) && isMultiple(s.m, 4) &&
        isMultiple(64, s.n)) {
      g.shape = s;
      found = true;
      break;
    }
  }
  if (!found) return Status(Code::kUnsupported, "no cooperative matrix shape the shader takes (f16 x f16 + f32)");
  TF_RETURN_IF_ERROR(fitCoopTiles(report, g));
  return g;
}

namespace {

enum class Variant { kScalar, kCoopMatrix, kCoopEmulated };

Status recordTiled(vk::Recorder& rec, const QuantMatrix& w, const vk::BufferView& x, const vk::BufferView& y,
                   uint32_t batch, const MatMulLayout& layout, Variant variant) {
  vk::Device* device = rec.device();
  if (device == nullptr) return Status(Code::kInvalidArgument, "recordMatMul: recorder has no device");
  TF_ASSIGN_OR_RETURN(const detail::TypeInfo* info, detail::checkMatrix("recordMatMul", w));
  uint32_t x_stride = 0, y_stride = 0;
  TF_RETURN_IF_ERROR(detail::checkActivations("recordMatMul", w, x, y, batch, layout, &x_stride, &y_stride));
  const auto& report = device->report();

  vk::PipelineDesc desc;
  desc.bindings = 3;
  desc.push_bytes = sizeof(abi::MatMulParams);
  uint32_t tile_r = 0, tile_n = 0;
  if (variant == Variant::kScalar) {
    const detail::MatMulGeometry g = detail::matMulGeometry(*device);
    if (scalarSharedBytes(g) > report.max_compute_shared_memory ||
        g.threads_r * g.threads_n > report.max_workgroup_invocations) {
      return Status(Code::kLimitExceeded, "recordMatMul: tiles exceed maxComputeSharedMemorySize or invocations");
    }
    desc.shader = std::string("matmul_") + std::string(info->suffix);
    desc.spec = g.spec();
    tile_r = g.tileR();
    tile_n = g.tileN();
  } else {
    detail::CoopGeometry g;
    if (variant == Variant::kCoopMatrix) {
      auto found = detail::coopGeometry(*device);
      if (!found.isOk()) return Status(found.status().code(), "recordMatMul: " + found.status().message());
      g = *found;
    } else {
      // The emulation (matmul_coop_ops.glsl) holds at most 32 elements of a 16 x 16 matrix a lane.
      g.shape = {16, 16, 16};
      g.subgroup = report.subgroup_size;
      if (!report.subgroup_in_compute || g.subgroup < 8)
        return Status(Code::kUnsupported, "recordMatMul: the emulation needs subgroups of 8 or more in compute");
      TF_RETURN_IF_ERROR(fitCoopTiles(report, g));
    }
    desc.shader =
        std::string(variant == Variant::kCoopMatrix ? "matmul_coop_" : "matmul_coop_emu_") + std::string(info->suffix);
    desc.spec = g.spec();
    if (variant == Variant::kCoopEmulated) desc.spec.push_back(g.subgroup);
    tile_r = g.tileR();
    tile_n = g.tileN();
  }
  TF_ASSIGN_OR_RETURN(const vk::Pipeline* pipe, device->pipeline(desc));

  TF_ASSIGN_OR_RETURN(auto pieces, detail::weightPieces(*device, w, layout.max_binding_bytes));
  TF_ASSIGN_OR_RETURN(auto chunks,
                      detail::batchChunks(*device, w, x, y, batch, x_stride, y_stride, layout.max_binding_bytes));
  for (const auto& piece : pieces) {
    for (const auto& chunk : chunks) {
      abi::MatMulParams p = detail::matMulParams(w, piece, chunk, x_stride, y_stride, layout.accumulate);
      const uint64_t gx = (piece.rows + tile_r - 1) / tile_r;
      const uint64_t gy = (uint64_t(chunk.count) + tile_n - 1) / tile_n;
      if (gx > report.max_workgroup_count[0] || gy > report.max_workgroup_count[1]) {
        return Status(Code::kLimitExceeded, "recordMatMul: weight rows or batch too large for one dispatch grid");
      }
      p.groups_x = static_cast<uint32_t>(gx);
      TF_RETURN_IF_ERROR(rec.dispatch(*pipe, {piece.view, chunk.x, chunk.y}, p, static_cast<uint32_t>(gx),
                                      static_cast<uint32_t>(gy)));
    }
  }
  return Status::ok();
}

}  // namespace

Status recordMatMul(vk::Recorder& rec, const QuantMatrix& w, const vk::BufferView& x, const vk::BufferView& y,
                    uint32_t batch, MatMulLayout layout) {
  if (rec.device() == nullptr) return Status(Code::kInvalidArgument, "recordMatMul: recorder has no device");
  const bool coop = matMulPath(*rec.device(), batch, layout.path) == MatMulPath::kCoopMatrix;
  return recordTiled(rec, w, x, y, batch, layout, coop ? Variant::kCoopMatrix : Variant::kScalar);
}

Status detail::recordMatMulCoopEmulated(vk::Recorder& rec, const QuantMatrix& w, const vk::BufferView& x,
                                        const vk::BufferView& y, uint32_t batch, MatMulLayout layout) {
  return recordTiled(rec, w, x, y, batch, layout, Variant::kCoopEmulated);
}

}  // namespace tokenfab::ops
