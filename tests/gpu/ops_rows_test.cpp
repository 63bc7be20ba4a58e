// softmax, argmax, top-k on the device vs core/ref: random rows of odd lengths, ties, NaN/Inf.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "gpu_test_util.h"
#include "ref/ops_ref.h"
#include "tokenfab/ops.h"

namespace tokenfab::test {
namespace {

class OpsRows : public GpuTest {};

// softmax: probabilities in [0, 1], absolute error after f32 exp and one reduction.
constexpr double kSoftmaxBound = 2e-6;

const float kInf = std::numeric_limits<float>::infinity();
const float kNan = std::numeric_limits<float>::quiet_NaN();

// Random logits with deliberate ties (values on a coarse grid) and, per `specials`, NaN/Inf.
std::vector<float> logits(TestRng& rng, size_t n, bool specials) {
  std::vector<float> x(n);
  for (float& v : x) v = float(int(rng.below(200)) - 100) * 0.125f;
  if (specials && n > 8) {
    x[rng.below(uint32_t(n))] = kNan;
    x[rng.below(uint32_t(n))] = -kInf;
  }
  return x;
}

TEST_F(OpsRows, Softmax) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    SCOPED_TRACE("seed=" + std::to_string(seed));
    TestRng rng(seed);
    const uint32_t rows = 6, cols = 1 + rng.below(5000);
    std::vector<float> x = rng.floats(size_t{rows} * cols, -30, 30);
    // Row 1: -Inf entries (masked); row 2: a NaN; row 3: +Inf; row 4: all -Inf.
    x[1 * cols] = -kInf;
    x[2 * cols + cols / 2] = kNan;
    x[3 * cols + cols - 1] = kInf;
    for (uint32_t c = 0; c < cols; ++c) x[4 * cols + c] = -kInf;
    vk::Buffer bx = upload(device(), x);
    TF_ASSERT_OK_AND_ASSIGN(GuardedBuffer out, GuardedBuffer::create(device(), x.size() * 4));
    TF_ASSERT_OK_AND_ASSIGN(vk::Recorder rec, device().newRecorder());
    TF_ASSERT_OK(ops::recordSoftmax(rec, bx.view(), out.view(), rows, cols));
    TF_ASSERT_OK(rec.submitAndWait());
    std::vector<float> got;
    ASSERT_TRUE(out.read(got));
    EXPECT_TRUE(expectClose(got, ref::softmax(x, rows, cols), kSoftmaxBound, 1.0)) << "cols " << cols;
  }
}

TEST_F(OpsRows, ArgmaxAndTopK) {
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    SCOPED_TRACE("seed=" + std::to_string(seed));
    TestRng rng(seed);
    const uint32_t rows = 1 + rng.below(4), cols = 1 + rng.below(seed == 6 ? 150000 : 3000);
    std::vector<float> x = logits(rng, size_t{rows} * cols, seed % 2 == 1);
    if (seed == 2) std::fill(x.begin(), x.begin() + cols, kNan);  // a row of NaN only: index 0
    if (seed == 4 && cols > 3) x[1] = kInf;
    const uint32_t k = std::min<uint32_t>(cols, 1 + rng.below(64));
    vk::Buffer bx = upload(device(), x);
    TF_ASSERT_OK_AND_ASSIGN(GuardedBuffer am, GuardedBuffer::create(device(), rows * 4));
    TF_ASSERT_OK_AND_ASSIGN(GuardedBuffer idx, GuardedBuffer::create(device(), size_t{rows} * k * 4));
    TF_ASSERT_OK_AND_ASSIGN(GuardedBuffer val, GuardedBuffer::create(device(), size_t{rows} * k * 4));
    TF_ASSERT_OK_AND_ASSIGN(vk::Recorder rec, device().newRecorder());
    TF_ASSERT_OK(ops::recordArgmax(rec, bx.view(), am.view(), rows, cols));
    TF_ASSERT_OK(ops::recordTopK(rec, bx.view(), idx.view(), val.view(), rows, cols, k));
    TF_ASSERT_OK(rec.submitAndWait());
    std::vector<uint32_t> got_am, got_idx;
    std::vector<float> got_val;
    ASSERT_TRUE(am.read(got_am));
    ASSERT_TRUE(idx.read(got_idx));
    ASSERT_TRUE(val.read(got_val));
    EXPECT_EQ(got_am, ref::argmax(x, rows, cols)) << rows << "x" << cols;
    const auto want_idx = ref::topK(x, rows, cols, k);
    EXPECT_EQ(got_idx, want_idx) << rows << "x" << cols << " k " << k;
    for (size_t i = 0; i < want_idx.size(); ++i) {
      const float want_v = x[(i / k) * cols + want_idx[i]];
      uint32_t gb, wb;
      std::memcpy(&gb, &got_val[i], 4);
      std::memcpy(&wb, &want_v, 4);
      if (!std::isnan(want_v)) ASSERT_EQ(gb, wb) << "value " << i;
      else ASSERT_TRUE(std::isnan(got_val[i])) << "value " << i;
    }
  }
}

// More rows than one binding holds (limit lowered to 9 rows) run in aligned row pieces.
TEST_F(OpsRows, RowOpsSplitIntoPieces) {
  const uint64_t seed = 77;
  SCOPED_TRACE("seed=" + std::to_string(seed));
  TestRng rng(seed);
  const uint32_t rows = 23, cols = 37, k = 5;
  const uint64_t limit = 9ull * cols * 4;
  const std::vector<float> x = logits(rng, size_t{rows} * cols, false), w = rng.floats(cols);
  vk::Buffer bx = upload(device(), x), bw = upload(device(), w);
  TF_ASSERT_OK_AND_ASSIGN(GuardedBuffer norm, GuardedBuffer::create(device(), x.size() * 4));
  TF_ASSERT_OK_AND_ASSIGN(GuardedBuffer sm, GuardedBuffer::create(device(), x.size() * 4));
  TF_ASSERT_OK_AND_ASSIGN(GuardedBuffer am, GuardedBuffer::create(device(), rows * 4));
  TF_ASSERT_OK_AND_ASSIGN(GuardedBuffer idx, GuardedBuffer::create(device(), rows * k * 4));
  TF_ASSERT_OK_AND_ASSIGN(GuardedBuffer val, GuardedBuffer::create(device(), rows * k * 4));
  TF_ASSERT_OK_AND_ASSIGN(vk::Recorder rec, device().newRecorder());
  TF_ASSERT_OK(ops::recordRmsNorm(rec, bx.view(), bw.view(), norm.view(), rows, cols, 1e-5f, limit));
  TF_ASSERT_OK(ops::recordSoftmax(rec, bx.view(), sm.view(), rows, cols, limit));
  TF_ASSERT_OK(ops::recordArgmax(rec, bx.view(), am.view(), rows, cols, limit));
  TF_ASSERT_OK(ops::recordTopK(rec, bx.view(), idx.view(), val.view(), rows, cols, k, limit));
  EXPECT_GE(rec.dispatchCount(), 12u) << "each op should run in 3 pieces";
  TF_ASSERT_OK(rec.submitAndWait());
  std::vector<float> got_norm, got_sm;
  std::vector<uint32_t> got_am, got_idx;
  ASSERT_TRUE(norm.read(got_norm));
  ASSERT_TRUE(sm.read(got_sm));
  ASSERT_TRUE(am.read(got_am));
  ASSERT_TRUE(idx.read(got_idx));
  EXPECT_TRUE(expectClose(got_norm, ref::rmsNorm(x, w, rows, cols, 1e-5), 1e-5));
  EXPECT_TRUE(expectClose(got_sm, ref::softmax(x, rows, cols), kSoftmaxBound, 1.0));
  EXPECT_EQ(got_am, ref::argmax(x, rows, cols));
  EXPECT_EQ(got_idx, ref::topK(x, rows, cols, k));
}

TEST_F(OpsRows, RejectsBadK) {
  TF_ASSERT_OK_AND_ASSIGN(vk::Buffer buf, device().createBuffer(4096));
  TF_ASSERT_OK_AND_ASSIGN(vk::Recorder rec, device().newRecorder());
  EXPECT_EQ(ops::recordTopK(rec, buf.view(), buf.view(), buf.view(), 1, 10, 11).code(), Code::kInvalidArgument);
  EXPECT_EQ(ops::recordTopK(rec, buf.view(), buf.view(), buf.view(), 1, 10, 0).code(), Code::kInvalidArgument);
  EXPECT_EQ(ops::recordArgmax(rec, buf.view(), buf.view(), 2, 1000).code(), Code::kOutOfRange);
  TF_ASSERT_OK(rec.submitAndWait());
}

}  // namespace
}  // namespace tokenfab::test
