// Internal state of a Tokenizer, shared by the encoders and the decoder.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenfab/tokenizer.h"
#include "tokenizer/pre_tokenizer.h"

namespace tokenfab {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct Tokenizer::Impl {
  VocabKind kind = VocabKind::kSpm;
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<TokenType> types;
  std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>> text_to_id;
  size_t max_token_bytes = 0;

  // BPE: merge rank and result keyed by (left id << 32 | right id).
  struct Merge {
    int32_t rank;
    int32_t result;
  };
  std::unordered_map<uint64_t, Merge> merges;
  std::array<int32_t, 256> byte_token{};  // BPE: token of each byte's mapped character, or -1
  tok::PreTokenizer pre;

  // SPM: token of "<0xXX>" per byte, or -1.
  std::array<int32_t, 256> spm_byte_token{};

  int32_t bos = -1, eos = -1, eot = -1, eom = -1, unk = -1, sep = -1, pad = -1;
  bool add_bos = false, add_eos = false, add_sep = false, add_space_prefix = false;
  std::vector<int32_t> eog;
  std::vector<int32_t> specials;  // control / user-defined / unknown tokens, longest text first

  std::optional<int32_t> find(std::string_view text) const {
    auto it = text_to_id.find(text);
    if (it == text_to_id.end()) return std::nullopt;
    return it->second;
  }

  // Encoders for one run of plain text (no special tokens inside).
  // `work` receives the counts of EncodeWork.
  Status encodeSpm(std::string_view text, bool add_prefix, std::vector<int32_t>& out, EncodeWork& work) const;
  void encodeBpe(std::string_view text, std::vector<int32_t>& out, EncodeWork& work) const;
  void encodeWpm(std::string_view text, std::vector<int32_t>& out, EncodeWork& work) const;
};

}  // namespace tokenfab
