// A model's weights on a Vulkan device and the forward graph over them. Immutable after load:
// the mutable state (KV cache, activations) lives in GpuState, one per session.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <memory>
#include <span>
#include <vector>

#include "tokenfab/engine.h"
#include "tokenfab/gguf.h"
#include "tokenfab/model.h"
#include "tokenfab/ops.h"
#include "tokenfab/ops_matmul.h"
#include "tokenfab/vk.h"

namespace tokenfab::model {

class Line;  // the recording of one forward pass (gpu_model.cpp)

struct GpuLayer {
  vk::Buffer attn_norm, ffn_norm;  // (n_embd) f32
  vk::Buffer bq, bk, bv;           // (q_dim) (k_dim) (v_dim) f32, empty when absent
  vk::Buffer bqkv;                 // [bq | bk | bv] when all three exist (fused rope + store)
  vk::Buffer q_norm, k_norm;       // (head_dim) f32 per-head norms of q and k (qwen3), empty when absent
  vk::Buffer attn_post_norm, ffn_post_norm;  // (n_embd) f32 gemma's norms of each block's output, empty when absent
  ops::QuantMatrix wq, wk, wv, wo, w_gate, w_up, w_down;
};

// The mutable part of a session on the GPU.
struct GpuState {
  int32_t n_ctx = 0;
  int32_t n_batch = 0;                      // largest chunk one forward() records
  std::vector<vk::Buffer> k_cache, v_cache;  // per layer (n_ctx, k_dim / v_dim) f16 or f32
  vk::Buffer ids, pos;                       // (n_batch) u32, host-visible
  vk::Buffer x;                              // (n_batch, n_embd) the residual stream
  vk::Buffer xn;                             // (n_batch, n_embd) normed input of a block
  vk::Buffer q, k, v;                        // (n_batch, q_dim) (n_batch, k_dim) (n_batch, v_dim)
  vk::Buffer attn;                           // (n_batch, q_dim) attention output, heads concatenated
  vk::Buffer proj;                           // (n_batch, n_embd) the last row of x for the output norm; gemma:
                                             // a block's output before its post-norm and residual add
  vk::Buffer gate, up;                       // (n_batch, n_ff) ; gate also holds silu(gate) * up
  vk::Buffer scratch;                        // attention split-K partials
  vk::Buffer logits;                         // (n_logit_rows, n_vocab) host-visible
  int32_t n_logit_rows = 0;
  // Decode on the step-parameter path (when the device and shapes allow it; else empty):
  vk::Buffer step;                              // ops::kDecodeStepBytes, host-visible
  std::unique_ptr<vk::Recorder> decode_graph;   // one decode step, recorded once, replayed per token
};

class GpuModel {
 public:
  // Uploads every weight. `file` must outlive nothing: data is copied to the device.
  static Result<std::unique_ptr<GpuModel>> load(const gguf::GgufFile& file, ModelConfig config,
                                                std::unique_ptr<vk::Device> device, bool kv_f16,
                                                const ProgressFn& progress);

  const ModelConfig& config() const { return m_config; }
  vk::Device& device() { return *m_device; }
  uint64_t weightBytes() const { return m_weight_bytes; }
  // Bytes one decode step reads from weights (every matrix once; the output projection once).
  uint64_t weightBytesPerToken() const { return m_bytes_per_token; }

  // Bytes a session of n_ctx positions with prefill chunks of n_batch needs.
  uint64_t stateBytes(int32_t n_ctx, int32_t n_batch, int32_t n_logit_rows) const;
  Result<GpuState> newState(int32_t n_ctx, int32_t n_batch, int32_t n_logit_rows);

  // Feeds tokens at positions pos0.. (<= state.n_batch of them). Logits of the last token, or of
  // every token when `all_logits` (n_tokens <= state.n_logit_rows), are copied to `out`.
  // Debug taps: when given, the graph is submitted at every named intermediate (the names of
  // ref::ForwardTrace: "inp_embd", "blk.L.q", ..., "result_norm") and `tap` receives the values of
  // the first token of the chunk. Slow (one submission per op); for checking only.
  using Tap = std::function<void(const std::string& name, std::vector<float> values)>;

  // Profiling: when `profile` is given (and the device has timestamps), it receives the GPU time
  // of each group of ops in graph order (its name, e.g. "matmul_qkv", and nanoseconds).
  // A single-token step without taps or profiling is recorded once per state and replayed
  // (TOKENFAB_REPLAY=0 records every step instead, for comparison).
  using OpProfile = std::vector<OpTime>;
  Status forward(GpuState& state, std::span<const int32_t> tokens, int32_t pos0, bool all_logits,
                 std::vector<float>& out, uint32_t* dispatches = nullptr, const Tap* tap = nullptr,
                 OpProfile* profile = nullptr);

 private:
  GpuModel() = default;
  Status upload(const gguf::GgufFile& file, const ProgressFn& progress);
  // Records the graph for n tokens at pos0 (the taps submit part-way, as forward() describes);
  // its stations, in order.
  Status record(vk::Recorder& rec, GpuState& state, uint32_t n, int32_t pos0, bool all_logits, const Tap* tap,
                std::vector<const char*>* marks);
  Status attentionBlock(Line& line, GpuState& s, int layer, uint32_t n, int32_t pos0);
  Status feedForwardBlock(Line& line, GpuState& s, int layer, uint32_t n);
  // gemma: x += rms_norm(out) * post_norm, for a block output `out` (n, n_embd) in s.proj.
  Status postNormResidual(Line& line, GpuState& s, const vk::Buffer& post_norm, uint32_t n);
  Status outputHead(Line& line, GpuState& s, uint32_t n, bool all_logits);
  Status product(vk::Recorder& rec, const ops::QuantMatrix& w, const vk::Buffer& x, const vk::Buffer& y, uint32_t n,
                 bool accumulate = false) const;
  ops::AttentionDecodeShape decodeShape(int32_t n_ctx) const;
  // Whether decode attention can read its parameters from the step buffer for this context.
  bool stepAttention(int32_t n_ctx) const;
  // Scratch bytes attention needs for this context and prompt chunk, on whichever paths run.
  uint64_t attentionScratchBytes(int32_t n_ctx, int32_t n_batch) const;

  ModelConfig m_config;
  std::unique_ptr<vk::Device> m_device;
  bool m_kv_f16 = true;
  ops::QuantMatrix m_token_embd, m_output;
  vk::Buffer m_output_norm;   // (n_embd) f32
  vk::Buffer m_rope_freqs;    // (n_rot / 2) f32, empty when absent
  vk::Buffer m_embd_scale;    // (1) f32 gemma's sqrt(n_embd), empty when the embedding is not scaled
  std::vector<GpuLayer> m_layers;
  std::vector<vk::Buffer> m_weight_buffers;  // owns every matrix's memory
  uint64_t m_weight_bytes = 0;
  uint64_t m_bytes_per_token = 0;
  uint64_t m_norm_fold_max_elements = 0;  // largest decode product an RMS norm is folded into
  bool m_fuse_rope_store = false;          // biases, rope and the KV store in one dispatch
  bool m_replay_decode = false;            // decode steps are recorded once and replayed
};

}  // namespace tokenfab::model
