// Chat templates: turn a conversation into the prompt text a model was trained on.
// Renders a model's `tokenizer.chat_template` (Jinja2) with the engine's own sandboxed Jinja
// subset, in the Hugging Face transformers configuration; or one of the built-in templates when
// a model has none.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenfab/status.h"
#include "tokenfab/template_limits.h"

namespace tokenfab {

struct ChatMessage {
  std::string role;     // "system", "user", "assistant", "tool"...
  std::string content;
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();  // tool_calls, name, ...
};

// [{"role": ..., "content": ..., extra fields...}, ...]
nlohmann::ordered_json toJson(const std::vector<ChatMessage>& messages);

struct RenderOptions {
  std::string bos_token;
  std::string eos_token;
  bool add_generation_prompt = true;
  nlohmann::ordered_json tools;  // null: `tools` is None in the template (as transformers passes it)
  nlohmann::ordered_json extra_context = nlohmann::ordered_json::object();  // more variables
  std::optional<std::chrono::system_clock::time_point> now;  // strftime_now(); default: the clock
  // Render as llama.cpp does (what /work/shared/.../expected.json holds). Off by default, which
  // is Hugging Face transformers' behaviour. When on:
  //  - a template that rejects or drops the system role gets the system text prepended to the
  //    next user message, joined by "\n" (detected by rendering a probe conversation);
  //  - a bos_token printed first and an eos_token printed last are removed (the tokenizer
  //    adds BOS itself; generation must not start after EOS);
  //  - blanks at the start of a line before "{{" are stripped like those before "{%".
  bool llama_cpp_compat = false;
  TemplateLimits limits;
  TemplateUsage* usage = nullptr;  // receives the work of the (last) render
};

// Renders `tmpl` for `messages` (a JSON array of message objects). Errors:
// kTemplateSyntax ("line L, column C: ..."), kTemplateRuntime, kTemplateRaised (the message
// passed to raise_exception()), kTemplateLimit, kInvalidArgument (messages not an array).
Result<std::string> renderChatTemplate(const std::string& tmpl, const nlohmann::ordered_json& messages,
                                       const RenderOptions& opts = {});
Result<std::string> renderChatTemplate(const std::string& tmpl, const std::vector<ChatMessage>& messages,
                                       const RenderOptions& opts = {});

// kTemplateSyntax if `tmpl` does not parse; ok otherwise.
Status checkChatTemplate(const std::string& tmpl);

namespace jinja {
struct Template;
}

// A template parsed once and rendered for every turn of a conversation. Cheap to copy.
class ChatTemplate {
 public:
  // `llama_cpp_compat` must match the RenderOptions it will be rendered with (it changes how
  // whitespace before "{{" is lexed).
  static Result<ChatTemplate> parse(const std::string& source, bool llama_cpp_compat = false);
  Result<std::string> render(const nlohmann::ordered_json& messages, const RenderOptions& opts = {}) const;

 private:
  explicit ChatTemplate(std::shared_ptr<const jinja::Template> tmpl) : m_tmpl(std::move(tmpl)) {}
  std::shared_ptr<const jinja::Template> m_tmpl;
};

// Built-in templates, for models whose GGUF has no tokenizer.chat_template.
// Names: chatml, llama2, llama3, mistral, phi3, gemma, zephyr. Empty view for an unknown name.
std::string_view builtinTemplate(std::string_view name);
std::vector<std::string_view> builtinTemplateNames();

// Chooses a built-in template name from the architecture and the vocabulary's special tokens:
//   "<|im_start|>"                      -> chatml
//   "<|start_header_id|>"               -> llama3
//   "<start_of_turn>"                   -> gemma
//   "<|user|>" and "<|end|>"            -> phi3
//   "<|user|>" (no "<|end|>")           -> zephyr
//   "[INST]"                            -> mistral (Mistral v3+ vocabularies have it as a token)
//   arch "gemma*"                       -> gemma
//   arch "phi3"                         -> phi3
//   arch "llama" with "<s>" and "</s>"  -> llama2 (Llama-2 writes [INST] as plain text)
//   anything else                       -> chatml
std::string_view pickBuiltinTemplate(const std::string& arch, const std::vector<std::string>& vocab_tokens);

namespace gguf {
class GgufFile;
}

// What a model file says about its prompt format, and the template its prompts are rendered with.
struct ModelChatTemplate {
  std::string source;           // the template prompts are rendered with
  std::string builtin_name;     // set when `source` is a built-in (the model has none, or its own failed)
  std::string fallback_reason;  // set when the model's own template failed: why, in one line
  bool has_own_template = false;  // the file has a tokenizer.chat_template (used or not)
  std::string spare_builtin;    // the built-in picked from the vocabulary (for renderModelChatTemplate)
  std::string bos_token;        // tokenizer.ggml.tokens[bos_token_id] ("" if the model has none)
  std::string eos_token;
};

// The one place that decides which template renders a model's prompts (the CLI and the GUI both
// come here). A model's own template is untrusted: it is used when it parses and renders a plain
// conversation (system + user, or user alone when it refuses the system role); otherwise the
// built-in pickBuiltinTemplate(arch, vocab) replaces it and `fallback_reason` says why.
ModelChatTemplate chooseChatTemplate(const std::optional<std::string>& own_template, const std::string& arch,
                                     const std::vector<std::string>& vocab_tokens, std::string bos_token,
                                     std::string eos_token);

// Renders with t.source. When that is the model's own template and it fails for this
// conversation (for any reason but raise_exception(), the template's deliberate refusal), the
// spare built-in renders it instead and `note` (if given) receives one line saying so.
Result<std::string> renderModelChatTemplate(const ModelChatTemplate& t, const nlohmann::ordered_json& messages,
                                            const RenderOptions& opts, std::string* note = nullptr);
Result<std::string> renderModelChatTemplate(const ModelChatTemplate& t, const std::vector<ChatMessage>& messages,
                                            const RenderOptions& opts, std::string* note = nullptr);

// chooseChatTemplate() with the file's template, architecture and vocabulary.
// kTokenizerBadVocab when a bos/eos id lies outside tokenizer.ggml.tokens;
// kGgufWrongValueType when tokenizer.chat_template is not a string.
Result<ModelChatTemplate> chatTemplateForModel(const gguf::GgufFile& file);

}  // namespace tokenfab
