// Properties of the whole chain on random logits (fixed seeds), the documented effect of the order,
// a chi-square test of the final draw, determinism, bad input, and the speed on a 152k vocabulary.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>
#include <set>
#include <ctime>

#include "sampling_test_util.h"

namespace tokenfab {
namespace {

using test::finalDist;
using test::plainConfig;
using test::randomLogits;

// Survivors by an independent float64 reference: full sort by (probability desc, id asc).
std::vector<int32_t> sortedIds(const std::vector<double>& p) {
  std::vector<int32_t> ids(p.size());
  std::iota(ids.begin(), ids.end(), 0);
  std::sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) { return p[a] > p[b] || (p[a] == p[b] && a < b); });
  return ids;
}

std::vector<double> toDouble(const std::vector<float>& v) { return {v.begin(), v.end()}; }

std::set<int32_t> keys(const std::map<int32_t, double>& m) {
  std::set<int32_t> s;
  for (const auto& [id, p] : m) s.insert(id);
  return s;
}

TEST(ChainProperties, TopPKeepsSmallestPrefixReachingP) {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const std::vector<float> logits = randomLogits(seed, 300);
    const double p_target = 0.1 + 0.02 * static_cast<double>(seed);
    const std::vector<double> p = test::refSoftmax(toDouble(logits));
    const std::vector<int32_t> order = sortedIds(p);
    std::set<int32_t> want;
    double cum = 0.0;
    for (int32_t id : order) {
      want.insert(id);
      cum += p[static_cast<size_t>(id)];
      if (cum >= p_target) break;
    }
    SamplerConfig c = plainConfig();
    c.order = {StageKind::kTopP};
    c.top_p = p_target;
    EXPECT_EQ(keys(finalDist(logits, c)), want);
  }
}

TEST(ChainProperties, MinPKeepsExactlyTokensAtLeastPTimesMax) {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const std::vector<float> logits = randomLogits(seed, 300);
    const double min_p = 0.005 * static_cast<double>(seed);
    const std::vector<double> p = test::refSoftmax(toDouble(logits));
    const double pmax = *std::max_element(p.begin(), p.end());
    std::set<int32_t> want;
    for (size_t i = 0; i < p.size(); ++i) {
      if (p[i] >= min_p * pmax) want.insert(static_cast<int32_t>(i));
    }
    SamplerConfig c = plainConfig();
    c.order = {StageKind::kMinP};
    c.min_p = min_p;
    EXPECT_EQ(keys(finalDist(logits, c)), want);
  }
}

TEST(ChainProperties, TopKKeepsKWithTiesToLowerIds) {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::vector<float> logits = randomLogits(seed, 200);
    for (float& l : logits) l = std::round(l);  // plenty of ties
    const int32_t k = static_cast<int32_t>(1 + seed * 3);
    const std::vector<int32_t> order = sortedIds(toDouble(logits));
    const std::set<int32_t> want(order.begin(), order.begin() + k);
    SamplerConfig c = plainConfig();
    c.order = {StageKind::kTopK};
    c.top_k = k;
    EXPECT_EQ(keys(finalDist(logits, c)), want);
  }
}

TEST(ChainProperties, TemperatureZeroIsArgmax) {
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::vector<float> logits = randomLogits(seed, 1000);
    if (seed % 2 == 0) logits[7] = logits[500] = 100.0f;  // tie: the lower id wins
    const int32_t argmax = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    SamplerConfig c;  // the default chain, greedy
    c.temperature = 0.0;
    SamplerChain chain(c, seed);
    for (int step = 0; step < 3; ++step) {
      Result<SampleResult> r = chain.sample(logits, {});
      ASSERT_TRUE(r.isOk()) << r.status().toString();
      EXPECT_EQ(r->token, argmax);
    }
  }
}

// llama.cpp #7498: temperature before min-p lets more tokens through than after it.
// Raw p = {0.5, 0.3, 0.15, 0.05}, min_p = 0.2, T = 3.
//  min-p first: threshold 0.2 * 0.5 = 0.1 keeps {0, 1, 2}; then T=3 spreads them: p^(1/3) renormalised.
//  temperature first: p^(1/3) = {0.794, 0.669, 0.531, 0.368}, threshold 0.2 * 0.794 = 0.159 keeps all 4.
TEST(ChainOrder, TemperatureBeforeMinPKeepsMore) {
  const std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)};
  SamplerConfig c = plainConfig();
  c.min_p = 0.2;
  c.temperature = 3.0;
  auto spread = [](std::vector<int> ids) {
    const double raw[] = {0.5, 0.3, 0.15, 0.05};
    double z = 0.0;
    for (int i : ids) z += std::cbrt(raw[i]);
    std::map<int32_t, double> out;
    for (int i : ids) out[i] = std::cbrt(raw[i]) / z;
    return out;
  };
  for (auto [order, want] : {std::pair{std::vector{StageKind::kMinP, StageKind::kTemperature}, spread({0, 1, 2})},
                             std::pair{std::vector{StageKind::kTemperature, StageKind::kMinP}, spread({0, 1, 2, 3})}}) {
    c.order = order;
    SCOPED_TRACE(formatSamplerOrder(order));
    const std::map<int32_t, double> got = finalDist(logits, c);
    ASSERT_EQ(keys(got), keys(want));
    for (const auto& [id, p] : want) EXPECT_NEAR(got.at(id), p, 1e-6) << id;
  }
}

TEST(ChainOrder, ParseAndFormat) {
  const std::string def = "penalties;dry;top_n_sigma;top_k;typ_p;top_p;min_p;xtc;temperature";
  EXPECT_EQ(formatSamplerOrder(SamplerConfig::defaultOrder()), def);
  Result<std::vector<StageKind>> parsed = parseSamplerOrder(def);
  ASSERT_TRUE(parsed.isOk());
  EXPECT_EQ(*parsed, SamplerConfig::defaultOrder());
  parsed = parseSamplerOrder("temp, min-p;top-k");
  ASSERT_TRUE(parsed.isOk());
  EXPECT_EQ(*parsed, (std::vector{StageKind::kTemperature, StageKind::kMinP, StageKind::kTopK}));
  parsed = parseSamplerOrder("top_k;bogus");
  ASSERT_FALSE(parsed.isOk());
  EXPECT_EQ(parsed.status().code(), Code::kInvalidArgument);
  EXPECT_NE(parsed.status().message().find("bogus"), std::string::npos);
}

// Regularized lower incomplete gamma P(a, x) by its series, for the chi-square CDF:
// CDF_k(x) = P(k/2, x/2). Independent of the code under test.
double chiSquareCdf(double x, int dof) {
  const double a = dof / 2.0, hx = x / 2.0;
  double term = 1.0 / a, sum = term;
  for (int n = 1; n < 1000; ++n) {
    term *= hx / (a + n);
    sum += term;
    if (term < sum * 1e-16) break;
  }
  return sum * std::exp(-hx + a * std::log(hx) - std::lgamma(a));
}

TEST(ChainStatistics, DrawsFollowTheFinalDistribution) {
  constexpr uint64_t kSeed = 20240607;
  constexpr int kDraws = 200000;
  const std::vector<double> p = {0.30, 0.20, 0.15, 0.10, 0.08, 0.07, 0.05, 0.03, 0.015, 0.005};
  std::vector<float> logits;
  for (double v : p) logits.push_back(static_cast<float>(std::log(v)));
  const std::vector<double> want = test::refSoftmax(toDouble(logits));  // p up to float rounding
  SamplerChain chain(plainConfig(), kSeed);
  std::vector<int> counts(p.size(), 0);
  for (int i = 0; i < kDraws; ++i) {
    Result<SampleResult> r = chain.sample(logits, {});
    ASSERT_TRUE(r.isOk());
    ++counts[static_cast<size_t>(r->token)];
  }
  double chi2 = 0.0;
  for (size_t i = 0; i < p.size(); ++i) {
    const double e = want[i] * kDraws;
    chi2 += (counts[i] - e) * (counts[i] - e) / e;
  }
  // 9 degrees of freedom; the 0.999 quantile is 27.877 (published chi-square tables).
  const double p_value = 1.0 - chiSquareCdf(chi2, 9);
  EXPECT_NEAR(chiSquareCdf(27.877, 9), 0.999, 1e-4) << "the CDF helper itself";
  EXPECT_LT(chi2, 27.877) << "seed " << kSeed << " p-value " << p_value;
  EXPECT_GT(p_value, 0.001) << "seed " << kSeed;
}

TEST(ChainDeterminism, SameSeedSameTokens) {
  for (uint64_t seed : {1ull, 42ull, 0xDEADBEEFull}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    SamplerConfig c;  // the default chain plus the stages that use history and the RNG
    c.repeat_penalty = 1.1;
    c.dry_multiplier = 0.8;
    c.xtc_probability = 0.5;
    c.xtc_threshold = 0.05;
    std::vector<int32_t> tokens[2];
    std::vector<StepTrace> traces[2];
    for (int run = 0; run < 2; ++run) {
      SamplerChain chain(c, seed);
      std::vector<int32_t> history = {1, 2, 3};
      for (int step = 0; step < 50; ++step) {
        const std::vector<float> logits = randomLogits(1000 + static_cast<uint64_t>(step), 5000, 2.0);
        Result<SampleResult> r = chain.sample(logits, history);
        ASSERT_TRUE(r.isOk()) << r.status().toString();
        history.push_back(r->token);
        tokens[run].push_back(r->token);
        r->trace.sampler_us = 0.0;
        traces[run].push_back(r->trace);
      }
    }
    EXPECT_EQ(tokens[0], tokens[1]);
    EXPECT_EQ(traces[0], traces[1]);
  }
}

TEST(ChainTrace, RecordsStagesAndMasses) {
  const std::vector<float> logits = randomLogits(7, 1000);
  SamplerConfig c;  // default: top_k 40 -> top_p 0.95 -> min_p 0.05 -> temperature 0.8
  SamplerChain chain(c, 7);
  Result<SampleResult> r = chain.sample(logits, std::vector<int32_t>{5, 6});
  ASSERT_TRUE(r.isOk());
  const StepTrace& t = r->trace;
  EXPECT_EQ(t.position, 2);
  EXPECT_EQ(t.vocab_size, 1000);
  ASSERT_EQ(t.raw_top.size(), 64u);
  const std::vector<double> p = test::refSoftmax(toDouble(logits));
  const std::vector<int32_t> order = sortedIds(p);
  double top_mass = 0.0, lse_sum = 0.0, h = 0.0;
  for (size_t i = 0; i < 64; ++i) {
    EXPECT_EQ(t.raw_top[i].id, order[i]);
    EXPECT_NEAR(t.raw_top[i].prob, p[static_cast<size_t>(order[i])], 1e-12);
    top_mass += t.raw_top[i].prob;
  }
  for (float l : logits) lse_sum += std::exp(static_cast<double>(l));
  for (double q : p) h -= q * std::log2(q);
  EXPECT_NEAR(t.tail_mass, 1.0 - top_mass, 1e-12);
  EXPECT_NEAR(t.raw_logsumexp, std::log(lse_sum), 1e-9);
  EXPECT_NEAR(t.raw_entropy_bits, h, 1e-9);
  ASSERT_EQ(t.stages.size(), 4u);
  EXPECT_EQ(t.stages[0].name, "top_k");
  EXPECT_EQ(t.stages[0].survivors, 40);
  double mass40 = 0.0;
  for (size_t i = 0; i < 40; ++i) mass40 += p[static_cast<size_t>(order[i])];
  EXPECT_NEAR(t.stages[0].raw_mass, mass40, 1e-12);
  for (size_t i = 40; i < 64; ++i) EXPECT_EQ(t.stages[0].top_probs[i], 0.0);
  EXPECT_NEAR(t.stages[0].top_probs[0], p[static_cast<size_t>(order[0])] / mass40, 1e-12);
  EXPECT_EQ(t.stages[3].name, "temperature");
  // The chosen token is a survivor, and the final distribution sums to one.
  double total = 0.0;
  bool found = false;
  for (const auto& [id, q] : r->distribution) {
    total += q;
    found |= id == r->token;
  }
  EXPECT_TRUE(found);
  EXPECT_NEAR(total, 1.0, 1e-12);
  ASSERT_LE(r->distribution.size(), 40u);  // complete: every survivor is listed
  double h_final = 0.0;
  for (const auto& [id, q] : r->distribution) h_final -= q * std::log2(q);
  EXPECT_NEAR(t.final_entropy_bits, h_final, 1e-9);
  EXPECT_EQ(static_cast<int32_t>(r->distribution.size()), t.stages.back().survivors);
  EXPECT_GE(t.draw, 0.0);
  EXPECT_LT(t.draw, 1.0);
}

TEST(ChainMirostat, MuFollowsTheObservedSurprise) {
  const std::vector<float> logits = {std::log(1.0f), std::log(2.0f), std::log(3.0f), std::log(4.0f)};
  SamplerConfig c = plainConfig();
  c.mirostat = 2;
  c.mirostat_tau = 1.0;  // mu starts at 2: survivors 0.4 and 0.3 -> 4/7, 3/7
  c.mirostat_eta = 0.1;
  SamplerChain chain(c, 3);
  Result<SampleResult> r = chain.sample(logits, {});
  ASSERT_TRUE(r.isOk());
  ASSERT_TRUE(r->token == 3 || r->token == 2);
  const double p = r->token == 3 ? 4.0 / 7 : 3.0 / 7;
  EXPECT_NEAR(chain.mirostatMu(), 2.0 - 0.1 * (-std::log2(p) - 1.0), 1e-6);
}

TEST(ChainErrors, BadInputIsAStatus) {
  SamplerChain chain(SamplerConfig{}, 1);
  std::vector<float> logits = {0.0f, 1.0f};
  EXPECT_EQ(chain.sample({}, {}).status().code(), Code::kInvalidArgument);
  logits[1] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(chain.sample(logits, {}).status().code(), Code::kInvalidArgument);
  logits[1] = std::numeric_limits<float>::infinity();
  EXPECT_EQ(chain.sample(logits, {}).status().code(), Code::kInvalidArgument);
  logits = {-std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()};
  EXPECT_EQ(chain.sample(logits, {}).status().code(), Code::kInvalidArgument);
  // -inf logits are simply never chosen.
  logits = {-std::numeric_limits<float>::infinity(), 0.0f};
  EXPECT_EQ(chain.sample(logits, {}).value().token, 1);
  SamplerConfig banned = plainConfig();
  banned.logit_bias = {{0, -std::numeric_limits<double>::infinity()}, {1, -std::numeric_limits<double>::infinity()}};
  EXPECT_EQ(SamplerChain(banned, 1).sample(std::vector<float>{0.0f, 0.0f}, {}).status().code(), Code::kInvalidArgument);
  SamplerConfig far = plainConfig();
  far.logit_bias = {{5, 1.0}};
  EXPECT_EQ(SamplerChain(far, 1).sample(std::vector<float>{0.0f, 0.0f}, {}).status().code(), Code::kInvalidArgument);
  SamplerConfig bad;
  bad.top_p = 1.5;
  EXPECT_EQ(SamplerChain(bad, 1).sample(std::vector<float>{0.0f, 0.0f}, {}).status().code(), Code::kInvalidArgument);
  // History tokens outside the vocabulary are ignored by the penalties, not a crash.
  SamplerConfig pen;
  pen.repeat_penalty = 1.3;
  pen.dry_multiplier = 1.0;
  EXPECT_TRUE(SamplerChain(pen, 1).sample(std::vector<float>{0.0f, 1.0f}, std::vector<int32_t>{-5, 99, 1, 99, 1}).isOk());
}

struct StepCost {
  double wall_us = 0.0;  // as the trace reports it
  double cpu_us = 0.0;   // this thread's CPU time: what the step costs on an unloaded core
};

double threadCpuMicros() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

StepCost costPerStep(const SamplerConfig& c, const std::vector<float>& logits, const std::vector<int32_t>& history) {
  SamplerChain chain(c, 99);
  constexpr int kSteps = 30;
  StepCost cost;
  for (int i = 0; i < kSteps; ++i) {
    const double cpu0 = threadCpuMicros();
    Result<SampleResult> r = chain.sample(logits, history);
    cost.cpu_us += threadCpuMicros() - cpu0;
    EXPECT_TRUE(r.isOk());
    cost.wall_us += r->trace.sampler_us;
  }
  cost.wall_us /= kSteps;
  cost.cpu_us /= kSteps;
  return cost;
}

// A Qwen-sized vocabulary with 4096 tokens of history through every stage: each step must sample
// (costPerStep asserts it). The per-step cost is printed for the notes; speed is not asserted
// here (tests run on shared machines; figures belong to benchmarks).
TEST(ChainLargeVocab, EveryConfigSamplesAt152k) {
  const std::vector<float> logits = randomLogits(5, 152064, 3.0);
  std::vector<int32_t> history(4096);
  for (size_t i = 0; i < history.size(); ++i) history[i] = static_cast<int32_t>((i * 7919) % 152064);
  SamplerConfig heavy;  // every history stage on, XTC on, then the default truncation
  heavy.repeat_penalty = 1.1;
  heavy.frequency_penalty = 0.1;
  heavy.dry_multiplier = 0.8;
  heavy.top_n_sigma = 3.0;
  heavy.xtc_probability = 1.0;
  SamplerConfig full = plainConfig();  // no truncation at all: the draw walks the full vocabulary
  full.trace_top_n = 64;
  const StepCost def = costPerStep(SamplerConfig{}, logits, history);
  const StepCost heavy_cost = costPerStep(heavy, logits, history);
  const StepCost full_cost = costPerStep(full, logits, history);
  std::printf("[ sampler  ] 152064 logits, us/step (thread CPU / wall): default chain %.0f / %.0f, "
              "all history stages %.0f / %.0f, untruncated %.0f / %.0f\n",
              def.cpu_us, def.wall_us, heavy_cost.cpu_us, heavy_cost.wall_us, full_cost.cpu_us, full_cost.wall_us);
}

}  // namespace
}  // namespace tokenfab
