// Engine::open and the two backends: the Vulkan graph (model/gpu_model) and the float64 CPU
// reference (ref/forward). Both share the session logic in session_base.
#include <algorithm>
#include <cmath>
#include <chrono>
#include <cstring>
#include <string>

#include "model/gpu_model.h"
#include "ref/forward.h"
#include "session/open_model.h"
#include "session/session_base.h"
#include "tokenfab/ops_matmul.h"
#include "tokenfab/support.h"
#include "tokenfab/vk.h"

namespace tokenfab {
namespace {

using detail::Opened;
using detail::openModelFile;
using detail::SessionBase;

constexpr int32_t kDefaultMaxContext = 4096;
// Logit rows one chunk of decodeAll() may return: caps the host-visible logits buffer at ~64 MiB.
constexpr uint64_t kLogitBudgetBytes = 64ull << 20;

int32_t chooseContext(int32_t requested, const model::ModelConfig& c) {
  if (requested > 0) return requested;
  return c.n_ctx_train > 0 ? std::min(c.n_ctx_train, kDefaultMaxContext) : kDefaultMaxContext;
}

// ---- the Vulkan backend ----

class GpuSession final : public SessionBase {
 public:
  GpuSession(model::GpuModel& model, const Tokenizer& tokenizer, model::GpuState state)
      : SessionBase(tokenizer, model.config().n_vocab, state.n_ctx), m_model(model), m_state(std::move(state)) {
    m_timings.weight_bytes_per_token = model.weightBytesPerToken();
  }

 protected:
  Status forward(std::span<const int32_t> tokens, int32_t pos0, std::vector<float>& last,
                 std::vector<float>* all) override {
    const size_t n_vocab = size_t(m_model.config().n_vocab);
    if (all) all->clear();
    const size_t step = all ? size_t(std::min(m_state.n_batch, m_state.n_logit_rows)) : size_t(m_state.n_batch);
    for (size_t i = 0; i < tokens.size(); i += step) {
      const size_t n = std::min(step, tokens.size() - i);
      uint32_t dispatches = 0;
      const bool profile = m_profiling && n == 1;
      TF_RETURN_IF_ERROR(m_model.forward(m_state, tokens.subspan(i, n), pos0 + int32_t(i), all != nullptr, m_chunk,
                                         &dispatches, nullptr, profile ? &m_profile : nullptr));
      if (n == 1) m_timings.dispatches_per_token = dispatches;
      if (profile) addProfile();
      if (all) all->insert(all->end(), m_chunk.begin(), m_chunk.end());
    }
    last.assign(m_chunk.end() - std::ptrdiff_t(n_vocab), m_chunk.end());
    return Status::ok();
  }
  // The cache rows past `pos` are simply overwritten by later forwards.
  Status truncate(int32_t) override { return Status::ok(); }

 public:
  void setProfiling(bool on) override { m_profiling = on; }

 private:
  void addProfile() {
    std::vector<OpTime>& sums = m_timings.decode_ops;
    for (const OpTime& t : m_profile) {
      auto it = std::find_if(sums.begin(), sums.end(), [&](const OpTime& s) { return s.op == t.op; });
      if (it == sums.end()) {
        sums.push_back(t);
      } else {
        it->ns += t.ns;
      }
    }
    if (!m_profile.empty()) ++m_timings.profiled_steps;
  }

  model::GpuModel& m_model;
  model::GpuState m_state;
  std::vector<float> m_chunk;
  bool m_profiling = false;
  std::vector<OpTime> m_profile;
};

class GpuEngine final : public Engine {
 public:
  GpuEngine(Opened opened, std::unique_ptr<model::GpuModel> model, int32_t n_batch)
      : m_opened(std::move(opened)), m_model(std::move(model)), m_n_batch(n_batch) {
    const vk::DeviceReport& r = m_model->device().report();
    m_device.name = r.name;
    m_device.type = r.type;
    m_device.api_version = std::to_string(VK_API_VERSION_MAJOR(r.api_version)) + "." +
                           std::to_string(VK_API_VERSION_MINOR(r.api_version)) + "." +
                           std::to_string(VK_API_VERSION_PATCH(r.api_version));
    m_device.device_local_bytes = r.deviceLocalBytes();
    if (const auto sheet = vk::datasheetFor(m_device.name)) m_device.physical_gbps = sheet->memory_gbps;
    m_device.prefill_path =
        ops::matMulPathName(ops::matMulPath(m_model->device(), static_cast<uint32_t>(std::max(2, n_batch))));
  }

  const model::ModelConfig& config() const override { return m_model->config(); }
  const Tokenizer& tokenizer() const override { return m_opened.tokenizer; }
  const DeviceSummary& device() const override { return m_device; }
  const std::filesystem::path& path() const override { return m_opened.file.path(); }
  std::optional<std::string> chatTemplate() const override { return m_opened.chat_template; }
  uint64_t weightBytes() const override { return m_model->weightBytes(); }
  Backend backend() const override { return Backend::kVulkan; }

  Result<double> measureStreamBandwidth() override {
    if (m_device.stream_gbps > 0) return m_device.stream_gbps;
    TF_ASSIGN_OR_RETURN(ops::StreamBandwidth bw, ops::measureStreamBandwidth(m_model->device()));
    m_device.stream_gbps = bw.gbps;
    return bw.gbps;
  }

  Result<std::unique_ptr<Session>> newSession(int32_t n_ctx) override {
    const model::ModelConfig& c = m_model->config();
    n_ctx = chooseContext(n_ctx, c);
    if (n_ctx <= 0) return Status(Code::kInvalidArgument, "context size must be positive");
    const int32_t n_batch = std::max(1, std::min(m_n_batch, n_ctx));
    const int32_t logit_rows =
        int32_t(std::clamp<uint64_t>(kLogitBudgetBytes / (uint64_t(c.n_vocab) * 4), 1, uint64_t(n_batch)));
    TF_ASSIGN_OR_RETURN(model::GpuState state, m_model->newState(n_ctx, n_batch, logit_rows));
    return std::unique_ptr<Session>(new GpuSession(*m_model, m_opened.tokenizer, std::move(state)));
  }

 private:
  Opened m_opened;
  std::unique_ptr<model::GpuModel> m_model;
  int32_t m_n_batch;
  DeviceSummary m_device;
};

// ---- the CPU reference backend ----

class RefSession final : public SessionBase {
 public:
  RefSession(ref::RefModel model, const Tokenizer& tokenizer, int32_t n_ctx)
      : SessionBase(tokenizer, model.config().n_vocab, n_ctx), m_model(std::move(model)) {}

 protected:
  Status forward(std::span<const int32_t> tokens, int32_t pos0, std::vector<float>& last,
                 std::vector<float>* all) override {
    if (all) all->clear();
    for (size_t i = 0; i < tokens.size(); ++i) {
      TF_ASSIGN_OR_RETURN(last, m_model.forward(tokens[i], pos0 + int32_t(i)));
      if (all) all->insert(all->end(), last.begin(), last.end());
    }
    return Status::ok();
  }
  Status truncate(int32_t pos) override { return m_model.rewind(std::min(pos, m_model.nPast())); }

 private:
  ref::RefModel m_model;
};

class RefEngine final : public Engine {
 public:
  RefEngine(Opened opened, ref::RefModel model) : m_opened(std::move(opened)), m_model(std::move(model)) {
    m_device.name = "CPU reference (float64)";
    m_device.type = "cpu";
    for (const gguf::TensorInfo& t : m_opened.file.tensors()) m_weight_bytes += t.n_bytes;
  }
  const model::ModelConfig& config() const override { return m_model.config(); }
  const Tokenizer& tokenizer() const override { return m_opened.tokenizer; }
  const DeviceSummary& device() const override { return m_device; }
  const std::filesystem::path& path() const override { return m_opened.file.path(); }
  std::optional<std::string> chatTemplate() const override { return m_opened.chat_template; }
  uint64_t weightBytes() const override { return m_weight_bytes; }
  Backend backend() const override { return Backend::kReference; }
  Result<double> measureStreamBandwidth() override { return 0.0; }
  Result<std::unique_ptr<Session>> newSession(int32_t n_ctx) override {
    n_ctx = chooseContext(n_ctx, m_model.config());
    if (n_ctx <= 0) return Status(Code::kInvalidArgument, "context size must be positive");
    if (m_model.config().n_ctx_train > 0 && n_ctx > m_model.config().n_ctx_train)
      return Status(Code::kModelContextTooLarge, "the CPU reference runs at most the training context (" +
                                                     std::to_string(m_model.config().n_ctx_train) + " tokens)");
    return std::unique_ptr<Session>(new RefSession(m_model, m_opened.tokenizer, n_ctx));
  }

 private:
  Opened m_opened;
  ref::RefModel m_model;  // at position 0: each session starts from a copy
  DeviceSummary m_device;
  uint64_t m_weight_bytes = 0;
};

}  // namespace

Result<std::unique_ptr<Engine>> Engine::open(const std::filesystem::path& path, const EngineOptions& options,
                                             const ProgressFn& progress) {
  TF_ASSIGN_OR_RETURN(Opened opened, openModelFile(path, progress));
  if (options.backend == Backend::kReference) {
    TF_ASSIGN_OR_RETURN(ref::RefModel model, ref::RefModel::load(opened.file));
    return std::unique_ptr<Engine>(new RefEngine(std::move(opened), std::move(model)));
  }
  TF_ASSIGN_OR_RETURN(std::unique_ptr<model::GpuModel> model, detail::loadGpuModel(opened, options, progress));
  return std::unique_ptr<Engine>(new GpuEngine(std::move(opened), std::move(model), std::max(1, options.n_batch)));
}

}  // namespace tokenfab
