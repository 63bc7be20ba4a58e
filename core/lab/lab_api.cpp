// tokenfab/lab.h over the lab's and the reference's internals.
#include "tokenfab/lab.h"

#include "lab/quantize.h"
#include "ref/forward.h"

namespace tokenfab::lab {

Result<std::vector<uint8_t>> quantize(gguf::TensorType type, std::span<const float> values) {
  return ref::quantize(type, values);
}

Result<std::vector<std::vector<double>>> referenceLogits(const gguf::GgufFile& file, std::span<const int32_t> tokens) {
  TF_ASSIGN_OR_RETURN(ref::RefModel model, ref::RefModel::load(file));
  std::vector<std::vector<double>> rows;
  for (size_t pos = 0; pos < tokens.size(); ++pos) {
    TF_ASSIGN_OR_RETURN(std::vector<double> logits, model.forwardF64(tokens[pos], static_cast<int>(pos)));
    rows.push_back(std::move(logits));
  }
  return rows;
}

}  // namespace tokenfab::lab
