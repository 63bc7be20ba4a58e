// Shared by C++ and GLSL: push-constant structs, binding slots, specialization-constant ids.
// Written once; the host includes it through tokenfab/shader_abi.h, shaders through #include.
// Keep every member 4 bytes (uint/int/float) so std430/push-constant layout equals C++ layout.
#ifndef TOKENFAB_SHADER_ABI_H
#define TOKENFAB_SHADER_ABI_H

#ifdef __cplusplus
#include <cstdint>
namespace tokenfab::abi {
using uint = uint32_t;
#define TF_STRUCT(name) struct name
#else
#define TF_STRUCT(name) struct name
#endif

// fill_f32.comp: dst[offset + i] = value for i < n.
TF_STRUCT(FillParams) {
  uint n;
  uint offset;
  float value;
};

// Elementwise ops over a flat range of n elements. The grid is 2-D (x: groups_x workgroups,
// y: rows of them) so n may exceed 65535 workgroups; i = x + y * groups_x * workgroup size.
// add.comp / mul.comp: dst[i] = a[i] op b[(base + i) % n_b]  (b broadcast along rows; base is
// the element index of a split piece's first element in the whole tensor).
TF_STRUCT(BinaryParams) {
  uint n;
  uint n_b;
  uint base;
  uint groups_x;
};

// silu_mul.comp: dst[i] = silu(gate[i]) * up[i] = gate / (1 + exp(-gate)) * up.
TF_STRUCT(SiluMulParams) {
  uint n;
  uint groups_x;
};

// gelu_mul.comp: dst[i] = gelu_tanh(gate[i]) * up[i] (gemma's gated FFN),
// gelu_tanh(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
TF_STRUCT(GeluMulParams) {
  uint n;
  uint groups_x;
};

// softcap.comp: dst[i] = cap * tanh(x[i] / cap) (gemma2's final-logit soft-capping).
TF_STRUCT(SoftcapParams) {
  uint n;
  uint groups_x;
  float cap;
};

// rms_norm.comp: one workgroup per row of n_cols:
// dst[r][c] = x[r][c] / sqrt(mean_c(x[r][c]^2) + eps) * weight[c].
TF_STRUCT(RmsNormParams) {
  uint n_cols;
  uint n_rows;
  float eps;
};

// rope.comp (rope_adjacent: adjacent pairs (2i, 2i+1), llama; rope_neox: pairs (i, i + n_rot/2),
// qwen2). In place on x (n_tokens, n_heads, head_dim); dims >= n_rot are left unchanged.
// theta_i = pos[t] * freq_scale * freq_base^(-2i/n_rot) / (has_freq_factors ? ff[i] : 1).
TF_STRUCT(RopeParams) {
  uint n_tokens;
  uint n_heads;
  uint head_dim;
  uint n_rot;
  float freq_base;
  float freq_scale;
  uint has_freq_factors;
};

// kv_store.comp: cache[(pos0 + t) * row + j] = src[t * row + j] for t < n_tokens, j < row,
// where row = n_kv_heads * head_dim. Cache layout (n_ctx, n_kv_heads, head_dim) in f32 or f16
// (f16 packed two per uint: row must be even).
TF_STRUCT(KvStoreParams) {
  uint n_tokens;
  uint row;
  uint pos0;
};

// rope_store.comp (rope_store_{adjacent,neox}_{f32,f16}): bias + rope + kv_store in one dispatch.
// Grid (unit of a row, head slot s, token t): slots [0, n_heads) are q heads, then n_kv_heads k
// heads, then n_kv_heads v heads. q, k, v (has_bias: += [bq | bk | bv]) are written back in
// place, q and k rotated as rope.comp; the final k and v rows go to cache row pos[t] (the
// position buffer, so a recorded decode step can be replayed at any position; rows past the
// bound cache are not written). head_dim and head_dim_v are even; NEOX: n_rot is a multiple of 4.
TF_STRUCT(RopeStoreParams) {
  uint n_tokens;
  uint n_heads;
  uint n_kv_heads;
  uint head_dim;
  uint head_dim_v;
  uint n_rot;
  float freq_base;
  float freq_scale;
  uint has_freq_factors;
  uint has_bias;
};

// attention_split.comp: workgroup (chunk c, head h, query t). Query t sits at position
// pos0 + t and attends causally to keys 0..pos0+t of the cache, head h reading kv head
// h / (n_heads / n_kv_heads). Chunk c covers keys [c * chunk, (c + 1) * chunk). Writes
// partial[((t * n_heads + h) * n_chunks + c) * (head_dim + 2) + ...] = (o[0..head_dim), m, l):
// unnormalised output, the chunk's max score and sum of exp(score - m).
// window > 0: sliding-window attention, query position p sees only keys k with p - k < window
// (keys before the window are not read). softcap > 0: each scaled score s becomes
// softcap * tanh(s / softcap) before the softmax (gemma2). attention_flash.comp reads the same.
TF_STRUCT(AttentionParams) {
  uint n_q;
  uint n_heads;
  uint n_kv_heads;
  uint head_dim;
  uint pos0;
  uint n_chunks;
  float scale;
  uint window;
  float softcap;
};

// attention_combine.comp: one workgroup per (head h, query t) merges the chunks:
// out[(t * n_heads + h) * head_dim + d] = sum_c o_c[d] e^(m_c - M) / sum_c l_c e^(m_c - M).
TF_STRUCT(AttentionCombineParams) {
  uint n_q;
  uint n_heads;
  uint head_dim;
  uint n_chunks;
};

// The parameters of one decode step that change from token to token, written by the host into
// a small host-visible buffer before each submission, so the step's command buffer can be
// recorded once and replayed. The first words are indirect dispatch arguments.
TF_STRUCT(DecodeStep) {
  uint attn_groups_x;     // attention_decode: (n_chunks, n_kv_heads, 1)
  uint attn_groups_y;
  uint attn_groups_z;
  uint combine_groups_x;  // attention_combine (decode): (n_heads, 1, 1), or 0 with one chunk
  uint combine_groups_y;
  uint combine_groups_z;
  uint n_keys;    // keys the query attends to: its position + 1
  uint chunk;     // keys per workgroup
  uint n_chunks;  // ceil(n_keys / chunk)
};

// attention_decode.comp: one query per head at position n_keys - 1 (DecodeStep), workgroup
// (chunk c, kv head g) serving the query heads g * G .. g * G + G - 1, G = n_heads / n_kv_heads.
// q (n_heads, head_dim) f32; caches as attention_split.comp. With one chunk it writes the
// normalised output (binding 4), else partials (binding 3) in attention_split.comp's layout
// (n_q = 1) for attention_combine.comp (DECODE_STEP: n_chunks from the step buffer).
// window and softcap as in AttentionParams; the window start is computed on the GPU from the
// step's n_keys (the query sits at n_keys - 1), so a replayed step slides with the position.
TF_STRUCT(AttentionDecodeParams) {
  uint n_heads;
  uint n_kv_heads;
  uint head_dim;
  float scale;
  uint window;
  float softcap;
};

// stream_read.comp: reads n_words 16-byte words (the bandwidth probe).
TF_STRUCT(StreamParams) {
  uint n_words;
};

// softmax.comp / argmax.comp / top_k.comp: one workgroup per row of n_cols.
// Order for argmax/top_k: larger value first, equal values by lower index, NaN below -Inf.
// softmax: a row holding NaN or +Inf, or whose max is -Inf, becomes all NaN.
TF_STRUCT(RowParams) {
  uint n_cols;
  uint n_rows;
  uint k;  // top_k only: outputs per row (idx (n_rows, k) uint, val (n_rows, k) f32)
};

// Specialization constant ids shared by these shaders.
#define TF_SPEC_WORKGROUP 0
#define TF_SPEC_CHUNK 1

#ifdef __cplusplus
}  // namespace tokenfab::abi
#endif
#endif  // TOKENFAB_SHADER_ABI_H
