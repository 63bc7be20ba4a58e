// The llama.cpp-style sampling flags (--temp, --top-k, ..., --samplers) -> SamplerConfig, with
// llama.cpp's defaults and range checks. Used by `generate` (and anything else that samples).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "cli.h"
#include "tokenfab/sampling.h"

namespace tokenfab::cli {

// Returns the value of flag `name` (e.g. "--top-k") and consumes it, or nullopt when absent.
// Called again for repeatable flags (--logit-bias, --dry-sequence-breaker) until nullopt.
using FlagLookup = std::function<std::optional<std::string>(std::string_view name)>;

Result<SamplerConfig> parseSamplerFlagValues(const FlagLookup& lookup);

// Consumes the sampling flags from args. kInvalidArgument (or kUnsupported for --mirostat 1)
// with a message naming the flag when a value does not parse or is out of range.
inline Result<SamplerConfig> parseSamplerFlags(Args& args) {
  return parseSamplerFlagValues([&args](std::string_view name) { return args.value(name); });
}

// For -v: every setting, and the chain as it will run ("logits -> top_k -> ... -> dist").
std::string describeSamplerConfig(const SamplerConfig& config);
// The flags' help lines, for a command's --help.
std::string samplerFlagsHelp();

}  // namespace tokenfab::cli
