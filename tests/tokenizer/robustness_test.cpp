// Hostile and random text on every shared vocabulary: random bytes (mostly invalid UTF-8) never
// fail or crash and decode to valid UTF-8; random valid Unicode text round-trips exactly through
// the lossless tokenizers (SPM with byte fallback, byte-level BPE). Fixed seeds.
#include <gtest/gtest.h>

#include <random>

#include "shared_data.h"
#include "tokenfab/gguf.h"
#include "tokenfab/tokenizer.h"
#include "tokenizer/unicode_util.h"

namespace tokenfab {
namespace {

bool validUtf8(std::string_view s) {
  for (size_t pos = 0; pos < s.size();) {
    const int n = tok::validUtf8Prefix(s.substr(pos));
    if (n <= 0) return false;
    pos += static_cast<size_t>(n);
  }
  return true;
}

std::string randomUnicode(std::mt19937& rng, size_t n_chars) {
  // (first, last) code point ranges: ASCII, Latin-1, combining marks, Greek, Cyrillic, Arabic,
  // Devanagari, odd spaces, CJK, Hangul, fullwidth, emoji, ZWJ, astral letters.
  static const std::pair<uint32_t, uint32_t> kRanges[] = {
      {0x20, 0x7E},     {0x20, 0x7E},       {0x09, 0x0D},     {0xA0, 0xFF},     {0x300, 0x36F},
      {0x370, 0x3FF},   {0x400, 0x4FF},     {0x600, 0x6FF},   {0x900, 0x97F},   {0x2000, 0x206F},
      {0x3000, 0x3003}, {0x4E00, 0x4FFF},   {0xAC00, 0xACFF}, {0xFF01, 0xFF5E}, {0x1F300, 0x1F64F},
      {0x200D, 0x200D}, {0x10400, 0x1044F}, {0x85, 0x85}};
  std::string out;
  for (size_t i = 0; i < n_chars; ++i) {
    const auto& [lo, hi] = kRanges[rng() % std::size(kRanges)];
    tok::appendUtf8(out, lo + static_cast<uint32_t>(rng() % (hi - lo + 1)));
  }
  return out;
}

// Some BPE vocabularies have no token for a few bytes (falcon: several control bytes and 0xF2;
// refact/starcoder: 0xF1). Those bytes are dropped, as llama.cpp drops them; text that holds
// one is not expected to round-trip.
bool everyByteHasToken(const Tokenizer& tokenizer, std::string_view text) {
  if (tokenizer.kind() != VocabKind::kBpe) return true;
  for (char c : text) {
    std::string mapped;
    tok::appendUtf8(mapped, tok::byteToCodepoint(static_cast<uint8_t>(c)));
    if (!tokenizer.findToken(mapped)) return false;
  }
  return true;
}

class Robustness : public ::testing::TestWithParam<const char*> {};

TEST_P(Robustness, RandomBytesAndRandomUnicode) {
  TF_SHARED_FILE(model, std::string("models/vocab/ggml-vocab-") + GetParam() + ".gguf");
  auto file = gguf::GgufFile::open(model);
  ASSERT_TRUE(file.isOk()) << file.status().toString();
  auto tokenizer = Tokenizer::fromGguf(file.value());
  ASSERT_TRUE(tokenizer.isOk()) << tokenizer.status().toString();
  const bool lossless = tokenizer->kind() != VocabKind::kWpm;
  const uint32_t seed = 777;
  std::mt19937 rng(seed);
  for (int trial = 0; trial < 200; ++trial) {
    std::string bytes(rng() % 64, '\0');
    for (char& c : bytes) c = static_cast<char>(rng() & 0xFF);
    auto ids = tokenizer->encode(bytes, {.add_special = true, .parse_special = (trial % 2) == 1});
    ASSERT_TRUE(ids.isOk()) << "seed " << seed << " trial " << trial << ": " << ids.status().toString();
    for (int32_t id : *ids) ASSERT_TRUE(id >= 0 && id < tokenizer->vocabSize());
    ASSERT_TRUE(validUtf8(tokenizer->decode(*ids))) << "seed " << seed << " trial " << trial;

    const std::string text = randomUnicode(rng, rng() % 48);
    auto text_ids = tokenizer->encode(text, {.add_special = true, .parse_special = false});
    ASSERT_TRUE(text_ids.isOk()) << text_ids.status().toString();
    const std::string back = tokenizer->decode(*text_ids);
    ASSERT_TRUE(validUtf8(back));
    if (lossless && everyByteHasToken(*tokenizer, text)) {
      ASSERT_EQ(back, text) << "seed " << seed << " trial " << trial;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Vocabs, Robustness,
                         ::testing::Values("llama-spm", "phi-3", "baichuan", "gpt-2", "gpt-neox", "mpt",
                                           "falcon", "deepseek-coder", "deepseek-llm", "refact", "starcoder",
                                           "bert-bge"),
                         [](const ::testing::TestParamInfo<const char*>& param_info) {
                           std::string name = param_info.param;
                           for (char& ch : name) {
                             if (ch == '-') ch = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace tokenfab
