// tokenfab-cli bench-ops [--device X] [--iters N] [--scale S] [--matmul] [--json]
// GPU time of each non-matmul op (timestamps around N back-to-back dispatches) as GB/s of the
// bytes it must move, next to the device's streaming bandwidth (ops::measureStreamBandwidth: a
// compute kernel over 512 MiB, GPU timestamps; the buffer copy is one of the rows). The rows are
// the op-case table (tokenfab/op_cases.h) timed at model size by lab::time. --matmul
// appends the quantized matvec/matmul rows (bench_matmul.h).
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench_matmul.h"
#include "cli.h"
#include "tokenfab/op_cases.h"
#include "tokenfab/ops.h"
#include "tokenfab/vk.h"

namespace tokenfab::cli {
namespace {

struct OpRow {
  std::string op;
  lab::Timing timing;
};

// Every case of the op-case table except the quantized products (--matmul adds those, as
// bench-matmul times them) at model size; a path the device lacks is left out.
Result<std::vector<OpRow>> benchOps(vk::Device& dev, uint32_t iters, double scale) {
  std::vector<OpRow> rows;
  for (const lab::OpCase& c : lab::opCases()) {
    if (c.name.starts_with("matvec ") || c.name.starts_with("matmul ")) continue;
    // top-k sorts a whole vocabulary: a quarter of the runs.
    const uint32_t n = c.name.starts_with("top_k") ? std::max(1u, iters / 4) : iters;
    Result<lab::Timing> t = lab::time(dev, c, n, lab::CaseSize{lab::CaseSize::kBench, scale});
    if (!t.isOk() && t.status().code() == Code::kUnsupported) continue;
    TF_RETURN_IF_ERROR(t.status());
    rows.push_back({c.name, *t});
  }
  return rows;
}

int runBenchOps(std::span<const std::string> argv) {
  Args args(argv);
  if (args.flag("--help", "-h")) {
    std::printf("usage: tokenfab-cli bench-ops [--device INDEX|NAME] [--iters N] [--scale S] [--matmul] [--json]\n"
                "  GB/s of every op next to the measured streaming bandwidth (GPU timestamps).\n"
                "  --scale multiplies the tensor sizes (default 1: 4Mi elements); --matmul adds the\n"
                "  quantized matvec/matmul rows of bench-matmul.\n");
    return kExitOk;
  }
  const bool json = args.flag("--json");
  const bool matmul = args.flag("--matmul");
  const auto device_arg = args.value("--device");
  const auto iters_arg = args.value("--iters");
  const auto scale_arg = args.value("--scale");
  if (!args.unknownOptions().empty()) return usageError("bench-ops: unknown option " + args.unknownOptions()[0]);
  uint32_t iters = 10;
  double scale = 1.0;
  try {
    if (iters_arg) iters = static_cast<uint32_t>(std::stoul(*iters_arg));
    if (scale_arg) scale = std::stod(*scale_arg);
  } catch (...) {
    return usageError("bench-ops: --iters and --scale take numbers");
  }
  if (iters == 0 || iters > 1000 || !(scale > 0.0) || scale > 64) return usageError("bench-ops: --iters 1..1000, --scale (0, 64]");

  vk::DeviceOptions options;
  if (device_arg) options.setChoice(*device_arg);
  auto dev = vk::Device::create(options);
  if (!dev.isOk()) return failure(dev.status().toString());
  vk::Device& device = **dev;
  if (!device.report().timestamps) return failure("bench-ops: " + device.report().name + " has no timestamp queries");
  auto stream = ops::measureStreamBandwidth(device);
  if (!stream.isOk()) return failure(stream.status().toString());
  const double stream_gbps = stream->gbps;
  auto rows = benchOps(device, iters, scale);
  // With TOKENFAB_VALIDATION=1 every validation message is shown (and fails the command).
  const auto messages = device.validationMessages();
  for (const std::string& m : messages) std::fprintf(stderr, "validation: %s\n", m.c_str());
  if (!rows.isOk()) return failure(rows.status().toString());
  if (!messages.empty()) return failure("bench-ops: " + std::to_string(messages.size()) + " validation messages");

  if (json) {
    nlohmann::json out;
    out["device"] = device.report().name;
    out["stream_gbps"] = stream_gbps;
    if (const auto sheet = vk::datasheetFor(device.report().name)) out["physical_gbps"] = sheet->memory_gbps;
    out["ops"] = nlohmann::json::array();
    for (const OpRow& r : *rows)
      out["ops"].push_back({{"op", r.op}, {"shape", r.timing.shape}, {"us", r.timing.us}, {"gbps", r.timing.gbps},
                            {"fraction_of_stream", r.timing.gbps / stream_gbps}});
    if (matmul) {
      auto mm = benchMatMul(device, MatMulBenchOptions{});
      if (!mm.isOk()) return failure(mm.status().toString());
      out["matmul"] = nlohmann::json::array();
      for (const MatMulBenchRow& r : *mm)
        out["matmul"].push_back({{"type", std::string(gguf::typeName(r.type))}, {"op", r.op}, {"batch", r.batch},
                                 {"us", r.us_per_op}, {"gbps", r.weight_gbps}, {"gflops", r.gflops}});
    }
    std::printf("%s\n", out.dump(2).c_str());
    return kExitOk;
  }
  std::printf("device: %s\nstreaming bandwidth (stream_read over %.0f MiB, GPU timestamps): %.2f GB/s",
              device.report().name.c_str(), double(stream->bytes) / (1 << 20), stream_gbps);
  if (const auto sheet = vk::datasheetFor(device.report().name)) std::printf(" (datasheet %.0f GB/s)", sheet->memory_gbps);
  std::printf("\n\n%-28s %-20s %12s %10s %10s\n", "op", "shape", "us/op", "GB/s", "of stream");
  for (const OpRow& r : *rows)
    std::printf("%-28s %-20s %12.1f %10.2f %9.0f%%\n", r.op.c_str(), r.timing.shape.c_str(), r.timing.us, r.timing.gbps,
                100.0 * r.timing.gbps / stream_gbps);
  if (matmul) {
    auto mm = benchMatMul(device, MatMulBenchOptions{});
    if (!mm.isOk()) return failure(mm.status().toString());
    std::printf("\n%s", formatMatMulBench(*mm, stream_gbps).c_str());
  }
  return kExitOk;
}

}  // namespace

TF_CLI_COMMAND("bench-ops", "GB/s of every GPU op vs the measured streaming bandwidth [--matmul]", runBenchOps);

}  // namespace tokenfab::cli
