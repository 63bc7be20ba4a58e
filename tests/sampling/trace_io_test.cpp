// Trace export: round trips, and hostile files give a Status (never a crash).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "sampling_test_util.h"
#include "shared_data.h"
#include "tokenfab/trace.h"

namespace tokenfab {
namespace {

namespace fs = std::filesystem;

class TraceIo : public ::testing::Test {
 protected:
  void SetUp() override {
    m_dir = fs::temp_directory_path() /
            ("tokenfab_trace_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
             std::to_string(::getpid()));
    fs::create_directories(m_dir);
  }
  void TearDown() override { fs::remove_all(m_dir); }

  static Trace makeTrace() {
    Trace t;
    t.created = "2026-11-23T14:00:00Z";
    t.model = {"Tiny \"test\" model", "tiny.gguf", std::string(64, 'a'), 123456789012ull};
    t.device = "cpu";
    t.settings.repeat_penalty = 1.1;
    t.settings.xtc_probability = 0.5;
    t.settings.logit_bias = {{2, 0.5}, {7, -std::numeric_limits<double>::infinity()}};
    t.settings.dry_breaker_tokens = {13, 25};
    t.settings.seed = 0xFFFFFFFFFFFFFFF0ull;
    t.seed = 0xFFFFFFFFFFFFFFF0ull;  // above 2^53: must survive exactly
    t.prompt = "Once upon a time, \"quoted\"\nnewline é";
    t.prompt_tokens = {1, 2, 3};
    SamplerChain chain(t.settings, t.seed);
    std::vector<int32_t> history = t.prompt_tokens;
    for (int i = 0; i < 5; ++i) {
      Result<SampleResult> r = chain.sample(test::randomLogits(static_cast<uint64_t>(i), 500), history);
      EXPECT_TRUE(r.isOk());
      r->trace.text = i == 2 ? "a,\"b\"" : "tok" + std::to_string(i);
      history.push_back(r->token);
      t.steps.push_back(r->trace);
    }
    return t;
  }

  Result<Trace> readText(const std::string& text) {
    const fs::path p = m_dir / "t.json";
    std::ofstream(p, std::ios::binary) << text;
    return readTraceJson(p);
  }

  fs::path m_dir;
};

TEST_F(TraceIo, JsonRoundTrip) {
  const Trace t = makeTrace();
  const fs::path p = m_dir / "trace.json";
  ASSERT_TRUE(writeTraceJson(p, t).isOk());
  Result<Trace> back = readTraceJson(p);
  ASSERT_TRUE(back.isOk()) << back.status().toString();
  EXPECT_EQ(*back, t);
  EXPECT_EQ(back->seed, 0xFFFFFFFFFFFFFFF0ull);
  EXPECT_TRUE(std::isinf(back->settings.logit_bias[1].second));
}

// docs/trace.schema.json and the writer must agree: every object the writer emits has exactly the
// fields the schema lists as required (no undocumented field, no missing one).
TEST_F(TraceIo, WriterMatchesTheSchemaFieldLists) {
  const std::string schema_text = test::readFile(test::sourceDir() / "docs/trace.schema.json");
  ASSERT_FALSE(schema_text.empty()) << "docs/trace.schema.json not found under " << test::sourceDir();
  const nlohmann::json schema = nlohmann::json::parse(schema_text);
  const nlohmann::json trace = nlohmann::json::parse(traceToJson(makeTrace()));
  auto keys = [](const nlohmann::json& object) {
    std::set<std::string> out;
    for (auto it = object.begin(); it != object.end(); ++it) out.insert(it.key());
    return out;
  };
  auto required = [](const nlohmann::json& node) {
    std::set<std::string> out;
    for (const auto& k : node.at("required")) out.insert(k.get<std::string>());
    return out;
  };
  EXPECT_EQ(keys(trace), required(schema));
  EXPECT_EQ(schema.at("properties").at("schema_version").at("const"), kTraceSchemaVersion);
  EXPECT_EQ(keys(trace.at("model")), required(schema.at("properties").at("model")));
  EXPECT_EQ(keys(trace.at("settings")), required(schema.at("$defs").at("settings")));
  const nlohmann::json& step_schema = schema.at("$defs").at("step");
  const nlohmann::json& step = trace.at("steps").at(0);
  EXPECT_EQ(keys(step), required(step_schema));
  EXPECT_EQ(keys(step.at("raw_top").at(0)), required(step_schema.at("properties").at("raw_top").at("items")));
  ASSERT_FALSE(step.at("stages").empty());
  EXPECT_EQ(keys(step.at("stages").at(0)), required(step_schema.at("properties").at("stages").at("items")));
}

TEST_F(TraceIo, CsvHasOneRowPerToken) {
  const Trace t = makeTrace();
  const fs::path p = m_dir / "trace.csv";
  ASSERT_TRUE(writeTraceCsv(p, t).isOk());
  const std::string csv = test::readFile(p);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 6);
  EXPECT_EQ(csv.rfind("position,token,text,", 0), 0u);
  EXPECT_NE(csv.find(",\"a,\"\"b\"\"\","), std::string::npos) << csv;
}

TEST_F(TraceIo, WrongVersionIsSessionVersion) {
  std::string text = traceToJson(makeTrace());
  const std::string key = "\"schema_version\":1";
  const size_t at = text.find(key);
  ASSERT_NE(at, std::string::npos);
  text.replace(at, key.size(), "\"schema_version\":2");
  Result<Trace> r = readText(text);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), Code::kSessionVersion);
  EXPECT_NE(r.status().message().find("schema_version 2"), std::string::npos) << r.status().toString();
}

TEST_F(TraceIo, CorruptFilesAreSessionCorrupt) {
  const std::string good = traceToJson(makeTrace());
  const char* bad[] = {"", "not json", "[]", "{}", "{\"schema_version\": \"1\"}",
                       "{\"schema_version\": 1}", "{\"schema_version\": 1.5}"};
  for (const char* text : bad) {
    Result<Trace> r = readText(text);
    ASSERT_FALSE(r.isOk()) << text;
    EXPECT_EQ(r.status().code(), Code::kSessionCorrupt) << text << " -> " << r.status().toString();
  }
  auto mutate = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    const size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
    return readText(text);
  };
  for (auto [from, to] : {std::pair<std::string, std::string>{"\"token\":", "\"token\":\"x\",\"_\":"},
                          {"\"vocab_size\":500", "\"vocab_size\":5"},
                          {"\"top_probs\":[", "\"top_probs\":[0.5,"},
                          {"\"top_k\":40", "\"top_k\":1e400"},
                          {"\"top_p\":0.95", "\"top_p\":7"},
                          {"\"order\":\"", "\"order\":\"bogus;"},
                          {"\"steps\":[", "\"steps\":{\"a\":["}}) {
    Result<Trace> r = mutate(from, to);
    ASSERT_FALSE(r.isOk()) << to;
    EXPECT_EQ(r.status().code(), Code::kSessionCorrupt) << to << " -> " << r.status().toString();
  }
  EXPECT_EQ(readTraceJson(m_dir / "missing.json").status().code(), Code::kNotFound);
}

TEST_F(TraceIo, TruncationsAndByteFlipsNeverCrash) {
  const std::string good = traceToJson(makeTrace());
  // Cut inside the document only: dropping just trailing whitespace leaves valid JSON. (The
  // length varies from run to run with the measured sampler time, so no fixed stride may land
  // there.)
  const size_t document_end = good.find_last_not_of(" \t\r\n") + 1;
  ASSERT_GT(document_end, 0u);
  for (size_t len = 0; len < document_end; len += 37) {
    Result<Trace> r = traceFromJson(std::string_view(good).substr(0, len));
    ASSERT_FALSE(r.isOk()) << "prefix of " << len << " of " << good.size() << " bytes";
    EXPECT_EQ(r.status().code(), Code::kSessionCorrupt) << len;
  }
  // The last byte of the document itself must be missed too.
  EXPECT_FALSE(traceFromJson(std::string_view(good).substr(0, document_end - 1)).isOk());
  constexpr uint64_t kSeed = 77;
  std::mt19937_64 gen(kSeed);
  for (int i = 0; i < 300; ++i) {
    std::string text = good;
    for (int k = 0; k < 3; ++k) text[gen() % text.size()] = static_cast<char>(gen() & 0xFF);
    Result<Trace> r = traceFromJson(text);  // ok or a clean error; either way no crash
    if (!r.isOk()) {
      EXPECT_TRUE(r.status().code() == Code::kSessionCorrupt || r.status().code() == Code::kSessionVersion)
          << "seed " << kSeed << " iteration " << i << ": " << r.status().toString();
    }
  }
}

}  // namespace
}  // namespace tokenfab
