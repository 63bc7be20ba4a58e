// chatTemplateForModel(): the model's own template and BOS/EOS texts from GGUF metadata, or a
// built-in template chosen from its vocabulary.
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

}  // namespace

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
  ModelChatTemplate out;
  TF_ASSIGN_OR_RETURN(out.bos_token, specialTokenText(file, "tokenizer.ggml.bos_token_id", tokens));
  TF_ASSIGN_OR_RETURN(out.eos_token, specialTokenText(file, "tokenizer.ggml.eos_token_id", tokens));
  if (file.find("tokenizer.chat_template")) {
    TF_ASSIGN_OR_RETURN(out.source, file.getString("tokenizer.chat_template"));
    if (!out.source.empty()) return out;
  }
  std::string arch;
  if (file.find("general.architecture")) {
    TF_ASSIGN_OR_RETURN(arch, file.getString("general.architecture"));
  }
  out.builtin_name = std::string(pickBuiltinTemplate(arch, tokens));
  out.source = std::string(builtinTemplate(out.builtin_name));
  return out;
}

}  // namespace tokenfab
