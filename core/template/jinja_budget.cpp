#include "template/jinja_budget.h"

#include <string>

#include "template/jinja_value.h"

namespace tokenfab::jinja {

namespace {

// Adds n to `used`; fails when the sum would pass `limit` (checked without overflowing).
void charge(uint64_t& used, uint64_t n, uint64_t limit, const char* what) {
  if (n > limit || used > limit - n) {
    used = limit;
    fail(Code::kTemplateLimit, std::string("template exceeded its budget of ") + std::to_string(limit) + " " + what);
  }
  used += n;
}

}  // namespace

uint64_t saturatingMul(uint64_t a, uint64_t b) {
  uint64_t r = 0;
  return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

void Budget::steps(uint64_t n) { charge(m_usage.steps, n, m_limits.max_steps, "steps"); }

void Budget::loopIteration() {
  charge(m_usage.loop_iterations, 1, m_limits.max_loop_iterations, "loop iterations");
  steps();
}

void Budget::workBytes(uint64_t n) { charge(m_usage.work_bytes, n, m_limits.max_work_bytes, "work bytes"); }

void Budget::items(uint64_t n, uint64_t item_bytes) {
  const uint64_t bytes = saturatingMul(n, item_bytes);
  checkValueSize(bytes);
  steps(n);
  workBytes(bytes);
}

void Budget::checkValueSize(uint64_t bytes) const {
  if (bytes > m_limits.max_output_bytes)
    fail(Code::kTemplateLimit, "a value of " + std::to_string(bytes) + " bytes exceeds the limit of " +
                                   std::to_string(m_limits.max_output_bytes));
}

Budget::Nested::Nested(uint32_t& depth, uint32_t& peak, uint32_t limit, const char* what) : m_depth(depth) {
  if (depth >= limit)
    fail(Code::kTemplateLimit, std::string(what) + " nested deeper than " + std::to_string(limit));
  ++m_depth;
  if (m_depth > peak) peak = m_depth;
}

}  // namespace tokenfab::jinja
