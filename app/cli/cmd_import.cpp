// tokenfab-cli import-demo DIR -o OUT.gguf [--type q8_0|f16|f32] [--name NAME]
// Turns the demo model's training export (tools/train_demo_model: manifest.json + weights.bin)
// into a llama-architecture GGUF with llama.cpp's key and tensor names, written by GgufWriter
// and quantized by lab::quantize. When DIR holds check_logits.bin (check_export.py), the written
// file is re-opened, run through the CPU reference forward pass and compared with PyTorch.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli.h"
#include "tokenfab/lab.h"
#include "tokenfab/file_util.h"
#include "tokenfab/gguf.h"

namespace tokenfab::cli {
namespace {

namespace fs = std::filesystem;
using gguf::TensorType;
using gguf::Value;
using gguf::ValueType;
using nlohmann::json;

static_assert(std::endian::native == std::endian::little, "weights.bin is little-endian float32");

constexpr uint64_t kMaxManifestBytes = 64ull << 20;
constexpr int64_t kMaxDim = 1 << 20;  // bound on every hyper-parameter (hostile manifests)

struct HParams {
  int64_t n_vocab = 0, n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, n_ff = 0, n_ctx = 0;
  double rope_base = 0, rms_eps = 0;
};

struct Vocab {
  std::vector<std::string> pieces;
  std::vector<float> scores;
  std::vector<int32_t> types;
  int64_t bos = 0, eos = 0, unk = 0;
  bool add_bos = true, add_eos = false;
};

struct TensorEntry {
  std::string name;
  std::vector<uint64_t> shape;  // PyTorch order: [rows, cols] (cols contiguous)
  uint64_t offset = 0;          // bytes into weights.bin
};

Status bad(const std::string& what) { return {Code::kCorruptData, "manifest.json: " + what}; }

Result<int64_t> getInt(const json& obj, const char* key, int64_t lo, int64_t hi) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number_integer()) return bad(std::string("'") + key + "' missing or not an integer");
  int64_t v = it->get<int64_t>();
  if (v < lo || v > hi) return bad(std::string("'") + key + "' = " + std::to_string(v) + " out of range");
  return v;
}

Result<double> getNumber(const json& obj, const char* key, double lo, double hi) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number()) return bad(std::string("'") + key + "' missing or not a number");
  double v = it->get<double>();
  if (!(v >= lo && v <= hi)) return bad(std::string("'") + key + "' out of range");
  return v;
}

Result<HParams> parseHParams(const json& j) {
  if (!j.is_object()) return bad("'hparams' missing");
  HParams h;
  TF_ASSIGN_OR_RETURN(h.n_vocab, getInt(j, "n_vocab", 4, kMaxDim));
  TF_ASSIGN_OR_RETURN(h.n_embd, getInt(j, "n_embd", 1, 1 << 16));
  TF_ASSIGN_OR_RETURN(h.n_layer, getInt(j, "n_layer", 1, 1024));
  TF_ASSIGN_OR_RETURN(h.n_head, getInt(j, "n_head", 1, 1024));
  TF_ASSIGN_OR_RETURN(h.n_head_kv, getInt(j, "n_head_kv", 1, 1024));
  TF_ASSIGN_OR_RETURN(h.n_ff, getInt(j, "n_ff", 1, kMaxDim));
  TF_ASSIGN_OR_RETURN(h.n_ctx, getInt(j, "n_ctx", 1, kMaxDim));
  TF_ASSIGN_OR_RETURN(h.rope_base, getNumber(j, "rope_base", 1.0, 1e9));
  TF_ASSIGN_OR_RETURN(h.rms_eps, getNumber(j, "rms_eps", 1e-12, 1.0));
  if (h.n_embd % h.n_head != 0 || (h.n_embd / h.n_head) % 2 != 0)
    return bad("n_embd must be n_head times an even head size");
  if (h.n_head % h.n_head_kv != 0) return bad("n_head must be a multiple of n_head_kv");
  return h;
}

Result<Vocab> parseVocab(const json& j, const HParams& h) {
  if (!j.is_object()) return bad("'tokenizer' missing");
  if (j.value("model", "") != "llama") return bad("tokenizer.model must be \"llama\" (SentencePiece)");
  const auto n = static_cast<size_t>(h.n_vocab);
  auto pieces = j.find("pieces"), scores = j.find("scores"), types = j.find("types");
  if (pieces == j.end() || scores == j.end() || types == j.end() || !pieces->is_array() ||
      !scores->is_array() || !types->is_array() || pieces->size() != n || scores->size() != n ||
      types->size() != n)
    return bad("tokenizer pieces/scores/types must be arrays of n_vocab entries");
  Vocab v;
  for (size_t i = 0; i < n; ++i) {
    const json& p = (*pieces)[i];
    const json& s = (*scores)[i];
    const json& t = (*types)[i];
    if (!p.is_string() || !s.is_number() || !t.is_number_integer())
      return bad("tokenizer entry " + std::to_string(i) + " has the wrong types");
    int64_t type = t.get<int64_t>();
    if (type < 1 || type > 6) return bad("token type of " + std::to_string(i) + " not in 1..6");
    v.pieces.push_back(p.get<std::string>());
    v.scores.push_back(s.get<float>());
    v.types.push_back(static_cast<int32_t>(type));
  }
  TF_ASSIGN_OR_RETURN(v.bos, getInt(j, "bos_id", 0, h.n_vocab - 1));
  TF_ASSIGN_OR_RETURN(v.eos, getInt(j, "eos_id", 0, h.n_vocab - 1));
  TF_ASSIGN_OR_RETURN(v.unk, getInt(j, "unk_id", 0, h.n_vocab - 1));
  v.add_bos = j.value("add_bos", true);
  v.add_eos = j.value("add_eos", false);
  return v;
}

// The llama tensors the manifest must list, with their PyTorch shapes.
std::vector<TensorEntry> expectedTensors(const HParams& h) {
  const auto embd = static_cast<uint64_t>(h.n_embd), vocab = static_cast<uint64_t>(h.n_vocab);
  const auto ff = static_cast<uint64_t>(h.n_ff);
  const uint64_t kv = embd / static_cast<uint64_t>(h.n_head) * static_cast<uint64_t>(h.n_head_kv);
  std::vector<TensorEntry> out = {{"token_embd.weight", {vocab, embd}, 0}};
  for (int64_t i = 0; i < h.n_layer; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    out.push_back({p + "attn_norm.weight", {embd}, 0});
    out.push_back({p + "attn_q.weight", {embd, embd}, 0});
    out.push_back({p + "attn_k.weight", {kv, embd}, 0});
    out.push_back({p + "attn_v.weight", {kv, embd}, 0});
    out.push_back({p + "attn_output.weight", {embd, embd}, 0});
    out.push_back({p + "ffn_norm.weight", {embd}, 0});
    out.push_back({p + "ffn_gate.weight", {ff, embd}, 0});
    out.push_back({p + "ffn_up.weight", {ff, embd}, 0});
    out.push_back({p + "ffn_down.weight", {embd, ff}, 0});
  }
  out.push_back({"output_norm.weight", {embd}, 0});
  out.push_back({"output.weight", {vocab, embd}, 0});
  return out;
}

uint64_t elementCount(const std::vector<uint64_t>& shape) {
  uint64_t n = 1;
  for (uint64_t d : shape) n *= d;
  return n;
}

// Checks the manifest's tensor table against the expected set and the size of weights.bin.
Result<std::vector<TensorEntry>> parseTensors(const json& j, const HParams& h, uint64_t blob_bytes) {
  if (!j.is_array()) return bad("'tensors' missing");
  std::vector<TensorEntry> expected = expectedTensors(h);
  std::vector<bool> seen(expected.size(), false);
  if (j.size() != expected.size())
    return bad("expected " + std::to_string(expected.size()) + " tensors, found " + std::to_string(j.size()));
  for (const json& t : j) {
    auto name = t.find("name"), shape = t.find("shape"), offset = t.find("offset");
    if (!t.is_object() || name == t.end() || !name->is_string() || shape == t.end() ||
        !shape->is_array() || offset == t.end() || !offset->is_number_unsigned())
      return bad("a tensor entry lacks name/shape/offset");
    auto it = std::find_if(expected.begin(), expected.end(),
                           [&](const TensorEntry& e) { return e.name == name->get<std::string>(); });
    if (it == expected.end()) return bad("unexpected tensor '" + name->get<std::string>() + "'");
    std::vector<uint64_t> dims;
    for (const json& d : *shape) {
      if (!d.is_number_unsigned()) return bad("bad shape for '" + it->name + "'");
      dims.push_back(d.get<uint64_t>());
    }
    if (dims != it->shape) return bad("'" + it->name + "' has the wrong shape for the hyper-parameters");
    const uint64_t off = offset->get<uint64_t>();
    const uint64_t bytes = elementCount(dims) * 4;
    if (off % 4 != 0 || off > blob_bytes || bytes > blob_bytes - off)
      return bad("'" + it->name + "' lies outside weights.bin");
    const auto index = static_cast<size_t>(it - expected.begin());
    if (seen[index]) return bad("tensor '" + it->name + "' listed twice");
    seen[index] = true;
    it->offset = off;
  }
  return expected;  // same count, no duplicates: every expected tensor was listed
}

Result<std::string> readText(const fs::path& path) {
  TF_ASSIGN_OR_RETURN(MappedFile file, MappedFile::open(path));
  if (file.size() > kMaxManifestBytes) return Status(Code::kLimitExceeded, path.string() + " is too large");
  return std::string(reinterpret_cast<const char*>(file.data()), file.size());
}

void setMetadata(gguf::GgufWriter& w, const HParams& h, const Vocab& v, const std::string& name,
                 TensorType type) {
  auto u32 = [](int64_t x) { return Value::u32(static_cast<uint32_t>(x)); };
  // llama.cpp's file types: ALL_F32 = 0, MOSTLY_F16 = 1, MOSTLY_Q8_0 = 7 (others: not offered).
  const uint32_t file_type = type == TensorType::kF32 ? 0 : type == TensorType::kF16 ? 1 : 7;
  w.set("general.architecture", Value::string("llama"));
  w.set("general.name", Value::string(name));
  w.set("general.file_type", Value::u32(file_type));
  if (type == TensorType::kQ8_0) w.set("general.quantization_version", Value::u32(2));
  w.set("llama.vocab_size", u32(h.n_vocab));
  w.set("llama.context_length", u32(h.n_ctx));
  w.set("llama.embedding_length", u32(h.n_embd));
  w.set("llama.block_count", u32(h.n_layer));
  w.set("llama.feed_forward_length", u32(h.n_ff));
  w.set("llama.attention.head_count", u32(h.n_head));
  w.set("llama.attention.head_count_kv", u32(h.n_head_kv));
  w.set("llama.rope.dimension_count", u32(h.n_embd / h.n_head));
  w.set("llama.rope.freq_base", Value::f32(static_cast<float>(h.rope_base)));
  w.set("llama.attention.layer_norm_rms_epsilon", Value::f32(static_cast<float>(h.rms_eps)));

  std::vector<Value> tokens, scores, types;
  for (size_t i = 0; i < v.pieces.size(); ++i) {
    tokens.push_back(Value::string(v.pieces[i]));
    scores.push_back(Value::f32(v.scores[i]));
    types.push_back(Value::i32(v.types[i]));
  }
  w.set("tokenizer.ggml.model", Value::string("llama"));
  w.set("tokenizer.ggml.tokens", Value::array(ValueType::kString, std::move(tokens)));
  w.set("tokenizer.ggml.scores", Value::array(ValueType::kFloat32, std::move(scores)));
  w.set("tokenizer.ggml.token_type", Value::array(ValueType::kInt32, std::move(types)));
  w.set("tokenizer.ggml.bos_token_id", u32(v.bos));
  w.set("tokenizer.ggml.eos_token_id", u32(v.eos));
  w.set("tokenizer.ggml.unknown_token_id", u32(v.unk));
  w.set("tokenizer.ggml.add_bos_token", Value::boolean(v.add_bos));
  w.set("tokenizer.ggml.add_eos_token", Value::boolean(v.add_eos));
}

// Builds the GGUF in memory. Norms (1-D) stay F32; matrices get `type`.
Result<gguf::GgufWriter> buildGguf(const fs::path& dir, TensorType type, const std::string& name) {
  TF_ASSIGN_OR_RETURN(std::string text, readText(dir / "manifest.json"));
  json manifest = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (manifest.is_discarded() || !manifest.is_object()) return bad("not valid JSON");
  if (manifest.value("format", "") != "tokenfab-demo-weights-v1")
    return bad("'format' is not tokenfab-demo-weights-v1");
  TF_ASSIGN_OR_RETURN(HParams h, parseHParams(manifest.value("hparams", json())));
  TF_ASSIGN_OR_RETURN(Vocab vocab, parseVocab(manifest.value("tokenizer", json()), h));
  TF_ASSIGN_OR_RETURN(MappedFile blob, MappedFile::open(dir / "weights.bin"));
  TF_ASSIGN_OR_RETURN(std::vector<TensorEntry> tensors,
                      parseTensors(manifest.value("tensors", json()), h, blob.size()));

  gguf::GgufWriter writer;
  setMetadata(writer, h, vocab, name, type);
  std::vector<float> values;
  for (const TensorEntry& t : tensors) {
    values.resize(elementCount(t.shape));
    std::memcpy(values.data(), blob.data() + t.offset, values.size() * sizeof(float));
    for (float x : values)
      if (!std::isfinite(x)) return Status(Code::kCorruptData, "weights.bin: '" + t.name + "' holds a NaN or inf");
    const TensorType tensor_type = t.shape.size() == 1 ? TensorType::kF32 : type;
    TF_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, lab::quantize(tensor_type, values));
    std::vector<uint64_t> ne(t.shape.rbegin(), t.shape.rend());  // GGUF: contiguous dim first
    TF_RETURN_IF_ERROR(writer.addTensor(t.name, tensor_type, std::move(ne), std::move(bytes)).withContext(t.name + ": "));
  }
  return writer;
}

// check_logits.bin (from check_export.py): uint32 n_tokens, uint32 n_vocab, n_tokens int32 token
// ids, then n_tokens * n_vocab float32 PyTorch logits. Prints how far the reference forward pass
// on the written GGUF lands from them.
Status compareWithPyTorch(const fs::path& gguf_path, const fs::path& check_path) {
  TF_ASSIGN_OR_RETURN(MappedFile check, MappedFile::open(check_path));
  uint32_t header[2] = {0, 0};
  if (check.size() < sizeof(header)) return Status(Code::kCorruptData, "check_logits.bin: truncated");
  std::memcpy(header, check.data(), sizeof(header));
  const uint64_t n_tok = header[0], n_vocab = header[1];
  if (n_tok == 0 || n_tok > 4096 || n_vocab == 0 || n_vocab > (1u << 20) ||
      check.size() != 8 + n_tok * 4 + n_tok * n_vocab * 4)
    return Status(Code::kCorruptData, "check_logits.bin: sizes do not match its header");
  std::vector<int32_t> tokens(n_tok);
  std::memcpy(tokens.data(), check.data() + 8, n_tok * 4);
  std::vector<float> expected(n_tok * n_vocab);
  std::memcpy(expected.data(), check.data() + 8 + n_tok * 4, expected.size() * 4);

  TF_ASSIGN_OR_RETURN(gguf::GgufFile file, gguf::GgufFile::open(gguf_path));
  TF_ASSIGN_OR_RETURN(std::vector<std::vector<double>> rows, lab::referenceLogits(file, tokens));
  double max_err = 0, max_logit = 0;
  size_t argmax_same = 0;
  for (size_t pos = 0; pos < n_tok; ++pos) {
    const std::vector<double>& logits = rows[pos];
    if (logits.size() != n_vocab) return Status(Code::kCorruptData, "check_logits.bin: vocab size differs from the model's");
    const float* want = expected.data() + pos * n_vocab;
    for (size_t i = 0; i < n_vocab; ++i) {
      max_err = std::max(max_err, std::abs(logits[i] - want[i]));
      max_logit = std::max(max_logit, std::abs(static_cast<double>(want[i])));
    }
    const auto a = std::max_element(logits.begin(), logits.end()) - logits.begin();
    const auto b = std::max_element(want, want + n_vocab) - want;
    argmax_same += a == b;
  }
  std::printf("check vs PyTorch (%zu positions): max |logit diff| %.3g (max |logit| %.3g), argmax agrees at %zu/%zu\n",
              static_cast<size_t>(n_tok), max_err, max_logit, argmax_same, static_cast<size_t>(n_tok));
  return Status::ok();
}

int runImportDemo(std::span<const std::string> raw) {
  Args args(raw);
  if (args.flag("--help", "-h")) {
    std::printf(
        "usage: tokenfab-cli import-demo DIR -o OUT.gguf [--type q8_0|f16|f32] [--name NAME]\n"
        "  DIR holds manifest.json + weights.bin written by tools/train_demo_model/train.py;\n"
        "  when DIR also holds check_logits.bin the result is compared with PyTorch's logits.\n");
    return kExitOk;
  }
  const auto out = args.value("--output", "-o");
  const std::string type_name = args.value("--type").value_or("q8_0");
  const std::string name = args.value("--name").value_or("tokenfab-demo");
  if (!args.unknownOptions().empty()) return usageError("import-demo: unknown option " + args.unknownOptions()[0]);
  if (args.positionals().size() != 1 || !out) return usageError("import-demo: need DIR and -o OUT.gguf (see --help)");
  TensorType type;
  if (type_name == "q8_0") type = TensorType::kQ8_0;
  else if (type_name == "f16") type = TensorType::kF16;
  else if (type_name == "f32") type = TensorType::kF32;
  else return usageError("import-demo: --type must be q8_0, f16 or f32");

  const fs::path dir = args.positionals()[0];
  auto writer = buildGguf(dir, type, name);
  if (!writer) return failure("import-demo: " + writer.status().toString());
  if (Status s = writer->writeFile(*out); !s) return failure("import-demo: writing " + *out + ": " + s.toString());
  std::error_code ec;
  std::printf("wrote %s (%s, %llu bytes)\n", out->c_str(), type_name.c_str(),
              static_cast<unsigned long long>(fs::file_size(*out, ec)));
  if (fs::exists(dir / "check_logits.bin")) {
    if (Status s = compareWithPyTorch(*out, dir / "check_logits.bin"); !s)
      return failure("import-demo: check: " + s.toString());
  }
  return kExitOk;
}

}  // namespace

TF_CLI_COMMAND("import-demo", "export the trained demo model (tools/train_demo_model) to GGUF", runImportDemo);

}  // namespace tokenfab::cli
