// Value types that cross the GUI <-> engine-worker thread boundary (queued signals copy them).
#pragma once

#include <QMetaType>
#include <QString>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tokenfab/chat_template.h"
#include "tokenfab/engine.h"
#include "tokenfab/sampling.h"
#include "tokenfab/tokenizer.h"

namespace tokenfab::gui {

// A status as the GUI shows it (its code and message).
inline QString statusText(const Status& status) { return QString::fromStdString(status.toString()); }

// What the GUI thread learns about a freshly loaded model. The tokenizer is a separate copy built
// from the same file, owned by the GUI thread (the engine's own stays on the worker).
struct ModelInfo {
  QString path;
  QString name;
  QString arch;
  int32_t n_vocab = 0;
  int32_t n_ctx = 0;
  int32_t n_layer = 0;
  int32_t n_embd = 0;
  uint64_t n_params = 0;
  uint64_t weight_bytes = 0;
  // Set when the file has a chat template: the model's own, or the built-in that replaces it
  // when it fails (then chat_template->fallback_reason says why).
  std::optional<ModelChatTemplate> chat_template;
  std::string bos_token;
  std::string eos_token;
  DeviceSummary device;
  Backend backend = Backend::kVulkan;
  double load_ms = 0.0;
  std::shared_ptr<const Tokenizer> tokenizer;
};

// One generated (or user-forced) token as the GUI stores it.
struct TokenStep {
  StepTrace trace;
  std::string text;           // text delta appended to the reply
  std::vector<float> logits;  // full logits when small enough, else empty (top-N what-if)
  double step_ms = 0.0;
  bool forced = false;        // picked by the user (branch), not sampled
};

struct GenerateRequest {
  uint64_t request_id = 0;
  std::vector<int32_t> context;  // every token the session must hold before the first sample
  SamplerConfig sampler;
  uint64_t seed = 0;
  int32_t max_tokens = 256;
  bool keep_full_logits = false;
};

// The full logits of one step, computed again (steps of vocabularies too large to keep, or read
// from a session file): `context` is every token fed before the step (Turn::history).
struct LogitsRequest {
  uint64_t request_id = 0;
  std::vector<int32_t> context;
};

struct LogitsResult {
  uint64_t request_id = 0;
  std::vector<float> logits;  // n_vocab floats; empty with `error` set when it failed
  QString error;
};

struct GenerateSummary {
  uint64_t request_id = 0;
  StopReason reason = StopReason::kMaxTokens;
  int32_t generated = 0;
  Timings timings;
  int32_t position = 0;
  int32_t context_size = 0;
};

}  // namespace tokenfab::gui

Q_DECLARE_METATYPE(tokenfab::gui::ModelInfo)
Q_DECLARE_METATYPE(tokenfab::gui::TokenStep)
Q_DECLARE_METATYPE(tokenfab::gui::GenerateRequest)
Q_DECLARE_METATYPE(tokenfab::gui::GenerateSummary)
Q_DECLARE_METATYPE(tokenfab::gui::LogitsRequest)
Q_DECLARE_METATYPE(tokenfab::gui::LogitsResult)
