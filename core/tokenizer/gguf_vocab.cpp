// Reads the tokenizer.ggml.* keys of a GGUF file into a VocabData.
#include <algorithm>

#include "tokenfab/gguf.h"
#include "tokenfab/tokenizer.h"

namespace tokenfab {

namespace {

Status wrongType(std::string_view key, std::string_view want) {
  return {Code::kTokenizerBadVocab, std::string(key) + " must be " + std::string(want)};
}

Result<std::vector<std::string>> stringArray(const gguf::GgufFile& file, std::string_view key,
                                             bool required) {
  std::vector<std::string> out;
  const gguf::Value* value = file.find(key);
  if (value == nullptr) {
    if (required) return Status(Code::kTokenizerBadVocab, std::string(key) + " is missing");
    return out;
  }
  const gguf::Value::Array* array = value->asArray();
  if (array == nullptr) return wrongType(key, "an array of strings");
  out.reserve(array->items.size());
  for (const gguf::Value& item : array->items) {
    const std::string* s = item.asString();
    if (s == nullptr) return wrongType(key, "an array of strings");
    out.push_back(*s);
  }
  return out;
}

Status optionalId(const gguf::GgufFile& file, std::string_view key, std::optional<int64_t>& out) {
  const gguf::Value* value = file.find(key);
  if (value == nullptr) return Status::ok();
  auto v = value->toInt();
  if (!v) return wrongType(key, "an integer");
  out = *v;
  return Status::ok();
}

Status optionalBool(const gguf::GgufFile& file, std::string_view key, std::optional<bool>& out) {
  const gguf::Value* value = file.find(key);
  if (value == nullptr) return Status::ok();
  auto v = value->toBool();
  if (!v) return wrongType(key, "a bool");
  out = *v;
  return Status::ok();
}

}  // namespace

Result<Tokenizer> Tokenizer::fromGguf(const gguf::GgufFile& file) {
  VocabData data;
  const gguf::Value* model = file.find("tokenizer.ggml.model");
  if (model == nullptr)
    return Status(Code::kTokenizerBadVocab, "tokenizer.ggml.model is missing (no vocabulary)");
  if (model->asString() == nullptr) return wrongType("tokenizer.ggml.model", "a string");
  data.model = *model->asString();
  if (const gguf::Value* pre = file.find("tokenizer.ggml.pre")) {
    if (pre->asString() == nullptr) return wrongType("tokenizer.ggml.pre", "a string");
    data.pre = *pre->asString();
  }
  TF_ASSIGN_OR_RETURN(data.tokens, stringArray(file, "tokenizer.ggml.tokens", true));
  TF_ASSIGN_OR_RETURN(data.merges, stringArray(file, "tokenizer.ggml.merges", false));
  if (const gguf::Value* scores = file.find("tokenizer.ggml.scores")) {
    const gguf::Value::Array* array = scores->asArray();
    if (array == nullptr) return wrongType("tokenizer.ggml.scores", "an array of numbers");
    data.scores.reserve(array->items.size());
    for (const gguf::Value& item : array->items) {
      auto d = item.toDouble();
      if (!d) return wrongType("tokenizer.ggml.scores", "an array of numbers");
      data.scores.push_back(static_cast<float>(*d));
    }
  }
  if (const gguf::Value* types = file.find("tokenizer.ggml.token_type")) {
    const gguf::Value::Array* array = types->asArray();
    if (array == nullptr) return wrongType("tokenizer.ggml.token_type", "an array of integers");
    data.token_types.reserve(array->items.size());
    for (const gguf::Value& item : array->items) {
      auto i = item.toInt();
      if (!i) return wrongType("tokenizer.ggml.token_type", "an array of integers");
      data.token_types.push_back(static_cast<int32_t>(std::clamp<int64_t>(*i, -1, 1000)));
    }
  }
  TF_RETURN_IF_ERROR(optionalId(file, "tokenizer.ggml.bos_token_id", data.bos_id));
  TF_RETURN_IF_ERROR(optionalId(file, "tokenizer.ggml.eos_token_id", data.eos_id));
  TF_RETURN_IF_ERROR(optionalId(file, "tokenizer.ggml.unknown_token_id", data.unk_id));
  TF_RETURN_IF_ERROR(optionalId(file, "tokenizer.ggml.seperator_token_id", data.sep_id));
  TF_RETURN_IF_ERROR(optionalId(file, "tokenizer.ggml.padding_token_id", data.pad_id));
  TF_RETURN_IF_ERROR(optionalId(file, "tokenizer.ggml.eot_token_id", data.eot_id));
  TF_RETURN_IF_ERROR(optionalId(file, "tokenizer.ggml.eom_token_id", data.eom_id));
  TF_RETURN_IF_ERROR(optionalBool(file, "tokenizer.ggml.add_bos_token", data.add_bos));
  TF_RETURN_IF_ERROR(optionalBool(file, "tokenizer.ggml.add_eos_token", data.add_eos));
  TF_RETURN_IF_ERROR(optionalBool(file, "tokenizer.ggml.add_space_prefix", data.add_space_prefix));
  return fromVocab(std::move(data));
}

}  // namespace tokenfab
