// The architecture table: one row per supported `general.architecture`.
#include <array>

#include "tokenfab/model.h"

namespace tokenfab::model {
namespace {

// Mistral, TinyLlama, SmolLM and Llama 2/3.x all convert to `llama`; Qwen2/2.5 to `qwen2`;
// Qwen3 dense models to `qwen3` (no biases; head_dim from attention.key_length, so q may be
// wider than n_embd).
constexpr std::array<ArchInfo, 3> kArchs = {{
    {"llama", RopeLayout::kAdjacent, /*qkv_bias_required=*/false, /*qk_norm=*/false},
    {"qwen2", RopeLayout::kNeox, /*qkv_bias_required=*/true, /*qk_norm=*/false},
    {"qwen3", RopeLayout::kNeox, /*qkv_bias_required=*/false, /*qk_norm=*/true},
}};

}  // namespace

std::span<const ArchInfo> supportedArchs() { return kArchs; }

const ArchInfo* findArch(std::string_view name) {
  for (const ArchInfo& info : kArchs) {
    if (info.name == name) return &info;
  }
  return nullptr;
}


std::string_view ropeScalingName(RopeScaling scaling) {
  switch (scaling) {
    case RopeScaling::kNone:
      return "none";
    case RopeScaling::kLinear:
      return "linear";
    case RopeScaling::kYarn:
      return "yarn";
  }
  return "?";
}

}  // namespace tokenfab::model
