// The "check every op" debug mode: runs the GPU graph and the float64 CPU reference side by side,
// token by token, and reports the first intermediate that diverges. Slow; for finding which op of
// a new device, driver or model goes wrong (`tokenfab-cli check-ops`, TOKENFAB_CHECK_OPS=1).
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "tokenfab/engine.h"
#include "tokenfab/status.h"

namespace tokenfab {

struct OpCheckEntry {
  int32_t token_index = 0;    // which fed token (position) this intermediate belongs to
  std::string name;           // ref::ForwardTrace name: "inp_embd", "blk.0.q_rope", "result_norm"...
  double max_abs_error = 0.0;
  double max_abs_ref = 0.0;
  double error = 0.0;         // max_abs_error / max(1, max_abs_ref)
};

struct OpCheckReport {
  double bound = 0.0;
  std::vector<OpCheckEntry> entries;  // every compared intermediate, in graph order
  int32_t first_divergent = -1;       // index into entries, -1 when all are within the bound
  bool ok() const { return first_divergent < 0; }
};

// Feeds `tokens` one at a time through both backends. Errors: those of Engine::open, and
// kInternal when the GPU graph did not produce an intermediate the reference has.
Result<OpCheckReport> checkOpsAgainstReference(const std::filesystem::path& model, std::span<const int32_t> tokens,
                                               const EngineOptions& options, double bound = 1e-2);

}  // namespace tokenfab
