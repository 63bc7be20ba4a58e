// The Jinja subset, construct by construct: data/jinja_cases.json holds hand-computed
// (template, variables, expected) cases; verify_cases.py checks the same file against real
// Jinja2 in the transformers configuration, so both engines are held to one expectation.
#include <gtest/gtest.h>

#include "render_helper.h"
#include "shared_data.h"

namespace tokenfab {
namespace {

using Json = nlohmann::ordered_json;

Json loadCases() {
  std::string text = test::readFile(test::sourceDir() / "tests/chat_template/data/jinja_cases.json");
  if (text.empty()) return Json();
  return Json::parse(text)["cases"];
}

TEST(JinjaCases, EveryHandComputedCaseRenders) {
  Json cases = loadCases();
  ASSERT_TRUE(cases.is_array()) << "tests/chat_template/data/jinja_cases.json missing";
  ASSERT_GE(cases.size(), 50u);
  for (const Json& c : cases) {
    SCOPED_TRACE(c["name"].get<std::string>() + ": " + c["template"].get<std::string>());
    Result<std::string> out = test::renderWith(c["template"].get<std::string>(), c["vars"]);
    ASSERT_TRUE(out.isOk()) << out.status().toString();
    EXPECT_EQ(out.value(), c["expected"].get<std::string>());
  }
}

// Hand-checked spot cases kept in C++ so a reader sees them without opening the JSON.
TEST(JinjaSyntax, WhitespaceControlAndBlocks) {
  EXPECT_EQ(test::renderWith("{% for x in xs %}\n  {{ x }}\n{% endfor %}", {{"xs", {1, 2}}}).value(), "  1\n  2\n");
  EXPECT_EQ(test::renderWith("{%- if true -%}  a  {%- endif -%}").value(), "a");
  EXPECT_EQ(test::renderWith("x\n    {% if true %}\ny\n    {% endif %}\nz").value(), "x\ny\nz");
}

TEST(JinjaSyntax, MacroArgumentsAndDefaults) {
  const std::string tmpl =
      "{% macro tag(name, body='', close=true) %}<{{ name }}>{{ body }}{% if close %}</{{ name }}>{% endif %}"
      "{% endmacro %}{{ tag('a') }}|{{ tag('b', 'x') }}|{{ tag('c', close=false) }}";
  EXPECT_EQ(test::renderWith(tmpl).value(), "<a></a>|<b>x</b>|<c>");
}

TEST(JinjaSyntax, MessagesVariableAndGenerationPrompt) {
  RenderOptions opts;
  opts.add_generation_prompt = false;
  opts.bos_token = "<s>";
  Json msgs = Json::parse(R"([{"role": "user", "content": "hi"}])");
  const std::string tmpl =
      "{{ bos_token }}{% for m in messages %}{{ m.role }}:{{ m['content'] }}{% endfor %}"
      "{% if add_generation_prompt %}!{% endif %}";
  EXPECT_EQ(renderChatTemplate(tmpl, msgs, opts).value(), "<s>user:hi");
  opts.add_generation_prompt = true;
  EXPECT_EQ(renderChatTemplate(tmpl, msgs, opts).value(), "<s>user:hi!");
}

TEST(JinjaSyntax, ToolsIsNoneWhenNotGiven) {
  // transformers passes tools=None: defined, but none.
  EXPECT_EQ(test::renderWith("{{ tools is defined }} {{ tools is none }}").value(), "True True");
}

TEST(JinjaSyntax, ChatMessageStructOverload) {
  std::vector<ChatMessage> msgs = {{"user", "hello", {{"name", "bob"}}}};
  Result<std::string> out = renderChatTemplate("{% for m in messages %}{{ m.name }}/{{ m.content }}{% endfor %}", msgs);
  ASSERT_TRUE(out.isOk()) << out.status().toString();
  EXPECT_EQ(out.value(), "bob/hello");
}

}  // namespace
}  // namespace tokenfab

namespace tokenfab {
namespace {

TEST(ChatTemplateHandle, ParseOnceRenderMany) {
  Result<ChatTemplate> tmpl = ChatTemplate::parse("{% for m in messages %}[{{ m.content }}]{% endfor %}{{ eos_token }}");
  ASSERT_TRUE(tmpl.isOk()) << tmpl.status().toString();
  RenderOptions opts;
  opts.eos_token = "</s>";
  nlohmann::ordered_json msgs = nlohmann::ordered_json::array();
  std::string expected;
  for (int turn = 0; turn < 3; ++turn) {
    msgs.push_back({{"role", "user"}, {"content", "t" + std::to_string(turn)}});
    expected += "[t" + std::to_string(turn) + "]";
    Result<std::string> out = tmpl->render(msgs, opts);
    ASSERT_TRUE(out.isOk()) << out.status().toString();
    EXPECT_EQ(out.value(), expected + "</s>");
  }
  EXPECT_EQ(ChatTemplate::parse("{% if %}").status().code(), Code::kTemplateSyntax);
  EXPECT_EQ(tmpl->render(nlohmann::ordered_json::object()).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace tokenfab
