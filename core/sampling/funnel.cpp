// The funnel of one step (samplerFunnel): what the workbench's sampler panel draws, computed
// here so the panel only draws. Each row is the chain cut after one more stage, re-run with
// whatIf on the stored step.
#include <algorithm>
#include <cmath>

#include "tokenfab/sampling.h"

namespace tokenfab {

Result<Funnel> samplerFunnel(const StoredStep& stored, const StepTrace& trace, SamplerConfig config, bool as_recorded) {
  Funnel out;
  out.exact = !stored.logits.empty();
  out.n_candidates = out.exact ? int32_t(stored.logits.size()) : int32_t(trace.raw_top.size());
  config.trace_top_n = std::min<int32_t>(out.n_candidates, 4096);
  TF_RETURN_IF_ERROR(validateSamplerConfig(config));
  // Raw probability of an id the funnel meets: exact with full logits, else from the stored top.
  const auto raw_prob = [&](int32_t id) -> double {
    if (out.exact && id >= 0 && size_t(id) < stored.logits.size())
      return std::exp(double(stored.logits[size_t(id)]) - trace.raw_logsumexp);
    for (const TokenLogit& c : trace.raw_top)
      if (c.id == id) return c.prob;
    return 0.0;
  };
  out.rows.push_back({"raw", out.n_candidates, 1.0});
  if (as_recorded) {
    // A streaming step: its own stage records and final distribution, no re-run.
    for (const StageRecord& record : trace.stages) out.rows.push_back({record.name, record.survivors, record.raw_mass});
    out.token = trace.token;
    if (!trace.stages.empty()) {
      const auto& probs = trace.stages.back().top_probs;
      for (size_t i = 0; i < probs.size() && i < trace.raw_top.size(); ++i)
        if (probs[i] > 0.0) out.distribution.emplace_back(trace.raw_top[i].id, probs[i]);
      std::stable_sort(out.distribution.begin(), out.distribution.end(),
                       [](const auto& a, const auto& b) { return a.second > b.second; });
    }
    return out;
  }
  const std::vector<StageKind> active = activeSamplerStages(config);
  for (size_t i = 0; i < active.size(); ++i) {
    if (active[i] == StageKind::kLogitBias) continue;
    SamplerConfig partial = config;
    if (config.mirostat == 2) {
      if (i + 1 < active.size()) continue;  // mirostat replaces the chain: show its end only
    } else {
      partial.order.clear();
      for (size_t j = 0; j <= i; ++j)
        if (active[j] != StageKind::kLogitBias) partial.order.push_back(active[j]);
    }
    auto result = whatIf(stored, partial, trace.draw);
    if (!result.isOk()) continue;
    double mass = 0.0;
    for (const auto& [id, p] : result->distribution) mass += raw_prob(id);
    out.rows.push_back({std::string(stageName(active[i])), int32_t(result->distribution.size()), std::min(mass, 1.0)});
  }
  TF_ASSIGN_OR_RETURN(WhatIfResult result, whatIf(stored, config, trace.draw));
  out.token = result.token;
  out.distribution = std::move(result.distribution);
  return out;
}

}  // namespace tokenfab
