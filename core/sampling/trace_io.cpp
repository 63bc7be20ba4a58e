// Trace export: JSON (docs/trace.schema.json) and CSV. The reader never trusts the file: every
// field is type- and range-checked, and a failure names the field.
#include <charconv>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "tokenfab/file_util.h"
#include "tokenfab/json_text.h"
#include "tokenfab/trace.h"

namespace tokenfab {
namespace {

using nlohmann::json;

// Thrown inside this file only; readTrace turns it into a kSessionCorrupt Status.
struct CorruptField {
  std::string message;
};

[[noreturn]] void corrupt(const std::string& where, const std::string& what) { throw CorruptField{where + ": " + what}; }

const json& field(const json& j, const char* key, const std::string& where) {
  if (!j.is_object()) corrupt(where, "expected an object");
  auto it = j.find(key);
  if (it == j.end()) corrupt(where, std::string("missing field '") + key + "'");
  return *it;
}

double getDouble(const json& j, const char* key, const std::string& where) {
  const json& v = field(j, key, where);
  if (!v.is_number()) corrupt(where + "." + key, "expected a number");
  const double d = v.get<double>();
  if (!std::isfinite(d)) corrupt(where + "." + key, "not finite");
  return d;
}

int64_t getInt(const json& j, const char* key, const std::string& where, int64_t lo, int64_t hi) {
  const json& v = field(j, key, where);
  if (!v.is_number_integer()) corrupt(where + "." + key, "expected an integer");
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    corrupt(where + "." + key, "out of range");
  }
  const int64_t i = v.get<int64_t>();
  if (i < lo || i > hi) corrupt(where + "." + key, "out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return i;
}

int32_t getInt32(const json& j, const char* key, const std::string& where, int64_t lo = std::numeric_limits<int32_t>::min()) {
  return static_cast<int32_t>(getInt(j, key, where, lo, std::numeric_limits<int32_t>::max()));
}

uint64_t getUint64(const json& j, const char* key, const std::string& where) {
  const json& v = field(j, key, where);
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() >= 0) return static_cast<uint64_t>(v.get<int64_t>());
  corrupt(where + "." + key, "expected a non-negative integer");
}

// A string field in either text form (json_text.h): a JSON string or {"hex": ...}.
std::string getString(const json& j, const char* key, const std::string& where) {
  std::optional<std::string> text = textFromJson(field(j, key, where));
  if (!text) corrupt(where + "." + key, "expected a string or {\"hex\": even-length hex}");
  return std::move(*text);
}

const json& getArray(const json& j, const char* key, const std::string& where) {
  const json& v = field(j, key, where);
  if (!v.is_array()) corrupt(where + "." + key, "expected an array");
  return v;
}

json configToJson(const SamplerConfig& c) {
  json texts = json::array();
  for (const std::string& s : c.dry_sequence_breakers) texts.push_back(textToJson<json>(s));
  json bias = json::array();
  for (const auto& [id, b] : c.logit_bias) bias.push_back({id, std::isinf(b) ? json(nullptr) : json(b)});
  json out = {
      {"order", formatSamplerOrder(c.order)},
      {"logit_bias", bias},
      {"dry_sequence_breakers", texts},
      {"dry_breaker_tokens", c.dry_breaker_tokens},
      {"seed", c.seed},
  };
  for (const SamplerField& f : samplerFields()) {
    if (f.integer()) {
      out[std::string(f.key)] = c.*f.int_member;
    } else {
      out[std::string(f.key)] = c.*f.real_member;
    }
  }
  return out;
}

SamplerConfig configFromJson(const json& j) {
  const std::string w = "settings";
  SamplerConfig c;
  Result<std::vector<StageKind>> order = parseSamplerOrder(getString(j, "order", w));
  if (!order) corrupt(w + ".order", order.status().message());
  c.order = *order;
  for (const json& e : getArray(j, "logit_bias", w)) {
    if (!e.is_array() || e.size() != 2 || !e[0].is_number_integer() || !(e[1].is_number() || e[1].is_null())) {
      corrupt(w + ".logit_bias", "expected [token, bias|null] pairs");
    }
    const int64_t id = e[0].get<int64_t>();
    if (id < 0 || id > std::numeric_limits<int32_t>::max()) corrupt(w + ".logit_bias", "token id out of range");
    c.logit_bias.emplace_back(static_cast<int32_t>(id),
                              e[1].is_null() ? -std::numeric_limits<double>::infinity() : e[1].get<double>());
  }
  c.dry_sequence_breakers.clear();
  for (const json& e : getArray(j, "dry_sequence_breakers", w)) {
    std::optional<std::string> text = textFromJson(e);
    if (!text) corrupt(w + ".dry_sequence_breakers", "expected strings");
    c.dry_sequence_breakers.push_back(std::move(*text));
  }
  for (const json& e : getArray(j, "dry_breaker_tokens", w)) {
    if (!e.is_number_integer() || e.get<int64_t>() < 0 || e.get<int64_t>() > std::numeric_limits<int32_t>::max()) {
      corrupt(w + ".dry_breaker_tokens", "expected token ids");
    }
    c.dry_breaker_tokens.push_back(e.get<int32_t>());
  }
  c.seed = getUint64(j, "seed", w);
  for (const SamplerField& f : samplerFields()) {
    const std::string key(f.key);
    if (f.integer()) {
      c.*f.int_member = getInt32(j, key.c_str(), w);
    } else {
      c.*f.real_member = getDouble(j, key.c_str(), w);
    }
  }
  const Status valid = validateSamplerConfig(c);
  if (!valid) corrupt(w, valid.message());
  return c;
}

json stepToJson(const StepTrace& s) {
  json top = json::array();
  for (const TokenLogit& t : s.raw_top) top.push_back({{"id", t.id}, {"logit", t.logit}, {"prob", t.prob}});
  json stages = json::array();
  for (const StageRecord& r : s.stages) {
    stages.push_back({{"name", textToJson<json>(r.name)}, {"survivors", r.survivors}, {"raw_mass", r.raw_mass}, {"top_probs", r.top_probs}});
  }
  return {{"position", s.position},
          {"token", s.token},
          {"text", textToJson<json>(s.text)},
          {"vocab_size", s.vocab_size},
          {"raw_top", top},
          {"raw_logsumexp", s.raw_logsumexp},
          {"tail_mass", s.tail_mass},
          {"raw_entropy_bits", s.raw_entropy_bits},
          {"final_entropy_bits", s.final_entropy_bits},
          {"chosen_prob", s.chosen_prob},
          {"stages", stages},
          {"xtc_draw", s.xtc_draw},
          {"draw", s.draw},
          {"mirostat_mu", s.mirostat_mu},
          {"sampler_us", s.sampler_us}};
}

StepTrace stepFromJson(const json& j, const std::string& w) {
  StepTrace s;
  s.position = getInt32(j, "position", w, 0);
  s.vocab_size = getInt32(j, "vocab_size", w, 1);
  s.token = static_cast<int32_t>(getInt(j, "token", w, 0, s.vocab_size - 1));
  s.text = getString(j, "text", w);
  const json& top = getArray(j, "raw_top", w);
  for (size_t i = 0; i < top.size(); ++i) {
    const std::string wi = w + ".raw_top[" + std::to_string(i) + "]";
    TokenLogit t;
    t.id = static_cast<int32_t>(getInt(top[i], "id", wi, 0, s.vocab_size - 1));
    const double logit = getDouble(top[i], "logit", wi);
    if (std::fabs(logit) > std::numeric_limits<float>::max()) corrupt(wi + ".logit", "outside float range");
    t.logit = static_cast<float>(logit);
    t.prob = getDouble(top[i], "prob", wi);
    s.raw_top.push_back(t);
  }
  s.raw_logsumexp = getDouble(j, "raw_logsumexp", w);
  s.tail_mass = getDouble(j, "tail_mass", w);
  s.raw_entropy_bits = getDouble(j, "raw_entropy_bits", w);
  s.final_entropy_bits = getDouble(j, "final_entropy_bits", w);
  s.chosen_prob = getDouble(j, "chosen_prob", w);
  const json& stages = getArray(j, "stages", w);
  for (size_t i = 0; i < stages.size(); ++i) {
    const std::string wi = w + ".stages[" + std::to_string(i) + "]";
    StageRecord r;
    r.name = getString(stages[i], "name", wi);
    r.survivors = getInt32(stages[i], "survivors", wi, 1);
    r.raw_mass = getDouble(stages[i], "raw_mass", wi);
    const json& probs = getArray(stages[i], "top_probs", wi);
    if (probs.size() != s.raw_top.size()) corrupt(wi + ".top_probs", "length differs from raw_top");
    for (const json& p : probs) {
      if (!p.is_number()) corrupt(wi + ".top_probs", "expected numbers");
      r.top_probs.push_back(p.get<double>());
    }
    s.stages.push_back(std::move(r));
  }
  s.xtc_draw = getDouble(j, "xtc_draw", w);
  s.draw = getDouble(j, "draw", w);
  s.mirostat_mu = getDouble(j, "mirostat_mu", w);
  s.sampler_us = getDouble(j, "sampler_us", w);
  return s;
}

// Shortest text that reads back as the same double.
std::string num(double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : std::string("nan");
}

std::string csvQuote(const std::string& text) {
  std::string out = "\"";
  for (char ch : text) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

}  // namespace

std::string traceToJson(const Trace& t) {
  json steps = json::array();
  for (const StepTrace& s : t.steps) steps.push_back(stepToJson(s));
  const json j = {{"schema_version", t.schema_version},
                  {"created", textToJson<json>(t.created)},
                  {"model",
                   {{"name", textToJson<json>(t.model.name)},
                    {"file", textToJson<json>(t.model.file)},
                    {"sha256", textToJson<json>(t.model.sha256)},
                    {"size_bytes", t.model.size_bytes}}},
                  {"device", textToJson<json>(t.device)},
                  {"settings", configToJson(t.settings)},
                  {"seed", t.seed},
                  {"prompt", textToJson<json>(t.prompt)},
                  {"prompt_tokens", t.prompt_tokens},
                  {"steps", steps}};
  // Every string went through textToJson, so it is valid UTF-8 and the handler never replaces
  // anything; `replace` only keeps dump() from throwing should that ever stop being true.
  // Compact: a long generation holds tens of thousands of numbers.
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<Trace> traceFromJson(std::string_view text) {
  Result<json> j = parseJsonBounded<json>(text, "trace", Code::kSessionCorrupt);
  if (!j) return j.status();
  return traceFromJsonValue(*j);
}

Result<Trace> traceFromJsonValue(const nlohmann::json& j) {
  if (!j.is_object()) return Status(Code::kSessionCorrupt, "trace: the top level is not an object");
  auto version = j.find("schema_version");
  if (version == j.end() || !version->is_number_integer()) {
    return Status(Code::kSessionCorrupt, "trace: missing or non-integer schema_version");
  }
  if (version->get<int64_t>() != kTraceSchemaVersion) {
    return Status(Code::kSessionVersion, "trace: schema_version " + version->dump() + " is not supported (this build reads " +
                                             std::to_string(kTraceSchemaVersion) + ")");
  }
  try {
    Trace t;
    t.created = getString(j, "created", "trace");
    const json& m = field(j, "model", "trace");
    t.model.name = getString(m, "name", "model");
    t.model.file = getString(m, "file", "model");
    t.model.sha256 = getString(m, "sha256", "model");
    t.model.size_bytes = getUint64(m, "size_bytes", "model");
    t.device = getString(j, "device", "trace");
    t.settings = configFromJson(field(j, "settings", "trace"));
    t.seed = getUint64(j, "seed", "trace");
    t.prompt = getString(j, "prompt", "trace");
    for (const json& e : getArray(j, "prompt_tokens", "trace")) {
      if (!e.is_number_integer() || e.get<int64_t>() < 0 || e.get<int64_t>() > std::numeric_limits<int32_t>::max()) {
        corrupt("trace.prompt_tokens", "expected token ids");
      }
      t.prompt_tokens.push_back(e.get<int32_t>());
    }
    const json& steps = getArray(j, "steps", "trace");
    for (size_t i = 0; i < steps.size(); ++i) t.steps.push_back(stepFromJson(steps[i], "steps[" + std::to_string(i) + "]"));
    return t;
  } catch (const CorruptField& e) {
    return Status(Code::kSessionCorrupt, "trace: " + e.message);
  } catch (const json::exception& e) {
    return Status(Code::kSessionCorrupt, std::string("trace: ") + e.what());
  }
}

Status writeTraceJson(const std::filesystem::path& path, const Trace& trace) {
  return writeFileAtomic(path, traceToJson(trace)).withContext("writing trace");
}

Result<Trace> readTraceJson(const std::filesystem::path& path) {
  Result<MappedFile> file = MappedFile::open(path);
  if (!file) return file.status().withContext("reading trace");
  const std::span<const uint8_t> bytes = file->bytes();
  Result<Trace> trace = traceFromJson(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  if (!trace) return trace.status().withContext(path.string());
  return trace;
}

std::string traceToCsv(const Trace& t) {
  std::string out =
      "position,token,text,chosen_prob,draw,raw_entropy_bits,final_entropy_bits,survivors,raw_logsumexp,tail_mass,"
      "sampler_us\n";
  for (const StepTrace& s : t.steps) {
    const int32_t survivors = s.stages.empty() ? s.vocab_size : s.stages.back().survivors;
    out += std::to_string(s.position) + ',' + std::to_string(s.token) + ',' + csvQuote(s.text) + ',' +
           num(s.chosen_prob) + ',' + num(s.draw) + ',' + num(s.raw_entropy_bits) + ',' + num(s.final_entropy_bits) +
           ',' + std::to_string(survivors) + ',' + num(s.raw_logsumexp) + ',' + num(s.tail_mass) + ',' +
           num(s.sampler_us) + '\n';
  }
  return out;
}

Status writeTraceCsv(const std::filesystem::path& path, const Trace& trace) {
  return writeFileAtomic(path, traceToCsv(trace)).withContext("writing trace CSV");
}

}  // namespace tokenfab
