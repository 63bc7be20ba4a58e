// Quantized matvec / matmul throughput per weight type (tokenfab-cli bench-matmul). Kept as a
// function so `bench-ops` can include these rows in its own report.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tokenfab/gguf.h"
#include "tokenfab/ops_matmul.h"
#include "tokenfab/status.h"
#include "tokenfab/vk.h"

namespace tokenfab::cli {

struct MatMulBenchOptions {
  std::vector<gguf::TensorType> types;  // empty: every type the GPU decodes
  uint32_t rows = 4096;                 // output features
  uint32_t cols = 4096;                 // input features (rounded up to the block size)
  std::vector<uint32_t> batches = {1, 512};  // 1 runs matvec, larger runs the tiled matmul
  uint32_t iterations = 20;
  std::vector<ops::MatMulPath> paths = {ops::MatMulPath::kAuto};  // the tiled matmul's, each timed
};

struct MatMulBenchRow {
  gguf::TensorType type;
  std::string op;    // "matvec" or "matmul"
  std::string path;  // matmul: the path taken, "scalar" or "coopmat"; matvec: "-"
  uint32_t rows, cols, batch;
  double us_per_op;     // GPU time per dispatch (timestamps), or wall time when unavailable
  double weight_gbps;   // weight bytes read per second (1e9)
  double gflops;        // 2 * rows * cols * batch per second (1e9)
};

Result<std::vector<MatMulBenchRow>> benchMatMul(vk::Device& device, const MatMulBenchOptions& options);
std::string formatMatMulBench(const std::vector<MatMulBenchRow>& rows, double stream_gbps = 0.0);

}  // namespace tokenfab::cli
