// runSelfTest(): passes on a working device with the shared stories260K model, fails (as a report,
// not a crash) on a missing or broken model; the report's text and pass/fail logic.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "shared_data.h"
#include "tokenfab/op_cases.h"
#include "tokenfab/self_test.h"

namespace tokenfab::test {
namespace {

const SelfTestCheck* findCheck(const SelfTestReport& report, std::string_view prefix) {
  for (const SelfTestCheck& c : report.checks)
    if (c.name.rfind(prefix, 0) == 0) return &c;
  return nullptr;
}

TEST(SelfTestReport, PassedNeedsAtLeastOneCheckAndNoFailure) {
  SelfTestReport report;
  EXPECT_FALSE(report.passed());  // nothing checked is not a pass
  report.checks.push_back({"a", CheckResult::kPass, "fine", 1.0});
  report.checks.push_back({"b", CheckResult::kPass, "fine", 2.0});
  EXPECT_TRUE(report.passed());
  EXPECT_EQ(report.failedCount(), 0);
  report.checks.push_back({"c", CheckResult::kFail, "broken", 3.0});
  EXPECT_FALSE(report.passed());
  EXPECT_EQ(report.failedCount(), 1);
  const std::string text = report.toText();
  EXPECT_NE(text.find("PASS  a"), std::string::npos) << text;
  EXPECT_NE(text.find("FAIL  c"), std::string::npos) << text;
  EXPECT_NE(text.find("broken"), std::string::npos) << text;
  EXPECT_NE(text.find("self-test FAILED: 2 of 3 checks passed"), std::string::npos) << text;
}

TEST(SelfTest, PassesOnTheSharedModel) {
  TF_SHARED_FILE(model, "models/stories260K.gguf");
  SelfTestOptions options;
  options.model = model;
  options.validation = true;
  options.seed = 7;
  int progress_calls = 0;
  const SelfTestReport report = runSelfTest(options, [&](const SelfTestCheck&) { ++progress_calls; });
  EXPECT_TRUE(report.passed()) << report.toText();
  EXPECT_EQ(progress_calls, static_cast<int>(report.checks.size()));
  EXPECT_FALSE(report.device_report.empty());
  // The device, one check per case of the op-case table, the generation check; names unique.
  EXPECT_EQ(report.checks.size(), lab::opCases().size() + 2) << report.toText();
  std::set<std::string> names;
  for (const SelfTestCheck& c : report.checks) names.insert(c.name);
  EXPECT_EQ(names.size(), report.checks.size());
  const SelfTestCheck* generate = findCheck(report, "generate");
  ASSERT_NE(generate, nullptr);
  EXPECT_NE(generate->detail.find("stories260K.gguf"), std::string::npos) << generate->detail;
}

TEST(SelfTest, MissingModelFailsOnlyTheGenerationCheck) {
  SelfTestOptions options;
  options.model = std::filesystem::temp_directory_path() / "tokenfab-self-test-no-such-model.gguf";
  const SelfTestReport report = runSelfTest(options);
  EXPECT_FALSE(report.passed());
  EXPECT_EQ(report.failedCount(), 1) << report.toText();
  const SelfTestCheck* generate = findCheck(report, "generate");
  ASSERT_NE(generate, nullptr);
  EXPECT_EQ(generate->result, CheckResult::kFail);
}

TEST(SelfTest, NoModelAndBrokenModelFail) {
  SelfTestOptions options;  // no model at all
  SelfTestReport report = runSelfTest(options);
  EXPECT_FALSE(report.passed());
  const SelfTestCheck* generate = findCheck(report, "generate");
  ASSERT_NE(generate, nullptr);
  EXPECT_NE(generate->detail.find("no model"), std::string::npos) << generate->detail;

  const std::filesystem::path broken = std::filesystem::temp_directory_path() / "tokenfab-self-test-broken.gguf";
  {
    std::ofstream out(broken, std::ios::binary);
    out << "GGUF but not really a GGUF file";
  }
  options.model = broken;
  report = runSelfTest(options);
  std::filesystem::remove(broken);
  EXPECT_FALSE(report.passed());
  generate = findCheck(report, "generate");
  ASSERT_NE(generate, nullptr);
  EXPECT_EQ(generate->result, CheckResult::kFail) << generate->detail;
}

}  // namespace
}  // namespace tokenfab::test
