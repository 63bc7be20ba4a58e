// Errors and sandbox bounds: bad templates give a clear Status (with line/column for syntax
// errors), hostile ones end with kTemplateLimit after a counted amount of work, and nothing
// crashes on any prefix of a real template or on random bytes.
#include <gtest/gtest.h>

#include <random>

#include "render_helper.h"
#include "shared_data.h"

namespace tokenfab {
namespace {

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

// Hostile templates end with kTemplateLimit after a bounded, counted amount of work. Each case
// names the counter that must stop it and the value it reaches, computed by hand from the
// template and the default limits (never a time: the counts are the same on every machine).
struct LimitCase {
  const char* name;
  std::string tmpl;
  uint64_t TemplateUsage::*counter;  // the counter expected to stop it, or null
  uint64_t expected;                 // its value at the error
  uint32_t call_depth;               // the macro depth reached (0: not checked)
};

TEST(JinjaLimits, HostileTemplatesStopAtTheirBudget) {
  const TemplateLimits limits;
  const LimitCase cases[] = {
      // range() is counted before anything is made: no iteration, a handful of steps.
      {"huge range", "{% for i in range(1000000000000) %}{% endfor %}", &TemplateUsage::loop_iterations, 0, 0},
      // 100000 outer iterations of 1 + 100000 inner ones would be 10^10: stops at the loop budget.
      {"nested loops", "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
       &TemplateUsage::loop_iterations, limits.max_loop_iterations, 0},
      {"infinite recursion", "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", nullptr, 0, limits.max_call_depth},
      {"mutual recursion", "{% macro a() %}{{ b() }}{% endmacro %}{% macro b() %}{{ a() }}{% endmacro %}{{ a() }}",
       nullptr, 0, limits.max_call_depth},
      // 1000 bytes per iteration: the 33555th append passes 32 MiB (33554432 / 1000 = 33554.4).
      {"huge output", "{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}", &TemplateUsage::loop_iterations,
       33555, 0},
      // Refused by its size before any byte is built.
      {"huge repetition", "{{ 'x' * 10000000000 }}", &TemplateUsage::work_bytes, 0, 0},
      // 'x' doubled k times is 2^k bytes: 2^25 is exactly 32 MiB, the 26th doubling is refused.
      {"doubling string",
       "{% set ns = namespace(s='x') %}{% for i in range(100) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
       &TemplateUsage::loop_iterations, 26, 0},
      // A list of 2^k items holds 2^k values of sizeof(Value) bytes: 2^19 of them pass 32 MiB.
      {"doubling list",
       "{% set ns = namespace(l=[1]) %}{% for i in range(100) %}{% set ns.l = ns.l + ns.l %}{% endfor %}",
       &TemplateUsage::loop_iterations, 19, 0},
      {"integer overflow", "{{ 2 ** 100 }}", &TemplateUsage::loop_iterations, 0, 0},
  };
  for (const LimitCase& c : cases) {
    SCOPED_TRACE(c.name);
    TemplateUsage usage;
    RenderOptions opts;
    opts.usage = &usage;
    Status s = renderChatTemplate(c.tmpl, nlohmann::ordered_json::array(), opts).status();
    EXPECT_EQ(s.code(), Code::kTemplateLimit) << s.toString();
    if (c.counter) {
      EXPECT_EQ(usage.*c.counter, c.expected) << s.toString();
    }
    if (c.call_depth) {
      EXPECT_EQ(usage.call_depth, c.call_depth) << s.toString();
    }
    EXPECT_LE(usage.steps, limits.max_steps);
    EXPECT_LE(usage.work_bytes, limits.max_work_bytes);
  }
  // Nesting is refused while parsing: 5000 parentheses never reach the evaluator.
  Status deep = renderStatus("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}");
  EXPECT_EQ(deep.code(), Code::kTemplateLimit) << deep.toString();
  EXPECT_NE(deep.message().find("nested deeper than 256"), std::string::npos) << deep.toString();
}

// Every counter is exact for a small template, counted by hand: the budget measures what it says.
TEST(JinjaLimits, UsageCountsTheWork) {
  TemplateUsage usage;
  RenderOptions opts;
  opts.usage = &usage;
  // 3 loop iterations; output "abc" (3 bytes).
  Result<std::string> out = renderChatTemplate("{% for c in 'abc' %}{{ c }}{% endfor %}", nlohmann::ordered_json::array(), opts);
  ASSERT_TRUE(out.isOk()) << out.status().toString();
  EXPECT_EQ(*out, "abc");
  EXPECT_EQ(usage.loop_iterations, 3u);
  EXPECT_EQ(usage.output_bytes, 3u);
  // Steps: the for statement, its iterable, the string expanded into 3 items, 3 iterations, and
  // per iteration one output statement and its name expression = 1 + 1 + 3 + 3 + 3 * 2 = 14.
  EXPECT_EQ(usage.steps, 14u);
  EXPECT_EQ(usage.call_depth, 0u);
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
