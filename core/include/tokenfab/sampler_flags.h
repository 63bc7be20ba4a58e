// The llama.cpp-style sampling flags (--temp, --top-k, ..., --samplers) <-> SamplerConfig, with
// llama.cpp's defaults and range checks; driven by samplerFields(). The CLI reads them from its
// arguments; the GUI prints the flags that reproduce its settings.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenfab/sampling.h"

namespace tokenfab {

// Returns the value of flag `name` (e.g. "--top-k") and consumes it, or nullopt when absent.
// Called again for repeatable flags (--logit-bias, --dry-sequence-breaker) until nullopt.
using FlagLookup = std::function<std::optional<std::string>(std::string_view name)>;

// kInvalidArgument (or kUnsupported for --mirostat 1) with a message naming the flag when a
// value does not parse or is out of range.
Result<SamplerConfig> parseSamplerFlagValues(const FlagLookup& lookup);
// The flags that give `config` from the defaults (parseSamplerFlagValues reads them back to it).
std::vector<std::string> samplerFlagArgs(const SamplerConfig& config);

// For -v: every setting, and the chain as it will run ("logits -> top_k -> ... -> dist").
std::string describeSamplerConfig(const SamplerConfig& config);
// The flags' help lines, for a command's --help.
std::string samplerFlagsHelp();

}  // namespace tokenfab
