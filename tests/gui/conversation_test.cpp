// Conversation tree and its session file, without a window or a model.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "conversation.h"
#include "shared_data.h"

namespace tokenfab::gui {
namespace {

TokenStep makeStep(int32_t token, int32_t position, std::string text) {
  TokenStep step;
  step.trace.token = token;
  step.trace.position = position;
  step.trace.text = text;
  step.trace.vocab_size = 100;
  step.trace.raw_top = {{token, 1.5f, 0.6}, {token + 1, 0.5f, 0.3}};
  step.trace.chosen_prob = 0.6;
  step.text = std::move(text);
  return step;
}

Conversation sampleTree() {
  Conversation conv;
  conv.model_name = "test";
  conv.system_prompt = "be brief";
  const int root = conv.addTurn(-1, "Once");
  conv.turn(root).context = {1, 5, 6};
  conv.turn(root).steps = {makeStep(7, 3, " upon"), makeStep(8, 4, " a")};
  conv.turn(root).seed = 42;
  const int alt = conv.addTurn(-1, "Once");
  conv.turn(alt).context = {1, 5, 6};
  conv.turn(alt).steps = {makeStep(9, 3, " there")};
  conv.turn(alt).steps[0].forced = true;
  const int child = conv.addTurn(root, " time");
  conv.turn(child).context = {1, 5, 6, 7, 8, 10};
  conv.turn(child).steps = {makeStep(11, 6, ",")};
  return conv;
}

TEST(Conversation, ActivePathFollowsSelection) {
  Conversation conv = sampleTree();
  EXPECT_EQ(conv.activePath(), (std::vector<int>{0, 2}));
  EXPECT_EQ(conv.siblings(0), (std::vector<int>{0, 1}));
  conv.select(1);
  EXPECT_EQ(conv.activePath(), (std::vector<int>{1}));
  conv.select(2);
  EXPECT_EQ(conv.activePath(), (std::vector<int>{0, 2}));
  EXPECT_EQ(conv.turn(0).reply(), " upon a");
  EXPECT_EQ(conv.turn(0).history(1), (std::vector<int32_t>{1, 5, 6, 7}));
  EXPECT_EQ(conv.turn(0).tokensAfter({8}), (std::vector<int32_t>{1, 5, 6, 7}));
}

TEST(Conversation, JsonRoundTripKeepsTheTree) {
  const Conversation conv = sampleTree();
  auto again = Conversation::fromJson(conv.toJson());
  ASSERT_TRUE(again.isOk()) << again.status().toString();
  ASSERT_EQ(again->size(), conv.size());
  EXPECT_EQ(again->activePath(), conv.activePath());
  EXPECT_EQ(again->system_prompt, "be brief");
  for (int i = 0; i < conv.size(); ++i) {
    EXPECT_EQ(again->turn(i).parent, conv.turn(i).parent);
    EXPECT_EQ(again->turn(i).children, conv.turn(i).children);
    EXPECT_EQ(again->turn(i).context, conv.turn(i).context);
    EXPECT_EQ(again->turn(i).reply(), conv.turn(i).reply());
    EXPECT_EQ(again->turn(i).seed, conv.turn(i).seed);
    ASSERT_EQ(again->turn(i).steps.size(), conv.turn(i).steps.size());
    for (size_t s = 0; s < conv.turn(i).steps.size(); ++s) {
      EXPECT_EQ(again->turn(i).steps[s].trace, conv.turn(i).steps[s].trace);
      EXPECT_EQ(again->turn(i).steps[s].forced, conv.turn(i).steps[s].forced);
    }
  }
}

TEST(Conversation, EveryTruncationIsACleanError) {
  const std::string text = sampleTree().toJson();
  // Cut inside the document only: a prefix missing just trailing whitespace is valid JSON.
  const size_t document_end = text.find_last_not_of(" \t\r\n") + 1;
  for (size_t n = 0; n < document_end; n += 7) {
    auto result = Conversation::fromJson(std::string_view(text).substr(0, n));
    ASSERT_FALSE(result.isOk()) << "length " << n;
    EXPECT_EQ(result.status().code(), Code::kSessionCorrupt) << "length " << n;
  }
}

std::string readAll(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class ConversationFile : public ::testing::Test {
 protected:
  test::TestDir m_dir{"tokenfab_conv"};
};

// Branching from a byte-fallback candidate (<0xE2>) gives a step whose text is one byte of a
// three-byte character. Saving used to throw from the JSON writer and end the app; now every
// text comes back byte for byte.
TEST_F(ConversationFile, TextThatIsNotUtf8SavesAndLoadsExactly) {
  Conversation conv = sampleTree();
  conv.turn(1).steps[0].text = "\xE2";
  conv.turn(1).steps[0].trace.text = "\xE2";
  conv.turn(0).steps[1].text = "\x82\xAC";
  conv.turn(2).user = "caf\xC3";
  conv.system_prompt = "\xFF brief";
  conv.model_name = "m\xC0";
  const std::filesystem::path path = m_dir / "s.tfsession.json";
  const Status saved = conv.save(path.string());
  ASSERT_TRUE(saved.isOk()) << saved.toString();
  const nlohmann::json file = nlohmann::json::parse(readAll(path));
  EXPECT_EQ(file["turns"][1]["texts"][0], nlohmann::json({{"hex", "e2"}})) << "the documented encoding";
  EXPECT_EQ(file["turns"][0]["texts"][0], nlohmann::json(" upon")) << "valid text stays a string";
  auto again = Conversation::load(path.string());
  ASSERT_TRUE(again.isOk()) << again.status().toString();
  EXPECT_EQ(again->turn(1).steps[0].text, "\xE2");
  EXPECT_EQ(again->turn(1).steps[0].trace.text, "\xE2");
  EXPECT_EQ(again->turn(0).steps[1].text, "\x82\xAC");
  EXPECT_EQ(again->turn(0).reply(), conv.turn(0).reply());
  EXPECT_EQ(again->turn(2).user, "caf\xC3");
  EXPECT_EQ(again->system_prompt, "\xFF brief");
  EXPECT_EQ(again->model_name, "m\xC0");
}

// A session whose trace holds a million nested arrays used to be copied and re-serialised
// recursively (stack overflow). Now it is refused from the raw text.
TEST(Conversation, DeeplyNestedTraceIsACleanError) {
  const std::string head =
      "{\"format\":\"tokenfab-session\",\"version\":1,\"model\":\"m\",\"system_prompt\":\"\",\"chat_mode\":false,"
      "\"active_root\":0,\"turns\":[{\"parent\":-1,\"active_child\":-1,\"user\":\"u\",\"texts\":[],\"forced\":[],"
      "\"trace\":{\"x\":";
  const size_t depth = 1000000;
  const std::string text = head + std::string(depth, '[') + std::string(depth, ']') + "}}]}";
  auto result = Conversation::fromJson(text);
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), Code::kSessionCorrupt);
  EXPECT_NE(result.status().message().find("nested deeper than 64"), std::string::npos) << result.status().toString();
}

// A save that cannot complete (here: the file-size limit makes write() fail, as a full disk
// would) says why and leaves the previous file as it was, with no temporary file behind.
TEST_F(ConversationFile, FailedSaveKeepsThePreviousFile) {
  const std::filesystem::path path = m_dir / "s.tfsession.json";
  Conversation conv = sampleTree();
  ASSERT_TRUE(conv.save(path.string()).isOk());
  const std::string before = readAll(path);
  for (int i = 0; i < 50; ++i) conv.turn(0).steps.push_back(makeStep(7, 5 + i, " more"));
  const std::string bigger = conv.toJson();
  ASSERT_GT(bigger.size(), before.size() + 1000);

  rlimit old_limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = old_limit;
  small.rlim_cur = before.size() + 100;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  const Status failed = conv.save(path.string());
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);

  ASSERT_FALSE(failed.isOk());
  EXPECT_EQ(failed.code(), Code::kIoError) << failed.toString();
  EXPECT_NE(failed.message().find("cannot write"), std::string::npos) << failed.toString();
  EXPECT_EQ(readAll(path), before);
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(m_dir.path())) files += entry.is_regular_file() ? 1 : 0;
  EXPECT_EQ(files, 1u) << "a temporary file was left behind";
}

// The session fuzzer's hand-written seeds (tests/fuzz/corpus/session_fuzz) load as written.
TEST(Conversation, FuzzSeedsLoadAsWritten) {
  const std::filesystem::path dir = test::sourceDir() / "tests/fuzz/corpus/session_fuzz";
  auto three = Conversation::load((dir / "valid_three_turns.json").string());
  ASSERT_TRUE(three.isOk()) << three.status().toString();
  ASSERT_EQ(three->size(), 3);
  EXPECT_EQ(three->activePath(), (std::vector<int>{0, 2}));
  EXPECT_EQ(three->turn(0).reply(), " upon\xE2");
  EXPECT_TRUE(three->turn(0).steps[1].forced);
  EXPECT_EQ(three->turn(2).user, " time\xFF");
  auto empty = Conversation::load((dir / "valid_empty.json").string());
  ASSERT_TRUE(empty.isOk()) << empty.status().toString();
  EXPECT_TRUE(empty->empty());
}

TEST(Conversation, RejectsBadTreesAndOtherVersions) {
  using Json = nlohmann::ordered_json;
  const Json good = Json::parse(sampleTree().toJson());
  {
    Json j = good;
    j["version"] = 99;
    EXPECT_EQ(Conversation::fromJson(j.dump()).status().code(), Code::kSessionVersion);
  }
  {
    Json j = good;
    j["turns"][0]["parent"] = 2;  // a child before its parent (would allow cycles)
    EXPECT_EQ(Conversation::fromJson(j.dump()).status().code(), Code::kSessionCorrupt);
  }
  {
    Json j = good;
    j["turns"][0]["active_child"] = 1;  // a sibling, not a child
    EXPECT_EQ(Conversation::fromJson(j.dump()).status().code(), Code::kSessionCorrupt);
  }
  {
    Json j = good;
    j["active_root"] = 2;  // not a root
    EXPECT_EQ(Conversation::fromJson(j.dump()).status().code(), Code::kSessionCorrupt);
  }
  {
    Json j = good;
    j["turns"][1]["texts"] = Json::array();  // fewer texts than steps
    EXPECT_EQ(Conversation::fromJson(j.dump()).status().code(), Code::kSessionCorrupt);
  }
  {
    Json j = good;
    j["turns"][1]["trace"]["steps"][0]["token"] = "x";
    EXPECT_EQ(Conversation::fromJson(j.dump()).status().code(), Code::kSessionCorrupt);
  }
  EXPECT_EQ(Conversation::fromJson("[]").status().code(), Code::kSessionCorrupt);
  EXPECT_EQ(Conversation::fromJson("").status().code(), Code::kSessionCorrupt);
}

}  // namespace
}  // namespace tokenfab::gui
