#include "tokenfab/support.h"

#include <span>
#include <string>

#include "tokenfab/model.h"

namespace tokenfab {
namespace {

constexpr const char* kBlockTensors[] = {"attn_norm", "attn_q", "attn_k",  "attn_v",  "attn_output",
                                         "ffn_norm",  "ffn_gate", "ffn_up", "ffn_down"};
// Architectures with ArchInfo::fused_qkv_up (phi3): ffn_up holds gate and up; attn_qkv, when
// present, replaces attn_q/k/v.
constexpr const char* kFusedBlockTensors[] = {"attn_norm", "attn_output", "ffn_norm", "ffn_up", "ffn_down"};
// Architectures with ArchInfo::qk_norm also need these in every block.
constexpr const char* kQkNormTensors[] = {"attn_q_norm", "attn_k_norm"};
// Gemma's norms of the attention and FFN outputs.
constexpr const char* kPostNormTensors[] = {"post_attention_norm", "post_ffw_norm"};
// A cap so a hostile block_count cannot make the check loop for long (real models: < 200).
constexpr uint64_t kMaxBlocks = 1u << 16;

std::string supportedList() {
  std::string out;
  for (const model::ArchInfo& a : model::supportedArchs()) {
    if (!out.empty()) out += ", ";
    out += a.name;
  }
  return out;
}

}  // namespace

bool isRunnableTensorType(gguf::TensorType type) {
  const gguf::TypeTraits* traits = gguf::typeTraits(type);
  return traits != nullptr && traits->gpu_decode && traits->cpu_decode;
}

std::vector<Status> runnableProblems(const gguf::GgufFile& file) {
  std::vector<Status> problems;
  auto arch = file.getString("general.architecture");
  const model::ArchInfo* arch_info = arch.isOk() ? model::findArch(*arch) : nullptr;
  if (!arch.isOk()) {
    problems.emplace_back(Code::kModelNotAModel, arch.status().code() == Code::kNotFound
                                                     ? "no general.architecture: not a model file"
                                                     : "general.architecture is not a string");
  } else {
    if (arch_info == nullptr)
      problems.emplace_back(Code::kModelUnsupportedArch,
                            "architecture '" + *arch + "' is not supported (supported: " + supportedList() + ")");
  }

  for (const gguf::TensorInfo& t : file.tensors()) {
    if (!isRunnableTensorType(t.type))
      problems.emplace_back(Code::kUnsupported, "tensor " + t.name + " has type " + std::string(gguf::typeName(t.type)) +
                                                    ", which tokenfab cannot run yet");
  }

  if (file.tensors().empty()) {
    problems.emplace_back(Code::kModelNotAModel, "the file has no tensors (a vocab-only file?)");
  }
  auto require = [&](const std::string& name) {
    if (file.tensor(name) == nullptr) problems.emplace_back(Code::kModelMissingTensor, "tensor " + name + " is missing");
  };
  if (!file.tensors().empty()) require("token_embd.weight");
  if (arch.isOk() && !file.tensors().empty()) {
    auto blocks = file.getUint(*arch + ".block_count");
    if (!blocks.isOk()) {
      problems.emplace_back(Code::kModelBadHyperParams, *arch + ".block_count is missing or not an unsigned integer");
    } else if (*blocks == 0 || *blocks > kMaxBlocks) {
      problems.emplace_back(Code::kModelBadHyperParams, *arch + ".block_count " + std::to_string(*blocks) + " is out of range");
    } else {
      const bool fused = arch_info != nullptr && arch_info->fused_qkv_up;
      for (uint64_t b = 0; b < *blocks; ++b) {
        const std::string blk = "blk." + std::to_string(b) + ".";
        const std::span<const char* const> parts = fused ? std::span<const char* const>(kFusedBlockTensors)
                                                         : std::span<const char* const>(kBlockTensors);
        for (const char* part : parts) require(blk + part + ".weight");
        // phi3: attn_qkv, or else separate attn_q/k/v
        if (fused && file.tensor(blk + "attn_qkv.weight") == nullptr)
          for (const char* part : {"attn_q", "attn_k", "attn_v"}) require(blk + part + ".weight");
        if (arch_info != nullptr && arch_info->qk_norm)
          for (const char* part : kQkNormTensors) require("blk." + std::to_string(b) + "." + part + ".weight");
        if (arch_info != nullptr && arch_info->gemma)
          for (const char* part : kPostNormTensors) require("blk." + std::to_string(b) + "." + part + ".weight");
      }
    }
  }
  if (!file.tensors().empty()) require("output_norm.weight");
  if (file.tensor("rope_factors_long.weight") != nullptr || file.tensor("rope_factors_short.weight") != nullptr)
    problems.emplace_back(Code::kUnsupported, "phi3 LongRoPE (rope_factors_long/short, the 128k models) is not supported yet");

  const bool has_model = file.find("tokenizer.ggml.model") != nullptr;
  const gguf::Value::Array* tokens = file.getArray("tokenizer.ggml.tokens");
  if (!has_model || tokens == nullptr || tokens->items.empty())
    problems.emplace_back(Code::kTokenizerBadVocab, "no tokenizer (tokenizer.ggml.model and tokenizer.ggml.tokens are needed)");
  return problems;
}

Status checkRunnable(const gguf::GgufFile& file) {
  std::vector<Status> problems = runnableProblems(file);
  return problems.empty() ? Status::ok() : problems.front();
}

}  // namespace tokenfab
