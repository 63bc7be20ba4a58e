// Model description: the architecture table, the hyper-parameters and the tensor map of a GGUF
// model, read and checked before any weight is touched. The CPU reference (core/ref/forward) and
// the GPU forward graph both build on it, so shapes and rope conventions live in one place.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tokenfab/gguf.h"
#include "tokenfab/rope.h"
#include "tokenfab/status.h"

namespace tokenfab::model {

using tokenfab::RopeLayout;

// `<arch>.rope.scaling.type`. Llama 3.x "llama3" scaling is not a type in GGUF: the converter
// bakes it into the per-frequency divisors of the `rope_freqs.weight` tensor.
enum class RopeScaling : uint8_t { kNone, kLinear, kYarn };
std::string_view ropeScalingName(RopeScaling scaling);

// One row of the architecture table: what differs between supported `general.architecture`s.
struct ArchInfo {
  std::string_view name;     // as in general.architecture
  RopeLayout rope_layout;
  bool qkv_bias_required;    // qwen2 always has q/k/v biases; llama may (loaded when present)
  bool qk_norm;              // qwen3, gemma3: a per-head RMS norm of q and k (attn_q_norm /
                             // attn_k_norm) between the projection and the rope
  bool fused_qkv_up = false; // phi3: q|k|v in one attn_qkv (else separate attn_q/k/v) and
                             // gate|up in one ffn_up of 2 n_ff rows (no ffn_gate)
  bool gemma = false;        // gemma2/3: embeddings scaled by sqrt(n_embd), post_attention_norm and
                             // post_ffw_norm before each residual add, FFN down(gelu_tanh(gate) * up)
  int32_t swa_pattern = 0;   // sliding-window layers when <arch>.attention.sliding_window is set:
                             // block l slides unless l % pattern == pattern - 1 (0: none slide)
  double rope_base_swa = 0;  // rope base of sliding layers without rope.freq_base_swa; 0: rope.freq_base
};
// Every architecture the engine runs.
std::span<const ArchInfo> supportedArchs();
const ArchInfo* findArch(std::string_view name);  // nullptr when unsupported

// Where one weight lives in the GGUF file. Shapes use ggml order: `cols` = ne[0] is the
// contiguous dimension, a matrix (cols, rows) multiplies a vector of `cols` into `rows`.
// A part of a fused tensor (phi3's attn_qkv, ffn_up) is rows [row0, row0 + rows) of it: the
// parts of one tensor share its name and index.
struct WeightRef {
  std::string name;                              // "blk.0.attn_q.weight"; empty when absent
  size_t index = SIZE_MAX;                       // position in GgufFile::tensors()
  gguf::TensorType type = gguf::TensorType::kF32;
  uint64_t cols = 0;                             // ne[0]
  uint64_t rows = 0;                             // ne[1] (1 for a vector), or the part's rows
  uint64_t row0 = 0;                             // first row of a part of a fused tensor

  bool present() const { return index != SIZE_MAX; }
};

struct LayerWeights {
  WeightRef attn_norm;    // (n_embd)
  // phi3 (ArchInfo::fused_qkv_up): attn_q/k/v are the row parts of attn_qkv.weight (q, then k,
  // then v), ffn_gate/ffn_up the halves of ffn_up.weight (gate, then up).
  WeightRef attn_q;       // (n_embd, n_head * head_dim)
  WeightRef attn_k;       // (n_embd, n_head_kv * head_dim)
  WeightRef attn_v;       // (n_embd, n_head_kv * head_dim_v)
  WeightRef attn_q_bias;  // (n_head * head_dim)       optional (required by qwen2)
  WeightRef attn_k_bias;  // (n_head_kv * head_dim)    optional (required by qwen2)
  WeightRef attn_v_bias;  // (n_head_kv * head_dim_v)  optional (required by qwen2)
  WeightRef attn_q_norm;  // (head_dim) shared by every q head; qwen3 only (ArchInfo::qk_norm)
  WeightRef attn_k_norm;  // (head_dim) shared by every k head; qwen3 only
  WeightRef attn_output;  // (n_head * head_dim_v, n_embd)
  WeightRef attn_post_norm;  // (n_embd) gemma's post_attention_norm of the attention output
  WeightRef ffn_norm;     // (n_embd)
  WeightRef ffn_gate;     // (n_embd, n_ff)
  WeightRef ffn_up;       // (n_embd, n_ff)
  WeightRef ffn_down;     // (n_ff, n_embd)
  WeightRef ffn_post_norm;  // (n_embd) gemma's post_ffw_norm of the FFN output
};

struct ModelWeights {
  WeightRef token_embd;   // (n_embd, n_vocab)
  WeightRef output_norm;  // (n_embd)
  WeightRef output;       // (n_embd, n_vocab); the same tensor as token_embd when tied
  WeightRef rope_freqs;   // (n_rot / 2) optional: theta_i is divided by rope_freqs[i] (Llama 3.1)
  // (n_rot / 2) optional, phi3 LongRoPE (Phi-3/3.5 128k): llama.cpp divides by the long factors
  // when the context exceeds rope.scaling.original_context_length, else by the short ones. Read
  // so that the engine can refuse them (not run yet) instead of ignoring them.
  WeightRef rope_factors_long, rope_factors_short;
  std::vector<LayerWeights> layers;
};

struct ModelConfig {
  std::string arch;  // general.architecture
  std::string name;  // general.name, may be empty
  RopeLayout rope_layout = RopeLayout::kAdjacent;

  int32_t n_vocab = 0;       // logits per position (rows of the output projection)
  int32_t n_embd = 0;
  int32_t n_layer = 0;
  int32_t n_head = 0;
  std::vector<int32_t> n_head_kv;  // per layer (GGUF allows a scalar or a per-layer array)
  int32_t head_dim = 0;      // of q and k: attention.key_length, else n_embd / n_head
  int32_t head_dim_v = 0;    // attention.value_length, else head_dim
  std::vector<int32_t> n_ff;       // per layer (scalar or per-layer array)
  int32_t n_ctx_train = 0;   // context_length
  double rms_eps = 0.0;      // attention.layer_norm_rms_epsilon

  int32_t n_rot = 0;                // rope.dimension_count, else head_dim
  double rope_freq_base = 10000.0;  // rope.freq_base
  RopeScaling rope_scaling = RopeScaling::kNone;
  double rope_scaling_factor = 1.0;     // rope.scaling.factor (or legacy rope.scale_linear)
  int32_t rope_original_ctx = 0;        // rope.scaling.original_context_length, 0 if absent
  double rope_attn_factor = 1.0;        // rope.scaling.attn_factor (YaRN)
  bool tied_output = false;             // no output.weight: the output reuses token_embd

  // Gemma (ArchInfo::gemma and below): zero / one / empty for every other architecture.
  bool gemma = false;                   // see ArchInfo::gemma
  double embd_scale = 1.0;              // the embedding row is multiplied by this (sqrt(n_embd))
  int32_t sliding_window = 0;           // attention.sliding_window: 0 = every layer sees every key
  std::vector<bool> swa;                // per layer: a sliding-window layer
  double rope_freq_base_swa = 10000.0;  // rope.freq_base_swa, else ArchInfo::rope_base_swa or rope.freq_base:
                                        // the base of sliding layers
  double attn_softcap = 0.0;            // attn_logit_softcapping: scores = c tanh(scores / c); 0 = off
  double final_softcap = 0.0;           // final_logit_softcapping: logits = c tanh(logits / c); 0 = off

  // Of the tensors in `weights` (token_embd once when tied): what one decoded token reads, for
  // the bandwidth bound tokens/s <= bandwidth / weight_bytes.
  uint64_t n_params = 0;
  uint64_t weight_bytes = 0;

  ModelWeights weights;

  // Reads and checks every hyper-parameter and every tensor shape. Errors:
  // kModelNotAModel (no architecture, no tensors, a data file), kModelUnsupportedArch (named),
  // kModelBadHyperParams (missing / out-of-range metadata), kModelMissingTensor, kModelBadShape.
  static Result<ModelConfig> fromGguf(const gguf::GgufFile& file);

  int32_t nHeadKv(int layer) const { return n_head_kv[static_cast<size_t>(layer)]; }
  int32_t nFf(int layer) const { return n_ff[static_cast<size_t>(layer)]; }
  int32_t qDim() const { return n_head * head_dim; }                          // q rows
  int32_t kDim(int layer) const { return nHeadKv(layer) * head_dim; }         // k rows
  int32_t vDim(int layer) const { return nHeadKv(layer) * head_dim_v; }       // v rows
  // Rope angle divisor scale: positions are multiplied by this (1 / linear factor).
  double ropeFreqScale() const;
  // Keys a query at position p sees in `layer`: p - window < k <= p; 0 = all of 0..p.
  int32_t windowOf(int layer) const { return swa.empty() || !swa[static_cast<size_t>(layer)] ? 0 : sliding_window; }
  // The rope base of `layer` (sliding layers of gemma3 have their own).
  double ropeBaseOf(int layer) const { return windowOf(layer) > 0 ? rope_freq_base_swa : rope_freq_base; }
  // Position scale of `layer`: sliding layers are never scaled (gemma3's linear factor is for its
  // global layers).
  double ropeFreqScaleOf(int layer) const { return windowOf(layer) > 0 ? 1.0 : ropeFreqScale(); }
  // One line for logs and `info`: "llama: 5 layers, n_embd 64, 8 heads (4 kv) x 8, ...".
  std::string summary() const;
};

}  // namespace tokenfab::model
