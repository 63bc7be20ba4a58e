// Quantized matvec / matmul / get_rows on the GPU against the float64 CPU reference over
// exactly dequantized weights (core/ref, itself checked bit for bit against ggml in
// tests/quant). Random shapes with rows not a multiple of the workgroup or tile, poisoned
// outputs with guard regions, validation on.
//
// Error bound, every type: |gpu - ref| <= 1e-5 * sum_k |w_k x_k| per output. The weights are
// decoded exactly on both sides, so only the float32 accumulation differs; its worst case for a
// K-term sum is about K * 2^-24 * sum|w x| (2.4e-4 at K = 4096) but for the reductions used here
// (strided partial sums + tree, or 32..8-wide tiles) the observed error is ~1e-7. Products with
// f16 inputs (the cooperative-matrix path) have a bound of their own, derived at f16Bound.
#include <gtest/gtest.h>

#include <bit>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "gpu_test_util.h"
#include "ops/matmul_internal.h"
#include "ref/dequant.h"
#include "ref/matmul_ref.h"
#include "lab/quantize.h"
#include "tokenfab/ops_matmul.h"

namespace tokenfab {
namespace {

using gguf::TensorType;
using test::GpuTest;
using test::TestRng;

constexpr double kBound = 1e-5;

const TensorType kTypes[] = {TensorType::kF32,  TensorType::kF16,  TensorType::kBF16,
                             TensorType::kQ4_0, TensorType::kQ4_1, TensorType::kQ5_0,
                             TensorType::kQ5_1, TensorType::kQ8_0, TensorType::kIQ4_NL,
                             TensorType::kQ2_K, TensorType::kQ3_K, TensorType::kQ4_K,
                             TensorType::kQ5_K, TensorType::kQ6_K, TensorType::kIQ4_XS,
                             TensorType::kIQ3_S, TensorType::kIQ3_XXS};

// Byte offsets of the f16 scale fields inside one block of each quantized type.
std::vector<uint32_t> scaleOffsets(TensorType type) {
  switch (type) {
    case TensorType::kQ4_1: case TensorType::kQ5_1: case TensorType::kQ4_K: case TensorType::kQ5_K:
      return {0, 2};
    case TensorType::kQ4_0: case TensorType::kQ5_0: case TensorType::kQ8_0: case TensorType::kIQ4_NL:
    case TensorType::kIQ4_XS: case TensorType::kIQ3_S: case TensorType::kIQ3_XXS:
      return {0};
    case TensorType::kQ2_K: return {80, 82};
    case TensorType::kQ3_K: return {108};
    case TensorType::kQ6_K: return {208};
    default: return {};
  }
}

// Random weights in the type's block layout. Quantized types: every quant bit random (all codes
// are valid), scales random f16 in +-[1/512, 1/16] so no product overflows. Float types: random
// values in [-1, 1) encoded with the test helpers (independent of core/ref).
std::vector<uint8_t> randomWeights(TensorType type, uint64_t rows, uint64_t cols, TestRng& rng) {
  const auto layout = ref::blockLayout(type);
  const uint64_t n = rows * cols;
  std::vector<uint8_t> bytes(n / layout->block_size * layout->block_bytes);
  if (type == TensorType::kF32 || type == TensorType::kF16 || type == TensorType::kBF16) {
    for (uint64_t i = 0; i < n; ++i) {
      const float v = rng.uniform(-1.0f, 1.0f);
      if (type == TensorType::kF32) {
        std::memcpy(&bytes[i * 4], &v, 4);
      } else {
        const uint16_t h = type == TensorType::kF16 ? test::floatToHalf(v)
                                                    : static_cast<uint16_t>(std::bit_cast<uint32_t>(v) >> 16);
        bytes[i * 2] = static_cast<uint8_t>(h & 0xFF);
        bytes[i * 2 + 1] = static_cast<uint8_t>(h >> 8);
      }
    }
    return bytes;
  }
  for (auto& b : bytes) b = static_cast<uint8_t>(rng.below(256));
  const auto offsets = scaleOffsets(type);
  for (uint64_t blk = 0; blk < bytes.size() / layout->block_bytes; ++blk) {
    for (uint32_t off : offsets) {
      const float mag = std::ldexp(1.0f, -static_cast<int>(4 + rng.below(6))) * rng.uniform(0.5f, 1.0f);
      const uint16_t h = test::floatToHalf(rng.below(2) ? mag : -mag);
      bytes[blk * layout->block_bytes + off] = static_cast<uint8_t>(h & 0xFF);
      bytes[blk * layout->block_bytes + off + 1] = static_cast<uint8_t>(h >> 8);
    }
  }
  return bytes;
}

// Column count: a random multiple of the block size (1..limit elements for float types).
uint32_t randomCols(TensorType type, TestRng& rng) {
  const uint32_t bs = ref::blockLayout(type)->block_size;
  if (bs == 1) return 1 + rng.below(700);
  if (bs == 32) return 32 * (1 + rng.below(40));
  return 256 * (1 + rng.below(6));
}

enum class Op { kMatVec, kMatMul };

// Which product and arithmetic: float32 (matvec, scalar matmul), the scalar matmul with its
// inputs rounded to f16 (TOKENFAB_MATMUL=f16in=1, any device), cooperative matrices, or the
// cooperative-matrix shader with its matrix operations emulated (any device).
enum class Mode { kF32, kF16Emulated, kCoopMatrix, kCoopEmulated };

// Sets an environment variable for the scope (the op recorders read their tuning variables when
// they record).
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : m_name(name) {
    if (const char* old = std::getenv(name)) m_old = old;
    setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (m_old) setenv(m_name, m_old->c_str(), 1);
    else unsetenv(m_name);
  }

 private:
  const char* m_name;
  std::optional<std::string> m_old;
};

// Error bound of a product whose inputs are rounded to f16 (the cooperative-matrix path), derived
// rather than fitted. Rounding v to f16 (to nearest: relative error u = 2^-11 in the normal range,
// absolute error at most eta = 2^-25, half the subnormal spacing, below it) errs by at most
// u|v| + eta, so one product errs by
//   |w~ x~ - w x| <= |w~ - w| |x~| + |w| |x~ - x| <= (2u + u^2)|w x| + eta (1 + u)(|w| + |x|) + eta^2.
// The products w~ x~ are exact in float32 (11 + 11 significant bits). Summing the K of them (and
// y0 when accumulating) in float32, in any order and with adders that round to nearest or
// truncate (eps = 2^-23), adds at most gamma_K = K eps / (1 - K eps) times the sum of their
// magnitudes, itself at most (1 + 2^-10) S. Per output, with S_wx = sum_k |w_k x_k|,
// S = S_wx + |y0|, W = sum_k |w_k|, X = sum_k |x_k|:
//   bound = (2u + u^2) S_wx + eta (1 + u)(W + X) + K eta^2 + gamma_K (1 + 2^-10) S,
// about 1.1e-3 S at K = 1024 (2u alone is 9.8e-4). Vulkan also lets a conversion to f16 round
// toward zero, which doubles u; NVIDIA's and lavapipe's conversions round to nearest.
double f16Bound(double s_wx, double s, double w1, double x1, uint32_t k) {
  const double u = std::ldexp(1.0, -11), eta = std::ldexp(1.0, -25), eps = std::ldexp(1.0, -23);
  const double gamma = k * eps / (1 - k * eps);
  return (2 * u + u * u) * s_wx + eta * (1 + u) * (w1 + x1) + k * eta * eta + gamma * (1 + std::ldexp(1.0, -10)) * s;
}

struct Shape {
  uint64_t rows;
  uint32_t cols;
  uint32_t batch;
};

struct Run {
  Op op = Op::kMatMul;
  Mode mode = Mode::kF32;
  uint64_t max_binding_bytes = 0;
  // y += product: the output starts as random values y0 and must end as y0 + product.
  bool accumulate = false;
  // Strided rows: x_stride = cols + x_pad (the gaps hold NaN, which would poison any sum that
  // read them), y_stride = rows + y_pad (the gaps must stay poisoned).
  uint32_t x_pad = 0, y_pad = 0;
};

// Runs one product on the GPU and compares every output with the float64 reference: within
// kBound * sum_k |w_k x_k| (+ |y0|) for float32 arithmetic, within f16Bound for f16 inputs.
void checkProduct(TensorType type, Shape s, uint64_t seed, const Run& run = {}) {
  static const char* const kModes[] = {"", " f16 inputs (emulated)", " cooperative matrix", " cooperative matrix (emulated)"};
  SCOPED_TRACE(std::string(gguf::typeName(type)) + (run.op == Op::kMatVec ? " matvec" : " matmul") +
               kModes[int(run.mode)] + " rows " + std::to_string(s.rows) + " cols " + std::to_string(s.cols) +
               " batch " + std::to_string(s.batch) + " seed " + std::to_string(seed) +
               (run.max_binding_bytes ? " max binding " + std::to_string(run.max_binding_bytes) : "") +
               (run.accumulate ? " accumulate" : "") +
               (run.x_pad + run.y_pad ? " pads " + std::to_string(run.x_pad) + "," + std::to_string(run.y_pad) : ""));
  vk::Device& dev = GpuTest::device();
  TestRng rng(seed);
  const auto weights = randomWeights(type, s.rows, s.cols, rng);
  const auto x = rng.floats(uint64_t(s.batch) * s.cols);
  std::vector<double> abs_sum;
  auto want = ref::matMulQuant(type, weights, s.rows, s.cols, x, s.batch, &abs_sum);
  ASSERT_TRUE(want.isOk()) << want.status().toString();
  const std::vector<double> abs_wx = abs_sum;
  // Row sums of |w| and |x| for the f16 bound's subnormal term.
  std::vector<float> table(s.rows * s.cols);
  TF_ASSERT_OK(ref::dequantize(type, weights, table));
  std::vector<double> w1(s.rows, 0.0), x1(s.batch, 0.0);
  for (uint64_t i = 0; i < table.size(); ++i) w1[i / s.cols] += std::fabs(table[i]);
  for (uint64_t i = 0; i < x.size(); ++i) x1[i / s.cols] += std::fabs(x[i]);

  const uint32_t x_stride = s.cols + run.x_pad;
  const uint64_t y_stride = s.rows + run.y_pad;
  std::vector<float> x_strided(uint64_t(s.batch) * x_stride, NAN);
  for (uint32_t n = 0; n < s.batch; ++n) std::copy_n(x.begin() + n * s.cols, s.cols, x_strided.begin() + n * x_stride);
  vk::Buffer w_buf = test::uploadMatrix(dev, type, s.rows, s.cols, weights);
  vk::Buffer x_buf = test::upload(dev, x_strided);
  TF_ASSERT_OK_AND_ASSIGN(auto y, test::GuardedBuffer::create(dev, uint64_t(s.batch) * y_stride * 4));
  if (run.accumulate) {
    const auto y0 = rng.floats(uint64_t(s.batch) * s.rows);
    std::vector<float> y_init(uint64_t(s.batch) * y_stride, std::bit_cast<float>(test::kPoisonBits));
    for (size_t i = 0; i < y0.size(); ++i) {
      y_init[i / s.rows * y_stride + i % s.rows] = y0[i];
      (*want)[i] += y0[i];
      abs_sum[i] += std::fabs(y0[i]);
    }
    TF_ASSERT_OK(dev.upload(y.view(), y_init.data(), y_init.size() * 4));
  }
  ops::QuantMatrix w{type, w_buf.view(), s.rows, s.cols};
  ops::MatMulLayout layout;
  layout.x_stride = run.x_pad ? x_stride : 0;
  layout.y_stride = run.y_pad ? static_cast<uint32_t>(y_stride) : 0;
  layout.max_binding_bytes = run.max_binding_bytes;
  layout.accumulate = run.accumulate;
  layout.path = run.mode == Mode::kCoopMatrix ? ops::MatMulPath::kCoopMatrix : ops::MatMulPath::kScalar;
  TF_ASSERT_OK_AND_ASSIGN(auto rec, dev.newRecorder());
  if (run.op == Op::kMatVec) {
    TF_ASSERT_OK(ops::recordMatVec(rec, w, x_buf.view(), y.view(), s.batch, layout));
  } else {
    std::optional<ScopedEnv> emulate;
    if (run.mode == Mode::kF16Emulated) emulate.emplace("TOKENFAB_MATMUL", "f16in=1");
    if (run.mode == Mode::kCoopEmulated) {
      TF_ASSERT_OK(ops::detail::recordMatMulCoopEmulated(rec, w, x_buf.view(), y.view(), s.batch, layout));
    } else {
      TF_ASSERT_OK(ops::recordMatMul(rec, w, x_buf.view(), y.view(), s.batch, layout));
    }
  }
  TF_ASSERT_OK(rec.submitAndWait());
  std::vector<float> got_strided;
  ASSERT_TRUE(y.read(got_strided));
  std::vector<float> got(want->size());
  for (uint32_t n = 0; n < s.batch; ++n) {
    for (uint64_t r = 0; r < y_stride; ++r) {
      const float g = got_strided[n * y_stride + r];
      if (r < s.rows) got[n * s.rows + r] = g;
      else ASSERT_EQ(std::bit_cast<uint32_t>(g), test::kPoisonBits) << "gap written at batch " << n << " row " << r;
    }
  }
  ASSERT_TRUE(test::allWritten(got));
  // The worst error as a fraction of its bound (NaN counts as worst).
  double worst = 0;
  size_t worst_i = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const uint64_t r = i % s.rows, n = i / s.rows;
    const double bound = run.mode == Mode::kF32 ? kBound * std::max(abs_sum[i], 1e-30)
                                                : f16Bound(abs_wx[i], abs_sum[i], w1[r], x1[n], s.cols);
    const double err = std::fabs(double(got[i]) - (*want)[i]) / bound;
    if (!(err <= worst)) {
      worst = std::isnan(err) ? INFINITY : err;
      worst_i = i;
    }
  }
  EXPECT_LE(worst, 1.0) << "worst error / bound at batch " << worst_i / s.rows << " row " << worst_i % s.rows
                        << ": got " << got[worst_i] << " want " << (*want)[worst_i] << " (sum |w x| "
                        << abs_sum[worst_i] << ")";
}

class MatMulTypes : public GpuTest, public ::testing::WithParamInterface<TensorType> {};

TEST_P(MatMulTypes, MatVecRandomShapes) {
  const TensorType type = GetParam();
  for (uint64_t trial = 0; trial < 3; ++trial) {
    const uint64_t seed = 1000 + static_cast<uint64_t>(type) * 10 + trial;
    TestRng rng(seed);
    const Shape s{1 + rng.below(300), randomCols(type, rng), trial == 2 ? 3u : 1u};
    checkProduct(type, s, seed, {Op::kMatVec});
  }
}

// Rows whose blocks start at every byte alignment the type allows (e.g. a Q8_0 row of 7 blocks is
// 238 bytes, so odd rows start 2 bytes into a word), the last block ending exactly at the end of
// the weights; plain and accumulating (y += W x), matvec and matmul.
TEST_P(MatMulTypes, BlockAlignmentAndAccumulate) {
  const TensorType type = GetParam();
  const uint32_t bs = ref::blockLayout(type)->block_size;
  const std::vector<uint32_t> cols = bs == 1 ? std::vector<uint32_t>{5, 12, 27} : std::vector<uint32_t>{bs, 3 * bs, 7 * bs};
  for (size_t i = 0; i < cols.size(); ++i) {
    const uint64_t seed = 7000 + static_cast<uint64_t>(type) * 10 + i;
    for (bool accumulate : {false, true}) {
      checkProduct(type, Shape{37, cols[i], 1}, seed, {.op = Op::kMatVec, .accumulate = accumulate});
      checkProduct(type, Shape{5, cols[i], 2}, seed + 1, {.op = Op::kMatVec, .accumulate = accumulate});
      checkProduct(type, Shape{37, cols[i], 3}, seed + 2, {.accumulate = accumulate});
    }
  }
}

// Batches below and above a tile, in float32 and with f16 inputs on the scalar path
// (TOKENFAB_MATMUL=f16in=1: the rounding the cooperative-matrix path does, on any device, against
// the bound derived for it, f16Bound), the latter also accumulating and with unaligned x rows.
TEST_P(MatMulTypes, MatMulBatches) {
  const TensorType type = GetParam();
  for (uint32_t batch : {1u, 7u, 64u}) {
    const uint64_t seed = 2000 + static_cast<uint64_t>(type) * 10 + batch;
    TestRng rng(seed);
    const Shape s{1 + rng.below(200), randomCols(type, rng), batch};
    checkProduct(type, s, seed);
    checkProduct(type, s, seed + 1, {.mode = Mode::kF16Emulated, .accumulate = batch == 7, .x_pad = batch == 64 ? 3u : 0u});
  }
}

// Rows per piece for a binding limit that gives several pieces: pieces start at offsets aligned
// to minStorageBufferOffsetAlignment, so a piece holds a multiple of `step` rows.
uint64_t piecesLimit(TensorType type, uint32_t cols, uint64_t* rows_per_piece) {
  const uint64_t row_bytes = ops::gpuRowBytes(type, cols);
  const uint64_t align = std::max<uint64_t>(16, GpuTest::device().report().min_storage_buffer_offset_alignment);
  const uint64_t step = align / std::gcd(row_bytes, align);
  *rows_per_piece = step * ((20 + step - 1) / step);  // at least 20 rows
  return row_bytes * *rows_per_piece + 100;
}

// Small binding limit: the matrix is bound in several row pieces with aligned offsets.
TEST_P(MatMulTypes, RowPieces) {
  const TensorType type = GetParam();
  const uint64_t seed = 3000 + static_cast<uint64_t>(type);
  TestRng rng(seed);
  const uint32_t cols = randomCols(type, rng);
  uint64_t per_piece = 0;
  const uint64_t limit = piecesLimit(type, cols, &per_piece);
  const Shape s{3 * per_piece + 1 + rng.below(static_cast<uint32_t>(per_piece)), cols, 2};
  checkProduct(type, s, seed, {.op = Op::kMatVec, .max_binding_bytes = limit});
  checkProduct(type, s, seed, {.max_binding_bytes = limit});
}

// Activations and outputs larger than the binding limit: bound in runs of batch rows whose
// windows start at aligned offsets below the first element (plus weight row pieces).
TEST_P(MatMulTypes, BatchChunks) {
  const TensorType type = GetParam();
  const uint64_t seed = 6000 + static_cast<uint64_t>(type);
  TestRng rng(seed);
  const uint32_t cols = randomCols(type, rng);
  const uint64_t rows = 40 + rng.below(30);
  // The limit must still hold an aligned run of weight rows; the batch is made long enough that
  // x (batch x cols) needs at least two bindings.
  uint64_t per_piece = 0;
  const uint64_t limit = std::max<uint64_t>(std::min<uint64_t>(5 * cols * 4, 9 * rows * 4) + 300,
                                            piecesLimit(type, cols, &per_piece));
  const uint32_t batch = static_cast<uint32_t>(2 * limit / (uint64_t(cols) * 4) + 3);
  const Shape s{rows, cols, batch};
  ASSERT_GT(uint64_t(batch) * cols * 4, limit);
  checkProduct(type, s, seed, {.op = Op::kMatVec, .max_binding_bytes = limit});
  checkProduct(type, s, seed, {.max_binding_bytes = limit});
}

// GPU decode equals the CPU decode bit for bit (get_rows), ids out of range give zeros.
TEST_P(MatMulTypes, GetRowsBitExact) {
  const TensorType type = GetParam();
  const uint64_t seed = 4000 + static_cast<uint64_t>(type);
  SCOPED_TRACE(std::string(gguf::typeName(type)) + " seed " + std::to_string(seed));
  vk::Device& dev = GpuTest::device();
  TestRng rng(seed);
  const uint32_t cols = randomCols(type, rng);
  uint64_t per_piece = 0;
  const uint64_t pieces_limit = piecesLimit(type, cols, &per_piece);
  const uint64_t rows = 2 * per_piece + 1 + rng.below(static_cast<uint32_t>(per_piece));
  const auto weights = randomWeights(type, rows, cols, rng);
  std::vector<float> table(rows * cols);
  TF_ASSERT_OK(ref::dequantize(type, weights, table));
  std::vector<uint32_t> ids = {0, static_cast<uint32_t>(rows - 1), 3, 3, static_cast<uint32_t>(rows),
                               0xFFFFFFFFu};
  for (int i = 0; i < 5; ++i) ids.push_back(rng.below(static_cast<uint32_t>(rows)));

  vk::Buffer w_buf = test::uploadMatrix(dev, type, rows, cols, weights);
  vk::Buffer id_buf = test::upload(dev, ids);
  const ops::QuantMatrix w{type, w_buf.view(), rows, cols};
  for (uint64_t limit : {uint64_t(0), pieces_limit}) {
    SCOPED_TRACE("max binding " + std::to_string(limit));
    TF_ASSERT_OK_AND_ASSIGN(auto out, test::GuardedBuffer::create(dev, ids.size() * cols * 4));
    TF_ASSERT_OK_AND_ASSIGN(auto rec, dev.newRecorder());
    TF_ASSERT_OK(ops::recordGetRows(rec, w, id_buf.view(), out.view(), static_cast<uint32_t>(ids.size()), 0, limit));
    TF_ASSERT_OK(rec.submitAndWait());
    std::vector<float> got;
    ASSERT_TRUE(out.read(got));
    ASSERT_TRUE(test::allWritten(got));
    size_t mismatches = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
      for (uint32_t k = 0; k < cols; ++k) {
        const float want = ids[i] < rows ? table[ids[i] * cols + k] : 0.0f;
        const float g = got[i * cols + k];
        if (std::bit_cast<uint32_t>(g) != std::bit_cast<uint32_t>(want) && ++mismatches <= 5) {
          ADD_FAILURE() << "id " << ids[i] << " col " << k << ": got " << g << " want " << want;
        }
      }
    }
    EXPECT_EQ(mismatches, 0u);
  }
}

// Strided activations and outputs (MatMulLayout): rows of x and y with gaps; the gaps of y must
// stay poisoned.
TEST_P(MatMulTypes, Strides) {
  const TensorType type = GetParam();
  const uint64_t seed = 5000 + static_cast<uint64_t>(type);
  TestRng rng(seed);
  const Shape s{33 + rng.below(40), randomCols(type, rng), 5};
  checkProduct(type, s, seed, {.op = Op::kMatVec, .x_pad = 7, .y_pad = 5});
  checkProduct(type, s, seed, {.x_pad = 7, .y_pad = 5});
}

bool hasCoopMatrix() { return GpuTest::device().features().cooperative_matrix; }

// The cooperative-matrix shader (matmul_coop.comp) against the float64 reference with the f16
// bound: rows and batches that are not multiples of its tiles (128 x 128 on 16 x 16 shapes), one
// row, accumulation, aligned (x_stride % 4 == 0: vec4 loads) and unaligned strides, row pieces
// and runs of batch rows.
void checkCoopShapes(TensorType type, Mode mode) {
  for (uint32_t batch : {1u, 7u, 64u, 130u, 300u}) {
    const uint64_t seed = 11000 + static_cast<uint64_t>(type) * 10 + batch % 10;
    TestRng rng(seed);
    const Shape s{1 + rng.below(300), randomCols(type, rng), batch};
    checkProduct(type, s, seed, {.mode = mode, .accumulate = batch % 2 == 1});
  }
  const uint64_t seed = 12000 + static_cast<uint64_t>(type);
  TestRng rng(seed);
  const uint32_t cols = randomCols(type, rng);
  checkProduct(type, Shape{1, cols, 5}, seed, {.mode = mode});
  checkProduct(type, Shape{129, cols, 33}, seed + 1, {.mode = mode, .x_pad = 7, .y_pad = 5});
  checkProduct(type, Shape{200, cols, 19}, seed + 2, {.mode = mode, .x_pad = 4, .y_pad = 1});
  uint64_t per_piece = 0;
  const uint64_t limit = piecesLimit(type, cols, &per_piece);
  checkProduct(type, Shape{3 * per_piece + 5, cols, 40}, seed + 3, {.mode = mode, .max_binding_bytes = limit});
  const uint32_t long_batch = static_cast<uint32_t>(2 * limit / (uint64_t(cols) * 4) + 3);
  checkProduct(type, Shape{70, cols, long_batch}, seed + 4, {.mode = mode, .max_binding_bytes = limit});
}

TEST_P(MatMulTypes, CoopMatrix) {
  if (!hasCoopMatrix()) GTEST_SKIP() << "skipped: device has no cooperative matrix";
  checkCoopShapes(GetParam(), Mode::kCoopMatrix);
}

// The same shapes through the same shader with its matrix operations emulated (four types; the
// weight decode it shares with matmul.comp is tested for every type above): its tiling, staging,
// double buffering and output on any device.
class MatMulCoopEmulated : public GpuTest, public ::testing::WithParamInterface<TensorType> {};

TEST_P(MatMulCoopEmulated, Shapes) {
  // The emulation's smallest tiles: 4 x 1 subgroups of 8 or more lanes, 30 KiB of shared memory.
  const vk::DeviceReport& r = GpuTest::device().report();
  if (!r.subgroup_in_compute || r.subgroup_size < 8 || r.max_compute_shared_memory < 30720)
    GTEST_SKIP() << "skipped: device has no subgroups of 8 in compute or under 30 KiB of shared memory";
  checkCoopShapes(GetParam(), Mode::kCoopEmulated);
}

INSTANTIATE_TEST_SUITE_P(Types, MatMulCoopEmulated,
                         ::testing::Values(TensorType::kF32, TensorType::kQ8_0, TensorType::kQ4_K, TensorType::kQ6_K),
                         [](const auto& param_info) { return std::string(gguf::typeName(param_info.param)); });

// Grouped decode products: three matrices of one type in one buffer at aligned offsets (one
// dispatch), or in separate buffers (one product each), vs the float64 reference per matrix; and
// the SwiGLU product silu(gate x) * (up x) vs silu/product computed in double from the reference;
// each with and without an RMS norm of x folded in.
TEST_P(MatMulTypes, GroupAndGlu) {
  const TensorType type = GetParam();
  const uint64_t seed = 8000 + static_cast<uint64_t>(type);
  SCOPED_TRACE(std::string(gguf::typeName(type)) + " seed " + std::to_string(seed));
  vk::Device& dev = GpuTest::device();
  TestRng rng(seed);
  const uint32_t cols = randomCols(type, rng);
  const uint64_t rows[3] = {37, 11, 11 + rng.below(9)};
  const uint64_t align = std::max<uint64_t>(16, dev.report().min_storage_buffer_offset_alignment);
  std::vector<std::vector<uint8_t>> weights;
  std::vector<uint64_t> offsets;
  uint64_t total = 0;
  for (uint64_t r : rows) {
    weights.push_back(randomWeights(type, r, cols, rng));
    offsets.push_back(total);
    total = (total + ops::gpuMatrixBytes(type, r, cols) + align - 1) / align * align;
  }
  const auto x = rng.floats(cols);
  // With a FusedNorm the products see rms_norm(x) * nw, computed here in double.
  const auto nw = rng.floats(cols);
  const float eps = 1e-5f;
  double ss = 0;
  for (float v : x) ss += double(v) * v;
  const double inv = 1.0 / std::sqrt(ss / cols + eps);
  std::vector<float> xn(cols);
  for (uint32_t i = 0; i < cols; ++i) xn[i] = float(x[i] * inv * nw[i]);
  std::vector<double> wants[2][3], abs_sums[2][3];
  for (int normed = 0; normed < 2; ++normed) {
    for (size_t m = 0; m < 3; ++m) {
      auto r = ref::matMulQuant(type, weights[m], rows[m], cols, normed ? xn : x, 1, &abs_sums[normed][m]);
      ASSERT_TRUE(r.isOk()) << r.status().toString();
      wants[normed][m] = *r;
    }
  }
  TF_ASSERT_OK_AND_ASSIGN(vk::Buffer shared_buf, dev.createBuffer(total));
  vk::Buffer own[3];
  for (size_t m = 0; m < 3; ++m) {
    TF_ASSERT_OK(ops::uploadMatrix(dev, shared_buf.view(offsets[m], ops::gpuMatrixBytes(type, rows[m], cols)), type,
                                   rows[m], cols, weights[m]));
    own[m] = test::uploadMatrix(dev, type, rows[m], cols, weights[m]);
  }
  vk::Buffer x_buf = test::upload(dev, x);
  vk::Buffer nw_buf = test::upload(dev, nw);
  TF_ASSERT_OK_AND_ASSIGN(vk::Buffer norm_scratch, dev.createBuffer(uint64_t(cols) * 4));

  for (int normed = 0; normed < 2; ++normed)
  for (bool one_buffer : {true, false}) {
    SCOPED_TRACE(std::string(one_buffer ? "one buffer" : "separate buffers") + (normed ? ", fused norm" : ""));
    const ops::FusedNorm norm_args{nw_buf.view(), eps, norm_scratch.view()};
    const ops::FusedNorm* norm = normed ? &norm_args : nullptr;
    const auto& want = wants[normed];
    const auto& abs_sum = abs_sums[normed];
    ops::QuantMatrix parts[3];
    for (size_t m = 0; m < 3; ++m) {
      const vk::BufferView v = one_buffer ? shared_buf.view(offsets[m], ops::gpuMatrixBytes(type, rows[m], cols))
                                          : own[m].view();
      parts[m] = {type, v, rows[m], cols};
    }
    std::vector<test::GuardedBuffer> ys;
    for (uint64_t r : rows) {
      TF_ASSERT_OK_AND_ASSIGN(auto y, test::GuardedBuffer::create(dev, r * 4));
      ys.push_back(std::move(y));
    }
    const vk::BufferView y_views[3] = {ys[0].view(), ys[1].view(), ys[2].view()};
    TF_ASSERT_OK_AND_ASSIGN(auto rec, dev.newRecorder());
    TF_ASSERT_OK(ops::recordMatVecGroup(rec, parts, x_buf.view(), y_views, norm));
    TF_ASSERT_OK(rec.submitAndWait());
    for (size_t m = 0; m < 3; ++m) {
      std::vector<float> got;
      ASSERT_TRUE(ys[m].read(got));
      ASSERT_TRUE(test::allWritten(got));
      for (uint64_t r = 0; r < rows[m]; ++r)
        ASSERT_LE(std::fabs(got[r] - want[m][r]), kBound * std::max(abs_sum[m][r], 1e-30)) << "matrix " << m << " row " << r;
    }

    // SwiGLU over matrices 1 and 2 cut to the same row count (gate = 1, up = 2).
    ops::QuantMatrix gate = parts[1], up = parts[2];
    up.rows = gate.rows;
    TF_ASSERT_OK_AND_ASSIGN(auto y, test::GuardedBuffer::create(dev, gate.rows * 4));
    TF_ASSERT_OK_AND_ASSIGN(auto scratch, test::GuardedBuffer::create(dev, gate.rows * 4));
    TF_ASSERT_OK_AND_ASSIGN(auto rec2, dev.newRecorder());
    TF_ASSERT_OK(ops::recordMatVecGlu(rec2, gate, up, x_buf.view(), y.view(), scratch.view(), norm));
    TF_ASSERT_OK(rec2.submitAndWait());
    std::vector<float> got;
    ASSERT_TRUE(y.read(got));
    ASSERT_TRUE(test::allWritten(got));
    for (uint64_t r = 0; r < gate.rows; ++r) {
      const double g = want[1][r], u = want[2][r];
      const double expect = g / (1.0 + std::exp(-g)) * u;
      // Error of silu(g) * u from errors eg, eu of the two products: |silu'| <= 1.1, |silu(g)| <= |g|.
      const double bound = kBound * (1.1 * abs_sum[1][r] * std::fabs(u) + std::fabs(g) * abs_sum[2][r]) + 1e-6 * std::fabs(expect);
      ASSERT_LE(std::fabs(got[r] - expect), bound) << "glu row " << r;
    }
  }
  // Parts that do not fit the API.
  TF_ASSERT_OK_AND_ASSIGN(auto rec, dev.newRecorder());
  ops::QuantMatrix a{type, own[0].view(), rows[0], cols}, b{type, own[1].view(), rows[1], cols};
  EXPECT_EQ(ops::recordMatVecGlu(rec, a, b, x_buf.view(), x_buf.view(), x_buf.view()).code(), Code::kInvalidArgument);
  const vk::BufferView one_y[1] = {x_buf.view()};
  const ops::QuantMatrix two[2] = {a, b};
  EXPECT_EQ(ops::recordMatVecGroup(rec, two, x_buf.view(), one_y).code(), Code::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Types, MatMulTypes, ::testing::ValuesIn(kTypes),
                         [](const auto& param_info) {
                           std::string s(gguf::typeName(param_info.param));
                           for (char& c : s) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return s;
                         });

// A weight larger than 128 MiB (lavapipe's maxStorageBufferRange) through the row-piece path:
// Q8_0, 64 columns, 2.2M rows (150 MB). The binding limit is forced to 128 MiB so devices with
// a larger limit take the same path. Checked on a sample of rows.
class MatMulBig : public GpuTest {};

TEST_F(MatMulBig, WeightOver128MiB) {
  const uint64_t seed = 77;
  SCOPED_TRACE("seed " + std::to_string(seed));
  vk::Device& dev = GpuTest::device();
  const TensorType type = TensorType::kQ8_0;
  const uint32_t cols = 64;
  const uint64_t rows = 2'200'000;
  const uint64_t row_bytes = ops::quantRowBytes(type, cols);
  const uint64_t limit = 128ull << 20;
  ASSERT_GT(rows * ops::gpuRowBytes(type, cols), limit);
  TestRng rng(seed);
  // Cheap bytes: a 64-bit LCG per word; scales patched to small f16 values.
  std::vector<uint8_t> weights(rows * row_bytes);
  uint64_t state = seed;
  for (size_t i = 0; i < weights.size(); ++i) {
    if (i % 8 == 0) state = state * 6364136223846793005ull + 1442695040888963407ull;
    weights[i] = static_cast<uint8_t>(state >> (8 * (i % 8)));
  }
  const uint16_t scale = test::floatToHalf(1.0f / 128);
  for (uint64_t b = 0; b < weights.size() / 34; ++b) {
    weights[b * 34] = static_cast<uint8_t>(scale & 0xFF);
    weights[b * 34 + 1] = static_cast<uint8_t>(scale >> 8);
  }
  const auto x = rng.floats(cols);
  vk::Buffer w_buf = test::uploadMatrix(dev, type, rows, cols, weights);
  vk::Buffer x_buf = test::upload(dev, x);
  TF_ASSERT_OK_AND_ASSIGN(auto y, test::GuardedBuffer::create(dev, rows * 4));
  std::vector<uint32_t> ids = {0, 1, static_cast<uint32_t>(rows / 2), static_cast<uint32_t>(rows - 1)};
  for (int i = 0; i < 12; ++i) ids.push_back(rng.below(static_cast<uint32_t>(rows)));
  vk::Buffer id_buf = test::upload(dev, ids);
  TF_ASSERT_OK_AND_ASSIGN(auto rows_out, test::GuardedBuffer::create(dev, ids.size() * cols * 4));

  const ops::QuantMatrix w{type, w_buf.view(), rows, cols};
  ops::MatMulLayout layout;
  layout.max_binding_bytes = limit;
  TF_ASSERT_OK_AND_ASSIGN(auto rec, dev.newRecorder());
  TF_ASSERT_OK(ops::recordMatVec(rec, w, x_buf.view(), y.view(), 1, layout));
  TF_ASSERT_OK(ops::recordGetRows(rec, w, id_buf.view(), rows_out.view(), static_cast<uint32_t>(ids.size()), 0, limit));
  EXPECT_GE(rec.dispatchCount(), 4u);  // two pieces for each op
  TF_ASSERT_OK(rec.submitAndWait());

  std::vector<float> got;
  ASSERT_TRUE(y.read(got));
  ASSERT_TRUE(test::allWritten(got));
  std::vector<float> got_rows;
  ASSERT_TRUE(rows_out.read(got_rows));
  // Sample: every 997th row, both sides of every piece boundary, and the gathered ids.
  std::vector<uint64_t> sample;
  for (uint64_t r = 0; r < rows; r += 997) sample.push_back(r);
  const uint64_t per_piece = (limit - 4) / row_bytes;
  for (uint64_t b = per_piece - 40; b < rows; b += per_piece - 40) {
    for (uint64_t r = b - 50; r < std::min(rows, b + 50); ++r) sample.push_back(r);
  }
  sample.push_back(rows - 1);
  for (uint64_t r : sample) {
    std::span<const uint8_t> row(weights.data() + r * row_bytes, row_bytes);
    std::vector<double> abs_sum;
    auto want = ref::matMulQuant(type, row, 1, cols, x, 1, &abs_sum);
    ASSERT_TRUE(want.isOk());
    ASSERT_LE(std::fabs(got[r] - (*want)[0]), kBound * abs_sum[0]) << "row " << r;
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    std::vector<float> want(cols);
    TF_ASSERT_OK(ref::dequantize(type, {weights.data() + ids[i] * row_bytes, row_bytes}, want));
    for (uint32_t k = 0; k < cols; ++k) {
      ASSERT_EQ(std::bit_cast<uint32_t>(got_rows[i * cols + k]), std::bit_cast<uint32_t>(want[k]))
          << "id " << ids[i] << " col " << k;
    }
  }
}

// More ids than one dispatch grid row holds (maxComputeWorkGroupCount[1], 65535 on lavapipe):
// the gather is split into several dispatches.
TEST_F(MatMulBig, GetRowsManyIds) {
  const uint64_t seed = 91;
  SCOPED_TRACE("seed " + std::to_string(seed));
  vk::Device& dev = GpuTest::device();
  const TensorType type = TensorType::kQ4_0;
  const uint64_t rows = 1000;
  const uint32_t cols = 32;
  const uint32_t n_ids = std::min<uint32_t>(dev.report().max_workgroup_count[1], 1u << 20) + 4465;
  TestRng rng(seed);
  const auto weights = randomWeights(type, rows, cols, rng);
  std::vector<float> table(rows * cols);
  TF_ASSERT_OK(ref::dequantize(type, weights, table));
  std::vector<uint32_t> ids(n_ids);
  for (auto& id : ids) id = rng.below(static_cast<uint32_t>(rows));
  vk::Buffer w_buf = test::uploadMatrix(dev, type, rows, cols, weights);
  vk::Buffer id_buf = test::upload(dev, ids);
  TF_ASSERT_OK_AND_ASSIGN(auto out, test::GuardedBuffer::create(dev, uint64_t(n_ids) * cols * 4));
  TF_ASSERT_OK_AND_ASSIGN(auto rec, dev.newRecorder());
  TF_ASSERT_OK(ops::recordGetRows(rec, {type, w_buf.view(), rows, cols}, id_buf.view(), out.view(), n_ids));
  EXPECT_GE(rec.dispatchCount(), 2u);
  TF_ASSERT_OK(rec.submitAndWait());
  std::vector<float> got;
  ASSERT_TRUE(out.read(got));
  for (uint32_t i = 0; i < n_ids; ++i) {
    for (uint32_t k = 0; k < cols; ++k) {
      ASSERT_EQ(std::bit_cast<uint32_t>(got[uint64_t(i) * cols + k]), std::bit_cast<uint32_t>(table[ids[i] * cols + k]))
          << "id #" << i << " col " << k;
    }
  }
}

TEST_F(MatMulBig, BadArguments) {
  vk::Device& dev = GpuTest::device();
  std::vector<uint8_t> bytes(34 * 4, 0);
  vk::Buffer w_buf = test::uploadMatrix(dev, TensorType::kQ8_0, 2, 64, bytes);
  vk::Buffer x_buf = test::upload(dev, std::vector<float>(64, 0.0f));
  TF_ASSERT_OK_AND_ASSIGN(auto rec, dev.newRecorder());
  ops::QuantMatrix w{TensorType::kQ8_0, w_buf.view(), 2, 64};
  EXPECT_EQ(ops::recordMatVec(rec, {TensorType::kIQ2_XXS, w_buf.view(), 2, 256}, x_buf.view(), x_buf.view()).code(),
            Code::kUnsupported);
  EXPECT_EQ(ops::recordMatVec(rec, {TensorType::kQ8_0, w_buf.view(), 2, 48}, x_buf.view(), x_buf.view()).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(ops::recordMatVec(rec, {TensorType::kQ8_0, w_buf.view(), 3, 64}, x_buf.view(), x_buf.view()).code(),
            Code::kOutOfRange);
  EXPECT_EQ(ops::recordMatMul(rec, w, x_buf.view(), x_buf.view(), 0).code(), Code::kInvalidArgument);
  EXPECT_EQ(ops::recordMatMul(rec, w, x_buf.view(), x_buf.view(), 2).code(), Code::kOutOfRange);
  EXPECT_EQ(rec.dispatchCount(), 0u);
}

// The cooperative-matrix path asked for where the device has none: refused, nothing recorded;
// the automatic choice stays on the scalar path (also with TOKENFAB_COOPMAT=1).
TEST_F(MatMulBig, CoopMatrixRefusedWithoutDeviceSupport) {
  vk::Device& dev = GpuTest::device();
  if (hasCoopMatrix()) GTEST_SKIP() << "skipped: the device has cooperative matrices";
  std::vector<uint8_t> bytes(34 * 4, 0);
  vk::Buffer w_buf = test::uploadMatrix(dev, TensorType::kQ8_0, 2, 64, bytes);
  vk::Buffer x_buf = test::upload(dev, std::vector<float>(128, 0.0f));
  TF_ASSERT_OK_AND_ASSIGN(auto rec, dev.newRecorder());
  ops::MatMulLayout layout;
  layout.path = ops::MatMulPath::kCoopMatrix;
  const ops::QuantMatrix w{TensorType::kQ8_0, w_buf.view(), 2, 64};
  EXPECT_EQ(ops::recordMatMul(rec, w, x_buf.view(), x_buf.view(), 2, layout).code(), Code::kUnsupported);
  EXPECT_EQ(rec.dispatchCount(), 0u);
  ScopedEnv force("TOKENFAB_COOPMAT", "1");
  EXPECT_EQ(ops::matMulPath(dev, 512), ops::MatMulPath::kScalar);
}

}  // namespace
}  // namespace tokenfab
