// tokenfab-cli check-ops: the GPU graph vs the float64 CPU reference, intermediate by
// intermediate; names the first op that diverges.
#include <cstdio>
#include <iostream>

#include "cli.h"
#include "engine_flags.h"
#include "tokenfab/check_ops.h"

namespace tokenfab::cli {
namespace {

int runCheckOps(std::span<const std::string> argv) {
  Args args(argv);
  if (args.flag("--help", "-h")) {
    std::cout << "usage: tokenfab-cli check-ops [-m MODEL] [-p PROMPT] [--bound B] [--all]\n\nmodel options:\n"
              << engineFlagsHelp();
    return kExitOk;
  }
  const std::string prompt = args.value("--prompt", "-p").value_or("Once upon a time");
  double bound = 1e-2;
  if (auto b = args.value("--bound")) bound = std::atof(b->c_str());
  const bool all = args.flag("--all");
  auto flags = parseEngineFlags(args);
  if (!flags.isOk()) return usageError(flags.status().message());
  if (!args.unknownOptions().empty()) return usageError("unknown option " + args.unknownOptions().front());
  // The tokenizer comes from a reference engine (no GPU work) so the prompt is the model's own.
  EngineOptions ref_options;
  ref_options.backend = Backend::kReference;
  auto engine = Engine::open(flags->model, ref_options);
  if (!engine.isOk()) return failure(engine.status().toString());
  auto tokens = (*engine)->tokenizer().encode(prompt);
  if (!tokens.isOk()) return failure(tokens.status().toString());
  auto report = checkOpsAgainstReference(flags->model, *tokens, flags->options, bound);
  if (!report.isOk()) return failure(report.status().toString());
  double worst = 0;
  for (size_t i = 0; i < report->entries.size(); ++i) {
    const OpCheckEntry& e = report->entries[i];
    worst = std::max(worst, e.error);
    if (all || int32_t(i) == report->first_divergent)
      std::printf("token %2d  %-22s max|err| %.3g  max|ref| %.3g  error %.3g%s\n", e.token_index, e.name.c_str(),
                  e.max_abs_error, e.max_abs_ref, e.error, int32_t(i) == report->first_divergent ? "  <- first divergence" : "");
  }
  std::printf("%zu intermediates over %zu tokens compared, worst normalised error %.3g (bound %.3g): %s\n",
              report->entries.size(), tokens->size(), worst, bound, report->ok() ? "ok" : "DIVERGES");
  return report->ok() ? kExitOk : kExitFailure;
}

}  // namespace

TF_CLI_COMMAND("check-ops", "run the GPU graph and the CPU reference side by side, name the first divergent op", runCheckOps);

}  // namespace tokenfab::cli
