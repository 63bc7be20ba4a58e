// SamplerConfig: stage names, the order string, range checks; and the RNG.
#include <array>
#include <chrono>
#include <random>
#include <cmath>
#include <string>

#include "tokenfab/sampling.h"

namespace tokenfab {
namespace {

struct StageAlias {
  std::string_view name;
  StageKind kind;
};
// The first name of each kind is the canonical one (llama.cpp's --samplers names).
constexpr std::array kStageNames = {
    StageAlias{"logit_bias", StageKind::kLogitBias},   StageAlias{"penalties", StageKind::kPenalties},
    StageAlias{"dry", StageKind::kDry},                StageAlias{"top_n_sigma", StageKind::kTopNSigma},
    StageAlias{"top_k", StageKind::kTopK},             StageAlias{"typ_p", StageKind::kTypicalP},
    StageAlias{"top_p", StageKind::kTopP},             StageAlias{"min_p", StageKind::kMinP},
    StageAlias{"xtc", StageKind::kXtc},                StageAlias{"temperature", StageKind::kTemperature},
    StageAlias{"mirostat", StageKind::kMirostat},      StageAlias{"top-n-sigma", StageKind::kTopNSigma},
    StageAlias{"top-k", StageKind::kTopK},             StageAlias{"typical_p", StageKind::kTypicalP},
    StageAlias{"typical-p", StageKind::kTypicalP},     StageAlias{"typical", StageKind::kTypicalP},
    StageAlias{"typ-p", StageKind::kTypicalP},         StageAlias{"typ", StageKind::kTypicalP},
    StageAlias{"top-p", StageKind::kTopP},             StageAlias{"nucleus", StageKind::kTopP},
    StageAlias{"min-p", StageKind::kMinP},             StageAlias{"temp", StageKind::kTemperature},
};

Status badSetting(const std::string& message) { return Status(Code::kInvalidArgument, message); }

bool inUnitRange(double v) { return std::isfinite(v) && v >= 0.0 && v <= 1.0; }

}  // namespace

std::string_view stageName(StageKind kind) {
  for (const StageAlias& a : kStageNames) {
    if (a.kind == kind) return a.name;
  }
  return "unknown";
}

std::vector<StageKind> SamplerConfig::defaultOrder() {
  return {StageKind::kPenalties, StageKind::kDry,  StageKind::kTopNSigma,
          StageKind::kTopK,      StageKind::kTypicalP, StageKind::kTopP,
          StageKind::kMinP,      StageKind::kXtc,  StageKind::kTemperature};
}

Result<std::vector<StageKind>> parseSamplerOrder(std::string_view text) {
  std::vector<StageKind> order;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find_first_of(";,", start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view item = text.substr(start, end - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) {
      bool found = false;
      for (const StageAlias& a : kStageNames) {
        if (a.name == item && a.kind != StageKind::kLogitBias && a.kind != StageKind::kMirostat) {
          order.push_back(a.kind);
          found = true;
          break;
        }
      }
      if (!found) {
        return Status(Code::kInvalidArgument,
                      "unknown sampler '" + std::string(item) +
                          "' (known: penalties, dry, top_n_sigma, top_k, typ_p, top_p, min_p, xtc, temperature)");
      }
    }
    start = end + 1;
  }
  return order;
}

std::string formatSamplerOrder(std::span<const StageKind> order) {
  std::string out;
  for (StageKind k : order) {
    if (!out.empty()) out += ';';
    out += stageName(k);
  }
  return out;
}

Status validateSamplerConfig(const SamplerConfig& c) {
  for (StageKind k : c.order) {
    if (k == StageKind::kLogitBias || k == StageKind::kMirostat) {
      return badSetting("sampler order: '" + std::string(stageName(k)) + "' cannot be placed in the order");
    }
  }
  for (const auto& [id, bias] : c.logit_bias) {
    if (id < 0) return badSetting("logit bias: token id " + std::to_string(id) + " is negative");
    if (std::isnan(bias) || (std::isinf(bias) && bias > 0)) {
      return badSetting("logit bias for token " + std::to_string(id) + " must be a number or -inf");
    }
  }
  if (c.repeat_last_n < -1) return badSetting("repeat-last-n must be -1 (whole history), 0 (off) or positive");
  if (!std::isfinite(c.repeat_penalty) || c.repeat_penalty <= 0.0) return badSetting("repeat-penalty must be > 0 (1 = off)");
  if (!std::isfinite(c.frequency_penalty)) return badSetting("frequency-penalty must be a finite number");
  if (!std::isfinite(c.presence_penalty)) return badSetting("presence-penalty must be a finite number");
  if (!std::isfinite(c.dry_multiplier) || c.dry_multiplier < 0.0) return badSetting("dry-multiplier must be >= 0 (0 = off)");
  if (!std::isfinite(c.dry_base) || c.dry_base < 1.0) return badSetting("dry-base must be >= 1");
  if (c.dry_allowed_length < 1) return badSetting("dry-allowed-length must be >= 1");
  if (c.dry_penalty_last_n < -1) return badSetting("dry-penalty-last-n must be -1 (whole history), 0 (off) or positive");
  for (int32_t t : c.dry_breaker_tokens) {
    if (t < 0) return badSetting("dry sequence breaker token id " + std::to_string(t) + " is negative");
  }
  if (!std::isfinite(c.top_n_sigma)) return badSetting("top-n-sigma must be a finite number (<= 0 = off)");
  if (!inUnitRange(c.typical_p)) return badSetting("typical must be in [0, 1] (1 = off)");
  if (!inUnitRange(c.top_p)) return badSetting("top-p must be in [0, 1] (1 = off)");
  if (!inUnitRange(c.min_p)) return badSetting("min-p must be in [0, 1] (0 = off)");
  if (!inUnitRange(c.xtc_probability)) return badSetting("xtc-probability must be in [0, 1] (0 = off)");
  if (!inUnitRange(c.xtc_threshold)) return badSetting("xtc-threshold must be in [0, 1] (> 0.5 = off)");
  if (!std::isfinite(c.temperature)) return badSetting("temp must be a finite number (<= 0 = greedy)");
  if (c.mirostat == 1) return Status(Code::kUnsupported, "mirostat 1 (v1) is not implemented; use 2 (v2)");
  if (c.mirostat != 0 && c.mirostat != 2) return badSetting("mirostat must be 0 (off) or 2 (v2)");
  if (!std::isfinite(c.mirostat_tau) || c.mirostat_tau <= 0.0) return badSetting("mirostat-tau must be > 0");
  if (!std::isfinite(c.mirostat_eta) || c.mirostat_eta <= 0.0) return badSetting("mirostat-eta must be > 0");
  if (c.trace_top_n < 1 || c.trace_top_n > 4096) return badSetting("top-n (trace) must be in [1, 4096]");
  return Status::ok();
}

uint64_t resolveSamplerSeed(uint64_t seed) {
  if (seed != SamplerConfig::kRandomSeed) return seed;
  uint64_t fresh = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  try {
    std::random_device device;
    fresh ^= (static_cast<uint64_t>(device()) << 32) ^ device();
  } catch (...) {  // no entropy source: the clock alone will do for a seed
  }
  return fresh == SamplerConfig::kRandomSeed ? fresh + 1 : fresh;
}

// ---- RNG -------------------------------------------------------------------------------------

uint64_t Rng::splitMix64(uint64_t& state) {
  state += 0x9E3779B97F4A7C15ull;
  uint64_t z = state;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

Rng::Rng(uint64_t seed) {
  uint64_t sm = seed;
  for (uint64_t& s : m_s) s = splitMix64(sm);
}

Rng Rng::fromState(const uint64_t state[4]) {
  Rng rng;
  for (int i = 0; i < 4; ++i) rng.m_s[i] = state[i];
  return rng;
}

uint64_t Rng::next() {
  const auto rotl = [](uint64_t x, int k) { return (x << k) | (x >> (64 - k)); };
  const uint64_t result = rotl(m_s[1] * 5, 7) * 9;
  const uint64_t t = m_s[1] << 17;
  m_s[2] ^= m_s[0];
  m_s[3] ^= m_s[1];
  m_s[1] ^= m_s[2];
  m_s[0] ^= m_s[3];
  m_s[2] ^= t;
  m_s[3] = rotl(m_s[3], 45);
  return result;
}

double Rng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

}  // namespace tokenfab
