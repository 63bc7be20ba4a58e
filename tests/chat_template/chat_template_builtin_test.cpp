// Built-in templates (hand-written expected prompts, and cross-checks against the real model
// templates' llama.cpp renderings), the vocabulary heuristic, and reading a model's template
// from GGUF metadata.
#include <gtest/gtest.h>

#include "render_helper.h"
#include "shared_data.h"
#include "tokenfab/gguf.h"

namespace tokenfab {
namespace {

using Json = nlohmann::ordered_json;

Json conversation() {
  return Json::parse(R"([{"role": "system", "content": "S"}, {"role": "user", "content": "U1"},
                         {"role": "assistant", "content": "A1"}, {"role": "user", "content": "U2"}])");
}

std::string renderBuiltin(std::string_view name, const std::string& bos, const std::string& eos) {
  RenderOptions opts;
  opts.bos_token = bos;
  opts.eos_token = eos;
  std::string_view tmpl = builtinTemplate(name);
  EXPECT_FALSE(tmpl.empty()) << name;
  Result<std::string> out = renderChatTemplate(std::string(tmpl), conversation(), opts);
  EXPECT_TRUE(out.isOk()) << name << ": " << out.status().toString();
  return out.isOk() ? out.value() : "";
}

TEST(BuiltinTemplates, HandWrittenPrompts) {
  EXPECT_EQ(renderBuiltin("chatml", "", ""),
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU1<|im_end|>\n<|im_start|>assistant\nA1<|im_end|>\n"
            "<|im_start|>user\nU2<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(renderBuiltin("llama2", "<s>", "</s>"),
            "<s>[INST] <<SYS>>\nS\n<</SYS>>\n\nU1 [/INST] A1 </s><s>[INST] U2 [/INST]");
  EXPECT_EQ(renderBuiltin("llama3", "<|begin_of_text|>", "<|eot_id|>"),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nU1<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nA1<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nU2<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(renderBuiltin("mistral", "<s>", "</s>"), "<s>[INST] S\n\nU1 [/INST] A1</s>[INST] U2 [/INST]");
  EXPECT_EQ(renderBuiltin("phi3", "<s>", "<|endoftext|>"),
            "<|system|>\nS<|end|>\n<|user|>\nU1<|end|>\n<|assistant|>\nA1<|end|>\n<|user|>\nU2<|end|>\n<|assistant|>\n");
  EXPECT_EQ(renderBuiltin("gemma", "<bos>", "<eos>"),
            "<bos><start_of_turn>user\nS\n\nU1<end_of_turn>\n<start_of_turn>model\nA1<end_of_turn>\n"
            "<start_of_turn>user\nU2<end_of_turn>\n<start_of_turn>model\n");
  EXPECT_EQ(renderBuiltin("zephyr", "<s>", "</s>"),
            "<|system|>\nS</s>\n<|user|>\nU1</s>\n<|assistant|>\nA1</s>\n<|user|>\nU2</s>\n<|assistant|>\n");
  EXPECT_TRUE(builtinTemplate("nope").empty());
  EXPECT_EQ(builtinTemplateNames().size(), 7u);
}

// The built-ins must agree with the real models' templates where the formats coincide.
TEST(BuiltinTemplates, MatchRealTemplatesRenderedByLlamaCpp) {
  TF_SHARED_FILE(path, "reference/chat_templates/expected.json");
  Json ref = Json::parse(test::readFile(path));
  const std::pair<const char*, const char*> pairs[] = {
      {"teknium/OpenHermes-2.5-Mistral-7B", "chatml"}, {"Llama-3", "llama3"}, {"Phi-3-small", "phi3"}};
  int matched = 0;
  for (const Json& c : ref["cases"]) {
    for (const auto& [case_name, builtin] : pairs) {
      if (c["name"].get<std::string>() != case_name) continue;
      RenderOptions opts;
      opts.bos_token = c["bos_token"].get<std::string>();
      opts.eos_token = c["eos_token"].get<std::string>();
      Result<std::string> out = renderChatTemplate(std::string(builtinTemplate(builtin)), ref["conversation"], opts);
      ASSERT_TRUE(out.isOk()) << out.status().toString();
      EXPECT_EQ(out.value(), c["expected"].get<std::string>()) << builtin;
      ++matched;
    }
  }
  EXPECT_EQ(matched, 3);
}

TEST(BuiltinTemplates, PickByVocabulary) {
  using V = std::vector<std::string>;
  EXPECT_EQ(pickBuiltinTemplate("qwen2", V{"a", "<|im_start|>", "<|im_end|>"}), "chatml");
  EXPECT_EQ(pickBuiltinTemplate("llama", V{"<|begin_of_text|>", "<|start_header_id|>"}), "llama3");
  EXPECT_EQ(pickBuiltinTemplate("gemma2", V{"<bos>", "<start_of_turn>"}), "gemma");
  EXPECT_EQ(pickBuiltinTemplate("llama", V{"<s>", "<|user|>", "<|end|>"}), "phi3");
  EXPECT_EQ(pickBuiltinTemplate("llama", V{"<s>", "</s>", "<|user|>"}), "zephyr");
  EXPECT_EQ(pickBuiltinTemplate("llama", V{"<s>", "</s>", "[INST]", "[/INST]"}), "mistral");
  EXPECT_EQ(pickBuiltinTemplate("llama", V{"<unk>", "<s>", "</s>", "a"}), "llama2");
  EXPECT_EQ(pickBuiltinTemplate("gemma", V{"x"}), "gemma");
  EXPECT_EQ(pickBuiltinTemplate("phi3", V{"x"}), "phi3");
  EXPECT_EQ(pickBuiltinTemplate("gpt2", V{"<|endoftext|>"}), "chatml");
  EXPECT_EQ(pickBuiltinTemplate("", V{}), "chatml");
}

// Real vocabularies: Phi-3 has <|user|>/<|end|> tokens; Llama-2's SPM vocab has only <s>, </s>.
TEST(BuiltinTemplates, PickForSharedVocabularies) {
  TF_SHARED_FILE(phi3, "models/vocab/ggml-vocab-phi-3.gguf");
  TF_SHARED_FILE(llama, "models/vocab/ggml-vocab-llama-spm.gguf");
  auto phi3_file = gguf::GgufFile::open(phi3);
  ASSERT_TRUE(phi3_file.isOk()) << phi3_file.status().toString();
  auto phi3_info = chatTemplateForModel(phi3_file.value());
  ASSERT_TRUE(phi3_info.isOk()) << phi3_info.status().toString();
  if (phi3_info->builtin_name.empty()) {
    EXPECT_NE(phi3_info->source.find("<|user|>"), std::string::npos);  // the file carries its own
  } else {
    EXPECT_EQ(phi3_info->builtin_name, "phi3");
  }
  auto llama_file = gguf::GgufFile::open(llama);
  ASSERT_TRUE(llama_file.isOk()) << llama_file.status().toString();
  auto llama_info = chatTemplateForModel(llama_file.value());
  ASSERT_TRUE(llama_info.isOk()) << llama_info.status().toString();
  EXPECT_EQ(llama_info->bos_token, "<s>");
  EXPECT_EQ(llama_info->eos_token, "</s>");
  if (llama_info->builtin_name.empty()) {
    EXPECT_FALSE(llama_info->source.empty());
  } else {
    EXPECT_EQ(llama_info->builtin_name, "llama2");
  }
}

// stories260K has no chat template (MANIFEST): a built-in one is picked, BOS/EOS from its vocab.
TEST(ModelChatTemplate, Stories260KFallsBackToBuiltin) {
  TF_SHARED_FILE(path, "models/stories260K.gguf");
  auto file = gguf::GgufFile::open(path);
  ASSERT_TRUE(file.isOk()) << file.status().toString();
  auto info = chatTemplateForModel(file.value());
  ASSERT_TRUE(info.isOk()) << info.status().toString();
  EXPECT_EQ(info->builtin_name, "llama2");
  EXPECT_EQ(info->source, builtinTemplate("llama2"));
  EXPECT_EQ(info->bos_token, "<s>");
  EXPECT_EQ(info->eos_token, "</s>");
}

gguf::GgufFile makeVocabFile(std::optional<std::string> chat_template, uint32_t bos_id) {
  gguf::GgufWriter w;
  w.set("general.architecture", gguf::Value::string("qwen2"));
  std::vector<gguf::Value> tokens;
  for (const char* t : {"<|endoftext|>", "<|im_start|>", "<|im_end|>", "hi"}) tokens.push_back(gguf::Value::string(t));
  w.set("tokenizer.ggml.tokens", gguf::Value::array(gguf::ValueType::kString, tokens));
  w.set("tokenizer.ggml.bos_token_id", gguf::Value::u32(bos_id));
  w.set("tokenizer.ggml.eos_token_id", gguf::Value::u32(2));
  if (chat_template) w.set("tokenizer.chat_template", gguf::Value::string(*chat_template));
  auto bytes = w.toBytes();
  EXPECT_TRUE(bytes.isOk());
  auto file = gguf::GgufFile::parse(bytes.value());
  EXPECT_TRUE(file.isOk()) << file.status().toString();
  return std::move(file).value();
}

TEST(ModelChatTemplate, ReadsTemplateAndSpecialTokensFromGguf) {
  auto own = chatTemplateForModel(makeVocabFile("{{ bos_token }}x{{ eos_token }}", 0));
  ASSERT_TRUE(own.isOk()) << own.status().toString();
  EXPECT_EQ(own->builtin_name, "");
  EXPECT_EQ(own->source, "{{ bos_token }}x{{ eos_token }}");
  EXPECT_EQ(own->bos_token, "<|endoftext|>");
  EXPECT_EQ(own->eos_token, "<|im_end|>");

  auto fallback = chatTemplateForModel(makeVocabFile(std::nullopt, 0));
  ASSERT_TRUE(fallback.isOk()) << fallback.status().toString();
  EXPECT_EQ(fallback->builtin_name, "chatml");

  auto bad = chatTemplateForModel(makeVocabFile(std::nullopt, 99));
  EXPECT_EQ(bad.status().code(), Code::kTokenizerBadVocab);
}

// A model's template that fails (here the reported namespace cycle and a huge repetition) is
// replaced by the built-in picked from its vocabulary, and the reason is one line with the position.
TEST(ModelChatTemplate, FailingTemplateFallsBackWithAReason) {
  const std::string hostile = "{% set ns = namespace() %}{% set ns.me = ns %}{{ ns == ns }}{{ '' ~ 'x' * 9223372036854775807 }}";
  auto info = chatTemplateForModel(makeVocabFile(hostile, 0));
  ASSERT_TRUE(info.isOk()) << info.status().toString();
  EXPECT_TRUE(info->has_own_template);
  EXPECT_EQ(info->builtin_name, "chatml");
  EXPECT_EQ(info->source, builtinTemplate("chatml"));
  EXPECT_EQ(info->fallback_reason.rfind("line 1, column ", 0), 0u) << info->fallback_reason;
  EXPECT_NE(info->fallback_reason.find("exceeds the limit"), std::string::npos) << info->fallback_reason;

  auto unparsable = chatTemplateForModel(makeVocabFile("{% for m in messages %}", 0));
  ASSERT_TRUE(unparsable.isOk());
  EXPECT_EQ(unparsable->builtin_name, "chatml");
  EXPECT_NE(unparsable->fallback_reason.find("endfor"), std::string::npos) << unparsable->fallback_reason;
}

// A template that refuses the system role (raise_exception) but renders a lone user message is
// the model's own and stays.
TEST(ModelChatTemplate, TemplateThatRefusesSystemRoleIsKept) {
  const std::string no_system =
      "{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('System role not supported') }}"
      "{% endif %}<{{ m.role }}>{{ m.content }}{% endfor %}";
  ModelChatTemplate t = chooseChatTemplate(no_system, "llama", {"<s>", "</s>"}, "<s>", "</s>");
  EXPECT_EQ(t.builtin_name, "");
  EXPECT_EQ(t.fallback_reason, "");
  EXPECT_EQ(t.source, no_system);
  EXPECT_EQ(t.spare_builtin, "llama2");
  // Its refusal reaches the user as is: raise_exception() is the template's deliberate answer.
  std::string note;
  Result<std::string> refused = renderModelChatTemplate(t, conversation(), {}, &note);
  EXPECT_EQ(refused.status().code(), Code::kTemplateRaised);
  EXPECT_EQ(refused.status().message(), "System role not supported");
  EXPECT_EQ(note, "");
}

// A template that passes the probe but fails on a longer conversation: that prompt is rendered
// with the spare built-in, and the note says so.
TEST(ModelChatTemplate, RenderFallsBackForOneConversation) {
  const std::string fragile = "{% if messages | length > 2 %}{{ 1 // 0 }}{% endif %}{% for m in messages %}{{ m.content }}{% endfor %}";
  ModelChatTemplate t = chooseChatTemplate(fragile, "qwen2", {"<|im_start|>"}, "", "<|im_end|>");
  ASSERT_EQ(t.builtin_name, "");
  std::string note;
  Result<std::string> out = renderModelChatTemplate(t, conversation(), {}, &note);
  ASSERT_TRUE(out.isOk()) << out.status().toString();
  EXPECT_EQ(*out,
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU1<|im_end|>\n<|im_start|>assistant\nA1<|im_end|>\n"
            "<|im_start|>user\nU2<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_NE(note.find("built-in 'chatml'"), std::string::npos) << note;
  EXPECT_NE(note.find("division or modulo by zero"), std::string::npos) << note;
  // Two messages are fine: the model's own template renders them.
  note.clear();
  auto two = nlohmann::ordered_json::parse(R"([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}])");
  EXPECT_EQ(renderModelChatTemplate(t, two, {}, &note).value(), "ab");
  EXPECT_EQ(note, "");
}

}  // namespace
}  // namespace tokenfab
