// Helpers shared by the sampling tests: a float64 reference softmax written independently of
// core/sampling, a config with every stage off, and random logits from a fixed seed.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "tokenfab/sampling.h"

namespace tokenfab::test {

// Every stage off; order empty. Tests switch on exactly what they check.
inline SamplerConfig plainConfig() {
  SamplerConfig c;
  c.order.clear();
  c.top_k = 0;
  c.top_p = 1.0;
  c.min_p = 0.0;
  c.temperature = 1.0;
  c.trace_top_n = 4096;
  return c;
}

inline std::vector<double> refSoftmax(const std::vector<double>& logits) {
  double m = *std::max_element(logits.begin(), logits.end());
  std::vector<double> p(logits.size());
  double z = 0.0;
  for (size_t i = 0; i < logits.size(); ++i) z += (p[i] = std::exp(logits[i] - m));
  for (double& v : p) v /= z;
  return p;
}

// Logits ~ N(0, scale^2) from a fixed seed (std::normal_distribution is fine here: the values
// only need to be reproducible on this machine, not across compilers).
inline std::vector<float> randomLogits(uint64_t seed, size_t n, double scale = 3.0) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> dist(0.0, scale);
  std::vector<float> out(n);
  for (float& v : out) v = static_cast<float>(dist(gen));
  return out;
}

// The final distribution of a what-if on full logits, as id -> probability.
inline std::map<int32_t, double> finalDist(const std::vector<float>& logits, const SamplerConfig& config,
                                           std::vector<int32_t> history = {}, double xtc_draw = 0.0,
                                           double mu = 0.0) {
  StoredStep step;
  step.logits = logits;
  step.history = std::move(history);
  step.xtc_draw = xtc_draw;
  step.mirostat_mu = mu;
  Result<WhatIfResult> r = whatIf(step, config, 0.5);
  std::map<int32_t, double> out;
  if (!r) {
    ADD_FAILURE() << r.status().toString();
    return out;
  }
  for (const auto& [id, p] : r->distribution) out[id] = p;
  return out;
}

}  // namespace tokenfab::test
