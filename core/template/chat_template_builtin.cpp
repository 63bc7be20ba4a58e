// Built-in chat templates (written for this project from the published prompt formats) and the
// heuristic that picks one for a model without tokenizer.chat_template.
#include <algorithm>
#include <array>
#include <utility>

#include "tokenfab/chat_template.h"

namespace tokenfab {

namespace {

// <|im_start|>role\ncontent<|im_end|>\n
constexpr std::string_view kChatml =
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

// <s>[INST] <<SYS>>\nsystem\n<</SYS>>\n\nuser [/INST] assistant </s><s>[INST] user [/INST]
constexpr std::string_view kLlama2 =
    "{% if messages and messages[0]['role'] == 'system' %}"
    "{% set system_message = messages[0]['content'] %}{% set loop_messages = messages[1:] %}"
    "{% else %}{% set loop_messages = messages %}{% endif %}"
    "{% for message in loop_messages %}"
    "{% if message['role'] == 'user' %}"
    "{% if loop.first and system_message is defined %}"
    "{{ bos_token + '[INST] <<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] | trim + ' [/INST]' }}"
    "{% else %}{{ bos_token + '[INST] ' + message['content'] | trim + ' [/INST]' }}{% endif %}"
    "{% elif message['role'] == 'assistant' %}{{ ' ' + message['content'] | trim + ' ' + eos_token }}"
    "{% endif %}"
    "{% endfor %}";

// <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>
constexpr std::string_view kLlama3 =
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

// <s>[INST] system\n\nuser [/INST] assistant</s>[INST] user [/INST]
constexpr std::string_view kMistral =
    "{% if messages and messages[0]['role'] == 'system' %}"
    "{% set system_message = messages[0]['content'] %}{% set loop_messages = messages[1:] %}"
    "{% else %}{% set loop_messages = messages %}{% endif %}"
    "{{ bos_token }}"
    "{% for message in loop_messages %}"
    "{% if message['role'] == 'user' %}"
    "{% if loop.first and system_message is defined %}"
    "{{ '[INST] ' + system_message + '\\n\\n' + message['content'] + ' [/INST]' }}"
    "{% else %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% endif %}"
    "{% elif message['role'] == 'assistant' %}{{ ' ' + message['content'] + eos_token }}"
    "{% endif %}"
    "{% endfor %}";

// <|system|>\ncontent<|end|>\n<|user|>\ncontent<|end|>\n<|assistant|>\n
constexpr std::string_view kPhi3 =
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\\n' + message['content'] + '<|end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}";

// Gemma has no system role: the system text opens the first user turn.
constexpr std::string_view kGemma =
    "{{ bos_token }}"
    "{% if messages and messages[0]['role'] == 'system' %}"
    "{% set first_prefix = messages[0]['content'] + '\\n\\n' %}{% set loop_messages = messages[1:] %}"
    "{% else %}{% set first_prefix = '' %}{% set loop_messages = messages %}{% endif %}"
    "{% for message in loop_messages %}"
    "{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
    "{{ '<start_of_turn>' + role + '\\n' + (first_prefix if loop.first else '') + message['content'] | trim + '<end_of_turn>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif %}";

// <|system|>\ncontent</s>\n<|user|>\ncontent</s>\n<|assistant|>\n
constexpr std::string_view kZephyr =
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\\n' + message['content'] + eos_token + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}";

constexpr std::array<std::pair<std::string_view, std::string_view>, 7> kBuiltins = {{
    {"chatml", kChatml},
    {"llama2", kLlama2},
    {"llama3", kLlama3},
    {"mistral", kMistral},
    {"phi3", kPhi3},
    {"gemma", kGemma},
    {"zephyr", kZephyr},
}};

}  // namespace

std::string_view builtinTemplate(std::string_view name) {
  for (const auto& [n, t] : kBuiltins)
    if (n == name) return t;
  return {};
}

std::vector<std::string_view> builtinTemplateNames() {
  std::vector<std::string_view> out;
  for (const auto& [n, t] : kBuiltins) out.push_back(n);
  return out;
}

std::string_view pickBuiltinTemplate(const std::string& arch, const std::vector<std::string>& vocab_tokens) {
  auto has = [&](std::string_view token) {
    return std::find(vocab_tokens.begin(), vocab_tokens.end(), token) != vocab_tokens.end();
  };
  if (has("<|im_start|>")) return "chatml";
  if (has("<|start_header_id|>")) return "llama3";
  if (has("<start_of_turn>")) return "gemma";
  if (has("<|user|>")) return has("<|end|>") ? "phi3" : "zephyr";
  if (has("[INST]")) return "mistral";
  if (arch.rfind("gemma", 0) == 0) return "gemma";
  if (arch == "phi3") return "phi3";
  if (arch == "llama" && has("<s>") && has("</s>")) return "llama2";
  return "chatml";
}

}  // namespace tokenfab
