// tokenfab-cli bench-matmul [--type Q4_K,...] [--rows N] [--cols N] [--batch 1,512] [--iters N]
//                          [--path auto,scalar,coopmat]
// Random weights in each type's block layout, `iters` dispatches between two timestamps; batches
// above 1 once per prefill path asked for (coopmat: where the device has cooperative matrices).
#include "bench_matmul.h"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "cli.h"
#include "tokenfab/op_cases.h"
#include "tokenfab/ops.h"
#include "tokenfab/ops_matmul.h"

namespace tokenfab::cli {
namespace {

using gguf::TensorType;

// Every weight type the GPU decodes, in the type table's (id) order.
std::vector<TensorType> gpuTypes() {
  std::vector<TensorType> types;
  for (const gguf::TypeTraits& t : gguf::typeTable())
    if (t.gpu_decode) types.push_back(t.type);
  return types;
}

}  // namespace

// Each product is a case of the op-case table (lab::matMulCase) timed by lab::time: random
// weights in the type's block layout, `iterations` dispatches between two timestamps.
Result<std::vector<MatMulBenchRow>> benchMatMul(vk::Device& device, const MatMulBenchOptions& options) {
  std::vector<MatMulBenchRow> out;
  const std::vector<TensorType> types = options.types.empty() ? gpuTypes() : options.types;
  for (TensorType type : types) {
    if (!ops::matMulSupports(type))
      return Status(Code::kUnsupported, "bench-matmul: no GPU decoder for " + std::string(gguf::typeName(type)));
    for (uint32_t batch : options.batches) {
      // matvec has one path; each requested path of the tiled product is timed on its own.
      for (size_t p = 0; p < (batch == 1 ? 1 : options.paths.size()); ++p) {
        const lab::OpCase c = lab::matMulCase(type, batch, options.rows, options.cols, options.paths[p]);
        TF_ASSIGN_OR_RETURN(lab::Timing t, lab::time(device, c, options.iterations));
        const uint32_t bs = gguf::typeTraits(type)->block_size;
        out.push_back(MatMulBenchRow{type, batch == 1 ? "matvec" : "matmul", batch == 1 ? "-" : t.path, options.rows,
                                     (options.cols + bs - 1) / bs * bs, batch, t.us, t.gbps, t.gflops});
      }
    }
  }
  return out;
}

std::string formatMatMulBench(const std::vector<MatMulBenchRow>& rows, double stream_gbps) {
  std::ostringstream s;
  char line[200];
  std::snprintf(line, sizeof line, "%-7s %-7s %-8s %6s %6s %6s %12s %10s %10s %10s\n", "type", "op", "path", "rows",
                "cols", "batch", "us/op", "GB/s", "of stream", "GFLOP/s");
  s << line;
  for (const auto& r : rows) {
    char frac[32] = "-";
    if (stream_gbps > 0) std::snprintf(frac, sizeof frac, "%.1f%%", 100.0 * r.weight_gbps / stream_gbps);
    std::snprintf(line, sizeof line, "%-7s %-7s %-8s %6u %6u %6u %12.1f %10.1f %10s %10.1f\n",
                  std::string(gguf::typeName(r.type)).c_str(), r.op.c_str(), r.path.c_str(), r.rows, r.cols, r.batch,
                  r.us_per_op, r.weight_gbps, frac, r.gflops);
    s << line;
  }
  return s.str();
}

namespace {

constexpr const char* kUsage =
    "usage: tokenfab-cli bench-matmul [--type Q4_K,Q8_0,...] [--rows 4096] [--cols 4096] [--batch 1,512]\n"
    "                                 [--iters 20] [--path auto,scalar,coopmat] [--device NAME]\n"
    "  --path   the prefill products' units, each timed: auto (as the engine chooses), scalar (f32 tiles),\n"
    "           coopmat (tensor cores, VK_NV_cooperative_matrix, f16 inputs; fails where absent)\n";

int runBenchMatMul(std::span<const std::string> argv) {
  Args args(argv);
  if (args.flag("--help", "-h")) {
    std::cout << kUsage;
    return kExitOk;
  }
  MatMulBenchOptions options;
  if (auto t = args.value("--type")) {
    for (const auto& name : splitList(*t)) {
      bool found = false;
      for (TensorType type : gpuTypes()) {
        std::string tn(gguf::typeName(type));
        if (tn.size() == name.size() &&
            std::equal(tn.begin(), tn.end(), name.begin(), [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
          options.types.push_back(type);
          found = true;
        }
      }
      if (!found) return usageError("bench-matmul: unknown or unsupported type '" + name + "'");
    }
  }
  for (auto [flag, dst] : {std::pair{"--rows", &options.rows}, std::pair{"--cols", &options.cols},
                           std::pair{"--iters", &options.iterations}}) {
    if (auto v = args.value(flag)) {
      if (!parseU32(*v, dst)) return usageError(std::string("bench-matmul: ") + flag + " needs a positive number");
    }
  }
  if (auto p = args.value("--path")) {
    options.paths.clear();
    for (const auto& name : splitList(*p)) {
      if (name == "auto") options.paths.push_back(ops::MatMulPath::kAuto);
      else if (name == "scalar") options.paths.push_back(ops::MatMulPath::kScalar);
      else if (name == "coopmat" || name == "coop") options.paths.push_back(ops::MatMulPath::kCoopMatrix);
      else return usageError("bench-matmul: --path takes auto, scalar, coopmat (comma-separated)");
    }
    if (options.paths.empty()) return usageError("bench-matmul: --path takes auto, scalar, coopmat");
  }
  if (auto b = args.value("--batch")) {
    options.batches.clear();
    for (const auto& part : splitList(*b)) {
      uint32_t v = 0;
      if (!parseU32(part, &v)) return usageError("bench-matmul: --batch needs positive numbers");
      options.batches.push_back(v);
    }
    if (options.batches.empty()) return usageError("bench-matmul: --batch needs positive numbers");
  }
  vk::DeviceOptions dev_options;
  if (auto d = args.value("--device")) dev_options.setChoice(*d);
  if (!args.unknownOptions().empty()) return usageError("bench-matmul: unknown option " + args.unknownOptions().front());
  if (!args.positionals().empty()) return usageError("bench-matmul: unexpected argument " + args.positionals().front());
  auto device = vk::Device::create(dev_options);
  if (!device.isOk()) return failure(device.status().toString());
  std::cout << "device: " << (*device)->report().name << "\n";
  // Weight GB/s of each product against the streaming bandwidth a plain kernel reaches.
  auto stream = ops::measureStreamBandwidth(**device);
  const double stream_gbps = stream.isOk() ? stream->gbps : 0.0;
  if (stream.isOk()) std::cout << "streaming bandwidth: " << stream_gbps << " GB/s (stream_read, GPU timestamps)\n";
  auto rows = benchMatMul(**device, options);
  if (!rows.isOk()) return failure(rows.status().toString());
  std::cout << formatMatMulBench(*rows, stream_gbps);
  return kExitOk;
}

}  // namespace

TF_CLI_COMMAND("bench-matmul", "quantized matvec/matmul throughput per weight type (GB/s, GFLOP/s)", runBenchMatMul);

}  // namespace tokenfab::cli
