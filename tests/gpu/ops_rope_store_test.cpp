// rope_store (bias + rope + kv_store in one dispatch) vs the float64 references (ref::add,
// ref::rope; the cache rows by hand), bit for bit vs the unfused add -> rope -> kv_store
// sequence on the GPU, its argument checks, and the time of 100 fused dispatches vs the
// 7-dispatch sequence at the qwen2-0.5B decode shape (printed, not asserted).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "gpu_test_util.h"
#include "ref/ops_ref.h"
#include "tokenfab/ops.h"

namespace tokenfab::test {
namespace {

class OpsRopeStore : public GpuTest {};

// The f32 angle pos * freq carries a relative error of a few ulp (pow, multiply), i.e. about
// pos * 2^-22 radians, plus the driver's sin/cos error; positions here stay below 64 except in
// the large-position case (< 4096, as ops_attention_test's bound).
constexpr double kRopeBoundLowPos = 2e-4;
constexpr double kRopeBound = 2e-3;

struct Case {
  ops::RopeLayout layout;
  uint32_t n_heads, n_kv_heads, head_dim, head_dim_v, n_rot;
  bool bias, factors;
  ops::KvType kv;
  uint32_t n_tokens, pos0;
  bool large_positions = false;  // pos0 in the thousands (pos[t] = pos0 + t, the cache row, as the forward graph)
  float base = 10000.f, scale = 1.f;

  uint32_t qDim() const { return n_heads * head_dim; }
  uint32_t kDim() const { return n_kv_heads * head_dim; }
  uint32_t vDim() const { return n_kv_heads * head_dim_v; }
  uint32_t nCtx() const { return pos0 + n_tokens + 3; }  // 3 rows past the last written one
  uint64_t elem() const { return kv == ops::KvType::kF16 ? 2 : 4; }
  std::string name() const {
    return std::string(layout == ops::RopeLayout::kNeox ? "neox" : "adjacent") +
           " heads=" + std::to_string(n_heads) + "/" + std::to_string(n_kv_heads) +
           " D=" + std::to_string(head_dim) + "/" + std::to_string(head_dim_v) +
           " n_rot=" + std::to_string(n_rot) + (bias ? " bias" : "") + (factors ? " freq_factors" : "") +
           (kv == ops::KvType::kF16 ? " f16" : " f32") + " n_tokens=" + std::to_string(n_tokens) +
           " pos0=" + std::to_string(pos0) + (large_positions ? " large positions" : "");
  }
};

// llama (adjacent, no bias) and qwen2 (NEOX, bias) shapes: GQA 8/2, head_dim 64 and 128, partial
// rotation, freq_factors (Llama 3.1 rope_freqs), f16/f32 caches, decode and a 37-token prefill.
std::vector<Case> referenceCases() {
  std::vector<Case> cases;
  for (ops::RopeLayout layout : {ops::RopeLayout::kAdjacent, ops::RopeLayout::kNeox})
    for (uint32_t d : {64u, 128u})
      for (ops::KvType kv : {ops::KvType::kF16, ops::KvType::kF32})
        for (uint32_t n : {1u, 37u}) {
          const bool neox = layout == ops::RopeLayout::kNeox;
          Case c{layout, 8, 2, d, d, d, neox, false, kv, n, n == 1 ? 41u : 5u};
          if (d == 64 && kv == ops::KvType::kF32) c.n_rot = 32;  // partial rotation
          if (!neox && d == 128) c.factors = true, c.base = 500000.f;
          if (neox) c.base = 1000000.f;
          cases.push_back(c);
        }
  Case mla_like{ops::RopeLayout::kNeox, 8, 2, 128, 64, 64, true, true, ops::KvType::kF16, 5, 7};
  cases.push_back(mla_like);  // head_dim_v != head_dim
  Case big_pos{ops::RopeLayout::kAdjacent, 4, 4, 96, 96, 96, true, false, ops::KvType::kF32, 9, 3001};
  big_pos.large_positions = true;
  big_pos.scale = 0.25f;
  cases.push_back(big_pos);
  // Rows of 128 pairs: two workgroups of 64 per head; half the dims rotated.
  cases.push_back(Case{ops::RopeLayout::kNeox, 4, 1, 256, 256, 128, true, false, ops::KvType::kF16, 3, 1});
  return cases;
}

struct Inputs {
  std::vector<float> q, k, v, bias, bq, bk, bv, factors;
  std::vector<uint32_t> pos;
};

Inputs makeInputs(const Case& c, uint64_t seed) {
  TestRng rng(seed);
  Inputs in;
  in.q = rng.floats(size_t{c.n_tokens} * c.qDim(), -2, 2);
  in.k = rng.floats(size_t{c.n_tokens} * c.kDim(), -2, 2);
  in.v = rng.floats(size_t{c.n_tokens} * c.vDim(), -2, 2);
  if (c.bias) {
    in.bq = rng.floats(c.qDim(), -1, 1);
    in.bk = rng.floats(c.kDim(), -1, 1);
    in.bv = rng.floats(c.vDim(), -1, 1);
    in.bias = in.bq;
    in.bias.insert(in.bias.end(), in.bk.begin(), in.bk.end());
    in.bias.insert(in.bias.end(), in.bv.begin(), in.bv.end());
  }
  if (c.factors) in.factors = rng.floats(c.n_rot / 2, 1.0f, 8.0f);
  in.pos.resize(c.n_tokens);
  for (uint32_t t = 0; t < c.n_tokens; ++t) in.pos[t] = c.pos0 + t;
  return in;
}

// Everything the op writes, downloaded: q, k, v and the whole caches (guards checked).
struct Outputs {
  std::vector<float> q, k, v;
  std::vector<uint8_t> k_cache, v_cache;
};

ops::RopeConfig ropeConfig(const Case& c) { return ops::RopeConfig{c.layout, c.n_rot, c.base, c.scale}; }

// fused = true: recordRopeStore; else recordAdd x3 -> rope x2 -> kv_store x2 with barriers.
void runOnGpu(vk::Device& dev, const Case& c, const Inputs& in, bool fused, Outputs& out) {
  vk::Buffer bq = upload(dev, in.q), bk = upload(dev, in.k), bv = upload(dev, in.v), bp = upload(dev, in.pos);
  vk::Buffer bf = c.factors ? upload(dev, in.factors) : vk::Buffer{};
  vk::Buffer bias = c.bias ? upload(dev, in.bias) : vk::Buffer{};
  vk::Buffer bias_q = c.bias ? upload(dev, in.bq) : vk::Buffer{};
  vk::Buffer bias_k = c.bias ? upload(dev, in.bk) : vk::Buffer{};
  vk::Buffer bias_v = c.bias ? upload(dev, in.bv) : vk::Buffer{};
  TF_ASSERT_OK_AND_ASSIGN(GuardedBuffer kc,
                          GuardedBuffer::create(dev, uint64_t{c.nCtx()} * c.kDim() * c.elem()));
  TF_ASSERT_OK_AND_ASSIGN(GuardedBuffer vc,
                          GuardedBuffer::create(dev, uint64_t{c.nCtx()} * c.vDim() * c.elem()));
  const vk::BufferView ff = c.factors ? bf.view() : vk::BufferView{};
  TF_ASSERT_OK_AND_ASSIGN(vk::Recorder rec, dev.newRecorder());
  if (fused) {
    ops::RopeStoreArgs a;
    a.q = bq.view(), a.k = bk.view(), a.v = bv.view(), a.positions = bp.view(), a.freq_factors = ff;
    a.bias = c.bias ? bias.view() : vk::BufferView{};
    a.k_cache = kc.view(), a.v_cache = vc.view();
    a.n_tokens = c.n_tokens, a.n_heads = c.n_heads, a.n_kv_heads = c.n_kv_heads, a.head_dim = c.head_dim;
    a.head_dim_v = c.head_dim_v, a.pos0 = c.pos0, a.kv_type = c.kv, a.rope = ropeConfig(c);
    TF_ASSERT_OK(ops::recordRopeStore(rec, a));
    EXPECT_EQ(rec.dispatchCount(), 1u);
  } else {
    const uint64_t n = c.n_tokens;
    if (c.bias) {
      TF_ASSERT_OK(ops::recordAdd(rec, bq.view(), bias_q.view(), bq.view(), n * c.qDim(), c.qDim()));
      TF_ASSERT_OK(ops::recordAdd(rec, bk.view(), bias_k.view(), bk.view(), n * c.kDim(), c.kDim()));
      TF_ASSERT_OK(ops::recordAdd(rec, bv.view(), bias_v.view(), bv.view(), n * c.vDim(), c.vDim()));
      rec.barrier();  // biased q, k, v
    }
    TF_ASSERT_OK(
        ops::recordRope(rec, bq.view(), bp.view(), ff, c.n_tokens, c.n_heads, c.head_dim, ropeConfig(c)));
    TF_ASSERT_OK(
        ops::recordRope(rec, bk.view(), bp.view(), ff, c.n_tokens, c.n_kv_heads, c.head_dim, ropeConfig(c)));
    rec.barrier();  // rotated q, k
    TF_ASSERT_OK(ops::recordKvStore(rec, bk.view(), kc.view(), c.kv, c.n_tokens, c.kDim(), c.pos0));
    TF_ASSERT_OK(ops::recordKvStore(rec, bv.view(), vc.view(), c.kv, c.n_tokens, c.vDim(), c.pos0));
  }
  TF_ASSERT_OK(rec.submitAndWait());
  out.q.resize(in.q.size()), out.k.resize(in.k.size()), out.v.resize(in.v.size());
  TF_ASSERT_OK(dev.download(bq.view(), out.q.data(), out.q.size() * 4));
  TF_ASSERT_OK(dev.download(bk.view(), out.k.data(), out.k.size() * 4));
  TF_ASSERT_OK(dev.download(bv.view(), out.v.data(), out.v.size() * 4));
  ASSERT_TRUE(kc.readBytes(out.k_cache));
  ASSERT_TRUE(vc.readBytes(out.v_cache));
}

std::vector<float> toFloats(const std::vector<double>& d) { return std::vector<float>(d.begin(), d.end()); }

// Cache rows outside pos0..pos0+n-1 still poison; rows inside hold `src` (the op's own f32 output,
// itself checked against the reference): equal in f32, within half an f16 ulp in f16.
::testing::AssertionResult checkCache(const Case& c, const std::vector<uint8_t>& cache,
                                      const std::vector<float>& src, uint32_t row) {
  const size_t elem = c.elem();
  const size_t first = size_t{c.pos0} * row * elem, last = (size_t{c.pos0} + c.n_tokens) * row * elem;
  if (cache.size() != size_t{c.nCtx()} * row * elem) return ::testing::AssertionFailure() << "cache size";
  for (size_t b = 0; b < cache.size(); ++b) {
    if (b >= first && b < last) continue;
    if (cache[b] != reinterpret_cast<const uint8_t*>(&kPoisonBits)[b % 4])
      return ::testing::AssertionFailure()
             << "cache byte " << b << " outside rows pos0..pos0+n-1 was written";
  }
  for (size_t i = 0; i < src.size(); ++i) {
    const uint8_t* p = cache.data() + first + i * elem;
    if (c.kv == ops::KvType::kF32) {
      float f;
      std::memcpy(&f, p, 4);
      if (std::memcmp(&f, &src[i], 4) != 0)
        return ::testing::AssertionFailure() << "f32 cache element " << i << ": " << f << " != " << src[i];
    } else {
      uint16_t h;
      std::memcpy(&h, p, 2);
      const float f = halfToFloat(h);
      if (!(std::fabs(f - src[i]) <= std::fabs(src[i]) * (1.0 / 2048) + 6e-8))
        return ::testing::AssertionFailure() << "f16 cache element " << i << ": " << f << " vs " << src[i];
    }
  }
  return ::testing::AssertionSuccess();
}

TEST_F(OpsRopeStore, MatchesFloat64Reference) {
  uint64_t seed = 700;
  for (const Case& c : referenceCases()) {
    ++seed;
    SCOPED_TRACE("seed=" + std::to_string(seed) + " " + c.name());
    const Inputs in = makeInputs(c, seed);
    Outputs got;
    ASSERT_NO_FATAL_FAILURE(runOnGpu(device(), c, in, true, got));
    // Biased inputs: an f32 add is correctly rounded, so float(ref::add) is the exact f32 sum.
    const std::vector<float> q_in = c.bias ? toFloats(ref::add(in.q, in.bq)) : in.q;
    const std::vector<float> k_in = c.bias ? toFloats(ref::add(in.k, in.bk)) : in.k;
    const std::vector<float> v_in = c.bias ? toFloats(ref::add(in.v, in.bv)) : in.v;
    const bool neox = c.layout == ops::RopeLayout::kNeox;
    const auto want_q = ref::rope(q_in, in.pos, c.n_tokens, c.n_heads, c.head_dim, c.n_rot, neox, c.base,
                                  c.scale, in.factors);
    const auto want_k = ref::rope(k_in, in.pos, c.n_tokens, c.n_kv_heads, c.head_dim, c.n_rot, neox, c.base,
                                  c.scale, in.factors);
    const double bound = c.large_positions ? kRopeBound : kRopeBoundLowPos;
    EXPECT_TRUE(expectClose(got.q, want_q, bound)) << "q";
    EXPECT_TRUE(expectClose(got.k, want_k, bound)) << "k";
    // Dims past n_rot and all of v: the biased input, bit for bit.
    for (size_t r = 0; r < got.q.size() / c.head_dim; ++r)
      for (uint32_t d = c.n_rot; d < c.head_dim; ++d)
        ASSERT_EQ(got.q[r * c.head_dim + d], q_in[r * c.head_dim + d]) << "q row " << r << " dim " << d;
    for (size_t r = 0; r < got.k.size() / c.head_dim; ++r)
      for (uint32_t d = c.n_rot; d < c.head_dim; ++d)
        ASSERT_EQ(got.k[r * c.head_dim + d], k_in[r * c.head_dim + d]) << "k row " << r << " dim " << d;
    ASSERT_EQ(got.v.size(), v_in.size());
    for (size_t i = 0; i < v_in.size(); ++i) ASSERT_EQ(got.v[i], v_in[i]) << "v " << i;
    EXPECT_TRUE(checkCache(c, got.k_cache, got.k, c.kDim())) << "k_cache";
    EXPECT_TRUE(checkCache(c, got.v_cache, got.v, c.vDim())) << "v_cache";
  }
}

// The cache row is the token's position (so a recorded decode step replays at any position): a
// position past the bound cache is rotated but never stored, whatever the host sent.
TEST_F(OpsRopeStore, PositionsPastTheCacheAreNotStored) {
  for (ops::KvType kv : {ops::KvType::kF16, ops::KvType::kF32}) {
    const Case c{ops::RopeLayout::kAdjacent, 4, 2, 64, 64, 64, false, false, kv, 2, 0};
    SCOPED_TRACE(c.name());
    Inputs in = makeInputs(c, 900);
    in.pos = {c.nCtx(), c.nCtx() + 1000};
    Outputs got;
    ASSERT_NO_FATAL_FAILURE(runOnGpu(device(), c, in, true, got));
    for (const auto* cache : {&got.k_cache, &got.v_cache})
      for (size_t b = 0; b < cache->size(); ++b)
        ASSERT_EQ((*cache)[b], reinterpret_cast<const uint8_t*>(&kPoisonBits)[b % 4]) << "cache byte " << b;
  }
}

TEST_F(OpsRopeStore, BitIdenticalToUnfusedSequence) {
  uint64_t seed = 800;
  for (const Case& c : referenceCases()) {
    ++seed;
    SCOPED_TRACE("seed=" + std::to_string(seed) + " " + c.name());
    const Inputs in = makeInputs(c, seed);
    Outputs fused, unfused;
    ASSERT_NO_FATAL_FAILURE(runOnGpu(device(), c, in, true, fused));
    ASSERT_NO_FATAL_FAILURE(runOnGpu(device(), c, in, false, unfused));
    auto sameBits = [](const auto& a, const auto& b) {
      return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(a[0])) == 0;
    };
    EXPECT_TRUE(sameBits(fused.q, unfused.q)) << "q";
    EXPECT_TRUE(sameBits(fused.k, unfused.k)) << "k";
    EXPECT_TRUE(sameBits(fused.v, unfused.v)) << "v";
    EXPECT_TRUE(sameBits(fused.k_cache, unfused.k_cache)) << "k_cache";
    EXPECT_TRUE(sameBits(fused.v_cache, unfused.v_cache)) << "v_cache";
  }
}

TEST_F(OpsRopeStore, RejectsBadArguments) {
  TF_ASSERT_OK_AND_ASSIGN(vk::Buffer big, device().createBuffer(1 << 20));
  TF_ASSERT_OK_AND_ASSIGN(vk::Buffer small, device().createBuffer(64));
  TF_ASSERT_OK_AND_ASSIGN(vk::Recorder rec, device().newRecorder());
  // A valid call: 8/2 heads of 64, 4 tokens at pos0 10, f16 cache of 16 rows, bias and factors.
  ops::RopeStoreArgs good;
  good.q = good.k = good.v = good.positions = good.freq_factors = good.bias = big.view();
  good.k_cache = big.view(0, 16 * 128 * 2), good.v_cache = big.view(0, 16 * 128 * 2);
  good.n_tokens = 4, good.n_heads = 8, good.n_kv_heads = 2, good.head_dim = 64, good.pos0 = 10;
  good.kv_type = ops::KvType::kF16;
  good.rope.layout = ops::RopeLayout::kNeox;

  struct Bad {
    const char* what;
    ops::RopeStoreArgs args;
    Code code;
  };
  std::vector<Bad> bad;
  auto add = [&](const char* what, Code code, auto edit) {
    ops::RopeStoreArgs a = good;
    edit(a);
    bad.push_back({what, a, code});
  };
  const Code kInvalid = Code::kInvalidArgument, kSmall = Code::kOutOfRange;
  add("k_dim odd for f16", kInvalid,
      [](auto& a) { a.n_heads = 1, a.n_kv_heads = 1, a.head_dim = 63, a.rope.n_rot = 62; });
  add("head_dim odd (f32)", kInvalid,
      [](auto& a) { a.head_dim = 63, a.rope.n_rot = 62, a.kv_type = ops::KvType::kF32; });
  add("head_dim_v odd", kInvalid, [](auto& a) { a.head_dim_v = 33, a.kv_type = ops::KvType::kF32; });
  add("NEOX n_rot not a multiple of 4", kInvalid, [](auto& a) { a.rope.n_rot = 30; });
  add("head_dim 0", kInvalid, [](auto& a) { a.head_dim = 0; });
  add("n_kv_heads not dividing n_heads", kInvalid, [](auto& a) { a.n_kv_heads = 3; });
  add("n_kv_heads 0", kInvalid, [](auto& a) { a.n_kv_heads = 0; });
  add("n_rot odd", kInvalid, [](auto& a) { a.rope.n_rot = 31; });
  add("n_rot > head_dim", kInvalid, [](auto& a) { a.rope.n_rot = 66; });
  add("freq_base 0", kInvalid, [](auto& a) { a.rope.freq_base = 0; });
  add("freq_scale NaN", kInvalid, [](auto& a) { a.rope.freq_scale = std::nanf(""); });
  add("q too small", kSmall, [&](auto& a) { a.q = small.view(); });
  add("k too small", kSmall, [&](auto& a) { a.k = small.view(); });
  add("v too small", kSmall, [&](auto& a) { a.v = small.view(); });
  add("q missing", kSmall, [](auto& a) { a.q = vk::BufferView{}; });
  add("positions too small", kSmall, [&](auto& a) { a.positions = small.view(0, 12); });
  add("freq_factors too small", kSmall, [&](auto& a) { a.freq_factors = small.view(); });
  add("bias too small", kSmall, [&](auto& a) { a.bias = small.view(); });
  add("k_cache rows < pos0 + n_tokens", kSmall, [](auto& a) { a.pos0 = 13; });
  add("v_cache too small", kSmall, [&](auto& a) { a.v_cache = big.view(0, 13 * 128 * 2); });
  add("caches too small for f32", kSmall, [](auto& a) { a.kv_type = ops::KvType::kF32; });
  for (const Bad& b : bad) {
    const Status s = ops::recordRopeStore(rec, b.args);
    EXPECT_EQ(s.code(), b.code) << b.what << ": " << s.toString();
    EXPECT_FALSE(s.message().empty()) << b.what;
  }
  EXPECT_EQ(rec.dispatchCount(), 0u) << "a rejected call recorded a dispatch";
  // The base call is valid, and n_tokens = 0 records nothing.
  ops::RopeStoreArgs none = good;
  none.n_tokens = 0;
  TF_ASSERT_OK(ops::recordRopeStore(rec, none));
  EXPECT_EQ(rec.dispatchCount(), 0u);
  TF_ASSERT_OK(ops::recordRopeStore(rec, good));
  EXPECT_EQ(rec.dispatchCount(), 1u);
  TF_ASSERT_OK(rec.submitAndWait());
}

// qwen2-0.5B decode: 14 heads, 2 kv heads, head_dim 64, bias, NEOX, f16 cache. Prints the time
// of 100 fused dispatches and of 100 unfused 7-dispatch sequences (each followed by its barrier).
TEST_F(OpsRopeStore, TimesFusedVsUnfusedAtQwen2DecodeShape) {
  if (!device().report().timestamps) GTEST_SKIP() << "device has no timestamps";
  const Case c{ops::RopeLayout::kNeox, 14, 2,   64,    64,        64, true, false,
               ops::KvType::kF16,        1,  100, false, 1000000.f, 1.f};
  const Inputs in = makeInputs(c, 900);
  vk::Buffer bq = upload(device(), in.q), bk = upload(device(), in.k), bv = upload(device(), in.v);
  vk::Buffer bp = upload(device(), in.pos), bias = upload(device(), in.bias);
  vk::Buffer bias_q = upload(device(), in.bq), bias_k = upload(device(), in.bk),
             bias_v = upload(device(), in.bv);
  TF_ASSERT_OK_AND_ASSIGN(vk::Buffer kc, device().createBuffer(uint64_t{c.nCtx()} * c.kDim() * 2));
  TF_ASSERT_OK_AND_ASSIGN(vk::Buffer vc, device().createBuffer(uint64_t{c.nCtx()} * c.vDim() * 2));
  constexpr int kIters = 100;
  // The machine is shared: 1 warm-up + 5 timed repeats, fused and unfused interleaved; the
  // minimum and the median are printed.
  constexpr int kRepeats = 5;
  std::vector<double> us[2];
  uint32_t dispatches[2] = {0, 0};
  TF_ASSERT_OK_AND_ASSIGN(vk::Recorder rec, device().newRecorder());
  for (int rep = 0; rep <= kRepeats; ++rep) {
    for (int fused = 1; fused >= 0; --fused) {
      TF_ASSERT_OK(rec.reset());
      ASSERT_TRUE(rec.timestamp().isOk());
      for (int it = 0; it < kIters; ++it) {
        if (fused) {
          ops::RopeStoreArgs a;
          a.q = bq.view(), a.k = bk.view(), a.v = bv.view(), a.positions = bp.view(), a.bias = bias.view();
          a.k_cache = kc.view(), a.v_cache = vc.view();
          a.n_tokens = 1, a.n_heads = c.n_heads, a.n_kv_heads = c.n_kv_heads, a.head_dim = c.head_dim;
          a.pos0 = c.pos0, a.kv_type = c.kv, a.rope = ropeConfig(c);
          TF_ASSERT_OK(ops::recordRopeStore(rec, a));
          rec.barrier();  // q, k, v, cache rows
        } else {
          TF_ASSERT_OK(ops::recordAdd(rec, bq.view(), bias_q.view(), bq.view(), c.qDim(), c.qDim()));
          TF_ASSERT_OK(ops::recordAdd(rec, bk.view(), bias_k.view(), bk.view(), c.kDim(), c.kDim()));
          TF_ASSERT_OK(ops::recordAdd(rec, bv.view(), bias_v.view(), bv.view(), c.vDim(), c.vDim()));
          rec.barrier();  // biased q, k, v
          TF_ASSERT_OK(
              ops::recordRope(rec, bq.view(), bp.view(), {}, 1, c.n_heads, c.head_dim, ropeConfig(c)));
          TF_ASSERT_OK(
              ops::recordRope(rec, bk.view(), bp.view(), {}, 1, c.n_kv_heads, c.head_dim, ropeConfig(c)));
          rec.barrier();  // rotated q, k
          TF_ASSERT_OK(ops::recordKvStore(rec, bk.view(), kc.view(), c.kv, 1, c.kDim(), c.pos0));
          TF_ASSERT_OK(ops::recordKvStore(rec, bv.view(), vc.view(), c.kv, 1, c.vDim(), c.pos0));
          rec.barrier();  // cache rows
        }
      }
      ASSERT_TRUE(rec.timestamp().isOk());
      dispatches[fused] = rec.dispatchCount();
      TF_ASSERT_OK(rec.submitAndWait());
      TF_ASSERT_OK_AND_ASSIGN(auto ts, rec.timestampsNs());
      ASSERT_EQ(ts.size(), 2u);
      if (rep > 0) us[fused].push_back((ts[1] - ts[0]) / 1000.0 / kIters);
    }
  }
  for (auto& v : us) std::sort(v.begin(), v.end());
  std::printf(
      "[ rope_store ] %s, qwen2-0.5B decode (14/2 heads, D 64, bias, f16 cache), %d layers x %d repeats:\n"
      "[ rope_store ]   fused:   %u dispatches / 100 barriers, per layer min %7.2f us, median %7.2f us\n"
      "[ rope_store ]   unfused: %u dispatches / 300 barriers, per layer min %7.2f us, median %7.2f us\n"
      "[ rope_store ]   unfused / fused: min %.2fx, median %.2fx\n",
      device().report().name.c_str(), kIters, kRepeats, dispatches[1], us[1].front(), us[1][kRepeats / 2],
      dispatches[0], us[0].front(), us[0][kRepeats / 2], us[0].front() / us[1].front(),
      us[0][kRepeats / 2] / us[1][kRepeats / 2]);
}

}  // namespace
}  // namespace tokenfab::test
