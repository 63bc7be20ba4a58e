// Value (GGUF metadata values) and the name tables for value types and ggml tensor types.
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include "tokenfab/gguf.h"

namespace tokenfab::gguf {
namespace {

// ggml's type table (ggml.c type_traits: elements per block and bytes per block) and what
// tokenfab decodes of it: the CPU reference (core/ref/dequant.cpp) and the GPU (the shader
// suffix and the plane layout of weight_pack.cpp / dequant.glsl). A type the GPU decodes is
// always decoded by the CPU reference too: that is what the GPU is checked against.
// Ids missing here were removed from ggml (Q4_2, Q4_3, Q4_0_4_4, Q4_0_4_8, Q4_0_8_8, IQ4_NL_4_4...).
constexpr TypeTraits fileOnly(TensorType type, std::string_view name, uint32_t block_size, uint32_t type_size) {
  return {type, name, block_size, type_size, false, false, {}, {}};
}
constexpr TypeTraits decoded(TensorType type, std::string_view name, uint32_t block_size, uint32_t type_size,
                             std::string_view suffix, GpuPlanes planes) {
  return {type, name, block_size, type_size, true, true, suffix, planes};
}
// decoded(...): the CPU reference and the shaders decode it; GpuPlanes{q_bits, h_bits, s_block, s_bytes}.
constexpr std::array<TypeTraits, 34> kTypeTable = {{
    decoded(TensorType::kF32, "F32", 1, 4, "f32", GpuPlanes{}),
    decoded(TensorType::kF16, "F16", 1, 2, "f16", GpuPlanes{}),
    decoded(TensorType::kQ4_0, "Q4_0", 32, 18, "q4_0", GpuPlanes{4, 0, 32, 2}),
    decoded(TensorType::kQ4_1, "Q4_1", 32, 20, "q4_1", GpuPlanes{4, 0, 32, 4}),
    decoded(TensorType::kQ5_0, "Q5_0", 32, 22, "q5_0", GpuPlanes{4, 1, 32, 2}),
    decoded(TensorType::kQ5_1, "Q5_1", 32, 24, "q5_1", GpuPlanes{4, 1, 32, 4}),
    decoded(TensorType::kQ8_0, "Q8_0", 32, 34, "q8_0", GpuPlanes{8, 0, 32, 2}),
    fileOnly(TensorType::kQ8_1, "Q8_1", 32, 36),
    decoded(TensorType::kQ2_K, "Q2_K", 256, 84, "q2_k", GpuPlanes{2, 0, 256, 20}),
    decoded(TensorType::kQ3_K, "Q3_K", 256, 110, "q3_k", GpuPlanes{2, 1, 256, 14}),
    decoded(TensorType::kQ4_K, "Q4_K", 256, 144, "q4_k", GpuPlanes{4, 0, 256, 16}),
    decoded(TensorType::kQ5_K, "Q5_K", 256, 176, "q5_k", GpuPlanes{4, 1, 256, 16}),
    decoded(TensorType::kQ6_K, "Q6_K", 256, 210, "q6_k", GpuPlanes{4, 2, 256, 18}),
    fileOnly(TensorType::kQ8_K, "Q8_K", 256, 292),
    fileOnly(TensorType::kIQ2_XXS, "IQ2_XXS", 256, 66),
    fileOnly(TensorType::kIQ2_XS, "IQ2_XS", 256, 74),
    decoded(TensorType::kIQ3_XXS, "IQ3_XXS", 256, 98, "iq3_xxs", GpuPlanes{2, 1, 256, 2}),
    fileOnly(TensorType::kIQ1_S, "IQ1_S", 256, 50),
    decoded(TensorType::kIQ4_NL, "IQ4_NL", 32, 18, "iq4_nl", GpuPlanes{4, 0, 32, 2}),
    decoded(TensorType::kIQ3_S, "IQ3_S", 256, 110, "iq3_s", GpuPlanes{2, 1, 256, 14}),
    fileOnly(TensorType::kIQ2_S, "IQ2_S", 256, 82),
    decoded(TensorType::kIQ4_XS, "IQ4_XS", 256, 136, "iq4_xs", GpuPlanes{4, 0, 256, 8}),
    fileOnly(TensorType::kI8, "I8", 1, 1),
    fileOnly(TensorType::kI16, "I16", 1, 2),
    fileOnly(TensorType::kI32, "I32", 1, 4),
    fileOnly(TensorType::kI64, "I64", 1, 8),
    fileOnly(TensorType::kF64, "F64", 1, 8),
    fileOnly(TensorType::kIQ1_M, "IQ1_M", 256, 56),
    decoded(TensorType::kBF16, "BF16", 1, 2, "bf16", GpuPlanes{}),
    fileOnly(TensorType::kTQ1_0, "TQ1_0", 256, 54),
    fileOnly(TensorType::kTQ2_0, "TQ2_0", 256, 66),
    fileOnly(TensorType::kMXFP4, "MXFP4", 32, 17),
    fileOnly(TensorType::kNVFP4, "NVFP4", 64, 36),
    fileOnly(TensorType::kQ1_0, "Q1_0", 128, 18),
}};

constexpr uint32_t kMaxTypeId = 42;

constexpr std::array<const TypeTraits*, kMaxTypeId> buildIndex() {
  std::array<const TypeTraits*, kMaxTypeId> index{};
  for (const TypeTraits& t : kTypeTable) index[static_cast<uint32_t>(t.type)] = &t;
  return index;
}
constexpr std::array<const TypeTraits*, kMaxTypeId> kTypeIndex = buildIndex();

Status wrongType(ValueType have, std::string_view want) {
  return Status(Code::kGgufWrongValueType,
                "value of type " + std::string(valueTypeName(have)) + " is not " + std::string(want));
}

std::string quoted(const std::string& s, size_t max_chars) {
  std::string out = "\"";
  size_t n = 0;
  for (char c : s) {
    if (n++ >= max_chars) {
      out += "...";
      break;
    }
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

}  // namespace

std::string_view valueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kUint8: return "u8";
    case ValueType::kInt8: return "i8";
    case ValueType::kUint16: return "u16";
    case ValueType::kInt16: return "i16";
    case ValueType::kUint32: return "u32";
    case ValueType::kInt32: return "i32";
    case ValueType::kFloat32: return "f32";
    case ValueType::kBool: return "bool";
    case ValueType::kString: return "string";
    case ValueType::kArray: return "array";
    case ValueType::kUint64: return "u64";
    case ValueType::kInt64: return "i64";
    case ValueType::kFloat64: return "f64";
  }
  return "?";
}

const TypeTraits* typeTraits(uint32_t type_id) { return type_id < kMaxTypeId ? kTypeIndex[type_id] : nullptr; }

std::span<const TypeTraits> typeTable() { return kTypeTable; }

std::string_view typeName(TensorType t) {
  const TypeTraits* traits = typeTraits(t);
  return traits ? traits->name : std::string_view("?");
}

Value Value::u8(uint8_t v) { Value r; r.m_type = ValueType::kUint8; r.m_data = uint64_t{v}; return r; }
Value Value::u16(uint16_t v) { Value r; r.m_type = ValueType::kUint16; r.m_data = uint64_t{v}; return r; }
Value Value::u32(uint32_t v) { Value r; r.m_type = ValueType::kUint32; r.m_data = uint64_t{v}; return r; }
Value Value::u64(uint64_t v) { Value r; r.m_type = ValueType::kUint64; r.m_data = v; return r; }
Value Value::i8(int8_t v) { Value r; r.m_type = ValueType::kInt8; r.m_data = int64_t{v}; return r; }
Value Value::i16(int16_t v) { Value r; r.m_type = ValueType::kInt16; r.m_data = int64_t{v}; return r; }
Value Value::i32(int32_t v) { Value r; r.m_type = ValueType::kInt32; r.m_data = int64_t{v}; return r; }
Value Value::i64(int64_t v) { Value r; r.m_type = ValueType::kInt64; r.m_data = v; return r; }
Value Value::f32(float v) { Value r; r.m_type = ValueType::kFloat32; r.m_data = double{v}; return r; }
Value Value::f64(double v) { Value r; r.m_type = ValueType::kFloat64; r.m_data = v; return r; }
Value Value::boolean(bool v) { Value r; r.m_type = ValueType::kBool; r.m_data = v; return r; }
Value Value::string(std::string v) { Value r; r.m_type = ValueType::kString; r.m_data = std::move(v); return r; }

Value Value::array(ValueType element_type, std::vector<Value> items) {
  Value r;
  r.m_type = ValueType::kArray;
  auto arr = std::make_shared<Array>();
  arr->element_type = element_type;
  arr->items = std::move(items);
  r.m_data = std::shared_ptr<const Array>(std::move(arr));
  return r;
}

bool Value::isInteger() const {
  return std::holds_alternative<uint64_t>(m_data) || std::holds_alternative<int64_t>(m_data);
}

bool Value::isFloat() const { return m_type == ValueType::kFloat32 || m_type == ValueType::kFloat64; }

Result<uint64_t> Value::toUint() const {
  if (const auto* u = std::get_if<uint64_t>(&m_data)) return *u;
  if (const auto* i = std::get_if<int64_t>(&m_data)) {
    if (*i < 0) return Status(Code::kGgufWrongValueType, "negative value " + std::to_string(*i) + " where an unsigned one is needed");
    return static_cast<uint64_t>(*i);
  }
  return wrongType(m_type, "an integer");
}

Result<int64_t> Value::toInt() const {
  if (const auto* i = std::get_if<int64_t>(&m_data)) return *i;
  if (const auto* u = std::get_if<uint64_t>(&m_data)) {
    if (*u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return Status(Code::kGgufWrongValueType, "value " + std::to_string(*u) + " does not fit in int64");
    return static_cast<int64_t>(*u);
  }
  return wrongType(m_type, "an integer");
}

Result<double> Value::toDouble() const {
  if (const auto* d = std::get_if<double>(&m_data)) return *d;
  if (const auto* u = std::get_if<uint64_t>(&m_data)) return static_cast<double>(*u);
  if (const auto* i = std::get_if<int64_t>(&m_data)) return static_cast<double>(*i);
  return wrongType(m_type, "a number");
}

Result<bool> Value::toBool() const {
  if (const auto* b = std::get_if<bool>(&m_data)) return *b;
  return wrongType(m_type, "a bool");
}

const std::string* Value::asString() const { return std::get_if<std::string>(&m_data); }

const Value::Array* Value::asArray() const {
  const auto* p = std::get_if<std::shared_ptr<const Array>>(&m_data);
  return p ? p->get() : nullptr;
}

std::string Value::describe(size_t max_items) const {
  if (const auto* u = std::get_if<uint64_t>(&m_data)) return std::to_string(*u);
  if (const auto* i = std::get_if<int64_t>(&m_data)) return std::to_string(*i);
  if (const auto* b = std::get_if<bool>(&m_data)) return *b ? "true" : "false";
  if (const auto* d = std::get_if<double>(&m_data)) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.9g", *d);
    return buf;
  }
  if (const auto* s = std::get_if<std::string>(&m_data)) return quoted(*s, 80);
  const Array* arr = asArray();
  if (arr == nullptr) return "?";
  if (arr->items.size() > max_items) {
    const std::string elem(valueTypeName(arr->element_type));
    std::string summary = "[";  // appended piece by piece: "[" + std::string&& trips GCC 12's -Wrestrict (bug 105329)
    summary += std::to_string(arr->items.size());
    summary += ' ';
    summary += elem;
    if (elem == "string" || elem == "array") summary += 's';
    summary += ']';
    return summary;
  }
  std::string out = "[";
  for (size_t k = 0; k < arr->items.size(); ++k) {
    if (k > 0) out += ", ";
    out += arr->items[k].describe(max_items);
  }
  return out + "]";
}

bool Value::operator==(const Value& other) const {
  if (m_type != other.m_type || m_data.index() != other.m_data.index()) return false;
  if (const auto* d = std::get_if<double>(&m_data)) {
    // Bitwise, so that NaN payloads and -0.0 round-trip as equal to themselves only.
    const double o = std::get<double>(other.m_data);
    return std::memcmp(d, &o, sizeof o) == 0;
  }
  const Array* a = asArray();
  if (a != nullptr) {
    const Array* b = other.asArray();
    return a->element_type == b->element_type && a->items == b->items;
  }
  return m_data == other.m_data;
}

}  // namespace tokenfab::gguf
