// The installation self-test: is there a usable Vulkan device, do the GPU ops agree with the
// float64 CPU references on small inputs, and does the model graph produce the same greedy
// tokens as the CPU reference backend. Used by `tokenfab-cli self-test` and the GUI's
// `--self-test` flag / Help menu (both print or show SelfTestReport::toText()).
//
// Everything runs on the calling thread and takes a few seconds on lavapipe with the demo model.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace tokenfab {

struct SelfTestOptions {
  std::filesystem::path model;  // the model for the generation check (the demo model); empty:
                                // that check fails with "no model"
  std::string device;           // as EngineOptions::device: index or name substring, empty = best
  bool validation = false;      // Vulkan validation layers; any message fails the op checks
  int32_t n_tokens = 8;         // greedy tokens compared between the Vulkan and reference backends
  uint64_t seed = 1;            // seed of the random op inputs (printed in the report)
};

enum class CheckResult { kPass, kFail };

struct SelfTestCheck {
  std::string name;    // "device", "op add", "op matvec q8_0", "generate (greedy, 8 tokens)", ...
  CheckResult result = CheckResult::kFail;
  std::string detail;  // "max error 1.2e-07 (bound 1e-06)" or the error message
  double ms = 0.0;
};

struct SelfTestReport {
  std::string device_report;  // vk::DeviceReport::toText() of the device used (empty: none)
  std::vector<SelfTestCheck> checks;
  uint64_t seed = 0;

  bool passed() const;  // every check passed (and there is at least one)
  int failedCount() const;
  // "PASS  op add   max error ...\n" per check, the device report, and a summary line.
  std::string toText() const;
};

// Called after each check (for progress output); may be empty.
using SelfTestProgressFn = std::function<void(const SelfTestCheck&)>;

// Never fails as a call: problems (no Vulkan loader, no device, a missing model) are failed
// checks in the report.
SelfTestReport runSelfTest(const SelfTestOptions& options, const SelfTestProgressFn& progress = {});

}  // namespace tokenfab
