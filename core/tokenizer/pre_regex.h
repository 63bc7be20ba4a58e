// A small backtracking regex matcher over code points, enough for the pre-tokenizer patterns
// llama.cpp uses (ECMAScript subset): alternation, groups, (?=...) (?!...), classes with
// \p{L} \p{N} \p{P} \p{S} \p{M} \s \S \d, ranges and negation, quantifiers ? * + {n,m}, and $.
// Semantics are leftmost-first like std::regex / PCRE. Categories are Unicode (utf8proc).
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "tokenfab/status.h"

namespace tokenfab::tok {

class PreRegex {
 public:
  static Result<PreRegex> compile(std::string_view pattern);

  PreRegex(PreRegex&&) noexcept;
  PreRegex& operator=(PreRegex&&) noexcept;
  ~PreRegex();

  // Searches cps[from, end) (flags[i] = charFlags(cps[i])); the text is treated as ending at
  // `end` (for $ and lookahead). On success sets [match_begin, match_end) and returns true.
  // `steps` (optional) counts the character tests and pattern nodes tried: the matcher's work.
  bool find(const uint32_t* cps, const uint8_t* flags, size_t from, size_t end, size_t& match_begin,
            size_t& match_end, uint64_t* steps = nullptr) const;

  struct Node;

 private:
  explicit PreRegex(std::unique_ptr<Node> root);
  std::unique_ptr<Node> m_root;
};

// Splits [0, n) into pieces: every match of `regex` inside each existing piece becomes its own
// piece and so does each gap between matches (llama.cpp's unicode_regex_split semantics).
// `lengths` holds the current piece lengths and is replaced.
void refineSplit(const PreRegex& regex, const uint32_t* cps, const uint8_t* flags,
                 std::vector<size_t>& lengths, uint64_t* steps = nullptr);

}  // namespace tokenfab::tok
