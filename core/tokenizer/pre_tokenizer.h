// BPE pre-tokenizers selected by `tokenizer.ggml.pre`: the regex list each one applies in turn
// (patterns as llama.cpp's llama-vocab.cpp lists them) and the flags that come with the name.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tokenfab/status.h"
#include "tokenizer/pre_regex.h"

namespace tokenfab::tok {

struct PreTokenizer {
  std::string name;  // the canonical name ("default", "llama3", "qwen2", ...)
  std::vector<PreRegex> passes;
  std::vector<std::string> patterns;  // the source of each pass
  bool ignore_merges = false;         // a whole word that is a token is emitted as is
  bool add_bos = false;               // default for add_bos when the metadata does not say
};

// kTokenizerUnknownPre for a name we do not know; "" selects "default".
Result<PreTokenizer> makePreTokenizer(std::string_view pre);

// Splits UTF-8 text into words (as code point index ranges, returned as lengths).
// `steps` (optional) receives the matcher's work (EncodeWork::regex_steps).
std::vector<size_t> preTokenize(const PreTokenizer& pre, const std::vector<uint32_t>& cps,
                                const std::vector<uint8_t>& flags, uint64_t* steps = nullptr);

}  // namespace tokenfab::tok
