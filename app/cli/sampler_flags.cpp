// Sampling flags as llama.cpp spells them (common/arg.cpp), with its defaults (SamplerConfig{}).
#include "sampler_flags.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

namespace tokenfab::cli {
namespace {

Status badValue(std::string_view flag, const std::string& value, std::string_view expected) {
  return Status(Code::kInvalidArgument,
                std::string(flag) + ": expected " + std::string(expected) + ", got '" + value + "'");
}

Result<double> toDouble(std::string_view flag, const std::string& v) {
  double out = 0.0;
  const char* end = v.data() + v.size();
  auto [ptr, ec] = std::from_chars(v.data(), end, out);
  if (v.empty() || ec != std::errc() || ptr != end || !std::isfinite(out)) return badValue(flag, v, "a number");
  return out;
}

Result<int64_t> toInt(std::string_view flag, const std::string& v, int64_t lo, int64_t hi) {
  int64_t out = 0;
  const char* end = v.data() + v.size();
  auto [ptr, ec] = std::from_chars(v.data(), end, out);
  if (v.empty() || ec != std::errc() || ptr != end) return badValue(flag, v, "an integer");
  if (out < lo || out > hi) {
    return badValue(flag, v, "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return out;
}

Status readDouble(const FlagLookup& lookup, std::string_view flag, double& target) {
  if (std::optional<std::string> v = lookup(flag)) {
    TF_ASSIGN_OR_RETURN(target, toDouble(flag, *v));
  }
  return Status::ok();
}

Status readInt(const FlagLookup& lookup, std::string_view flag, int32_t& target,
               int64_t lo = std::numeric_limits<int32_t>::min(), int64_t hi = std::numeric_limits<int32_t>::max()) {
  if (std::optional<std::string> v = lookup(flag)) {
    TF_ASSIGN_OR_RETURN(int64_t i, toInt(flag, *v, lo, hi));
    target = static_cast<int32_t>(i);
  }
  return Status::ok();
}

// "TOKEN(+|-)BIAS" as llama.cpp's --logit-bias: 15043+1, 15043-0.5, 15043-inf (ban).
Status parseLogitBias(const std::string& v, SamplerConfig& config) {
  const size_t sign = v.find_first_of("+-", 1);
  if (sign == std::string::npos) return badValue("--logit-bias", v, "TOKEN+BIAS or TOKEN-BIAS");
  TF_ASSIGN_OR_RETURN(int64_t id, toInt("--logit-bias", v.substr(0, sign), 0, std::numeric_limits<int32_t>::max()));
  const std::string amount = v.substr(sign + 1);
  double bias = 0.0;
  if (amount == "inf" && v[sign] == '-') {
    bias = -std::numeric_limits<double>::infinity();
  } else {
    TF_ASSIGN_OR_RETURN(bias, toDouble("--logit-bias", amount));
    if (v[sign] == '-') bias = -bias;
  }
  config.logit_bias.emplace_back(static_cast<int32_t>(id), bias);
  return Status::ok();
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

}  // namespace

Result<SamplerConfig> parseSamplerFlagValues(const FlagLookup& lookup) {
  SamplerConfig c;
  TF_RETURN_IF_ERROR(readDouble(lookup, "--temp", c.temperature));
  TF_RETURN_IF_ERROR(readInt(lookup, "--top-k", c.top_k));
  TF_RETURN_IF_ERROR(readDouble(lookup, "--top-p", c.top_p));
  TF_RETURN_IF_ERROR(readDouble(lookup, "--min-p", c.min_p));
  TF_RETURN_IF_ERROR(readDouble(lookup, "--typical", c.typical_p));
  TF_RETURN_IF_ERROR(readDouble(lookup, "--repeat-penalty", c.repeat_penalty));
  TF_RETURN_IF_ERROR(readInt(lookup, "--repeat-last-n", c.repeat_last_n, -1));
  TF_RETURN_IF_ERROR(readDouble(lookup, "--frequency-penalty", c.frequency_penalty));
  TF_RETURN_IF_ERROR(readDouble(lookup, "--presence-penalty", c.presence_penalty));
  TF_RETURN_IF_ERROR(readDouble(lookup, "--dry-multiplier", c.dry_multiplier));
  TF_RETURN_IF_ERROR(readDouble(lookup, "--dry-base", c.dry_base));
  TF_RETURN_IF_ERROR(readInt(lookup, "--dry-allowed-length", c.dry_allowed_length, 1));
  TF_RETURN_IF_ERROR(readInt(lookup, "--dry-penalty-last-n", c.dry_penalty_last_n, -1));
  bool breakers_given = false;
  while (std::optional<std::string> v = lookup("--dry-sequence-breaker")) {
    if (!breakers_given) c.dry_sequence_breakers.clear();  // the first one replaces the defaults
    breakers_given = true;
    if (*v != "none") c.dry_sequence_breakers.push_back(*v);
  }
  TF_RETURN_IF_ERROR(readDouble(lookup, "--xtc-probability", c.xtc_probability));
  TF_RETURN_IF_ERROR(readDouble(lookup, "--xtc-threshold", c.xtc_threshold));
  TF_RETURN_IF_ERROR(readDouble(lookup, "--top-n-sigma", c.top_n_sigma));
  TF_RETURN_IF_ERROR(readInt(lookup, "--mirostat", c.mirostat, 0, 2));
  TF_RETURN_IF_ERROR(readDouble(lookup, "--mirostat-tau", c.mirostat_tau));
  TF_RETURN_IF_ERROR(readDouble(lookup, "--mirostat-ent", c.mirostat_tau));  // llama.cpp's name
  TF_RETURN_IF_ERROR(readDouble(lookup, "--mirostat-eta", c.mirostat_eta));
  TF_RETURN_IF_ERROR(readDouble(lookup, "--mirostat-lr", c.mirostat_eta));   // llama.cpp's name
  TF_RETURN_IF_ERROR(readInt(lookup, "--top-n", c.trace_top_n, 1, 4096));
  if (std::optional<std::string> v = lookup("--seed")) {
    if (*v == "-1") {
      c.seed = SamplerConfig::kRandomSeed;
    } else {
      uint64_t seed = 0;
      auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), seed);
      if (v->empty() || ec != std::errc() || ptr != v->data() + v->size()) {
        return badValue("--seed", *v, "-1 (random) or an integer in [0, 2^64)");
      }
      c.seed = seed;
    }
  }
  if (std::optional<std::string> v = lookup("--samplers")) {
    Result<std::vector<StageKind>> order = parseSamplerOrder(*v);
    if (!order) return order.status().withContext("--samplers");
    c.order = *order;
  }
  while (std::optional<std::string> v = lookup("--logit-bias")) TF_RETURN_IF_ERROR(parseLogitBias(*v, c));
  const Status valid = validateSamplerConfig(c);
  if (!valid) return valid.withContext("sampling");
  return c;
}

std::string describeSamplerConfig(const SamplerConfig& c) {
  std::string s = "sampler seed: ";
  s += c.seed == SamplerConfig::kRandomSeed ? std::string("random") : std::to_string(c.seed);
  s += "\nsampler params: repeat_last_n = " + std::to_string(c.repeat_last_n) +
       ", repeat_penalty = " + fmt(c.repeat_penalty) + ", frequency_penalty = " + fmt(c.frequency_penalty) +
       ", presence_penalty = " + fmt(c.presence_penalty) + "\n\tdry_multiplier = " + fmt(c.dry_multiplier) +
       ", dry_base = " + fmt(c.dry_base) + ", dry_allowed_length = " + std::to_string(c.dry_allowed_length) +
       ", dry_penalty_last_n = " + std::to_string(c.dry_penalty_last_n) + ", dry_sequence_breakers = " +
       std::to_string(c.dry_sequence_breakers.size()) + "\n\ttop_k = " + std::to_string(c.top_k) +
       ", top_p = " + fmt(c.top_p) + ", min_p = " + fmt(c.min_p) + ", typical_p = " + fmt(c.typical_p) +
       ", top_n_sigma = " + fmt(c.top_n_sigma) + ", xtc_probability = " + fmt(c.xtc_probability) +
       ", xtc_threshold = " + fmt(c.xtc_threshold) + ", temp = " + fmt(c.temperature) +
       "\n\tmirostat = " + std::to_string(c.mirostat) + ", mirostat_tau = " + fmt(c.mirostat_tau) +
       ", mirostat_eta = " + fmt(c.mirostat_eta) + ", logit_bias entries = " + std::to_string(c.logit_bias.size()) +
       ", trace top-n = " + std::to_string(c.trace_top_n);
  s += "\nsampler order: " + formatSamplerOrder(c.order);
  s += "\nsampler chain: logits";
  for (StageKind k : activeSamplerStages(c)) {
    s += " -> ";
    s += stageName(k);
  }
  s += " -> dist\n";
  return s;
}

std::string samplerFlagsHelp() {
  return "sampling (llama.cpp's flags and defaults):\n"
         "  --temp N                temperature, <= 0 = greedy (0.8)\n"
         "  --top-k N               keep the k most likely, <= 0 = off (40)\n"
         "  --top-p N               nucleus mass, 1 = off (0.95)\n"
         "  --min-p N               keep p >= N * p_max, 0 = off (0.05)\n"
         "  --typical N             locally typical mass, 1 = off (1.0)\n"
         "  --top-n-sigma N         keep logit >= max - N * std, <= 0 = off (-1)\n"
         "  --repeat-penalty N      1 = off (1.0)\n"
         "  --repeat-last-n N       penalty window, -1 = all, 0 = off (64)\n"
         "  --frequency-penalty N   (0)      --presence-penalty N   (0)\n"
         "  --dry-multiplier N      0 = off (0)   --dry-base N (1.75)   --dry-allowed-length N (2)\n"
         "  --dry-penalty-last-n N  -1 = all (-1) --dry-sequence-breaker S (repeatable; 'none')\n"
         "  --xtc-probability N     0 = off (0)   --xtc-threshold N (0.1)\n"
         "  --mirostat N            0 = off, 2 = v2 (0)   --mirostat-tau N (5.0)   --mirostat-eta N (0.1)\n"
         "  --logit-bias TOKEN+N    (repeatable; TOKEN-inf bans)\n"
         "  --samplers ORDER        (penalties;dry;top_n_sigma;top_k;typ_p;top_p;min_p;xtc;temperature)\n"
         "  --seed N                -1 = random (-1)\n"
         "  --top-n N               candidates recorded per step in the trace (64)\n";
}

}  // namespace tokenfab::cli
