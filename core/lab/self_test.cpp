// runSelfTest: device, every GPU op on small random inputs vs the float64 references in core/ref,
// and greedy generation on the Vulkan backend vs the CPU reference backend.
#include "tokenfab/self_test.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <sstream>

#include "ref/matmul_ref.h"
#include "ref/ops_ref.h"
#include "lab/quantize.h"
#include "tokenfab/engine.h"
#include "tokenfab/ops.h"
#include "tokenfab/ops_matmul.h"
#include "tokenfab/vk.h"

namespace tokenfab {
namespace {

using Clock = std::chrono::steady_clock;

// Error bounds, normalised by max(1, max |reference|), as the GPU op tests use them: one f32
// rounding for add/mul, the GPU's exp for silu/softmax, f32 sums for the norms and attention,
// the f32 angle for rope (positions here stay below 64, the bound is the tests' bound for 4096).
constexpr double kBinaryBound = 1e-6;
constexpr double kSiluBound = 1e-5;
constexpr double kRmsNormBound = 1e-5;
constexpr double kRopeBound = 2e-3;
constexpr double kSoftmaxBound = 2e-6;
constexpr double kAttentionBound = 1e-4;
// matmul: |got - want| <= kMatMulBound * sum_k |w x| (the scale of the f32 rounding error).
constexpr double kMatMulBound = 1e-5;
// Greedy generation: Vulkan may pick another token only where the reference's two candidates
// are this close in logit (the f16 KV cache and f32 accumulation move logits by ~1e-3).
constexpr double kGreedyTieGap = 1e-2;

class Rng {
 public:
  explicit Rng(uint64_t seed) : m_engine(seed) {}
  std::vector<float> floats(size_t n, float lo = -1.0f, float hi = 1.0f) {
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(n);
    for (float& x : v) x = dist(m_engine);
    return v;
  }

 private:
  std::mt19937_64 m_engine;
};

std::string formatError(double error, double bound) {
  char text[96];
  std::snprintf(text, sizeof text, "max error %.3g (bound %.3g)", error, bound);
  return text;
}

// Largest |got - want| / max(1, max |want|); +inf on a NaN/Inf disagreement or a size mismatch.
double maxError(std::span<const float> got, std::span<const double> want) {
  if (got.size() != want.size()) return INFINITY;
  double scale = 1.0;
  for (double w : want)
    if (std::isfinite(w)) scale = std::max(scale, std::fabs(w));
  double worst = 0.0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double g = got[i], w = want[i];
    if (std::isnan(g) || std::isnan(w) || std::isinf(g) || std::isinf(w)) {
      if (!(std::isnan(g) && std::isnan(w)) && g != w) return INFINITY;
      continue;
    }
    worst = std::max(worst, std::fabs(g - w) / scale);
  }
  return worst;
}

Result<std::string> judge(std::span<const float> got, std::span<const double> want, double bound) {
  const double error = maxError(got, want);
  if (!(error <= bound)) return Status(Code::kInternal, "GPU result differs from the CPU reference: " + formatError(error, bound));
  return formatError(error, bound);
}

template <typename T>
Result<vk::Buffer> upload(vk::Device& dev, const std::vector<T>& data) {
  const uint64_t bytes = std::max<uint64_t>(4, (data.size() * sizeof(T) + 3) / 4 * 4);
  TF_ASSIGN_OR_RETURN(vk::Buffer buffer, dev.createBuffer(bytes));
  std::vector<uint8_t> padded(bytes, 0);
  std::memcpy(padded.data(), data.data(), data.size() * sizeof(T));
  TF_RETURN_IF_ERROR(dev.upload(buffer.view(), padded.data(), bytes));
  return buffer;
}

Result<vk::Buffer> scratch(vk::Device& dev, uint64_t bytes) { return dev.createBuffer(std::max<uint64_t>(4, bytes)); }

template <typename T>
Result<std::vector<T>> download(vk::Device& dev, const vk::Buffer& buffer, size_t n) {
  std::vector<T> out(n);
  TF_RETURN_IF_ERROR(dev.download(buffer.view(0, n * sizeof(T)), out.data(), n * sizeof(T)));
  return out;
}

// ---- op checks: each returns the detail text on success, a Status on disagreement ----

Result<std::string> checkBinary(vk::Device& dev, Rng& rng, bool add) {
  const uint32_t rows = 3, cols = 333;
  const std::vector<float> a = rng.floats(rows * cols, -10, 10), b = rng.floats(cols, -10, 10);
  TF_ASSIGN_OR_RETURN(vk::Buffer ba, upload(dev, a));
  TF_ASSIGN_OR_RETURN(vk::Buffer bb, upload(dev, b));
  TF_ASSIGN_OR_RETURN(vk::Buffer out, scratch(dev, a.size() * 4));
  TF_ASSIGN_OR_RETURN(vk::Recorder rec, dev.newRecorder());
  if (add)
    TF_RETURN_IF_ERROR(ops::recordAdd(rec, ba.view(), bb.view(), out.view(), a.size(), b.size()));
  else
    TF_RETURN_IF_ERROR(ops::recordMul(rec, ba.view(), bb.view(), out.view(), a.size(), b.size()));
  TF_RETURN_IF_ERROR(rec.submitAndWait());
  TF_ASSIGN_OR_RETURN(std::vector<float> got, download<float>(dev, out, a.size()));
  return judge(got, add ? ref::add(a, b) : ref::mul(a, b), kBinaryBound);
}

Result<std::string> checkSiluMul(vk::Device& dev, Rng& rng) {
  const std::vector<float> gate = rng.floats(1001, -20, 20), up = rng.floats(1001, -3, 3);
  TF_ASSIGN_OR_RETURN(vk::Buffer bg, upload(dev, gate));
  TF_ASSIGN_OR_RETURN(vk::Buffer bu, upload(dev, up));
  TF_ASSIGN_OR_RETURN(vk::Buffer out, scratch(dev, gate.size() * 4));
  TF_ASSIGN_OR_RETURN(vk::Recorder rec, dev.newRecorder());
  TF_RETURN_IF_ERROR(ops::recordSiluMul(rec, bg.view(), bu.view(), out.view(), gate.size()));
  TF_RETURN_IF_ERROR(rec.submitAndWait());
  TF_ASSIGN_OR_RETURN(std::vector<float> got, download<float>(dev, out, gate.size()));
  return judge(got, ref::siluMul(gate, up), kSiluBound);
}

Result<std::string> checkRmsNorm(vk::Device& dev, Rng& rng) {
  const uint32_t rows = 4, cols = 515;
  const std::vector<float> x = rng.floats(rows * cols, -4, 4), w = rng.floats(cols, -2, 2);
  TF_ASSIGN_OR_RETURN(vk::Buffer bx, upload(dev, x));
  TF_ASSIGN_OR_RETURN(vk::Buffer bw, upload(dev, w));
  TF_ASSIGN_OR_RETURN(vk::Buffer out, scratch(dev, x.size() * 4));
  TF_ASSIGN_OR_RETURN(vk::Recorder rec, dev.newRecorder());
  TF_RETURN_IF_ERROR(ops::recordRmsNorm(rec, bx.view(), bw.view(), out.view(), rows, cols, 1e-5f));
  TF_RETURN_IF_ERROR(rec.submitAndWait());
  TF_ASSIGN_OR_RETURN(std::vector<float> got, download<float>(dev, out, x.size()));
  return judge(got, ref::rmsNorm(x, w, rows, cols, 1e-5), kRmsNormBound);
}

Result<std::string> checkRope(vk::Device& dev, Rng& rng, ops::RopeLayout layout) {
  const uint32_t n_tokens = 5, n_heads = 3, head_dim = 64;
  const std::vector<float> x = rng.floats(size_t{n_tokens} * n_heads * head_dim, -2, 2);
  const std::vector<uint32_t> pos = {0, 1, 7, 30, 63};
  TF_ASSIGN_OR_RETURN(vk::Buffer bx, upload(dev, x));
  TF_ASSIGN_OR_RETURN(vk::Buffer bp, upload(dev, pos));
  TF_ASSIGN_OR_RETURN(vk::Recorder rec, dev.newRecorder());
  ops::RopeConfig config;
  config.layout = layout;
  config.n_rot = head_dim;
  TF_RETURN_IF_ERROR(ops::recordRope(rec, bx.view(), bp.view(), vk::BufferView{}, n_tokens, n_heads, head_dim, config));
  TF_RETURN_IF_ERROR(rec.submitAndWait());
  TF_ASSIGN_OR_RETURN(std::vector<float> got, download<float>(dev, bx, x.size()));
  const auto want = ref::rope(x, pos, n_tokens, n_heads, head_dim, head_dim, layout == ops::RopeLayout::kNeox,
                              config.freq_base, config.freq_scale, {});
  return judge(got, want, kRopeBound);
}

Result<std::string> checkAttention(vk::Device& dev, Rng& rng) {
  ops::AttentionShape shape;
  shape.n_q = 3;
  shape.n_heads = 4;
  shape.n_kv_heads = 2;
  shape.head_dim = 64;
  shape.pos0 = 37;
  shape.kv_type = ops::KvType::kF32;
  const uint32_t n_ctx = 48, kv_row = shape.n_kv_heads * shape.head_dim;
  const std::vector<float> q = rng.floats(size_t{shape.n_q} * shape.n_heads * shape.head_dim);
  const std::vector<float> k = rng.floats(size_t{n_ctx} * kv_row), v = rng.floats(size_t{n_ctx} * kv_row);
  TF_ASSIGN_OR_RETURN(vk::Buffer bq, upload(dev, q));
  TF_ASSIGN_OR_RETURN(vk::Buffer bk, upload(dev, k));
  TF_ASSIGN_OR_RETURN(vk::Buffer bv, upload(dev, v));
  TF_ASSIGN_OR_RETURN(vk::Buffer bs, scratch(dev, ops::attentionScratchBytes(shape)));
  TF_ASSIGN_OR_RETURN(vk::Buffer out, scratch(dev, q.size() * 4));
  TF_ASSIGN_OR_RETURN(vk::Recorder rec, dev.newRecorder());
  TF_RETURN_IF_ERROR(ops::recordAttention(rec, bq.view(), bk.view(), bv.view(), bs.view(), out.view(), shape));
  TF_RETURN_IF_ERROR(rec.submitAndWait());
  TF_ASSIGN_OR_RETURN(std::vector<float> got, download<float>(dev, out, q.size()));
  const auto want = ref::attention(q, k, v, shape.n_q, shape.n_heads, shape.n_kv_heads, shape.head_dim, shape.pos0,
                                   1.0 / std::sqrt(double(shape.head_dim)));
  return judge(got, want, kAttentionBound);
}

Result<std::string> checkSoftmax(vk::Device& dev, Rng& rng) {
  const uint32_t rows = 3, cols = 1500;
  const std::vector<float> x = rng.floats(rows * cols, -30, 30);
  TF_ASSIGN_OR_RETURN(vk::Buffer bx, upload(dev, x));
  TF_ASSIGN_OR_RETURN(vk::Buffer out, scratch(dev, x.size() * 4));
  TF_ASSIGN_OR_RETURN(vk::Recorder rec, dev.newRecorder());
  TF_RETURN_IF_ERROR(ops::recordSoftmax(rec, bx.view(), out.view(), rows, cols));
  TF_RETURN_IF_ERROR(rec.submitAndWait());
  TF_ASSIGN_OR_RETURN(std::vector<float> got, download<float>(dev, out, x.size()));
  return judge(got, ref::softmax(x, rows, cols), kSoftmaxBound);
}

// argmax and top-k must pick exactly the reference's indices (ties by lower index).
Result<std::string> checkArgmaxTopK(vk::Device& dev, Rng& rng) {
  const uint32_t rows = 3, cols = 2000, k = 40;
  std::vector<float> x = rng.floats(rows * cols, -5, 5);
  x[17] = x[900];  // a tie in row 0
  TF_ASSIGN_OR_RETURN(vk::Buffer bx, upload(dev, x));
  TF_ASSIGN_OR_RETURN(vk::Buffer arg, scratch(dev, rows * 4));
  TF_ASSIGN_OR_RETURN(vk::Buffer idx, scratch(dev, rows * k * 4));
  TF_ASSIGN_OR_RETURN(vk::Buffer val, scratch(dev, rows * k * 4));
  TF_ASSIGN_OR_RETURN(vk::Recorder rec, dev.newRecorder());
  TF_RETURN_IF_ERROR(ops::recordArgmax(rec, bx.view(), arg.view(), rows, cols));
  TF_RETURN_IF_ERROR(ops::recordTopK(rec, bx.view(), idx.view(), val.view(), rows, cols, k));
  TF_RETURN_IF_ERROR(rec.submitAndWait());
  TF_ASSIGN_OR_RETURN(std::vector<uint32_t> got_arg, download<uint32_t>(dev, arg, rows));
  TF_ASSIGN_OR_RETURN(std::vector<uint32_t> got_idx, download<uint32_t>(dev, idx, rows * k));
  TF_ASSIGN_OR_RETURN(std::vector<float> got_val, download<float>(dev, val, rows * k));
  if (got_arg != ref::argmax(x, rows, cols)) return Status(Code::kInternal, "argmax index differs from the CPU reference");
  const std::vector<uint32_t> want_idx = ref::topK(x, rows, cols, k);
  for (size_t i = 0; i < want_idx.size(); ++i) {
    const size_t row = i / k;
    if (got_idx[i] != want_idx[i] || got_val[i] != x[row * cols + want_idx[i]])
      return Status(Code::kInternal, "top-k entry " + std::to_string(i % k) + " of row " + std::to_string(row) +
                                         " differs from the CPU reference");
  }
  return std::string("indices equal the reference (" + std::to_string(rows) + " rows, k " + std::to_string(k) + ")");
}

Result<std::string> checkMatMul(vk::Device& dev, Rng& rng, gguf::TensorType type, uint32_t batch) {
  const uint64_t rows = 67;
  const uint32_t cols = 512;
  const std::vector<float> w = rng.floats(rows * cols), x = rng.floats(size_t{batch} * cols, -2, 2);
  std::vector<uint8_t> bytes;
  if (type == gguf::TensorType::kF32) {
    bytes.resize(w.size() * 4);
    std::memcpy(bytes.data(), w.data(), bytes.size());
  } else {
    TF_ASSIGN_OR_RETURN(bytes, ref::quantize(type, w));
  }
  std::vector<double> abs_sum;
  TF_ASSIGN_OR_RETURN(std::vector<double> want, ref::matMulQuant(type, bytes, rows, cols, x, batch, &abs_sum));
  TF_ASSIGN_OR_RETURN(vk::Buffer bw, dev.createBuffer(ops::gpuMatrixBytes(type, rows, cols)));
  TF_RETURN_IF_ERROR(ops::uploadMatrix(dev, bw.view(), type, rows, cols, bytes));
  TF_ASSIGN_OR_RETURN(vk::Buffer bx, upload(dev, x));
  TF_ASSIGN_OR_RETURN(vk::Buffer out, scratch(dev, batch * rows * 4));
  TF_ASSIGN_OR_RETURN(vk::Recorder rec, dev.newRecorder());
  const ops::QuantMatrix matrix{type, bw.view(), rows, cols};
  if (batch == 1)
    TF_RETURN_IF_ERROR(ops::recordMatVec(rec, matrix, bx.view(), out.view()));
  else
    TF_RETURN_IF_ERROR(ops::recordMatMul(rec, matrix, bx.view(), out.view(), batch));
  TF_RETURN_IF_ERROR(rec.submitAndWait());
  TF_ASSIGN_OR_RETURN(std::vector<float> got, download<float>(dev, out, want.size()));
  double worst = 0.0;  // error relative to each output's rounding scale
  for (size_t i = 0; i < want.size(); ++i) {
    const double e = std::fabs(double(got[i]) - want[i]) / std::max(abs_sum[i], 1e-30);
    if (!(e <= kMatMulBound))
      return Status(Code::kInternal, "GPU result differs from the CPU reference at output " + std::to_string(i) + ": " +
                                         formatError(e, kMatMulBound) + " of sum |w x|");
    worst = std::max(worst, e);
  }
  return formatError(worst, kMatMulBound) + " of sum |w x|";
}

// ---- the runner ----

class Runner {
 public:
  Runner(SelfTestReport& report, const SelfTestProgressFn& progress) : m_report(report), m_progress(progress) {}

  template <typename Fn>
  bool run(std::string name, Fn&& fn) {
    SelfTestCheck check;
    check.name = std::move(name);
    const auto start = Clock::now();
    Result<std::string> result = fn();
    check.ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    check.result = result.isOk() ? CheckResult::kPass : CheckResult::kFail;
    check.detail = result.isOk() ? *result : result.status().toString();
    if (m_progress) m_progress(check);
    m_report.checks.push_back(std::move(check));
    return m_report.checks.back().result == CheckResult::kPass;
  }

 private:
  SelfTestReport& m_report;
  const SelfTestProgressFn& m_progress;
};

vk::DeviceOptions deviceOptions(const SelfTestOptions& options) {
  vk::DeviceOptions d;
  d.validation = options.validation;
  d.setChoice(options.device);
  return d;
}

void runOpChecks(Runner& runner, vk::Device& dev, uint64_t seed) {
  Rng rng(seed);
  struct OpCheck {
    const char* name;
    std::function<Result<std::string>()> fn;
  };
  const std::vector<OpCheck> checks = {
      {"op add (broadcast)", [&] { return checkBinary(dev, rng, true); }},
      {"op mul (broadcast)", [&] { return checkBinary(dev, rng, false); }},
      {"op silu_mul", [&] { return checkSiluMul(dev, rng); }},
      {"op rms_norm", [&] { return checkRmsNorm(dev, rng); }},
      {"op rope (adjacent pairs)", [&] { return checkRope(dev, rng, ops::RopeLayout::kAdjacent); }},
      {"op rope (neox halves)", [&] { return checkRope(dev, rng, ops::RopeLayout::kNeox); }},
      {"op attention (GQA, f32 cache)", [&] { return checkAttention(dev, rng); }},
      {"op softmax", [&] { return checkSoftmax(dev, rng); }},
      {"op argmax + top-k", [&] { return checkArgmaxTopK(dev, rng); }},
      {"op matvec f32", [&] { return checkMatMul(dev, rng, gguf::TensorType::kF32, 1); }},
      {"op matvec q8_0", [&] { return checkMatMul(dev, rng, gguf::TensorType::kQ8_0, 1); }},
      {"op matvec q4_k", [&] { return checkMatMul(dev, rng, gguf::TensorType::kQ4_K, 1); }},
      {"op matmul q8_0 (batch 9)", [&] { return checkMatMul(dev, rng, gguf::TensorType::kQ8_0, 9); }},
  };
  for (const OpCheck& c : checks) {
    runner.run(c.name, [&]() -> Result<std::string> {
      TF_ASSIGN_OR_RETURN(std::string detail, c.fn());
      if (dev.validationEnabled() && dev.validationMessageCount() > 0) {
        const std::string first = dev.validationMessages().front();
        dev.clearValidationMessages();
        return Status(Code::kInternal, "Vulkan validation: " + first);
      }
      return detail;
    });
  }
}

struct GreedyRun {
  std::vector<int32_t> tokens;
  std::vector<std::vector<float>> logits;  // per generated token (reference run only)
};

Result<GreedyRun> greedyTokens(const SelfTestOptions& options, Backend backend, bool keep_logits) {
  EngineOptions engine_options;
  engine_options.backend = backend;
  engine_options.device = options.device;
  engine_options.validation = options.validation;
  TF_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, Engine::open(options.model, engine_options));
  TF_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, engine->newSession(64));
  TF_ASSIGN_OR_RETURN(std::vector<int32_t> prompt, engine->tokenizer().encode("Once upon a time"));
  if (prompt.empty()) return Status(Code::kInternal, "the prompt encoded to no tokens");
  GenerateOptions generate;
  generate.sampler.temperature = 0.0;  // greedy: only the argmax survives
  generate.max_tokens = options.n_tokens;
  generate.stop_at_eog = false;
  generate.keep_full_logits = keep_logits;
  GreedyRun run;
  TF_ASSIGN_OR_RETURN(GenerateResult result, session->generate(prompt, generate, [&](const StepEvent& step) {
    if (keep_logits) run.logits.emplace_back(step.logits.begin(), step.logits.end());
    return true;
  }));
  run.tokens = std::move(result.tokens);
  return run;
}

std::string joinIds(const std::vector<int32_t>& ids) {
  std::string out;
  for (int32_t id : ids) {
    if (!out.empty()) out += ' ';
    out += std::to_string(id);
  }
  return out;
}

}  // namespace

bool SelfTestReport::passed() const { return !checks.empty() && failedCount() == 0; }

int SelfTestReport::failedCount() const {
  return static_cast<int>(std::count_if(checks.begin(), checks.end(),
                                        [](const SelfTestCheck& c) { return c.result != CheckResult::kPass; }));
}

std::string SelfTestReport::toText() const {
  std::ostringstream out;
  if (!device_report.empty()) out << "Device:\n" << device_report << "\n";
  size_t width = 0;
  for (const SelfTestCheck& c : checks) width = std::max(width, c.name.size());
  for (const SelfTestCheck& c : checks) {
    char ms[32];
    std::snprintf(ms, sizeof ms, "%8.1f ms", c.ms);
    out << (c.result == CheckResult::kPass ? "PASS  " : "FAIL  ") << c.name << std::string(width - c.name.size() + 2, ' ')
        << ms << "  " << c.detail << "\n";
  }
  out << "\nself-test " << (passed() ? "PASSED" : "FAILED") << ": " << checks.size() - size_t(failedCount()) << " of "
      << checks.size() << " checks passed (seed " << seed << ")\n";
  return out.str();
}

SelfTestReport runSelfTest(const SelfTestOptions& options, const SelfTestProgressFn& progress) {
  SelfTestReport report;
  report.seed = options.seed;
  Runner runner(report, progress);

  std::unique_ptr<vk::Device> device;
  const bool have_device = runner.run("Vulkan device", [&]() -> Result<std::string> {
    TF_ASSIGN_OR_RETURN(device, vk::Device::create(deviceOptions(options)));
    report.device_report = device->report().toText();
    return device->report().name + " (" + device->report().type + ")";
  });
  if (have_device) runOpChecks(runner, *device, options.seed);
  device.reset();  // the engine opens its own device

  const std::string name = "generate " + std::to_string(options.n_tokens) + " greedy tokens: Vulkan == CPU reference";
  runner.run(name, [&]() -> Result<std::string> {
    if (options.model.empty()) return Status(Code::kNotFound, "no model to generate with (the demo model was not found)");
    if (!have_device) return Status(Code::kVkNoDevice, "no Vulkan device");
    TF_ASSIGN_OR_RETURN(GreedyRun gpu, greedyTokens(options, Backend::kVulkan, false));
    TF_ASSIGN_OR_RETURN(GreedyRun cpu, greedyTokens(options, Backend::kReference, true));
    if (gpu.tokens.size() != size_t(options.n_tokens) || cpu.tokens.size() != gpu.tokens.size())
      return Status(Code::kInternal, "generated " + std::to_string(gpu.tokens.size()) + " tokens on Vulkan, " +
                                         std::to_string(cpu.tokens.size()) + " on the reference");
    for (size_t i = 0; i < gpu.tokens.size(); ++i) {
      if (gpu.tokens[i] == cpu.tokens[i]) continue;
      // The first difference. Same prefix, so the reference's logits of this step decide: a near
      // tie (f16 KV cache, f32 sums) may flip the argmax; anything wider is a wrong result.
      const std::vector<float>& logits = i < cpu.logits.size() ? cpu.logits[i] : std::vector<float>{};
      const auto in_range = [&](int32_t id) { return id >= 0 && size_t(id) < logits.size(); };
      const double gap = in_range(gpu.tokens[i]) && in_range(cpu.tokens[i])
                             ? double(logits[size_t(cpu.tokens[i])]) - double(logits[size_t(gpu.tokens[i])])
                             : INFINITY;
      if (!(gap <= kGreedyTieGap))
        return Status(Code::kInternal, "Vulkan tokens [" + joinIds(gpu.tokens) + "] differ from the reference [" +
                                           joinIds(cpu.tokens) + "] at token " + std::to_string(i) +
                                           " (reference logit gap " + std::to_string(gap) + ")");
      return options.model.filename().string() + ": [" + joinIds(cpu.tokens) + "], equal up to token " +
             std::to_string(i) + " where the two best logits are a near tie (gap " + std::to_string(gap) + ")";
    }
    return options.model.filename().string() + ": [" + joinIds(gpu.tokens) + "]";
  });
  return report;
}

}  // namespace tokenfab
