// Sampling flags as llama.cpp spells them (common/arg.cpp), with its defaults (SamplerConfig{}).
#include "tokenfab/sampler_flags.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

namespace tokenfab {
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

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

}  // namespace

Result<SamplerConfig> parseSamplerFlagValues(const FlagLookup& lookup) {
  SamplerConfig c;
  for (const SamplerField& f : samplerFields()) {
    if (f.integer()) {
      TF_RETURN_IF_ERROR(readInt(lookup, f.flag, c.*f.int_member, int64_t(f.min), int64_t(f.max)));
    } else {
      TF_RETURN_IF_ERROR(readDouble(lookup, f.flag, c.*f.real_member));
    }
  }
  TF_RETURN_IF_ERROR(readDouble(lookup, "--mirostat-ent", c.mirostat_tau));  // llama.cpp's other names
  TF_RETURN_IF_ERROR(readDouble(lookup, "--mirostat-lr", c.mirostat_eta));
  bool breakers_given = false;
  while (std::optional<std::string> v = lookup("--dry-sequence-breaker")) {
    if (!breakers_given) c.dry_sequence_breakers.clear();  // the first one replaces the defaults
    breakers_given = true;
    if (*v != "none") c.dry_sequence_breakers.push_back(*v);
  }
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
  while (std::optional<std::string> v = lookup("--logit-bias")) {
    Result<std::pair<int32_t, double>> bias = parseLogitBias(*v);
    if (!bias) return bias.status().withContext("--logit-bias");
    c.logit_bias.push_back(*bias);
  }
  const Status valid = validateSamplerConfig(c);
  if (!valid) return valid.withContext("sampling");
  return c;
}

std::string describeSamplerConfig(const SamplerConfig& c) {
  std::string s = "sampler seed: ";
  s += c.seed == SamplerConfig::kRandomSeed ? std::string("random") : std::to_string(c.seed);
  s += "\nsampler params:";
  size_t n = 0;
  for (const SamplerField& f : samplerFields()) {
    s += n++ % 5 == 0 ? "\n\t" : ", ";
    s += std::string(f.key) + " = " + (f.integer() ? std::to_string(c.*f.int_member) : fmt(c.*f.real_member));
  }
  s += "\n\tdry_sequence_breakers = " + std::to_string(c.dry_sequence_breakers.size()) +
       ", logit_bias entries = " + std::to_string(c.logit_bias.size());
  s += "\nsampler order: " + formatSamplerOrder(c.order);
  s += "\nsampler chain: logits";
  for (StageKind k : activeSamplerStages(c)) {
    s += " -> ";
    s += stageName(k);
  }
  s += " -> dist\n";
  return s;
}

std::vector<std::string> samplerFlagArgs(const SamplerConfig& c) {
  const SamplerConfig defaults;
  std::vector<std::string> args;
  for (const SamplerField& f : samplerFields()) {
    if (f.get(c) == f.get(defaults)) continue;
    args.push_back(std::string(f.flag));
    args.push_back(f.format(c));
  }
  if (c.dry_sequence_breakers != defaults.dry_sequence_breakers) {
    if (c.dry_sequence_breakers.empty()) args.insert(args.end(), {"--dry-sequence-breaker", "none"});
    for (const std::string& b : c.dry_sequence_breakers) args.insert(args.end(), {"--dry-sequence-breaker", b});
  }
  for (const auto& entry : c.logit_bias) args.insert(args.end(), {"--logit-bias", formatLogitBias({entry})});
  if (c.order != defaults.order) args.insert(args.end(), {"--samplers", formatSamplerOrder(c.order)});
  if (c.seed != defaults.seed) args.insert(args.end(), {"--seed", std::to_string(c.seed)});
  return args;
}

std::string samplerFlagsHelp() {
  const SamplerConfig defaults;
  std::string h = "sampling (llama.cpp's flags and defaults):\n";
  for (const SamplerField& f : samplerFields()) {
    std::string line = "  " + std::string(f.flag) + " N";
    line.resize(std::max<size_t>(line.size() + 1, 26), ' ');
    h += line + std::string(f.help) + " (" + (f.integer() ? std::to_string(defaults.*f.int_member) : fmt(defaults.*f.real_member)) + ")\n";
  }
  h += "  --mirostat-ent N, --mirostat-lr N   llama.cpp's names for --mirostat-tau, --mirostat-eta\n"
       "  --dry-sequence-breaker S  (repeatable; 'none' for no breakers; default \\n : \\\" *)\n"
       "  --logit-bias TOKEN+N    (repeatable; TOKEN-inf bans)\n"
       "  --samplers ORDER        (penalties;dry;top_n_sigma;top_k;typ_p;top_p;min_p;xtc;temperature)\n"
       "  --seed N                -1 = random (-1)\n";
  return h;
}

}  // namespace tokenfab
