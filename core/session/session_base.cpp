#include "session/session_base.h"

#include <string>

namespace tokenfab::detail {

double msSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

Status SessionBase::checkTokens(std::span<const int32_t> tokens) const {
  if (tokens.size() > static_cast<size_t>(m_n_ctx - position())) {
    return Status(Code::kModelPromptTooLong,
                  std::to_string(tokens.size()) + " tokens do not fit: the context holds " + std::to_string(m_n_ctx) +
                      " positions and " + std::to_string(position()) + " are used");
  }
  for (int32_t id : tokens) {
    if (id < 0 || id >= m_n_vocab)
      return Status(Code::kOutOfRange,
                    "token id " + std::to_string(id) + " is outside the vocabulary (0.." + std::to_string(m_n_vocab - 1) + ")");
  }
  return Status::ok();
}

Result<std::span<const float>> SessionBase::decode(std::span<const int32_t> tokens) {
  if (tokens.empty()) {
    if (m_logits.empty()) return Status(Code::kInvalidArgument, "decode: no tokens given and none decoded yet");
    return std::span<const float>(m_logits);
  }
  TF_RETURN_IF_ERROR(checkTokens(tokens));
  const int32_t pos0 = position();
  Status s = forward(tokens, pos0, m_logits, nullptr);
  if (!s.isOk()) {
    // The backend may have written part of the cache: forget everything from pos0 on.
    m_logits.clear();
    (void)truncate(pos0);
    return s;
  }
  m_tokens.insert(m_tokens.end(), tokens.begin(), tokens.end());
  return std::span<const float>(m_logits);
}

Result<std::vector<float>> SessionBase::decodeAll(std::span<const int32_t> tokens) {
  if (tokens.empty()) return std::vector<float>{};
  TF_RETURN_IF_ERROR(checkTokens(tokens));
  const int32_t pos0 = position();
  std::vector<float> all;
  Status s = forward(tokens, pos0, m_logits, &all);
  if (!s.isOk()) {
    m_logits.clear();
    (void)truncate(pos0);
    return s;
  }
  m_tokens.insert(m_tokens.end(), tokens.begin(), tokens.end());
  return all;
}

Status SessionBase::rewind(int32_t pos) {
  if (pos < 0 || pos > position())
    return Status(Code::kOutOfRange,
                  "rewind to " + std::to_string(pos) + ": the session holds " + std::to_string(position()) + " positions");
  if (pos == position()) return Status::ok();
  TF_RETURN_IF_ERROR(truncate(pos));
  m_tokens.resize(static_cast<size_t>(pos));
  // The cache rows before `pos` are untouched, so re-feeding gives bit-identical results. The
  // logits after position pos - 1 are gone: the next call must feed at least one token.
  m_logits.clear();
  return Status::ok();
}

void SessionBase::resetTimings() {
  const uint64_t bytes = m_timings.weight_bytes_per_token;
  const uint32_t dispatches = m_timings.dispatches_per_token;
  m_timings = Timings{};
  m_timings.weight_bytes_per_token = bytes;
  m_timings.dispatches_per_token = dispatches;
}

Result<GenerateResult> SessionBase::generate(std::span<const int32_t> prompt, const GenerateOptions& options,
                                             const StepFn& on_step) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  if (!prompt.empty()) {
    TF_RETURN_IF_ERROR(decode(prompt).status());
    m_timings.prompt_tokens += static_cast<int64_t>(prompt.size());
    m_timings.prompt_ms += msSince(start);
  } else if (m_logits.empty()) {
    return Status(Code::kInvalidArgument, "generate: empty prompt and nothing decoded yet");
  }
  TF_RETURN_IF_ERROR(validateSamplerConfig(options.sampler));

  SamplerChain chain(options.sampler, options.seed);
  StreamDecoder stream(m_tokenizer);
  // Text continues the prompt: SPM keeps the leading space unless only BOS came before.
  if (!m_tokens.empty() && m_tokens.back() != m_tokenizer.bos()) stream.continueText();
  GenerateResult result;
  result.reason = StopReason::kMaxTokens;
  auto step_start = Clock::now();
  bool first = true;
  for (int32_t i = 0; i < options.max_tokens; ++i) {
    if (options.stop && options.stop->load(std::memory_order_relaxed)) {
      result.reason = StopReason::kStopRequested;
      break;
    }
    TF_ASSIGN_OR_RETURN(SampleResult sampled, chain.sample(m_logits, m_tokens));
    m_timings.sampler_ms += sampled.trace.sampler_us / 1000.0;
    const int32_t token = sampled.token;
    StepEvent event;
    event.trace = std::move(sampled.trace);
    event.trace.position = position();
    event.trace.text = m_tokenizer.piece(token);
    event.text = stream.push(token);
    if (options.keep_full_logits) event.logits = m_logits;
    event.step_ms = msSince(step_start);
    if (first) {
      m_timings.first_token_ms = msSince(start);
      first = false;
    }
    result.tokens.push_back(token);
    result.text += event.text;
    m_timings.generated_tokens += 1;
    m_timings.generate_ms += event.step_ms;

    const bool go_on = on_step ? on_step(event) : true;
    // Every emitted token except an end-of-generation one is fed, so the session always holds
    // exactly the text the user saw (a chat continues from there).
    if (options.stop_at_eog && m_tokenizer.isEog(token)) {
      result.reason = StopReason::kEndOfGeneration;
      break;
    }
    if (position() >= m_n_ctx) {
      result.reason = StopReason::kContextFull;
      break;
    }
    step_start = Clock::now();
    TF_RETURN_IF_ERROR(decode(std::span<const int32_t>(&token, 1)).status());
    if (!go_on) {
      result.reason = StopReason::kStopRequested;
      break;
    }
  }
  result.text += stream.flush();
  return result;
}

}  // namespace tokenfab::detail
