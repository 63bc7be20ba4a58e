// The GGUF encoder shared by GgufWriter and GgufStreamWriter (see gguf_encode.h).
#include "gguf/gguf_encode.h"

namespace tokenfab::gguf::detail {

Status putValue(ByteSink& sink, const Value& v) {
  switch (v.type()) {
    case ValueType::kUint8:
      sink.put<uint8_t>(static_cast<uint8_t>(*v.toUint()));
      return {};
    case ValueType::kUint16:
      sink.put<uint16_t>(static_cast<uint16_t>(*v.toUint()));
      return {};
    case ValueType::kUint32:
      sink.put<uint32_t>(static_cast<uint32_t>(*v.toUint()));
      return {};
    case ValueType::kUint64:
      sink.put<uint64_t>(*v.toUint());
      return {};
    case ValueType::kInt8:
      sink.put<int8_t>(static_cast<int8_t>(*v.toInt()));
      return {};
    case ValueType::kInt16:
      sink.put<int16_t>(static_cast<int16_t>(*v.toInt()));
      return {};
    case ValueType::kInt32:
      sink.put<int32_t>(static_cast<int32_t>(*v.toInt()));
      return {};
    case ValueType::kInt64:
      sink.put<int64_t>(*v.toInt());
      return {};
    case ValueType::kFloat32:
      sink.put<float>(static_cast<float>(*v.toDouble()));
      return {};
    case ValueType::kFloat64:
      sink.put<double>(*v.toDouble());
      return {};
    case ValueType::kBool:
      sink.put<uint8_t>(*v.toBool() ? 1 : 0);
      return {};
    case ValueType::kString:
      sink.putString(*v.asString());
      return {};
    case ValueType::kArray: {
      const Value::Array* arr = v.asArray();
      sink.put<uint32_t>(static_cast<uint32_t>(arr->element_type));
      sink.put<uint64_t>(arr->items.size());
      for (const Value& item : arr->items) {
        if (item.type() != arr->element_type)
          return Status(Code::kInvalidArgument, "array of " + std::string(valueTypeName(arr->element_type)) +
                                                    " holds a " + std::string(valueTypeName(item.type())));
        TF_RETURN_IF_ERROR(putValue(sink, item));
      }
      return {};
    }
  }
  return Status(Code::kInvalidArgument, "value has an unknown type");
}

void setKey(KeyValues& kv, std::string key, Value value) {
  for (auto& [k, v] : kv) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  kv.emplace_back(std::move(key), std::move(value));
}

Result<uint64_t> tensorBytes(const std::string& name, TensorType type, std::span<const uint64_t> ne) {
  if (name.empty()) return Status(Code::kInvalidArgument, "tensor name is empty");
  const TypeTraits* traits = typeTraits(type);
  if (traits == nullptr) return Status(Code::kInvalidArgument, "tensor '" + name + "' has an unknown type");
  if (ne.empty() || ne.size() > 4)
    return Status(Code::kInvalidArgument, "tensor '" + name + "' must have 1 to 4 dimensions");
  uint64_t n = 1;
  for (uint64_t d : ne) {
    if (d == 0 || __builtin_mul_overflow(n, d, &n))
      return Status(Code::kInvalidArgument, "tensor '" + name + "' has a zero or overflowing dimension");
  }
  if (ne[0] % traits->block_size != 0)
    return Status(Code::kInvalidArgument,
                  "tensor '" + name + "' row length is not a multiple of the block size");
  return n / traits->block_size * traits->type_size;
}

Status encodeHeader(ByteSink& sink, uint32_t version, uint64_t alignment, const KeyValues& kv,
                    std::span<const TensorPlan> tensors) {
  if (version != 2 && version != 3)
    return Status(Code::kInvalidArgument, "can only write GGUF v2 or v3, not v" + std::to_string(version));
  if (alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment > UINT32_MAX)
    return Status(Code::kInvalidArgument,
                  "alignment " + std::to_string(alignment) + " is not a u32 power of two");
  bool has_alignment_key = false;
  for (const auto& entry : kv) has_alignment_key |= entry.first == "general.alignment";
  const bool add_alignment_key = alignment != 32 && !has_alignment_key;

  for (char c : {'G', 'G', 'U', 'F'}) sink.put<uint8_t>(static_cast<uint8_t>(c));
  sink.put<uint32_t>(version);
  sink.put<uint64_t>(tensors.size());
  sink.put<uint64_t>(kv.size() + (add_alignment_key ? 1 : 0));
  for (const auto& [key, value] : kv) {
    sink.putString(key);
    sink.put<uint32_t>(static_cast<uint32_t>(value.type()));
    TF_RETURN_IF_ERROR(putValue(sink, value).withContext("key '" + key + "'"));
  }
  if (add_alignment_key) {
    sink.putString("general.alignment");
    sink.put<uint32_t>(static_cast<uint32_t>(ValueType::kUint32));
    sink.put<uint32_t>(static_cast<uint32_t>(alignment));
  }
  uint64_t offset = 0;
  for (const TensorPlan& t : tensors) {
    sink.putString(t.name);
    sink.put<uint32_t>(static_cast<uint32_t>(t.ne.size()));
    for (uint64_t d : t.ne) sink.put<uint64_t>(d);
    sink.put<uint32_t>(static_cast<uint32_t>(t.type));
    sink.put<uint64_t>(offset);
    offset += padded(t.n_bytes, alignment);
  }
  sink.padTo(alignment);
  return Status::ok();
}

}  // namespace tokenfab::gguf::detail
