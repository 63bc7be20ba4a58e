// The op-case table (tokenfab/op_cases.h) that the self-test and the benches read: every case
// passes check() on this device at two seeds, the driver fails a case that is wrong, writes out
// of bounds or never writes, and time() reports what it measured.
#include "tokenfab/op_cases.h"

#include <gtest/gtest.h>

#include <set>

#include "gpu_test_util.h"
#include "tokenfab/ops.h"

namespace tokenfab::test {
namespace {

std::vector<std::string> caseNames() {
  std::vector<std::string> names;
  for (const lab::OpCase& c : lab::opCases()) names.push_back(c.name);
  return names;
}

const lab::OpCase& caseNamed(const std::string& name) {
  static const std::vector<lab::OpCase> cases = lab::opCases();
  for (const lab::OpCase& c : cases)
    if (c.name == name) return c;
  throw std::logic_error("no op case " + name);
}

class OpCaseTable : public GpuTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(OpCaseTable, PassesCheckAgainstTheFloat64Reference) {
  const lab::OpCase& c = caseNamed(GetParam());
  for (uint64_t seed : {1u, 77u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    auto outcome = lab::check(device(), c, seed);
    ASSERT_TRUE(outcome.isOk()) << outcome.status().toString();
    if (outcome->skipped) GTEST_SKIP() << "skipped: " << outcome->detail;
    EXPECT_LE(outcome->error, c.bound) << outcome->detail;
  }
}

INSTANTIATE_TEST_SUITE_P(All, OpCaseTable, ::testing::ValuesIn(caseNames()),
                         [](const ::testing::TestParamInfo<std::string>& param_info) {
                           std::string n;
                           for (char ch : param_info.param)
                             n += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                           return n;
                         });

// The table covers what the issue asks of it: every op once, both products for every GPU type.
TEST(OpCaseTableContents, EveryOpAndEveryGpuTypeIsACase) {
  std::set<std::string> names;
  for (const lab::OpCase& c : lab::opCases()) {
    EXPECT_TRUE(names.insert(c.name).second) << "duplicate case " << c.name;
    EXPECT_TRUE(c.prepare) << c.name;
    EXPECT_FALSE(c.error_unit.empty()) << c.name;
  }
  for (const char* op :
       {"add", "mul (broadcast)", "silu_mul", "rms_norm", "softmax", "argmax", "top_k (k=40)",
        "rope (neox halves)", "rope (adjacent pairs)", "attention f16 split", "attention f32 step (deep)"})
    EXPECT_TRUE(names.count(op)) << op;
  for (uint32_t id = 0; id < 64; ++id) {  // every ggml id, not the table the cases come from
    const gguf::TypeTraits* t = gguf::typeTraits(id);
    if (t == nullptr || !ops::matMulSupports(t->type)) continue;
    EXPECT_TRUE(names.count("matvec " + std::string(t->name))) << t->name;
    EXPECT_TRUE(names.count("matmul " + std::string(t->name))) << t->name;
  }
}

// A wrong result: rope works in place, so recording it twice rotates by twice the angle.
TEST_F(GpuTest, OpCaseCheckFailsAWrongResult) {
  lab::OpCase c = caseNamed("rope (neox halves)");
  const lab::OpCase real = c;
  c.prepare = [real](vk::Device& dev, const lab::CaseSize& size, uint64_t seed) -> Result<lab::PreparedOp> {
    TF_ASSIGN_OR_RETURN(lab::PreparedOp op, real.prepare(dev, size, seed));
    op.record = [once = op.record](vk::Recorder& r) -> Status {
      TF_RETURN_IF_ERROR(once(r));
      r.barrier();
      return once(r);
    };
    return op;
  };
  auto outcome = lab::check(device(), c, 1);
  ASSERT_FALSE(outcome.isOk());
  EXPECT_NE(outcome.status().message().find("differs from the CPU reference"), std::string::npos)
      << outcome.status().toString();
}

// An op that writes nothing: every output element still holds the poison.
TEST_F(GpuTest, OpCaseCheckFailsAnUnwrittenOutput) {
  lab::OpCase c = caseNamed("silu_mul");
  const lab::OpCase real = c;
  c.prepare = [real](vk::Device& dev, const lab::CaseSize& size, uint64_t seed) -> Result<lab::PreparedOp> {
    TF_ASSIGN_OR_RETURN(lab::PreparedOp op, real.prepare(dev, size, seed));
    op.record = [](vk::Recorder&) { return Status::ok(); };
    return op;
  };
  auto outcome = lab::check(device(), c, 1);
  ASSERT_FALSE(outcome.isOk());
  EXPECT_NE(outcome.status().message().find("never written"), std::string::npos)
      << outcome.status().toString();
}

TEST_F(GpuTest, OpCaseTimeReportsBytesOverTime) {
  auto t = lab::time(device(), caseNamed("rms_norm"), 2, lab::CaseSize{lab::CaseSize::kBench, 1.0 / 64});
  ASSERT_TRUE(t.isOk()) << t.status().toString();
  EXPECT_EQ(t->shape, "16x4096");
  EXPECT_GT(t->us, 0.0);
  // rms_norm moves 8 bytes per element plus its weight row.
  EXPECT_NEAR(t->gbps * t->us * 1000.0, 8.0 * 16 * 4096 + 4.0 * 4096, 1.0);
}

}  // namespace
}  // namespace tokenfab::test
