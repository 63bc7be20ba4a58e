// What one render of a template may spend, and what it has spent. A chat template comes from a
// downloaded model file, so it is hostile input: every unit of work it can cause is charged here,
// and a template that asks for too much ends with kTemplateLimit. The bounds count work (steps,
// bytes, nesting), never time, so a template passes or fails the same way on every machine.
#pragma once

#include <cstdint>

#include "tokenfab/template_limits.h"

namespace tokenfab::jinja {

// The public limits, plus the nesting bounds that keep the recursion within the stack (fixed:
// they protect the process, not a policy a caller should loosen).
struct Limits : TemplateLimits {
  uint32_t max_nesting = 256;      // nested expressions / blocks in the source
  uint32_t max_eval_depth = 1024;  // nested evaluation, summed over macro calls
};

using Usage = TemplateUsage;

// a * b, or UINT64_MAX when the product does not fit (sizes are compared against limits, so a
// saturated size fails the check as it should).
uint64_t saturatingMul(uint64_t a, uint64_t b);

class Budget {
 public:
  explicit Budget(const Limits& limits) : m_limits(limits) {}

  // Each throws JinjaError{kTemplateLimit} once its limit is passed.
  void steps(uint64_t n = 1);
  void loopIteration();
  void workBytes(uint64_t n);
  // A result of `n` items of `item_bytes` each is about to be built: its steps and bytes are
  // charged before any of it exists, so a huge request fails without allocating.
  void items(uint64_t n, uint64_t item_bytes);
  // A single value (string, or list as n * sizeof(Value)) of `bytes` may exist.
  void checkValueSize(uint64_t bytes) const;
  void setOutputBytes(uint64_t n) { m_usage.output_bytes = n; }

  // Held while a nested evaluation / macro call runs; entering past the limit throws.
  class Nested {
   public:
    Nested(uint32_t& depth, uint32_t& peak, uint32_t limit, const char* what);
    ~Nested() { --m_depth; }
    Nested(const Nested&) = delete;
    Nested& operator=(const Nested&) = delete;

   private:
    uint32_t& m_depth;
  };
  [[nodiscard]] Nested enterEval() { return Nested(m_eval_depth, m_usage.eval_depth, m_limits.max_eval_depth, "evaluation"); }
  [[nodiscard]] Nested enterCall() { return Nested(m_call_depth, m_usage.call_depth, m_limits.max_call_depth, "macro calls"); }

  const Limits& limits() const { return m_limits; }
  const Usage& usage() const { return m_usage; }

 private:
  Limits m_limits;
  Usage m_usage;
  uint32_t m_eval_depth = 0;
  uint32_t m_call_depth = 0;
};

}  // namespace tokenfab::jinja
