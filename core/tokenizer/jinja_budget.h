// What one render of a template may spend, and what it has spent. A chat template comes from a
// downloaded model file, so it is hostile input: every unit of work it can cause is charged here,
// and a template that asks for too much ends with kTemplateLimit. The bounds count work (steps,
// bytes, nesting), never time, so a template passes or fails the same way on every machine.
#pragma once

#include <cstdint>

namespace tokenfab::jinja {

struct Limits {
  // Evaluated expressions and statements, loop iterations, items a built-in visits or builds,
  // comparisons made while sorting...: each costs one step.
  uint64_t max_steps = 4'000'000;
  uint64_t max_loop_iterations = 200'000;  // summed over every loop of one render
  // Bytes of strings built, copied or scanned and list items built (sizeof(Value) each): this
  // bounds both the time spent on long strings and the memory the values can hold.
  uint64_t max_work_bytes = 128u << 20;
  uint64_t max_output_bytes = 32u << 20;  // the output, and any single value
  uint32_t max_call_depth = 64;           // nested macro calls
  uint32_t max_nesting = 256;             // nested expressions / blocks in the source
  uint32_t max_eval_depth = 1024;         // nested evaluation, summed over macro calls
};

// What a render spent (filled in on success and on failure).
struct Usage {
  uint64_t steps = 0;
  uint64_t loop_iterations = 0;
  uint64_t work_bytes = 0;
  uint64_t output_bytes = 0;
  uint32_t call_depth = 0;  // the deepest reached
  uint32_t eval_depth = 0;  // the deepest reached
};

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
