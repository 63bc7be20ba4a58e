// Independent decode oracle: llama2.c's run.c printed the text of its greedy stories260K runs
// (shared/models/llama2c/stories260K.greedy.txt, ids + stdout). Our decode of those ids must give
// the same text, and our encoder must give run.c's prompt tokens for "Once upon a time".
#include <gtest/gtest.h>

#include <sstream>

#include "shared_data.h"
#include "tokenfab/gguf.h"
#include "tokenfab/tokenizer.h"

namespace tokenfab {
namespace {

struct GreedyCase {
  std::vector<int32_t> ids;
  std::string text;
};

// "ids (N): a b c" then "text:" then the text up to the next "## case" header or the end.
std::vector<GreedyCase> parseGreedy(const std::string& all) {
  std::vector<GreedyCase> cases;
  size_t pos = 0;
  while ((pos = all.find("\nids (", pos)) != std::string::npos) {
    GreedyCase c;
    const size_t colon = all.find("): ", pos);
    const size_t eol = all.find('\n', colon);
    std::istringstream ids(all.substr(colon + 3, eol - colon - 3));
    int32_t id;
    while (ids >> id) c.ids.push_back(id);
    const size_t text_start = all.find("text:\n", eol) + 6;
    size_t text_end = all.find("\n\n## case", text_start);
    if (text_end == std::string::npos) text_end = all.size();
    c.text = all.substr(text_start, text_end - text_start);
    cases.push_back(std::move(c));
    pos = text_end;
  }
  return cases;
}

std::string trimNewlines(std::string s) {
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

TEST(Llama2cOracle, DecodeMatchesRunCOutput) {
  TF_SHARED_FILE(golden, "models/llama2c/stories260K.greedy.txt");
  TF_SHARED_FILE(model, "models/stories260K.gguf");
  const auto cases = parseGreedy(test::readFile(golden));
  ASSERT_EQ(cases.size(), 2u);
  auto file = gguf::GgufFile::open(model);
  ASSERT_TRUE(file.isOk()) << file.status().toString();
  auto tokenizer = Tokenizer::fromGguf(file.value());
  ASSERT_TRUE(tokenizer.isOk()) << tokenizer.status().toString();
  for (const GreedyCase& c : cases) {
    ASSERT_GT(c.ids.size(), 5u);
    ASSERT_GT(c.text.size(), 100u);
    // run.c ends its output with one '\n' of its own; compare without trailing newlines.
    EXPECT_EQ(trimNewlines(tokenizer->decode(c.ids)), trimNewlines(c.text));
  }
  // Case 2 was prompted with "Once upon a time": run.c's encoder gave BOS + 4 tokens.
  auto prompt = tokenizer->encode("Once upon a time");
  ASSERT_TRUE(prompt.isOk());
  EXPECT_EQ(*prompt, std::vector<int32_t>(cases[1].ids.begin(), cases[1].ids.begin() + 5));
}

}  // namespace
}  // namespace tokenfab
