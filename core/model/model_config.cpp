// ModelConfig::fromGguf: hyper-parameters from `<arch>.*` metadata and the tensor map with
// shape checks. Key names follow the GGUF spec (ggml/docs/gguf.md, "LLM" section).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>

#include "tokenfab/model.h"

namespace tokenfab::model {
namespace {

using gguf::GgufFile;
using gguf::Value;

// Upper bound for any single dimension: far above every released model, far below overflow of
// products of two dimensions in int64.
constexpr int64_t kMaxDim = int64_t{1} << 24;
constexpr int64_t kMaxLayers = 4096;

Status badParam(const std::string& message) { return Status(Code::kModelBadHyperParams, message); }

// A positive integer from a metadata value, bounded by `max`.
Result<int32_t> toDim(const Value& value, const std::string& key, int64_t max) {
  Result<uint64_t> v = value.toUint();
  if (!v.isOk()) return badParam(key + " is not a non-negative integer (" + value.describe() + ")");
  if (*v == 0 || *v > static_cast<uint64_t>(max)) {
    return badParam(key + " = " + std::to_string(*v) + " is out of range [1, " + std::to_string(max) + "]");
  }
  return static_cast<int32_t>(*v);
}

// A required (fallback < 0) or optional positive integer key.
Result<int32_t> readDim(const GgufFile& file, const std::string& key, int32_t fallback, int64_t max = kMaxDim) {
  const Value* value = file.find(key);
  if (value == nullptr) {
    if (fallback < 0) return badParam("missing hyper-parameter " + key);
    return fallback;
  }
  return toDim(*value, key, max);
}

// A key that may hold one integer for all layers or an array with one per layer.
Result<std::vector<int32_t>> readPerLayer(const GgufFile& file, const std::string& key, int32_t n_layer,
                                          int32_t fallback) {
  const Value* value = file.find(key);
  if (value == nullptr) {
    if (fallback < 0) return badParam("missing hyper-parameter " + key);
    return std::vector<int32_t>(static_cast<size_t>(n_layer), fallback);
  }
  if (const Value::Array* array = value->asArray()) {
    if (array->items.size() != static_cast<size_t>(n_layer)) {
      return badParam(key + " has " + std::to_string(array->items.size()) + " entries, expected one per layer (" +
                      std::to_string(n_layer) + ")");
    }
    std::vector<int32_t> out;
    out.reserve(array->items.size());
    for (size_t i = 0; i < array->items.size(); ++i) {
      TF_ASSIGN_OR_RETURN(int32_t v, toDim(array->items[i], key + "[" + std::to_string(i) + "]", kMaxDim));
      out.push_back(v);
    }
    return out;
  }
  TF_ASSIGN_OR_RETURN(int32_t v, toDim(*value, key, kMaxDim));
  return std::vector<int32_t>(static_cast<size_t>(n_layer), v);
}

// A finite float key inside (lo, hi]; `fallback` when absent (NaN fallback = required).
Result<double> readFloat(const GgufFile& file, const std::string& key, double fallback, double lo, double hi) {
  const Value* value = file.find(key);
  if (value == nullptr) {
    if (std::isnan(fallback)) return badParam("missing hyper-parameter " + key);
    return fallback;
  }
  Result<double> v = value->toDouble();
  if (!v.isOk()) return badParam(key + " is not a number (" + value->describe() + ")");
  if (!std::isfinite(*v) || *v <= lo || *v > hi) {
    std::ostringstream msg;
    msg << key << " = " << *v << " is out of range (" << lo << ", " << hi << "]";
    return badParam(msg.str());
  }
  return *v;
}

// "[cols, rows]" or "[cols]" (rows == 0): ggml order, as `info` prints shapes.
std::string shapeText(uint64_t cols, uint64_t rows) {
  std::ostringstream s;
  s << '[' << cols;
  if (rows != 0) s << ", " << rows;
  s << ']';
  return s.str();
}

// Finds `name` and checks it is (cols) when rows == 0, else (cols, rows).
Result<WeightRef> findWeight(const GgufFile& file, const std::string& name, uint64_t cols, uint64_t rows,
                             bool required, std::string_view meaning) {
  const gguf::TensorInfo* info = file.tensor(name);
  if (info == nullptr) {
    if (!required) return WeightRef{};
    return Status(Code::kModelMissingTensor, "missing tensor " + name + " " +
                                                 shapeText(cols, rows) +
                                                 " (" + std::string(meaning) + ")");
  }
  const bool is_vector = rows == 0;
  const uint64_t want_rows = is_vector ? 1 : rows;
  const uint32_t max_dims = is_vector ? 1 : 2;
  bool ok = info->ne[0] == cols && info->ne[1] == want_rows && info->ne[2] == 1 && info->ne[3] == 1;
  // A vector stored as (n, 1) is fine; anything with more real dimensions is not.
  ok = ok && (info->n_dims <= max_dims || (info->n_dims == 2 && is_vector));
  if (!ok) {
    std::ostringstream got_text;
    for (uint32_t d = 0; d < std::max<uint32_t>(info->n_dims, 1); ++d) got_text << (d ? ", " : "[") << info->ne[d];
    got_text << ']';
    const std::string got = got_text.str();
    return Status(Code::kModelBadShape, "tensor " + name + " has shape " + got + ", expected " +
                                            shapeText(cols, rows) +
                                            " (" + std::string(meaning) + ")");
  }
  WeightRef ref;
  ref.name = name;
  ref.index = static_cast<size_t>(info - file.tensors().data());
  ref.type = info->type;
  ref.cols = info->ne[0];
  ref.rows = info->ne[1];
  return ref;
}

// Rows [row0, row0 + rows) of a fused matrix, as a weight of its own.
WeightRef rowPart(const WeightRef& whole, uint64_t row0, uint64_t rows) {
  WeightRef part = whole;
  part.row0 = row0;
  part.rows = rows;
  return part;
}

// True when the file looks like a model of some architecture, known or not.
bool looksLikeModel(const GgufFile& file, const std::string& arch) {
  return file.tensor("token_embd.weight") != nullptr || file.find(arch + ".block_count") != nullptr;
}

Status readHyperParams(const GgufFile& file, ModelConfig& c) {
  const std::string p = c.arch + ".";
  TF_ASSIGN_OR_RETURN(c.n_embd, readDim(file, p + "embedding_length", -1));
  TF_ASSIGN_OR_RETURN(c.n_layer, readDim(file, p + "block_count", -1, kMaxLayers));
  TF_ASSIGN_OR_RETURN(c.n_head, readDim(file, p + "attention.head_count", -1));
  TF_ASSIGN_OR_RETURN(c.n_head_kv, readPerLayer(file, p + "attention.head_count_kv", c.n_layer, c.n_head));
  TF_ASSIGN_OR_RETURN(c.n_ff, readPerLayer(file, p + "feed_forward_length", c.n_layer, -1));
  TF_ASSIGN_OR_RETURN(c.n_ctx_train, readDim(file, p + "context_length", -1, int64_t{1} << 30));

  if (c.n_embd % c.n_head != 0 && file.find(p + "attention.key_length") == nullptr) {
    return badParam(p + "embedding_length " + std::to_string(c.n_embd) + " is not a multiple of head_count " +
                    std::to_string(c.n_head) + " and " + p + "attention.key_length is missing");
  }
  TF_ASSIGN_OR_RETURN(c.head_dim, readDim(file, p + "attention.key_length", c.n_embd / c.n_head));
  TF_ASSIGN_OR_RETURN(c.head_dim_v, readDim(file, p + "attention.value_length", c.head_dim));
  for (int32_t l = 0; l < c.n_layer; ++l) {
    if (c.n_head % c.nHeadKv(l) != 0) {
      return badParam("layer " + std::to_string(l) + ": head_count " + std::to_string(c.n_head) +
                      " is not a multiple of head_count_kv " + std::to_string(c.nHeadKv(l)));
    }
  }
  if (int64_t{c.n_head} * std::max(c.head_dim, c.head_dim_v) > kMaxDim) {
    return badParam("head_count x head dimension is too large");
  }

  TF_ASSIGN_OR_RETURN(c.n_rot, readDim(file, p + "rope.dimension_count", c.head_dim));
  if (c.n_rot % 2 != 0 || c.n_rot > c.head_dim) {
    return badParam(p + "rope.dimension_count = " + std::to_string(c.n_rot) + " must be even and <= head_dim " +
                    std::to_string(c.head_dim));
  }
  TF_ASSIGN_OR_RETURN(c.rope_freq_base, readFloat(file, p + "rope.freq_base", 10000.0, 0.0, 1e12));
  TF_ASSIGN_OR_RETURN(c.rms_eps, readFloat(file, p + "attention.layer_norm_rms_epsilon", std::nan(""), 0.0, 1.0));

  // Rope scaling: the typed keys, else the legacy linear factor.
  c.rope_scaling = RopeScaling::kNone;
  if (const Value* type = file.find(p + "rope.scaling.type")) {
    const std::string* s = type->asString();
    if (s == nullptr) return badParam(p + "rope.scaling.type is not a string");
    if (*s == "none") {
      c.rope_scaling = RopeScaling::kNone;
    } else if (*s == "linear") {
      c.rope_scaling = RopeScaling::kLinear;
    } else if (*s == "yarn") {
      c.rope_scaling = RopeScaling::kYarn;
    } else {
      return badParam("unknown rope scaling type '" + *s + "' in " + p + "rope.scaling.type");
    }
  }
  TF_ASSIGN_OR_RETURN(double legacy_linear, readFloat(file, p + "rope.scale_linear", 1.0, 0.0, 1e6));
  TF_ASSIGN_OR_RETURN(c.rope_scaling_factor, readFloat(file, p + "rope.scaling.factor", legacy_linear, 0.0, 1e6));
  if (file.find(p + "rope.scaling.type") == nullptr && c.rope_scaling_factor != 1.0) {
    c.rope_scaling = RopeScaling::kLinear;
  }
  if (c.rope_scaling == RopeScaling::kNone) c.rope_scaling_factor = 1.0;
  TF_ASSIGN_OR_RETURN(c.rope_original_ctx, readDim(file, p + "rope.scaling.original_context_length", 0));
  TF_ASSIGN_OR_RETURN(c.rope_attn_factor, readFloat(file, p + "rope.scaling.attn_factor", 1.0, 0.0, 1e6));
  return Status::ok();
}

// Gemma 2/3: the embedding scale, the sliding window and its layers, soft-capping.
Status readGemmaParams(const GgufFile& file, const ArchInfo& arch, ModelConfig& c) {
  if (!arch.gemma) return Status::ok();
  const std::string p = c.arch + ".";
  c.gemma = true;
  c.embd_scale = std::sqrt(static_cast<double>(c.n_embd));
  TF_ASSIGN_OR_RETURN(c.sliding_window, readDim(file, p + "attention.sliding_window", 0, int64_t{1} << 30));
  c.swa.assign(static_cast<size_t>(c.n_layer), false);
  if (c.sliding_window > 0 && arch.swa_pattern > 0) {
    for (int32_t l = 0; l < c.n_layer; ++l) c.swa[static_cast<size_t>(l)] = l % arch.swa_pattern < arch.swa_pattern - 1;
  }
  const double base_swa = arch.rope_base_swa > 0 ? arch.rope_base_swa : c.rope_freq_base;
  TF_ASSIGN_OR_RETURN(c.rope_freq_base_swa, readFloat(file, p + "rope.freq_base_swa", base_swa, 0.0, 1e12));
  TF_ASSIGN_OR_RETURN(c.attn_softcap, readFloat(file, p + "attn_logit_softcapping", 0.0, -1.0, 1e6));
  TF_ASSIGN_OR_RETURN(c.final_softcap, readFloat(file, p + "final_logit_softcapping", 0.0, -1.0, 1e6));
  if (c.attn_softcap < 0.0 || c.final_softcap < 0.0) return badParam("a soft-capping value is negative");
  return Status::ok();
}

Status readTensorMap(const GgufFile& file, const ArchInfo& arch, ModelConfig& c) {
  ModelWeights& w = c.weights;
  const uint64_t n_embd = static_cast<uint64_t>(c.n_embd);

  // n_vocab: the rows of the embedding; the token list (when present) must agree.
  const gguf::TensorInfo* embd = file.tensor("token_embd.weight");
  if (embd == nullptr) return Status(Code::kModelMissingTensor, "missing tensor token_embd.weight (token embedding)");
  if (embd->ne[1] == 0 || embd->ne[1] > static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) {
    return Status(Code::kModelBadShape, "token_embd.weight has an invalid vocabulary size");
  }
  c.n_vocab = static_cast<int32_t>(embd->ne[1]);
  if (const Value::Array* tokens = file.getArray("tokenizer.ggml.tokens")) {
    if (tokens->items.size() != static_cast<size_t>(c.n_vocab)) {
      return Status(Code::kModelBadShape, "tokenizer.ggml.tokens has " + std::to_string(tokens->items.size()) +
                                              " tokens but token_embd.weight has " + std::to_string(c.n_vocab) +
                                              " rows");
    }
  }
  const uint64_t n_vocab = static_cast<uint64_t>(c.n_vocab);
  TF_ASSIGN_OR_RETURN(w.token_embd, findWeight(file, "token_embd.weight", n_embd, n_vocab, true, "n_embd, n_vocab"));
  TF_ASSIGN_OR_RETURN(w.output_norm, findWeight(file, "output_norm.weight", n_embd, 0, true, "n_embd"));
  TF_ASSIGN_OR_RETURN(w.output, findWeight(file, "output.weight", n_embd, n_vocab, false, "n_embd, n_vocab"));
  c.tied_output = !w.output.present();
  if (c.tied_output) w.output = w.token_embd;
  TF_ASSIGN_OR_RETURN(w.rope_freqs, findWeight(file, "rope_freqs.weight", static_cast<uint64_t>(c.n_rot / 2), 0,
                                               false, "n_rot / 2"));
  if (w.rope_freqs.present() && w.rope_freqs.type != gguf::TensorType::kF32) {
    return Status(Code::kModelBadShape, "rope_freqs.weight must be F32");
  }

  TF_ASSIGN_OR_RETURN(w.rope_factors_long, findWeight(file, "rope_factors_long.weight", static_cast<uint64_t>(c.n_rot / 2),
                                                      0, false, "n_rot / 2"));
  TF_ASSIGN_OR_RETURN(w.rope_factors_short, findWeight(file, "rope_factors_short.weight",
                                                       static_cast<uint64_t>(c.n_rot / 2), 0, false, "n_rot / 2"));

  w.layers.resize(static_cast<size_t>(c.n_layer));
  for (int32_t l = 0; l < c.n_layer; ++l) {
    LayerWeights& lw = w.layers[static_cast<size_t>(l)];
    const std::string b = "blk." + std::to_string(l) + ".";
    const uint64_t q_dim = static_cast<uint64_t>(c.qDim());
    const uint64_t k_dim = static_cast<uint64_t>(c.kDim(l));
    const uint64_t v_dim = static_cast<uint64_t>(c.vDim(l));
    const uint64_t o_dim = static_cast<uint64_t>(c.n_head) * static_cast<uint64_t>(c.head_dim_v);
    const uint64_t n_ff = static_cast<uint64_t>(c.nFf(l));
    const bool need_bias = arch.qkv_bias_required;
    TF_ASSIGN_OR_RETURN(lw.attn_norm, findWeight(file, b + "attn_norm.weight", n_embd, 0, true, "n_embd"));
    if (arch.fused_qkv_up && file.tensor(b + "attn_qkv.weight") != nullptr) {
      // phi3: one (n_embd, q_dim + k_dim + v_dim) matrix, its rows q, then k, then v
      TF_ASSIGN_OR_RETURN(WeightRef qkv, findWeight(file, b + "attn_qkv.weight", n_embd, q_dim + k_dim + v_dim, true,
                                                    "n_embd, (n_head + 2 n_head_kv) * head_dim"));
      lw.attn_q = rowPart(qkv, 0, q_dim);
      lw.attn_k = rowPart(qkv, q_dim, k_dim);
      lw.attn_v = rowPart(qkv, q_dim + k_dim, v_dim);
    } else {
      TF_ASSIGN_OR_RETURN(lw.attn_q, findWeight(file, b + "attn_q.weight", n_embd, q_dim, true, "n_embd, n_head * head_dim"));
      TF_ASSIGN_OR_RETURN(lw.attn_k, findWeight(file, b + "attn_k.weight", n_embd, k_dim, true, "n_embd, n_head_kv * head_dim"));
      TF_ASSIGN_OR_RETURN(lw.attn_v, findWeight(file, b + "attn_v.weight", n_embd, v_dim, true, "n_embd, n_head_kv * head_dim_v"));
    }
    TF_ASSIGN_OR_RETURN(lw.attn_q_bias, findWeight(file, b + "attn_q.bias", q_dim, 0, need_bias, "n_head * head_dim"));
    TF_ASSIGN_OR_RETURN(lw.attn_k_bias, findWeight(file, b + "attn_k.bias", k_dim, 0, need_bias, "n_head_kv * head_dim"));
    TF_ASSIGN_OR_RETURN(lw.attn_v_bias, findWeight(file, b + "attn_v.bias", v_dim, 0, need_bias, "n_head_kv * head_dim_v"));
    if (arch.qk_norm) {
      const uint64_t head_dim = static_cast<uint64_t>(c.head_dim);
      TF_ASSIGN_OR_RETURN(lw.attn_q_norm, findWeight(file, b + "attn_q_norm.weight", head_dim, 0, true, "head_dim"));
      TF_ASSIGN_OR_RETURN(lw.attn_k_norm, findWeight(file, b + "attn_k_norm.weight", head_dim, 0, true, "head_dim"));
    }
    TF_ASSIGN_OR_RETURN(lw.attn_output, findWeight(file, b + "attn_output.weight", o_dim, n_embd, true, "n_head * head_dim_v, n_embd"));
    TF_ASSIGN_OR_RETURN(lw.ffn_norm, findWeight(file, b + "ffn_norm.weight", n_embd, 0, true, "n_embd"));
    if (arch.fused_qkv_up) {
      // phi3: one (n_embd, 2 n_ff) matrix, the gate's rows then the up rows (llama.cpp's swiglu
      // takes the silu of the first half)
      TF_ASSIGN_OR_RETURN(WeightRef gate_up, findWeight(file, b + "ffn_up.weight", n_embd, 2 * n_ff, true,
                                                        "n_embd, 2 n_ff: gate then up"));
      lw.ffn_gate = rowPart(gate_up, 0, n_ff);
      lw.ffn_up = rowPart(gate_up, n_ff, n_ff);
    } else {
      TF_ASSIGN_OR_RETURN(lw.ffn_gate, findWeight(file, b + "ffn_gate.weight", n_embd, n_ff, true, "n_embd, n_ff"));
      TF_ASSIGN_OR_RETURN(lw.ffn_up, findWeight(file, b + "ffn_up.weight", n_embd, n_ff, true, "n_embd, n_ff"));
    }
    TF_ASSIGN_OR_RETURN(lw.ffn_down, findWeight(file, b + "ffn_down.weight", n_ff, n_embd, true, "n_ff, n_embd"));
    if (arch.gemma) {
      TF_ASSIGN_OR_RETURN(lw.attn_post_norm, findWeight(file, b + "post_attention_norm.weight", n_embd, 0, true, "n_embd"));
      TF_ASSIGN_OR_RETURN(lw.ffn_post_norm, findWeight(file, b + "post_ffw_norm.weight", n_embd, 0, true, "n_embd"));
    }
  }
  return Status::ok();
}

}  // namespace

Result<ModelConfig> ModelConfig::fromGguf(const GgufFile& file) {
  const Value* arch_value = file.find("general.architecture");
  if (arch_value == nullptr || arch_value->asString() == nullptr || arch_value->asString()->empty()) {
    return Status(Code::kModelNotAModel, "not a model: general.architecture is missing");
  }
  ModelConfig c;
  c.arch = *arch_value->asString();
  if (file.tensors().empty()) {
    return Status(Code::kModelNotAModel, "not a model: the file has no tensors (a vocab-only GGUF of architecture '" +
                                             c.arch + "'?)");
  }
  if (!looksLikeModel(file, c.arch)) {
    return Status(Code::kModelNotAModel, "not a model: architecture '" + c.arch +
                                             "' has no token_embd.weight and no " + c.arch + ".block_count");
  }
  const ArchInfo* arch = findArch(c.arch);
  if (arch == nullptr) {
    std::string known;
    for (const ArchInfo& info : supportedArchs()) {
      if (!known.empty()) known += ", ";
      known += info.name;
    }
    return Status(Code::kModelUnsupportedArch, "unsupported architecture '" + c.arch + "' (supported: " + known + ")");
  }
  c.rope_layout = arch->rope_layout;
  if (Result<std::string> name = file.getString("general.name"); name.isOk()) c.name = *name;

  TF_RETURN_IF_ERROR(readHyperParams(file, c).withContext(c.arch));
  TF_RETURN_IF_ERROR(readGemmaParams(file, *arch, c).withContext(c.arch));
  TF_RETURN_IF_ERROR(readTensorMap(file, *arch, c).withContext(c.arch));

  // By rows, so that the parts of a fused tensor add up to it once.
  auto count = [&](const WeightRef& ref) {
    if (!ref.present()) return;
    const gguf::TensorInfo& info = file.tensors()[ref.index];
    const uint64_t tensor_rows = std::max<uint64_t>(info.ne[1], 1);
    c.n_params += info.n_elements / tensor_rows * ref.rows;
    c.weight_bytes += info.n_bytes / tensor_rows * ref.rows;
  };
  const ModelWeights& w = c.weights;
  for (const WeightRef* ref : {&w.token_embd, &w.output_norm, &w.rope_freqs, &w.rope_factors_long, &w.rope_factors_short})
    count(*ref);
  if (!c.tied_output) count(w.output);
  for (const LayerWeights& lw : w.layers) {
    for (const WeightRef* ref : {&lw.attn_norm, &lw.attn_q, &lw.attn_k, &lw.attn_v, &lw.attn_q_bias, &lw.attn_k_bias,
                                 &lw.attn_v_bias, &lw.attn_q_norm, &lw.attn_k_norm, &lw.attn_output, &lw.attn_post_norm,
                                 &lw.ffn_norm, &lw.ffn_gate, &lw.ffn_up, &lw.ffn_down, &lw.ffn_post_norm}) {
      count(*ref);
    }
  }
  return c;
}

double ModelConfig::ropeFreqScale() const {
  return rope_scaling == RopeScaling::kNone ? 1.0 : 1.0 / rope_scaling_factor;
}

std::string ModelConfig::summary() const {
  std::ostringstream s;
  s << arch << ": " << n_layer << " layers, n_embd " << n_embd << ", " << n_head << " heads (" << n_head_kv.front()
    << " kv) x " << head_dim << ", n_ff " << n_ff.front() << ", n_vocab " << n_vocab << ", ctx " << n_ctx_train
    << ", rope " << ropeLayoutName(rope_layout) << " " << n_rot << " dims base " << rope_freq_base;
  if (rope_scaling != RopeScaling::kNone) s << " scaling " << ropeScalingName(rope_scaling) << " x" << rope_scaling_factor;
  if (weights.rope_freqs.present()) s << " with rope_freqs";
  if (weights.rope_factors_long.present() || weights.rope_factors_short.present()) s << " with LongRoPE factors";
  if (!weights.layers.empty() && weights.layers.front().attn_q_norm.present()) s << ", q/k norm per head";
  if (!weights.layers.empty() && weights.layers.front().attn_q.index == weights.layers.front().attn_k.index)
    s << ", fused qkv";
  if (!weights.layers.empty() && weights.layers.front().ffn_gate.index == weights.layers.front().ffn_up.index)
    s << ", fused gate|up";
  if (sliding_window > 0) {
    s << ", sliding window " << sliding_window << " on " << std::count(swa.begin(), swa.end(), true) << " of " << n_layer
      << " layers (rope base " << rope_freq_base_swa << ")";
  }
  if (attn_softcap > 0.0) s << ", attention soft-cap " << attn_softcap;
  if (final_softcap > 0.0) s << ", final soft-cap " << final_softcap;
  if (gemma) s << ", gelu ffn, post-norms, embeddings x" << embd_scale;
  s << ", rms eps " << rms_eps << (tied_output ? ", tied output" : "");
  return s.str();
}

}  // namespace tokenfab::model
