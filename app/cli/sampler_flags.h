// The sampling flags from the CLI's arguments (tokenfab/sampler_flags.h does the parsing).
#pragma once

#include "cli.h"
#include "tokenfab/sampler_flags.h"

namespace tokenfab::cli {

inline Result<SamplerConfig> parseSamplerFlags(Args& args) {
  return parseSamplerFlagValues([&args](std::string_view name) { return args.value(name); });
}

}  // namespace tokenfab::cli
