// tokenfab-cli self-test [-m MODEL] [--device INDEX|NAME] [--validation] [--tokens N] [--seed N]:
// checks an installation (core/session/self_test.cpp): the Vulkan device, every GPU op against
// the CPU reference, greedy tokens of the demo model on Vulkan vs the CPU reference backend.
// Exit code 0 only when every check passes.
#include <cstdio>
#include <string>

#include "cli.h"
#include "engine_flags.h"
#include "tokenfab/self_test.h"

namespace tokenfab::cli {
namespace {

Result<int64_t> parseNumber(const std::string& flag, const std::string& text, int64_t lo, int64_t hi) {
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos)
    return Status(Code::kInvalidArgument, flag + ": not a number: '" + text + "'");
  const int64_t v = std::stoll(text);
  if (v < lo || v > hi)
    return Status(Code::kInvalidArgument, flag + ": " + text + " is outside " + std::to_string(lo) + ".." + std::to_string(hi));
  return v;
}

int runSelfTestCommand(std::span<const std::string> argv) {
  Args args(argv);
  if (args.flag("--help", "-h")) {
    std::printf(
        "usage: tokenfab-cli self-test [-m MODEL.gguf] [--device INDEX|NAME] [--validation] [--tokens N] [--seed N]\n"
        "  Checks this installation: finds the Vulkan device, runs every GPU op on small random inputs\n"
        "  against the float64 CPU reference, and generates N (default 8) greedy tokens with the model\n"
        "  (default: the built-in demo model) on Vulkan and on the CPU reference backend, which must agree.\n"
        "  Prints a PASS/FAIL line per check and the device report. Exit code 0 only when all pass.\n");
    return kExitOk;
  }
  SelfTestOptions options;
  if (auto m = args.value("--model", "-m")) {
    options.model = *m;
  } else if (auto demo = findDemoModel()) {
    options.model = *demo;
  }
  if (auto d = args.value("--device")) options.device = *d;
  options.validation = args.flag("--validation");
  if (auto t = args.value("--tokens")) {
    auto n = parseNumber("--tokens", *t, 1, 256);
    if (!n.isOk()) return usageError(n.status().message());
    options.n_tokens = static_cast<int32_t>(*n);
  }
  if (auto s = args.value("--seed")) {
    auto n = parseNumber("--seed", *s, 0, INT64_MAX);
    if (!n.isOk()) return usageError(n.status().message());
    options.seed = static_cast<uint64_t>(*n);
  }
  if (!args.unknownOptions().empty()) return usageError("self-test: unknown option " + args.unknownOptions()[0]);
  if (!args.positionals().empty()) return usageError("self-test: unexpected argument " + args.positionals()[0]);

  std::fprintf(stderr, "tokenfab self-test (model: %s)\n",
               options.model.empty() ? "none found" : options.model.string().c_str());
  const SelfTestReport report = runSelfTest(options, [](const SelfTestCheck& check) {
    std::fprintf(stderr, "  %s %s\n", check.result == CheckResult::kPass ? "ok  " : "FAIL", check.name.c_str());
  });
  std::printf("%s", report.toText().c_str());
  return report.passed() ? kExitOk : kExitFailure;
}

}  // namespace

TF_CLI_COMMAND("self-test", "check the installation: device, GPU ops vs CPU reference, demo model", runSelfTestCommand);

}  // namespace tokenfab::cli
