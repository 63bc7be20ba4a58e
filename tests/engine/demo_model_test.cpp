// The committed demo model (resources/models/tokenfab-demo-q8_0.gguf) against the PyTorch model it
// was exported from: on a held-out sample (tools/train_demo_model/results/heldout_sample.txt,
// chapters the model never trained on) the engine must tokenize exactly as SentencePiece does and
// reach the mean log-probability that score_sample.py computed with PyTorch (float32, windows of
// n_ctx tokens each starting fresh, as `tokenfab-cli score`). The bound, 0.01 nats per token
// (1 % of perplexity), allows for the Q8_0 quantization of the weights; measured 0.0003.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <span>
#include <vector>

#include "shared_data.h"
#include "tokenfab/engine.h"

namespace tokenfab {
namespace {

TEST(DemoModel, HeldOutLogProbMatchesPyTorch) {
  const auto dir = test::sourceDir();
  const auto results = dir / "tools/train_demo_model/results";
  const nlohmann::json want = nlohmann::json::parse(test::readFile(results / "heldout_sample_score.json"));
  const std::string text = test::readFile(results / "heldout_sample.txt");
  EngineOptions options;
  options.validation = true;
  auto engine = Engine::open(dir / "resources/models/tokenfab-demo-q8_0.gguf", options);
  ASSERT_TRUE(engine.isOk()) << engine.status().toString();
  auto ids = (*engine)->tokenizer().encode(text);
  ASSERT_TRUE(ids.isOk()) << ids.status().toString();
  ASSERT_EQ(*ids, want.at("tokens").get<std::vector<int32_t>>()) << "tokenization differs from SentencePiece";

  const size_t n_ctx = want.at("n_ctx").get<size_t>();
  const size_t n_vocab = size_t((*engine)->config().n_vocab);
  auto session = (*engine)->newSession(int32_t(n_ctx));
  ASSERT_TRUE(session.isOk()) << session.status().toString();
  double sum = 0.0;
  size_t count = 0;
  for (size_t start = 0; start < ids->size(); start += n_ctx) {
    const std::span<const int32_t> window(ids->data() + start, std::min(n_ctx, ids->size() - start));
    if (window.size() < 2) continue;
    ASSERT_TRUE((*session)->rewind(0).isOk());
    auto logits = (*session)->decodeAll(window);
    ASSERT_TRUE(logits.isOk()) << logits.status().toString();
    for (size_t p = 0; p + 1 < window.size(); ++p) {
      const float* row = logits->data() + p * n_vocab;
      double mx = -INFINITY, s = 0.0;
      for (size_t i = 0; i < n_vocab; ++i) mx = std::max(mx, double(row[i]));
      for (size_t i = 0; i < n_vocab; ++i) s += std::exp(double(row[i]) - mx);
      sum += double(row[window[p + 1]]) - (mx + std::log(s));
      ++count;
    }
  }
  ASSERT_EQ(count, want.at("n_scored").get<size_t>());
  const double mean = sum / double(count), ref = want.at("mean_logprob").get<double>();
  std::printf("demo model, held-out sample: mean log-prob %.5f (PyTorch %.5f), perplexity %.3f (PyTorch %.3f)\n", mean,
              ref, std::exp(-mean), std::exp(-ref));
  EXPECT_LE(std::fabs(mean - ref), 0.01);
}

}  // namespace
}  // namespace tokenfab
