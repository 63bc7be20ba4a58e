// The sampler chain: turns one step's logits into a token and a StepTrace that records what every
// stage did. Each stage's exact definition (and which published definition it follows) is in
// docs/sampling.md; the comments here are the short form. Deterministic: the same seed, settings,
// logits and history give the same token on every OS and compiler (own RNG, double sums in a fixed
// order, ties broken by the lower token id).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenfab/status.h"

namespace tokenfab {

enum class StageKind : uint8_t {
  kLogitBias,    // logit += bias[token]; always first, not part of `order`
  kPenalties,    // repeat (CTRL, Keskar et al. 2019) / frequency / presence (OpenAI) over last N
  kDry,          // "Don't Repeat Yourself", p-e-w (koboldcpp #982 / llama.cpp #9702)
  kTopNSigma,    // keep logit >= max - n * std(logits)   (Tang et al. 2024)
  kTopK,         // keep the k highest logits; ties -> lower token id
  kTypicalP,     // locally typical sampling (Meister et al. 2022)
  kTopP,         // nucleus: smallest prefix with mass >= p (Holtzman et al. 2020)
  kMinP,         // keep p >= min_p * p_max (Nguyen et al. 2024)
  kXtc,          // exclude top choices (p-e-w, text-generation-webui #6335); uses the RNG
  kTemperature,  // logit /= T; T <= 0 keeps only the argmax (greedy)
  kMirostat,     // mirostat v2 (Basu et al. 2021); replaces the chain when enabled
};

std::string_view stageName(StageKind kind);  // "top_k", "typ_p", ... (llama.cpp's names)

struct SamplerConfig {
  // Stages in the order they run (llama.cpp's default). Ignored when mirostat == 2, where the
  // chain is logit bias -> temperature -> mirostat, as in llama.cpp.
  std::vector<StageKind> order = defaultOrder();
  std::vector<std::pair<int32_t, double>> logit_bias;  // -infinity bans a token

  int32_t repeat_last_n = 64;      // window for all three penalties; -1 = whole history, 0 = off
  double repeat_penalty = 1.0;     // 1 = off
  double frequency_penalty = 0.0;  // 0 = off
  double presence_penalty = 0.0;   // 0 = off

  double dry_multiplier = 0.0;  // 0 = off
  double dry_base = 1.75;
  int32_t dry_allowed_length = 2;
  int32_t dry_penalty_last_n = -1;  // -1 = whole history, 0 = off
  // Strings for display and export; the sampler itself uses dry_breaker_tokens, which the caller
  // resolves with the tokenizer (every token whose text contains one of the strings).
  std::vector<std::string> dry_sequence_breakers = {"\n", ":", "\"", "*"};
  std::vector<int32_t> dry_breaker_tokens;

  double top_n_sigma = -1.0;  // <= 0 = off
  int32_t top_k = 40;         // <= 0 = off
  double typical_p = 1.0;     // >= 1 = off
  double top_p = 0.95;        // >= 1 = off
  double min_p = 0.05;        // <= 0 = off
  double xtc_probability = 0.0;  // <= 0 = off
  double xtc_threshold = 0.10;   // > 0.5 = off
  double temperature = 0.8;      // <= 0 = greedy

  int32_t mirostat = 0;  // 0 = off, 2 = mirostat v2 (v1 is not implemented)
  double mirostat_tau = 5.0;
  double mirostat_eta = 0.1;

  uint64_t seed = kRandomSeed;  // as parsed from the command line; SamplerChain takes its own
  int32_t trace_top_n = 64;     // how many raw candidates a StepTrace follows through the stages

  static constexpr uint64_t kRandomSeed = 0xFFFFFFFFu;  // llama.cpp's "pick a random seed"
  static std::vector<StageKind> defaultOrder();

  bool operator==(const SamplerConfig&) const = default;
};

// The numeric settings of SamplerConfig, one row each (sampler_fields.cpp): the trace key (and
// llama.cpp's parameter name), the CLI flag, the GUI label and help, and the range the CLI and
// the GUI accept. order, logit_bias, the DRY breakers and seed have their own syntax.
struct SamplerField {
  std::string_view key;    // "top_k"
  std::string_view flag;   // "--top-k"
  std::string_view label;  // "top-k"
  std::string_view help;   // "keep the k most likely; <= 0 = off"
  int32_t SamplerConfig::*int_member;  // one of the two is set
  double SamplerConfig::*real_member;
  double min, max;         // accepted values (integers are checked by the CLI, all by the GUI)
  double step;             // GUI spin-box step
  int decimals;            // GUI decimals (0 for integers)

  bool integer() const { return int_member != nullptr; }
  double get(const SamplerConfig& config) const;
  void set(SamplerConfig& config, double value) const;  // integers rounded
  std::string format(const SamplerConfig& config) const;  // exact: "%d" or "%.17g"
};
std::span<const SamplerField> samplerFields();
const SamplerField* samplerField(std::string_view key);  // nullptr when not a field

// Logit bias as llama.cpp's --logit-bias spells it: "TOKEN+BIAS", "TOKEN-BIAS", "TOKEN-inf" (ban);
// a list separates entries by commas. Formatting is exact and parses back to the same values.
Result<std::pair<int32_t, double>> parseLogitBias(std::string_view item);
Result<std::vector<std::pair<int32_t, double>>> parseLogitBiasList(std::string_view text);
std::string formatLogitBias(const std::vector<std::pair<int32_t, double>>& bias);
// A list of strings as a JSON array (the GUI's DRY breakers): nullopt when it is not one.
std::optional<std::vector<std::string>> parseStringList(std::string_view json_text);
std::string formatStringList(const std::vector<std::string>& strings);

// "penalties;dry;top_n_sigma;top_k;typ_p;top_p;min_p;xtc;temperature" <-> order. Accepts ';' or
// ',' as separators and llama.cpp's aliases (typical_p, nucleus, temp, ...).
Result<std::vector<StageKind>> parseSamplerOrder(std::string_view text);
std::string formatSamplerOrder(std::span<const StageKind> order);
// The stages that will run with these settings, in order (logit bias first; the mirostat chain
// when mirostat == 2; stages whose parameters make them a no-op left out).
std::vector<StageKind> activeSamplerStages(const SamplerConfig& config);
// Range checks shared by the CLI, the GUI and the trace reader.
Status validateSamplerConfig(const SamplerConfig& config);

// SamplerConfig::kRandomSeed -> a fresh seed from the OS (record it in the trace); any other
// value is returned as is.
uint64_t resolveSamplerSeed(uint64_t seed);

// xoshiro256** (Blackman & Vigna 2018) seeded through splitmix64: identical streams everywhere.
class Rng {
 public:
  explicit Rng(uint64_t seed);
  static Rng fromState(const uint64_t state[4]);
  uint64_t next();
  double uniform();  // [0, 1) from the top 53 bits
  static uint64_t splitMix64(uint64_t& state);

 private:
  Rng() = default;
  uint64_t m_s[4] = {};
};

struct TokenLogit {
  int32_t id = 0;
  float logit = 0.0f;  // raw logit as given to the sampler
  double prob = 0.0;   // raw probability (softmax of all logits)
  bool operator==(const TokenLogit&) const = default;
};

struct StageRecord {
  std::string name;         // stageName()
  int32_t survivors = 0;    // candidates left after the stage
  double raw_mass = 0.0;    // raw probability the survivors held before any stage
  std::vector<double> top_probs;  // after the stage, for StepTrace::raw_top (0 = removed)
  bool operator==(const StageRecord&) const = default;
};

struct StepTrace {
  int32_t position = 0;  // history.size() unless the caller overwrites it
  int32_t token = -1;
  std::string text;      // filled by the caller (the sampler knows no tokenizer)
  int32_t vocab_size = 0;
  std::vector<TokenLogit> raw_top;  // highest raw logits, descending, ties -> lower id
  double raw_logsumexp = 0.0;       // log sum exp of all raw logits
  double tail_mass = 0.0;           // raw probability outside raw_top
  double raw_entropy_bits = 0.0;
  double final_entropy_bits = 0.0;
  double chosen_prob = 0.0;         // the token's probability in the final distribution
  std::vector<StageRecord> stages;  // active stages only, in the order they ran
  double xtc_draw = 0.0;            // first uniform of the step (XTC's coin)
  double draw = 0.0;                // second uniform: the position in the final distribution
  double mirostat_mu = 0.0;         // mu before the step (mirostat only)
  double sampler_us = 0.0;          // wall time inside sample()
  bool operator==(const StepTrace&) const = default;
};

struct SampleResult {
  int32_t token = -1;
  StepTrace trace;
  // Final survivors with their probabilities, most probable first (ties -> lower id), at most
  // trace_top_n of them. whatIf() returns the same for a stored step.
  std::vector<std::pair<int32_t, double>> distribution;
};

// One step as kept for what-if: full logits (exact), or only the top-N raw candidates plus the
// tail's mass (older steps). Penalties and DRY need `history`; without it they do nothing.
struct StoredStep {
  std::vector<float> logits;        // full vocabulary; empty for top-N-only storage
  std::vector<TokenLogit> top;      // used when logits is empty
  double tail_mass = 0.0;           // raw probability of everything not in `top`
  std::vector<int32_t> history;
  double xtc_draw = 0.0;
  double mirostat_mu = 0.0;

  static StoredStep fromTrace(const StepTrace& trace, std::vector<int32_t> history);
};

struct WhatIfResult {
  std::vector<std::pair<int32_t, double>> distribution;  // final survivors, most probable first,
                                                         // at most trace_top_n of them
  int32_t token = -1;
};

// Re-runs the chain on a stored step. With full logits this is exactly what sample() computed.
// Top-N-only approximation: the tail is one removed bucket. The stored top-N tokens are treated as
// the whole vocabulary, so every stage sees probabilities renormalised over the top-N. This is
// exact whenever a stage that keeps only top-N tokens (top_k <= N, or any earlier truncation that
// leaves only top-N tokens) runs before every probability-based stage (typical, top-p, XTC,
// mirostat) — as in the default order with top_k <= N. Penalties can only use `history`.
Result<WhatIfResult> whatIf(const StoredStep& step, const SamplerConfig& config, double draw);

// The funnel of a stored step under a configuration, as the workbench draws it: how many
// candidates and how much raw probability each stage keeps (the chain cut after each active
// stage and re-run with whatIf; "raw" first), and the distribution and token at the end.
// as_recorded (a step still streaming): the step's own stage records, without re-running.
struct FunnelRow {
  std::string stage;
  int32_t survivors = 0;
  double raw_mass = 0.0;  // raw probability the survivors held before any stage
};
struct Funnel {
  std::vector<FunnelRow> rows;
  int32_t n_candidates = 0;  // the vocabulary (full logits) or the stored top
  bool exact = false;        // full logits; else the stored top-N approximation (see whatIf)
  std::vector<std::pair<int32_t, double>> distribution;
  int32_t token = -1;
};
// Errors: an invalid configuration, or whatIf's for the whole chain.
Result<Funnel> samplerFunnel(const StoredStep& step, const StepTrace& trace, SamplerConfig config, bool as_recorded);

class SamplerChain {
 public:
  SamplerChain(SamplerConfig config, uint64_t seed);

  // logits: one float per vocabulary entry; history: the tokens so far (prompt + generated).
  // Errors: empty logits, NaN or +inf logits, every logit -inf, a bad config.
  Result<SampleResult> sample(std::span<const float> logits, std::span<const int32_t> history);

  const SamplerConfig& config() const { return m_config; }
  uint64_t seed() const { return m_seed; }
  double mirostatMu() const { return m_mu; }

 private:
  SamplerConfig m_config;
  uint64_t m_seed;
  Rng m_rng;
  double m_mu;
};

}  // namespace tokenfab
