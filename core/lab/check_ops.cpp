// check-ops: the GPU graph and the float64 CPU reference side by side, token by token, with the
// graph's debug taps; the first intermediate that diverges names the op to look at.
#include "tokenfab/check_ops.h"

#include <algorithm>
#include <cmath>

#include "model/gpu_model.h"
#include "ref/forward.h"
#include "session/open_model.h"
#include "tokenfab/vk.h"

namespace tokenfab {

using detail::Opened;
using detail::openModelFile;

Result<OpCheckReport> checkOpsAgainstReference(const std::filesystem::path& path, std::span<const int32_t> tokens,
                                               const EngineOptions& options, double bound) {
  TF_ASSIGN_OR_RETURN(Opened opened, openModelFile(path, {}));
  TF_ASSIGN_OR_RETURN(ref::RefModel reference, ref::RefModel::load(opened.file));
  TF_ASSIGN_OR_RETURN(std::unique_ptr<model::GpuModel> gpu, detail::loadGpuModel(opened, options, {}));
  const int32_t n_ctx = int32_t(tokens.size()) + 1;
  TF_ASSIGN_OR_RETURN(model::GpuState state, gpu->newState(n_ctx, 1, 1));

  OpCheckReport report;
  report.bound = bound;
  std::vector<float> logits;
  for (size_t t = 0; t < tokens.size(); ++t) {
    ref::ForwardTrace ref_trace;
    TF_RETURN_IF_ERROR(reference.forwardF64(tokens[t], int(t), &ref_trace).status());
    std::vector<std::pair<std::string, std::vector<float>>> taps;
    model::GpuModel::Tap tap = [&](const std::string& name, std::vector<float> values) {
      taps.emplace_back(name, std::move(values));
    };
    TF_RETURN_IF_ERROR(gpu->forward(state, tokens.subspan(t, 1), int32_t(t), false, logits, nullptr, &tap));
    for (const ref::ForwardTrace::Entry& r : ref_trace.entries) {
      auto it = std::find_if(taps.begin(), taps.end(), [&](const auto& p) { return p.first == r.name; });
      if (it == taps.end() || it->second.size() != r.values.size())
        return Status(Code::kInternal, "the GPU graph has no intermediate '" + r.name + "' of " +
                                           std::to_string(r.values.size()) + " values");
      OpCheckEntry e;
      e.token_index = int32_t(t);
      e.name = r.name;
      for (size_t i = 0; i < r.values.size(); ++i) {
        e.max_abs_ref = std::max(e.max_abs_ref, std::abs(r.values[i]));
        const double d = std::abs(double(it->second[i]) - r.values[i]);
        e.max_abs_error = std::max(e.max_abs_error, std::isnan(d) ? INFINITY : d);
      }
      e.error = e.max_abs_error / std::max(1.0, e.max_abs_ref);
      if (report.first_divergent < 0 && !(e.error <= bound)) report.first_divergent = int32_t(report.entries.size());
      report.entries.push_back(std::move(e));
    }
  }
  return report;
}

}  // namespace tokenfab
