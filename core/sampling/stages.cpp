// The stages. Definitions (and their published sources) are documented in docs/sampling.md; keep
// the two in step.
#include "sampling/stages.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

namespace tokenfab::sampling {
namespace {

// Keeps cands[i] where keep[i]; stays in id order.
void keepIf(Candidates& cands, const std::vector<char>& keep) {
  size_t out = 0;
  for (size_t i = 0; i < cands.size(); ++i) {
    if (keep[i]) cands[out++] = cands[i];
  }
  cands.resize(out);
}

// Keeps the first `count` candidates of a ranking.
void keepRanked(Candidates& cands, RankedView& view, size_t count) {
  if (count >= cands.size()) return;
  std::vector<char> keep(cands.size(), 0);
  for (size_t r = 0; r < count; ++r) keep[view.at(r)] = 1;
  keepIf(cands, keep);
}

// The last `last_n` tokens of history (-1: all of it).
std::span<const int32_t> window(std::span<const int32_t> history, int32_t last_n) {
  if (last_n < 0 || static_cast<size_t>(last_n) >= history.size()) return history;
  return history.subspan(history.size() - static_cast<size_t>(last_n));
}

}  // namespace

std::vector<double> softmax(const Candidates& cands) {
  std::vector<double> probs(cands.size());
  if (cands.empty()) return probs;
  double max_logit = -std::numeric_limits<double>::infinity();
  for (const Candidate& c : cands) max_logit = std::max(max_logit, c.logit);
  double sum = 0.0;
  for (size_t i = 0; i < cands.size(); ++i) {
    probs[i] = std::exp(cands[i].logit - max_logit);
    sum += probs[i];
  }
  for (double& p : probs) p /= sum;
  return probs;
}

int64_t findCandidate(const Candidates& cands, int32_t id) {
  auto it = std::lower_bound(cands.begin(), cands.end(), id,
                             [](const Candidate& c, int32_t v) { return c.id < v; });
  if (it == cands.end() || it->id != id) return -1;
  return it - cands.begin();
}

RankedView::RankedView(std::vector<double> keys) {
  m_items.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) m_items.push_back({keys[i], i});
}

void RankedView::sortUpTo(size_t rank) {
  if (rank < m_sorted) return;
  const auto less = [](const Item& a, const Item& b) {
    return a.key < b.key || (a.key == b.key && a.index < b.index);
  };
  const size_t n = m_items.size();
  const size_t end = std::min(n, std::max({rank + 1, size_t{64}, 2 * m_sorted}));
  auto first = m_items.begin() + static_cast<std::ptrdiff_t>(m_sorted);
  auto last = m_items.begin() + static_cast<std::ptrdiff_t>(end);
  if (end < n) std::nth_element(first, last - 1, m_items.end(), less);
  std::sort(first, last, less);
  m_sorted = end;
}

size_t RankedView::at(size_t rank) {
  sortUpTo(rank);
  return m_items[rank].index;
}

RankedView rankByLogit(const Candidates& cands) {
  std::vector<double> keys(cands.size());
  for (size_t i = 0; i < cands.size(); ++i) keys[i] = -cands[i].logit;
  return RankedView(std::move(keys));
}

std::vector<size_t> bestIndices(const Candidates& cands, size_t k) {
  k = std::min(k, cands.size());
  std::vector<size_t> out;
  if (k == 0) return out;
  if (k * 8 >= cands.size()) {
    RankedView view = rankByLogit(cands);
    for (size_t r = 0; r < k; ++r) out.push_back(view.at(r));
    return out;
  }
  // better(a, b): a ranks before b. Candidates are in id order, so a lower index is a lower id.
  const auto better = [&](size_t a, size_t b) {
    return cands[a].logit > cands[b].logit || (cands[a].logit == cands[b].logit && a < b);
  };
  // A heap whose top is the worst of the best k so far.
  out.reserve(k);
  for (size_t i = 0; i < k; ++i) out.push_back(i);
  std::make_heap(out.begin(), out.end(), better);
  for (size_t i = k; i < cands.size(); ++i) {
    if (!better(i, out.front())) continue;
    std::pop_heap(out.begin(), out.end(), better);
    out.back() = i;
    std::push_heap(out.begin(), out.end(), better);
  }
  std::sort(out.begin(), out.end(), better);
  return out;
}

bool stageActive(StageKind kind, const SamplerConfig& c) {
  switch (kind) {
    case StageKind::kLogitBias: return !c.logit_bias.empty();
    case StageKind::kPenalties:
      return c.repeat_last_n != 0 &&
             (c.repeat_penalty != 1.0 || c.frequency_penalty != 0.0 || c.presence_penalty != 0.0);
    case StageKind::kDry: return c.dry_multiplier != 0.0 && c.dry_base >= 1.0 && c.dry_penalty_last_n != 0;
    case StageKind::kTopNSigma: return c.top_n_sigma > 0.0;
    case StageKind::kTopK: return c.top_k > 0;
    case StageKind::kTypicalP: return c.typical_p < 1.0;
    case StageKind::kTopP: return c.top_p < 1.0;
    case StageKind::kMinP: return c.min_p > 0.0;
    case StageKind::kXtc: return c.xtc_probability > 0.0 && c.xtc_threshold <= 0.5;
    case StageKind::kTemperature: return c.temperature != 1.0;
    case StageKind::kMirostat: return c.mirostat == 2;
  }
  return false;
}

void applyLogitBias(Candidates& cands, const SamplerConfig& config) {
  for (const auto& [id, bias] : config.logit_bias) {
    const int64_t i = findCandidate(cands, id);
    if (i >= 0) cands[static_cast<size_t>(i)].logit += bias;
  }
  // A -inf bias bans the token; the candidate set never holds -inf logits.
  std::erase_if(cands, [](const Candidate& c) { return std::isinf(c.logit) && c.logit < 0; });
}

void applyPenalties(Candidates& cands, const SamplerConfig& config, std::span<const int32_t> history) {
  std::unordered_map<int32_t, int32_t> counts;
  for (int32_t t : window(history, config.repeat_last_n)) ++counts[t];
  for (const auto& [id, count] : counts) {
    const int64_t i = findCandidate(cands, id);
    if (i < 0) continue;
    double& logit = cands[static_cast<size_t>(i)].logit;
    // CTRL's penalty divides positive logits and multiplies negative ones (llama.cpp's reading).
    logit = logit <= 0.0 ? logit * config.repeat_penalty : logit / config.repeat_penalty;
    logit -= count * config.frequency_penalty + config.presence_penalty;
  }
}

void applyDry(Candidates& cands, const SamplerConfig& config, std::span<const int32_t> history) {
  const std::span<const int32_t> w = window(history, config.dry_penalty_last_n);
  const size_t n = w.size();
  if (n < 2) return;
  auto is_breaker = [&](int32_t t) {
    return std::find(config.dry_breaker_tokens.begin(), config.dry_breaker_tokens.end(), t) !=
           config.dry_breaker_tokens.end();
  };
  // The repeated sequence may not contain a breaker: limit it to the tail after the last one.
  size_t rep_limit = 0;
  while (rep_limit < n && !is_breaker(w[n - 1 - rep_limit])) ++rep_limit;
  if (rep_limit == 0) return;

  // Z-function of the reversed window: z[i] = how many tokens ending at w[n-1-i] equal the
  // window's last tokens. Each such match predicts the token that followed it, w[n-i].
  std::vector<int32_t> r(w.rbegin(), w.rend());
  std::vector<size_t> z(n, 0);
  size_t left = 0, right = 0;
  for (size_t i = 1; i < n; ++i) {
    if (i < right) z[i] = std::min(right - i, z[i - left]);
    while (i + z[i] < n && r[z[i]] == r[i + z[i]]) ++z[i];
    if (i + z[i] > right) {
      left = i;
      right = i + z[i];
    }
  }
  std::unordered_map<int32_t, size_t> longest;  // predicted token -> longest match
  const size_t allowed = static_cast<size_t>(std::max(config.dry_allowed_length, 1));
  for (size_t i = 1; i < n; ++i) {
    const size_t len = std::min(z[i], rep_limit);
    if (len < allowed) continue;
    size_t& best = longest[r[i - 1]];
    best = std::max(best, len);
  }
  // As llama.cpp: the exponent is capped so the penalty stays within float range.
  double max_exponent = std::numeric_limits<double>::infinity();
  if (config.dry_base > 1.000001) max_exponent = std::floor(88.7228391 / std::log(config.dry_base));
  for (const auto& [id, len] : longest) {
    const int64_t i = findCandidate(cands, id);
    if (i < 0 || is_breaker(id)) continue;  // a breaker itself is never penalised
    const double exponent = std::min(static_cast<double>(len - allowed), max_exponent);
    cands[static_cast<size_t>(i)].logit -= config.dry_multiplier * std::pow(config.dry_base, exponent);
  }
}

void applyTopNSigma(Candidates& cands, double n) {
  if (cands.size() <= 1) return;
  double max_logit = cands[0].logit, sum = 0.0;
  for (const Candidate& c : cands) {
    max_logit = std::max(max_logit, c.logit);
    sum += c.logit;
  }
  const double mean = sum / static_cast<double>(cands.size());
  double sq = 0.0;
  for (const Candidate& c : cands) sq += (c.logit - mean) * (c.logit - mean);
  const double sigma = std::sqrt(sq / static_cast<double>(cands.size()));
  const double threshold = max_logit - n * sigma;
  std::erase_if(cands, [&](const Candidate& c) { return c.logit < threshold; });
}

void applyTopK(Candidates& cands, int32_t k) {
  if (k <= 0 || static_cast<size_t>(k) >= cands.size()) return;
  std::vector<size_t> best = bestIndices(cands, static_cast<size_t>(k));
  std::sort(best.begin(), best.end());  // back to id order
  Candidates kept;
  kept.reserve(best.size());
  for (size_t i : best) kept.push_back(cands[i]);
  cands = std::move(kept);
}

void applyTypicalP(Candidates& cands, double p) {
  if (p >= 1.0 || cands.size() <= 1) return;
  const std::vector<double> probs = softmax(cands);
  double entropy = 0.0;  // nats
  for (double q : probs) {
    if (q > 0.0) entropy -= q * std::log(q);
  }
  std::vector<double> keys(cands.size());
  for (size_t i = 0; i < cands.size(); ++i) {
    keys[i] = probs[i] > 0.0 ? std::fabs(-std::log(probs[i]) - entropy)
                             : std::numeric_limits<double>::infinity();
  }
  RankedView view(std::move(keys));
  double cum = 0.0;
  for (size_t r = 0; r < view.size(); ++r) {
    cum += probs[view.at(r)];
    if (cum > p) {  // strictly greater, as llama.cpp
      keepRanked(cands, view, r + 1);
      return;
    }
  }
}

void applyTopP(Candidates& cands, double p) {
  if (p >= 1.0 || cands.size() <= 1) return;
  const std::vector<double> probs = softmax(cands);
  RankedView view = rankByLogit(cands);
  double cum = 0.0;
  for (size_t r = 0; r < view.size(); ++r) {
    cum += probs[view.at(r)];
    if (cum >= p) {
      keepRanked(cands, view, r + 1);
      return;
    }
  }
}

void applyMinP(Candidates& cands, double p) {
  if (p <= 0.0 || cands.empty()) return;
  double max_logit = cands[0].logit;
  for (const Candidate& c : cands) max_logit = std::max(max_logit, c.logit);
  // p_i >= p * p_max  <=>  logit_i - max_logit >= ln p (the shared normaliser cancels).
  const double threshold = max_logit + std::log(p);
  std::erase_if(cands, [&](const Candidate& c) { return c.logit < threshold; });
}

void applyXtc(Candidates& cands, double probability, double threshold, double coin) {
  if (probability <= 0.0 || threshold > 0.5 || coin >= probability || cands.size() < 2) return;
  const std::vector<double> probs = softmax(cands);
  RankedView view = rankByLogit(cands);
  size_t above = 0;  // the ranks [0, above) have p >= threshold
  while (above < view.size() && probs[view.at(above)] >= threshold) ++above;
  if (above < 2) return;
  // Remove every "top choice" except the least probable of them.
  std::vector<char> keep(cands.size(), 1);
  for (size_t r = 0; r + 1 < above; ++r) keep[view.at(r)] = 0;
  keepIf(cands, keep);
}

void applyTemperature(Candidates& cands, double temperature) {
  if (cands.empty()) return;
  if (temperature <= 0.0) {
    const Candidate best = cands[bestIndices(cands, 1)[0]];
    cands.assign(1, best);
    return;
  }
  for (Candidate& c : cands) c.logit /= temperature;
}

void applyMirostatV2(Candidates& cands, double mu) {
  if (cands.size() <= 1) return;
  const std::vector<double> probs = softmax(cands);
  RankedView view = rankByLogit(cands);
  size_t keep = 1;
  while (keep < view.size() && -std::log2(probs[view.at(keep)]) <= mu) ++keep;
  keepRanked(cands, view, keep);
}

size_t pickIndex(const Candidates& cands, std::span<const double> probs, double draw) {
  RankedView view = rankByLogit(cands);
  double cum = 0.0;
  size_t idx = 0;
  for (size_t r = 0; r < view.size(); ++r) {
    idx = view.at(r);
    cum += probs[idx];
    if (draw < cum) return idx;
  }
  return idx;
}

}  // namespace tokenfab::sampling
