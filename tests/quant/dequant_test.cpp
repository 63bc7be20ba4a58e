// Dequantization of every quantized tensor in the shared fixtures against the values ggml's own
// to_float produced (reference/dequant/*.json): first values bit for bit, sum and sum of squares
// in float64.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <bit>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "ref/dequant.h"
#include "shared_data.h"
#include "tokenfab/gguf.h"

namespace tokenfab {
namespace {

using gguf::TensorType;

// Checks one fixture file: every entry of its JSON reference.
void checkFixture(const std::filesystem::path& gguf_path, const std::filesystem::path& json_path) {
  auto file = gguf::GgufFile::open(gguf_path);
  ASSERT_TRUE(file.isOk()) << file.status().toString();
  const auto ref = nlohmann::json::parse(test::readFile(json_path), nullptr, false);
  ASSERT_FALSE(ref.is_discarded()) << json_path;
  ASSERT_TRUE(ref.is_array());
  ASSERT_GT(ref.size(), 0u);
  for (const auto& entry : ref) {
    const std::string name = entry.at("name");
    SCOPED_TRACE(gguf_path.filename().string() + " " + name + " (" +
                 entry.at("type").get<std::string>() + ")");
    const gguf::TensorInfo* info = file->tensor(name);
    ASSERT_NE(info, nullptr);
    ASSERT_TRUE(ref::canDequantize(info->type)) << "type " << static_cast<int>(info->type);
    const uint64_t n = entry.at("n");
    ASSERT_EQ(info->n_elements, n);
    std::vector<float> out(n);
    const Status st = ref::dequantize(info->type, file->tensorData(*info), out);
    ASSERT_TRUE(st.isOk()) << st.toString();

    const auto& first = entry.at("first");
    // The zoo lists every value, the model fixtures their first 512.
    ASSERT_TRUE(first.size() == std::min<uint64_t>(n, 512) || first.size() == n) << first.size();
    size_t mismatches = 0;
    for (size_t i = 0; i < first.size(); ++i) {
      // 9 significant digits identify a float32 exactly: parse as float and compare the bits.
      // The reference prints a zero without its sign, so -0 and +0 count as the same value.
      const float want = first[i].get<float>();
      const bool same = want == 0.0f ? out[i] == 0.0f
                                     : std::bit_cast<uint32_t>(want) == std::bit_cast<uint32_t>(out[i]);
      if (!same) {
        if (++mismatches <= 5) {
          ADD_FAILURE() << "element " << i << ": got " << out[i] << " want " << want;
        }
      }
    }
    EXPECT_EQ(mismatches, 0u);
    double sum = 0, sumsq = 0;
    for (float v : out) {
      sum += v;
      sumsq += double(v) * double(v);
    }
    // Both sides sum the same float32 values in float64; only the order may differ.
    const double want_sum = entry.at("sum");
    const double want_sumsq = entry.at("sumsq");
    EXPECT_NEAR(sum, want_sum, 1e-9 * (std::fabs(want_sum) + std::sqrt(want_sumsq) + 1.0));
    EXPECT_NEAR(sumsq, want_sumsq, 1e-9 * (want_sumsq + 1.0));
  }
}

class DequantFixture : public ::testing::TestWithParam<const char*> {};

TEST_P(DequantFixture, MatchesGgml) {
  const std::string stem = GetParam();
  TF_SHARED_FILE(gguf_path, "models/fixtures/" + stem + ".gguf");
  TF_SHARED_FILE(json_path, "reference/dequant/" + stem + ".json");
  checkFixture(gguf_path, json_path);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, DequantFixture,
                         ::testing::Values("quant-zoo", "fx-llama-spm-q4_0", "fx-llama-spm-q4_k_m",
                                           "fx-llama-spm-q8_0", "fx-qwen2-bpe-q5_k_m",
                                           "fx-qwen2-bpe-q8_0", "fx-qwen2-e384-q4_k_m",
                                           "stories260K-f16"),
                         [](const auto& param_info) {
                           std::string s = param_info.param;
                           for (char& c : s) {
                             if (c == '-') c = '_';
                           }
                           return s;
                         });

// The zoo holds every type this module decodes: make sure none is silently missing.
TEST(Dequant, ZooCoversEveryType) {
  TF_SHARED_FILE(json_path, "reference/dequant/quant-zoo.json");
  const auto ref = nlohmann::json::parse(test::readFile(json_path));
  std::vector<std::string> types;
  for (const auto& e : ref) types.push_back(e.at("type"));
  for (const char* t : {"f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q2_K", "q3_K",
                        "q4_K", "q5_K", "q6_K", "iq4_nl"}) {
    EXPECT_NE(std::find(types.begin(), types.end(), t), types.end()) << t;
  }
}

// Hand-computed blocks, independent of any file.
TEST(Dequant, HandQ8_0) {
  std::vector<uint8_t> block(34, 0);
  block[0] = 0x00;
  block[1] = 0x38;  // f16 0.5
  block[2] = 0x02;  // 2 * 0.5 = 1
  block[3] = 0xFF;  // -1 * 0.5
  block[33] = 0x80;  // -128 * 0.5
  std::vector<float> out(32, -7.0f);
  ASSERT_TRUE(ref::dequantize(TensorType::kQ8_0, block, out).isOk());
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], -0.5f);
  EXPECT_EQ(out[2], 0.0f);
  EXPECT_EQ(out[31], -64.0f);
}

TEST(Dequant, HandQ4_0) {
  std::vector<uint8_t> block(18, 0x88);  // every nibble 8 -> 0
  block[0] = 0x00;
  block[1] = 0x40;  // f16 2.0
  block[2] = 0x0F;  // element 0: (15-8)*2 = 14; element 16: (0-8)*2 = -16
  std::vector<float> out(32);
  ASSERT_TRUE(ref::dequantize(TensorType::kQ4_0, block, out).isOk());
  EXPECT_EQ(out[0], 14.0f);
  EXPECT_EQ(out[16], -16.0f);
  EXPECT_EQ(out[1], 0.0f);
}

TEST(Dequant, HandQ4_K) {
  // d = 1, dmin = 0.5; sub-block 0: scale 3, min 2; sub-block 1: scale 5, min 1.
  std::vector<uint8_t> block(144, 0);
  block[0] = 0x00; block[1] = 0x3C;  // d
  block[2] = 0x00; block[3] = 0x38;  // dmin
  block[4 + 0] = 3; block[4 + 4] = 2;  // j = 0: scale in q[0], min in q[4]
  block[4 + 1] = 5; block[4 + 5] = 1;  // j = 1
  block[16] = 0x7A;  // element 0: low nibble 10 -> 3*10 - 0.5*2 = 29; element 32: 7 -> 5*7 - 0.5 = 34.5
  std::vector<float> out(256);
  ASSERT_TRUE(ref::dequantize(TensorType::kQ4_K, block, out).isOk());
  EXPECT_EQ(out[0], 29.0f);
  EXPECT_EQ(out[32], 34.5f);
  EXPECT_EQ(out[1], -1.0f);
}

// block_iq4_xs {f16 d; u16 scales_h; u8 scales_l[4]; u8 qs[128]} by hand from the format
// description: sub-block ib's 6-bit scale is nibble ib % 2 of scales_l[ib / 2] (low 4 bits) and
// bits 2 ib..2 ib + 1 of scales_h (high 2 bits), minus 32; its 16 qs bytes hold elements j (low
// nibble of byte j) and j + 16 (high nibble), indexing IQ4_NL's code book
// {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}.
TEST(Dequant, HandIq4Xs) {
  std::vector<uint8_t> block(136, 0);
  block[0] = 0x00; block[1] = 0x38;  // d = 0.5
  // ls: sub-block 0: 33 = 0b10'0001 (l = 1); 1: 28 = 0b01'1100 (l = -4); 7: 63 (l = 31); others 0 (l = -32).
  block[4] = 0xC1;                   // scales_l[0]: sub-block 0 low bits 1, sub-block 1 low bits 12
  block[7] = 0xF0;                   // scales_l[3]: sub-block 7 low bits 15
  block[2] = 0x06; block[3] = 0xC0;  // scales_h = 0xC006: sub-block 0 high 2, 1 high 1, 7 high 3
  block[8] = 0xF0;                   // elements 0 (code 0: -127) and 16 (code 15: 113)
  block[8 + 16 + 3] = 0x58;          // elements 35 (code 8: 1) and 51 (code 5: -35)
  block[8 + 112 + 15] = 0x0A;        // elements 239 (code 10: 25) and 255 (code 0: -127)
  std::vector<float> out(256, 7.0f);
  ASSERT_TRUE(ref::dequantize(TensorType::kIQ4_XS, block, out).isOk());
  EXPECT_EQ(out[0], 0.5f * 1 * -127);     // -63.5
  EXPECT_EQ(out[16], 0.5f * 1 * 113);     // 56.5
  EXPECT_EQ(out[1], -63.5f);              // qs 0: code 0
  EXPECT_EQ(out[35], 0.5f * -4 * 1);      // -2
  EXPECT_EQ(out[51], 0.5f * -4 * -35);    // 70
  EXPECT_EQ(out[32], 0.5f * -4 * -127);   // 254
  EXPECT_EQ(out[64], 0.5f * -32 * -127);  // 2032: sub-block 2 has scale 0 - 32
  EXPECT_EQ(out[239], 0.5f * 31 * 25);    // 387.5
  EXPECT_EQ(out[255], 0.5f * 31 * -127);  // -1968.5
  EXPECT_EQ(out[224], -1968.5f);
}

// block_iq3_s {f16 d; u8 qs[64]; u8 qh[8]; u8 signs[32]; u8 scales[4]} by hand from the format
// description: sub-block ib (32 elements) has scale d * (1 + 2 s), s nibble ib % 2 of scales[ib / 2];
// its quad g (elements 4g..4g+3) reads grid entry qs[8 ib + g] | (bit g of qh[ib]) << 8, whose
// bytes (low first) are the 4 magnitudes; bit e % 8 of signs[4 ib + e / 8] negates element e. Grid
// entries used (iq3s_grid): 0 = 0x01010101, 1 = 0x01010103, 4 = 0x0101010f, 256 = 0x05090507,
// 511 = 0x0f0f0101.
TEST(Dequant, HandIq3S) {
  std::vector<uint8_t> block(110, 0);
  uint8_t* qs = &block[2];
  uint8_t* qh = &block[66];
  uint8_t* signs = &block[74];
  uint8_t* scales = &block[106];
  block[0] = 0x00; block[1] = 0x38;  // d = 0.5
  scales[0] = 0x21;                  // sub-block 0: s = 1 (scale 1.5); sub-block 1: s = 2 (2.5)
  scales[3] = 0xF0;                  // sub-block 6: s = 0 (0.5); sub-block 7: s = 15 (15.5)
  qs[0] = 1;                         // elements 0..3: entry 1 -> 3, 1, 1, 1
  signs[0] = 0x02;                   // element 1 negative
  qs[1] = 4;                         // elements 4..7: entry 4 -> 15, 1, 1, 1
  qs[8 + 3] = 0xFF; qh[1] = 0x08;    // elements 44..47: entry 0xFF | 256 = 511 -> 1, 1, 15, 15
  signs[4 + 1] = 0x80;               // element 47 (sub-block 1, e = 15) negative
  qh[7] = 0x80;                      // elements 252..255: entry 0 | 256 -> 7, 5, 9, 5
  signs[31] = 0x80;                  // element 255 negative
  std::vector<float> out(256, 7.0f);
  ASSERT_TRUE(ref::dequantize(TensorType::kIQ3_S, block, out).isOk());
  EXPECT_EQ(out[0], 4.5f);
  EXPECT_EQ(out[1], -1.5f);
  EXPECT_EQ(out[2], 1.5f);
  EXPECT_EQ(out[4], 22.5f);
  EXPECT_EQ(out[5], 1.5f);
  EXPECT_EQ(out[32], 2.5f);    // sub-block 1, entry 0
  EXPECT_EQ(out[44], 2.5f);
  EXPECT_EQ(out[45], 2.5f);
  EXPECT_EQ(out[46], 37.5f);
  EXPECT_EQ(out[47], -37.5f);
  EXPECT_EQ(out[64], 0.5f);    // sub-block 2: s = 0
  EXPECT_EQ(out[192], 0.5f);   // sub-block 6: s = 0
  EXPECT_EQ(out[224], 15.5f);  // sub-block 7, entry 0
  EXPECT_EQ(out[251], 15.5f);
  EXPECT_EQ(out[252], 108.5f);
  EXPECT_EQ(out[253], 77.5f);
  EXPECT_EQ(out[254], 139.5f);
  EXPECT_EQ(out[255], -77.5f);
}

// block_iq3_xxs {f16 d; u8 qs[64]; u32 scales_and_signs[8]} by hand from the format description:
// quad g of sub-block ib reads grid entry qs[8 ib + g] (bytes low first are its magnitudes); the
// sub-block's little-endian word w (bytes 66 + 4 ib) has the scale nibble s in bits 28..31 (scale
// d * (0.5 + s) * 0.5) and 7-bit sign fields l at bits 7l (elements 8l..8l+6; element 8l+7 takes
// the field's parity). Grid entries used (iq3xxs_grid): 0 = 0x04040404, 1 = 0x04040414,
// 255 = 0x3e341c04.
TEST(Dequant, HandIq3Xxs) {
  std::vector<uint8_t> block(98, 0);
  uint8_t* qs = &block[2];
  block[0] = 0x00; block[1] = 0x40;  // d = 2
  qs[0] = 1;                         // elements 0..3: entry 1 -> 20, 4, 4, 4
  qs[1] = 255;                       // elements 4..7: entry 255 -> 4, 28, 52, 62
  // Sub-block 0: s = 3 (scale 2 * 3.5 * 0.5 = 3.5); field 0 = 0b0000010 (element 1 negative, odd:
  // element 7 negative too); field 1 = 0b0000011 (elements 8, 9 negative, even: 15 positive).
  const uint32_t w0 = (3u << 28) | (0x03u << 7) | 0x02u;
  for (int i = 0; i < 4; ++i) block[66 + i] = static_cast<uint8_t>(w0 >> (8 * i));
  // Sub-block 7: s = 15 (scale 2 * 15.5 * 0.5 = 15.5); field 3 = 0b1000000 (element 30 and, odd,
  // element 31 negative).
  const uint32_t w7 = (15u << 28) | (0x40u << 21);
  for (int i = 0; i < 4; ++i) block[66 + 28 + i] = static_cast<uint8_t>(w7 >> (8 * i));
  std::vector<float> out(256, 7.0f);
  ASSERT_TRUE(ref::dequantize(TensorType::kIQ3_XXS, block, out).isOk());
  EXPECT_EQ(out[0], 70.0f);    // 3.5 * 20
  EXPECT_EQ(out[1], -14.0f);   // 3.5 * 4, field bit 1
  EXPECT_EQ(out[2], 14.0f);
  EXPECT_EQ(out[4], 14.0f);    // 3.5 * 4
  EXPECT_EQ(out[5], 98.0f);    // 3.5 * 28
  EXPECT_EQ(out[6], 182.0f);   // 3.5 * 52
  EXPECT_EQ(out[7], -217.0f);  // 3.5 * 62, parity
  EXPECT_EQ(out[8], -14.0f);
  EXPECT_EQ(out[9], -14.0f);
  EXPECT_EQ(out[10], 14.0f);
  EXPECT_EQ(out[15], 14.0f);   // even field: positive
  EXPECT_EQ(out[32], 2.0f);    // sub-block 1: s = 0, scale 2 * 0.5 * 0.5 = 0.5; entry 0 -> 4
  EXPECT_EQ(out[224], 62.0f);  // sub-block 7: 15.5 * 4
  EXPECT_EQ(out[29], 14.0f);
  EXPECT_EQ(out[254], -62.0f);
  EXPECT_EQ(out[255], -62.0f);
  EXPECT_EQ(out[253], 62.0f);
}

// No ggml dump of the i-quant values exists here; instead a fixture's i-quant tensors are
// checked against its Q8_0 twin (fx-llama-spm-q8_0: the same F32 source, MANIFEST.md): a decoder
// that misread the layout (scales, nibble or bit order) lands nowhere near the source. Returns how
// many tensors of `type` were checked; each must be within relative RMS `bound`.
int checkAgainstQ8_0Twin(const std::filesystem::path& iq_path, const std::filesystem::path& q8_path, TensorType type,
                         double bound) {
  auto iq = gguf::GgufFile::open(iq_path);
  auto q8 = gguf::GgufFile::open(q8_path);
  EXPECT_TRUE(iq.isOk() && q8.isOk());
  if (!iq.isOk() || !q8.isOk()) return 0;
  int checked = 0;
  for (const gguf::TensorInfo& t : iq->tensors()) {
    if (t.type != type) continue;
    SCOPED_TRACE(t.name);
    const gguf::TensorInfo* twin = q8->tensor(t.name);
    EXPECT_NE(twin, nullptr);
    if (twin == nullptr || twin->n_elements != t.n_elements) return -1;
    std::vector<float> a(t.n_elements), b(t.n_elements);
    EXPECT_TRUE(ref::dequantize(t.type, iq->tensorData(t), a).isOk());
    EXPECT_TRUE(ref::dequantize(twin->type, q8->tensorData(*twin), b).isOk());
    double err = 0, norm = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      err += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
      norm += double(b[i]) * b[i];
    }
    const double rel = std::sqrt(err / norm);
    EXPECT_LT(rel, bound);
    std::printf("[ measured ] %s: %s vs Q8_0 relative RMS %.4f\n", t.name.c_str(), std::string(gguf::typeName(type)).c_str(), rel);
    ++checked;
  }
  return checked;
}

// Measured with the layout above: relative RMS error ~0.077 (token_embd); a swapped nibble order
// gives ~1.37.
TEST(Dequant, Iq4XsFixtureMatchesItsQ8_0Twin) {
  TF_SHARED_FILE(iq_path, "models/fixtures/fx-llama-spm-iq4_xs.gguf");
  TF_SHARED_FILE(q8_path, "models/fixtures/fx-llama-spm-q8_0.gguf");
  EXPECT_EQ(checkAgainstQ8_0Twin(iq_path, q8_path, TensorType::kIQ4_XS, 0.12), 15);  // token_embd and 7 matrices x 2 blocks
}

// Measured with the layout above: relative RMS error 0.166 (all 15 tensors 0.1655-0.1674).
TEST(Dequant, Iq3SFixtureMatchesItsQ8_0Twin) {
  TF_SHARED_FILE(iq_path, "models/fixtures/fx-llama-spm-iq3_s.gguf");
  TF_SHARED_FILE(q8_path, "models/fixtures/fx-llama-spm-q8_0.gguf");
  EXPECT_EQ(checkAgainstQ8_0Twin(iq_path, q8_path, TensorType::kIQ3_S, 0.25), 15);  // as IQ4_XS
}

TEST(Dequant, Fp16Specials) {
  EXPECT_EQ(ref::fp16ToFloat(0x3C00), 1.0f);
  EXPECT_EQ(ref::fp16ToFloat(0xC000), -2.0f);
  EXPECT_EQ(ref::fp16ToFloat(0x7BFF), 65504.0f);
  EXPECT_EQ(ref::fp16ToFloat(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(ref::fp16ToFloat(0x03FF), std::ldexp(1023.0f, -24));
  EXPECT_EQ(ref::fp16ToFloat(0x0400), std::ldexp(1.0f, -14));
  EXPECT_TRUE(std::isinf(ref::fp16ToFloat(0x7C00)));
  EXPECT_TRUE(std::isnan(ref::fp16ToFloat(0x7E00)));
  EXPECT_TRUE(std::signbit(ref::fp16ToFloat(0x8000)));
  EXPECT_EQ(ref::bf16ToFloat(0x3F80), 1.0f);
  EXPECT_EQ(ref::bf16ToFloat(0xC040), -3.0f);
}

TEST(Dequant, BadInput) {
  std::vector<float> out(32);
  std::vector<uint8_t> bytes(34);
  EXPECT_EQ(ref::dequantize(TensorType::kQ8_1, bytes, out).code(), Code::kUnsupported);
  EXPECT_EQ(ref::dequantize(static_cast<TensorType>(999), bytes, out).code(), Code::kUnsupported);
  EXPECT_FALSE(ref::canDequantize(TensorType::kIQ2_XXS));
  std::vector<float> odd(31);
  EXPECT_EQ(ref::dequantize(TensorType::kQ8_0, bytes, odd).code(), Code::kInvalidArgument);
  std::vector<uint8_t> short_bytes(33);
  EXPECT_EQ(ref::dequantize(TensorType::kQ8_0, short_bytes, out).code(), Code::kOutOfRange);
  std::vector<float> k_out(256);
  EXPECT_EQ(ref::dequantize(TensorType::kQ6_K, bytes, k_out).code(), Code::kOutOfRange);
  std::vector<float> none;
  EXPECT_TRUE(ref::dequantize(TensorType::kQ6_K, {}, none).isOk());
}

}  // namespace
}  // namespace tokenfab
