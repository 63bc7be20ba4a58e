// runSelfTest: device, every GPU op on small random inputs vs the float64 references in core/ref,
// and greedy generation on the Vulkan backend vs the CPU reference backend.
#include "tokenfab/self_test.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <sstream>

#include "tokenfab/engine.h"
#include "tokenfab/op_cases.h"
#include "tokenfab/vk.h"

namespace tokenfab {
namespace {

using Clock = std::chrono::steady_clock;

// Greedy generation: Vulkan may pick another token only where the reference's two candidates
// are this close in logit (the f16 KV cache and f32 accumulation move logits by ~1e-3).
constexpr double kGreedyTieGap = 1e-2;

// ---- the runner ----

class Runner {
 public:
  Runner(SelfTestReport& report, const SelfTestProgressFn& progress) : m_report(report), m_progress(progress) {}

  template <typename Fn>
  bool run(std::string name, Fn&& fn) {
    SelfTestCheck check;
    check.name = std::move(name);
    const auto start = Clock::now();
    Result<std::string> result = fn();
    check.ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    check.result = result.isOk() ? CheckResult::kPass : CheckResult::kFail;
    check.detail = result.isOk() ? *result : result.status().toString();
    if (m_progress) m_progress(check);
    m_report.checks.push_back(std::move(check));
    return m_report.checks.back().result == CheckResult::kPass;
  }

 private:
  SelfTestReport& m_report;
  const SelfTestProgressFn& m_progress;
};

vk::DeviceOptions deviceOptions(const SelfTestOptions& options) {
  vk::DeviceOptions d;
  d.validation = options.validation;
  d.setChoice(options.device);
  return d;
}

// Every case of the op-case table (tokenfab/op_cases.h) on small random inputs; a case the
// device has no path for is reported as such and passes.
void runOpChecks(Runner& runner, vk::Device& dev, uint64_t seed) {
  for (const lab::OpCase& c : lab::opCases()) {
    runner.run("op " + c.name, [&]() -> Result<std::string> {
      TF_ASSIGN_OR_RETURN(lab::CheckOutcome outcome, lab::check(dev, c, seed));
      if (dev.validationEnabled() && dev.validationMessageCount() > 0) {
        const std::string first = dev.validationMessages().front();
        dev.clearValidationMessages();
        return Status(Code::kInternal, "Vulkan validation: " + first);
      }
      return outcome.skipped ? "not on this device: " + outcome.detail : outcome.detail;
    });
  }
}

struct GreedyRun {
  std::vector<int32_t> tokens;
  std::vector<std::vector<float>> logits;  // per generated token (reference run only)
};

Result<GreedyRun> greedyTokens(const SelfTestOptions& options, Backend backend, bool keep_logits) {
  EngineOptions engine_options;
  engine_options.backend = backend;
  engine_options.device = options.device;
  engine_options.validation = options.validation;
  TF_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, Engine::open(options.model, engine_options));
  TF_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, engine->newSession(64));
  TF_ASSIGN_OR_RETURN(std::vector<int32_t> prompt, engine->tokenizer().encode("Once upon a time"));
  if (prompt.empty()) return Status(Code::kInternal, "the prompt encoded to no tokens");
  GenerateOptions generate;
  generate.sampler.temperature = 0.0;  // greedy: only the argmax survives
  generate.max_tokens = options.n_tokens;
  generate.stop_at_eog = false;
  generate.keep_full_logits = keep_logits;
  GreedyRun run;
  TF_ASSIGN_OR_RETURN(GenerateResult result, session->generate(prompt, generate, [&](const StepEvent& step) {
    if (keep_logits) run.logits.emplace_back(step.logits.begin(), step.logits.end());
    return true;
  }));
  run.tokens = std::move(result.tokens);
  return run;
}

std::string joinIds(const std::vector<int32_t>& ids) {
  std::string out;
  for (int32_t id : ids) {
    if (!out.empty()) out += ' ';
    out += std::to_string(id);
  }
  return out;
}

}  // namespace

bool SelfTestReport::passed() const { return !checks.empty() && failedCount() == 0; }

int SelfTestReport::failedCount() const {
  return static_cast<int>(std::count_if(checks.begin(), checks.end(),
                                        [](const SelfTestCheck& c) { return c.result != CheckResult::kPass; }));
}

std::string SelfTestReport::toText() const {
  std::ostringstream out;
  if (!device_report.empty()) out << "Device:\n" << device_report << "\n";
  size_t width = 0;
  for (const SelfTestCheck& c : checks) width = std::max(width, c.name.size());
  for (const SelfTestCheck& c : checks) {
    char ms[32];
    std::snprintf(ms, sizeof ms, "%8.1f ms", c.ms);
    out << (c.result == CheckResult::kPass ? "PASS  " : "FAIL  ") << c.name << std::string(width - c.name.size() + 2, ' ')
        << ms << "  " << c.detail << "\n";
  }
  out << "\nself-test " << (passed() ? "PASSED" : "FAILED") << ": " << checks.size() - size_t(failedCount()) << " of "
      << checks.size() << " checks passed (seed " << seed << ")\n";
  return out.str();
}

SelfTestReport runSelfTest(const SelfTestOptions& options, const SelfTestProgressFn& progress) {
  SelfTestReport report;
  report.seed = options.seed;
  Runner runner(report, progress);

  std::unique_ptr<vk::Device> device;
  const bool have_device = runner.run("Vulkan device", [&]() -> Result<std::string> {
    TF_ASSIGN_OR_RETURN(device, vk::Device::create(deviceOptions(options)));
    report.device_report = device->report().toText();
    return device->report().name + " (" + device->report().type + ")";
  });
  if (have_device) runOpChecks(runner, *device, options.seed);
  device.reset();  // the engine opens its own device

  const std::string name = "generate " + std::to_string(options.n_tokens) + " greedy tokens: Vulkan == CPU reference";
  runner.run(name, [&]() -> Result<std::string> {
    if (options.model.empty()) return Status(Code::kNotFound, "no model to generate with (the demo model was not found)");
    if (!have_device) return Status(Code::kVkNoDevice, "no Vulkan device");
    TF_ASSIGN_OR_RETURN(GreedyRun gpu, greedyTokens(options, Backend::kVulkan, false));
    TF_ASSIGN_OR_RETURN(GreedyRun cpu, greedyTokens(options, Backend::kReference, true));
    if (gpu.tokens.size() != size_t(options.n_tokens) || cpu.tokens.size() != gpu.tokens.size())
      return Status(Code::kInternal, "generated " + std::to_string(gpu.tokens.size()) + " tokens on Vulkan, " +
                                         std::to_string(cpu.tokens.size()) + " on the reference");
    for (size_t i = 0; i < gpu.tokens.size(); ++i) {
      if (gpu.tokens[i] == cpu.tokens[i]) continue;
      // The first difference. Same prefix, so the reference's logits of this step decide: a near
      // tie (f16 KV cache, f32 sums) may flip the argmax; anything wider is a wrong result.
      const std::vector<float>& logits = i < cpu.logits.size() ? cpu.logits[i] : std::vector<float>{};
      const auto in_range = [&](int32_t id) { return id >= 0 && size_t(id) < logits.size(); };
      const double gap = in_range(gpu.tokens[i]) && in_range(cpu.tokens[i])
                             ? double(logits[size_t(cpu.tokens[i])]) - double(logits[size_t(gpu.tokens[i])])
                             : INFINITY;
      if (!(gap <= kGreedyTieGap))
        return Status(Code::kInternal, "Vulkan tokens [" + joinIds(gpu.tokens) + "] differ from the reference [" +
                                           joinIds(cpu.tokens) + "] at token " + std::to_string(i) +
                                           " (reference logit gap " + std::to_string(gap) + ")");
      return options.model.filename().string() + ": [" + joinIds(cpu.tokens) + "], equal up to token " +
             std::to_string(i) + " where the two best logits are a near tie (gap " + std::to_string(gap) + ")";
    }
    return options.model.filename().string() + ": [" + joinIds(gpu.tokens) + "]";
  });
  return report;
}

}  // namespace tokenfab
