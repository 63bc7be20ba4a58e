// Streaming detokenizer and special tokens. Property: for random id sequences (fixed seeds),
// the streamed pieces concatenate to decode(all ids), and every piece is valid UTF-8.
#include <gtest/gtest.h>

#include <random>

#include "shared_data.h"
#include "tokenfab/gguf.h"
#include "tokenfab/tokenizer.h"
#include "tokenizer/unicode_util.h"

namespace tokenfab {
namespace {

Result<Tokenizer> load(const std::filesystem::path& path) {
  auto file = gguf::GgufFile::open(path);
  if (!file) return file.status();
  return Tokenizer::fromGguf(file.value());
}

bool validUtf8(std::string_view s) {
  for (size_t pos = 0; pos < s.size();) {
    const int n = tok::validUtf8Prefix(s.substr(pos));
    if (n <= 0) return false;
    pos += static_cast<size_t>(n);
  }
  return true;
}

class StreamProperty : public ::testing::TestWithParam<const char*> {};

TEST_P(StreamProperty, RandomIdsStreamToValidUtf8EqualToDecode) {
  TF_SHARED_FILE(model, std::string("models/vocab/ggml-vocab-") + GetParam() + ".gguf");
  auto tokenizer = load(model);
  ASSERT_TRUE(tokenizer.isOk()) << tokenizer.status().toString();
  const uint32_t seed = 20261123;
  std::mt19937 rng(seed);
  const int32_t n_vocab = tokenizer->vocabSize();
  // Byte-ish ids are over-represented so partial UTF-8 sequences are common.
  std::vector<int32_t> byte_ids;
  for (int32_t id = 0; id < n_vocab; ++id) {
    if (tokenizer->tokenBytes(id).size() == 1) byte_ids.push_back(id);
  }
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<int32_t> ids(rng() % 24);
    for (int32_t& id : ids) {
      const uint32_t r = rng() % 10;
      if (r < 4 && !byte_ids.empty())
        id = byte_ids[rng() % byte_ids.size()];
      else if (r == 4)
        id = tokenizer->bos();
      else if (r == 5)
        id = static_cast<int32_t>(rng() % 4) - 2;  // includes invalid ids -2, -1
      else
        id = static_cast<int32_t>(rng() % static_cast<uint32_t>(n_vocab));
    }
    for (bool render_special : {false, true}) {
      StreamDecoder decoder(*tokenizer, render_special);
      std::string streamed;
      for (int32_t id : ids) {
        const std::string piece = decoder.push(id);
        ASSERT_TRUE(validUtf8(piece)) << "seed " << seed << " trial " << trial;
        streamed += piece;
      }
      const std::string tail = decoder.flush();
      ASSERT_TRUE(validUtf8(tail)) << "seed " << seed << " trial " << trial;
      streamed += tail;
      ASSERT_EQ(streamed, tokenizer->decode(ids, render_special)) << "seed " << seed << " trial " << trial;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Vocabs, StreamProperty,
                         ::testing::Values("gpt-2", "llama-spm", "bert-bge", "deepseek-llm"),
                         [](const ::testing::TestParamInfo<const char*>& param_info) {
                           std::string name = param_info.param;
                           for (char& ch : name) {
                             if (ch == '-') ch = '_';
                           }
                           return name;
                         });

TEST(StreamDecoder, SpmByteTokensAssembleAndLeadingSpaceGoesAfterBos) {
  TF_SHARED_FILE(model, "models/vocab/ggml-vocab-llama-spm.gguf");
  auto tokenizer = load(model);
  ASSERT_TRUE(tokenizer.isOk()) << tokenizer.status().toString();
  // U+1F642 has no token in Llama-2's vocabulary: four <0x..> byte tokens after "▁".
  auto ids = tokenizer->encode("\xF0\x9F\x99\x82 hi");
  ASSERT_TRUE(ids.isOk());
  ASSERT_GE(ids->size(), 6u);
  EXPECT_EQ((*ids)[0], tokenizer->bos());
  StreamDecoder decoder(*tokenizer);
  std::vector<std::string> pieces;
  for (int32_t id : *ids) pieces.push_back(decoder.push(id));
  pieces.push_back(decoder.flush());
  std::string all;
  for (const std::string& p : pieces) all += p;
  EXPECT_EQ(all, "\xF0\x9F\x99\x82 hi");  // the "▁" the encoder added is gone
  // The emoji arrives whole on the fourth byte token, nothing before it.
  size_t emoji_piece = 0;
  while (emoji_piece < pieces.size() && pieces[emoji_piece].empty()) ++emoji_piece;
  ASSERT_LT(emoji_piece, pieces.size());
  EXPECT_EQ(pieces[emoji_piece].substr(0, 4), "\xF0\x9F\x99\x82");
  EXPECT_EQ(tokenizer->piece(tokenizer->bos()), "<s>");
  EXPECT_EQ(tokenizer->piece(*tokenizer->findToken("<0x0A>")), "<0x0A>");
}

TEST(StreamDecoder, ContinuingTextKeepsTheSpace) {
  TF_SHARED_FILE(model, "models/vocab/ggml-vocab-llama-spm.gguf");
  auto tokenizer = load(model);
  ASSERT_TRUE(tokenizer.isOk());
  const int32_t hello = *tokenizer->findToken("\xE2\x96\x81Hello");
  StreamDecoder fresh(*tokenizer);
  EXPECT_EQ(fresh.push(hello), "Hello");
  EXPECT_EQ(fresh.push(hello), " Hello");
  StreamDecoder continuing(*tokenizer);
  continuing.continueText();
  EXPECT_EQ(continuing.push(hello), " Hello");
}

TEST(StreamDecoder, InvalidBytesBecomeReplacementCharacters) {
  TF_SHARED_FILE(model, "models/vocab/ggml-vocab-llama-spm.gguf");
  auto tokenizer = load(model);
  ASSERT_TRUE(tokenizer.isOk());
  const int32_t f0 = *tokenizer->findToken("<0xF0>"), x9f = *tokenizer->findToken("<0x9F>");
  const int32_t ff = *tokenizer->findToken("<0xFF>"), a = *tokenizer->findToken("a");
  StreamDecoder decoder(*tokenizer);
  EXPECT_EQ(decoder.push(f0), "");
  EXPECT_EQ(decoder.push(x9f), "");
  EXPECT_EQ(decoder.push(a),
            "\xEF\xBF\xBD\xEF\xBF\xBD"
            "a");  // F0 9F then 'a': two U+FFFD
  EXPECT_EQ(decoder.push(ff), "\xEF\xBF\xBD");
  EXPECT_EQ(decoder.push(f0), "");
  EXPECT_EQ(decoder.flush(), "\xEF\xBF\xBD");  // an unfinished character at the end
}

TEST(SpecialTokens, ParsedOnlyWhenAskedAndEogFromMetadata) {
  TF_SHARED_FILE(model, "models/vocab/ggml-vocab-gpt-2.gguf");
  auto tokenizer = load(model);
  ASSERT_TRUE(tokenizer.isOk());
  const int32_t eot = *tokenizer->findToken("<|endoftext|>");
  EXPECT_EQ(eot, 50256);
  auto plain = tokenizer->encode("a<|endoftext|>b", {.add_special = false, .parse_special = false});
  auto parsed = tokenizer->encode("a<|endoftext|>b", {.add_special = false, .parse_special = true});
  ASSERT_TRUE(plain.isOk() && parsed.isOk());
  EXPECT_EQ(std::count(plain->begin(), plain->end(), eot), 0);
  ASSERT_EQ(parsed->size(), 3u);
  EXPECT_EQ((*parsed)[1], eot);
  EXPECT_TRUE(tokenizer->isEog(eot));
  EXPECT_FALSE(tokenizer->isEog((*parsed)[0]));
  EXPECT_EQ(tokenizer->decode(*parsed), "ab");                     // control tokens hidden
  EXPECT_EQ(tokenizer->decode(*parsed, true), "a<|endoftext|>b");  // or rendered
  EXPECT_FALSE(tokenizer->addsBos());
}

TEST(SpecialTokens, SpmEosAndControlTexts) {
  TF_SHARED_FILE(model, "models/vocab/ggml-vocab-llama-spm.gguf");
  auto tokenizer = load(model);
  ASSERT_TRUE(tokenizer.isOk());
  EXPECT_EQ(tokenizer->bos(), 1);
  EXPECT_EQ(tokenizer->eos(), 2);
  EXPECT_TRUE(tokenizer->isEog(2));
  EXPECT_TRUE(tokenizer->addsBos());
  auto ids = tokenizer->encode("x</s>", {.add_special = true, .parse_special = true});
  ASSERT_TRUE(ids.isOk());
  EXPECT_EQ(ids->back(), 2);
  auto literal = tokenizer->encode("x</s>", {.add_special = true, .parse_special = false});
  ASSERT_TRUE(literal.isOk());
  EXPECT_EQ(std::count(literal->begin(), literal->end(), 2), 0);
  EXPECT_EQ(tokenizer->decode(*literal), "x</s>");
}

}  // namespace
}  // namespace tokenfab
