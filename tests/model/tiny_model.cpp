#include "tiny_model.h"

#include <cstring>
#include <random>

namespace tokenfab::test {

using gguf::Value;

Result<gguf::GgufFile> TinyModel::build() const {
  gguf::GgufWriter writer;
  const std::string p = arch + ".";
  const uint32_t hd = head_dim == 0 ? n_embd / n_head : head_dim;
  std::vector<std::pair<std::string, Value>> kv = {
      {"general.architecture", Value::string(arch)},
      {"general.name", Value::string("tiny-" + arch)},
      {p + "context_length", Value::u32(64)},
      {p + "embedding_length", Value::u32(n_embd)},
      {p + "block_count", Value::u32(n_layer)},
      {p + "feed_forward_length", Value::u32(n_ff)},
      {p + "attention.head_count", Value::u32(n_head)},
      {p + "attention.head_count_kv", Value::u32(n_head_kv)},
      {p + "attention.layer_norm_rms_epsilon", Value::f32(1e-5f)},
  };
  if (head_dim != 0) kv.emplace_back(p + "attention.key_length", Value::u32(head_dim));
  if (with_token_list) {
    std::vector<Value> tokens;
    for (uint32_t i = 0; i < n_vocab; ++i) {
      std::string piece = "t";
      piece += std::to_string(i);
      tokens.push_back(Value::string(std::move(piece)));
    }
    kv.emplace_back("tokenizer.ggml.tokens", Value::array(gguf::ValueType::kString, std::move(tokens)));
  }
  for (const auto& [key, value] : kv) {
    if (!drop_keys.count(key)) writer.set(key, value);
  }
  for (const auto& [key, value] : extra_kv) writer.set(key, value);

  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-0.5f, 0.5f);
  auto add = [&](const std::string& name, std::vector<uint64_t> ne, float base) -> Status {
    if (drop_tensors.count(name)) return Status::ok();
    if (auto it = shape_override.find(name); it != shape_override.end()) ne = it->second;
    uint64_t n = 1;
    for (uint64_t d : ne) n *= d;
    std::vector<float> data(n);
    if (auto it = values.find(name); it != values.end()) {
      data = it->second;
      data.resize(n);
    } else {
      for (float& v : data) v = base + dist(rng);
    }
    std::vector<uint8_t> bytes(n * sizeof(float));
    std::memcpy(bytes.data(), data.data(), bytes.size());
    return writer.addTensor(name, gguf::TensorType::kF32, std::move(ne), std::move(bytes));
  };
  TF_RETURN_IF_ERROR(add("token_embd.weight", {n_embd, n_vocab}, 0.0f));
  TF_RETURN_IF_ERROR(add("output_norm.weight", {n_embd}, 1.0f));
  if (!tied) TF_RETURN_IF_ERROR(add("output.weight", {n_embd, n_vocab}, 0.0f));
  for (uint32_t l = 0; l < n_layer; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    TF_RETURN_IF_ERROR(add(b + "attn_norm.weight", {n_embd}, 1.0f));
    if (fused) {
      TF_RETURN_IF_ERROR(add(b + "attn_qkv.weight", {n_embd, (n_head + 2 * n_head_kv) * hd}, 0.0f));
    } else {
      TF_RETURN_IF_ERROR(add(b + "attn_q.weight", {n_embd, n_head * hd}, 0.0f));
      TF_RETURN_IF_ERROR(add(b + "attn_k.weight", {n_embd, n_head_kv * hd}, 0.0f));
      TF_RETURN_IF_ERROR(add(b + "attn_v.weight", {n_embd, n_head_kv * hd}, 0.0f));
    }
    if (qkv_bias) {
      TF_RETURN_IF_ERROR(add(b + "attn_q.bias", {n_head * hd}, 0.0f));
      TF_RETURN_IF_ERROR(add(b + "attn_k.bias", {n_head_kv * hd}, 0.0f));
      TF_RETURN_IF_ERROR(add(b + "attn_v.bias", {n_head_kv * hd}, 0.0f));
    }
    if (qk_norm) {
      TF_RETURN_IF_ERROR(add(b + "attn_q_norm.weight", {hd}, 1.0f));
      TF_RETURN_IF_ERROR(add(b + "attn_k_norm.weight", {hd}, 1.0f));
    }
    TF_RETURN_IF_ERROR(add(b + "attn_output.weight", {n_head * hd, n_embd}, 0.0f));
    TF_RETURN_IF_ERROR(add(b + "ffn_norm.weight", {n_embd}, 1.0f));
    if (fused) {
      TF_RETURN_IF_ERROR(add(b + "ffn_up.weight", {n_embd, 2 * n_ff}, 0.0f));
    } else {
      TF_RETURN_IF_ERROR(add(b + "ffn_gate.weight", {n_embd, n_ff}, 0.0f));
      TF_RETURN_IF_ERROR(add(b + "ffn_up.weight", {n_embd, n_ff}, 0.0f));
    }
    TF_RETURN_IF_ERROR(add(b + "ffn_down.weight", {n_ff, n_embd}, 0.0f));
    if (post_norms) {
      TF_RETURN_IF_ERROR(add(b + "post_attention_norm.weight", {n_embd}, 1.0f));
      TF_RETURN_IF_ERROR(add(b + "post_ffw_norm.weight", {n_embd}, 1.0f));
    }
  }
  for (const auto& [name, data] : values) {
    // Extra tensors (e.g. rope_freqs.weight) not part of the standard set.
    if (name == "rope_freqs.weight") {
      std::vector<uint64_t> ne = {data.size()};
      if (auto it = shape_override.find(name); it != shape_override.end()) ne = it->second;
      TF_RETURN_IF_ERROR(add(name, ne, 0.0f));
    }
  }
  TF_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, writer.toBytes());
  return gguf::GgufFile::parse(bytes);
}

}  // namespace tokenfab::test
