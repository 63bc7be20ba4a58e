// The op-case table and its two drivers (tokenfab/op_cases.h). Each case builds its inputs from
// a seed, records the op through core/ops and computes its reference with core/ref in float64.
#include "tokenfab/op_cases.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>

#include "lab/quantize.h"
#include "ref/dequant.h"
#include "ref/matmul_ref.h"
#include "ref/ops_ref.h"
#include "tokenfab/ops.h"

namespace tokenfab::lab {
namespace {

// Error bounds, normalised by max(1, max |reference|): one f32 rounding for add/mul, the GPU's
// exp for silu/softmax, f32 sums for the norms and attention, the f32 angle for rope (check
// positions stay below 64).
constexpr double kExactBound = 0.0;
constexpr double kBinaryBound = 1e-6;
constexpr double kSiluBound = 1e-5;
constexpr double kRmsNormBound = 1e-5;
constexpr double kRopeBound = 2e-3;
constexpr double kSoftmaxBound = 2e-6;
constexpr double kAttentionBound = 1e-4;
// Products: |got - want| <= bound * sum_k |w x| (the scale of the f32 rounding error). On
// cooperative matrices both inputs are rounded to f16 first (relative 2^-11 each).
constexpr double kMatMulBound = 1e-5;
constexpr double kMatMulF16InputBound = 2.0 * 0.00048828125 + kMatMulBound;

constexpr const char* kOfMaxRef = "of max |ref|";
constexpr const char* kOfAbsSum = "of sum |w x|";
constexpr const char* kExact = "exact";

class Rng {
 public:
  explicit Rng(uint64_t seed) : m_engine(seed) {}
  std::vector<float> floats(size_t n, float lo, float hi) {
    std::uniform_real_distribution<float> dist(lo, hi);
    std::vector<float> v(n);
    for (float& x : v) x = dist(m_engine);
    return v;
  }

 private:
  std::mt19937_64 m_engine;
};

// Device buffers the prepared closures own; shared so the std::function copies stay cheap.
template <typename T>
Result<std::shared_ptr<vk::Buffer>> uploaded(vk::Device& dev, const std::vector<T>& data) {
  const uint64_t bytes = std::max<uint64_t>(4, (data.size() * sizeof(T) + 3) / 4 * 4);
  TF_ASSIGN_OR_RETURN(vk::Buffer buffer, dev.createBuffer(bytes));
  std::vector<uint8_t> padded(bytes, 0);
  if (!data.empty()) std::memcpy(padded.data(), data.data(), data.size() * sizeof(T));
  TF_RETURN_IF_ERROR(dev.upload(buffer.view(), padded.data(), bytes));
  return std::make_shared<vk::Buffer>(std::move(buffer));
}

Result<std::shared_ptr<GuardedOutput>> guarded(vk::Device& dev, uint64_t bytes) {
  TF_ASSIGN_OR_RETURN(GuardedOutput out, GuardedOutput::create(dev, bytes));
  return std::make_shared<GuardedOutput>(std::move(out));
}

// The error of float outputs against a reference computed on demand.
std::function<Result<double>()> floatError(std::shared_ptr<GuardedOutput> out,
                                           std::function<std::vector<double>()> reference) {
  return [out = std::move(out), reference = std::move(reference)]() -> Result<double> {
    TF_ASSIGN_OR_RETURN(std::vector<float> got, out->readFloats());
    const std::vector<double> want = reference();
    const Comparison c = compare(got, want);
    if (!c.problem.empty()) return Status(Code::kInternal, c.describe(got, want));
    return c.error;
  };
}

std::string dims(std::initializer_list<uint64_t> d) {
  std::string s;
  for (uint64_t v : d) {
    if (!s.empty()) s.push_back('x');
    s.append(std::to_string(v));
  }
  return s;
}

bool isCheck(const CaseSize& size) { return size.kind == CaseSize::kCheck; }

// Elementwise length at bench size: 4096 times a multiple of 1024 (rows for the row ops).
uint64_t benchElements(const CaseSize& size) {
  return std::max<uint64_t>(static_cast<uint64_t>(1024 * size.scale), 1) * 4096;
}

// ---- elementwise and row ops ----

OpCase copyCase() {
  return {"copy (vkCmdCopyBuffer)", kExactBound, kExact,
          [](vk::Device& dev, const CaseSize& size, uint64_t seed) -> Result<PreparedOp> {
            const uint64_t n = isCheck(size) ? 1001 : benchElements(size);
            auto a = std::make_shared<std::vector<float>>(Rng(seed).floats(n, -2, 2));
            TF_ASSIGN_OR_RETURN(auto ba, uploaded(dev, *a));
            TF_ASSIGN_OR_RETURN(auto out, guarded(dev, n * 4));
            PreparedOp op{dims({n}), "", 8.0 * n};
            op.record = [ba, out, n](vk::Recorder& r) { return r.copy(ba->view(0, n * 4), out->view()); };
            op.error = floatError(out, [a] { return std::vector<double>(a->begin(), a->end()); });
            return op;
          }};
}

// add: a + b of the same length (the residual add); mul: b broadcast over rows (a norm weight).
OpCase binaryCase(bool add) {
  return {add ? "add" : "mul (broadcast)", kBinaryBound, kOfMaxRef,
          [add](vk::Device& dev, const CaseSize& size, uint64_t seed) -> Result<PreparedOp> {
            const uint64_t n = isCheck(size) ? 3 * 333 : benchElements(size);
            const uint64_t nb = add ? n : (isCheck(size) ? 333 : 4096);
            Rng rng(seed);
            auto a = std::make_shared<std::vector<float>>(rng.floats(n, -10, 10));
            auto b = std::make_shared<std::vector<float>>(rng.floats(nb, -10, 10));
            TF_ASSIGN_OR_RETURN(auto ba, uploaded(dev, *a));
            TF_ASSIGN_OR_RETURN(auto bb, uploaded(dev, *b));
            TF_ASSIGN_OR_RETURN(auto out, guarded(dev, n * 4));
            PreparedOp op{add ? dims({n}) : dims({n / nb, nb}), "", 4.0 * (2 * n + nb)};
            op.record = [=](vk::Recorder& r) {
              return add ? ops::recordAdd(r, ba->view(), bb->view(), out->view(), n, nb)
                         : ops::recordMul(r, ba->view(), bb->view(), out->view(), n, nb);
            };
            op.error = floatError(out, [=] { return add ? ref::add(*a, *b) : ref::mul(*a, *b); });
            return op;
          }};
}

// A gated activation: out = act(gate) * up (the FFN's SwiGLU and GeGLU).
using GatedRecord = Status (*)(vk::Recorder&, const vk::BufferView&, const vk::BufferView&, const vk::BufferView&,
                               uint64_t, uint64_t);
using GatedReference = std::vector<double> (*)(std::span<const float>, std::span<const float>);

OpCase gatedCase(const char* name, GatedRecord record, GatedReference reference) {
  return {name, kSiluBound, kOfMaxRef,
          [record, reference](vk::Device& dev, const CaseSize& size, uint64_t seed) -> Result<PreparedOp> {
            const uint64_t n = isCheck(size) ? 1001 : benchElements(size);
            Rng rng(seed);
            auto gate = std::make_shared<std::vector<float>>(rng.floats(n, -20, 20));
            auto up = std::make_shared<std::vector<float>>(rng.floats(n, -3, 3));
            TF_ASSIGN_OR_RETURN(auto bg, uploaded(dev, *gate));
            TF_ASSIGN_OR_RETURN(auto bu, uploaded(dev, *up));
            TF_ASSIGN_OR_RETURN(auto out, guarded(dev, n * 4));
            PreparedOp op{dims({n}), "", 12.0 * n};
            op.record = [=](vk::Recorder& r) { return record(r, bg->view(), bu->view(), out->view(), n, 0); };
            op.error = floatError(out, [=] { return reference(*gate, *up); });
            return op;
          }};
}

// Values well past the cap (|x| up to 60 for a cap of 12), where tanh saturates.
OpCase softcapCase() {
  return {"softcap", kSiluBound, kOfMaxRef,
          [](vk::Device& dev, const CaseSize& size, uint64_t seed) -> Result<PreparedOp> {
            const uint64_t n = isCheck(size) ? 1001 : benchElements(size);
            constexpr float kCap = 12.0f;
            Rng rng(seed);
            auto x = std::make_shared<std::vector<float>>(rng.floats(n, -60, 60));
            TF_ASSIGN_OR_RETURN(auto bx, uploaded(dev, *x));
            TF_ASSIGN_OR_RETURN(auto out, guarded(dev, n * 4));
            PreparedOp op{dims({n}), "", 8.0 * n};
            op.record = [=](vk::Recorder& r) { return ops::recordSoftcap(r, bx->view(), out->view(), n, kCap); };
            op.error = floatError(out, [=] { return ref::softcap(*x, kCap); });
            return op;
          }};
}

// Row shapes: (rows, cols) small and odd for checks, (n / 4096, 4096) for benches.
std::pair<uint32_t, uint32_t> rowShape(const CaseSize& size, uint32_t check_rows, uint32_t check_cols) {
  if (isCheck(size)) return {check_rows, check_cols};
  return {static_cast<uint32_t>(benchElements(size) / 4096), 4096};
}

OpCase rmsNormCase() {
  return {"rms_norm", kRmsNormBound, kOfMaxRef,
          [](vk::Device& dev, const CaseSize& size, uint64_t seed) -> Result<PreparedOp> {
            const std::pair<uint32_t, uint32_t> rc = rowShape(size, 4, 515);
            const uint32_t rows = rc.first, cols = rc.second;
            Rng rng(seed);
            auto x = std::make_shared<std::vector<float>>(rng.floats(size_t{rows} * cols, -4, 4));
            auto w = std::make_shared<std::vector<float>>(rng.floats(cols, -2, 2));
            TF_ASSIGN_OR_RETURN(auto bx, uploaded(dev, *x));
            TF_ASSIGN_OR_RETURN(auto bw, uploaded(dev, *w));
            TF_ASSIGN_OR_RETURN(auto out, guarded(dev, x->size() * 4));
            PreparedOp op{dims({rows, cols}), "", 8.0 * rows * cols + 4.0 * cols};
            op.record = [=](vk::Recorder& r) {
              return ops::recordRmsNorm(r, bx->view(), bw->view(), out->view(), rows, cols, 1e-5f);
            };
            op.error = floatError(out, [=] { return ref::rmsNorm(*x, *w, rows, cols, 1e-5); });
            return op;
          }};
}

OpCase softmaxCase() {
  return {"softmax", kSoftmaxBound, kOfMaxRef,
          [](vk::Device& dev, const CaseSize& size, uint64_t seed) -> Result<PreparedOp> {
            const std::pair<uint32_t, uint32_t> rc = rowShape(size, 3, 1500);
            const uint32_t rows = rc.first, cols = rc.second;
            auto x = std::make_shared<std::vector<float>>(Rng(seed).floats(size_t{rows} * cols, -30, 30));
            TF_ASSIGN_OR_RETURN(auto bx, uploaded(dev, *x));
            TF_ASSIGN_OR_RETURN(auto out, guarded(dev, x->size() * 4));
            PreparedOp op{dims({rows, cols}), "", 8.0 * rows * cols};
            op.record = [=](vk::Recorder& r) {
              return ops::recordSoftmax(r, bx->view(), out->view(), rows, cols);
            };
            op.error = floatError(out, [=] { return ref::softmax(*x, rows, cols); });
            return op;
          }};
}

// Index outputs must equal the reference's exactly (ties by lower index); a tie is planted.
OpCase argmaxCase() {
  return {"argmax", kExactBound, kExact,
          [](vk::Device& dev, const CaseSize& size, uint64_t seed) -> Result<PreparedOp> {
            const std::pair<uint32_t, uint32_t> rc = rowShape(size, 3, 2000);
            const uint32_t rows = rc.first, cols = rc.second;
            auto x = std::make_shared<std::vector<float>>(Rng(seed).floats(size_t{rows} * cols, -5, 5));
            (*x)[17] = (*x)[900];
            TF_ASSIGN_OR_RETURN(auto bx, uploaded(dev, *x));
            TF_ASSIGN_OR_RETURN(auto out, guarded(dev, rows * 4));
            PreparedOp op{dims({rows, cols}), "", 4.0 * rows * cols};
            op.record = [=](vk::Recorder& r) {
              return ops::recordArgmax(r, bx->view(), out->view(), rows, cols);
            };
            op.error = [=]() -> Result<double> {
              TF_ASSIGN_OR_RETURN(std::vector<uint32_t> got, out->readWords());
              const std::vector<uint32_t> want = ref::argmax(*x, rows, cols);
              for (size_t i = 0; i < want.size(); ++i)
                if (got[i] != want[i])
                  return Status(Code::kInternal, "argmax of row " + std::to_string(i) + " is " +
                                                     std::to_string(got[i]) + ", the reference's " +
                                                     std::to_string(want[i]));
              return 0.0;
            };
            return op;
          }};
}

OpCase topKCase() {
  return {"top_k (k=40)", kExactBound, kExact,
          [](vk::Device& dev, const CaseSize& size, uint64_t seed) -> Result<PreparedOp> {
            const uint32_t k = 40;
            const uint32_t rows = isCheck(size) ? 3 : 1;
            const uint32_t cols =
                isCheck(size) ? 2000 : static_cast<uint32_t>(std::min<uint64_t>(benchElements(size), 152064));
            auto x = std::make_shared<std::vector<float>>(Rng(seed).floats(size_t{rows} * cols, -5, 5));
            (*x)[17] = (*x)[900];
            TF_ASSIGN_OR_RETURN(auto bx, uploaded(dev, *x));
            TF_ASSIGN_OR_RETURN(auto idx, guarded(dev, rows * k * 4));
            TF_ASSIGN_OR_RETURN(auto val, guarded(dev, rows * k * 4));
            PreparedOp op{dims({rows, cols}), "", 4.0 * rows * cols};
            op.record = [=](vk::Recorder& r) {
              return ops::recordTopK(r, bx->view(), idx->view(), val->view(), rows, cols, k);
            };
            op.error = [=]() -> Result<double> {
              TF_ASSIGN_OR_RETURN(std::vector<uint32_t> got_idx, idx->readWords());
              TF_ASSIGN_OR_RETURN(std::vector<float> got_val, val->readFloats());
              const std::vector<uint32_t> want = ref::topK(*x, rows, cols, k);
              for (size_t i = 0; i < want.size(); ++i) {
                const size_t row = i / k;
                if (got_idx[i] != want[i] || got_val[i] != (*x)[row * cols + want[i]])
                  return Status(Code::kInternal, "top-k entry " + std::to_string(i % k) + " of row " +
                                                     std::to_string(row) + " differs from the reference");
              }
              return 0.0;
            };
            return op;
          }};
}

OpCase ropeCase(ops::RopeLayout layout) {
  const bool neox = layout == ops::RopeLayout::kNeox;
  return {neox ? "rope (neox halves)" : "rope (adjacent pairs)", kRopeBound, kOfMaxRef,
          [layout, neox](vk::Device& dev, const CaseSize& size, uint64_t seed) -> Result<PreparedOp> {
            const bool small = isCheck(size);
            const uint32_t n_tokens = small ? 5 : 64, n_heads = small ? 3 : 32, head_dim = small ? 64 : 128;
            auto x = std::make_shared<std::vector<float>>(
                Rng(seed).floats(size_t{n_tokens} * n_heads * head_dim, -2, 2));
            auto pos = std::make_shared<std::vector<uint32_t>>(small ? std::vector<uint32_t>{0, 1, 7, 30, 63}
                                                                     : std::vector<uint32_t>(n_tokens, 2047));
            TF_ASSIGN_OR_RETURN(auto bp, uploaded(dev, *pos));
            // In place: the guarded output starts as the input.
            TF_ASSIGN_OR_RETURN(auto out, guarded(dev, x->size() * 4));
            TF_RETURN_IF_ERROR(dev.upload(out->view(), x->data(), x->size() * 4));
            ops::RopeConfig config;
            config.layout = layout;
            config.n_rot = head_dim;
            config.freq_base = small ? 10000.f : 1000000.f;
            PreparedOp op{dims({n_tokens, n_heads, head_dim}), "", 8.0 * x->size()};
            op.record = [=](vk::Recorder& r) {
              return ops::recordRope(r, out->view(), bp->view(), vk::BufferView{}, n_tokens, n_heads,
                                     head_dim, config);
            };
            op.error = floatError(out, [=] {
              return ref::rope(*x, *pos, n_tokens, n_heads, head_dim, head_dim, neox, config.freq_base,
                               config.freq_scale, {});
            });
            return op;
          }};
}

// ---- attention ----

// Random caches (n_ctx rows of n_kv_heads x head_dim) in the cache's element type, with the
// float values the reference sees (an f16 cache's decoded values).
struct Cache {
  std::shared_ptr<vk::Buffer> k, v;
  std::shared_ptr<std::vector<float>> k_values, v_values;
  uint64_t bytes = 0;  // one cache
};

Result<Cache> randomCache(vk::Device& dev, Rng& rng, uint64_t elements, ops::KvType type) {
  Cache c;
  c.k_values = std::make_shared<std::vector<float>>(rng.floats(elements, -1, 1));
  c.v_values = std::make_shared<std::vector<float>>(rng.floats(elements, -1, 1));
  if (type == ops::KvType::kF32) {
    TF_ASSIGN_OR_RETURN(c.k, uploaded(dev, *c.k_values));
    TF_ASSIGN_OR_RETURN(c.v, uploaded(dev, *c.v_values));
    c.bytes = elements * 4;
    return c;
  }
  std::vector<uint16_t> k16(elements), v16(elements);
  for (uint64_t i = 0; i < elements; ++i) {
    k16[i] = ref::floatToFp16((*c.k_values)[i]);
    v16[i] = ref::floatToFp16((*c.v_values)[i]);
    (*c.k_values)[i] = ref::fp16ToFloat(k16[i]);
    (*c.v_values)[i] = ref::fp16ToFloat(v16[i]);
  }
  TF_ASSIGN_OR_RETURN(c.k, uploaded(dev, k16));
  TF_ASSIGN_OR_RETURN(c.v, uploaded(dev, v16));
  c.bytes = elements * 2;
  return c;
}

const char* kvName(ops::KvType type) { return type == ops::KvType::kF16 ? "f16" : "f32"; }

// Decode-shaped heads for benches (32 query heads over 8 kv heads of 128, a 7-8B model).
constexpr uint32_t kBenchHeads = 32, kBenchKvHeads = 8, kBenchHeadDim = 128;

// The general path (split over key chunks, then combine). deep: 4x the keys (bench 8192, check
// 300 > one 256-key chunk, so the combine pass runs).
// sliding: gemma's sliding window (29 keys on checks, 4096 on benches: keys before it are not
// read) with gemma2's soft-capping of the scores (cap 2, so that it bends them).
OpCase attentionSplitCase(ops::KvType type, bool deep, bool sliding = false) {
  std::string name = std::string("attention ") + kvName(type) + " split" + (deep ? " (deep)" : "") +
                     (sliding ? " sliding+softcap" : "");
  return {name, kAttentionBound, kOfMaxRef,
          [type, deep, sliding](vk::Device& dev, const CaseSize& size, uint64_t seed) -> Result<PreparedOp> {
            ops::AttentionShape shape;
            const bool small = isCheck(size);
            if (sliding) {
              shape.window = small ? 29 : 4096;
              shape.softcap = 2.0f;
            }
            shape.n_q = small ? 3 : 1;
            shape.n_heads = small ? 4 : kBenchHeads;
            shape.n_kv_heads = small ? 2 : kBenchKvHeads;
            shape.head_dim = small ? 64 : kBenchHeadDim;
            const uint32_t n_keys = small ? (deep ? 300 : 40) : (deep ? 8192 : 2048);
            shape.pos0 = n_keys - shape.n_q;
            shape.kv_type = type;
            Rng rng(seed);
            auto q = std::make_shared<std::vector<float>>(
                rng.floats(size_t{shape.n_q} * shape.n_heads * shape.head_dim, -1, 1));
            TF_ASSIGN_OR_RETURN(
                Cache cache,
                randomCache(dev, rng, uint64_t{n_keys} * shape.n_kv_heads * shape.head_dim, type));
            TF_ASSIGN_OR_RETURN(auto bq, uploaded(dev, *q));
            TF_ASSIGN_OR_RETURN(vk::Buffer s,
                                dev.createBuffer(std::max<uint64_t>(4, ops::attentionScratchBytes(shape))));
            auto scratch = std::make_shared<vk::Buffer>(std::move(s));
            TF_ASSIGN_OR_RETURN(auto out, guarded(dev, q->size() * 4));
            PreparedOp op{std::to_string(shape.n_heads) + "/" + std::to_string(shape.n_kv_heads) + "x" +
                              std::to_string(shape.head_dim) + " q" + std::to_string(shape.n_q) + " @" +
                              std::to_string(n_keys),
                          "", 2.0 * cache.bytes};
            op.record = [=](vk::Recorder& r) {
              return ops::recordAttention(r, bq->view(), cache.k->view(), cache.v->view(), scratch->view(),
                                          out->view(), shape);
            };
            op.error = floatError(out, [=] {
              return ref::attention(*q, *cache.k_values, *cache.v_values, shape.n_q, shape.n_heads,
                                    shape.n_kv_heads, shape.head_dim, shape.pos0,
                                    1.0 / std::sqrt(double(shape.head_dim)), shape.window, shape.softcap);
            });
            return op;
          }};
}

// The decode path (GQA heads together, step parameters from a buffer): kUnsupported where the
// device lacks what it needs.
OpCase attentionStepCase(ops::KvType type, bool deep, bool sliding = false) {
  std::string name = std::string("attention ") + kvName(type) + " step" + (deep ? " (deep)" : "") +
                     (sliding ? " sliding+softcap" : "");
  return {
      name, kAttentionBound, kOfMaxRef,
      [type, deep, sliding](vk::Device& dev, const CaseSize& size, uint64_t seed) -> Result<PreparedOp> {
        const bool small = isCheck(size);
        const uint32_t n_keys = small ? (deep ? 300 : 40) : (deep ? 8192 : 2048);
        ops::AttentionDecodeShape shape{small ? 8u : kBenchHeads,
                                              small ? 2u : kBenchKvHeads,
                                              small ? 64u : kBenchHeadDim,
                                              n_keys,
                                              0.f,
                                              type,
                                              0};
        if (sliding) {  // as attentionSplitCase
          shape.window = small ? 29 : 4096;
          shape.softcap = 2.0f;
        }
        if (!ops::attentionDecodeSupported(dev, shape))
          return Status(Code::kUnsupported, "the device has no decode-attention path for this shape");
        Rng rng(seed);
        auto q =
            std::make_shared<std::vector<float>>(rng.floats(size_t{shape.n_heads} * shape.head_dim, -1, 1));
        TF_ASSIGN_OR_RETURN(
            Cache cache, randomCache(dev, rng, uint64_t{n_keys} * shape.n_kv_heads * shape.head_dim, type));
        TF_ASSIGN_OR_RETURN(auto bq, uploaded(dev, *q));
        TF_ASSIGN_OR_RETURN(vk::Buffer st,
                            dev.createBuffer(ops::kDecodeStepBytes, vk::Device::MemoryKind::kHostVisible));
        TF_RETURN_IF_ERROR(ops::writeDecodeStep(dev, shape, n_keys, st.mapped()));
        auto step = std::make_shared<vk::Buffer>(std::move(st));
        TF_ASSIGN_OR_RETURN(vk::Buffer s, dev.createBuffer(std::max<uint64_t>(
                                              4, ops::attentionDecodeScratchBytes(dev, shape))));
        auto scratch = std::make_shared<vk::Buffer>(std::move(s));
        TF_ASSIGN_OR_RETURN(auto out, guarded(dev, q->size() * 4));
        PreparedOp op{std::to_string(shape.n_heads) + "/" + std::to_string(shape.n_kv_heads) + "x" +
                          std::to_string(shape.head_dim) + " @" + std::to_string(n_keys),
                      "", 2.0 * cache.bytes};
        op.record = [=](vk::Recorder& r) {
          return ops::recordAttentionDecode(r, bq->view(), cache.k->view(), cache.v->view(), scratch->view(),
                                            out->view(), shape, step->view());
        };
        op.error = floatError(out, [=] {
          return ref::attention(*q, *cache.k_values, *cache.v_values, 1, shape.n_heads, shape.n_kv_heads,
                                shape.head_dim, n_keys - 1, 1.0 / std::sqrt(double(shape.head_dim)), shape.window,
                                shape.softcap);
        });
        return op;
      }};
}

// ---- quantized products ----

// Random bytes in the type's block layout that decode to finite values: every quant bit
// pattern occurs, float elements lie in [-0.5, 0.5], and the 16-bit scale fields (at the block's
// start for the legacy types, Q4_K, Q5_K and the i-quants, at its end for Q2_K, Q3_K, Q6_K)
// become small halves (high byte 0x20: about 2^-7).
std::vector<uint8_t> randomWeights(gguf::TensorType type, uint64_t rows, uint64_t cols, uint64_t seed) {
  std::vector<uint8_t> w(rows * ops::quantRowBytes(type, cols));
  uint64_t state = 0x9E3779B97F4A7C15ull ^ seed;
  for (size_t i = 0; i < w.size(); ++i) {
    if (i % 8 == 0) state = state * 6364136223846793005ull + 1442695040888963407ull;
    w[i] = static_cast<uint8_t>(state >> (8 * (i % 8)));
  }
  if (type == gguf::TensorType::kF32) {
    for (size_t i = 0; i + 4 <= w.size(); i += 4) {
      const float v = static_cast<float>(w[i]) / 255.0f - 0.5f;
      std::memcpy(&w[i], &v, 4);
    }
  } else if (type == gguf::TensorType::kF16 || type == gguf::TensorType::kBF16) {
    // High bytes: exponent below the bias (magnitudes under 1), sign kept.
    for (size_t i = 1; i < w.size(); i += 2)
      w[i] = type == gguf::TensorType::kF16 ? (w[i] & 0xBB) : (w[i] & 0xBF);
  } else {
    const uint32_t bb = gguf::typeTraits(type)->type_size;
    for (uint64_t b = 0; b + bb <= w.size(); b += bb)
      for (uint32_t off : {0u, 2u, bb - 4, bb - 2}) w[b + off + 1] = 0x20;
  }
  return w;
}

}  // namespace

OpCase matMulCase(gguf::TensorType type, uint32_t batch, uint32_t rows, uint32_t cols, ops::MatMulPath path) {
  std::string name = std::string(batch == 1 ? "matvec " : "matmul ") + std::string(gguf::typeName(type));
  if (batch > 1 && path != ops::MatMulPath::kAuto)
    name += std::string(" (") + ops::matMulPathName(path) + ")";
  const double bound = path == ops::MatMulPath::kCoopMatrix ? kMatMulF16InputBound : kMatMulBound;
  return {name, bound, kOfAbsSum,
          [=](vk::Device& dev, const CaseSize& size, uint64_t seed) -> Result<PreparedOp> {
            if (!ops::matMulSupports(type))
              return Status(Code::kUnsupported, "no GPU decoder for " + std::string(gguf::typeName(type)));
            const bool small = isCheck(size);
            const uint32_t n = small && batch > 1 ? 9 : batch;
            const uint64_t m = small ? 67 : rows;
            const uint32_t bs = gguf::typeTraits(type)->block_size;
            const uint32_t k = (uint32_t(small ? 512 : cols) + bs - 1) / bs * bs;
            const ops::MatMulPath taken = n == 1 ? ops::MatMulPath::kAuto : ops::matMulPath(dev, n, path);
            if (taken == ops::MatMulPath::kCoopMatrix && !dev.features().cooperative_matrix)
              return Status(Code::kUnsupported, "the device has no cooperative matrices");
            auto w = std::make_shared<std::vector<uint8_t>>(randomWeights(type, m, k, seed));
            auto x = std::make_shared<std::vector<float>>(Rng(seed + 1).floats(size_t{n} * k, -2, 2));
            TF_ASSIGN_OR_RETURN(vk::Buffer wb,
                                dev.createBuffer(std::max<uint64_t>(16, ops::gpuMatrixBytes(type, m, k))));
            TF_RETURN_IF_ERROR(ops::uploadMatrix(dev, wb.view(), type, m, k, *w));
            auto bw = std::make_shared<vk::Buffer>(std::move(wb));
            TF_ASSIGN_OR_RETURN(auto bx, uploaded(dev, *x));
            TF_ASSIGN_OR_RETURN(auto out, guarded(dev, uint64_t{n} * m * 4));
            PreparedOp op{dims({m, k}) + (n > 1 ? " b" + std::to_string(n) : ""),
                          n == 1 ? "" : ops::matMulPathName(taken), double(w->size()),
                          2.0 * double(m) * double(k) * n};
            op.record = [=](vk::Recorder& r) {
              const ops::QuantMatrix matrix{type, bw->view(), m, k};
              if (n == 1) return ops::recordMatVec(r, matrix, bx->view(), out->view());
              ops::MatMulLayout layout;
              layout.path = path;
              return ops::recordMatMul(r, matrix, bx->view(), out->view(), n, layout);
            };
            op.error = [=]() -> Result<double> {
              TF_ASSIGN_OR_RETURN(std::vector<float> got, out->readFloats());
              std::vector<double> abs_sum;
              TF_ASSIGN_OR_RETURN(std::vector<double> want,
                                  ref::matMulQuant(type, *w, m, k, *x, n, &abs_sum));
              const Comparison c = compare(got, want, 1.0);  // NaN / Inf / unwritten agreement
              if (!c.problem.empty()) return Status(Code::kInternal, c.describe(got, want));
              double worst = 0.0;
              for (size_t i = 0; i < want.size(); ++i) {
                if (!std::isfinite(want[i])) continue;
                worst = std::max(worst, std::fabs(double(got[i]) - want[i]) / std::max(abs_sum[i], 1e-30));
              }
              return worst;
            };
            return op;
          }};
}

std::vector<OpCase> opCases() {
  std::vector<OpCase> cases = {copyCase(),
                               binaryCase(true),
                               binaryCase(false),
                               gatedCase("silu_mul", ops::recordSiluMul, ref::siluMul),
                               gatedCase("gelu_mul", ops::recordGeluMul, ref::geluMul),
                               softcapCase(),
                               rmsNormCase(),
                               softmaxCase(),
                               argmaxCase(),
                               topKCase(),
                               ropeCase(ops::RopeLayout::kAdjacent),
                               ropeCase(ops::RopeLayout::kNeox)};
  for (ops::KvType type : {ops::KvType::kF32, ops::KvType::kF16})
    for (bool deep : {false, true}) {
      cases.push_back(attentionSplitCase(type, deep));
      cases.push_back(attentionStepCase(type, deep));
    }
  for (ops::KvType type : {ops::KvType::kF32, ops::KvType::kF16}) {  // gemma: deep, so whole chunks lie before the window
    cases.push_back(attentionSplitCase(type, true, true));
    cases.push_back(attentionStepCase(type, true, true));
  }
  for (const gguf::TypeTraits& t : gguf::typeTable()) {
    if (!t.gpu_decode) continue;
    cases.push_back(matMulCase(t.type, 1));
    cases.push_back(matMulCase(t.type, 512));
  }
  return cases;
}

// ---- GuardedOutput and compare ----

Result<GuardedOutput> GuardedOutput::create(vk::Device& device, uint64_t payload_bytes,
                                            uint64_t guard_bytes) {
  const uint64_t align = std::max<uint64_t>(device.report().min_storage_buffer_offset_alignment, 16);
  guard_bytes = (guard_bytes + align - 1) / align * align;
  const uint64_t padded = (payload_bytes + 3) / 4 * 4;
  GuardedOutput g;
  g.m_device = &device;
  g.m_guard = guard_bytes;
  g.m_payload = payload_bytes;
  TF_ASSIGN_OR_RETURN(g.m_buffer, device.createBuffer(padded + 2 * guard_bytes));
  std::vector<uint32_t> poison((padded + 2 * guard_bytes) / 4, kPoisonBits);
  TF_RETURN_IF_ERROR(device.upload(g.m_buffer.view(), poison.data(), poison.size() * 4));
  return g;
}

Result<std::vector<uint8_t>> GuardedOutput::readBytes() const {
  std::vector<uint32_t> all(m_buffer.size() / 4);
  TF_RETURN_IF_ERROR(m_device->download(m_buffer.view(), all.data(), all.size() * 4));
  const auto* bytes = reinterpret_cast<const uint8_t*>(all.data());
  const auto* poison = reinterpret_cast<const uint8_t*>(&kPoisonBits);
  // Every byte outside the payload (the guards and the payload's padding to 4 bytes).
  for (uint64_t b = 0; b < all.size() * 4; ++b) {
    if (b >= m_guard && b < m_guard + m_payload) continue;
    if (bytes[b] != poison[b % 4])
      return Status(Code::kInternal, "the op wrote outside its output: byte " + std::to_string(b) +
                                         " of the " + (b < m_guard ? "guard before" : "guard after") +
                                         " it changed");
  }
  return std::vector<uint8_t>(bytes + m_guard, bytes + m_guard + m_payload);
}

Result<std::vector<float>> GuardedOutput::readFloats() const {
  TF_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, readBytes());
  std::vector<float> out(bytes.size() / 4);
  std::memcpy(out.data(), bytes.data(), out.size() * 4);
  return out;
}

Result<std::vector<uint32_t>> GuardedOutput::readWords() const {
  TF_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, readBytes());
  std::vector<uint32_t> out(bytes.size() / 4);
  std::memcpy(out.data(), bytes.data(), out.size() * 4);
  return out;
}

Comparison compare(std::span<const float> got, std::span<const double> want, double scale) {
  Comparison c;
  const auto fail = [&](size_t i, std::string why) {
    c.error = INFINITY;
    c.worst = i;
    c.problem = std::move(why);
    return c;
  };
  if (got.size() != want.size())
    return fail(0,
                "size " + std::to_string(got.size()) + " != reference size " + std::to_string(want.size()));
  if (scale <= 0) {
    scale = 1.0;
    for (double w : want)
      if (std::isfinite(static_cast<float>(w))) scale = std::max(scale, std::fabs(w));
  }
  c.scale = scale;
  for (size_t i = 0; i < got.size(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, &got[i], 4);
    if (bits == kPoisonBits) return fail(i, "element " + std::to_string(i) + " was never written");
    const double g = got[i];
    // The ideal f32 result is the reference rounded to f32: beyond FLT_MAX that is +-Inf.
    const double w = std::isfinite(want[i]) && std::isinf(static_cast<float>(want[i]))
                         ? static_cast<double>(static_cast<float>(want[i]))
                         : want[i];
    if (std::isnan(w) || std::isnan(g)) {
      if (std::isnan(w) != std::isnan(g)) return fail(i, "NaN disagreement at " + std::to_string(i));
      continue;
    }
    if (std::isinf(w) || std::isinf(g)) {
      if (g != w) return fail(i, "Inf disagreement at " + std::to_string(i));
      continue;
    }
    const double e = std::fabs(g - w) / scale;
    if (e > c.error) c.error = e, c.worst = i;
  }
  return c;
}

std::string Comparison::describe(std::span<const float> got, std::span<const double> want) const {
  char text[200];
  const double g = worst < got.size() ? got[worst] : NAN, w = worst < want.size() ? want[worst] : NAN;
  std::snprintf(text, sizeof text, "normalised error %.3g at %zu: got %.9g, want %.9g (scale %.3g, n %zu)",
                error, worst, g, w, scale, got.size());
  return problem.empty() ? std::string(text) : problem + "; " + text;
}

// ---- the drivers ----

Result<CheckOutcome> check(vk::Device& device, const OpCase& c, uint64_t seed) {
  CheckOutcome outcome;
  Result<PreparedOp> prepared = c.prepare(device, CaseSize{CaseSize::kCheck}, seed);
  if (!prepared.isOk() && prepared.status().code() == Code::kUnsupported) {
    outcome.skipped = true;
    outcome.detail = prepared.status().message();
    return outcome;
  }
  TF_RETURN_IF_ERROR(prepared.status());
  const PreparedOp& op = *prepared;
  TF_ASSIGN_OR_RETURN(vk::Recorder rec, device.newRecorder());
  TF_RETURN_IF_ERROR(op.record(rec));
  TF_RETURN_IF_ERROR(rec.submitAndWait());
  TF_ASSIGN_OR_RETURN(outcome.error, op.error());
  char text[160];
  std::snprintf(text, sizeof text, "max error %.3g (bound %.3g) %s, %s", outcome.error, c.bound,
                c.error_unit.c_str(), op.shape.c_str());
  outcome.detail = text;
  if (!(outcome.error <= c.bound))
    return Status(Code::kInternal, "GPU result differs from the CPU reference: " + outcome.detail);
  return outcome;
}

Result<Timing> time(vk::Device& device, const OpCase& c, uint32_t iters, const CaseSize& size) {
  iters = std::max<uint32_t>(iters, 1);
  TF_ASSIGN_OR_RETURN(PreparedOp op, c.prepare(device, size, 1));
  TF_ASSIGN_OR_RETURN(vk::Recorder rec, device.newRecorder());
  TF_RETURN_IF_ERROR(op.record(rec));  // warm-up: pipelines, caches
  TF_RETURN_IF_ERROR(rec.submitAndWait());
  TF_RETURN_IF_ERROR(rec.reset());
  const bool stamps = device.report().timestamps;
  if (stamps) TF_RETURN_IF_ERROR(rec.timestamp().status());
  for (uint32_t i = 0; i < iters; ++i) {
    TF_RETURN_IF_ERROR(op.record(rec));
    rec.barrier();  // each run sees the previous one's writes, as in a model graph
  }
  if (stamps) TF_RETURN_IF_ERROR(rec.timestamp().status());
  const auto t0 = std::chrono::steady_clock::now();
  TF_RETURN_IF_ERROR(rec.submitAndWait());
  double ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
  if (stamps) {
    TF_ASSIGN_OR_RETURN(std::vector<double> ts, rec.timestampsNs());
    if (ts.size() >= 2 && ts.back() > ts.front()) ns = ts.back() - ts.front();
  }
  Timing t;
  t.shape = op.shape;
  t.path = op.path;
  t.us = ns / iters / 1000.0;
  t.gbps = op.bytes / (t.us * 1000.0);
  t.gflops = op.flops / (t.us * 1000.0);
  return t;
}

}  // namespace tokenfab::lab
