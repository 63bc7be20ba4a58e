// What every backend (and the lab's check-ops) reads from a model file before any heavy work:
// the validated GGUF, the model description, the tokenizer and the chat template.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "model/gpu_model.h"
#include "tokenfab/engine.h"
#include "tokenfab/gguf.h"
#include "tokenfab/model.h"
#include "tokenfab/tokenizer.h"

namespace tokenfab::detail {

struct Opened {
  gguf::GgufFile file;
  model::ModelConfig config;
  Tokenizer tokenizer;
  std::optional<std::string> chat_template;
};

// Errors: the GGUF, support, model and tokenizer codes; kCancelled when `progress` says stop.
Result<Opened> openModelFile(const std::filesystem::path& path, const ProgressFn& progress);

// The opened file's weights on the Vulkan device `options` choose.
Result<std::unique_ptr<model::GpuModel>> loadGpuModel(const Opened& opened, const EngineOptions& options,
                                                      const ProgressFn& progress);

}  // namespace tokenfab::detail
