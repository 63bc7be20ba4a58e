// Shared helpers for GPU tests (tests/gpu/*): a fixture holding one validated device per
// process, guarded (poisoned) output buffers, and error-bound comparisons against a float64
// reference with NaN/Inf agreement.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "tokenfab/gguf.h"
#include "tokenfab/op_cases.h"
#include "tokenfab/ops_matmul.h"
#include "tokenfab/vk.h"

namespace tokenfab::test {

// Every test body runs with the validation layer on; TearDown fails the test on any validation
// warning or error emitted while it ran. TOKENFAB_DISABLE_OPTIONAL=1 gives the fallback paths.
class GpuTest : public ::testing::Test {
 public:
  static vk::Device& device();

 protected:
  void SetUp() override;
  void TearDown() override;
};

// Guarded outputs and the comparison are the op-case table's (tokenfab/op_cases.h), so the
// tests, the self-test and the benches judge results one way; these wrap them for gtest.
inline constexpr uint32_t kPoisonBits = lab::kPoisonBits;

class GuardedBuffer {
 public:
  static Result<GuardedBuffer> create(vk::Device& device, uint64_t payload_bytes, uint64_t guard_bytes = 256);
  vk::BufferView view() const { return m_output.view(); }
  // Payload bytes as T; AssertionFailure when a guard byte changed.
  template <typename T>
  ::testing::AssertionResult read(std::vector<T>& out) const {
    std::vector<uint8_t> bytes;
    auto r = readBytes(bytes);
    if (!r) return r;
    out.resize(bytes.size() / sizeof(T));
    std::memcpy(out.data(), bytes.data(), out.size() * sizeof(T));
    return r;
  }
  ::testing::AssertionResult readBytes(std::vector<uint8_t>& out) const;

 private:
  explicit GuardedBuffer(lab::GuardedOutput output) : m_output(std::move(output)) {}
  lab::GuardedOutput m_output;
};

// A device-local buffer holding `data` (rounded up to 4 bytes).
vk::Buffer uploadBytes(vk::Device& device, const void* data, uint64_t bytes);
// A device-local weight matrix: `ggml` (rows of the file's blocks) in the GPU layout
// (ops::uploadMatrix), gpuMatrixBytes large.
vk::Buffer uploadMatrix(vk::Device& device, gguf::TensorType type, uint64_t rows, uint64_t cols,
                        std::span<const uint8_t> ggml);
template <typename T>
vk::Buffer upload(vk::Device& device, const std::vector<T>& data) {
  return uploadBytes(device, data.data(), data.size() * sizeof(T));
}

// Compares got (f32 from the GPU) with want (float64 reference):
// max_i |got_i - want_i| / scale <= bound, where scale = max(1, max_i |want_i|) unless given.
// Where want is NaN got must be NaN; where want is +-Inf got must be the same Inf; a poisoned
// (unwritten) element always fails. The message names the worst index and values.
::testing::AssertionResult expectClose(std::span<const float> got, std::span<const double> want, double bound,
                                       double scale = 0);
// Any element equal to kPoisonBits: an output the op did not write.
::testing::AssertionResult allWritten(std::span<const float> got);

// Random numbers for test data, seeded; tests print the seed (SCOPED_TRACE) on failure.
class TestRng {
 public:
  explicit TestRng(uint64_t seed) : m_gen(seed) {}
  float uniform(float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(m_gen); }
  uint32_t below(uint32_t n) { return std::uniform_int_distribution<uint32_t>(0, n - 1)(m_gen); }
  std::vector<float> floats(size_t n, float lo = -1.f, float hi = 1.f) {
    std::vector<float> v(n);
    for (float& x : v) x = uniform(lo, hi);
    return v;
  }

 private:
  std::mt19937_64 m_gen;
};

// IEEE half <-> float (round to nearest even), independent of the code under test.
uint16_t floatToHalf(float f);
float halfToFloat(uint16_t h);

}  // namespace tokenfab::test

// Fails the current test with the Status message when `expr` is not ok.
#define TF_ASSERT_OK(expr)                                       \
  do {                                                           \
    const ::tokenfab::Status tf_s_ = (expr);                     \
    ASSERT_TRUE(tf_s_.isOk()) << #expr << ": " << tf_s_.toString(); \
  } while (0)
#define TF_ASSERT_OK_AND_ASSIGN(lhs, expr) TF_ASSERT_OK_AND_ASSIGN_IMPL(TF_CONCAT(tf_r_, __LINE__), lhs, expr)
#define TF_ASSERT_OK_AND_ASSIGN_IMPL(tmp, lhs, expr)                        \
  auto tmp = (expr);                                                        \
  ASSERT_TRUE(tmp.isOk()) << #expr << ": " << tmp.status().toString();      \
  lhs = std::move(tmp).value()
