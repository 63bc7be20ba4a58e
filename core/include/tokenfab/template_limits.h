// The budget of one chat-template render and what a render spent: the sandbox's limits, shared
// by the public API (RenderOptions) and the interpreter (core/template/jinja_budget.h).
#pragma once

#include <cstdint>

namespace tokenfab {

// Bounds on one render. A model's template is untrusted input: everything it can make the
// interpreter do is counted, and a template that asks for more ends with kTemplateLimit. They
// count work, not time, so a render passes or fails alike on every machine. (Nesting is bounded
// too, by fixed limits that keep the recursion within the stack: 256 levels in the source and
// in values, 1024 levels of evaluation.)
struct TemplateLimits {
  uint64_t max_steps = 4'000'000;          // expressions, statements, loop iterations, items built-ins visit
  uint64_t max_loop_iterations = 200'000;  // summed over all loops of one render
  uint64_t max_work_bytes = 128u << 20;    // bytes of text and lists built, copied or scanned
  uint64_t max_output_bytes = 32u << 20;   // the prompt, and any single value
  uint32_t max_call_depth = 64;            // nested macro calls
};

// What one render spent (filled in when RenderOptions::usage is set, on success and failure).
struct TemplateUsage {
  uint64_t steps = 0;
  uint64_t loop_iterations = 0;
  uint64_t work_bytes = 0;
  uint64_t output_bytes = 0;
  uint32_t call_depth = 0;  // deepest macro nesting
  uint32_t eval_depth = 0;  // deepest evaluation nesting
};

}  // namespace tokenfab
