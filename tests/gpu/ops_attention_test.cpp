// rope (both layouts, freq scale, partial rotary dims, freq factors), kv_store (f32/f16) and
// attention over the KV cache (causal, GQA, head dims 64/80/96/128, f16/f32 cache, prefill
// batches, long-context decode split across chunks) vs core/ref in float64.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "gpu_test_util.h"
#include "ref/ops_ref.h"
#include "tokenfab/ops.h"

namespace tokenfab::test {
namespace {

class OpsAttention : public GpuTest {};

// rope: the f32 angle pos * freq carries a relative error of a few ulp (pow, multiply), i.e.
// about pos * 2^-22 radians; positions stay below 4096 here -> ~1e-3 worst case.
constexpr double kRopeBound = 2e-3;
// attention: f32 dot products over <= 128 dims and a softmax over <= 2k keys.
constexpr double kAttentionBound = 1e-4;

struct RopeCase {
  ops::RopeLayout layout;
  uint32_t head_dim, n_rot;
  float base, scale;
  bool factors;
};

TEST_F(OpsAttention, RopeBothLayouts) {
  const RopeCase cases[] = {
      {ops::RopeLayout::kAdjacent, 64, 64, 10000.f, 1.f, false},
      {ops::RopeLayout::kNeox, 128, 128, 1000000.f, 1.f, false},
      {ops::RopeLayout::kAdjacent, 128, 128, 500000.f, 0.25f, true},  // Llama 3.1 rope_freqs
      {ops::RopeLayout::kNeox, 80, 32, 10000.f, 0.5f, false},        // partial rotary dims
      {ops::RopeLayout::kAdjacent, 96, 48, 10000.f, 1.f, true},
  };
  uint64_t seed = 100;
  for (const RopeCase& c : cases) {
    ++seed;
    SCOPED_TRACE("seed=" + std::to_string(seed) + " head_dim=" + std::to_string(c.head_dim) +
                 " n_rot=" + std::to_string(c.n_rot));
    TestRng rng(seed);
    const uint32_t n_tokens = 1 + rng.below(9), n_heads = 1 + rng.below(5);
    std::vector<float> x = rng.floats(size_t{n_tokens} * n_heads * c.head_dim, -2, 2);
    std::vector<uint32_t> pos(n_tokens);
    for (uint32_t& p : pos) p = rng.below(4096);
    std::vector<float> ff;
    if (c.factors) ff = rng.floats(c.n_rot / 2, 1.0f, 8.0f);
    vk::Buffer bx = upload(device(), x), bp = upload(device(), pos);
    vk::Buffer bf = c.factors ? upload(device(), ff) : vk::Buffer{};
    TF_ASSERT_OK_AND_ASSIGN(vk::Recorder rec, device().newRecorder());
    ops::RopeConfig cfg{c.layout, c.n_rot, c.base, c.scale};
    TF_ASSERT_OK(ops::recordRope(rec, bx.view(), bp.view(), c.factors ? bf.view() : vk::BufferView{}, n_tokens,
                                 n_heads, c.head_dim, cfg));
    TF_ASSERT_OK(rec.submitAndWait());
    std::vector<float> got(x.size());
    TF_ASSERT_OK(device().download(bx.view(), got.data(), got.size() * 4));
    const auto want = ref::rope(x, pos, n_tokens, n_heads, c.head_dim, c.n_rot,
                                c.layout == ops::RopeLayout::kNeox, c.base, c.scale, ff);
    EXPECT_TRUE(expectClose(got, want, kRopeBound));
    // Dims past n_rot are untouched, bit for bit.
    for (uint32_t r = 0; r < n_tokens * n_heads; ++r)
      for (uint32_t d = c.n_rot; d < c.head_dim; ++d)
        ASSERT_EQ(got[size_t{r} * c.head_dim + d], x[size_t{r} * c.head_dim + d]);
  }
}

TEST_F(OpsAttention, RopeRejectsBadConfig) {
  TF_ASSERT_OK_AND_ASSIGN(vk::Buffer buf, device().createBuffer(4096));
  TF_ASSERT_OK_AND_ASSIGN(vk::Recorder rec, device().newRecorder());
  ops::RopeConfig cfg;
  cfg.n_rot = 7;
  EXPECT_EQ(ops::recordRope(rec, buf.view(), buf.view(), {}, 1, 1, 8, cfg).code(), Code::kInvalidArgument);
  cfg.n_rot = 16;
  EXPECT_EQ(ops::recordRope(rec, buf.view(), buf.view(), {}, 1, 1, 8, cfg).code(), Code::kInvalidArgument);
  cfg.n_rot = 8;
  cfg.freq_base = 0;
  EXPECT_EQ(ops::recordRope(rec, buf.view(), buf.view(), {}, 1, 1, 8, cfg).code(), Code::kInvalidArgument);
  TF_ASSERT_OK(rec.submitAndWait());
}

std::vector<uint16_t> toHalves(const std::vector<float>& v) {
  std::vector<uint16_t> h(v.size());
  for (size_t i = 0; i < v.size(); ++i) h[i] = floatToHalf(v[i]);
  return h;
}
std::vector<float> fromHalves(const std::vector<uint16_t>& h) {
  std::vector<float> v(h.size());
  for (size_t i = 0; i < h.size(); ++i) v[i] = halfToFloat(h[i]);
  return v;
}

TEST_F(OpsAttention, KvStoreWritesOnlyNewRows) {
  for (ops::KvType type : {ops::KvType::kF32, ops::KvType::kF16}) {
    const uint64_t seed = type == ops::KvType::kF16 ? 31 : 32;
    SCOPED_TRACE("seed=" + std::to_string(seed));
    TestRng rng(seed);
    const uint32_t row = 2 * (1 + rng.below(150)), n_tokens = 1 + rng.below(6), pos0 = rng.below(20);
    const size_t elem = type == ops::KvType::kF16 ? 2 : 4;
    const std::vector<float> src = rng.floats(size_t{n_tokens} * row, -3, 3);
    vk::Buffer bs = upload(device(), src);
    TF_ASSERT_OK_AND_ASSIGN(GuardedBuffer cache, GuardedBuffer::create(device(), (pos0 + n_tokens) * row * elem));
    TF_ASSERT_OK_AND_ASSIGN(vk::Recorder rec, device().newRecorder());
    TF_ASSERT_OK(ops::recordKvStore(rec, bs.view(), cache.view(), type, n_tokens, row, pos0));
    TF_ASSERT_OK(rec.submitAndWait());
    std::vector<uint8_t> bytes;
    ASSERT_TRUE(cache.readBytes(bytes));
    // Rows before pos0 keep the poison; new rows hold src (f16: within half an f16 ulp).
    for (size_t b = 0; b < size_t{pos0} * row * elem; ++b)
      ASSERT_EQ(bytes[b], reinterpret_cast<const uint8_t*>(&kPoisonBits)[b % 4]) << "byte " << b;
    for (size_t i = 0; i < src.size(); ++i) {
      const uint8_t* p = bytes.data() + (size_t{pos0} * row + i) * elem;
      if (type == ops::KvType::kF32) {
        float f;
        std::memcpy(&f, p, 4);
        ASSERT_EQ(f, src[i]) << i;
      } else {
        uint16_t h;
        std::memcpy(&h, p, 2);
        const float f = halfToFloat(h);
        ASSERT_LE(std::fabs(f - src[i]), std::fabs(src[i]) * (1.0 / 2048) + 6e-8) << i;
      }
    }
  }
}

struct AttnCase {
  uint32_t n_q, n_heads, n_kv_heads, head_dim, pos0;
  ops::KvType kv;
  uint32_t chunk;        // 0 = default
  uint32_t window = 0;   // sliding window (gemma); 0 = every earlier key
  float softcap = 0.0f;  // score soft-cap (gemma2); 0 = off
};

void runAttention(vk::Device& dev, const AttnCase& c, uint64_t seed) {
  SCOPED_TRACE("seed=" + std::to_string(seed) + " n_q=" + std::to_string(c.n_q) + " heads=" + std::to_string(c.n_heads) +
               "/" + std::to_string(c.n_kv_heads) + " D=" + std::to_string(c.head_dim) + " pos0=" + std::to_string(c.pos0) +
               (c.kv == ops::KvType::kF16 ? " f16" : " f32") + " chunk=" + std::to_string(c.chunk) +
               " window=" + std::to_string(c.window) + " softcap=" + std::to_string(c.softcap));
  TestRng rng(seed);
  const uint32_t n_keys = c.pos0 + c.n_q, n_ctx = n_keys + 3;
  const size_t row = size_t{c.n_kv_heads} * c.head_dim;
  // Earlier keys/values (already in the cache) and the new ones (stored by kv_store).
  std::vector<float> k_all = rng.floats(n_keys * row, -1, 1), v_all = rng.floats(n_keys * row, -1, 1);
  const std::vector<float> q = rng.floats(size_t{c.n_q} * c.n_heads * c.head_dim, -1.5, 1.5);
  const bool f16 = c.kv == ops::KvType::kF16;
  // Keys before the first query's window (position pos0 sees pos0 - window < k): no query reads them.
  const uint32_t unread = c.window > 0 && c.pos0 + 1 > c.window ? c.pos0 + 1 - c.window : 0;
  vk::Buffer k_cache, v_cache;
  if (f16) {
    std::vector<uint16_t> kh = toHalves(k_all), vh = toHalves(v_all);
    k_all = fromHalves(kh), v_all = fromHalves(vh);  // what the reference sees
    kh.resize(n_ctx * row), vh.resize(n_ctx * row);
    // Poison the new rows: kv_store must overwrite them.
    for (size_t i = size_t{c.pos0} * row; i < kh.size(); ++i) kh[i] = vh[i] = 0x7E00;
    // And the rows before every query's window: attention must not read them.
    for (size_t i = 0; i < size_t{unread} * row; ++i) kh[i] = vh[i] = 0x7E00;
    k_cache = upload(dev, kh), v_cache = upload(dev, vh);
  } else {
    std::vector<float> kf = k_all, vf = v_all;
    kf.resize(n_ctx * row), vf.resize(n_ctx * row);
    for (size_t i = size_t{c.pos0} * row; i < kf.size(); ++i) kf[i] = vf[i] = NAN;
    for (size_t i = 0; i < size_t{unread} * row; ++i) kf[i] = vf[i] = NAN;
    k_cache = upload(dev, kf), v_cache = upload(dev, vf);
  }
  const std::vector<float> k_new(k_all.begin() + c.pos0 * row, k_all.end());
  const std::vector<float> v_new(v_all.begin() + c.pos0 * row, v_all.end());
  vk::Buffer bq = upload(dev, q), bk_new = upload(dev, k_new), bv_new = upload(dev, v_new);
  ops::AttentionShape shape{c.n_q, c.n_heads, c.n_kv_heads, c.head_dim, c.pos0, 0.0f, c.kv, c.chunk};
  shape.window = c.window;
  shape.softcap = c.softcap;
  TF_ASSERT_OK_AND_ASSIGN(vk::Buffer scratch, dev.createBuffer(std::max<uint64_t>(4, ops::attentionScratchBytes(shape))));
  TF_ASSERT_OK_AND_ASSIGN(GuardedBuffer out, GuardedBuffer::create(dev, q.size() * 4));
  TF_ASSERT_OK_AND_ASSIGN(vk::Recorder rec, dev.newRecorder());
  TF_ASSERT_OK(ops::recordKvStore(rec, bk_new.view(), k_cache.view(), c.kv, c.n_q, uint32_t(row), c.pos0));
  TF_ASSERT_OK(ops::recordKvStore(rec, bv_new.view(), v_cache.view(), c.kv, c.n_q, uint32_t(row), c.pos0));
  rec.barrier();  // attention reads the rows kv_store wrote
  TF_ASSERT_OK(ops::recordAttention(rec, bq.view(), k_cache.view(), v_cache.view(), scratch.view(), out.view(), shape));
  TF_ASSERT_OK(rec.submitAndWait());
  std::vector<float> got;
  ASSERT_TRUE(out.read(got));
  if (f16) {
    // The reference sees exactly the halves in the cache, including the rows the shader
    // rounded (kv_store's rounding is checked by KvStoreWritesOnlyNewRows).
    std::vector<uint16_t> kh(n_keys * row), vh(n_keys * row);
    TF_ASSERT_OK(dev.download(k_cache.view(), kh.data(), kh.size() * 2));
    TF_ASSERT_OK(dev.download(v_cache.view(), vh.data(), vh.size() * 2));
    k_all = fromHalves(kh), v_all = fromHalves(vh);
  }
  const auto want = ref::attention(q, k_all, v_all, c.n_q, c.n_heads, c.n_kv_heads, c.head_dim, c.pos0,
                                   1.0 / std::sqrt(double(c.head_dim)), c.window, c.softcap);
  EXPECT_TRUE(expectClose(got, want, kAttentionBound));
}

TEST_F(OpsAttention, PrefillShapes) {
  const AttnCase cases[] = {
      {7, 4, 4, 64, 0, ops::KvType::kF32, 0},     // prefill from empty, no GQA
      {9, 8, 2, 128, 300, ops::KvType::kF32, 64},  // GQA 4:1, chunks cross the batch
      {5, 6, 3, 80, 17, ops::KvType::kF16, 16},
      {13, 4, 1, 96, 40, ops::KvType::kF16, 0},    // multi-query
      {3, 2, 2, 64, 0, ops::KvType::kF16, 1},      // one key per chunk
  };
  uint64_t seed = 200;
  for (const AttnCase& c : cases) runAttention(device(), c, ++seed);
}

// Prompts with the default chunk take the flash pass (one sweep over key tiles, online softmax):
// query counts not a multiple of its tile, queries deep into the cache, GQA and MQA, head dims
// from 64 to 256 (the largest take the smaller tiles), both cache types.
TEST_F(OpsAttention, FlashPrefillOverLongCaches) {
  const AttnCase cases[] = {
      {37, 8, 2, 128, 1000, ops::KvType::kF16, 0},
      {100, 4, 4, 64, 0, ops::KvType::kF32, 0},
      {19, 6, 1, 80, 333, ops::KvType::kF16, 0},
      {9, 4, 2, 256, 70, ops::KvType::kF32, 0},
      {64, 14, 2, 64, 700, ops::KvType::kF16, 0},  // Qwen2.5-0.5B's heads, a full tile count
  };
  uint64_t seed = 250;
  for (const AttnCase& c : cases) runAttention(device(), c, ++seed);
  // No partials: the prompt needs no scratch and runs in one dispatch.
  const ops::AttentionShape s{37, 8, 2, 128, 1000, 0.0f, ops::KvType::kF16, 0};
  EXPECT_EQ(ops::attentionScratchBytes(s), 0u);
}

// Sliding-window attention (gemma) on the flash pass (prompts), the split pass (chosen chunks,
// including chunks wholly before the window) and single queries: the rows before the first
// query's window are NaN, so reading one would show. Windows of 1, shorter than a flash tile,
// longer than the prompt, one not a multiple of anything; with and without gemma2's soft-cap.
TEST_F(OpsAttention, SlidingWindowSkipsKeysBeforeIt) {
  using K = ops::KvType;
  const AttnCase cases[] = {
      {37, 8, 2, 128, 1000, K::kF16, 0, 512, 0.0f},  // flash, window deep inside the cache
      {40, 4, 4, 64, 0, K::kF32, 0, 12, 8.0f},       // flash from empty, gemma2-like
      {19, 4, 2, 128, 333, K::kF16, 0, 16, 0.0f},     // window 16 = one key tile
      {9, 8, 2, 128, 300, K::kF32, 64, 100, 0.0f},    // split: chunks 0-2 before every window
      {5, 6, 3, 80, 17, K::kF16, 16, 7, 2.0f},
      {3, 4, 4, 64, 50, K::kF32, 0, 1, 0.0f},         // each query sees only itself
      {7, 4, 1, 96, 5, K::kF32, 0, 600, 0.0f},        // window longer than every query's past
      {1, 8, 2, 128, 2047, K::kF16, 0, 333, 30.0f},   // decode-shaped on the split path
  };
  uint64_t seed = 350;
  for (const AttnCase& c : cases) runAttention(device(), c, ++seed);
}

TEST_F(OpsAttention, LongContextDecode) {
  const AttnCase cases[] = {
      {1, 8, 2, 128, 2047, ops::KvType::kF16, 0},  // 2k keys over 8 chunks
      {1, 4, 4, 64, 2100, ops::KvType::kF32, 0},
      {1, 6, 2, 96, 1500, ops::KvType::kF16, 128},
  };
  uint64_t seed = 300;
  for (const AttnCase& c : cases) runAttention(device(), c, ++seed);
}

// Every key in one chunk: one dispatch writes the normalised output (no combine pass), and the
// values still match the reference; two chunks take two dispatches.
TEST_F(OpsAttention, SingleChunkIsOneDispatch) {
  const AttnCase cases[] = {
      {1, 8, 2, 64, 100, ops::KvType::kF16, 0},  // decode, 101 keys
      {1, 4, 4, 128, 255, ops::KvType::kF32, 0},  // decode, exactly 256 keys
  };
  uint64_t seed = 400;
  for (const AttnCase& c : cases) runAttention(device(), c, ++seed);
  TF_ASSERT_OK_AND_ASSIGN(vk::Buffer buf, device().createBuffer(4 << 20));
  for (uint32_t pos0 : {255u, 256u}) {
    TF_ASSERT_OK_AND_ASSIGN(vk::Recorder rec, device().newRecorder());
    const ops::AttentionShape s{1, 4, 4, 128, pos0, 0.0f, ops::KvType::kF32, 0};
    TF_ASSERT_OK(ops::recordAttention(rec, buf.view(), buf.view(), buf.view(), buf.view(), buf.view(), s));
    EXPECT_EQ(rec.dispatchCount(), pos0 + 1 <= 256 ? 1u : 2u) << "pos0 " << pos0;
  }
}

// The decode path (attention_decode.comp): recorded once, then replayed at many positions with
// only the step buffer rewritten, against the float64 reference over the first n_keys rows.
// Splits from one chunk to many (target_chunks forces a GPU-like split on any device), GQA
// groups 1..7, f16 and f32 caches.
TEST_F(OpsAttention, DecodeStepReplayedAtManyPositions) {
  struct Case {
    uint32_t n_heads, n_kv_heads, head_dim, n_ctx, target_chunks;
    ops::KvType kv;
  };
  const Case cases[] = {
      {8, 2, 128, 1100, 0, ops::KvType::kF16},   // the device's own split
      {8, 2, 128, 1100, 64, ops::KvType::kF16},  // 32-key chunks up to 2k keys
      {4, 4, 64, 700, 16, ops::KvType::kF32},    // no GQA
      {14, 2, 64, 600, 8, ops::KvType::kF16},    // Qwen2.5-0.5B's 7:1
      {4, 1, 256, 300, 4, ops::KvType::kF32},    // multi-query, largest head
  };
  uint64_t seed = 500;
  for (const Case& c : cases) {
    ++seed;
    SCOPED_TRACE("seed=" + std::to_string(seed) + " heads=" + std::to_string(c.n_heads) + "/" +
                 std::to_string(c.n_kv_heads) + " D=" + std::to_string(c.head_dim) + " target=" +
                 std::to_string(c.target_chunks) + (c.kv == ops::KvType::kF16 ? " f16" : " f32"));
    ops::AttentionDecodeShape shape{c.n_heads, c.n_kv_heads, c.head_dim, c.n_ctx, 0.0f, c.kv, c.target_chunks};
    if (!ops::attentionDecodeSupported(device(), shape)) GTEST_SKIP() << "device has no subgroup shuffle/arithmetic";
    TestRng rng(seed);
    const size_t row = size_t{c.n_kv_heads} * c.head_dim;
    std::vector<float> k_all = rng.floats(c.n_ctx * row, -1, 1), v_all = rng.floats(c.n_ctx * row, -1, 1);
    vk::Buffer k_cache, v_cache;
    if (c.kv == ops::KvType::kF16) {
      const std::vector<uint16_t> kh = toHalves(k_all), vh = toHalves(v_all);
      k_all = fromHalves(kh), v_all = fromHalves(vh);  // what the reference sees
      k_cache = upload(device(), kh), v_cache = upload(device(), vh);
    } else {
      k_cache = upload(device(), k_all), v_cache = upload(device(), v_all);
    }
    const std::vector<float> q = rng.floats(size_t{c.n_heads} * c.head_dim, -1.5, 1.5);
    vk::Buffer bq = upload(device(), q);
    TF_ASSERT_OK_AND_ASSIGN(vk::Buffer scratch, device().createBuffer(ops::attentionDecodeScratchBytes(device(), shape)));
    TF_ASSERT_OK_AND_ASSIGN(vk::Buffer step, device().createBuffer(ops::kDecodeStepBytes, vk::Device::MemoryKind::kHostVisible));
    TF_ASSERT_OK_AND_ASSIGN(GuardedBuffer out, GuardedBuffer::create(device(), q.size() * 4));
    TF_ASSERT_OK_AND_ASSIGN(vk::Recorder rec, device().newRecorder());
    TF_ASSERT_OK(ops::recordAttentionDecode(rec, bq.view(), k_cache.view(), v_cache.view(), scratch.view(), out.view(),
                                            shape, step.view()));
    bool first = true;
    for (uint32_t n_keys : {1u, 31u, 32u, 33u, 257u, c.n_ctx / 2, c.n_ctx - 1, c.n_ctx}) {
      SCOPED_TRACE("n_keys=" + std::to_string(n_keys));
      TF_ASSERT_OK(ops::writeDecodeStep(device(), shape, n_keys, step.mapped()));
      TF_ASSERT_OK(first ? rec.submitAndWait() : rec.replay());
      first = false;
      std::vector<float> got;
      ASSERT_TRUE(out.read(got));
      const std::vector<float> k(k_all.begin(), k_all.begin() + n_keys * row), v(v_all.begin(), v_all.begin() + n_keys * row);
      const auto want = ref::attention(q, k, v, 1, c.n_heads, c.n_kv_heads, c.head_dim, n_keys - 1,
                                       1.0 / std::sqrt(double(c.head_dim)));
      EXPECT_TRUE(expectClose(got, want, kAttentionBound));
    }
  }
  // Steps outside the cache are refused before anything runs.
  ops::AttentionDecodeShape shape{4, 4, 64, 100, 0.0f, ops::KvType::kF32, 0};
  uint8_t bytes[ops::kDecodeStepBytes];
  EXPECT_EQ(ops::writeDecodeStep(device(), shape, 0, bytes).code(), Code::kInvalidArgument);
  EXPECT_EQ(ops::writeDecodeStep(device(), shape, 101, bytes).code(), Code::kInvalidArgument);
}

// The replayed decode step with a sliding window: the window start follows n_keys on the GPU
// (the command buffer is recorded once). Before each replay the rows before the window are
// rewritten as NaN, so a read of one would show; the split covers one to many chunks, some
// wholly before the window.
TEST_F(OpsAttention, DecodeStepSlidesTheWindowOnReplay) {
  struct Case {
    uint32_t n_heads, n_kv_heads, head_dim, n_ctx, target_chunks, window;
    float softcap;
    ops::KvType kv;
  };
  const Case cases[] = {
      {8, 2, 128, 700, 16, 16, 0.0f, ops::KvType::kF16},  // gemma3-like window, 32-key chunks
      {4, 2, 64, 600, 0, 12, 8.0f, ops::KvType::kF32},     // gemma2-like, the device's own split
      {4, 1, 256, 1100, 8, 512, 0.0f, ops::KvType::kF16},  // Gemma-3-1B's heads and window
      {4, 4, 64, 300, 4, 1, 2.0f, ops::KvType::kF32},      // only the query's own key
  };
  uint64_t seed = 600;
  for (const Case& c : cases) {
    ++seed;
    SCOPED_TRACE("seed=" + std::to_string(seed) + " heads=" + std::to_string(c.n_heads) + "/" +
                 std::to_string(c.n_kv_heads) + " D=" + std::to_string(c.head_dim) + " window=" +
                 std::to_string(c.window) + " softcap=" + std::to_string(c.softcap) +
                 (c.kv == ops::KvType::kF16 ? " f16" : " f32"));
    ops::AttentionDecodeShape shape{c.n_heads, c.n_kv_heads, c.head_dim, c.n_ctx, 0.0f, c.kv, c.target_chunks};
    shape.window = c.window;
    shape.softcap = c.softcap;
    if (!ops::attentionDecodeSupported(device(), shape)) GTEST_SKIP() << "device has no subgroup shuffle/arithmetic";
    TestRng rng(seed);
    const size_t row = size_t{c.n_kv_heads} * c.head_dim;
    std::vector<float> k_all = rng.floats(c.n_ctx * row, -1, 1), v_all = rng.floats(c.n_ctx * row, -1, 1);
    const bool f16 = c.kv == ops::KvType::kF16;
    std::vector<uint16_t> kh, vh;
    if (f16) {
      kh = toHalves(k_all), vh = toHalves(v_all);
      k_all = fromHalves(kh), v_all = fromHalves(vh);  // what the reference sees
    }
    const uint64_t cache_bytes = c.n_ctx * row * (f16 ? 2 : 4);
    TF_ASSERT_OK_AND_ASSIGN(vk::Buffer k_cache, device().createBuffer(cache_bytes));
    TF_ASSERT_OK_AND_ASSIGN(vk::Buffer v_cache, device().createBuffer(cache_bytes));
    const std::vector<float> q = rng.floats(size_t{c.n_heads} * c.head_dim, -1.5, 1.5);
    vk::Buffer bq = upload(device(), q);
    TF_ASSERT_OK_AND_ASSIGN(vk::Buffer scratch, device().createBuffer(ops::attentionDecodeScratchBytes(device(), shape)));
    TF_ASSERT_OK_AND_ASSIGN(vk::Buffer step, device().createBuffer(ops::kDecodeStepBytes, vk::Device::MemoryKind::kHostVisible));
    TF_ASSERT_OK_AND_ASSIGN(GuardedBuffer out, GuardedBuffer::create(device(), q.size() * 4));
    TF_ASSERT_OK_AND_ASSIGN(vk::Recorder rec, device().newRecorder());
    TF_ASSERT_OK(ops::recordAttentionDecode(rec, bq.view(), k_cache.view(), v_cache.view(), scratch.view(), out.view(),
                                            shape, step.view()));
    bool first = true;
    for (uint32_t n_keys : {1u, c.window, c.window + 1, 33u, 257u, c.n_ctx / 2, c.n_ctx - 1, c.n_ctx}) {
      if (n_keys == 0 || n_keys > c.n_ctx) continue;
      SCOPED_TRACE("n_keys=" + std::to_string(n_keys));
      const size_t unread = n_keys > c.window ? size_t{n_keys - c.window} * row : 0;
      if (f16) {
        std::vector<uint16_t> kp = kh, vp = vh;
        std::fill(kp.begin(), kp.begin() + long(unread), uint16_t{0x7E00});
        std::fill(vp.begin(), vp.begin() + long(unread), uint16_t{0x7E00});
        TF_ASSERT_OK(device().upload(k_cache.view(), kp.data(), cache_bytes));
        TF_ASSERT_OK(device().upload(v_cache.view(), vp.data(), cache_bytes));
      } else {
        std::vector<float> kp = k_all, vp = v_all;
        std::fill(kp.begin(), kp.begin() + long(unread), NAN);
        std::fill(vp.begin(), vp.begin() + long(unread), NAN);
        TF_ASSERT_OK(device().upload(k_cache.view(), kp.data(), cache_bytes));
        TF_ASSERT_OK(device().upload(v_cache.view(), vp.data(), cache_bytes));
      }
      TF_ASSERT_OK(ops::writeDecodeStep(device(), shape, n_keys, step.mapped()));
      TF_ASSERT_OK(first ? rec.submitAndWait() : rec.replay());
      first = false;
      std::vector<float> got;
      ASSERT_TRUE(out.read(got));
      const std::vector<float> k(k_all.begin(), k_all.begin() + n_keys * row), v(v_all.begin(), v_all.begin() + n_keys * row);
      const auto want = ref::attention(q, k, v, 1, c.n_heads, c.n_kv_heads, c.head_dim, n_keys - 1,
                                       1.0 / std::sqrt(double(c.head_dim)), c.window, c.softcap);
      EXPECT_TRUE(expectClose(got, want, kAttentionBound));
    }
  }
}

TEST_F(OpsAttention, RejectsBadShapes) {
  TF_ASSERT_OK_AND_ASSIGN(vk::Buffer buf, device().createBuffer(1 << 16));
  TF_ASSERT_OK_AND_ASSIGN(vk::Recorder rec, device().newRecorder());
  ops::AttentionShape s{1, 6, 4, 64, 0};
  EXPECT_EQ(ops::recordAttention(rec, buf.view(), buf.view(), buf.view(), buf.view(), buf.view(), s).code(),
            Code::kInvalidArgument);
  s = {1, 4, 4, 65, 0};
  EXPECT_EQ(ops::recordAttention(rec, buf.view(), buf.view(), buf.view(), buf.view(), buf.view(), s).code(),
            Code::kInvalidArgument);
  s = {1, 4, 4, 64, 100000};
  EXPECT_EQ(ops::recordAttention(rec, buf.view(), buf.view(), buf.view(), buf.view(), buf.view(), s).code(),
            Code::kOutOfRange);
  EXPECT_EQ(ops::recordKvStore(rec, buf.view(), buf.view(), ops::KvType::kF16, 1, 7, 0).code(),
            Code::kInvalidArgument);
  TF_ASSERT_OK(rec.submitAndWait());
}

}  // namespace
}  // namespace tokenfab::test
