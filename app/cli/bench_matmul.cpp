// tokenfab-cli bench-matmul [--type Q4_K,...] [--rows N] [--cols N] [--batch 1,512] [--iters N]
//                          [--path auto,scalar,coopmat]
// Random weights in each type's block layout, `iters` dispatches between two timestamps; batches
// above 1 once per prefill path asked for (coopmat: where the device has cooperative matrices).
#include "bench_matmul.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <sstream>

#include "cli.h"
#include "tokenfab/ops.h"
#include "tokenfab/ops_matmul.h"

namespace tokenfab::cli {
namespace {

using gguf::TensorType;

// Every type the GPU decodes, in the type table's (id) order.
std::vector<TensorType> allGpuTypes() {
  std::vector<TensorType> out;
  for (const gguf::TypeTraits& t : gguf::typeTable())
    if (t.gpu_decode) out.push_back(t.type);
  return out;
}

// Bytes that decode to finite values: random quant bits, float elements in [-1, 1], and every
// 16-bit field a small f16 (the scale fields are the only 16-bit fields at even offsets that
// matter; overwriting every even pair with 0x2000-ish keeps blocks finite for all types).
std::vector<uint8_t> benchWeights(TensorType type, uint64_t rows, uint64_t cols) {
  const uint64_t bytes = rows * ops::quantRowBytes(type, cols);
  std::vector<uint8_t> w(bytes);
  uint64_t state = 0x9E3779B97F4A7C15ull;
  for (size_t i = 0; i < w.size(); ++i) {
    if (i % 8 == 0) state = state * 6364136223846793005ull + 1442695040888963407ull;
    w[i] = static_cast<uint8_t>(state >> (8 * (i % 8)));
  }
  if (type == TensorType::kF32) {
    for (size_t i = 0; i + 4 <= w.size(); i += 4) {
      const float v = static_cast<float>(w[i]) / 255.0f - 0.5f;
      std::memcpy(&w[i], &v, 4);
    }
  } else if (type == TensorType::kF16 || type == TensorType::kBF16) {
    for (size_t i = 1; i < w.size(); i += 2) w[i] = type == TensorType::kF16 ? (w[i] & 0x3B) : (w[i] & 0x3F);
  } else {
    const gguf::TypeTraits* layout = gguf::typeTraits(type);
    // Scale fields sit at the block start (legacy, Q4_K, Q5_K) or its end (Q2_K, Q3_K, Q6_K).
    const uint32_t bb = layout->type_size;
    for (uint64_t b = 0; b + bb <= w.size(); b += bb) {
      for (uint32_t off : {0u, 2u, bb - 4, bb - 2}) w[b + off + 1] = 0x20;  // f16 ~ 2^-7
    }
  }
  return w;
}

}  // namespace

Result<std::vector<MatMulBenchRow>> benchMatMul(vk::Device& device, const MatMulBenchOptions& options) {
  std::vector<MatMulBenchRow> out;
  const std::vector<TensorType> types = options.types.empty() ? allGpuTypes() : options.types;
  const uint32_t iters = std::max<uint32_t>(1, options.iterations);
  const uint32_t max_batch = *std::max_element(options.batches.begin(), options.batches.end());
  std::vector<float> x;
  for (TensorType type : types) {
    if (!ops::matMulSupports(type)) {
      return Status(Code::kUnsupported, "bench-matmul: no GPU decoder for " + std::string(gguf::typeName(type)));
    }
    const uint32_t bs = gguf::typeTraits(type)->block_size;
    const uint32_t cols = (options.cols + bs - 1) / bs * bs;
    const auto weights = benchWeights(type, options.rows, cols);
    TF_ASSIGN_OR_RETURN(auto w_buf, device.createBuffer(ops::gpuMatrixBytes(type, options.rows, cols)));
    TF_RETURN_IF_ERROR(ops::uploadMatrix(device, w_buf.view(), type, options.rows, cols, weights));
    x.assign(uint64_t(max_batch) * cols, 0.0f);
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 17) / 17.0f - 0.5f;
    TF_ASSIGN_OR_RETURN(auto x_buf, device.createBuffer(x.size() * 4));
    TF_RETURN_IF_ERROR(device.upload(x_buf.view(), x.data(), x.size() * 4));
    TF_ASSIGN_OR_RETURN(auto y_buf, device.createBuffer(uint64_t(max_batch) * options.rows * 4));
    const ops::QuantMatrix w{type, w_buf.view(), options.rows, cols};

    for (uint32_t batch : options.batches) {
      const bool matvec = batch == 1;
      // matvec has one path; each requested path of the tiled product is timed on its own.
      for (size_t path_i = 0; path_i < (matvec ? 1 : options.paths.size()); ++path_i) {
      ops::MatMulLayout layout;
      layout.path = options.paths[path_i];
      const ops::MatMulPath path = ops::matMulPath(device, batch, layout.path);
      TF_ASSIGN_OR_RETURN(auto rec, device.newRecorder());
      // Warm-up (pipeline creation, caches), then the timed run.
      for (int pass = 0; pass < 2; ++pass) {
        TF_RETURN_IF_ERROR(rec.reset());
        const bool timed = pass == 1;
        const bool stamps = timed && device.report().timestamps;
        if (stamps) TF_RETURN_IF_ERROR(rec.timestamp().status());
        for (uint32_t i = 0; i < (timed ? iters : 1); ++i) {
          if (matvec) {
            TF_RETURN_IF_ERROR(ops::recordMatVec(rec, w, x_buf.view(), y_buf.view(), batch));
          } else {
            TF_RETURN_IF_ERROR(ops::recordMatMul(rec, w, x_buf.view(), y_buf.view(), batch, layout));
          }
          rec.barrier();  // as in a model graph: each product waits for the previous writes
        }
        if (stamps) TF_RETURN_IF_ERROR(rec.timestamp().status());
        const auto t0 = std::chrono::steady_clock::now();
        TF_RETURN_IF_ERROR(rec.submitAndWait());
        const double wall_ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
        if (!timed) continue;
        double ns = wall_ns;
        if (stamps) {
          TF_ASSIGN_OR_RETURN(auto ts, rec.timestampsNs());
          if (ts.size() >= 2 && ts.back() > ts.front()) ns = ts.back() - ts.front();
        }
        const double sec = ns / iters * 1e-9;
        MatMulBenchRow row{type, matvec ? "matvec" : "matmul", matvec ? "-" : ops::matMulPathName(path), options.rows,
                           cols, batch, sec * 1e6, double(weights.size()) / sec * 1e-9,
                           2.0 * options.rows * double(cols) * batch / sec * 1e-9};
        out.push_back(row);
      }
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
      for (TensorType type : allGpuTypes()) {
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
