// Writer -> reader round trips: every value type, nested and empty arrays, v2 and v3, alignments.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "gguf_test_util.h"
#include "tokenfab/gguf.h"

namespace tokenfab::gguf {
namespace {

using test::f32Bytes;
using test::fillerBytes;

// One value of every type, with edge values an encoder could get wrong.
std::vector<std::pair<std::string, Value>> allValues() {
  std::vector<std::pair<std::string, Value>> kv;
  kv.emplace_back("t.u8", Value::u8(255));
  kv.emplace_back("t.i8", Value::i8(-128));
  kv.emplace_back("t.u16", Value::u16(65535));
  kv.emplace_back("t.i16", Value::i16(-32768));
  kv.emplace_back("t.u32", Value::u32(4294967295u));
  kv.emplace_back("t.i32", Value::i32(std::numeric_limits<int32_t>::min()));
  kv.emplace_back("t.u64", Value::u64(std::numeric_limits<uint64_t>::max()));
  kv.emplace_back("t.i64", Value::i64(std::numeric_limits<int64_t>::min()));
  kv.emplace_back("t.f32", Value::f32(-1.5e-7f));
  kv.emplace_back("t.f32nan", Value::f32(std::numeric_limits<float>::quiet_NaN()));
  kv.emplace_back("t.f64", Value::f64(3.141592653589793));
  kv.emplace_back("t.true", Value::boolean(true));
  kv.emplace_back("t.false", Value::boolean(false));
  kv.emplace_back("t.str", Value::string("h\xc3\xa9llo \xe2\x96\x81 world\n\t\"q\""));
  kv.emplace_back("t.empty_str", Value::string(""));
  kv.emplace_back("t.str_nul", Value::string(std::string("a\0b", 3)));
  kv.emplace_back("t.arr_u32", Value::array(ValueType::kUint32, {Value::u32(1), Value::u32(2), Value::u32(3)}));
  kv.emplace_back("t.arr_i64", Value::array(ValueType::kInt64, {Value::i64(-1), Value::i64(1ll << 40)}));
  kv.emplace_back("t.arr_f32", Value::array(ValueType::kFloat32, {Value::f32(0.5f), Value::f32(-0.0f)}));
  kv.emplace_back("t.arr_bool", Value::array(ValueType::kBool, {Value::boolean(true), Value::boolean(false)}));
  kv.emplace_back("t.arr_str", Value::array(ValueType::kString, {Value::string("a"), Value::string(""), Value::string("ccc")}));
  kv.emplace_back("t.arr_empty", Value::array(ValueType::kFloat64, {}));
  kv.emplace_back("t.arr_empty_str", Value::array(ValueType::kString, {}));
  kv.emplace_back("t.arr_nested",
                  Value::array(ValueType::kArray,
                               {Value::array(ValueType::kUint8, {Value::u8(1), Value::u8(2)}),
                                Value::array(ValueType::kString, {Value::string("x")}),
                                Value::array(ValueType::kArray, {Value::array(ValueType::kInt16, {Value::i16(-7)})}),
                                Value::array(ValueType::kInt8, {})}));
  return kv;
}

struct RoundTripCase {
  uint32_t version;
  uint64_t alignment;
};

class GgufRoundTrip : public ::testing::TestWithParam<RoundTripCase> {};

TEST_P(GgufRoundTrip, EveryValueTypeAndTensor) {
  const RoundTripCase c = GetParam();
  SCOPED_TRACE("version " + std::to_string(c.version) + " alignment " + std::to_string(c.alignment));
  GgufWriter w(c.version);
  w.setAlignment(c.alignment);
  const auto kv = allValues();
  for (const auto& [k, v] : kv) w.set(k, v);

  // Tensors of several types and shapes; data from a fixed seed.
  const std::vector<float> a = {1.f, -2.f, 3.5f, 0.f, 1e30f, -1e-30f};
  ASSERT_TRUE(w.addTensor("a", TensorType::kF32, {3, 2}, f32Bytes(a)).isOk());
  const auto q = fillerBytes(2 * 34 * 2, 7);  // Q8_0: 64 x 2 elements = 4 blocks of 34 bytes
  ASSERT_TRUE(w.addTensor("blk.0.q", TensorType::kQ8_0, {64, 2}, q).isOk());
  const auto k4 = fillerBytes(144, 11);  // Q4_K: one block of 256
  ASSERT_TRUE(w.addTensor("k", TensorType::kQ4_K, {256}, k4).isOk());
  const auto h = fillerBytes(2 * 5 * 1 * 3 * 2, 13);  // F16 4-D
  ASSERT_TRUE(w.addTensor("h4", TensorType::kF16, {5, 1, 3, 2}, h).isOk());

  auto bytes = w.toBytes();
  ASSERT_TRUE(bytes.isOk()) << bytes.status().toString();
  auto f = GgufFile::parse(*bytes);
  ASSERT_TRUE(f.isOk()) << f.status().toString();

  EXPECT_EQ(f->version(), c.version);
  EXPECT_EQ(f->alignment(), c.alignment);
  EXPECT_EQ(f->dataOffset() % c.alignment, 0u);
  EXPECT_EQ(f->fileSize(), bytes->size());
  EXPECT_EQ(f->metadata().size(), kv.size() + (c.alignment != 32 ? 1 : 0));
  for (size_t i = 0; i < kv.size(); ++i) {
    const Value* v = f->find(kv[i].first);
    ASSERT_NE(v, nullptr) << kv[i].first;
    EXPECT_TRUE(*v == kv[i].second) << kv[i].first << ": " << v->describe() << " vs " << kv[i].second.describe();
    EXPECT_EQ(f->metadata()[i].key, kv[i].first);  // insertion order kept
  }
  if (c.alignment != 32) {
    EXPECT_EQ(*f->getUint("general.alignment"), c.alignment);
  }

  ASSERT_EQ(f->tensors().size(), 4u);
  const TensorInfo* ta = f->tensor("a");
  ASSERT_NE(ta, nullptr);
  EXPECT_EQ(ta->n_dims, 2u);
  EXPECT_EQ(ta->ne[0], 3u);
  EXPECT_EQ(ta->ne[1], 2u);
  EXPECT_EQ(ta->n_elements, 6u);
  EXPECT_EQ(ta->n_bytes, 24u);
  auto da = f->tensorData(*ta);
  ASSERT_EQ(da.size(), 24u);
  EXPECT_EQ(std::vector<uint8_t>(da.begin(), da.end()), f32Bytes(a));

  const TensorInfo* tq = f->tensor("blk.0.q");
  ASSERT_NE(tq, nullptr);
  EXPECT_EQ(tq->type, TensorType::kQ8_0);
  auto dq = f->tensorData(*tq);
  EXPECT_EQ(std::vector<uint8_t>(dq.begin(), dq.end()), q);
  const TensorInfo* tk = f->tensor("k");
  ASSERT_NE(tk, nullptr);
  EXPECT_EQ(tk->n_bytes, 144u);
  auto dk = f->tensorData(*tk);
  EXPECT_EQ(std::vector<uint8_t>(dk.begin(), dk.end()), k4);
  const TensorInfo* th = f->tensor("h4");
  ASSERT_NE(th, nullptr);
  EXPECT_EQ(th->n_dims, 4u);
  EXPECT_EQ(th->n_elements, 30u);
  auto dh = f->tensorData(*th);
  EXPECT_EQ(std::vector<uint8_t>(dh.begin(), dh.end()), h);
  for (const TensorInfo& t : f->tensors()) EXPECT_EQ((f->dataOffset() + t.offset) % c.alignment, 0u) << t.name;
  EXPECT_EQ(f->tensor("missing"), nullptr);
}

INSTANTIATE_TEST_SUITE_P(Versions, GgufRoundTrip,
                         ::testing::Values(RoundTripCase{3, 32}, RoundTripCase{2, 32}, RoundTripCase{3, 1},
                                           RoundTripCase{3, 64}, RoundTripCase{2, 4096}, RoundTripCase{3, 8}));

// The header is laid out as the spec says: checked byte by byte, not through our reader.
TEST(GgufRoundTrip, HeaderBytesFollowTheSpec) {
  GgufWriter w(2);
  w.set("a", Value::u8(9));
  auto bytes = w.toBytes();
  ASSERT_TRUE(bytes.isOk());
  const std::vector<uint8_t> expect = {'G', 'G', 'U', 'F', 2, 0, 0, 0,  // magic, version
                                       0, 0, 0, 0, 0, 0, 0, 0,          // tensor count
                                       1, 0, 0, 0, 0, 0, 0, 0,          // kv count
                                       1, 0, 0, 0, 0, 0, 0, 0, 'a',     // key
                                       0, 0, 0, 0,                      // type u8
                                       9};
  ASSERT_GE(bytes->size(), expect.size());
  EXPECT_EQ(std::vector<uint8_t>(bytes->begin(), bytes->begin() + static_cast<long>(expect.size())), expect);
  EXPECT_EQ(bytes->size() % 32, 0u);  // padded to the alignment
}

TEST(GgufRoundTrip, TypedGetters) {
  GgufWriter w;
  w.set("s", Value::string("llama"));
  w.set("u", Value::u32(7));
  w.set("neg", Value::i32(-3));
  w.set("f", Value::f32(0.25f));
  w.set("b", Value::boolean(true));
  w.set("arr", Value::array(ValueType::kString, {Value::string("x")}));
  w.set("u", Value::u32(8));  // replaces, keeps one entry
  auto f = GgufFile::parse(*w.toBytes());
  ASSERT_TRUE(f.isOk()) << f.status().toString();
  EXPECT_EQ(f->metadata().size(), 6u);
  EXPECT_EQ(*f->getString("s"), "llama");
  EXPECT_EQ(*f->getUint("u"), 8u);
  EXPECT_EQ(*f->getInt("u"), 8);
  EXPECT_EQ(*f->getFloat("u"), 8.0);
  EXPECT_EQ(*f->getInt("neg"), -3);
  EXPECT_EQ(f->getUint("neg").status().code(), Code::kGgufWrongValueType);
  EXPECT_EQ(*f->getFloat("f"), 0.25);
  EXPECT_TRUE(*f->getBool("b"));
  EXPECT_EQ(f->getString("u").status().code(), Code::kGgufWrongValueType);
  EXPECT_EQ(f->getBool("s").status().code(), Code::kGgufWrongValueType);
  EXPECT_EQ(f->getString("nope").status().code(), Code::kNotFound);
  EXPECT_EQ(f->getUint("nope").status().code(), Code::kNotFound);
  ASSERT_NE(f->getArray("arr"), nullptr);
  EXPECT_EQ(f->getArray("arr")->items.size(), 1u);
  EXPECT_EQ(f->getArray("s"), nullptr);
  EXPECT_EQ(f->getArray("nope"), nullptr);
}

TEST(GgufRoundTrip, DescribeIsShort) {
  std::vector<Value> many;
  for (int i = 0; i < 1000; ++i) many.push_back(Value::string("t"));
  EXPECT_EQ(Value::array(ValueType::kString, many).describe(), "[1000 strings]");
  EXPECT_EQ(Value::array(ValueType::kUint8, {Value::u8(1), Value::u8(2)}).describe(), "[1, 2]");
  EXPECT_EQ(Value::string("a\nb").describe(), "\"a\\nb\"");
  EXPECT_EQ(Value::i8(-5).describe(), "-5");
  EXPECT_EQ(Value::boolean(false).describe(), "false");
}

// The type table against ggml's published block layouts (ggml-common.h block structs).
TEST(GgufTypes, TableMatchesGgmlBlockLayouts) {
  struct Expect {
    uint32_t id;
    const char* name;
    uint32_t block, bytes;
  };
  // bytes = sum of the block struct's fields, computed by hand from ggml-common.h.
  const Expect expect[] = {
      {0, "F32", 1, 4},          {1, "F16", 1, 2},           {2, "Q4_0", 32, 2 + 16},
      {3, "Q4_1", 32, 4 + 16},   {6, "Q5_0", 32, 2 + 4 + 16}, {7, "Q5_1", 32, 4 + 4 + 16},
      {8, "Q8_0", 32, 2 + 32},   {9, "Q8_1", 32, 4 + 32},    {10, "Q2_K", 256, 16 + 64 + 4},
      {11, "Q3_K", 256, 32 + 64 + 12 + 2}, {12, "Q4_K", 256, 4 + 12 + 128}, {13, "Q5_K", 256, 4 + 12 + 32 + 128},
      {14, "Q6_K", 256, 128 + 64 + 16 + 2}, {15, "Q8_K", 256, 4 + 256 + 32}, {16, "IQ2_XXS", 256, 2 + 64},
      {17, "IQ2_XS", 256, 2 + 64 + 8}, {18, "IQ3_XXS", 256, 2 + 96}, {19, "IQ1_S", 256, 2 + 32 + 16},
      {20, "IQ4_NL", 32, 2 + 16}, {21, "IQ3_S", 256, 2 + 64 + 8 + 32 + 4}, {22, "IQ2_S", 256, 2 + 64 + 8 + 8},
      {23, "IQ4_XS", 256, 2 + 2 + 4 + 128}, {24, "I8", 1, 1}, {25, "I16", 1, 2}, {26, "I32", 1, 4},
      {27, "I64", 1, 8},         {28, "F64", 1, 8},          {29, "IQ1_M", 256, 32 + 16 + 8},
      {30, "BF16", 1, 2},        {34, "TQ1_0", 256, 48 + 4 + 2}, {35, "TQ2_0", 256, 64 + 2},
      {39, "MXFP4", 32, 1 + 16}, {40, "NVFP4", 64, 4 + 32}, {41, "Q1_0", 128, 2 + 16},
  };
  size_t known = 0;
  for (uint32_t id = 0; id < 64; ++id) known += typeTraits(id) != nullptr;
  EXPECT_EQ(known, std::size(expect));
  for (const Expect& e : expect) {
    const TypeTraits* t = typeTraits(e.id);
    ASSERT_NE(t, nullptr) << e.name;
    EXPECT_EQ(static_cast<uint32_t>(t->type), e.id);
    EXPECT_EQ(t->name, e.name);
    EXPECT_EQ(t->block_size, e.block) << e.name;
    EXPECT_EQ(t->type_size, e.bytes) << e.name;
  }
  for (uint32_t removed : {4u, 5u, 31u, 32u, 33u, 36u, 37u, 38u, 42u, 1000u}) EXPECT_EQ(typeTraits(removed), nullptr) << removed;
  EXPECT_EQ(typeName(TensorType::kQ6_K), "Q6_K");
  EXPECT_EQ(typeName(static_cast<TensorType>(4)), "?");
}

TEST(GgufWriter, RejectsBadTensors) {
  GgufWriter w;
  EXPECT_EQ(w.addTensor("", TensorType::kF32, {1}, f32Bytes({1})).code(), Code::kInvalidArgument);
  EXPECT_EQ(w.addTensor("a", TensorType::kF32, {2}, f32Bytes({1})).code(), Code::kInvalidArgument);
  EXPECT_EQ(w.addTensor("a", TensorType::kF32, {}, {}).code(), Code::kInvalidArgument);
  EXPECT_EQ(w.addTensor("a", TensorType::kF32, {1, 1, 1, 1, 1}, f32Bytes({1})).code(), Code::kInvalidArgument);
  EXPECT_EQ(w.addTensor("a", TensorType::kF32, {0}, {}).code(), Code::kInvalidArgument);
  EXPECT_EQ(w.addTensor("a", TensorType::kQ8_0, {16}, std::vector<uint8_t>(17)).code(), Code::kInvalidArgument);
  EXPECT_TRUE(w.addTensor("a", TensorType::kF32, {1}, f32Bytes({1})).isOk());
  EXPECT_EQ(w.addTensor("a", TensorType::kF32, {1}, f32Bytes({1})).code(), Code::kAlreadyExists);
  GgufWriter bad_version(1);
  EXPECT_EQ(bad_version.toBytes().status().code(), Code::kInvalidArgument);
  GgufWriter bad_align;
  bad_align.setAlignment(24);
  EXPECT_EQ(bad_align.toBytes().status().code(), Code::kInvalidArgument);
  GgufWriter mixed;
  mixed.set("m", Value::array(ValueType::kUint8, {Value::u16(1)}));
  EXPECT_EQ(mixed.toBytes().status().code(), Code::kInvalidArgument);
}

TEST(GgufValue, Conversions) {
  EXPECT_EQ(*Value::i8(5).toUint(), 5u);
  EXPECT_EQ(Value::i8(-5).toUint().status().code(), Code::kGgufWrongValueType);
  EXPECT_EQ(Value::u64(std::numeric_limits<uint64_t>::max()).toInt().status().code(), Code::kGgufWrongValueType);
  EXPECT_EQ(Value::f32(1.0f).toUint().status().code(), Code::kGgufWrongValueType);
  EXPECT_EQ(*Value::u16(3).toDouble(), 3.0);
  EXPECT_EQ(Value::string("1").toDouble().status().code(), Code::kGgufWrongValueType);
  EXPECT_TRUE(Value::u8(1).isInteger());
  EXPECT_FALSE(Value::boolean(true).isInteger());
  EXPECT_TRUE(Value::f64(1).isFloat());
  EXPECT_EQ(Value::u8(1).asString(), nullptr);
  EXPECT_FALSE(Value::u8(1) == Value::u16(1));
  EXPECT_FALSE(Value::f32(0.0f) == Value::f32(-0.0f));
}

}  // namespace
}  // namespace tokenfab::gguf
