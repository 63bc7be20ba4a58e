// RefModel: the float64 CPU forward pass of llama-family models (llama, qwen2, qwen3, phi3) and
// gemma2/3.
#include "ref/forward.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <thread>

#include "ref/dequant.h"

namespace tokenfab::ref {
namespace {

using model::ModelConfig;
using model::WeightRef;

// All of a weight as float32, exactly as ggml's to_float would produce it: the whole tensor, or
// the rows of a part of a fused one (phi3's attn_qkv, ffn_up). Empty for an absent optional weight.
Result<std::vector<float>> loadWeight(const gguf::GgufFile& file, const WeightRef& ref) {
  if (!ref.present()) return std::vector<float>{};
  const gguf::TensorInfo& info = file.tensors()[ref.index];
  std::span<const uint8_t> bytes = file.tensorData(info);
  std::vector<float> out(info.n_elements);
  const uint64_t tensor_rows = std::max<uint64_t>(info.ne[1], 1);
  if (ref.row0 != 0 || ref.rows != tensor_rows) {  // rows are whole blocks: a byte range of the tensor
    const uint64_t row_bytes = info.n_bytes / tensor_rows;
    if (ref.row0 + ref.rows > tensor_rows || bytes.size() < info.n_bytes) {
      return Status(Code::kCorruptData, "tensor " + ref.name + ": rows out of range");
    }
    bytes = bytes.subspan(ref.row0 * row_bytes, ref.rows * row_bytes);
    out.resize(ref.rows * ref.cols);
  }
  if (info.type == gguf::TensorType::kF32) {
    if (bytes.size() < out.size() * sizeof(float)) {
      return Status(Code::kCorruptData, "tensor " + ref.name + " holds fewer bytes than its shape needs");
    }
    std::memcpy(out.data(), bytes.data(), out.size() * sizeof(float));
    return out;
  }
  if (!canDequantize(info.type)) {
    return Status(Code::kUnsupported, "tensor " + ref.name + ": the CPU reference cannot dequantize type " +
                                          std::string(gguf::typeName(info.type)));
  }
  TF_RETURN_IF_ERROR(dequantize(info.type, bytes, out).withContext("dequantizing " + ref.name));
  return out;
}

// Rows [begin, end) of out (rows) = w (rows, cols) . x (cols), float64 accumulation. Four partial
// sums keep the dependency chain short; the order within a row is fixed.
void matVecRows(double* out, const float* w, const double* x, size_t cols, size_t begin, size_t end) {
  for (size_t r = begin; r < end; ++r) {
    const float* row = w + r * cols;
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    size_t c = 0;
    for (; c + 4 <= cols; c += 4) {
      s0 += static_cast<double>(row[c]) * x[c];
      s1 += static_cast<double>(row[c + 1]) * x[c + 1];
      s2 += static_cast<double>(row[c + 2]) * x[c + 2];
      s3 += static_cast<double>(row[c + 3]) * x[c + 3];
    }
    for (; c < cols; ++c) s0 += static_cast<double>(row[c]) * x[c];
    out[r] = (s0 + s1) + (s2 + s3);
  }
}

// Big matrices (the output projection, real models' FFN) are split by rows over threads, as
// llama2.c does with OpenMP. Each row is computed by one thread in the same order, so the result
// does not depend on the thread count.
constexpr size_t kParallelMacs = size_t{1} << 21;
constexpr unsigned kMaxThreads = 16;

void matVec(std::vector<double>& out, const std::vector<float>& w, const std::vector<double>& x) {
  const size_t rows = out.size(), cols = x.size();
  const unsigned hw = std::min(std::max(std::thread::hardware_concurrency(), 1u), kMaxThreads);
  const size_t n_threads = rows * cols < kParallelMacs ? 1 : std::min<size_t>(hw, rows);
  if (n_threads <= 1) {
    matVecRows(out.data(), w.data(), x.data(), cols, 0, rows);
    return;
  }
  std::vector<std::thread> threads;
  threads.reserve(n_threads - 1);
  const size_t chunk = (rows + n_threads - 1) / n_threads;
  for (size_t t = 1; t < n_threads; ++t) {
    const size_t begin = std::min(rows, t * chunk), end = std::min(rows, begin + chunk);
    threads.emplace_back(matVecRows, out.data(), w.data(), x.data(), cols, begin, end);
  }
  matVecRows(out.data(), w.data(), x.data(), cols, 0, std::min(rows, chunk));
  for (std::thread& th : threads) th.join();
}

void addBias(std::vector<double>& x, const std::vector<float>& bias) {
  for (size_t i = 0; i < bias.size(); ++i) x[i] += bias[i];
}

// out = x / sqrt(mean(x^2) + eps) * weight
void rmsNorm(std::vector<double>& out, const std::vector<double>& x, const std::vector<float>& weight, double eps) {
  double sum_sq = 0.0;
  for (double v : x) sum_sq += v * v;
  const double scale = 1.0 / std::sqrt(sum_sq / static_cast<double>(x.size()) + eps);
  for (size_t i = 0; i < x.size(); ++i) out[i] = x[i] * scale * static_cast<double>(weight[i]);
}

// RMS-normalises each of n_heads heads of `head_dim` in place with the shared weight (head_dim):
// qwen3's q/k norm.
void rmsNormHeads(std::vector<double>& x, int n_heads, int head_dim, const std::vector<float>& weight, double eps) {
  std::vector<double> head(static_cast<size_t>(head_dim));    // (head_dim) one head
  std::vector<double> normed(static_cast<size_t>(head_dim));  // (head_dim)
  for (int h = 0; h < n_heads; ++h) {
    const auto first = x.begin() + static_cast<ptrdiff_t>(h) * head_dim;
    std::copy(first, first + head_dim, head.begin());
    rmsNorm(normed, head, weight, eps);
    std::copy(normed.begin(), normed.end(), first);
  }
}

// Rotates the first n_rot elements of each of n_heads heads of `head_dim` by pos * inv_freq[i].
void rope(std::vector<double>& x, int n_heads, int head_dim, int n_rot, model::RopeLayout layout,
          const std::vector<double>& inv_freq, int pos) {
  const int half = n_rot / 2;
  for (int h = 0; h < n_heads; ++h) {
    double* head = x.data() + static_cast<size_t>(h) * static_cast<size_t>(head_dim);
    for (int i = 0; i < half; ++i) {
      const double theta = static_cast<double>(pos) * inv_freq[static_cast<size_t>(i)];
      const double cos_t = std::cos(theta), sin_t = std::sin(theta);
      // adjacent: (x[2i], x[2i+1]); neox: (x[i], x[i + n_rot/2])
      const int a = layout == model::RopeLayout::kAdjacent ? 2 * i : i;
      const int b = layout == model::RopeLayout::kAdjacent ? 2 * i + 1 : i + half;
      const double x0 = head[a], x1 = head[b];
      head[a] = x0 * cos_t - x1 * sin_t;
      head[b] = x0 * sin_t + x1 * cos_t;
    }
  }
}

// GELU with the tanh approximation (gemma's FFN): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
double geluTanh(double x) {
  const double kSqrt2OverPi = 0.79788456080286535588;
  return 0.5 * x * (1.0 + std::tanh(kSqrt2OverPi * (x + 0.044715 * x * x * x)));
}

// x = cap * tanh(x / cap): gemma2's soft-capping of attention scores and final logits.
double softCap(double x, double cap) { return cap * std::tanh(x / cap); }

}  // namespace

Result<RefModel> RefModel::load(const gguf::GgufFile& file) {
  RefModel m;
  TF_ASSIGN_OR_RETURN(m.m_config, ModelConfig::fromGguf(file));
  const ModelConfig& c = m.m_config;
  if (c.rope_scaling == model::RopeScaling::kYarn) {
    return Status(Code::kUnsupported, "the CPU reference does not implement YaRN rope scaling");
  }
  const model::ModelWeights& w = c.weights;
  if (w.rope_factors_long.present() || w.rope_factors_short.present()) {
    return Status(Code::kUnsupported, "the CPU reference does not implement phi3 LongRoPE (rope_factors_long/short)");
  }
  auto weights = std::make_shared<Weights>();
  TF_ASSIGN_OR_RETURN(weights->token_embd, loadWeight(file, w.token_embd));
  TF_ASSIGN_OR_RETURN(weights->output_norm, loadWeight(file, w.output_norm));
  if (!c.tied_output) {
    TF_ASSIGN_OR_RETURN(weights->output, loadWeight(file, w.output));
  }
  TF_ASSIGN_OR_RETURN(std::vector<float> rope_freqs, loadWeight(file, w.rope_freqs));

  // theta_i = pos * freq_scale * base^(-2i / n_rot) / rope_freqs[i]; sliding-window layers use
  // their own base (ModelConfig::ropeBaseOf, ropeFreqScaleOf).
  weights->inv_freq.resize(static_cast<size_t>(c.n_rot / 2));
  weights->inv_freq_swa.resize(weights->inv_freq.size());
  for (size_t i = 0; i < weights->inv_freq.size(); ++i) {
    const double exponent = -2.0 * static_cast<double>(i) / c.n_rot;
    double f = c.ropeFreqScale() * std::pow(c.rope_freq_base, exponent);
    double f_swa = std::pow(c.rope_freq_base_swa, exponent);  // sliding layers: never position-scaled
    if (!rope_freqs.empty()) {
      if (!(rope_freqs[i] > 0.0f) || !std::isfinite(rope_freqs[i])) {
        return Status(Code::kModelBadHyperParams, "rope_freqs.weight[" + std::to_string(i) + "] is not positive");
      }
      f /= static_cast<double>(rope_freqs[i]);
      f_swa /= static_cast<double>(rope_freqs[i]);
    }
    weights->inv_freq[i] = f;
    weights->inv_freq_swa[i] = f_swa;
  }

  weights->layers.resize(static_cast<size_t>(c.n_layer));
  for (size_t l = 0; l < weights->layers.size(); ++l) {
    const model::LayerWeights& lw = w.layers[l];
    Layer& layer = weights->layers[l];
    TF_ASSIGN_OR_RETURN(layer.attn_norm, loadWeight(file, lw.attn_norm));
    TF_ASSIGN_OR_RETURN(layer.wq, loadWeight(file, lw.attn_q));
    TF_ASSIGN_OR_RETURN(layer.wk, loadWeight(file, lw.attn_k));
    TF_ASSIGN_OR_RETURN(layer.wv, loadWeight(file, lw.attn_v));
    TF_ASSIGN_OR_RETURN(layer.bq, loadWeight(file, lw.attn_q_bias));
    TF_ASSIGN_OR_RETURN(layer.bk, loadWeight(file, lw.attn_k_bias));
    TF_ASSIGN_OR_RETURN(layer.bv, loadWeight(file, lw.attn_v_bias));
    TF_ASSIGN_OR_RETURN(layer.q_norm, loadWeight(file, lw.attn_q_norm));
    TF_ASSIGN_OR_RETURN(layer.k_norm, loadWeight(file, lw.attn_k_norm));
    TF_ASSIGN_OR_RETURN(layer.wo, loadWeight(file, lw.attn_output));
    TF_ASSIGN_OR_RETURN(layer.attn_post_norm, loadWeight(file, lw.attn_post_norm));
    TF_ASSIGN_OR_RETURN(layer.ffn_post_norm, loadWeight(file, lw.ffn_post_norm));
    TF_ASSIGN_OR_RETURN(layer.ffn_norm, loadWeight(file, lw.ffn_norm));
    TF_ASSIGN_OR_RETURN(layer.w_gate, loadWeight(file, lw.ffn_gate));
    TF_ASSIGN_OR_RETURN(layer.w_up, loadWeight(file, lw.ffn_up));
    TF_ASSIGN_OR_RETURN(layer.w_down, loadWeight(file, lw.ffn_down));
  }
  m.m_key_cache.resize(weights->layers.size());
  m.m_value_cache.resize(weights->layers.size());
  m.m_weights = std::move(weights);
  return m;
}

Status RefModel::rewind(int pos) {
  if (pos < 0 || pos > m_n_past) {
    return Status(Code::kOutOfRange,
                  "cannot rewind to position " + std::to_string(pos) + " (cache holds " + std::to_string(m_n_past) + ")");
  }
  m_n_past = pos;
  return Status::ok();
}

Result<std::vector<float>> RefModel::forward(int32_t token, int pos) {
  TF_ASSIGN_OR_RETURN(std::vector<double> logits, forwardF64(token, pos));
  return std::vector<float>(logits.begin(), logits.end());
}

const ForwardTrace::Entry* ForwardTrace::find(const std::string& name) const {
  for (const Entry& e : entries) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

Result<std::vector<double>> RefModel::forwardF64(int32_t token, int pos, ForwardTrace* trace) {
  const ModelConfig& c = m_config;
  if (trace != nullptr) trace->entries.clear();
  auto record = [trace](const std::string& name, const std::vector<double>& values) {
    if (trace != nullptr) trace->entries.push_back({name, values});
  };
  if (token < 0 || token >= c.n_vocab) {
    return Status(Code::kOutOfRange,
                  "token " + std::to_string(token) + " is outside the vocabulary [0, " + std::to_string(c.n_vocab) + ")");
  }
  if (pos >= c.n_ctx_train) {
    return Status(Code::kModelContextTooLarge, "position " + std::to_string(pos) + " is past the context length " +
                                                   std::to_string(c.n_ctx_train));
  }
  TF_RETURN_IF_ERROR(rewind(pos));  // also rejects pos < 0 and gaps

  const size_t n_embd = static_cast<size_t>(c.n_embd);
  const size_t head_dim = static_cast<size_t>(c.head_dim);
  const size_t head_dim_v = static_cast<size_t>(c.head_dim_v);
  const size_t n_pos = static_cast<size_t>(pos) + 1;
  const double att_scale = 1.0 / std::sqrt(static_cast<double>(c.head_dim));

  std::vector<double> x(n_embd);     // (n_embd) the residual stream
  std::vector<double> xb(n_embd);    // (n_embd) normalised input of a sub-block
  std::vector<double> proj(n_embd);  // (n_embd) output of attention / FFN before the residual add
  const Weights& weights = *m_weights;
  const float* embd_row = weights.token_embd.data() + static_cast<size_t>(token) * n_embd;
  for (size_t i = 0; i < n_embd; ++i) x[i] = embd_row[i] * c.embd_scale;  // gemma: x sqrt(n_embd)
  record("inp_embd", x);

  for (int l = 0; l < c.n_layer; ++l) {
    const Layer& w = weights.layers[static_cast<size_t>(l)];
    const int n_head_kv = c.nHeadKv(l);
    const size_t k_dim = static_cast<size_t>(c.kDim(l));
    const size_t v_dim = static_cast<size_t>(c.vDim(l));
    const size_t group = static_cast<size_t>(c.n_head / n_head_kv);  // query heads per kv head
    const std::string b = trace != nullptr ? "blk." + std::to_string(l) + "." : std::string();

    // attention
    rmsNorm(xb, x, w.attn_norm, c.rms_eps);
    std::vector<double> q(static_cast<size_t>(c.qDim()));  // (n_head * head_dim)
    std::vector<double> k(k_dim);                          // (n_head_kv * head_dim)
    std::vector<double> v(v_dim);                          // (n_head_kv * head_dim_v)
    matVec(q, w.wq, xb);
    matVec(k, w.wk, xb);
    matVec(v, w.wv, xb);
    addBias(q, w.bq);
    addBias(k, w.bk);
    addBias(v, w.bv);
    if (trace != nullptr) {
      record(b + "attn_norm", xb);
      record(b + "q", q);
      record(b + "k", k);
      record(b + "v", v);
    }
    if (!w.q_norm.empty()) {  // qwen3: every head of q and of k normalised before the rope
      rmsNormHeads(q, c.n_head, c.head_dim, w.q_norm, c.rms_eps);
      rmsNormHeads(k, n_head_kv, c.head_dim, w.k_norm, c.rms_eps);
      record(b + "q_norm", q);
      record(b + "k_norm", k);
    }
    const size_t window = static_cast<size_t>(c.windowOf(l));  // 0: every key; else keys pos - window < t <= pos
    const std::vector<double>& inv_freq = window > 0 ? weights.inv_freq_swa : weights.inv_freq;
    rope(q, c.n_head, c.head_dim, c.n_rot, c.rope_layout, inv_freq, pos);
    rope(k, n_head_kv, c.head_dim, c.n_rot, c.rope_layout, inv_freq, pos);
    if (trace != nullptr) {
      record(b + "q_rope", q);
      record(b + "k_rope", k);
    }

    std::vector<double>& key_cache = m_key_cache[static_cast<size_t>(l)];      // (n_pos, k_dim)
    std::vector<double>& value_cache = m_value_cache[static_cast<size_t>(l)];  // (n_pos, v_dim)
    key_cache.resize(n_pos * k_dim);
    value_cache.resize(n_pos * v_dim);
    std::copy(k.begin(), k.end(), key_cache.begin() + static_cast<ptrdiff_t>(pos * k_dim));
    std::copy(v.begin(), v.end(), value_cache.begin() + static_cast<ptrdiff_t>(pos * v_dim));

    std::vector<double> att_out(static_cast<size_t>(c.n_head) * head_dim_v);  // (n_head * head_dim_v)
    std::vector<double> scores(n_pos);                                         // (n_pos) one head
    const size_t first = window > 0 && n_pos > window ? n_pos - window : 0;   // the oldest key seen
    for (size_t h = 0; h < static_cast<size_t>(c.n_head); ++h) {
      const size_t kv_h = h / group;
      const double* q_h = q.data() + h * head_dim;
      double max_score = -INFINITY;
      for (size_t t = first; t < n_pos; ++t) {
        const double* k_t = key_cache.data() + t * k_dim + kv_h * head_dim;
        double dot = 0.0;
        for (size_t i = 0; i < head_dim; ++i) dot += q_h[i] * k_t[i];
        scores[t] = dot * att_scale;
        if (c.attn_softcap > 0.0) scores[t] = softCap(scores[t], c.attn_softcap);
        max_score = std::max(max_score, scores[t]);
      }
      double sum = 0.0;
      for (size_t t = first; t < n_pos; ++t) {
        scores[t] = std::exp(scores[t] - max_score);
        sum += scores[t];
      }
      double* out_h = att_out.data() + h * head_dim_v;
      for (size_t t = first; t < n_pos; ++t) {
        const double p = scores[t] / sum;
        const double* v_t = value_cache.data() + t * v_dim + kv_h * head_dim_v;
        for (size_t i = 0; i < head_dim_v; ++i) out_h[i] += p * v_t[i];
      }
    }
    matVec(proj, w.wo, att_out);
    if (!w.attn_post_norm.empty()) rmsNorm(proj, std::vector<double>(proj), w.attn_post_norm, c.rms_eps);
    for (size_t i = 0; i < n_embd; ++i) x[i] += proj[i];
    if (trace != nullptr) {
      record(b + "attn_out", att_out);
      record(b + "ffn_inp", x);
    }

    // feed-forward: down(silu(gate(x)) * up(x)); gemma: down(gelu_tanh(gate(x)) * up(x)), then
    // post_ffw_norm
    rmsNorm(xb, x, w.ffn_norm, c.rms_eps);
    std::vector<double> gate(static_cast<size_t>(c.nFf(l)));  // (n_ff)
    std::vector<double> up(gate.size());                      // (n_ff)
    matVec(gate, w.w_gate, xb);
    matVec(up, w.w_up, xb);
    for (size_t i = 0; i < gate.size(); ++i)
      gate[i] = (c.gemma ? geluTanh(gate[i]) : gate[i] / (1.0 + std::exp(-gate[i]))) * up[i];
    matVec(proj, w.w_down, gate);
    if (!w.ffn_post_norm.empty()) rmsNorm(proj, std::vector<double>(proj), w.ffn_post_norm, c.rms_eps);
    for (size_t i = 0; i < n_embd; ++i) x[i] += proj[i];
    if (trace != nullptr) {
      record(b + "ffn_norm", xb);
      record(b + "ffn_act", gate);
      record(b + "out", x);
    }
  }

  rmsNorm(xb, x, weights.output_norm, c.rms_eps);
  record("result_norm", xb);
  std::vector<double> logits(static_cast<size_t>(c.n_vocab));  // (n_vocab)
  matVec(logits, c.tied_output ? weights.token_embd : weights.output, xb);
  if (c.final_softcap > 0.0)
    for (double& v : logits) v = softCap(v, c.final_softcap);
  m_n_past = pos + 1;
  return logits;
}

}  // namespace tokenfab::ref
