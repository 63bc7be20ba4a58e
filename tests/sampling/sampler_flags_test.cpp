// The CLI's sampling flags: llama.cpp's defaults, parsing, range checks with clear messages.
#include "tokenfab/sampler_flags.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace tokenfab {
namespace {

// A lookup over (flag, value) pairs that consumes what it returns, like Args::value.
Result<SamplerConfig> parse(std::vector<std::pair<std::string, std::string>> flags) {
  return parseSamplerFlagValues([&flags](std::string_view name) -> std::optional<std::string> {
    for (auto it = flags.begin(); it != flags.end(); ++it) {
      if (it->first == name) {
        std::string v = it->second;
        flags.erase(it);
        return v;
      }
    }
    return std::nullopt;
  });
}

TEST(SamplerFlags, DefaultsAreLlamaCpps) {
  Result<SamplerConfig> c = parse({});
  ASSERT_TRUE(c.isOk());
  // llama.cpp common/common.h common_params_sampling defaults.
  EXPECT_EQ(c->temperature, 0.8);
  EXPECT_EQ(c->top_k, 40);
  EXPECT_EQ(c->top_p, 0.95);
  EXPECT_EQ(c->min_p, 0.05);
  EXPECT_EQ(c->typical_p, 1.0);
  EXPECT_EQ(c->repeat_penalty, 1.0);
  EXPECT_EQ(c->repeat_last_n, 64);
  EXPECT_EQ(c->frequency_penalty, 0.0);
  EXPECT_EQ(c->presence_penalty, 0.0);
  EXPECT_EQ(c->dry_multiplier, 0.0);
  EXPECT_EQ(c->dry_base, 1.75);
  EXPECT_EQ(c->dry_allowed_length, 2);
  EXPECT_EQ(c->dry_penalty_last_n, -1);
  EXPECT_EQ(c->dry_sequence_breakers, (std::vector<std::string>{"\n", ":", "\"", "*"}));
  EXPECT_EQ(c->xtc_probability, 0.0);
  EXPECT_EQ(c->xtc_threshold, 0.1);
  EXPECT_EQ(c->top_n_sigma, -1.0);
  EXPECT_EQ(c->mirostat, 0);
  EXPECT_EQ(c->mirostat_tau, 5.0);
  EXPECT_EQ(c->mirostat_eta, 0.1);
  EXPECT_EQ(c->seed, 0xFFFFFFFFu);
  EXPECT_EQ(c->trace_top_n, 64);
  EXPECT_EQ(formatSamplerOrder(c->order), "penalties;dry;top_n_sigma;top_k;typ_p;top_p;min_p;xtc;temperature");
}

TEST(SamplerFlags, ParsesValues) {
  Result<SamplerConfig> c = parse({{"--temp", "0"}, {"--top-k", "5"}, {"--top-p", "0.5"}, {"--min-p", "0.1"},
                                   {"--typical", "0.9"}, {"--repeat-penalty", "1.1"}, {"--repeat-last-n", "-1"},
                                   {"--frequency-penalty", "0.2"}, {"--presence-penalty", "-0.5"},
                                   {"--dry-multiplier", "0.8"}, {"--dry-base", "2"}, {"--dry-allowed-length", "3"},
                                   {"--xtc-probability", "0.5"}, {"--xtc-threshold", "0.2"}, {"--top-n-sigma", "1.5"},
                                   {"--mirostat", "2"}, {"--mirostat-tau", "4"}, {"--mirostat-eta", "0.2"},
                                   {"--seed", "18446744073709551615"}, {"--samplers", "min_p;temperature"},
                                   {"--top-n", "10"}, {"--logit-bias", "15+1.5"}, {"--logit-bias", "16-inf"},
                                   {"--dry-sequence-breaker", "none"}});
  ASSERT_TRUE(c.isOk()) << c.status().toString();
  EXPECT_EQ(c->temperature, 0.0);
  EXPECT_EQ(c->top_k, 5);
  EXPECT_EQ(c->top_p, 0.5);
  EXPECT_EQ(c->repeat_last_n, -1);
  EXPECT_EQ(c->presence_penalty, -0.5);
  EXPECT_EQ(c->dry_allowed_length, 3);
  EXPECT_EQ(c->top_n_sigma, 1.5);
  EXPECT_EQ(c->mirostat, 2);
  EXPECT_EQ(c->mirostat_tau, 4.0);
  EXPECT_EQ(c->mirostat_eta, 0.2);
  EXPECT_EQ(c->seed, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(c->order, (std::vector{StageKind::kMinP, StageKind::kTemperature}));
  EXPECT_EQ(c->trace_top_n, 10);
  ASSERT_EQ(c->logit_bias.size(), 2u);
  EXPECT_EQ(c->logit_bias[0], (std::pair<int32_t, double>{15, 1.5}));
  EXPECT_EQ(c->logit_bias[1].first, 16);
  EXPECT_TRUE(std::isinf(c->logit_bias[1].second) && c->logit_bias[1].second < 0);
  EXPECT_TRUE(c->dry_sequence_breakers.empty());
  EXPECT_EQ(parse({{"--seed", "-1"}})->seed, 0xFFFFFFFFu);
}

TEST(SamplerFlags, RejectsBadValuesWithTheFlagsName) {
  struct Case {
    std::string flag, value, mention;
    Code code;
  };
  const Case cases[] = {
      {"--temp", "warm", "--temp", Code::kInvalidArgument},
      {"--temp", "nan", "--temp", Code::kInvalidArgument},
      {"--top-k", "4.5", "--top-k", Code::kInvalidArgument},
      {"--top-p", "1.5", "top-p", Code::kInvalidArgument},
      {"--min-p", "-0.1", "min-p", Code::kInvalidArgument},
      {"--repeat-penalty", "0", "repeat-penalty", Code::kInvalidArgument},
      {"--repeat-last-n", "-2", "--repeat-last-n", Code::kInvalidArgument},
      {"--dry-base", "0.5", "dry-base", Code::kInvalidArgument},
      {"--dry-allowed-length", "0", "--dry-allowed-length", Code::kInvalidArgument},
      {"--xtc-probability", "2", "xtc-probability", Code::kInvalidArgument},
      {"--mirostat", "1", "mirostat", Code::kUnsupported},
      {"--mirostat", "3", "--mirostat", Code::kInvalidArgument},
      {"--mirostat-tau", "0", "mirostat-tau", Code::kInvalidArgument},
      {"--seed", "-5", "--seed", Code::kInvalidArgument},
      {"--samplers", "top_k;warp", "warp", Code::kInvalidArgument},
      {"--top-n", "0", "--top-n", Code::kInvalidArgument},
      {"--logit-bias", "abc", "--logit-bias", Code::kInvalidArgument},
      {"--logit-bias", "-3+1", "--logit-bias", Code::kInvalidArgument},
  };
  for (const Case& k : cases) {
    Result<SamplerConfig> c = parse({{k.flag, k.value}});
    ASSERT_FALSE(c.isOk()) << k.flag << " " << k.value;
    EXPECT_EQ(c.status().code(), k.code) << k.flag << " " << k.value;
    EXPECT_NE(c.status().message().find(k.mention), std::string::npos)
        << k.flag << " " << k.value << " -> " << c.status().toString();
  }
}

TEST(SamplerFlags, DescribeShowsTheChainAsItWillRun) {
  SamplerConfig c;
  const std::string d = describeSamplerConfig(c);
  EXPECT_NE(d.find("sampler chain: logits -> top_k -> top_p -> min_p -> temperature -> dist"), std::string::npos) << d;
  c.mirostat = 2;
  EXPECT_NE(describeSamplerConfig(c).find("logits -> temperature -> mirostat -> dist"), std::string::npos);
  EXPECT_NE(samplerFlagsHelp().find("--samplers"), std::string::npos);
}

}  // namespace
}  // namespace tokenfab
