// Every case of the shared chat-template references must render byte for byte:
// expected_hf.json (real Jinja2 in the transformers configuration) and expected.json
// (llama.cpp's renderer: HF semantics plus the system-role polyfill and leading-BOS removal).
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "shared_data.h"
#include "tokenfab/chat_template.h"

namespace tokenfab {
namespace {

using Json = nlohmann::ordered_json;

// The references were rendered with strftime_now() pinned to 2026-07-26.
std::chrono::system_clock::time_point pinnedNow() {
  return std::chrono::sys_days{std::chrono::year{2026} / 7 / 26} + std::chrono::hours{12};
}

TEST(ChatTemplateReference, HuggingFaceCases) {
  TF_SHARED_FILE(path, "reference/chat_templates/expected_hf.json");
  Json ref = Json::parse(test::readFile(path));
  const Json& conversations = ref["conversations"];
  ASSERT_GT(ref["cases"].size(), 0u);
  int checked = 0;
  for (const Json& c : ref["cases"]) {
    std::string name = c["template_file"].get<std::string>() + " / " + c["conversation"].get<std::string>();
    SCOPED_TRACE(name);
    std::string tmpl = test::readFile(path.parent_path() / c["template_file"].get<std::string>());
    ASSERT_FALSE(tmpl.empty());
    RenderOptions opts;
    opts.bos_token = c["bos_token"].get<std::string>();
    opts.eos_token = c["eos_token"].get<std::string>();
    opts.add_generation_prompt = ref["add_generation_prompt"].get<bool>();
    opts.now = pinnedNow();
    Result<std::string> out = renderChatTemplate(tmpl, conversations[c["conversation"].get<std::string>()], opts);
    if (c.contains("error")) {
      ASSERT_FALSE(out.isOk()) << "expected an error, got:\n" << out.value();
      EXPECT_EQ(out.status().code(), Code::kTemplateRaised);
      EXPECT_EQ(out.status().message(), c["error"].get<std::string>());
    } else {
      ASSERT_TRUE(out.isOk()) << out.status().toString();
      EXPECT_EQ(out.value(), c["expected"].get<std::string>());
    }
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(ref["cases"].size()));
}

TEST(ChatTemplateReference, LlamaCppCases) {
  TF_SHARED_FILE(path, "reference/chat_templates/expected.json");
  Json ref = Json::parse(test::readFile(path));
  ASSERT_GT(ref["cases"].size(), 0u);
  for (const Json& c : ref["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    RenderOptions opts;
    opts.bos_token = c["bos_token"].get<std::string>();
    opts.eos_token = c["eos_token"].get<std::string>();
    opts.add_generation_prompt = ref["add_generation_prompt"].get<bool>();
    opts.now = pinnedNow();
    opts.llama_cpp_compat = true;
    Result<std::string> out = renderChatTemplate(c["template"].get<std::string>(), ref["conversation"], opts);
    ASSERT_TRUE(out.isOk()) << out.status().toString();
    EXPECT_EQ(out.value(), c["expected"].get<std::string>());
  }
}

// Without the polyfill (HF semantics), a template that rejects the system role must fail with
// its own message: the polyfill is what makes those expected.json cases pass, not the default.
TEST(ChatTemplateReference, PolyfillIsOffByDefault) {
  TF_SHARED_FILE(path, "reference/chat_templates/expected.json");
  Json ref = Json::parse(test::readFile(path));
  int rejected = 0;
  for (const Json& c : ref["cases"]) {
    if (c["name"].get<std::string>() != "google/gemma-7b-it") continue;
    Result<std::string> out = renderChatTemplate(c["template"].get<std::string>(), ref["conversation"], {});
    ASSERT_FALSE(out.isOk());
    EXPECT_EQ(out.status().code(), Code::kTemplateRaised);
    EXPECT_EQ(out.status().message(), "System role not supported");
    ++rejected;
  }
  EXPECT_EQ(rejected, 1);
}

// The other reference templates (tool-use variants) must at least parse and render the plain
// conversations without a runtime error.
TEST(ChatTemplateReference, AllReferenceTemplatesRender) {
  TF_SHARED_FILE(dir, "reference/chat_templates");
  Json ref = Json::parse(test::readFile(dir / "expected_hf.json"));
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".jinja") continue;
    SCOPED_TRACE(entry.path().filename().string());
    std::string tmpl = test::readFile(entry.path());
    EXPECT_TRUE(checkChatTemplate(tmpl).isOk()) << checkChatTemplate(tmpl).toString();
    RenderOptions opts;
    opts.now = pinnedNow();
    // Tool-use templates iterate `tools` unconditionally; firefunction also wants these two.
    opts.tools = Json::parse(R"([{"type": "function", "function": {"name": "get_weather",
        "description": "Get the weather", "parameters": {"type": "object", "properties":
        {"city": {"type": "string", "description": "City name"}}, "required": ["city"]}}}])");
    opts.extra_context = {{"functions", "[]"}, {"datetime", "2026-07-26"}};
    Result<std::string> out = renderChatTemplate(tmpl, ref["conversations"]["no_system"], opts);
    EXPECT_TRUE(out.isOk()) << out.status().toString();
    if (out.isOk()) {
      EXPECT_NE(out->find("Hello"), std::string::npos);
    }
    ++count;
  }
  EXPECT_EQ(count, 17);  // every .jinja file in the folder
}

}  // namespace
}  // namespace tokenfab

namespace tokenfab {
namespace {

// Tool calling: every reference template rendered for a tool-calling conversation (arguments as
// a mapping and as a JSON string), with two tools, against real Jinja2's output
// (data/tool_cases.json, generated by make_tool_cases.py).
TEST(ChatTemplateReference, ToolCallingMatchesJinja2) {
  TF_SHARED_FILE(dir, "reference/chat_templates");
  std::string text = test::readFile(test::sourceDir() / "tests/chat_template/data/tool_cases.json");
  ASSERT_FALSE(text.empty()) << "tests/chat_template/data/tool_cases.json missing";
  Json ref = Json::parse(text);
  int rendered = 0, raised = 0, failed = 0;
  for (const Json& c : ref["cases"]) {
    std::string name = c["template_file"].get<std::string>() + " / " + c["variant"].get<std::string>();
    SCOPED_TRACE(name);
    std::string tmpl = test::readFile(dir / c["template_file"].get<std::string>());
    ASSERT_FALSE(tmpl.empty());
    RenderOptions opts;
    opts.bos_token = ref["bos_token"].get<std::string>();
    opts.eos_token = ref["eos_token"].get<std::string>();
    opts.tools = ref["tools"];
    opts.extra_context = ref["extra_context"];
    opts.now = pinnedNow();
    Result<std::string> out = renderChatTemplate(tmpl, ref["variants"][c["variant"].get<std::string>()], opts);
    if (c.contains("expected")) {
      ASSERT_TRUE(out.isOk()) << out.status().toString();
      EXPECT_EQ(out.value(), c["expected"].get<std::string>());
      ++rendered;
    } else if (c.contains("error")) {
      ASSERT_FALSE(out.isOk());
      EXPECT_EQ(out.status().code(), Code::kTemplateRaised);
      EXPECT_EQ(out.status().message(), c["error"].get<std::string>());
      ++raised;
    } else {  // Jinja2 fails inside the template (e.g. str + dict): so must we
      ASSERT_FALSE(out.isOk()) << "Jinja2 failed with " << c["runtime_error"].get<std::string>();
      EXPECT_EQ(out.status().code(), Code::kTemplateRuntime) << out.status().toString();
      ++failed;
    }
  }
  EXPECT_EQ(rendered + raised + failed, 34);
  EXPECT_GE(rendered, 28);
}

}  // namespace
}  // namespace tokenfab
