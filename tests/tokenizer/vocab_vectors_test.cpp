// llama.cpp's tokenizer conformance vectors: every .inp/.out pair in shared/models/vocab must
// match exactly (add_special=false, parse_special=false), plus decode round trips and speed.
#include <gtest/gtest.h>

#include <chrono>
#include <sstream>

#include "shared_data.h"
#include "tokenfab/gguf.h"
#include "tokenfab/tokenizer.h"

namespace tokenfab {
namespace {

std::vector<std::string> splitInputs(const std::string& all) {
  static const std::string kSep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> out;
  size_t pos = 0;
  while (true) {
    const size_t hit = all.find(kSep, pos);
    if (hit == std::string::npos) {
      out.push_back(all.substr(pos));
      break;
    }
    out.push_back(all.substr(pos, hit - pos));
    pos = hit + kSep.size();
  }
  // The file ends with a separator followed by nothing: that last empty piece is not a case.
  if (!out.empty() && out.back().empty()) out.pop_back();
  return out;
}

std::vector<std::vector<int32_t>> parseOutputs(const std::string& all) {
  std::vector<std::vector<int32_t>> out;
  std::istringstream lines(all);
  std::string line;
  while (std::getline(lines, line)) {
    std::vector<int32_t> ids;
    std::istringstream words(line);
    int32_t id;
    while (words >> id) ids.push_back(id);
    out.push_back(std::move(ids));
  }
  return out;
}

std::string showIds(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) s += std::to_string(id) + " ";
  return s;
}

Tokenizer loadTokenizer(const std::filesystem::path& path) {
  auto file = gguf::GgufFile::open(path);
  EXPECT_TRUE(file.isOk()) << file.status().toString();
  auto tokenizer = Tokenizer::fromGguf(file.value());
  EXPECT_TRUE(tokenizer.isOk()) << tokenizer.status().toString();
  return std::move(tokenizer).value();
}

// Decoding is lossless for byte-level BPE and for SPM with byte fallback (all these inputs);
// WordPiece lowercases and drops whitespace, so it is not checked.
void checkVocab(const std::string& name) {
  TF_SHARED_FILE(model, "models/vocab/ggml-vocab-" + name + ".gguf");
  const std::string inp = test::readFile(model.string() + ".inp");
  const std::string outp = test::readFile(model.string() + ".out");
  ASSERT_FALSE(inp.empty());
  const auto inputs = splitInputs(inp);
  const auto expected = parseOutputs(outp);
  ASSERT_EQ(inputs.size(), expected.size()) << "vector files disagree in length";
  auto file = gguf::GgufFile::open(model);
  ASSERT_TRUE(file.isOk()) << file.status().toString();
  auto tokenizer = Tokenizer::fromGguf(file.value());
  ASSERT_TRUE(tokenizer.isOk()) << tokenizer.status().toString();
  const EncodeOptions options{.add_special = false, .parse_special = false};
  int failures = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    auto ids = tokenizer->encode(inputs[i], options);
    ASSERT_TRUE(ids.isOk()) << ids.status().toString();
    EXPECT_EQ(*ids, expected[i]) << "case " << i << " text '" << inputs[i]
                                 << "'\n got:      " << showIds(*ids)
                                 << "\n expected: " << showIds(expected[i]);
    if (*ids != expected[i]) ++failures;
    if (tokenizer->kind() != VocabKind::kWpm) {
      EXPECT_EQ(tokenizer->decode(*ids), inputs[i]) << "round trip, case " << i;
    }
  }
  EXPECT_EQ(failures, 0);
}

TEST(VocabVectors, LlamaSpm) { checkVocab("llama-spm"); }
TEST(VocabVectors, Phi3) { checkVocab("phi-3"); }
TEST(VocabVectors, Gpt2) { checkVocab("gpt-2"); }
TEST(VocabVectors, Mpt) { checkVocab("mpt"); }
TEST(VocabVectors, Falcon) { checkVocab("falcon"); }
TEST(VocabVectors, DeepseekCoder) { checkVocab("deepseek-coder"); }
TEST(VocabVectors, DeepseekLlm) { checkVocab("deepseek-llm"); }
TEST(VocabVectors, Refact) { checkVocab("refact"); }
TEST(VocabVectors, Starcoder) { checkVocab("starcoder"); }
TEST(VocabVectors, BertBge) { checkVocab("bert-bge"); }

// The vocabularies without vectors still load (baichuan: SPM; gpt-neox: BPE without `pre`,
// which selects the documented "default" fallback).
TEST(VocabVectors, VectorlessVocabsLoad) {
  for (const char* name : {"baichuan", "gpt-neox"}) {
    TF_SHARED_FILE(model, std::string("models/vocab/ggml-vocab-") + name + ".gguf");
    Tokenizer tokenizer = loadTokenizer(model);
    auto ids = tokenizer.encode("Hello world, 123!", {.add_special = false});
    ASSERT_TRUE(ids.isOk()) << name;
    EXPECT_FALSE(ids->empty()) << name;
    EXPECT_EQ(tokenizer.decode(*ids), "Hello world, 123!") << name;
  }
}

// 100 KB through the gpt-2 vocabulary round-trips; the time is printed, not asserted (speed is
// measured by benchmarks, not by tests on a shared machine).
TEST(VocabVectors, Gpt2HundredKilobytesRoundTrip) {
  TF_SHARED_FILE(model, "models/vocab/ggml-vocab-gpt-2.gguf");
  Tokenizer tokenizer = loadTokenizer(model);
  const std::string inp = test::readFile(model.string() + ".inp");
  std::string text;
  while (text.size() < 100 * 1024) text += inp;
  const auto t0 = std::chrono::steady_clock::now();
  auto ids = tokenizer.encode(text, {.add_special = false});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(ids.isOk());
  std::printf("gpt-2: %zu bytes -> %zu tokens in %.3f s\n", text.size(), ids->size(), seconds);
  EXPECT_EQ(tokenizer.decode(*ids), text);
}

}  // namespace
}  // namespace tokenfab

namespace tokenfab {
namespace {

// Inputs that make naive backtracking quadratic (long whitespace runs that end in something a
// pattern such as deepseek-llm's \s+$ cannot accept, very long words) must stay fast.
TEST(VocabVectors, PathologicalInputsStayFast) {
  std::string emoji_run;
  for (int i = 0; i < 25000; ++i) emoji_run += "\xF0\x9F\x99\x82";
  const std::vector<std::string> texts = {"a" + std::string(100000, ' ') + "\xF0\x9F\x99\x82",
                                          "a" + std::string(100000, ' ') + "1",
                                          std::string(50000, ' ') + "\n" + std::string(50000, ' '),
                                          std::string(100000, 'a'),
                                          std::string(100000, '7'),
                                          std::string(100000, '!'),
                                          emoji_run};
  for (const char* name : {"deepseek-llm", "deepseek-coder", "gpt-2", "falcon", "llama-spm", "bert-bge"}) {
    TF_SHARED_FILE(model, std::string("models/vocab/ggml-vocab-") + name + ".gguf");
    Tokenizer tokenizer = loadTokenizer(model);
    for (size_t i = 0; i < texts.size(); ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      auto ids = tokenizer.encode(texts[i], {.add_special = false});
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      ASSERT_TRUE(ids.isOk());
      EXPECT_LT(seconds, 1.0) << name << " text " << i;
    }
  }
}

}  // namespace
}  // namespace tokenfab
