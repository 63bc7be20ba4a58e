// The architecture table: one row per supported `general.architecture`.
#include <array>

#include "tokenfab/model.h"

namespace tokenfab::model {
namespace {

// Mistral, TinyLlama, SmolLM and Llama 2/3.x all convert to `llama`; Qwen2/2.5 to `qwen2`;
// Qwen3 dense models to `qwen3` (no biases; head_dim from attention.key_length, so q may be
// wider than n_embd); Phi-3, Phi-3.5 and Phi-4-mini to `phi3` (fused attn_qkv and gate|up;
// llama.cpp reads its attention.sliding_window but runs full attention, and so do we).
// Gemma 2 and 3 (text): NEOX rope, post-norms, GELU FFN, scaled embeddings; gemma2 slides on even
// blocks (pattern 2) with the global rope base, gemma3 on five of every six (pattern 6) with a
// base of 10000 there, and has per-head q/k norms.
constexpr std::array<ArchInfo, 6> kArchs = {{
    {"llama", RopeLayout::kAdjacent, /*qkv_bias_required=*/false, /*qk_norm=*/false},
    {"qwen2", RopeLayout::kNeox, /*qkv_bias_required=*/true, /*qk_norm=*/false},
    {"qwen3", RopeLayout::kNeox, /*qkv_bias_required=*/false, /*qk_norm=*/true},
    {"phi3", RopeLayout::kNeox, /*qkv_bias_required=*/false, /*qk_norm=*/false, /*fused_qkv_up=*/true},
    {"gemma2", RopeLayout::kNeox, /*qkv_bias_required=*/false, /*qk_norm=*/false, /*fused_qkv_up=*/false,
     /*gemma=*/true, /*swa_pattern=*/2},
    {"gemma3", RopeLayout::kNeox, /*qkv_bias_required=*/false, /*qk_norm=*/true, /*fused_qkv_up=*/false,
     /*gemma=*/true, /*swa_pattern=*/6, /*rope_base_swa=*/10000.0},
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
