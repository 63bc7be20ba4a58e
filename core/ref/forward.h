// The whole model on the CPU, llama2.c-plain: weights dequantized once to float32, every
// activation, accumulation and the KV cache in float64. It is the spec the GPU forward pass is
// checked against, so it favours being obviously right over being fast.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tokenfab/gguf.h"
#include "tokenfab/model.h"
#include "tokenfab/status.h"

namespace tokenfab::ref {

// Intermediate activations of one forward call, in computation order, for checking a GPU graph
// op by op. Names: "inp_embd"; per layer "blk.L." + attn_norm, q, k, v (after bias), q_norm and
// k_norm (after the per-head norm; only for architectures that have it), q_rope, k_rope, attn_out (heads concatenated, before attn_output), ffn_inp (residual after attention),
// ffn_norm, ffn_act (silu(gate) * up, gemma: gelu_tanh(gate) * up), out (residual after the FFN);
// then "result_norm". Gemma's inp_embd is after the sqrt(n_embd) scale.
struct ForwardTrace {
  struct Entry {
    std::string name;
    std::vector<double> values;
  };
  std::vector<Entry> entries;

  const Entry* find(const std::string& name) const;
};

// Copies share the immutable weights and copy only the KV cache: a copy is a cheap fork of the
// conversation (sessions, branches).
class RefModel {
 public:
  // Reads the config and dequantizes every weight (the GgufFile is not needed afterwards).
  // kUnsupported for what the reference does not implement (YaRN rope scaling).
  static Result<RefModel> load(const gguf::GgufFile& file);

  const model::ModelConfig& config() const { return m_config; }
  // Positions held in the KV cache; the next forward() must use pos <= nPast().
  int nPast() const { return m_n_past; }

  // Feeds `token` at position `pos` (dropping cached positions >= pos) and returns the logits
  // over the whole vocabulary: (n_vocab). Errors on a token outside the vocabulary, a gap in
  // positions or a position past the training context.
  // `trace`, when given, receives the intermediate activations (cleared first).
  Result<std::vector<double>> forwardF64(int32_t token, int pos, ForwardTrace* trace = nullptr);
  Result<std::vector<float>> forward(int32_t token, int pos);

  // Forgets positions >= pos (0 <= pos <= nPast()).
  Status rewind(int pos);

 private:
  struct Layer {
    std::vector<float> attn_norm;    // (n_embd)
    std::vector<float> wq;           // (n_head * head_dim, n_embd) row-major, one row per output
    std::vector<float> wk;           // (n_head_kv * head_dim, n_embd)
    std::vector<float> wv;           // (n_head_kv * head_dim_v, n_embd)
    std::vector<float> bq, bk, bv;   // (n_head * head_dim), (n_head_kv * head_dim), ...; empty if none
    std::vector<float> q_norm;       // (head_dim) per-head norm of q (qwen3); empty if none
    std::vector<float> k_norm;       // (head_dim) per-head norm of k (qwen3); empty if none
    std::vector<float> wo;           // (n_embd, n_head * head_dim_v)
    std::vector<float> attn_post_norm;  // (n_embd) gemma; empty if none
    std::vector<float> ffn_norm;     // (n_embd)
    std::vector<float> w_gate;       // (n_ff, n_embd)
    std::vector<float> w_up;         // (n_ff, n_embd)
    std::vector<float> w_down;       // (n_embd, n_ff)
    std::vector<float> ffn_post_norm;   // (n_embd) gemma; empty if none
  };

  RefModel() = default;  // only load() makes one: a RefModel always has weights

  struct Weights {
    std::vector<float> token_embd;   // (n_vocab, n_embd)
    std::vector<float> output_norm;  // (n_embd)
    std::vector<float> output;       // (n_vocab, n_embd); empty when tied to token_embd
    std::vector<double> inv_freq;    // (n_rot / 2) rope angle per position for each pair
    std::vector<double> inv_freq_swa;  // (n_rot / 2) the same for sliding-window layers (their own base)
    std::vector<Layer> layers;       // (n_layer)
  };

  model::ModelConfig m_config;
  std::shared_ptr<const Weights> m_weights;

  // KV cache, grown as positions arrive: per layer (n_past, n_head_kv * head_dim[_v]) f64.
  std::vector<std::vector<double>> m_key_cache;
  std::vector<std::vector<double>> m_value_cache;
  int m_n_past = 0;
};

}  // namespace tokenfab::ref
