// llama.cpp's tokenizer conformance vectors: every .inp/.out pair in shared/models/vocab must
// match exactly (add_special=false, parse_special=false), plus decode round trips and speed.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
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
// pattern such as deepseek-llm's \s+$ cannot accept, very long words) must stay linear. Checked on
// the work an encode reports (EncodeWork: character tests and pattern nodes tried, merges queued
// and taken, vocabulary lookups), which is the same on every machine, never on time:
//  - doubling the text at most doubles the work (n log n merging makes it 2.13x at these sizes,
//    a quadratic step 4x);
//  - the work per character is bounded: the largest pre-tokenizer here has 6 passes of up to 7
//    alternatives, each trying a few nodes per character, and merging costs a few queue
//    operations per character.
TEST(VocabVectors, PathologicalInputsStayLinear) {
  constexpr double kDoublingBound = 2.3;
  constexpr uint64_t kWorkPerChar = 400;
  auto texts = [](size_t n) {
    // Built piece by piece: GCC 12 warns falsely about "a" + std::string&& (-Wrestrict).
    auto joined = [](std::initializer_list<std::string> parts) {
      std::string out;
      for (const std::string& p : parts) out += p;
      return out;
    };
    std::string emoji_run;
    for (size_t i = 0; i < n / 4; ++i) emoji_run += "\xF0\x9F\x99\x82";
    return std::vector<std::string>{joined({"a", std::string(n, ' '), "\xF0\x9F\x99\x82"}),
                                    joined({"a", std::string(n, ' '), "1"}),
                                    joined({std::string(n / 2, ' '), "\n", std::string(n / 2, ' ')}),
                                    std::string(n, 'a'),
                                    std::string(n, '7'),
                                    std::string(n, '!'),
                                    emoji_run};
  };
  const size_t n = 50000;
  const std::vector<std::string> small = texts(n), large = texts(2 * n);
  for (const char* name : {"deepseek-llm", "deepseek-coder", "gpt-2", "falcon", "llama-spm", "bert-bge"}) {
    TF_SHARED_FILE(model, std::string("models/vocab/ggml-vocab-") + name + ".gguf");
    Tokenizer tokenizer = loadTokenizer(model);
    for (size_t i = 0; i < small.size(); ++i) {
      EncodeWork work_small, work_large;
      ASSERT_TRUE(tokenizer.encode(small[i], {.add_special = false, .work = &work_small}).isOk());
      ASSERT_TRUE(tokenizer.encode(large[i], {.add_special = false, .work = &work_large}).isOk());
      const double ratio = double(work_large.total()) / double(std::max<uint64_t>(work_small.total(), 1));
      std::printf("%-15s text %zu: %llu -> %llu work units (x%.2f)\n", name, i,
                  static_cast<unsigned long long>(work_small.total()),
                  static_cast<unsigned long long>(work_large.total()), ratio);
      EXPECT_GT(work_small.total(), 0u) << name << " text " << i;
      EXPECT_LE(ratio, kDoublingBound) << name << " text " << i;
      EXPECT_LE(work_large.total(), kWorkPerChar * large[i].size()) << name << " text " << i;
    }
  }
}

}  // namespace
}  // namespace tokenfab
