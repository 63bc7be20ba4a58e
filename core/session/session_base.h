// What every backend's Session shares: the token history, the last logits, timings and the
// generate loop (sampler chain + streaming detokenizer + stop flag + end of generation).
// A backend only implements forward(): feed tokens at a position, return logits.
#pragma once

#include <chrono>
#include <vector>

#include "tokenfab/engine.h"

namespace tokenfab::detail {

class SessionBase : public Session {
 public:
  SessionBase(const Tokenizer& tokenizer, int32_t n_vocab, int32_t n_ctx)
      : m_tokenizer(tokenizer), m_n_vocab(n_vocab), m_n_ctx(n_ctx) {}

  int32_t contextSize() const override { return m_n_ctx; }
  int32_t position() const override { return static_cast<int32_t>(m_tokens.size()); }
  const std::vector<int32_t>& tokens() const override { return m_tokens; }

  Result<std::span<const float>> decode(std::span<const int32_t> tokens) override;
  Result<std::vector<float>> decodeAll(std::span<const int32_t> tokens) override;
  Status rewind(int32_t pos) override;
  Result<GenerateResult> generate(std::span<const int32_t> prompt, const GenerateOptions& options,
                                  const StepFn& on_step) override;

  const Timings& timings() const override { return m_timings; }
  void resetTimings() override;

 protected:
  // Feeds `tokens` at positions pos0.. (the backend's cache already holds 0..pos0-1) and writes
  // the logits of the last token to `last` (n_vocab), or of every token to `all` when non-null
  // (n_tokens x n_vocab).
  virtual Status forward(std::span<const int32_t> tokens, int32_t pos0, std::vector<float>& last,
                         std::vector<float>* all) = 0;
  // Drops cached positions >= pos.
  virtual Status truncate(int32_t pos) = 0;

  Timings m_timings;

 private:
  Status checkTokens(std::span<const int32_t> tokens) const;

  const Tokenizer& m_tokenizer;
  int32_t m_n_vocab;
  int32_t m_n_ctx;
  std::vector<int32_t> m_tokens;
  std::vector<float> m_logits;  // (n_vocab) after the last token of m_tokens; empty if none
};

double msSince(std::chrono::steady_clock::time_point start);

}  // namespace tokenfab::detail
