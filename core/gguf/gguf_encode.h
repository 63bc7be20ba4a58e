// Internal: the one GGUF encoder behind GgufWriter (whole file in memory) and GgufStreamWriter
// (tensor data streamed to disk): values, key/value list, tensor checks and the header layout.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenfab/gguf.h"

namespace tokenfab::gguf::detail {

using KeyValues = std::vector<std::pair<std::string, Value>>;

// Little-endian bytes appended to a growing buffer.
class ByteSink {
 public:
  template <typename T>
  void put(T v) {
    const size_t at = m_out.size();
    m_out.resize(at + sizeof(T));
    std::memcpy(m_out.data() + at, &v, sizeof(T));
  }
  void putString(std::string_view s) {
    put<uint64_t>(s.size());
    m_out.insert(m_out.end(), s.begin(), s.end());
  }
  void putBytes(std::span<const uint8_t> b) { m_out.insert(m_out.end(), b.begin(), b.end()); }
  void padTo(uint64_t alignment) {
    const size_t rem = m_out.size() % alignment;
    if (rem != 0) m_out.resize(m_out.size() + (alignment - rem), 0);
  }
  std::vector<uint8_t> take() { return std::move(m_out); }

 private:
  std::vector<uint8_t> m_out;
};

// One tensor of the info table; views into the writer's own storage.
struct TensorPlan {
  std::string_view name;
  TensorType type;
  std::span<const uint64_t> ne;
  uint64_t n_bytes;
};

// `n` rounded up to a multiple of `alignment`.
inline uint64_t padded(uint64_t n, uint64_t alignment) { return (n + alignment - 1) / alignment * alignment; }

// The value's payload (no type tag); arrays whose items differ from the element type fail.
Status putValue(ByteSink& sink, const Value& v);

// Replaces the value of `key`, or appends it (insertion order is kept).
void setKey(KeyValues& kv, std::string key, Value value);

// Checks a tensor before it is added (a name, a known type, 1 to 4 non-zero dimensions without
// overflow, whole blocks per row) and returns its data size in bytes. Duplicate names are the
// caller's to check.
Result<uint64_t> tensorBytes(const std::string& name, TensorType type, std::span<const uint64_t> ne);

// Magic, version, counts, key/values (general.alignment added when `alignment` != 32 and not
// set), the tensor info table (data offsets: each tensor padded to `alignment`) and the padding
// up to the data section. The tensor data follows in the same order, each padded likewise.
Status encodeHeader(ByteSink& sink, uint32_t version, uint64_t alignment, const KeyValues& kv,
                    std::span<const TensorPlan> tensors);

}  // namespace tokenfab::gguf::detail
