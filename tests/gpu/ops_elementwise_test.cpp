// add, mul, silu_mul, rms_norm vs core/ref (float64). Random shapes incl. sizes that are not
// multiples of the workgroup size, guarded outputs, NaN/Inf agreement, the split path.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "gpu_test_util.h"
#include "ref/ops_ref.h"
#include "tokenfab/ops.h"

namespace tokenfab::test {
namespace {

class OpsElementwise : public GpuTest {};

enum class Binary { kAdd, kMul };

// Normalised error bounds (|got - want| / max(1, max |want|)): one f32 rounding per element for
// add/mul; silu adds the GPU's exp (a few ulp).
constexpr double kBinaryBound = 1e-6;
constexpr double kSiluBound = 1e-5;
constexpr double kRmsNormBound = 1e-5;

void runBinary(vk::Device& dev, Binary op, const std::vector<float>& a, const std::vector<float>& b,
               uint64_t max_binding, std::vector<float>& got) {
  vk::Buffer ba = upload(dev, a), bb = upload(dev, b);
  TF_ASSERT_OK_AND_ASSIGN(GuardedBuffer out, GuardedBuffer::create(dev, a.size() * 4));
  TF_ASSERT_OK_AND_ASSIGN(vk::Recorder rec, dev.newRecorder());
  const uint64_t n_b = b.size() == a.size() ? 0 : b.size();
  if (op == Binary::kAdd)
    TF_ASSERT_OK(ops::recordAdd(rec, ba.view(), bb.view(), out.view(), a.size(), n_b, max_binding));
  else
    TF_ASSERT_OK(ops::recordMul(rec, ba.view(), bb.view(), out.view(), a.size(), n_b, max_binding));
  TF_ASSERT_OK(rec.submitAndWait());
  ASSERT_TRUE(out.read(got));
}

TEST_F(OpsElementwise, AddMulRandomShapesWithBroadcast) {
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    SCOPED_TRACE("seed=" + std::to_string(seed));
    TestRng rng(seed);
    const uint32_t cols = 1 + rng.below(700), rows = 1 + rng.below(9);
    const bool broadcast = seed % 2 == 0;
    const std::vector<float> a = rng.floats(size_t{rows} * cols, -10, 10);
    const std::vector<float> b = rng.floats(broadcast ? cols : size_t{rows} * cols, -10, 10);
    for (Binary op : {Binary::kAdd, Binary::kMul}) {
      std::vector<float> got;
      runBinary(device(), op, a, b, 0, got);
      const auto want = op == Binary::kAdd ? ref::add(a, b) : ref::mul(a, b);
      EXPECT_TRUE(expectClose(got, want, kBinaryBound)) << (op == Binary::kAdd ? "add" : "mul") << " rows " << rows
                                                        << " cols " << cols;
    }
  }
}

TEST_F(OpsElementwise, AddMulSpecialValuesAgree) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> a = {inf, -inf, inf, nan, 1.0f, 0.0f, -0.0f, 3e38f, inf};
  const std::vector<float> b = {1.0f, 2.0f, -inf, 1.0f, nan, inf, inf, 3e38f, 0.0f};
  for (Binary op : {Binary::kAdd, Binary::kMul}) {
    std::vector<float> got;
    runBinary(device(), op, a, b, 0, got);
    EXPECT_TRUE(expectClose(got, op == Binary::kAdd ? ref::add(a, b) : ref::mul(a, b), kBinaryBound));
  }
}

TEST_F(OpsElementwise, SplitPathMatchesUnsplit) {
  // A 4 KiB binding limit forces many pieces; broadcast offsets must continue across pieces.
  const uint64_t seed = 21;
  SCOPED_TRACE("seed=" + std::to_string(seed));
  TestRng rng(seed);
  const std::vector<float> a = rng.floats(10007), b_full = rng.floats(10007);
  const std::vector<float> b_bc = rng.floats(1);  // broadcast scalar
  std::vector<float> got;
  runBinary(device(), Binary::kAdd, a, b_full, 4096, got);
  EXPECT_TRUE(expectClose(got, ref::add(a, b_full), kBinaryBound));
  const std::vector<float> a2 = rng.floats(97 * 131), b2 = rng.floats(131);
  runBinary(device(), Binary::kMul, a2, b2, 4096, got);
  EXPECT_TRUE(expectClose(got, ref::mul(a2, b2), kBinaryBound));
  runBinary(device(), Binary::kMul, a, b_bc, 1024, got);
  EXPECT_TRUE(expectClose(got, ref::mul(a, b_bc), kBinaryBound));
}

// The residual stream adds in place (dst aliases a); rms_norm and silu_mul may also run in place.
TEST_F(OpsElementwise, InPlace) {
  const uint64_t seed = 9;
  SCOPED_TRACE("seed=" + std::to_string(seed));
  TestRng rng(seed);
  const uint32_t rows = 3, cols = 999;
  const std::vector<float> a = rng.floats(size_t{rows} * cols), b = rng.floats(size_t{rows} * cols), w = rng.floats(cols);
  vk::Buffer ba = upload(device(), a), bb = upload(device(), b), bw = upload(device(), w);
  TF_ASSERT_OK_AND_ASSIGN(vk::Recorder rec, device().newRecorder());
  TF_ASSERT_OK(ops::recordAdd(rec, ba.view(), bb.view(), ba.view(), a.size()));
  rec.barrier();  // rms_norm reads the sum
  TF_ASSERT_OK(ops::recordRmsNorm(rec, ba.view(), bw.view(), ba.view(), rows, cols, 1e-5f));
  rec.barrier();  // silu_mul reads the normalised rows
  TF_ASSERT_OK(ops::recordSiluMul(rec, ba.view(), bb.view(), ba.view(), a.size()));
  TF_ASSERT_OK(rec.submitAndWait());
  std::vector<float> got(a.size());
  TF_ASSERT_OK(device().download(ba.view(), got.data(), got.size() * 4));
  // Reference chain in float64, each stage's input rounded to f32 as the GPU stores it.
  std::vector<float> stage(a.size());
  const auto sum = ref::add(a, b);
  for (size_t i = 0; i < sum.size(); ++i) stage[i] = float(sum[i]);
  const auto normed = ref::rmsNorm(stage, w, rows, cols, 1e-5);
  for (size_t i = 0; i < normed.size(); ++i) stage[i] = float(normed[i]);
  EXPECT_TRUE(expectClose(got, ref::siluMul(stage, b), kSiluBound));
}

TEST_F(OpsElementwise, SiluMul) {
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    SCOPED_TRACE("seed=" + std::to_string(seed));
    TestRng rng(seed);
    const size_t n = 1 + rng.below(20000);
    std::vector<float> gate = rng.floats(n, -20, 20), up = rng.floats(n, -3, 3);
    if (seed == 1 && n > 6) {
      gate[0] = std::numeric_limits<float>::quiet_NaN();
      gate[1] = std::numeric_limits<float>::infinity();
      up[2] = std::numeric_limits<float>::infinity();
      gate[3] = 100.0f;  // exp(-100): silu == x
      gate[4] = -100.0f;  // exp(100) large: silu -> -0
    }
    vk::Buffer bg = upload(device(), gate), bu = upload(device(), up);
    TF_ASSERT_OK_AND_ASSIGN(GuardedBuffer out, GuardedBuffer::create(device(), n * 4));
    TF_ASSERT_OK_AND_ASSIGN(vk::Recorder rec, device().newRecorder());
    TF_ASSERT_OK(ops::recordSiluMul(rec, bg.view(), bu.view(), out.view(), n, seed == 2 ? 4096 : 0));
    TF_ASSERT_OK(rec.submitAndWait());
    std::vector<float> got;
    ASSERT_TRUE(out.read(got));
    EXPECT_TRUE(expectClose(got, ref::siluMul(gate, up), kSiluBound)) << "n " << n;
  }
}

TEST_F(OpsElementwise, RmsNorm) {
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    SCOPED_TRACE("seed=" + std::to_string(seed));
    TestRng rng(seed);
    const uint32_t rows = 1 + rng.below(7), cols = 1 + rng.below(3000);
    std::vector<float> x = rng.floats(size_t{rows} * cols, -4, 4), w = rng.floats(cols, -2, 2);
    if (seed == 3) x[0] = std::numeric_limits<float>::quiet_NaN();  // row 0 all NaN
    const float eps = seed % 2 ? 1e-5f : 1e-6f;
    vk::Buffer bx = upload(device(), x), bw = upload(device(), w);
    TF_ASSERT_OK_AND_ASSIGN(GuardedBuffer out, GuardedBuffer::create(device(), x.size() * 4));
    TF_ASSERT_OK_AND_ASSIGN(vk::Recorder rec, device().newRecorder());
    TF_ASSERT_OK(ops::recordRmsNorm(rec, bx.view(), bw.view(), out.view(), rows, cols, eps));
    TF_ASSERT_OK(rec.submitAndWait());
    std::vector<float> got;
    ASSERT_TRUE(out.read(got));
    EXPECT_TRUE(expectClose(got, ref::rmsNorm(x, w, rows, cols, eps), kRmsNormBound)) << rows << "x" << cols;
  }
}

TEST_F(OpsElementwise, BadArgumentsAreStatuses) {
  TF_ASSERT_OK_AND_ASSIGN(vk::Buffer buf, device().createBuffer(1024));
  TF_ASSERT_OK_AND_ASSIGN(vk::Recorder rec, device().newRecorder());
  EXPECT_EQ(ops::recordAdd(rec, buf.view(), buf.view(), buf.view(), 1000).code(), Code::kOutOfRange);
  EXPECT_EQ(ops::recordAdd(rec, buf.view(), buf.view(), buf.view(), 100, 7).code(), Code::kInvalidArgument);
  EXPECT_EQ(ops::recordRmsNorm(rec, buf.view(), buf.view(), buf.view(), 2, 200, 1e-5f).code(), Code::kOutOfRange);
  EXPECT_EQ(ops::recordRmsNorm(rec, buf.view(), buf.view(), buf.view(), 1, 0, 1e-5f).code(), Code::kInvalidArgument);
  TF_ASSERT_OK(rec.submitAndWait());
}

// A tensor larger than maxStorageBufferRange (128 MiB on lavapipe) goes through the split path.
TEST_F(OpsElementwise, AddLargerThanOneBinding) {
  const uint64_t limit = device().report().max_storage_buffer_range;
  // Rows of 4099 (odd) broadcast-added, one row past the limit.
  const uint64_t n = (std::min<uint64_t>(limit, 512ull << 20) / 4 / 4099 + 1) * 4099;
  if (n * 4 > device().report().max_memory_allocation_size) GTEST_SKIP() << "limit too large to exceed here";
  const uint64_t seed = 5;
  SCOPED_TRACE("seed=" + std::to_string(seed) + " n=" + std::to_string(n));
  TestRng rng(seed);
  std::vector<float> a(n);
  for (uint64_t i = 0; i < n; ++i) a[i] = float(i % 65521) * 0.5f;  // exact in f32
  const std::vector<float> b = rng.floats(4099, -8, 8);
  std::vector<float> got;
  runBinary(device(), Binary::kAdd, a, b, 0, got);
  ASSERT_EQ(got.size(), n);
  ASSERT_TRUE(allWritten(got));
  double worst = 0;
  uint64_t worst_i = 0;
  for (uint64_t i = 0; i < n; ++i) {
    const double e = std::fabs(double(got[i]) - (double(a[i]) + double(b[i % b.size()]))) / 32768.0;
    if (e > worst) worst = e, worst_i = i;
  }
  EXPECT_LE(worst, kBinaryBound) << "at " << worst_i;
}

}  // namespace
}  // namespace tokenfab::test
