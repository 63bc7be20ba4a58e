// The engine's own Jinja2-subset: parse a template once, render it many times in a sandbox.
// Configuration matches Hugging Face transformers' chat templates: trim_blocks, lstrip_blocks,
// loop controls, raise_exception(), strftime_now(), tojson without ASCII escaping.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "tokenfab/status.h"
#include "tokenizer/jinja_ast.h"
#include "tokenizer/jinja_lexer.h"
#include "tokenizer/jinja_value.h"

namespace tokenfab::jinja {

// Bounds that keep a hostile template from hanging or exhausting the process.
struct Limits {
  uint64_t max_loop_iterations = 200'000;    // summed over every loop of one render
  uint64_t max_steps = 4'000'000;            // evaluated expressions and statements
  uint64_t max_output_bytes = 32u << 20;     // output, and any single string value
  uint32_t max_call_depth = 64;              // nested macro calls
  uint32_t max_parse_depth = 200;            // nested expressions / blocks in the source
  uint32_t max_render_ms = 1000;             // wall-clock budget for one render
};

// kTemplateSyntax with "line L, column C: ..." on a parse error.
Result<std::shared_ptr<const Template>> parseTemplate(std::string_view source, const Limits& limits = {},
                                                      const LexOptions& lex_options = {});

struct RenderContext {
  ValueDict variables;  // messages, bos_token, ...
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();  // strftime_now()
  Limits limits;
};

// kTemplateRuntime / kTemplateRaised (raise_exception) / kTemplateLimit on failure.
Result<std::string> renderTemplate(const Template& tmpl, const RenderContext& context);

}  // namespace tokenfab::jinja
