// llama2.c-plain loops, float64 accumulation.
#include "ref/matmul_ref.h"

#include <cmath>

#include "ref/dequant.h"

namespace tokenfab::ref {

std::vector<double> matMul(std::span<const float> w, uint64_t rows, uint64_t cols,
                           std::span<const float> x, uint32_t batch, std::vector<double>* abs_sum) {
  std::vector<double> y(uint64_t(batch) * rows, 0.0);  // (batch, rows)
  if (abs_sum) abs_sum->assign(y.size(), 0.0);
  for (uint32_t n = 0; n < batch; ++n) {
    const float* xn = x.data() + uint64_t(n) * cols;  // (cols)
    for (uint64_t r = 0; r < rows; ++r) {
      const float* wr = w.data() + r * cols;  // (cols)
      double s = 0.0, a = 0.0;
      for (uint64_t k = 0; k < cols; ++k) {
        const double p = double(wr[k]) * double(xn[k]);
        s += p;
        a += std::fabs(p);
      }
      y[uint64_t(n) * rows + r] = s;
      if (abs_sum) (*abs_sum)[uint64_t(n) * rows + r] = a;
    }
  }
  return y;
}

Result<std::vector<double>> matMulQuant(gguf::TensorType type, std::span<const uint8_t> bytes,
                                        uint64_t rows, uint64_t cols, std::span<const float> x,
                                        uint32_t batch, std::vector<double>* abs_sum) {
  if (x.size() < uint64_t(batch) * cols) {
    return Status(Code::kOutOfRange, "matMulQuant: activations shorter than batch * cols");
  }
  std::vector<float> w(rows * cols);  // (rows, cols)
  TF_RETURN_IF_ERROR(dequantize(type, bytes, w));
  return matMul(w, rows, cols, x, batch, abs_sum);
}

}  // namespace tokenfab::ref
