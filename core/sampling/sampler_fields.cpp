// The numeric settings of SamplerConfig, once: their trace key, CLI flag, GUI label and help, and
// range. The CLI's flags, the trace I/O and the GUI's knobs are all driven by this table, so a
// new setting is added here and reaches every front end.
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>

#include "tokenfab/sampling.h"

namespace tokenfab {
namespace {

constexpr double kIntMin = std::numeric_limits<int32_t>::min(), kIntMax = std::numeric_limits<int32_t>::max();

// key, flag, label, help, the member (int or double), range, GUI step and decimals
const SamplerField kFields[] = {
    {"temperature", "--temp", "temperature", "divides the logits: below 1 sharper, above 1 flatter; <= 0 = greedy",
     nullptr, &SamplerConfig::temperature, -1.0, 5.0, 0.05, 2},
    {"top_k", "--top-k", "top-k", "keep the k most likely; <= 0 = off", &SamplerConfig::top_k, nullptr, kIntMin, kIntMax, 1, 0},
    {"top_p", "--top-p", "top-p", "nucleus: the smallest set whose mass reaches p; 1 = off", nullptr,
     &SamplerConfig::top_p, 0.0, 1.0, 0.01, 3},
    {"min_p", "--min-p", "min-p", "drop tokens less likely than min_p x the best; 0 = off", nullptr,
     &SamplerConfig::min_p, 0.0, 1.0, 0.01, 3},
    {"typical_p", "--typical", "typical-p", "locally typical mass; 1 = off", nullptr, &SamplerConfig::typical_p, 0.0, 1.0,
     0.01, 3},
    {"top_n_sigma", "--top-n-sigma", "top-n-sigma", "keep logits >= max - n x std; <= 0 = off", nullptr,
     &SamplerConfig::top_n_sigma, -1.0, 10.0, 0.1, 2},
    {"repeat_last_n", "--repeat-last-n", "penalty last n", "window of the three penalties; -1 = whole history, 0 = off",
     &SamplerConfig::repeat_last_n, nullptr, -1, kIntMax, 1, 0},
    {"repeat_penalty", "--repeat-penalty", "repeat penalty", "divides the logits of recent tokens; 1 = off", nullptr,
     &SamplerConfig::repeat_penalty, 0.0, 5.0, 0.05, 2},
    {"frequency_penalty", "--frequency-penalty", "frequency pen.", "subtracts count x value; 0 = off", nullptr,
     &SamplerConfig::frequency_penalty, -2.0, 2.0, 0.05, 2},
    {"presence_penalty", "--presence-penalty", "presence pen.", "subtracts the value once a token appeared; 0 = off",
     nullptr, &SamplerConfig::presence_penalty, -2.0, 2.0, 0.05, 2},
    {"dry_multiplier", "--dry-multiplier", "DRY multiplier", "penalises extending a repeated sequence; 0 = off",
     nullptr, &SamplerConfig::dry_multiplier, 0.0, 5.0, 0.1, 2},
    {"dry_base", "--dry-base", "DRY base", "the penalty grows as base^(length - allowed)", nullptr,
     &SamplerConfig::dry_base, 1.0, 4.0, 0.05, 2},
    {"dry_allowed_length", "--dry-allowed-length", "DRY allowed len", "repeats up to this length are free",
     &SamplerConfig::dry_allowed_length, nullptr, 1, kIntMax, 1, 0},
    {"dry_penalty_last_n", "--dry-penalty-last-n", "DRY last n", "DRY's window; -1 = whole history, 0 = off",
     &SamplerConfig::dry_penalty_last_n, nullptr, -1, kIntMax, 1, 0},
    {"xtc_probability", "--xtc-probability", "XTC probability", "how often XTC removes the top choices; 0 = off",
     nullptr, &SamplerConfig::xtc_probability, 0.0, 1.0, 0.05, 2},
    {"xtc_threshold", "--xtc-threshold", "XTC threshold", "tokens above it are the top choices; > 0.5 = off", nullptr,
     &SamplerConfig::xtc_threshold, 0.0, 1.0, 0.01, 2},
    {"mirostat", "--mirostat", "mirostat", "0 = off, 2 = mirostat v2 (adapts truncation to hold the surprise near tau)",
     &SamplerConfig::mirostat, nullptr, 0, 2, 2, 0},
    {"mirostat_tau", "--mirostat-tau", "mirostat tau", "mirostat's target surprise (bits)", nullptr,
     &SamplerConfig::mirostat_tau, 0.0, 20.0, 0.5, 2},
    {"mirostat_eta", "--mirostat-eta", "mirostat eta", "mirostat's learning rate", nullptr, &SamplerConfig::mirostat_eta,
     0.0, 1.0, 0.01, 3},
    {"trace_top_n", "--top-n", "trace top-n", "candidates recorded per step in the trace", &SamplerConfig::trace_top_n,
     nullptr, 1, 4096, 1, 0},
};

}  // namespace

double SamplerField::get(const SamplerConfig& c) const { return int_member ? double(c.*int_member) : c.*real_member; }

void SamplerField::set(SamplerConfig& c, double value) const {
  if (int_member) {
    c.*int_member = static_cast<int32_t>(std::llround(value));
  } else {
    c.*real_member = value;
  }
}

std::string SamplerField::format(const SamplerConfig& c) const {
  char buf[40];
  if (int_member) {
    std::snprintf(buf, sizeof buf, "%d", c.*int_member);
  } else {
    std::snprintf(buf, sizeof buf, "%.17g", c.*real_member);
  }
  return buf;
}

std::span<const SamplerField> samplerFields() { return kFields; }

const SamplerField* samplerField(std::string_view key) {
  for (const SamplerField& f : kFields)
    if (f.key == key) return &f;
  return nullptr;
}

}  // namespace tokenfab

namespace tokenfab {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Status badBias(std::string_view item, std::string_view why) {
  return Status(Code::kInvalidArgument, "logit bias '" + std::string(item) + "': " + std::string(why));
}

}  // namespace

Result<std::pair<int32_t, double>> parseLogitBias(std::string_view item) {
  item = trim(item);
  const size_t sign = item.find_first_of("+-", 1);
  if (sign == std::string_view::npos) return badBias(item, "expected TOKEN+BIAS or TOKEN-BIAS");
  int64_t id = 0;
  const std::string_view id_text = item.substr(0, sign);
  auto [id_end, id_ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
  if (id_text.empty() || id_ec != std::errc() || id_end != id_text.data() + id_text.size() || id < 0 ||
      id > std::numeric_limits<int32_t>::max())
    return badBias(item, "the token must be an id in [0, 2^31)");
  const std::string_view amount = item.substr(sign + 1);
  double bias = 0.0;
  if (amount == "inf") {
    if (item[sign] == '+') return badBias(item, "+inf would force the token: use a large finite bias");
    bias = -std::numeric_limits<double>::infinity();
  } else {
    auto [end, ec] = std::from_chars(amount.data(), amount.data() + amount.size(), bias);
    if (amount.empty() || ec != std::errc() || end != amount.data() + amount.size() || !std::isfinite(bias))
      return badBias(item, "the bias must be a number or inf");
    if (item[sign] == '-') bias = -bias;
  }
  return std::pair<int32_t, double>(static_cast<int32_t>(id), bias);
}

Result<std::vector<std::pair<int32_t, double>>> parseLogitBiasList(std::string_view text) {
  std::vector<std::pair<int32_t, double>> out;
  while (!trim(text).empty()) {
    const size_t comma = text.find(',');
    TF_ASSIGN_OR_RETURN(auto entry, parseLogitBias(text.substr(0, comma)));
    out.push_back(entry);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

std::string formatLogitBias(const std::vector<std::pair<int32_t, double>>& bias) {
  std::string s;
  for (const auto& [id, b] : bias) {
    if (!s.empty()) s += ", ";
    char buf[48];
    if (std::isinf(b)) {
      std::snprintf(buf, sizeof buf, "%d-inf", id);
    } else {
      std::snprintf(buf, sizeof buf, "%d%c%.17g", id, b < 0 ? '-' : '+', std::fabs(b));
    }
    s += buf;
  }
  return s;
}

std::optional<std::vector<std::string>> parseStringList(std::string_view json_text) {
  const nlohmann::json j = nlohmann::json::parse(json_text, nullptr, false);
  if (j.is_discarded() || !j.is_array()) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& e : j) {
    if (!e.is_string()) return std::nullopt;
    out.push_back(e.get<std::string>());
  }
  return out;
}

std::string formatStringList(const std::vector<std::string>& strings) {
  return nlohmann::json(strings).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace tokenfab
