// What-if: re-running the chain on a stored step without the model.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "sampling_test_util.h"

namespace tokenfab {
namespace {

using test::plainConfig;
using test::randomLogits;

TEST(WhatIf, FullLogitsReproduceTheStepExactly) {
  std::vector<SamplerConfig> configs(4);
  configs[1].repeat_penalty = 1.2;
  configs[1].presence_penalty = 0.3;
  configs[1].dry_multiplier = 1.0;
  configs[2].xtc_probability = 0.7;
  configs[2].xtc_threshold = 0.02;
  configs[2].top_k = 0;
  configs[3].mirostat = 2;
  for (size_t ci = 0; ci < configs.size(); ++ci) {
    for (uint64_t seed = 1; seed <= 5; ++seed) {
      SCOPED_TRACE("config " + std::to_string(ci) + " seed " + std::to_string(seed));
      SamplerChain chain(configs[ci], seed);
      std::vector<int32_t> history = {3, 9, 3, 27};
      for (int step = 0; step < 8; ++step) {
        const std::vector<float> logits = randomLogits(seed * 100 + static_cast<uint64_t>(step), 3000, 2.5);
        Result<SampleResult> r = chain.sample(logits, history);
        ASSERT_TRUE(r.isOk()) << r.status().toString();
        StoredStep stored = StoredStep::fromTrace(r->trace, history);
        stored.logits = logits;
        Result<WhatIfResult> w = whatIf(stored, configs[ci], r->trace.draw);
        ASSERT_TRUE(w.isOk()) << w.status().toString();
        EXPECT_EQ(w->token, r->token);
        EXPECT_EQ(w->distribution, r->distribution);  // bit-for-bit
        history.push_back(r->token);
      }
    }
  }
}

TEST(WhatIf, OtherSettingsChangeTheOutcomeAsTheyShould) {
  const std::vector<float> logits = randomLogits(11, 2000);
  StoredStep stored;
  stored.logits = logits;
  SamplerConfig greedy = plainConfig();
  greedy.order = {StageKind::kTemperature};
  greedy.temperature = 0.0;
  Result<WhatIfResult> w = whatIf(stored, greedy, 0.99);
  ASSERT_TRUE(w.isOk());
  EXPECT_EQ(w->token, std::max_element(logits.begin(), logits.end()) - logits.begin());
  ASSERT_EQ(w->distribution.size(), 1u);
  EXPECT_EQ(w->distribution[0].second, 1.0);
  // A draw of 0 always picks the most likely survivor.
  Result<WhatIfResult> first = whatIf(stored, SamplerConfig{}, 0.0);
  ASSERT_TRUE(first.isOk());
  EXPECT_EQ(first->token, w->token);
  EXPECT_EQ(whatIf(stored, SamplerConfig{}, 1.0).status().code(), Code::kInvalidArgument);
}

TEST(WhatIf, TopNOnlyIsExactWhenTopKTruncatesFirst) {
  // Default order with top_k = 40 <= N = 64: every later stage sees only stored tokens.
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    SamplerConfig c;
    SamplerChain chain(c, seed);
    const std::vector<float> logits = randomLogits(seed, 50000, 2.0);
    Result<SampleResult> r = chain.sample(logits, {});
    ASSERT_TRUE(r.isOk());
    const StoredStep stored = StoredStep::fromTrace(r->trace, {});
    ASSERT_TRUE(stored.logits.empty());
    ASSERT_EQ(stored.top.size(), 64u);
    Result<WhatIfResult> w = whatIf(stored, c, r->trace.draw);
    ASSERT_TRUE(w.isOk());
    EXPECT_EQ(w->token, r->token);
    EXPECT_EQ(w->distribution, r->distribution);
  }
}

TEST(WhatIf, TopNOnlyRenormalisesOverTheStoredTokens) {
  // top_p = 0.5 alone, no top_k: the documented approximation is top-p over the top-N renormalised
  // (the tail dropped as one bucket). Recomputed here from the stored top-N alone.
  const std::vector<float> logits = randomLogits(21, 4000, 1.0);  // flat: a large tail
  SamplerConfig c = plainConfig();
  c.order = {StageKind::kTopP};
  c.top_p = 0.5;
  c.trace_top_n = 16;
  SamplerChain chain(c, 1);
  Result<SampleResult> r = chain.sample(logits, {});
  ASSERT_TRUE(r.isOk());
  const StoredStep stored = StoredStep::fromTrace(r->trace, {});
  EXPECT_GT(stored.tail_mass, 0.5);
  double top_mass = 0.0;
  for (const TokenLogit& t : stored.top) top_mass += t.prob;
  std::vector<double> renorm;  // already in descending order
  for (const TokenLogit& t : stored.top) renorm.push_back(t.prob / top_mass);
  size_t keep = 0;
  double cum = 0.0;
  while (keep < renorm.size() && cum < 0.5) cum += renorm[keep++];
  Result<WhatIfResult> w = whatIf(stored, c, 0.3);
  ASSERT_TRUE(w.isOk());
  ASSERT_EQ(w->distribution.size(), keep);
  const double kept_mass = std::accumulate(renorm.begin(), renorm.begin() + static_cast<long>(keep), 0.0);
  for (size_t i = 0; i < keep; ++i) {
    EXPECT_EQ(w->distribution[i].first, stored.top[i].id);
    EXPECT_NEAR(w->distribution[i].second, renorm[i] / kept_mass, 1e-6);
  }
}

TEST(WhatIf, BadStoredStepsAreAStatus) {
  StoredStep empty;
  EXPECT_EQ(whatIf(empty, SamplerConfig{}, 0.5).status().code(), Code::kInvalidArgument);
  StoredStep dup;
  dup.top = {{3, 1.0f, 0.5}, {3, 1.0f, 0.5}};
  EXPECT_EQ(whatIf(dup, SamplerConfig{}, 0.5).status().code(), Code::kInvalidArgument);
  StoredStep neg;
  neg.top = {{-1, 1.0f, 0.5}};
  EXPECT_EQ(whatIf(neg, SamplerConfig{}, 0.5).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace tokenfab

namespace tokenfab {
namespace {

// The funnel by hand: raw probabilities 0.5, 0.3, 0.15, 0.05 (logits = their logs). top_k 3
// keeps 0.5, 0.3, 0.15 (raw mass 0.95); top_p 0.7 on those, renormalised 0.526, 0.316, 0.158,
// stops once the running sum reaches 0.7: two survivors (0.526 + 0.316), raw mass 0.8; the
// final distribution is 0.5 / 0.8 and 0.3 / 0.8, and a draw of 0.9 lands on the second.
TEST(Funnel, StagesKeepWhatTheyShould) {
  const std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)};
  StoredStep stored;
  stored.logits = logits;
  StepTrace trace;
  trace.raw_logsumexp = std::log(double(0.5f) + double(0.3f) + double(0.15f) + double(0.05f));
  trace.draw = 0.9;
  trace.token = 0;
  SamplerConfig config = test::plainConfig();
  config.order = {StageKind::kTopK, StageKind::kTopP};
  config.top_k = 3;
  config.top_p = 0.7;
  Result<Funnel> funnel = samplerFunnel(stored, trace, config, false);
  ASSERT_TRUE(funnel.isOk()) << funnel.status().toString();
  const Funnel& f = *funnel;
  EXPECT_TRUE(f.exact);
  ASSERT_EQ(f.rows.size(), 3u);
  EXPECT_EQ(f.rows[0].stage, "raw");
  EXPECT_EQ(f.rows[0].survivors, 4);
  EXPECT_EQ(f.rows[1].survivors, 3);
  EXPECT_NEAR(f.rows[1].raw_mass, 0.95, 1e-6);
  EXPECT_EQ(f.rows[2].survivors, 2);
  EXPECT_NEAR(f.rows[2].raw_mass, 0.8, 1e-6);
  ASSERT_EQ(f.distribution.size(), 2u);
  EXPECT_EQ(f.distribution[0].first, 0);
  EXPECT_NEAR(f.distribution[0].second, 0.625, 1e-6);
  EXPECT_NEAR(f.distribution[1].second, 0.375, 1e-6);
  EXPECT_EQ(f.token, 1);
  // A bad setting is an error, not a funnel.
  config.top_p = 2.0;
  EXPECT_FALSE(samplerFunnel(stored, trace, config, false).isOk());
}

// A streaming step shows its own records, not a re-run.
TEST(Funnel, AsRecordedUsesTheStepsOwnStages) {
  StepTrace trace;
  trace.token = 7;
  trace.raw_top = {{7, 2.0f, 0.6}, {3, 1.0f, 0.3}, {5, 0.0f, 0.1}};
  trace.stages.push_back({"top_k", 2, 0.9, {0.66, 0.34, 0.0}});
  const StoredStep stored = StoredStep::fromTrace(trace, {});
  SamplerConfig config = test::plainConfig();
  Result<Funnel> funnel = samplerFunnel(stored, trace, config, true);
  ASSERT_TRUE(funnel.isOk()) << funnel.status().toString();
  const Funnel& f = *funnel;
  ASSERT_EQ(f.rows.size(), 2u);
  EXPECT_EQ(f.rows[1].stage, "top_k");
  EXPECT_EQ(f.rows[1].survivors, 2);
  EXPECT_EQ(f.token, 7);
  ASSERT_EQ(f.distribution.size(), 2u);
  EXPECT_EQ(f.distribution[0].first, 7);
  EXPECT_EQ(f.distribution[1].first, 3);
}

}  // namespace
}  // namespace tokenfab
