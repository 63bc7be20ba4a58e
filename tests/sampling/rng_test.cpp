// The RNG against published reference outputs, so every compiler and OS agrees.
#include <gtest/gtest.h>

#include "tokenfab/sampling.h"

namespace tokenfab {
namespace {

TEST(Rng, Xoshiro256StarStarReferenceOutputs) {
  // State {1, 2, 3, 4}: outputs of Blackman & Vigna's reference xoshiro256starstar.c, as quoted in
  // the test suites of rand_xoshiro (Rust) and other ports.
  const uint64_t state[4] = {1, 2, 3, 4};
  Rng rng = Rng::fromState(state);
  const uint64_t want[] = {11520u,
                           0u,
                           1509978240u,
                           1215971899390074240u,
                           1216172134540287360u,
                           607988272756665600u,
                           16172922978634559625u,
                           8476171486693032832u,
                           10595114339597558777u,
                           2904607092377533576u};
  for (uint64_t w : want) EXPECT_EQ(rng.next(), w);
}

TEST(Rng, SplitMix64ReferenceOutputs) {
  // splitmix64 (Steele, Lea & Flood 2014; Vigna's splitmix64.c) from state 0.
  uint64_t s = 0;
  EXPECT_EQ(Rng::splitMix64(s), 0xE220A8397B1DCDAFull);
  EXPECT_EQ(Rng::splitMix64(s), 0x6E789E6AA1B965F4ull);
  EXPECT_EQ(Rng::splitMix64(s), 0x06C45D188009454Full);
}

TEST(Rng, SeedGoesThroughSplitMix64AndUniformUsesTop53Bits) {
  uint64_t sm = 42;
  uint64_t state[4];
  for (uint64_t& v : state) v = Rng::splitMix64(sm);
  Rng by_state = Rng::fromState(state);
  Rng by_seed(42);
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = by_state.next();
    const double u = by_seed.uniform();
    EXPECT_EQ(u, static_cast<double>(x >> 11) / 9007199254740992.0) << "output " << i;
    EXPECT_GE(u, 0.0);
    EXPECT_LT(u, 1.0);
  }
}

TEST(Rng, ResolveSeedKeepsGivenSeedsAndReplacesTheRandomMarker) {
  EXPECT_EQ(resolveSamplerSeed(5), 5u);
  EXPECT_EQ(resolveSamplerSeed(0), 0u);
  EXPECT_NE(resolveSamplerSeed(SamplerConfig::kRandomSeed), SamplerConfig::kRandomSeed);
}

}  // namespace
}  // namespace tokenfab
