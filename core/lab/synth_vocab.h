// The synthetic tokenizer of a synth::Shape: exactly n_vocab tokens that tokenfab's (and
// llama.cpp's) tokenizer accepts, with the shape's BOS/EOS ids. The text it decodes to is made-up
// words: the weights are random, so is the output.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "tokenfab/gguf.h"
#include "tokenfab/synth.h"

namespace tokenfab::synth {

// Appends the tokenizer.ggml.* keys for `shape` to `kv`.
void appendVocab(const Shape& shape, std::vector<std::pair<std::string, gguf::Value>>& kv);

}  // namespace tokenfab::synth
