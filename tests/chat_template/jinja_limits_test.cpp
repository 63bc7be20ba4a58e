// Errors and sandbox bounds: bad templates give a clear Status (with line/column for syntax
// errors), hostile ones end quickly with kTemplateLimit, and nothing crashes on any prefix of a
// real template or on random bytes.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>

#include "render_helper.h"
#include "shared_data.h"

namespace tokenfab {
namespace {

using Clock = std::chrono::steady_clock;

Status renderStatus(const std::string& tmpl, TemplateLimits limits = {}) {
  return test::renderWith(tmpl, nlohmann::ordered_json::object(), limits).status();
}

TEST(JinjaErrors, SyntaxErrorHasLineAndColumn) {
  Status s = renderStatus("hello\n{{ x + }}");
  EXPECT_EQ(s.code(), Code::kTemplateSyntax);
  EXPECT_EQ(s.message().rfind("line 2, column 8: ", 0), 0u) << s.toString();
  ASSERT_TRUE(s.offset().has_value());
  EXPECT_EQ(*s.offset(), 13u);  // "hello\n" is 6 bytes, then "{{ x + " is 7

  Status unclosed = renderStatus("a\nb {% if x %}abc");
  EXPECT_EQ(unclosed.code(), Code::kTemplateSyntax);
  EXPECT_NE(unclosed.message().find("endif"), std::string::npos) << unclosed.toString();

  EXPECT_EQ(renderStatus("{{ 'abc }}").code(), Code::kTemplateSyntax);
  EXPECT_EQ(renderStatus("{# never closed").code(), Code::kTemplateSyntax);
  EXPECT_EQ(renderStatus("{% endfor %}").code(), Code::kTemplateSyntax);
  EXPECT_EQ(renderStatus("{% frobnicate %}").code(), Code::kTemplateSyntax);
  EXPECT_EQ(renderStatus("{{ ) }}").code(), Code::kTemplateSyntax);
  EXPECT_EQ(renderStatus("{% break %}").code(), Code::kTemplateSyntax);
  EXPECT_EQ(renderStatus("{% for x in y %}{% macro m() %}{% break %}{% endmacro %}{% endfor %}").code(),
            Code::kTemplateSyntax);
}

TEST(JinjaErrors, UnknownFilterAndTest) {
  Status f = renderStatus("{{ x | nosuchfilter }}");
  EXPECT_EQ(f.code(), Code::kTemplateSyntax);
  EXPECT_NE(f.message().find("no filter named 'nosuchfilter'"), std::string::npos) << f.toString();
  EXPECT_EQ(f.message().rfind("line 1, column 6: ", 0), 0u) << f.toString();
  Status t = renderStatus("{{ x is nosuchtest }}");
  EXPECT_EQ(t.code(), Code::kTemplateSyntax);
  EXPECT_NE(t.message().find("no test named 'nosuchtest'"), std::string::npos) << t.toString();
  EXPECT_EQ(checkChatTemplate("{{ a | trim }}").code(), Code::kOk);
  EXPECT_EQ(checkChatTemplate("{{ a | bogus }}").code(), Code::kTemplateSyntax);
}

TEST(JinjaErrors, RaiseException) {
  Status s = renderStatus("ok{{ raise_exception('Conversation roles must alternate') }}");
  EXPECT_EQ(s.code(), Code::kTemplateRaised);
  EXPECT_EQ(s.message(), "Conversation roles must alternate");
}

TEST(JinjaErrors, RuntimeErrors) {
  EXPECT_EQ(renderStatus("{{ 1 + 'a' }}").code(), Code::kTemplateRuntime);
  EXPECT_EQ(renderStatus("{{ u.x }}").code(), Code::kTemplateRuntime);  // attribute of undefined
  EXPECT_EQ(renderStatus("{{ u['x'] }}").code(), Code::kTemplateRuntime);
  EXPECT_EQ(renderStatus("{% for x in 5 %}{% endfor %}").code(), Code::kTemplateRuntime);
  EXPECT_EQ(renderStatus("{{ 1 / 0 }}").code(), Code::kTemplateRuntime);
  EXPECT_EQ(renderStatus("{{ 1 // 0 }}").code(), Code::kTemplateRuntime);
  EXPECT_EQ(renderStatus("{% set x = 1 %}{% set x.y = 1 %}").code(), Code::kTemplateRuntime);
  EXPECT_EQ(renderStatus("{{ u() }}").code(), Code::kTemplateRuntime);
  EXPECT_EQ(renderStatus("{{ u | tojson }}").code(), Code::kTemplateRuntime);
  EXPECT_EQ(renderStatus("{{ 'a' < 1 }}").code(), Code::kTemplateRuntime);
  EXPECT_EQ(renderStatus("{{ 'x'.nosuchmethod() }}").code(), Code::kTemplateRuntime);
  Status s = renderStatus("line one\n  {{ 1 + none }}");
  EXPECT_EQ(s.message().rfind("line 2", 0), 0u) << s.toString();
  // messages must be a list
  EXPECT_EQ(renderChatTemplate("x", nlohmann::ordered_json::object()).status().code(), Code::kInvalidArgument);
}

struct LimitCase {
  const char* name;
  const char* tmpl;
};

TEST(JinjaLimits, HostileTemplatesEndFastWithLimitError) {
  const LimitCase cases[] = {
      {"huge range", "{% for i in range(1000000000000) %}{% endfor %}"},
      {"nested loops", "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"},
      {"infinite recursion", "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"},
      {"mutual recursion", "{% macro a() %}{{ b() }}{% endmacro %}{% macro b() %}{{ a() }}{% endmacro %}{{ a() }}"},
      {"huge output", "{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}"},
      {"huge repetition", "{{ 'x' * 10000000000 }}"},
      {"doubling string", "{% set ns = namespace(s='x') %}{% for i in range(100) %}{% set ns.s = ns.s + ns.s %}{% endfor %}"},
      {"doubling list", "{% set ns = namespace(l=[1]) %}{% for i in range(100) %}{% set ns.l = ns.l + ns.l %}{% endfor %}"},
      {"integer overflow", "{{ 2 ** 100 }}"},
      {"deep nesting", nullptr},
  };
  std::string deep = "{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}";
  for (const LimitCase& c : cases) {
    SCOPED_TRACE(c.name);
    // CPU time: the build machine is shared, so wall time measures the neighbours too.
    std::clock_t cpu_start = std::clock();
    auto start = Clock::now();
    Status s = renderStatus(c.tmpl ? c.tmpl : deep);
    double cpu_ms = 1000.0 * static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
    double wall_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    EXPECT_EQ(s.code(), Code::kTemplateLimit) << s.toString();
    EXPECT_LT(cpu_ms, 1000.0) << "took " << cpu_ms << " ms of CPU, " << wall_ms << " ms of wall time";
    std::printf("  %-20s %7.1f ms CPU %7.1f ms wall: %s\n", c.name, cpu_ms, wall_ms, s.message().c_str());
  }
}

TEST(JinjaLimits, LimitsAreConfigurable) {
  TemplateLimits tight;
  tight.max_loop_iterations = 10;
  EXPECT_EQ(renderStatus("{% for i in range(10) %}{% endfor %}", tight).code(), Code::kOk);
  EXPECT_EQ(renderStatus("{% for i in range(11) %}{% endfor %}", tight).code(), Code::kTemplateLimit);
  tight.max_output_bytes = 5;
  EXPECT_EQ(renderStatus("12345", tight).code(), Code::kOk);
  EXPECT_EQ(renderStatus("123456", tight).code(), Code::kTemplateLimit);
  TemplateLimits shallow;
  shallow.max_call_depth = 3;
  const char* rec = "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{% endif %}{% endmacro %}";
  EXPECT_EQ(renderStatus(std::string(rec) + "{{ f(2) }}", shallow).code(), Code::kOk);
  EXPECT_EQ(renderStatus(std::string(rec) + "{{ f(3) }}", shallow).code(), Code::kTemplateLimit);
}

// Every prefix of a real template either renders or fails with a template error: never a crash.
TEST(JinjaRobustness, EveryPrefixOfARealTemplate) {
  TF_SHARED_FILE(path, "reference/chat_templates/meta-llama-Llama-3.1-8B-Instruct.jinja");
  std::string tmpl = test::readFile(path);
  ASSERT_FALSE(tmpl.empty());
  auto msgs = nlohmann::ordered_json::parse(R"([{"role": "user", "content": "hi"}])");
  int ok = 0, syntax = 0, other = 0;
  for (size_t n = 0; n <= tmpl.size(); ++n) {
    RenderOptions opts;
    opts.now = test::pinnedNow();
    Result<std::string> out = renderChatTemplate(tmpl.substr(0, n), msgs, opts);
    if (out.isOk()) ++ok;
    else if (out.status().code() == Code::kTemplateSyntax) ++syntax;
    else ++other;
    Code code = out.status().code();
    ASSERT_TRUE(code == Code::kOk || code == Code::kTemplateSyntax || code == Code::kTemplateRuntime ||
                code == Code::kTemplateRaised)
        << "prefix length " << n << ": " << out.status().toString();
  }
  EXPECT_GT(ok, 0);
  EXPECT_GT(syntax, 0);
  (void)other;
}

TEST(JinjaRobustness, RandomMutationsNeverCrash) {
  const uint32_t seed = 20260726;
  std::mt19937 rng(seed);
  const std::string base =
      "{% set ns = namespace(n=0) %}{% for m in messages %}{% if m.role == 'user' %}{{ m.content | trim }}"
      "{% elif m.role == 'x' %}{{ raise_exception('no') }}{% else %}{{ m['content'][::-1] ~ (1 + 2) }}{% endif %}"
      "{% set ns.n = ns.n + 1 %}{% endfor %}{{ ns.n | string | length }}{{ {'a': [1, 2.5]} | tojson(indent=2) }}";
  const std::string alphabet = "{}%#-+()[]|.,:'\"~=<>!*/ \n\tabcxyz019";
  auto msgs = nlohmann::ordered_json::parse(R"([{"role": "user", "content": " hi "}, {"role": "assistant", "content": "yo"}])");
  for (int iter = 0; iter < 3000; ++iter) {
    std::string t = base;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t pos = rng() % (t.size() + 1);
      switch (rng() % 3) {
        case 0: t.insert(pos, 1, alphabet[rng() % alphabet.size()]); break;
        case 1: if (pos < t.size()) t.erase(pos, 1); break;
        default: if (pos < t.size()) t[pos] = alphabet[rng() % alphabet.size()];
      }
    }
    Result<std::string> out = renderChatTemplate(t, msgs, {});
    Code code = out.status().code();
    ASSERT_TRUE(code == Code::kOk || code == Code::kTemplateSyntax || code == Code::kTemplateRuntime ||
                code == Code::kTemplateRaised || code == Code::kTemplateLimit)
        << "seed " << seed << " iteration " << iter << ": " << out.status().toString() << "\n" << t;
  }
}

}  // namespace
}  // namespace tokenfab
