// Can tokenfab run this GGUF file? A quick check on metadata and tensor infos only (no weights
// read), used by `tokenfab-cli info`, the GUI's file picker and before a model is loaded.
#pragma once

#include <string_view>
#include <vector>

#include "tokenfab/gguf.h"
#include "tokenfab/status.h"

namespace tokenfab {

// The tensor types the engine runs: those the type table (gguf::typeTraits) marks decoded on the
// GPU and by the CPU reference (the architectures are model::supportedArchs()).
bool isRunnableTensorType(gguf::TensorType type);

// Ok when the file has a supported architecture, only runnable tensor types, the core tensors
// (token_embd, per-block attention and FFN weights and norms, output_norm) and a tokenizer.
// Otherwise the first problem found, e.g. kModelUnsupportedArch "architecture 'quant-zoo' is not
// supported (supported: llama, qwen2, qwen3, gemma2, gemma3)", kUnsupported "tensor blk.0.ffn_up.weight has type IQ2_XXS,
// which tokenfab cannot run yet", kModelMissingTensor, kModelBadHyperParams (no block_count),
// kModelNotAModel (no general.architecture), kTokenizerBadVocab (no tokenizer).
Status checkRunnable(const gguf::GgufFile& file);
// Every problem, in the same order checkRunnable would find them (empty when runnable).
std::vector<Status> runnableProblems(const gguf::GgufFile& file);

}  // namespace tokenfab
