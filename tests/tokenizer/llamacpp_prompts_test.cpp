// The shared prompts, tokenized by llama.cpp (reference/llamacpp/*.public.json `tokens`, BOS
// included when the model adds one), must come out identical from our tokenizer.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "shared_data.h"
#include "tokenfab/gguf.h"
#include "tokenfab/tokenizer.h"

namespace tokenfab {
namespace {

struct Case {
  const char* reference;  // file in reference/llamacpp
  const char* model;      // model path under shared/
};

class LlamaCppPrompts : public ::testing::TestWithParam<Case> {};

TEST_P(LlamaCppPrompts, TokensMatch) {
  TF_SHARED_FILE(reference, std::string("reference/llamacpp/") + GetParam().reference);
  TF_SHARED_FILE(model, GetParam().model);
  std::ifstream in(reference);
  const nlohmann::json doc = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(doc.is_discarded()) << "unreadable json " << reference;
  auto file = gguf::GgufFile::open(model);
  ASSERT_TRUE(file.isOk()) << file.status().toString();
  auto tokenizer = Tokenizer::fromGguf(file.value());
  ASSERT_TRUE(tokenizer.isOk()) << tokenizer.status().toString();
  ASSERT_EQ(doc.at("n_vocab").get<int32_t>(), tokenizer->vocabSize());
  ASSERT_FALSE(doc.at("cases").empty());
  for (const auto& c : doc.at("cases")) {
    const std::string prompt = c.at("prompt").get<std::string>();
    const auto expected = c.at("tokens").get<std::vector<int32_t>>();
    auto ids = tokenizer->encode(prompt, {.add_special = true, .parse_special = false});
    ASSERT_TRUE(ids.isOk()) << ids.status().toString();
    EXPECT_EQ(*ids, expected) << "prompt: " << prompt;
    // Lossless here (SPM with byte fallback, byte-level BPE): decoding gives the prompt back.
    EXPECT_EQ(tokenizer->decode(*ids), prompt);
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllModels, LlamaCppPrompts,
    ::testing::Values(Case{"stories260K.public.json", "models/stories260K.gguf"},
                      Case{"stories260K-f16.public.json", "models/fixtures/stories260K-f16.gguf"},
                      Case{"fx-llama-spm-q8_0.public.json", "models/fixtures/fx-llama-spm-q8_0.gguf"},
                      Case{"fx-llama-spm-q4_0.public.json", "models/fixtures/fx-llama-spm-q4_0.gguf"},
                      Case{"fx-llama-spm-q4_k_m.public.json", "models/fixtures/fx-llama-spm-q4_k_m.gguf"},
                      Case{"fx-qwen2-bpe-q8_0.public.json", "models/fixtures/fx-qwen2-bpe-q8_0.gguf"},
                      Case{"fx-qwen2-bpe-q5_k_m.public.json", "models/fixtures/fx-qwen2-bpe-q5_k_m.gguf"},
                      Case{"fx-qwen2-e384-q4_k_m.public.json", "models/fixtures/fx-qwen2-e384-q4_k_m.gguf"}),
    [](const ::testing::TestParamInfo<Case>& param_info) {
      std::string name = param_info.param.reference;
      name = name.substr(0, name.find(".public"));
      for (char& ch : name) {
        if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
      }
      return name;
    });

}  // namespace
}  // namespace tokenfab
