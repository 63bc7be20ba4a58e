// Builds small llama/qwen2/qwen3/phi3/gemma-shaped GGUF models in memory with GgufWriter, with knobs to break
// them (drop a key or tensor, change a shape) for ModelConfig and RefModel tests.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tokenfab/gguf.h"
#include "tokenfab/status.h"

namespace tokenfab::test {

struct TinyModel {
  std::string arch = "llama";
  uint32_t n_vocab = 10;
  uint32_t n_embd = 8;
  uint32_t n_layer = 2;
  uint32_t n_head = 2;
  uint32_t n_head_kv = 1;
  uint32_t head_dim = 0;  // 0: n_embd / n_head and no key_length key
  uint32_t n_ff = 16;
  bool qkv_bias = false;
  bool qk_norm = false;  // attn_q_norm / attn_k_norm (head_dim) in every block, as qwen3 has
  bool fused = false;    // phi3's tensors: attn_qkv (q|k|v rows) and ffn_up (gate|up rows), no ffn_gate
  bool post_norms = false;  // post_attention_norm / post_ffw_norm (n_embd) in every block (gemma)
  bool tied = false;
  bool with_token_list = true;
  uint32_t seed = 1;

  std::vector<std::pair<std::string, gguf::Value>> extra_kv;  // set after the defaults (replace)
  std::set<std::string> drop_keys;                             // metadata keys left out
  std::set<std::string> drop_tensors;                          // tensors left out
  std::map<std::string, std::vector<uint64_t>> shape_override; // tensor name -> ne
  std::map<std::string, std::vector<float>> values;            // tensor name -> exact values

  Result<gguf::GgufFile> build() const;
};

}  // namespace tokenfab::test
