// Readers for the independent references in shared/reference (see its README.md) and the
// llama2.c greedy golden file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace tokenfab::test {

struct PositionRef {
  double lse = 0.0;                             // log-sum-exp over the whole vocabulary
  std::vector<std::pair<int32_t, double>> top;  // (id, logit), best first
};

struct LogitCase {
  std::string prompt;
  std::vector<int32_t> tokens;      // prompt tokens (BOS included when added)
  std::vector<int32_t> greedy;      // greedy continuation
  std::vector<PositionRef> logits;  // prompt_logits + greedy_logits: one per token of tokens + greedy

  std::vector<int32_t> fedTokens() const;  // tokens + greedy
};

struct LogitReference {
  std::string model;
  int32_t n_vocab = 0;
  std::vector<LogitCase> cases;
};

// Parses a `*.public.json`; on failure returns false and sets `error`.
bool readLogitReference(const std::filesystem::path& path, LogitReference& out, std::string& error);

struct GreedyCase {
  std::string title;         // "case 1: ./run ..."
  std::vector<int32_t> ids;  // token fed at each position, ids[0] = BOS
};
// Parses llama2c/stories260K.greedy.txt ("## case" headers followed by an "ids (N): ..." line).
bool readGreedyCases(const std::filesystem::path& path, std::vector<GreedyCase>& out, std::string& error);

}  // namespace tokenfab::test
