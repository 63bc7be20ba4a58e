// Conversation tree and its session file, without a window or a model.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "conversation.h"

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
