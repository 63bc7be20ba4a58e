// libFuzzer target for the chat-template interpreter: the input is a template, as the
// tokenizer.chat_template of a downloaded GGUF could hold it. Whatever the bytes, rendering must
// end with a string or a template Status within its budget: never a crash, a hang, an exception
// or unbounded memory. The seeds are the hostile battery of tests/chat_template, so each of its
// cases also runs here under libFuzzer's -timeout and -rss_limit_mb.
//
// The budget is the default one divided by 32: this build runs under ASan, UBSan and coverage
// instrumentation, 10-20 times slower than a release build (about 80 ns per byte of work where a
// release build takes 5), on a machine that may be busy; a render that stays inside a budget is
// correct however long the instrumentation makes it. What the fuzzer hunts is work that escapes
// the budget, and that breaks any time limit at any scale.
#include <cstdint>
#include <string>

#include "tokenfab/chat_template.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

// A conversation that reaches the usual template paths: system, tools, tool calls, tool results.
const nlohmann::ordered_json& conversation() {
  static const auto messages = nlohmann::ordered_json::parse(R"([
    {"role": "system", "content": "You are helpful."},
    {"role": "user", "content": "Weather in Paris? \u00e9\ud83d\ude42"},
    {"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "type": "function",
      "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
    {"role": "tool", "tool_call_id": "c1", "name": "get_weather", "content": "{\"temp\": 21.5}"},
    {"role": "assistant", "content": "21.5 degrees."},
    {"role": "user", "content": "Thanks"}])");
  return messages;
}

const nlohmann::ordered_json& tools() {
  static const auto tools = nlohmann::ordered_json::parse(R"([{"type": "function", "function": {
    "name": "get_weather", "description": "Weather of a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}])");
  return tools;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string tmpl(reinterpret_cast<const char*>(data), size);
  tokenfab::RenderOptions opts;
  opts.bos_token = "<s>";
  opts.eos_token = "</s>";
  opts.tools = tools();
  opts.now = std::chrono::system_clock::time_point(std::chrono::hours(24 * 365 * 56));
  const tokenfab::TemplateLimits defaults;
  constexpr uint64_t kScale = 32;
  opts.limits.max_steps = defaults.max_steps / kScale;
  opts.limits.max_loop_iterations = defaults.max_loop_iterations / kScale;
  opts.limits.max_work_bytes = defaults.max_work_bytes / kScale;
  opts.limits.max_output_bytes = defaults.max_output_bytes / kScale;
  tokenfab::TemplateUsage usage;
  opts.usage = &usage;
  auto out = tokenfab::renderChatTemplate(tmpl, conversation(), opts);
  using tokenfab::Code;
  const Code code = out.status().code();
  check(code == Code::kOk || code == Code::kTemplateSyntax || code == Code::kTemplateRuntime ||
        code == Code::kTemplateRaised || code == Code::kTemplateLimit);
  const tokenfab::TemplateLimits& limits = opts.limits;
  check(usage.steps <= limits.max_steps && usage.loop_iterations <= limits.max_loop_iterations);
  check(usage.work_bytes <= limits.max_work_bytes && usage.call_depth <= limits.max_call_depth);
  if (out.isOk()) check(out->size() <= limits.max_output_bytes && out->size() == usage.output_bytes);
  return 0;
}
