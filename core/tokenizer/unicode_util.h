// UTF-8 and Unicode helpers for the tokenizers. Categories and case come from utf8proc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tokenfab::tok {

inline constexpr uint32_t kReplacementChar = 0xFFFD;

// Character classes used by the pre-tokenizer regexes (bit flags).
enum CharFlag : uint8_t {
  kFlagLetter = 1 << 0,      // \p{L}
  kFlagNumber = 1 << 1,      // \p{N}
  kFlagPunct = 1 << 2,       // \p{P}
  kFlagSymbol = 1 << 3,      // \p{S}
  kFlagMark = 1 << 4,        // \p{M}
  kFlagWhitespace = 1 << 5,  // Unicode White_Space (what \s means in llama.cpp's splitters)
  kFlagControl = 1 << 6,     // \p{C}
};

uint8_t charFlags(uint32_t cp);

// Length of a UTF-8 sequence from its first byte, as llama.cpp counts it (1 for stray bytes).
size_t utf8SequenceLength(uint8_t lead);

// Decodes one code point at `pos` (strict UTF-8); an invalid sequence yields U+FFFD and
// advances one byte.
uint32_t decodeUtf8(std::string_view text, size_t& pos);
std::vector<uint32_t> toCodepoints(std::string_view text);
void appendUtf8(std::string& out, uint32_t cp);

// Number of bytes of a valid UTF-8 character at the start of `bytes`; 0 when `bytes` is a
// valid but incomplete prefix of one; -1 when the first byte can not start a valid character
// (given what follows).
int validUtf8Prefix(std::string_view bytes);

// Appends to `out` the longest prefix of `bytes` whose decoding cannot change with more input;
// invalid bytes become U+FFFD, one per byte. With `final`, everything is consumed. Returns the
// number of bytes consumed.
size_t sanitizeUtf8(std::string_view bytes, bool final, std::string& out);

// GPT-2 byte-level mapping: every byte has a printable code point.
uint32_t byteToCodepoint(uint8_t byte);
int codepointToByte(uint32_t cp);  // -1 when cp is not in the mapping

uint32_t toLower(uint32_t cp);
// Canonical decomposition (NFD) of a code point sequence.
std::vector<uint32_t> nfd(const std::vector<uint32_t>& cps);

}  // namespace tokenfab::tok
