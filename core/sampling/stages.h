// Internal: the candidate set and one function per stage. Candidates are always kept in ascending
// token-id order, so every sum runs in the same order on every platform; a stage that needs a
// ranking builds a RankedView (ascending key, ties -> lower id) instead of reordering them.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "tokenfab/sampling.h"

namespace tokenfab::sampling {

struct Candidate {
  int32_t id;
  double logit;     // current (after the stages so far)
  double raw_prob;  // softmax of the raw logits, for the trace's "raw mass"
};
using Candidates = std::vector<Candidate>;  // ascending id

// Softmax of the candidates' logits, in candidate order. Sum in double, in id order.
std::vector<double> softmax(const Candidates& cands);
// The position of `id` in cands, or -1.
int64_t findCandidate(const Candidates& cands, int32_t id);

// Lazily sorted view of candidate indices by (key ascending, index ascending): only as much as is
// read gets sorted (nth_element on growing chunks), so a walk that stops early costs O(n).
class RankedView {
 public:
  explicit RankedView(std::vector<double> keys);
  size_t size() const { return m_items.size(); }
  size_t at(size_t rank);  // candidate index at `rank`

 private:
  struct Item {
    double key;
    size_t index;
  };
  void sortUpTo(size_t rank);
  std::vector<Item> m_items;
  size_t m_sorted = 0;
};
// Ranks candidates by descending logit (the "total order" of the docs).
RankedView rankByLogit(const Candidates& cands);
// The indices of the `k` highest logits (ties -> lower id), best first. One pass with a small heap
// when k is small: most candidates are rejected by a single comparison.
std::vector<size_t> bestIndices(const Candidates& cands, size_t k);

// Each stage returns true when it can change anything with these settings ("active").
bool stageActive(StageKind kind, const SamplerConfig& config);

void applyLogitBias(Candidates& cands, const SamplerConfig& config);
void applyPenalties(Candidates& cands, const SamplerConfig& config, std::span<const int32_t> history);
void applyDry(Candidates& cands, const SamplerConfig& config, std::span<const int32_t> history);
void applyTopNSigma(Candidates& cands, double n);
void applyTopK(Candidates& cands, int32_t k);
void applyTypicalP(Candidates& cands, double p);
void applyTopP(Candidates& cands, double p);
void applyMinP(Candidates& cands, double p);
void applyXtc(Candidates& cands, double probability, double threshold, double coin);
void applyTemperature(Candidates& cands, double temperature);
void applyMirostatV2(Candidates& cands, double mu);

// Picks the token: walks the candidates in descending probability (ties -> lower id) and returns
// the index of the first whose cumulative probability exceeds `draw` (the last one if rounding
// leaves the total just under draw).
size_t pickIndex(const Candidates& cands, std::span<const double> probs, double draw);

}  // namespace tokenfab::sampling
