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
#include "tokenfab/json_text.h"
#include "tokenfab/trace.h"

namespace tokenfab {
namespace {

namespace fs = std::filesystem;

class TraceIo : public ::testing::Test {
 protected:

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

  test::TestDir m_dir{"tokenfab_trace"};
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

// Byte-fallback tokens and half characters are not valid UTF-8: they must come back byte for byte
// (they used to be written as U+FFFD), in the documented {"hex": ...} form.
TEST_F(TraceIo, TextThatIsNotUtf8RoundTripsExactly) {
  Trace t = makeTrace();
  t.steps[0].text = "\xE2";          // first byte of a 3-byte character (<0xE2>)
  t.steps[1].text = "\x82\xAC";      // its two continuation bytes
  t.steps[3].text = std::string("a\0b", 3);  // valid UTF-8 with a NUL: stays a string
  t.prompt = "caf\xC3";              // cut inside a 2-byte character
  t.model.name = "over\xC0\xAFlong";  // overlong '/': not valid UTF-8
  t.device = "\xED\xA0\x80";         // an encoded surrogate: not valid UTF-8
  t.settings.dry_sequence_breakers.push_back("\xFF");
  const std::string text = traceToJson(t);
  // Hand-written expectations of the encoding: lower-case hex, two digits per byte.
  EXPECT_NE(text.find("\"text\":{\"hex\":\"e2\"}"), std::string::npos) << text.substr(0, 400);
  EXPECT_NE(text.find("\"text\":{\"hex\":\"82ac\"}"), std::string::npos);
  EXPECT_NE(text.find("\"prompt\":{\"hex\":\"636166c3\"}"), std::string::npos);
  EXPECT_NE(text.find("\"name\":{\"hex\":\"6f766572c0af6c6f6e67\"}"), std::string::npos);
  EXPECT_NE(text.find("\"device\":{\"hex\":\"eda080\"}"), std::string::npos);
  EXPECT_NE(text.find("{\"hex\":\"ff\"}]"), std::string::npos);
  EXPECT_NE(text.find("\"text\":\"a\\u0000b\""), std::string::npos);
  EXPECT_NE(text.find("\"text\":\"tok4\""), std::string::npos) << "valid text must stay a plain string";

  const fs::path p = m_dir / "bytes.json";
  ASSERT_TRUE(writeTraceJson(p, t).isOk());
  Result<Trace> back = readTraceJson(p);
  ASSERT_TRUE(back.isOk()) << back.status().toString();
  EXPECT_EQ(*back, t);
  EXPECT_EQ(back->steps[0].text, "\xE2");
  EXPECT_EQ(back->prompt, "caf\xC3");
}

// Files written before the hex form hold plain strings (U+FFFD where bytes were lost): they read
// as before. Malformed hex objects are corrupt, never guessed at.
TEST_F(TraceIo, PlainStringsStillReadAndBadHexIsCorrupt) {
  std::string text = traceToJson(makeTrace());
  ASSERT_EQ(text.find("\"hex\""), std::string::npos);
  const std::string key = "\"text\":\"tok0\"";
  const size_t at = text.find(key);
  ASSERT_NE(at, std::string::npos);
  std::string old = text;
  old.replace(at, key.size(), "\"text\":\"\\ufffd\"");
  Result<Trace> r = traceFromJson(old);
  ASSERT_TRUE(r.isOk()) << r.status().toString();
  EXPECT_EQ(r->steps[0].text, "\xEF\xBF\xBD");
  for (const char* bad : {"{\"hex\":\"e\"}", "{\"hex\":\"zz\"}", "{\"hex\":\"e2\",\"x\":1}", "{\"hex\":226}",
                          "{\"bytes\":\"e2\"}", "{}", "[\"e2\"]", "null"}) {
    std::string mutated = text;
    mutated.replace(at, key.size(), std::string("\"text\":") + bad);
    Result<Trace> m = traceFromJson(mutated);
    ASSERT_FALSE(m.isOk()) << bad;
    EXPECT_EQ(m.status().code(), Code::kSessionCorrupt) << bad;
    EXPECT_NE(m.status().message().find("steps[0].text"), std::string::npos) << m.status().toString();
  }
}

TEST(JsonDepth, CountsBracketsOutsideStringsOnly) {
  auto nested = [](size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  EXPECT_TRUE(checkJsonDepth(nested(kMaxJsonDepth), kMaxJsonDepth, Code::kSessionCorrupt).isOk());
  const Status deep = checkJsonDepth(nested(kMaxJsonDepth + 1), kMaxJsonDepth, Code::kSessionCorrupt);
  ASSERT_FALSE(deep.isOk());
  EXPECT_EQ(deep.code(), Code::kSessionCorrupt);
  EXPECT_EQ(deep.offset(), std::optional<uint64_t>(kMaxJsonDepth));  // the 65th '[' is byte 64
  // Brackets inside strings (escaped quotes included) are text, not nesting.
  const std::string in_string = "[\"\\\"" + std::string(1000, '[') + "\"]";
  EXPECT_TRUE(checkJsonDepth(in_string, kMaxJsonDepth, Code::kSessionCorrupt).isOk());
  // Siblings do not add up: 1000 arrays side by side are one level deep.
  std::string wide = "[";
  for (int i = 0; i < 1000; ++i) wide += "[],";
  wide += "[]]";
  EXPECT_TRUE(checkJsonDepth(wide, 2, Code::kSessionCorrupt).isOk());
}

// A million nested arrays would overflow the stack when the tree is later copied or dumped; the
// reader refuses them from the raw text, naming the limit and the byte.
TEST_F(TraceIo, DeepNestingIsACleanError) {
  const std::string prefix = "{\"schema_version\":1,\"x\":";
  const size_t depth = 1000000;
  const std::string text = prefix + std::string(depth, '[') + std::string(depth, ']') + "}";
  Result<Trace> r = traceFromJson(text);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), Code::kSessionCorrupt);
  EXPECT_NE(r.status().message().find("nested deeper than 64"), std::string::npos) << r.status().toString();
  // '{' is level 1, so the 64th '[' (byte prefix + 63) is level 65.
  EXPECT_EQ(r.status().offset(), std::optional<uint64_t>(prefix.size() + 63));
}

// The fuzzer's seeds (tests/fuzz/corpus/trace_fuzz) are hand-written: the valid ones must read,
// with the texts they spell in hex.
TEST_F(TraceIo, FuzzSeedsReadAsWritten) {
  const fs::path dir = test::sourceDir() / "tests/fuzz/corpus/trace_fuzz";
  Result<Trace> hex = readTraceJson(dir / "valid_hex_texts.json");
  ASSERT_TRUE(hex.isOk()) << hex.status().toString();
  EXPECT_EQ(hex->prompt, "Once\xC3");
  ASSERT_EQ(hex->steps.size(), 3u);
  EXPECT_EQ(hex->steps[0].text, " upon");
  EXPECT_EQ(hex->steps[1].text, "\xE2");
  EXPECT_EQ(hex->steps[2].text, "\x82\xAC");
  EXPECT_EQ(hex->settings.dry_sequence_breakers.back(), "\xE2");
  Result<Trace> empty = readTraceJson(dir / "valid_no_steps.json");
  ASSERT_TRUE(empty.isOk()) << empty.status().toString();
  EXPECT_TRUE(empty->steps.empty());
  Result<Trace> deep = readTraceJson(dir / "too_deep.json");
  ASSERT_FALSE(deep.isOk());
  EXPECT_NE(deep.status().message().find("nested deeper"), std::string::npos) << deep.status().toString();
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
