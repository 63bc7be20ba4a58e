// Broken vocabularies give a clear error naming the problem, never a crash: built in memory
// (VocabData) and as tiny GGUF files (GgufWriter -> GgufFile::parse -> Tokenizer::fromGguf).
#include <gtest/gtest.h>

#include "tokenfab/gguf.h"
#include "tokenfab/tokenizer.h"

namespace tokenfab {
namespace {

using gguf::Value;
using gguf::ValueType;

// A tiny byte-level BPE vocabulary: the bytes of "a", "b", "ab", and one merge.
VocabData tinyBpe() {
  VocabData v;
  v.model = "gpt2";
  v.pre = "gpt-2";
  v.tokens = {"a", "b", "ab", "<|endoftext|>"};
  v.token_types = {1, 1, 1, 3};
  v.merges = {"a b"};
  v.eos_id = 3;
  v.bos_id = 3;
  return v;
}

VocabData tinySpm() {
  VocabData v;
  v.model = "llama";
  v.tokens = {"<unk>",
              "<s>",
              "</s>",
              "\xE2\x96\x81",
              "a",
              "\xE2\x96\x81"
              "a"};
  v.scores = {0, 0, 0, -1, -2, -0.5f};
  v.token_types = {2, 3, 3, 1, 1, 1};
  return v;
}

void expectError(const VocabData& v, Code code, std::string_view needle) {
  auto t = Tokenizer::fromVocab(v);
  ASSERT_FALSE(t.isOk()) << "expected an error mentioning '" << needle << "'";
  EXPECT_EQ(t.status().code(), code) << t.status().toString();
  EXPECT_NE(t.status().message().find(needle), std::string::npos) << t.status().toString();
}

TEST(MalformedVocab, TinyVocabulariesWork) {
  auto bpe = Tokenizer::fromVocab(tinyBpe());
  ASSERT_TRUE(bpe.isOk()) << bpe.status().toString();
  EXPECT_EQ(bpe->encode("ab", {.add_special = false}).value(), (std::vector<int32_t>{2}));
  auto spm = Tokenizer::fromVocab(tinySpm());
  ASSERT_TRUE(spm.isOk()) << spm.status().toString();
  // " a" -> "▁a" (score -0.5 beats nothing else), BOS added by default for SPM.
  EXPECT_EQ(spm->encode("a").value(), (std::vector<int32_t>{1, 5}));
}

TEST(MalformedVocab, EmptyVocab) {
  VocabData v = tinyBpe();
  v.tokens.clear();
  v.token_types.clear();
  expectError(v, Code::kTokenizerBadVocab, "empty vocabulary");
}

TEST(MalformedVocab, MissingMerges) {
  VocabData v = tinyBpe();
  v.merges.clear();
  expectError(v, Code::kTokenizerBadVocab, "merges");
}

TEST(MalformedVocab, MergeWithUnknownToken) {
  VocabData v = tinyBpe();
  v.merges = {"a b", "a zz"};
  expectError(v, Code::kTokenizerBadVocab, "a zz");
}

TEST(MalformedVocab, MergeWithoutSeparator) {
  VocabData v = tinyBpe();
  v.merges = {"ab"};
  expectError(v, Code::kTokenizerBadVocab, "not two tokens");
}

TEST(MalformedVocab, ScoresLengthMismatch) {
  VocabData v = tinySpm();
  v.scores.pop_back();
  expectError(v, Code::kTokenizerBadVocab, "scores");
}

TEST(MalformedVocab, TokenTypesLengthMismatch) {
  VocabData v = tinySpm();
  v.token_types.push_back(1);
  expectError(v, Code::kTokenizerBadVocab, "token_type");
}

TEST(MalformedVocab, OutOfRangeSpecialIds) {
  VocabData v = tinySpm();
  v.eos_id = 6;
  expectError(v, Code::kTokenizerBadVocab, "eos_token_id = 6");
  v = tinyBpe();
  v.bos_id = -7;
  expectError(v, Code::kTokenizerBadVocab, "bos_token_id = -7");
  v = tinyBpe();
  v.eot_id = 1000000;
  expectError(v, Code::kTokenizerBadVocab, "eot_token_id");
}

TEST(MalformedVocab, NoneSpecialIdIsAccepted) {
  VocabData v = tinyBpe();
  v.eot_id = 0xFFFFFFFFll;  // how converters write "none"
  auto t = Tokenizer::fromVocab(v);
  ASSERT_TRUE(t.isOk()) << t.status().toString();
  EXPECT_EQ(t->eot(), 3);  // then found by its text, <|endoftext|>
}

TEST(MalformedVocab, DuplicateTokens) {
  VocabData v = tinyBpe();
  v.tokens[1] = v.tokens[0];  // "a" twice (a copy, not a literal: GCC 12 warns falsely on the literal)
  expectError(v, Code::kTokenizerBadVocab, "duplicate");
}

TEST(MalformedVocab, UnknownModelAndPre) {
  VocabData v = tinyBpe();
  v.model = "ugm";
  expectError(v, Code::kTokenizerUnknownModel, "'ugm'");
  v = tinyBpe();
  v.pre = "made-up-pre";
  expectError(v, Code::kTokenizerUnknownPre, "made-up-pre");
}

TEST(MalformedVocab, AddBosWithoutBos) {
  VocabData v = tinySpm();
  v.tokens = {"a", "b"};  // the default BOS id 1 exists, so name one that does not
  v.scores = {0, 0};
  v.token_types = {1, 1};
  v.bos_id = 0xFFFFFFFFll;
  v.add_bos = true;
  expectError(v, Code::kTokenizerBadVocab, "BOS");
}

TEST(MalformedVocab, SpmByteWithoutFallbackIsAnErrorNotACrash) {
  VocabData v = tinySpm();
  v.tokens[0] = "x";
  v.token_types[0] = 1;
  v.unk_id = 0xFFFFFFFFll;
  auto t = Tokenizer::fromVocab(v);
  ASSERT_TRUE(t.isOk()) << t.status().toString();
  auto ids = t->encode("q");
  ASSERT_FALSE(ids.isOk());
  EXPECT_EQ(ids.status().code(), Code::kInvalidArgument);
  EXPECT_NE(ids.status().message().find("0x71"), std::string::npos) << ids.status().toString();
}

// The same problems arriving through a GGUF file.
Result<Tokenizer> fromWriter(const gguf::GgufWriter& writer) {
  auto bytes = writer.toBytes();
  if (!bytes) return bytes.status();
  auto file = gguf::GgufFile::parse(bytes.value());
  if (!file) return file.status();
  return Tokenizer::fromGguf(file.value());
}

std::vector<Value> strings(std::initializer_list<const char*> items) {
  std::vector<Value> out;
  for (const char* s : items) out.push_back(Value::string(s));
  return out;
}

TEST(MalformedVocab, GgufFiles) {
  {
    gguf::GgufWriter w;
    w.set("tokenizer.ggml.model", Value::string("gpt2"));
    w.set("tokenizer.ggml.tokens", Value::array(ValueType::kString, strings({"a", "b", "ab"})));
    w.set("tokenizer.ggml.merges", Value::array(ValueType::kString, strings({"a b"})));
    auto t = fromWriter(w);
    ASSERT_TRUE(t.isOk()) << t.status().toString();
    EXPECT_EQ(t->preName(), "default");  // no tokenizer.ggml.pre: the documented fallback
    EXPECT_EQ(t->encode("ab", {.add_special = false}).value(), (std::vector<int32_t>{2}));
  }
  {
    gguf::GgufWriter w;  // no tokenizer at all
    w.set("general.architecture", Value::string("llama"));
    auto t = fromWriter(w);
    ASSERT_FALSE(t.isOk());
    EXPECT_EQ(t.status().code(), Code::kTokenizerBadVocab);
  }
  {
    gguf::GgufWriter w;  // tokens of the wrong type
    w.set("tokenizer.ggml.model", Value::string("llama"));
    w.set("tokenizer.ggml.tokens", Value::array(ValueType::kInt32, {Value::i32(1), Value::i32(2)}));
    auto t = fromWriter(w);
    ASSERT_FALSE(t.isOk());
    EXPECT_EQ(t.status().code(), Code::kTokenizerBadVocab);
    EXPECT_NE(t.status().message().find("tokenizer.ggml.tokens"), std::string::npos);
  }
  {
    gguf::GgufWriter w;  // missing merges for BPE
    w.set("tokenizer.ggml.model", Value::string("gpt2"));
    w.set("tokenizer.ggml.pre", Value::string("qwen2"));
    w.set("tokenizer.ggml.tokens", Value::array(ValueType::kString, strings({"a", "b"})));
    auto t = fromWriter(w);
    ASSERT_FALSE(t.isOk());
    EXPECT_EQ(t.status().code(), Code::kTokenizerBadVocab);
  }
  {
    gguf::GgufWriter w;  // scores shorter than tokens
    w.set("tokenizer.ggml.model", Value::string("llama"));
    w.set("tokenizer.ggml.tokens", Value::array(ValueType::kString, strings({"<unk>", "<s>", "</s>"})));
    w.set("tokenizer.ggml.scores", Value::array(ValueType::kFloat32, {Value::f32(0)}));
    auto t = fromWriter(w);
    ASSERT_FALSE(t.isOk());
    EXPECT_EQ(t.status().code(), Code::kTokenizerBadVocab);
  }
  {
    gguf::GgufWriter w;  // special id out of range, stored as uint32
    w.set("tokenizer.ggml.model", Value::string("llama"));
    w.set("tokenizer.ggml.tokens", Value::array(ValueType::kString, strings({"<unk>", "<s>", "</s>"})));
    w.set("tokenizer.ggml.eos_token_id", Value::u32(3));
    auto t = fromWriter(w);
    ASSERT_FALSE(t.isOk());
    EXPECT_EQ(t.status().code(), Code::kTokenizerBadVocab);
  }
}

}  // namespace
}  // namespace tokenfab
