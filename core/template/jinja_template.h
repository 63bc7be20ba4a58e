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
#include "template/jinja_ast.h"
#include "template/jinja_budget.h"
#include "template/jinja_lexer.h"
#include "template/jinja_value.h"

namespace tokenfab::jinja {

// kTemplateSyntax with "line L, column C: ..." on a parse error; kTemplateLimit when the source
// nests deeper than limits.max_nesting.
Result<std::shared_ptr<const Template>> parseTemplate(std::string_view source, const Limits& limits = {},
                                                      const LexOptions& lex_options = {});

struct RenderContext {
  ValueDict variables;  // messages, bos_token, ...
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();  // strftime_now()
  Limits limits;
};

// kTemplateRuntime / kTemplateRaised (raise_exception) / kTemplateLimit on failure, with the
// position in the source. No exception escapes. `usage` (optional) receives the work done.
Result<std::string> renderTemplate(const Template& tmpl, const RenderContext& context, Usage* usage = nullptr);

}  // namespace tokenfab::jinja
