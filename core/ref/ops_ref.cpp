#include "ref/ops_ref.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace tokenfab::ref {

std::vector<double> add(std::span<const float> a, std::span<const float> b) {
  std::vector<double> out(a.size());
  for (size_t i = 0; i < a.size(); ++i) out[i] = double(a[i]) + double(b[i % b.size()]);
  return out;
}

std::vector<double> mul(std::span<const float> a, std::span<const float> b) {
  std::vector<double> out(a.size());
  for (size_t i = 0; i < a.size(); ++i) out[i] = double(a[i]) * double(b[i % b.size()]);
  return out;
}

std::vector<double> siluMul(std::span<const float> gate, std::span<const float> up) {
  std::vector<double> out(gate.size());
  for (size_t i = 0; i < gate.size(); ++i) {
    const double g = gate[i];
    out[i] = g / (1.0 + std::exp(-g)) * double(up[i]);
  }
  return out;
}

std::vector<double> geluMul(std::span<const float> gate, std::span<const float> up) {
  std::vector<double> out(gate.size());
  for (size_t i = 0; i < gate.size(); ++i) {
    const double g = gate[i];
    out[i] = 0.5 * g * (1.0 + std::tanh(0.79788456080286535588 * (g + 0.044715 * g * g * g))) * double(up[i]);
  }
  return out;
}

std::vector<double> softcap(std::span<const float> x, double cap) {
  std::vector<double> out(x.size());
  for (size_t i = 0; i < x.size(); ++i) out[i] = cap * std::tanh(double(x[i]) / cap);
  return out;
}

std::vector<double> rmsNorm(std::span<const float> x, std::span<const float> weight, uint32_t rows, uint32_t cols,
                            double eps) {
  std::vector<double> out(size_t{rows} * cols);
  for (uint32_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (uint32_t c = 0; c < cols; ++c) ss += double(x[size_t{r} * cols + c]) * double(x[size_t{r} * cols + c]);
    const double inv = 1.0 / std::sqrt(ss / cols + eps);
    for (uint32_t c = 0; c < cols; ++c) out[size_t{r} * cols + c] = double(x[size_t{r} * cols + c]) * inv * double(weight[c]);
  }
  return out;
}

std::vector<double> rope(std::span<const float> x, std::span<const uint32_t> pos, uint32_t n_tokens, uint32_t n_heads,
                         uint32_t head_dim, uint32_t n_rot, bool neox, double freq_base, double freq_scale,
                         std::span<const float> freq_factors) {
  std::vector<double> out(x.begin(), x.end());
  for (uint32_t t = 0; t < n_tokens; ++t) {
    for (uint32_t h = 0; h < n_heads; ++h) {
      const size_t base = (size_t{t} * n_heads + h) * head_dim;
      for (uint32_t i = 0; i < n_rot / 2; ++i) {
        double theta = double(pos[t]) * freq_scale * std::pow(freq_base, -2.0 * i / n_rot);
        if (!freq_factors.empty()) theta /= double(freq_factors[i]);
        const size_t i0 = neox ? base + i : base + 2 * i;
        const size_t i1 = neox ? base + i + n_rot / 2 : base + 2 * i + 1;
        const double x0 = x[i0], x1 = x[i1];
        out[i0] = x0 * std::cos(theta) - x1 * std::sin(theta);
        out[i1] = x0 * std::sin(theta) + x1 * std::cos(theta);
      }
    }
  }
  return out;
}

std::vector<double> attention(std::span<const float> q, std::span<const float> k, std::span<const float> v,
                              uint32_t n_q, uint32_t n_heads, uint32_t n_kv_heads, uint32_t head_dim, uint32_t pos0,
                              double scale, uint32_t window, double softcap) {
  std::vector<double> out(size_t{n_q} * n_heads * head_dim, 0.0);
  const uint32_t group = n_heads / n_kv_heads;
  std::vector<double> scores;
  for (uint32_t t = 0; t < n_q; ++t) {
    const uint32_t n_keys = pos0 + t + 1;
    const uint32_t first = window > 0 && n_keys > window ? n_keys - window : 0;  // p - j < window
    for (uint32_t h = 0; h < n_heads; ++h) {
      const uint32_t kvh = h / group;
      const float* qh = &q[(size_t{t} * n_heads + h) * head_dim];
      scores.assign(n_keys, 0.0);
      double m = -std::numeric_limits<double>::infinity();
      for (uint32_t j = first; j < n_keys; ++j) {
        const float* kj = &k[(size_t{j} * n_kv_heads + kvh) * head_dim];
        double s = 0;
        for (uint32_t d = 0; d < head_dim; ++d) s += double(qh[d]) * double(kj[d]);
        scores[j] = s * scale;
        if (softcap > 0) scores[j] = softcap * std::tanh(scores[j] / softcap);
        m = std::max(m, scores[j]);
      }
      double sum = 0;
      for (uint32_t j = first; j < n_keys; ++j) sum += (scores[j] = std::exp(scores[j] - m));
      double* o = &out[(size_t{t} * n_heads + h) * head_dim];
      for (uint32_t j = first; j < n_keys; ++j) {
        const float* vj = &v[(size_t{j} * n_kv_heads + kvh) * head_dim];
        for (uint32_t d = 0; d < head_dim; ++d) o[d] += scores[j] / sum * double(vj[d]);
      }
    }
  }
  return out;
}

std::vector<double> softmax(std::span<const float> x, uint32_t rows, uint32_t cols) {
  std::vector<double> out(size_t{rows} * cols);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (uint32_t r = 0; r < rows; ++r) {
    const float* row = &x[size_t{r} * cols];
    double* o = &out[size_t{r} * cols];
    bool bad = false;
    double m = -std::numeric_limits<double>::infinity();
    for (uint32_t c = 0; c < cols; ++c) {
      if (std::isnan(row[c]) || row[c] == std::numeric_limits<float>::infinity()) bad = true;
      else m = std::max(m, double(row[c]));
    }
    if (bad || std::isinf(m)) {
      std::fill(o, o + cols, nan);
      continue;
    }
    double sum = 0;
    for (uint32_t c = 0; c < cols; ++c) sum += std::exp(double(row[c]) - m);
    for (uint32_t c = 0; c < cols; ++c) o[c] = std::exp(double(row[c]) - m) / sum;
  }
  return out;
}

bool rankBefore(float va, uint32_t ia, float vb, uint32_t ib) {
  const bool na = std::isnan(va), nb = std::isnan(vb);
  if (na != nb) return nb;
  if (!na && va != vb) return va > vb;
  return ia < ib;
}

std::vector<uint32_t> argmax(std::span<const float> x, uint32_t rows, uint32_t cols) {
  std::vector<uint32_t> out(rows, 0);
  for (uint32_t r = 0; r < rows; ++r) {
    const float* row = &x[size_t{r} * cols];
    uint32_t best = 0;
    for (uint32_t c = 1; c < cols; ++c)
      if (rankBefore(row[c], c, row[best], best)) best = c;
    out[r] = best;
  }
  return out;
}

std::vector<uint32_t> topK(std::span<const float> x, uint32_t rows, uint32_t cols, uint32_t k) {
  std::vector<uint32_t> out;
  out.reserve(size_t{rows} * k);
  std::vector<uint32_t> order(cols);
  for (uint32_t r = 0; r < rows; ++r) {
    const float* row = &x[size_t{r} * cols];
    std::iota(order.begin(), order.end(), 0u);
    std::partial_sort(order.begin(), order.begin() + k, order.end(),
                      [&](uint32_t a, uint32_t b) { return rankBefore(row[a], a, row[b], b); });
    out.insert(out.end(), order.begin(), order.begin() + k);
  }
  return out;
}

}  // namespace tokenfab::ref
