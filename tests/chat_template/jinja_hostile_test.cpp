// The hostile-template battery (data/hostile_cases.json, made by make_hostile_cases.py with real
// Jinja2): every case either renders exactly what Jinja2 renders, or fails with the template
// error the case names, with its position, inside the work envelope below.
#include <gtest/gtest.h>

#include <cstdio>

#include "render_helper.h"
#include "shared_data.h"
#include "tokenfab/download.h"

namespace tokenfab {
namespace {

using Json = nlohmann::ordered_json;

// The promise for any template: a render stops within 2 s and 256 MB. The sandbox keeps it by
// counting work, never time: at most 4 M steps (well under 0.5 us each, so under 2 s) and 128 MiB
// of text and list items built or scanned (the values alive are a part of that, so with the
// output and the interpreter's own memory it stays under 256 MB). The defaults must not outgrow
// this envelope, and no render may spend past it.
constexpr uint64_t kEnvelopeSteps = 4'000'000;
constexpr uint64_t kEnvelopeWorkBytes = 128u << 20;
constexpr uint64_t kEnvelopeOutputBytes = 32u << 20;

std::string expand(const Json& tmpl) {
  if (tmpl.is_string()) return tmpl.get<std::string>();
  std::string out;
  for (const Json& part : tmpl) {
    const std::string piece = part[0].get<std::string>();
    for (int64_t k = 0; k < part[1].get<int64_t>(); ++k) out += piece;
  }
  return out;
}

Code expectedCode(const std::string& name) {
  if (name == "limit") return Code::kTemplateLimit;
  if (name == "runtime") return Code::kTemplateRuntime;
  if (name == "syntax") return Code::kTemplateSyntax;
  if (name == "raised") return Code::kTemplateRaised;
  ADD_FAILURE() << "unknown expectation " << name;
  return Code::kOk;
}

std::string sha256Hex(const std::string& text) {
  download::Sha256 hash;
  hash.update(text);
  return download::Sha256::toHex(hash.finish());
}

TEST(JinjaHostile, DefaultLimitsFitTheEnvelope) {
  const TemplateLimits defaults;
  EXPECT_LE(defaults.max_steps, kEnvelopeSteps);
  EXPECT_LE(defaults.max_work_bytes, kEnvelopeWorkBytes);
  EXPECT_LE(defaults.max_output_bytes, kEnvelopeOutputBytes);
}

TEST(JinjaHostile, EveryCaseMatchesJinja2OrFailsClearly) {
  const std::string text = test::readFile(test::sourceDir() / "tests/chat_template/data/hostile_cases.json");
  ASSERT_FALSE(text.empty()) << "tests/chat_template/data/hostile_cases.json missing";
  const Json cases = Json::parse(text)["cases"];
  ASSERT_GE(cases.size(), 100u);
  int matched = 0, to_match = 0, errors = 0;
  for (const Json& c : cases) {
    const std::string name = c["name"].get<std::string>();
    const std::string tmpl = expand(c["template"]);
    SCOPED_TRACE(name + ": " + tmpl.substr(0, 200));
    TemplateUsage usage;
    RenderOptions opts;
    opts.now = test::pinnedNow();
    opts.usage = &usage;
    const Result<std::string> out = renderChatTemplate(tmpl, Json::array(), opts);
    EXPECT_LE(usage.steps, kEnvelopeSteps);
    EXPECT_LE(usage.work_bytes, kEnvelopeWorkBytes);
    EXPECT_LE(usage.output_bytes, kEnvelopeOutputBytes);
    const std::string expect = c["tokenfab"].get<std::string>();
    const Json& jinja2 = c["jinja2"];
    if (expect == "python") {
      ++to_match;
      if (!out.isOk()) {
        ADD_FAILURE() << out.status().toString();
        continue;
      }
      if (jinja2.contains("output")) {
        EXPECT_EQ(*out, jinja2["output"].get<std::string>());
        matched += *out == jinja2["output"].get<std::string>();
      } else {
        EXPECT_EQ(out->size(), jinja2["output_bytes"].get<size_t>());
        EXPECT_EQ(sha256Hex(*out), jinja2["output_sha256"].get<std::string>());
        matched += sha256Hex(*out) == jinja2["output_sha256"].get<std::string>();
      }
      continue;
    }
    ++errors;
    if (out.isOk()) {
      ADD_FAILURE() << "rendered " << out->substr(0, 200);
      continue;
    }
    EXPECT_EQ(out.status().code(), expectedCode(expect)) << out.status().toString();
    // A clear error: a message, and where in the template (raise_exception's own text has none).
    EXPECT_FALSE(out.status().message().empty());
    if (out.status().code() != Code::kTemplateRaised) {
      EXPECT_EQ(out.status().message().rfind("line ", 0), 0u) << out.status().toString();
      EXPECT_TRUE(out.status().offset().has_value()) << out.status().toString();
    }
  }
  std::printf("hostile battery: %zu cases, %d matched Jinja2 byte for byte (of %d), %d clear errors\n",
              cases.size(), matched, to_match, errors);
  EXPECT_EQ(matched, to_match);
}

}  // namespace
}  // namespace tokenfab
