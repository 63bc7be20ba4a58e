// Hand-computed distributions for each stage on small vocabularies. The expected values are worked
// out in the comments (or re-derived in float64 here), never taken from the implementation.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>

#include "sampling_test_util.h"

namespace tokenfab {
namespace {

using test::finalDist;
using test::plainConfig;
using Dist = std::map<int32_t, double>;

constexpr double kTol = 1e-6;  // float logits of ln(k) carry ~1e-7 relative error

// Raw probabilities {0.1, 0.2, 0.3, 0.4}.
std::vector<float> tenths() {
  return {std::log(1.0f), std::log(2.0f), std::log(3.0f), std::log(4.0f)};
}

void expectDist(const Dist& got, const Dist& want) {
  ASSERT_EQ(got.size(), want.size()) << "survivor count";
  for (const auto& [id, p] : want) {
    auto it = got.find(id);
    ASSERT_NE(it, got.end()) << "token " << id << " should survive";
    EXPECT_NEAR(it->second, p, kTol) << "token " << id;
  }
}

SamplerConfig only(StageKind kind) {
  SamplerConfig c = plainConfig();
  c.order = {kind};
  return c;
}

TEST(Stages, NoStagesIsTheSoftmax) {
  expectDist(finalDist(tenths(), plainConfig()), {{0, 0.1}, {1, 0.2}, {2, 0.3}, {3, 0.4}});
}

TEST(Stages, TopK) {
  SamplerConfig c = only(StageKind::kTopK);
  c.top_k = 2;  // keeps 0.4 and 0.3 -> 4/7, 3/7
  expectDist(finalDist(tenths(), c), {{3, 4.0 / 7}, {2, 3.0 / 7}});
  c.top_k = 10;  // more than the vocabulary: nothing removed
  expectDist(finalDist(tenths(), c), {{0, 0.1}, {1, 0.2}, {2, 0.3}, {3, 0.4}});
}

TEST(Stages, TopKTiesKeepLowerIds) {
  SamplerConfig c = only(StageKind::kTopK);
  c.top_k = 2;
  // ids 1, 2, 4 tie for the top logit: the two lower ids survive, equally likely.
  expectDist(finalDist({0.0f, 1.0f, 1.0f, 0.5f, 1.0f}, c), {{1, 0.5}, {2, 0.5}});
}

TEST(Stages, TopP) {
  SamplerConfig c = only(StageKind::kTopP);
  c.top_p = 0.6;  // 0.4 + 0.3 = 0.7 >= 0.6 -> {3, 2}
  expectDist(finalDist(tenths(), c), {{3, 4.0 / 7}, {2, 3.0 / 7}});
  c.top_p = 0.75;  // 0.4 + 0.3 + 0.2 = 0.9 -> {3, 2, 1}
  expectDist(finalDist(tenths(), c), {{3, 4.0 / 9}, {2, 3.0 / 9}, {1, 2.0 / 9}});
  c.top_p = 0.3;  // the top token alone reaches 0.4
  expectDist(finalDist(tenths(), c), {{3, 1.0}});
}

TEST(Stages, MinP) {
  SamplerConfig c = only(StageKind::kMinP);
  c.min_p = 0.6;  // threshold 0.24: 0.4, 0.3 stay
  expectDist(finalDist(tenths(), c), {{3, 4.0 / 7}, {2, 3.0 / 7}});
  c.min_p = 0.45;  // threshold 0.18: 0.4, 0.3, 0.2 stay
  expectDist(finalDist(tenths(), c), {{3, 4.0 / 9}, {2, 3.0 / 9}, {1, 2.0 / 9}});
}

TEST(Stages, TypicalP) {
  // H = -sum p ln p = 1.2798542 nats. |-ln p - H|: id0 1.0227, id1 0.3296, id2 0.0759, id3 0.3636.
  // Most typical first: id2 (0.3), id1 (0.2), id3 (0.4), id0 (0.1).
  SamplerConfig c = only(StageKind::kTypicalP);
  c.typical_p = 0.45;  // 0.3 + 0.2 = 0.5 > 0.45: the most probable token is dropped
  expectDist(finalDist(tenths(), c), {{2, 0.6}, {1, 0.4}});
  c.typical_p = 0.55;  // 0.3 + 0.2 + 0.4 = 0.9
  expectDist(finalDist(tenths(), c), {{2, 3.0 / 9}, {1, 2.0 / 9}, {3, 4.0 / 9}});
}

TEST(Stages, TopNSigma) {
  // logits 0,1,2,3: mean 1.5, population std sqrt(1.25) = 1.1180.
  SamplerConfig c = only(StageKind::kTopNSigma);
  c.top_n_sigma = 1.0;  // keep logit >= 3 - 1.118 = 1.882 -> ids 2, 3
  const double e = std::exp(1.0);
  expectDist(finalDist({0.0f, 1.0f, 2.0f, 3.0f}, c), {{2, 1.0 / (1.0 + e)}, {3, e / (1.0 + e)}});
  c.top_n_sigma = 2.0;  // keep logit >= 0.764 -> ids 1, 2, 3
  const double z = e + e * e + e * e * e;
  expectDist(finalDist({0.0f, 1.0f, 2.0f, 3.0f}, c), {{1, e / z}, {2, e * e / z}, {3, e * e * e / z}});
}

TEST(Stages, Temperature) {
  SamplerConfig c = only(StageKind::kTemperature);
  c.temperature = 2.0;  // logits 1,2,3 -> 0.5,1,1.5
  const double z = std::exp(0.5) + std::exp(1.0) + std::exp(1.5);
  expectDist(finalDist({1.0f, 2.0f, 3.0f}, c), {{0, std::exp(0.5) / z}, {1, std::exp(1.0) / z}, {2, std::exp(1.5) / z}});
  c.temperature = 0.0;  // greedy
  expectDist(finalDist({1.0f, 3.0f, 2.0f}, c), {{1, 1.0}});
  c.temperature = -1.0;  // also greedy; a tie goes to the lower id
  expectDist(finalDist({3.0f, 1.0f, 3.0f}, c), {{0, 1.0}});
}

TEST(Stages, LogitBias) {
  SamplerConfig c = plainConfig();
  c.logit_bias = {{1, std::log(2.0)}, {2, -std::numeric_limits<double>::infinity()}};
  // logits 0,0,0 -> 0, ln 2, banned -> 1/3, 2/3
  expectDist(finalDist({0.0f, 0.0f, 0.0f}, c), {{0, 1.0 / 3}, {1, 2.0 / 3}});
}

TEST(Stages, Penalties) {
  SamplerConfig c = only(StageKind::kPenalties);
  c.repeat_penalty = 2.0;
  c.frequency_penalty = 0.5;
  c.presence_penalty = 0.25;
  c.repeat_last_n = -1;
  const std::vector<float> logits = {2.0f, -1.0f, 0.5f, 1.0f};
  // history 0,1,0,3: id0 (x2): 2/2 - 2*0.5 - 0.25 = -0.25; id1 (x1): -1*2 - 0.5 - 0.25 = -2.75;
  // id2 untouched 0.5; id3 (x1): 1/2 - 0.5 - 0.25 = -0.25.
  std::vector<double> want = test::refSoftmax({-0.25, -2.75, 0.5, -0.25});
  expectDist(finalDist(logits, c, {0, 1, 0, 3}), {{0, want[0]}, {1, want[1]}, {2, want[2]}, {3, want[3]}});
  c.repeat_last_n = 2;  // window {0, 3}: id0: 1 - 0.5 - 0.25 = 0.25; id3: -0.25; id1 stays -1
  want = test::refSoftmax({0.25, -1.0, 0.5, -0.25});
  expectDist(finalDist(logits, c, {0, 1, 0, 3}), {{0, want[0]}, {1, want[1]}, {2, want[2]}, {3, want[3]}});
}

TEST(Stages, Dry) {
  SamplerConfig c = only(StageKind::kDry);
  c.dry_multiplier = 1.0;
  c.dry_base = 2.0;
  c.dry_allowed_length = 2;
  c.dry_breaker_tokens = {};
  const std::vector<float> logits(6, 0.0f);
  // History ends with 1 2 3, which earlier was followed by 4: match length 3 -> token 4 loses
  // 1 * 2^(3-2) = 2. (The shorter match "3" -> 4 is under the allowed length.)
  const std::vector<int32_t> history = {1, 2, 3, 4, 1, 2, 3};
  std::vector<double> want = test::refSoftmax({0, 0, 0, 0, -2.0, 0});
  Dist expected;
  for (int i = 0; i < 6; ++i) expected[i] = want[static_cast<size_t>(i)];
  expectDist(finalDist(logits, c, history), expected);

  // Longer: 5 1 2 3 was followed by 4, and the history ends with 5 1 2 3 -> length 4, penalty 4.
  want = test::refSoftmax({0, 0, 0, 0, -4.0, 0});
  for (int i = 0; i < 6; ++i) expected[i] = want[static_cast<size_t>(i)];
  expectDist(finalDist(logits, c, {5, 1, 2, 3, 4, 0, 5, 1, 2, 3}), expected);

  // A breaker token is never penalised itself: history 0 5 1 0 5 predicts 1 after "0 5" (length 2).
  c.dry_breaker_tokens = {};
  want = test::refSoftmax({0, -1.0, 0, 0, 0, 0});
  for (int i = 0; i < 6; ++i) expected[i] = want[static_cast<size_t>(i)];
  expectDist(finalDist(logits, c, {0, 5, 1, 0, 5}), expected);
  c.dry_breaker_tokens = {1};  // now 1 is a breaker: the match "0 5" still predicts it, no penalty
  expectDist(finalDist(logits, c, {0, 5, 1, 0, 5}),
             {{0, 1.0 / 6}, {1, 1.0 / 6}, {2, 1.0 / 6}, {3, 1.0 / 6}, {4, 1.0 / 6}, {5, 1.0 / 6}});

  // Token 2 is a sequence breaker: the repeated tail may not reach past it, leaving "3" (length
  // 1 < 2): no penalty at all.
  c.dry_breaker_tokens = {2};
  expectDist(finalDist(logits, c, history),
             {{0, 1.0 / 6}, {1, 1.0 / 6}, {2, 1.0 / 6}, {3, 1.0 / 6}, {4, 1.0 / 6}, {5, 1.0 / 6}});
}

TEST(Stages, Xtc) {
  SamplerConfig c = only(StageKind::kXtc);
  c.xtc_probability = 0.5;
  c.xtc_threshold = 0.15;
  // 0.4, 0.3, 0.2 are >= 0.15: all but the least likely of them (0.2) go -> {0: 0.1, 1: 0.2}.
  expectDist(finalDist(tenths(), c, {}, /*xtc_draw=*/0.25), {{0, 1.0 / 3}, {1, 2.0 / 3}});
  // The coin (0.75) is not under the probability (0.5): XTC does nothing this step.
  expectDist(finalDist(tenths(), c, {}, /*xtc_draw=*/0.75), {{0, 0.1}, {1, 0.2}, {2, 0.3}, {3, 0.4}});
  // Only one token above the threshold: nothing to exclude.
  c.xtc_threshold = 0.35;
  expectDist(finalDist(tenths(), c, {}, 0.25), {{0, 0.1}, {1, 0.2}, {2, 0.3}, {3, 0.4}});
}

TEST(Stages, MirostatV2Truncation) {
  SamplerConfig c = plainConfig();
  c.mirostat = 2;
  c.mirostat_tau = 1.0;
  // Surprises -log2 p: 0.4 -> 1.32, 0.3 -> 1.74, 0.2 -> 2.32, 0.1 -> 3.32. mu = 2 keeps 0.4, 0.3.
  expectDist(finalDist(tenths(), c, {}, 0.0, /*mu=*/2.0), {{3, 4.0 / 7}, {2, 3.0 / 7}});
  // mu below every surprise still keeps the most likely token.
  expectDist(finalDist(tenths(), c, {}, 0.0, /*mu=*/0.5), {{3, 1.0}});
}

}  // namespace
}  // namespace tokenfab
