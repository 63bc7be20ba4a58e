// SamplerChain::sample and whatIf: both run the same chain function, so a what-if on full stored
// logits with the original settings and draws is bit-for-bit the original step.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "sampling/stages.h"
#include "tokenfab/sampling.h"

namespace tokenfab {
namespace {

using sampling::Candidate;
using sampling::Candidates;

struct RawStats {
  double logsumexp = 0.0;
  double entropy_bits = 0.0;
};

// Full logits -> candidates (id order, -inf dropped) with their raw probabilities.
Result<Candidates> buildCandidates(std::span<const float> logits, RawStats& stats) {
  if (logits.empty()) return Status(Code::kInvalidArgument, "sampler: no logits");
  if (logits.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return Status(Code::kInvalidArgument, "sampler: vocabulary too large");
  }
  double max_logit = -std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < logits.size(); ++i) {
    const float l = logits[i];
    if (std::isnan(l) || (std::isinf(l) && l > 0)) {
      return Status(Code::kInvalidArgument, "sampler: logit " + std::to_string(i) + " is " +
                                                (std::isnan(l) ? "NaN" : "+inf"));
    }
    max_logit = std::max(max_logit, static_cast<double>(l));
  }
  if (std::isinf(max_logit)) return Status(Code::kInvalidArgument, "sampler: every logit is -inf");

  Candidates cands;
  cands.reserve(logits.size());
  double sum = 0.0, weighted = 0.0;  // sum of w and of w * (l - max), in id order
  for (size_t i = 0; i < logits.size(); ++i) {
    if (std::isinf(logits[i])) continue;
    const double shifted = static_cast<double>(logits[i]) - max_logit;
    const double w = std::exp(shifted);
    sum += w;
    weighted += w * shifted;
    cands.push_back({static_cast<int32_t>(i), static_cast<double>(logits[i]), w});
  }
  for (Candidate& c : cands) c.raw_prob /= sum;
  stats.logsumexp = max_logit + std::log(sum);
  stats.entropy_bits = (std::log(sum) - weighted / sum) / std::log(2.0);
  return cands;
}

}  // namespace

std::vector<StageKind> activeSamplerStages(const SamplerConfig& c) {
  std::vector<StageKind> out;
  if (sampling::stageActive(StageKind::kLogitBias, c)) out.push_back(StageKind::kLogitBias);
  if (c.mirostat == 2) {
    if (sampling::stageActive(StageKind::kTemperature, c)) out.push_back(StageKind::kTemperature);
    out.push_back(StageKind::kMirostat);
    return out;
  }
  for (StageKind k : c.order) {
    if (sampling::stageActive(k, c)) out.push_back(k);
  }
  return out;
}

namespace {

struct ChainInput {
  const SamplerConfig& config;
  std::span<const int32_t> history;
  double xtc_draw;
  double draw;
  double mu;
  std::span<const int32_t> trace_ids;  // raw top-N ids followed through the stages
};

struct ChainOutput {
  Candidates cands;           // final survivors
  std::vector<double> probs;  // their probabilities
  size_t chosen = 0;          // index into cands
  std::vector<StageRecord> stages;
};

void applyStage(StageKind kind, Candidates& cands, const ChainInput& in) {
  const SamplerConfig& c = in.config;
  switch (kind) {
    case StageKind::kLogitBias: sampling::applyLogitBias(cands, c); break;
    case StageKind::kPenalties: sampling::applyPenalties(cands, c, in.history); break;
    case StageKind::kDry: sampling::applyDry(cands, c, in.history); break;
    case StageKind::kTopNSigma: sampling::applyTopNSigma(cands, c.top_n_sigma); break;
    case StageKind::kTopK: sampling::applyTopK(cands, c.top_k); break;
    case StageKind::kTypicalP: sampling::applyTypicalP(cands, c.typical_p); break;
    case StageKind::kTopP: sampling::applyTopP(cands, c.top_p); break;
    case StageKind::kMinP: sampling::applyMinP(cands, c.min_p); break;
    case StageKind::kXtc: sampling::applyXtc(cands, c.xtc_probability, c.xtc_threshold, in.xtc_draw); break;
    case StageKind::kTemperature: sampling::applyTemperature(cands, c.temperature); break;
    case StageKind::kMirostat: sampling::applyMirostatV2(cands, in.mu); break;
  }
}

Result<ChainOutput> runChain(Candidates cands, const ChainInput& in) {
  ChainOutput out;
  for (StageKind kind : activeSamplerStages(in.config)) {
    applyStage(kind, cands, in);
    if (cands.empty()) return Status(Code::kInvalidArgument, "sampler: the logit bias bans every token");
    StageRecord rec;
    rec.name = std::string(stageName(kind));
    rec.survivors = static_cast<int32_t>(cands.size());
    for (const Candidate& c : cands) rec.raw_mass += c.raw_prob;
    rec.raw_mass = std::min(rec.raw_mass, 1.0);  // rounding can leave it a hair above 1
    const std::vector<double> probs = sampling::softmax(cands);
    rec.top_probs.reserve(in.trace_ids.size());
    for (int32_t id : in.trace_ids) {
      const int64_t i = sampling::findCandidate(cands, id);
      rec.top_probs.push_back(i < 0 ? 0.0 : probs[static_cast<size_t>(i)]);
    }
    out.stages.push_back(std::move(rec));
  }
  out.probs = sampling::softmax(cands);
  out.chosen = sampling::pickIndex(cands, out.probs, in.draw);
  out.cands = std::move(cands);
  return out;
}

std::vector<std::pair<int32_t, double>> topDistribution(const ChainOutput& out, int32_t n) {
  std::vector<std::pair<int32_t, double>> dist;
  for (size_t i : sampling::bestIndices(out.cands, static_cast<size_t>(std::max(n, 1)))) {
    dist.emplace_back(out.cands[i].id, out.probs[i]);
  }
  return dist;
}

// Entropy in bits without a log per candidate: with m the largest logit, p_i = exp(l_i - m) / Z,
// so H = ln Z - sum p_i (l_i - m), and ln Z = -ln p_max.
double entropyBits(const Candidates& cands, std::span<const double> probs) {
  double max_logit = cands[0].logit, p_max = probs[0];
  for (size_t i = 1; i < cands.size(); ++i) {
    if (cands[i].logit > max_logit) {
      max_logit = cands[i].logit;
      p_max = probs[i];
    }
  }
  double weighted = 0.0;
  for (size_t i = 0; i < cands.size(); ++i) weighted += probs[i] * (cands[i].logit - max_logit);
  return std::max(0.0, -std::log(p_max) - weighted) / std::log(2.0);
}

double nextMu(const SamplerConfig& c, double mu, double chosen_prob) {
  if (c.mirostat != 2) return mu;
  const double surprise = -std::log2(chosen_prob);
  return mu - c.mirostat_eta * (surprise - c.mirostat_tau);
}

}  // namespace

SamplerChain::SamplerChain(SamplerConfig config, uint64_t seed)
    : m_config(std::move(config)), m_seed(seed), m_rng(seed), m_mu(2.0 * m_config.mirostat_tau) {}

Result<SampleResult> SamplerChain::sample(std::span<const float> logits, std::span<const int32_t> history) {
  const auto start = std::chrono::steady_clock::now();
  TF_RETURN_IF_ERROR(validateSamplerConfig(m_config));
  for (const auto& [id, bias] : m_config.logit_bias) {
    if (static_cast<size_t>(id) >= logits.size()) {
      return Status(Code::kInvalidArgument, "logit bias: token " + std::to_string(id) +
                                                " is outside the vocabulary (" + std::to_string(logits.size()) + ")");
    }
  }
  RawStats raw;
  TF_ASSIGN_OR_RETURN(Candidates cands, buildCandidates(logits, raw));

  SampleResult result;
  StepTrace& t = result.trace;
  t.position = static_cast<int32_t>(history.size());
  t.vocab_size = static_cast<int32_t>(logits.size());
  t.raw_logsumexp = raw.logsumexp;
  t.raw_entropy_bits = raw.entropy_bits;
  std::vector<int32_t> trace_ids;
  {
    double top_mass = 0.0;
    for (size_t i : sampling::bestIndices(cands, static_cast<size_t>(m_config.trace_top_n))) {
      const Candidate& c = cands[i];
      t.raw_top.push_back({c.id, logits[static_cast<size_t>(c.id)], c.raw_prob});
      trace_ids.push_back(c.id);
      top_mass += c.raw_prob;
    }
    t.tail_mass = std::max(0.0, 1.0 - top_mass);
  }
  // Every step uses exactly two draws, so a step's draws do not depend on the settings.
  t.xtc_draw = m_rng.uniform();
  t.draw = m_rng.uniform();
  t.mirostat_mu = m_mu;

  const ChainInput in{m_config, history, t.xtc_draw, t.draw, m_mu, trace_ids};
  TF_ASSIGN_OR_RETURN(ChainOutput out, runChain(std::move(cands), in));
  t.stages = std::move(out.stages);
  t.token = out.cands[out.chosen].id;
  t.chosen_prob = out.probs[out.chosen];
  t.final_entropy_bits = entropyBits(out.cands, out.probs);
  m_mu = nextMu(m_config, m_mu, t.chosen_prob);
  result.token = t.token;
  result.distribution = topDistribution(out, m_config.trace_top_n);
  t.sampler_us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
  return result;
}

StoredStep StoredStep::fromTrace(const StepTrace& trace, std::vector<int32_t> history) {
  StoredStep s;
  s.top = trace.raw_top;
  s.tail_mass = trace.tail_mass;
  s.history = std::move(history);
  s.xtc_draw = trace.xtc_draw;
  s.mirostat_mu = trace.mirostat_mu;
  return s;
}

Result<WhatIfResult> whatIf(const StoredStep& step, const SamplerConfig& config, double draw) {
  TF_RETURN_IF_ERROR(validateSamplerConfig(config));
  if (!(draw >= 0.0 && draw < 1.0)) return Status(Code::kInvalidArgument, "what-if: draw must be in [0, 1)");
  Candidates cands;
  if (!step.logits.empty()) {
    RawStats raw;
    TF_ASSIGN_OR_RETURN(cands, buildCandidates(step.logits, raw));
  } else {
    if (step.top.empty()) return Status(Code::kInvalidArgument, "what-if: the stored step holds no candidates");
    for (const TokenLogit& t : step.top) {
      if (t.id < 0 || !std::isfinite(t.logit)) {
        return Status(Code::kInvalidArgument, "what-if: bad stored candidate " + std::to_string(t.id));
      }
      cands.push_back({t.id, static_cast<double>(t.logit), t.prob});
    }
    std::sort(cands.begin(), cands.end(), [](const Candidate& a, const Candidate& b) { return a.id < b.id; });
    for (size_t i = 1; i < cands.size(); ++i) {
      if (cands[i].id == cands[i - 1].id) {
        return Status(Code::kInvalidArgument, "what-if: token " + std::to_string(cands[i].id) + " stored twice");
      }
    }
  }
  const double mu = step.mirostat_mu > 0.0 ? step.mirostat_mu : 2.0 * config.mirostat_tau;
  const ChainInput in{config, step.history, step.xtc_draw, draw, mu, {}};
  TF_ASSIGN_OR_RETURN(ChainOutput out, runChain(std::move(cands), in));
  WhatIfResult result;
  result.token = out.cands[out.chosen].id;
  result.distribution = topDistribution(out, config.trace_top_n);
  return result;
}

}  // namespace tokenfab
