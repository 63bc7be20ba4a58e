// tokenfab-cli score: how surprised is the model by a text? Per-token log-probabilities,
// perplexity, the most surprising tokens; --json in the format of ../shared/reference/*.json.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli.h"
#include "engine_flags.h"

namespace tokenfab::cli {
namespace {

constexpr const char* kUsage = "usage: tokenfab-cli score [-m MODEL] -f TEXT_FILE [--json] [--top N] [-c CTX]\n";

struct Scored {
  int32_t pos;
  int32_t id;
  double logprob;
};

int runScore(std::span<const std::string> argv) {
  Args args(argv);
  if (args.flag("--help", "-h")) {
    std::cout << kUsage << "\nmodel options:\n" << engineFlagsHelp();
    return kExitOk;
  }
  const auto file = args.value("--file", "-f");
  const bool json = args.flag("--json");
  int top_n = 20;
  if (auto t = args.value("--top")) top_n = std::max(1, std::atoi(t->c_str()));
  auto flags = parseEngineFlags(args);
  if (!flags.isOk()) return usageError(flags.status().message());
  if (!args.unknownOptions().empty()) return usageError("unknown option " + args.unknownOptions().front());
  if (!file) return usageError(std::string("no text file given\n") + kUsage);
  std::ifstream in(*file, std::ios::binary);
  if (!in) return failure("cannot read " + *file);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();

  auto engine = openEngine(*flags);
  if (!engine.isOk()) return failure(engine.status().toString());
  const Tokenizer& tok = (*engine)->tokenizer();
  auto tokens = tok.encode(text);
  if (!tokens.isOk()) return failure(tokens.status().toString());
  if (tokens->size() < 2) return failure("the text is too short to score (fewer than 2 tokens)");
  auto session = (*engine)->newSession(flags->n_ctx);
  if (!session.isOk()) return failure(session.status().toString());
  const size_t n_ctx = size_t((*session)->contextSize());
  const size_t n_vocab = size_t((*engine)->config().n_vocab);

  // Texts longer than the context are scored in consecutive windows, each starting fresh.
  nlohmann::ordered_json cases = nlohmann::ordered_json::array();
  std::vector<Scored> scored;
  double sum_logprob = 0.0;
  for (size_t start = 0; start < tokens->size(); start += n_ctx) {
    const size_t n = std::min(n_ctx, tokens->size() - start);
    if (!(*session)->rewind(0).isOk()) return failure("rewind failed");
    std::span<const int32_t> window(tokens->data() + start, n);
    auto logits = (*session)->decodeAll(window);
    if (!logits.isOk()) return failure(logits.status().toString());
    nlohmann::ordered_json prompt_logits = nlohmann::ordered_json::array();
    for (size_t p = 0; p < n; ++p) {
      const float* row = logits->data() + p * n_vocab;
      double mx = -INFINITY;
      for (size_t i = 0; i < n_vocab; ++i) mx = std::max(mx, double(row[i]));
      double s = 0.0;
      for (size_t i = 0; i < n_vocab; ++i) s += std::exp(double(row[i]) - mx);
      const double lse = mx + std::log(s);
      if (p + 1 < n) {
        const int32_t next = window[p + 1];
        const double lp = double(row[next]) - lse;
        scored.push_back({int32_t(start + p + 1), next, lp});
        sum_logprob += lp;
      }
      if (json) {
        std::vector<int32_t> idx(n_vocab);
        for (size_t i = 0; i < n_vocab; ++i) idx[i] = int32_t(i);
        const size_t k = std::min<size_t>(size_t(top_n), n_vocab);
        std::partial_sort(idx.begin(), idx.begin() + long(k), idx.end(),
                          [&](int32_t a, int32_t b) { return row[a] > row[b] || (row[a] == row[b] && a < b); });
        nlohmann::ordered_json top = nlohmann::ordered_json::array();
        for (size_t i = 0; i < k; ++i) top.push_back({idx[i], row[idx[i]]});
        prompt_logits.push_back({{"lse", lse}, {"top", top}});
      }
    }
    if (json) {
      nlohmann::ordered_json lps = nlohmann::ordered_json::array();
      lps.push_back(nullptr);
      for (size_t p = 1; p < n; ++p) lps.push_back(scored[scored.size() - (n - 1) + (p - 1)].logprob);
      cases.push_back({{"prompt", start == 0 ? text : std::string()},
                       {"add_bos", tok.addsBos()},
                       {"tokens", std::vector<int32_t>(window.begin(), window.end())},
                       {"prompt_logits", prompt_logits},
                       {"logprobs", lps}});
    }
  }
  const double ppl = std::exp(-sum_logprob / double(scored.size()));
  if (json) {
    nlohmann::ordered_json out = {{"model", flags->model.filename().string()},
                                  {"n_vocab", n_vocab},
                                  {"reference", "tokenfab-cli score, " + (*engine)->device().name},
                                  {"n_scored", scored.size()},
                                  {"perplexity", ppl},
                                  {"cases", cases}};
    std::cout << out.dump() << "\n";
    return kExitOk;
  }
  std::printf("tokens: %zu (scored %zu) | mean log-prob %.4f nats | perplexity %.4f\n", tokens->size(), scored.size(),
              sum_logprob / double(scored.size()), ppl);
  std::vector<Scored> worst = scored;
  std::sort(worst.begin(), worst.end(), [](const Scored& a, const Scored& b) { return a.logprob < b.logprob; });
  std::printf("most surprising tokens:\n");
  for (size_t i = 0; i < std::min<size_t>(10, worst.size()); ++i)
    std::printf("  pos %5d  id %6d  p %.5f  (-log2 p %.2f)  %s\n", worst[i].pos, worst[i].id, std::exp(worst[i].logprob),
                -worst[i].logprob / std::log(2.0), nlohmann::json(tok.piece(worst[i].id)).dump().c_str());
  return kExitOk;
}

}  // namespace

TF_CLI_COMMAND("score", "per-token log-probabilities and perplexity of a text", runScore);

}  // namespace tokenfab::cli
