// Which template renders a model's prompts: the model's own tokenizer.chat_template while it
// works, else a built-in one chosen from the vocabulary. A template in a downloaded file is
// untrusted; when it fails, the model keeps working with the built-in and the user is told why.
#include "tokenfab/chat_template.h"
#include "tokenfab/gguf.h"

namespace tokenfab {

namespace {

// tokens[key id], "" when the key is absent; an id outside the vocabulary is an error.
Result<std::string> specialTokenText(const gguf::GgufFile& file, std::string_view key,
                                     const std::vector<std::string>& tokens) {
  if (!file.find(key)) return std::string();
  TF_ASSIGN_OR_RETURN(int64_t id, file.getInt(key));
  // -1 / 0xFFFFFFFF mean "none" in some converters.
  if (id < 0 || id == 0xFFFFFFFF) return std::string();
  if (static_cast<uint64_t>(id) >= tokens.size())
    return Status(Code::kTokenizerBadVocab, std::string(key) + " = " + std::to_string(id) +
                                                " is outside the vocabulary of " + std::to_string(tokens.size()));
  return tokens[static_cast<size_t>(id)];
}

// A status as one line for a person: the template's message, newlines folded.
std::string oneLine(const Status& status) {
  std::string text = status.message();
  for (char& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  return text;
}

// Why `source` cannot serve as the model's template ("" when it can): it must parse and render
// a plain conversation, or at least a lone user message (some templates refuse system roles).
std::string probeFailure(const std::string& source, const std::string& bos, const std::string& eos) {
  Result<ChatTemplate> parsed = ChatTemplate::parse(source);
  if (!parsed.isOk()) return oneLine(parsed.status());
  RenderOptions opts;
  opts.bos_token = bos;
  opts.eos_token = eos;
  const auto with_system = nlohmann::ordered_json::parse(
      R"([{"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": "Hello"}])");
  Result<std::string> out = parsed->render(with_system, opts);
  if (out.isOk()) return "";
  if (out.status().code() == Code::kTemplateRaised) {
    out = parsed->render(nlohmann::ordered_json::parse(R"([{"role": "user", "content": "Hello"}])"), opts);
    if (out.isOk()) return "";
  }
  return oneLine(out.status());
}

}  // namespace

ModelChatTemplate chooseChatTemplate(const std::optional<std::string>& own_template, const std::string& arch,
                                     const std::vector<std::string>& vocab_tokens, std::string bos_token,
                                     std::string eos_token) {
  ModelChatTemplate out;
  out.bos_token = std::move(bos_token);
  out.eos_token = std::move(eos_token);
  out.spare_builtin = std::string(pickBuiltinTemplate(arch, vocab_tokens));
  out.has_own_template = own_template && !own_template->empty();
  if (out.has_own_template) {
    out.fallback_reason = probeFailure(*own_template, out.bos_token, out.eos_token);
    if (out.fallback_reason.empty()) {
      out.source = *own_template;
      return out;
    }
  }
  out.builtin_name = out.spare_builtin;
  out.source = std::string(builtinTemplate(out.builtin_name));
  return out;
}

Result<std::string> renderModelChatTemplate(const ModelChatTemplate& t, const nlohmann::ordered_json& messages,
                                            const RenderOptions& opts, std::string* note) {
  Result<std::string> out = renderChatTemplate(t.source, messages, opts);
  const bool own = t.builtin_name.empty();
  if (out.isOk() || !own || out.status().code() == Code::kTemplateRaised ||
      out.status().code() == Code::kInvalidArgument)
    return out;
  if (note) {
    *note = "the model's chat template failed (" + oneLine(out.status()) + "); using the built-in '" +
            t.spare_builtin + "' template";
  }
  return renderChatTemplate(std::string(builtinTemplate(t.spare_builtin)), messages, opts);
}

Result<std::string> renderModelChatTemplate(const ModelChatTemplate& t, const std::vector<ChatMessage>& messages,
                                            const RenderOptions& opts, std::string* note) {
  return renderModelChatTemplate(t, toJson(messages), opts, note);
}

Result<ModelChatTemplate> chatTemplateForModel(const gguf::GgufFile& file) {
  std::vector<std::string> tokens;
  if (const gguf::Value::Array* arr = file.getArray("tokenizer.ggml.tokens")) {
    tokens.reserve(arr->items.size());
    for (const gguf::Value& v : arr->items) {
      const std::string* s = v.asString();
      if (!s) return Status(Code::kTokenizerBadVocab, "tokenizer.ggml.tokens holds a non-string value");
      tokens.push_back(*s);
    }
  }
  TF_ASSIGN_OR_RETURN(std::string bos, specialTokenText(file, "tokenizer.ggml.bos_token_id", tokens));
  TF_ASSIGN_OR_RETURN(std::string eos, specialTokenText(file, "tokenizer.ggml.eos_token_id", tokens));
  std::optional<std::string> own;
  if (file.find("tokenizer.chat_template")) {
    TF_ASSIGN_OR_RETURN(own, file.getString("tokenizer.chat_template"));
  }
  std::string arch;
  if (file.find("general.architecture")) {
    TF_ASSIGN_OR_RETURN(arch, file.getString("general.architecture"));
  }
  return chooseChatTemplate(own, arch, tokens, std::move(bos), std::move(eos));
}

}  // namespace tokenfab
