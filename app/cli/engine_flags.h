// Flags shared by the commands that run a model: -m, --device, --ref, --ctx, --batch,
// --validation, --kv-f32; and finding the built-in demo model when -m is not given.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "cli.h"
#include "tokenfab/engine.h"

namespace tokenfab::cli {

struct EngineFlags {
  std::filesystem::path model;
  EngineOptions options;
  int32_t n_ctx = 0;
  bool quiet = false;
};

// Consumes the flags; the model defaults to the built-in demo model.
Result<EngineFlags> parseEngineFlags(Args& args);
// Opens the engine, printing load progress to stderr unless quiet.
Result<std::unique_ptr<Engine>> openEngine(const EngineFlags& flags);
// The built-in demo model (resources/models/*.gguf next to the executable's share folder or
// the source tree), if any.
std::optional<std::filesystem::path> findDemoModel();
std::string engineFlagsHelp();

}  // namespace tokenfab::cli
