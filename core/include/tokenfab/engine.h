// The engine as the CLI and the GUI see it: a model opened on one device (immutable weights),
// and sessions over it (KV cache, positions, the decode loop). Everything else in core/ is an
// implementation detail of these two classes.
//
// Threading: an Engine and its Sessions belong to one thread (the GUI's engine worker, or the
// CLI's main thread). Only `GenerateOptions::stop` may be touched from another thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tokenfab/model.h"
#include "tokenfab/sampling.h"
#include "tokenfab/status.h"
#include "tokenfab/tokenizer.h"

namespace tokenfab {

enum class Backend {
  kVulkan,     // the GPU graph (any Vulkan 1.2 device, lavapipe included)
  kReference,  // core/ref on the CPU in float64: slow, exact; for checking and for no-GPU machines
};

struct EngineOptions {
  Backend backend = Backend::kVulkan;
  std::string device;             // index or name substring; empty = best (discrete first)
  bool validation = false;        // Vulkan validation layers (tests turn them on)
  bool disable_optional = false;  // ignore fp16 / subgroup / int-dot features (fallback paths)
  bool kv_f16 = true;             // KV cache in f16 (else f32)
  int32_t n_batch = 512;          // prompt tokens per prefill chunk
};

struct LoadProgress {
  std::string_view stage;   // "reading", "uploading weights", ...
  uint64_t done = 0;        // bytes (or steps) done
  uint64_t total = 0;
};
// Return false to cancel: open() then fails with kCancelled and releases everything.
using ProgressFn = std::function<bool(const LoadProgress&)>;

// GPU time of one group of ops of the forward graph ("matmul_qkv", "attention", ...).
struct OpTime {
  std::string op;
  double ns = 0.0;
};

// Speed figures of a session, cumulative since the last resetTimings().
struct Timings {
  int64_t prompt_tokens = 0;
  double prompt_ms = 0.0;
  int64_t generated_tokens = 0;
  double generate_ms = 0.0;        // decode of generated tokens, sampling included
  double first_token_ms = 0.0;     // time to first token of the last generate()
  double sampler_ms = 0.0;
  uint64_t weight_bytes_per_token = 0;  // bytes of weights one decode step reads
  uint32_t dispatches_per_token = 0;
  // With Session::setProfiling(true): GPU time per group of ops, summed by name over the
  // profiled single-token decode steps (graph order of first appearance), and their number.
  std::vector<OpTime> decode_ops;
  int64_t profiled_steps = 0;
  double promptTokensPerSecond() const { return prompt_ms > 0 ? prompt_tokens * 1000.0 / prompt_ms : 0.0; }
  double generateTokensPerSecond() const {
    return generate_ms > 0 ? generated_tokens * 1000.0 / generate_ms : 0.0;
  }
  // Achieved weight-read bandwidth during generation, GB/s (1e9 bytes).
  double achievedGBps() const {
    return generate_ms > 0 ? double(weight_bytes_per_token) * generated_tokens / (generate_ms * 1e6) : 0.0;
  }
};

struct DeviceSummary {
  std::string name;              // "llvmpipe (LLVM 15.0.6, 256 bits)", or "CPU reference"
  std::string type;              // "discrete", "integrated", "virtual", "cpu"
  std::string api_version;
  uint64_t device_local_bytes = 0;
  double stream_gbps = 0.0;      // measured streaming read bandwidth (0 until measured)
  double physical_gbps = 0.0;    // the memory bandwidth of the vendor's datasheet (0 if unknown)
  std::string prefill_path;      // the units prompt products run on: "scalar", "coopmat" (ops::matMulPath)
};

class Session;

class Engine {
 public:
  // Opens the GGUF, checks it (architecture, tensor types, shapes: errors before any GPU work),
  // builds the tokenizer and uploads the weights. Errors: the GGUF/model/tokenizer codes,
  // kVkNoDevice, kVkOutOfDeviceMemory ("needs X MiB, the device has Y MiB"), kCancelled.
  static Result<std::unique_ptr<Engine>> open(const std::filesystem::path& path, const EngineOptions& options,
                                              const ProgressFn& progress = {});
  virtual ~Engine() = default;

  virtual const model::ModelConfig& config() const = 0;
  virtual const Tokenizer& tokenizer() const = 0;
  virtual const DeviceSummary& device() const = 0;
  virtual const std::filesystem::path& path() const = 0;
  // tokenizer.chat_template, if the file has one.
  virtual std::optional<std::string> chatTemplate() const = 0;
  virtual uint64_t weightBytes() const = 0;  // bytes of all weights as stored
  virtual Backend backend() const = 0;
  // Measures the device's streaming read bandwidth (GB/s, ops::measureStreamBandwidth) once and
  // caches it in device().stream_gbps: the bound decode speed is judged against.
  virtual Result<double> measureStreamBandwidth() = 0;

  // A new conversation state with its own KV cache of n_ctx positions (0 = the training context,
  // capped at 4096). Errors: kModelContextTooLarge (with needed/available bytes).
  virtual Result<std::unique_ptr<Session>> newSession(int32_t n_ctx = 0) = 0;
};

struct GenerateOptions {
  SamplerConfig sampler;
  uint64_t seed = 0;                     // seed for the SamplerChain
  int32_t max_tokens = 256;
  bool stop_at_eog = true;               // end at the tokenizer's end-of-generation tokens
  const std::atomic<bool>* stop = nullptr;  // set from any thread: generation ends after the
                                            // current token (at most one decode step later)
  bool keep_full_logits = false;         // StepEvent::logits filled (for exact what-if)
};

// One generated token, handed to the callback as soon as it is sampled.
struct StepEvent {
  StepTrace trace;                  // trace.text filled with the token's piece
  std::string text;                 // UTF-8-safe text delta to append (may be empty)
  std::span<const float> logits;    // full logits of the step when keep_full_logits
  double step_ms = 0.0;             // decode + sample time of this token
};
// Return false to stop after this token.
using StepFn = std::function<bool(const StepEvent&)>;

enum class StopReason { kMaxTokens, kEndOfGeneration, kStopRequested, kContextFull };

struct GenerateResult {
  std::vector<int32_t> tokens;  // generated ids (not the prompt)
  std::string text;
  StopReason reason = StopReason::kMaxTokens;
};

class Session {
 public:
  virtual ~Session() = default;

  virtual int32_t contextSize() const = 0;
  virtual int32_t position() const = 0;  // tokens held in the KV cache
  virtual const std::vector<int32_t>& tokens() const = 0;

  // Feeds tokens at position() (prefill in chunks of n_batch) and returns the logits after the
  // last one (n_vocab floats, valid until the next call). Errors: kModelPromptTooLong when the
  // context would overflow, kOutOfRange for an id outside the vocabulary, kVkDeviceLost.
  virtual Result<std::span<const float>> decode(std::span<const int32_t> tokens) = 0;
  // Logits of every position of the last decode() call (n_tokens x n_vocab), for scoring.
  virtual Result<std::vector<float>> decodeAll(std::span<const int32_t> tokens) = 0;
  // Forgets positions >= pos (0 <= pos <= position()). Cached positions < pos are kept as they
  // were, so re-feeding the same tokens reproduces the same logits exactly. The next decode() or
  // generate() must feed at least one token (to regenerate after token t, rewind to t's
  // position and pass t as the prompt).
  virtual Status rewind(int32_t pos) = 0;

  // Feeds `prompt` (may be empty when the session already holds tokens and logits), then samples
  // and decodes up to max_tokens, calling `on_step` for every token.
  virtual Result<GenerateResult> generate(std::span<const int32_t> prompt, const GenerateOptions& options,
                                          const StepFn& on_step) = 0;

  virtual const Timings& timings() const = 0;
  virtual void resetTimings() = 0;
  // Times every group of ops of single-token decode steps with GPU timestamps (Timings::
  // decode_ops). Costs a little; backends without timestamps ignore it.
  virtual void setProfiling(bool on) { (void)on; }
};

}  // namespace tokenfab
