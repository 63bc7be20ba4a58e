// tokenfab-cli bench-ops [--device X] [--iters N] [--scale S] [--matmul] [--json]
// GPU time of each non-matmul op (timestamps around N back-to-back dispatches) as GB/s of the
// bytes it must move, next to the device's streaming bandwidth (ops::measureStreamBandwidth: a
// compute kernel over 512 MiB, GPU timestamps; the buffer copy is one of the rows). --matmul
// appends the quantized matvec/matmul rows (bench_matmul.h).
#include <algorithm>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench_matmul.h"
#include "cli.h"
#include "tokenfab/ops.h"
#include "tokenfab/vk.h"

namespace tokenfab::cli {
namespace {

struct OpRow {
  std::string op;
  std::string shape;
  double us = 0;     // GPU time per op
  double bytes = 0;  // bytes the op must read + write
};

// GPU nanoseconds per call of `record`, from `iters` calls between two timestamps (after a
// warm-up submission that also creates the pipelines).
Result<double> timeOp(vk::Device& dev, uint32_t iters, const std::function<Status(vk::Recorder&)>& record) {
  TF_ASSIGN_OR_RETURN(vk::Recorder rec, dev.newRecorder());
  TF_RETURN_IF_ERROR(record(rec));
  TF_RETURN_IF_ERROR(rec.submitAndWait());
  TF_RETURN_IF_ERROR(rec.reset());
  TF_RETURN_IF_ERROR(rec.timestamp().status());
  for (uint32_t i = 0; i < iters; ++i) {
    TF_RETURN_IF_ERROR(record(rec));
    rec.barrier();  // each iteration sees the previous one's writes, like a real graph
  }
  TF_RETURN_IF_ERROR(rec.timestamp().status());
  TF_RETURN_IF_ERROR(rec.submitAndWait());
  TF_ASSIGN_OR_RETURN(auto ts, rec.timestampsNs());
  if (ts.size() != 2) return Status(Code::kInternal, "expected two timestamps");
  return (ts[1] - ts[0]) / iters;
}

Result<vk::Buffer> filled(vk::Device& dev, uint64_t floats, float lo, float hi, uint32_t seed) {
  TF_ASSIGN_OR_RETURN(vk::Buffer b, dev.createBuffer(std::max<uint64_t>(floats, 1) * 4));
  std::vector<float> v(floats);
  uint32_t s = seed * 2654435761u + 1;
  for (float& x : v) {
    s = s * 1664525u + 1013904223u;
    x = lo + (hi - lo) * float(s >> 8) / float(1u << 24);
  }
  TF_RETURN_IF_ERROR(dev.upload(b.view(), v.data(), v.size() * 4));
  return b;
}

Result<std::vector<OpRow>> benchOps(vk::Device& dev, uint32_t iters, double scale) {
  std::vector<OpRow> rows;
  // Elementwise length: a multiple of 4096 (rows of the broadcast mul and the row ops).
  const uint64_t n = std::max<uint64_t>(static_cast<uint64_t>(1024 * scale), 1) * 4096;
  TF_ASSIGN_OR_RETURN(vk::Buffer a, filled(dev, n, -2, 2, 1));
  TF_ASSIGN_OR_RETURN(vk::Buffer b, filled(dev, n, -2, 2, 2));
  TF_ASSIGN_OR_RETURN(vk::Buffer c, filled(dev, n, 0, 0, 3));

  const std::string flat = std::to_string(n);
  auto add_row = [&](std::string op, std::string shape, double ns, double bytes) {
    rows.push_back({std::move(op), std::move(shape), ns / 1000.0, bytes});
  };
  double ns;
  TF_ASSIGN_OR_RETURN(ns, timeOp(dev, iters, [&](vk::Recorder& r) { return r.copy(a.view(), c.view()); }));
  add_row("copy (vkCmdCopyBuffer)", flat, ns, 8.0 * n);
  TF_ASSIGN_OR_RETURN(ns, timeOp(dev, iters, [&](vk::Recorder& r) { return ops::recordAdd(r, a.view(), b.view(), c.view(), n); }));
  add_row("add", flat, ns, 12.0 * n);
  TF_ASSIGN_OR_RETURN(ns, timeOp(dev, iters, [&](vk::Recorder& r) { return ops::recordMul(r, a.view(), b.view(), c.view(), n, 4096); }));
  add_row("mul (broadcast 4096)", flat, ns, 8.0 * n);
  TF_ASSIGN_OR_RETURN(ns, timeOp(dev, iters, [&](vk::Recorder& r) { return ops::recordSiluMul(r, a.view(), b.view(), c.view(), n); }));
  add_row("silu_mul", flat, ns, 12.0 * n);

  const uint32_t cols = 4096, nrows = static_cast<uint32_t>(std::max<uint64_t>(n / cols, 1));
  const std::string mat = std::to_string(nrows) + "x" + std::to_string(cols);
  TF_ASSIGN_OR_RETURN(ns, timeOp(dev, iters, [&](vk::Recorder& r) { return ops::recordRmsNorm(r, a.view(), b.view(), c.view(), nrows, cols, 1e-5f); }));
  add_row("rms_norm", mat, ns, 8.0 * nrows * cols);
  TF_ASSIGN_OR_RETURN(ns, timeOp(dev, iters, [&](vk::Recorder& r) { return ops::recordSoftmax(r, a.view(), c.view(), nrows, cols); }));
  add_row("softmax", mat, ns, 8.0 * nrows * cols);
  TF_ASSIGN_OR_RETURN(ns, timeOp(dev, iters, [&](vk::Recorder& r) { return ops::recordArgmax(r, a.view(), c.view(), nrows, cols); }));
  add_row("argmax", mat, ns, 4.0 * nrows * cols);
  const uint32_t vocab = static_cast<uint32_t>(std::min<uint64_t>(n, 152064));
  TF_ASSIGN_OR_RETURN(ns, timeOp(dev, std::max(1u, iters / 4), [&](vk::Recorder& r) {
                        return ops::recordTopK(r, a.view(), b.view(), c.view(), 1, vocab, 40);
                      }));
  add_row("top_k (k=40)", std::string("1x").append(std::to_string(vocab)), ns, 4.0 * vocab);

  // Decode-shaped rope / attention: 32 heads (8 kv) of 128, 2048 cached positions.
  const uint32_t heads = 32, kv_heads = 8, dim = 128, ctx = 2048;
  TF_ASSIGN_OR_RETURN(vk::Buffer pos, dev.createBuffer(64 * 4));
  std::vector<uint32_t> positions(64, ctx - 1);
  TF_RETURN_IF_ERROR(dev.upload(pos.view(), positions.data(), positions.size() * 4));
  ops::RopeConfig rope_cfg{ops::RopeLayout::kNeox, dim, 1000000.f, 1.f};
  TF_ASSIGN_OR_RETURN(ns, timeOp(dev, iters, [&](vk::Recorder& r) {
                        return ops::recordRope(r, a.view(), pos.view(), {}, 64, heads, dim, rope_cfg);
                      }));
  add_row("rope (neox)", "64x32x128", ns, 8.0 * 64 * heads * dim);
  // Decode attention at two depths: the general split path and the decode path (GQA heads
  // together, step parameters from a buffer) where the device has it.
  for (uint32_t depth : {ctx, 4 * ctx}) {
    for (ops::KvType kv : {ops::KvType::kF16, ops::KvType::kF32}) {
      const uint64_t elem = kv == ops::KvType::kF16 ? 2 : 4;
      const uint64_t cache_bytes = uint64_t{depth} * kv_heads * dim * elem;
      TF_ASSIGN_OR_RETURN(vk::Buffer kc, dev.createBuffer(cache_bytes));
      TF_ASSIGN_OR_RETURN(vk::Buffer vc, dev.createBuffer(cache_bytes));
      const std::vector<uint8_t> fill(cache_bytes, 0x11);
      TF_RETURN_IF_ERROR(dev.upload(kc.view(), fill.data(), cache_bytes));
      TF_RETURN_IF_ERROR(dev.upload(vc.view(), fill.data(), cache_bytes));
      const std::string label = std::string("attention decode ") + (kv == ops::KvType::kF16 ? "f16" : "f32");
      const std::string shape_text = "32/8x128 @" + std::to_string(depth);
      const ops::AttentionShape shape{1, heads, kv_heads, dim, depth - 1, 0.f, kv, 0};
      TF_ASSIGN_OR_RETURN(vk::Buffer scratch, dev.createBuffer(ops::attentionScratchBytes(shape)));
      TF_ASSIGN_OR_RETURN(ns, timeOp(dev, iters, [&](vk::Recorder& r) {
                            return ops::recordAttention(r, a.view(), kc.view(), vc.view(), scratch.view(), c.view(), shape);
                          }));
      add_row(label + " split", shape_text, ns, 2.0 * cache_bytes);
      const ops::AttentionDecodeShape step_shape{heads, kv_heads, dim, depth, 0.f, kv, 0};
      if (!ops::attentionDecodeSupported(dev, step_shape)) continue;
      TF_ASSIGN_OR_RETURN(vk::Buffer step, dev.createBuffer(ops::kDecodeStepBytes, vk::Device::MemoryKind::kHostVisible));
      TF_RETURN_IF_ERROR(ops::writeDecodeStep(dev, step_shape, depth, step.mapped()));
      TF_ASSIGN_OR_RETURN(vk::Buffer step_scratch, dev.createBuffer(ops::attentionDecodeScratchBytes(dev, step_shape)));
      TF_ASSIGN_OR_RETURN(ns, timeOp(dev, iters, [&](vk::Recorder& r) {
                            return ops::recordAttentionDecode(r, a.view(), kc.view(), vc.view(), step_scratch.view(),
                                                              c.view(), step_shape, step.view());
                          }));
      add_row(label + " step", shape_text, ns, 2.0 * cache_bytes);
    }
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
      out["ops"].push_back({{"op", r.op}, {"shape", r.shape}, {"us", r.us}, {"gbps", r.bytes / (r.us * 1000.0)},
                            {"fraction_of_stream", r.bytes / (r.us * 1000.0) / stream_gbps}});
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
  std::printf("\n\n%-28s %-16s %12s %10s %10s\n", "op", "shape", "us/op", "GB/s", "of stream");
  for (const OpRow& r : *rows) {
    const double gbps = r.bytes / (r.us * 1000.0);
    std::printf("%-28s %-16s %12.1f %10.2f %9.0f%%\n", r.op.c_str(), r.shape.c_str(), r.us, gbps, 100.0 * gbps / stream_gbps);
  }
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
