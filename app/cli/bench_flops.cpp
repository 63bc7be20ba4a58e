#include "bench_flops.h"

#include <algorithm>
#include <string>

namespace tokenfab::cli {

double prefillFlops(const model::ModelConfig& config, int64_t n_tokens, int64_t n_batch) {
  if (n_tokens <= 0) return 0.0;
  const double n = double(n_tokens), n_embd = double(config.n_embd);
  double matrix_macs = 0, attention_macs = 0;  // per token, and per attended position
  for (int layer = 0; layer < config.n_layer; ++layer) {
    matrix_macs += n_embd * (double(config.qDim()) + double(config.kDim(layer)) + double(config.vDim(layer)));
    matrix_macs += double(config.n_head) * double(config.head_dim_v) * n_embd;
    matrix_macs += 3.0 * n_embd * double(config.nFf(layer));
    attention_macs += double(config.n_head) * double(config.head_dim + config.head_dim_v);
  }
  const int64_t batch = std::max<int64_t>(1, n_batch);
  const double chunks = double((n_tokens + batch - 1) / batch);
  const double macs = n * matrix_macs + attention_macs * n * (n + 1) / 2 + chunks * n_embd * double(config.n_vocab);
  return 2.0 * macs;
}

}  // namespace tokenfab::cli
