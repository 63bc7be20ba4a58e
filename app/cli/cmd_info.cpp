// tokenfab-cli info FILE [--json]: describe a GGUF file (metadata, hyper-parameters, tokenizer,
// tensors, per-type totals) and say whether tokenfab can run it.
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "cli.h"
#include "tokenfab/gguf.h"
#include "tokenfab/model.h"
#include "tokenfab/support.h"

namespace tokenfab::cli {
namespace {

using gguf::GgufFile;
using gguf::Value;
using gguf::ValueType;

constexpr size_t kJsonArrayLimit = 64;  // longer arrays are summarised, not dumped

struct HyperParam {
  const char* label;
  std::string key;  // full key
};

std::vector<HyperParam> hyperParams(const std::string& arch) {
  return {{"context length", arch + ".context_length"},
          {"embedding length", arch + ".embedding_length"},
          {"block count", arch + ".block_count"},
          {"head count", arch + ".attention.head_count"},
          {"head count kv", arch + ".attention.head_count_kv"},
          {"key length", arch + ".attention.key_length"},
          {"value length", arch + ".attention.value_length"},
          {"ffn length", arch + ".feed_forward_length"},
          {"rope freq base", arch + ".rope.freq_base"},
          {"rope base (swa)", arch + ".rope.freq_base_swa"},
          {"sliding window", arch + ".attention.sliding_window"},
          {"attn soft-cap", arch + ".attn_logit_softcapping"},
          {"final soft-cap", arch + ".final_logit_softcapping"},
          {"rope dimension", arch + ".rope.dimension_count"},
          {"rms eps", arch + ".attention.layer_norm_rms_epsilon"},
          {"vocab size (meta)", arch + ".vocab_size"}};
}

// head dim: attention.key_length, else embedding_length / head_count.
std::optional<uint64_t> headDim(const GgufFile& f, const std::string& arch) {
  if (auto k = f.getUint(arch + ".attention.key_length"); k.isOk()) return *k;
  auto embd = f.getUint(arch + ".embedding_length");
  auto heads = f.getUint(arch + ".attention.head_count");
  if (embd.isOk() && heads.isOk() && *heads > 0) return *embd / *heads;
  return std::nullopt;
}

std::string shapeString(const gguf::TensorInfo& t) {
  std::string s = "[";
  for (uint32_t d = 0; d < t.n_dims; ++d) {
    if (d > 0) s += ", ";
    s += std::to_string(t.ne[d]);
  }
  return s + "]";
}

std::string humanBytes(uint64_t n) {
  char buf[32];
  if (n >= (1ull << 30)) std::snprintf(buf, sizeof buf, "%.2f GiB", double(n) / double(1ull << 30));
  else if (n >= (1ull << 20)) std::snprintf(buf, sizeof buf, "%.2f MiB", double(n) / double(1ull << 20));
  else if (n >= (1ull << 10)) std::snprintf(buf, sizeof buf, "%.1f KiB", double(n) / double(1ull << 10));
  else std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(n));
  return buf;
}

nlohmann::json toJson(const Value& v) {
  switch (v.type()) {
    case ValueType::kUint8: case ValueType::kUint16: case ValueType::kUint32: case ValueType::kUint64:
      return *v.toUint();
    case ValueType::kInt8: case ValueType::kInt16: case ValueType::kInt32: case ValueType::kInt64:
      return *v.toInt();
    case ValueType::kFloat32: case ValueType::kFloat64: return *v.toDouble();
    case ValueType::kBool: return *v.toBool();
    case ValueType::kString: return *v.asString();
    case ValueType::kArray: {
      const Value::Array* arr = v.asArray();
      if (arr->items.size() > kJsonArrayLimit)
        return {{"element_type", std::string(gguf::valueTypeName(arr->element_type))}, {"length", arr->items.size()}};
      nlohmann::json out = nlohmann::json::array();
      for (const Value& item : arr->items) out.push_back(toJson(item));
      return out;
    }
  }
  return nullptr;
}

struct TypeTotal {
  uint64_t count = 0;
  uint64_t bytes = 0;
};

struct Summary {
  std::string arch;
  std::string name;
  std::string tok_model;
  std::string tok_pre;
  uint64_t vocab_size = 0;
  bool has_template = false;
  size_t template_chars = 0;
  std::map<std::string, TypeTotal> per_type;
  uint64_t params = 0;
  uint64_t tensor_bytes = 0;
  std::vector<Status> problems;
};

Summary summarise(const GgufFile& f) {
  Summary s;
  if (auto a = f.getString("general.architecture"); a.isOk()) s.arch = *a;
  if (auto n = f.getString("general.name"); n.isOk()) s.name = *n;
  if (auto m = f.getString("tokenizer.ggml.model"); m.isOk()) s.tok_model = *m;
  if (auto p = f.getString("tokenizer.ggml.pre"); p.isOk()) s.tok_pre = *p;
  if (const Value::Array* toks = f.getArray("tokenizer.ggml.tokens")) s.vocab_size = toks->items.size();
  if (auto t = f.getString("tokenizer.chat_template"); t.isOk()) {
    s.has_template = true;
    s.template_chars = t->size();
  }
  for (const gguf::TensorInfo& t : f.tensors()) {
    TypeTotal& tt = s.per_type[std::string(gguf::typeName(t.type))];
    ++tt.count;
    tt.bytes += t.n_bytes;
    s.params += t.n_elements;
    s.tensor_bytes += t.n_bytes;
  }
  s.problems = runnableProblems(f);
  return s;
}

int printJson(const GgufFile& f, const Summary& s) {
  nlohmann::json j;
  j["file"] = f.path().string();
  j["file_bytes"] = f.fileSize();
  j["version"] = f.version();
  j["alignment"] = f.alignment();
  j["data_offset"] = f.dataOffset();
  j["architecture"] = s.arch;
  j["name"] = s.name;
  nlohmann::json hp = nlohmann::json::object();
  if (!s.arch.empty()) {
    for (const HyperParam& h : hyperParams(s.arch))
      if (const Value* v = f.find(h.key)) hp[h.key.substr(s.arch.size() + 1)] = toJson(*v);
    if (auto hd = headDim(f, s.arch)) hp["head_dim"] = *hd;
  }
  j["hyperparameters"] = hp;
  j["tokenizer"] = {{"model", s.tok_model}, {"pre", s.tok_pre}, {"size", s.vocab_size}};
  j["chat_template"] = s.has_template;
  nlohmann::json meta = nlohmann::json::object();
  for (const gguf::KeyValue& kv : f.metadata()) meta[kv.key] = toJson(kv.value);
  j["metadata"] = meta;
  nlohmann::json tensors = nlohmann::json::array();
  for (const gguf::TensorInfo& t : f.tensors()) {
    nlohmann::json shape = nlohmann::json::array();
    for (uint32_t d = 0; d < t.n_dims; ++d) shape.push_back(t.ne[d]);
    tensors.push_back({{"name", t.name}, {"type", std::string(gguf::typeName(t.type))}, {"shape", shape},
                       {"bytes", t.n_bytes}, {"offset", t.offset}});
  }
  j["tensors"] = tensors;
  nlohmann::json types = nlohmann::json::object();
  for (const auto& [name, tt] : s.per_type) types[name] = {{"count", tt.count}, {"bytes", tt.bytes}};
  j["types"] = types;
  j["parameters"] = s.params;
  j["tensor_bytes"] = s.tensor_bytes;
  j["runnable"] = s.problems.empty();
  nlohmann::json problems = nlohmann::json::array();
  for (const Status& p : s.problems) problems.push_back({{"code", std::string(codeName(p.code()))}, {"message", p.message()}});
  j["problems"] = problems;
  // Replace invalid UTF-8 (metadata is untrusted) instead of throwing.
  std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  return kExitOk;
}

int printText(const GgufFile& f, const Summary& s) {
  std::printf("file:          %s (%s, %llu bytes)\n", f.path().string().c_str(), humanBytes(f.fileSize()).c_str(),
              static_cast<unsigned long long>(f.fileSize()));
  std::printf("format:        GGUF v%u, alignment %llu, data at byte %llu\n", f.version(),
              static_cast<unsigned long long>(f.alignment()), static_cast<unsigned long long>(f.dataOffset()));
  std::printf("architecture:  %s\n", s.arch.empty() ? "(none)" : s.arch.c_str());
  if (!s.name.empty()) std::printf("name:          %s\n", Value::string(s.name).describe().c_str());
  if (!s.arch.empty()) {
    std::printf("hyper-parameters:\n");
    for (const HyperParam& h : hyperParams(s.arch))
      if (const Value* v = f.find(h.key)) std::printf("  %-18s %s\n", h.label, v->describe().c_str());
    if (auto hd = headDim(f, s.arch)) std::printf("  %-18s %llu\n", "head dim", static_cast<unsigned long long>(*hd));
    // What the engine reads from it (q width, rope dims, q/k norms), when it is a model it knows.
    if (Result<model::ModelConfig> c = model::ModelConfig::fromGguf(f); c.isOk())
      std::printf("model:         %s\n", c->summary().c_str());
  }
  if (s.tok_model.empty()) {
    std::printf("tokenizer:     (none)\n");
  } else {
    std::printf("tokenizer:     %s (pre: %s), %llu tokens\n", s.tok_model.c_str(), s.tok_pre.empty() ? "default" : s.tok_pre.c_str(),
                static_cast<unsigned long long>(s.vocab_size));
  }
  if (s.has_template) std::printf("chat template: yes (%zu chars)\n", s.template_chars);
  else std::printf("chat template: no\n");

  std::printf("\nmetadata (%zu keys):\n", f.metadata().size());
  for (const gguf::KeyValue& kv : f.metadata())
    std::printf("  %-44s %-6s %s\n", kv.key.c_str(), std::string(gguf::valueTypeName(kv.value.type())).c_str(),
                kv.value.describe().c_str());

  std::printf("\ntensors (%zu):\n", f.tensors().size());
  if (!f.tensors().empty()) std::printf("  %-36s %-8s %-24s %12s\n", "name", "type", "shape", "bytes");
  for (const gguf::TensorInfo& t : f.tensors())
    std::printf("  %-36s %-8s %-24s %12llu\n", t.name.c_str(), std::string(gguf::typeName(t.type)).c_str(),
                shapeString(t).c_str(), static_cast<unsigned long long>(t.n_bytes));
  if (!s.per_type.empty()) {
    std::printf("\ntotals by type:\n");
    for (const auto& [name, tt] : s.per_type)
      std::printf("  %-8s %5llu tensors %14llu bytes (%s)\n", name.c_str(), static_cast<unsigned long long>(tt.count),
                  static_cast<unsigned long long>(tt.bytes), humanBytes(tt.bytes).c_str());
  }
  std::printf("parameters:    %llu (%s of tensor data)\n", static_cast<unsigned long long>(s.params),
              humanBytes(s.tensor_bytes).c_str());
  if (s.problems.empty()) {
    std::printf("runnable:      yes\n");
  } else {
    std::printf("runnable:      no: %s\n", s.problems.front().message().c_str());
    constexpr size_t kMaxShown = 10;
    for (size_t k = 1; k < s.problems.size() && k < kMaxShown; ++k)
      std::printf("               also: %s\n", s.problems[k].message().c_str());
    if (s.problems.size() > kMaxShown)
      std::printf("               (%zu more problems)\n", s.problems.size() - kMaxShown);
  }
  return kExitOk;
}

int runInfo(std::span<const std::string> argv) {
  Args args(argv);
  if (args.flag("--help", "-h")) {
    std::printf("usage: tokenfab-cli info FILE [--json]\n"
                "Describes a GGUF file: metadata, hyper-parameters, tokenizer, tensors, totals per type,\n"
                "and whether tokenfab can run it. Exit status 1 when the file cannot be read.\n");
    return kExitOk;
  }
  const bool json = args.flag("--json");
  if (auto unknown = args.unknownOptions(); !unknown.empty()) return usageError("info: unknown option " + unknown.front());
  if (args.positionals().size() != 1) return usageError("info: expected one GGUF file (tokenfab-cli info FILE [--json])");
  auto file = GgufFile::open(args.positionals().front());
  if (!file.isOk()) return failure(file.status().toString());
  const Summary s = summarise(*file);
  return json ? printJson(*file, s) : printText(*file, s);
}

}  // namespace

TF_CLI_COMMAND("info", "describe a GGUF file and whether tokenfab can run it", runInfo);

}  // namespace tokenfab::cli
