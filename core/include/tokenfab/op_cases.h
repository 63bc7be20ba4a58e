// The op-case table (tokenfab_lab): every GPU op once, with its inputs, how it is recorded, its
// float64 reference, its error bound and the bytes it must move. Two drivers read it:
//   check() runs a case on small inputs and compares with the reference (the GPU tests, the
//           installation self-test);
//   time()  runs a case at model size between two GPU timestamps (bench-ops, bench-matmul).
// Outputs sit between poisoned guard regions, so a check also catches writes out of bounds and
// outputs never written.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tokenfab/gguf.h"
#include "tokenfab/ops_matmul.h"
#include "tokenfab/status.h"
#include "tokenfab/vk.h"

namespace tokenfab::lab {

// ---- the comparison both drivers and the tests use ----

// The bit pattern of guard regions and unwritten outputs: a NaN no shader produces.
inline constexpr uint32_t kPoisonBits = 0x7FBADBADu;

// An output buffer with poison before and after the payload (and in it, until the op writes).
class GuardedOutput {
 public:
  static Result<GuardedOutput> create(vk::Device& device, uint64_t payload_bytes, uint64_t guard_bytes = 256);
  vk::BufferView view() const { return m_buffer.view(m_guard, m_payload); }
  uint64_t bytes() const { return m_payload; }
  // The payload; kInternal when a guard byte changed ("wrote outside its output").
  Result<std::vector<uint8_t>> readBytes() const;
  Result<std::vector<float>> readFloats() const;
  Result<std::vector<uint32_t>> readWords() const;

 private:
  vk::Device* m_device = nullptr;
  vk::Buffer m_buffer;
  uint64_t m_guard = 0;
  uint64_t m_payload = 0;
};

// How far f32 GPU results are from a float64 reference: max_i |got_i - want_i| / scale, scale =
// max(1, max finite |want_i|) unless given. NaN must meet NaN and an infinity the same infinity
// (a reference beyond FLT_MAX counts as that infinity); an element still holding the poison was
// never written. `problem` is empty when the values are comparable, else it says why not (and
// error is +inf).
struct Comparison {
  double error = 0.0;
  size_t worst = 0;  // index of the largest error
  double scale = 1.0;
  std::string problem;
  bool within(double bound) const { return problem.empty() && error <= bound; }
  std::string describe(std::span<const float> got, std::span<const double> want) const;
};
Comparison compare(std::span<const float> got, std::span<const double> want, double scale = 0.0);

// ---- the table ----

// How large a case's tensors are: kCheck is small (milliseconds on a CPU device), kBench is the
// shape of a 7-8B model's step (bench-ops), multiplied by `scale` for the elementwise ops.
struct CaseSize {
  enum Kind { kCheck, kBench } kind = kCheck;
  double scale = 1.0;
};

// A case made ready on a device: inputs uploaded, outputs allocated.
struct PreparedOp {
  std::string shape;                            // "4x515", "32/8x128 @2048"
  std::string path;                             // the matmul path taken ("scalar", "coopmat"), else empty
  double bytes = 0.0;                           // bytes the op must read and write
  double flops = 0.0;                           // multiply-adds x 2 (products), else 0
  std::function<Status(vk::Recorder&)> record;  // enqueue the op (any number of times)
  // After one recorded run: the error against the reference (computed here, in float64), or
  // a Status when the outputs are not comparable (wrong index, a guard overwritten...).
  std::function<Result<double>()> error;
};

struct OpCase {
  std::string name;        // "rms_norm", "matvec q4_k", "attention decode f16 step @2048"
  double bound = 0.0;      // check() passes when error <= bound
  std::string error_unit;  // how error is normalised: "of max |ref|", "of sum |w x|", "exact"
  // kUnsupported when the device lacks the path (the case is skipped, not failed).
  std::function<Result<PreparedOp>(vk::Device&, const CaseSize&, uint64_t seed)> prepare;
};

// Every op: the elementwise and row ops, both rope layouts, attention (split and decode step,
// f32 and f16 caches, two depths), and matvec + matmul for every weight type the GPU decodes.
std::vector<OpCase> opCases();
// One quantized product: batch 1 is the decode matvec, larger batches the tiled matmul on
// `path`. At kBench size the matrix is rows x cols; at kCheck size 67 x 512.
OpCase matMulCase(gguf::TensorType type, uint32_t batch, uint32_t rows = 4096, uint32_t cols = 4096,
                  ops::MatMulPath path = ops::MatMulPath::kAuto);

// ---- the drivers ----

struct CheckOutcome {
  bool skipped = false;  // the device lacks this path (detail says why)
  double error = 0.0;
  std::string detail;  // "max error 3.1e-07 (bound 1e-06) of max |ref|, 4x515"
};
// Runs `c` once at kCheck size; an error above the bound, a guard overwritten or an output not
// written is a kInternal Status saying so.
Result<CheckOutcome> check(vk::Device& device, const OpCase& c, uint64_t seed);

struct Timing {
  std::string shape;
  std::string path;     // the matmul path taken, else empty
  double us = 0.0;      // per op: GPU timestamps, or wall time on a device without them
  double gbps = 0.0;    // bytes / time
  double gflops = 0.0;  // flops / time (products)
};
// `iters` back-to-back runs (a barrier between, as in a model graph) after a warm-up run.
Result<Timing> time(vk::Device& device, const OpCase& c, uint32_t iters,
                    const CaseSize& size = {CaseSize::kBench});

}  // namespace tokenfab::lab
