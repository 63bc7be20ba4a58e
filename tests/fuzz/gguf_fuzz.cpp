// libFuzzer target for the GGUF reader. Any input must give a Status or a file whose tensor data
// lies inside the input; a file that parses must survive writer -> reader with identical contents.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "tokenfab/gguf.h"
#include "tokenfab/support.h"

namespace {

using tokenfab::gguf::GgufFile;
using tokenfab::gguf::GgufWriter;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

void roundTrip(const GgufFile& f) {
  GgufWriter w(f.version());
  w.setAlignment(f.alignment());
  for (const auto& kv : f.metadata()) w.set(kv.key, kv.value);
  for (const auto& t : f.tensors()) {
    auto data = f.tensorData(t);
    std::vector<uint64_t> ne(t.ne.begin(), t.ne.begin() + t.n_dims);
    check(w.addTensor(t.name, t.type, ne, std::vector<uint8_t>(data.begin(), data.end())).isOk());
  }
  auto bytes = w.toBytes();
  check(bytes.isOk());
  auto again = GgufFile::parse(*bytes);
  check(again.isOk());
  check(again->metadata().size() == f.metadata().size());
  for (size_t k = 0; k < f.metadata().size(); ++k) {
    check(again->metadata()[k].key == f.metadata()[k].key);
    check(again->metadata()[k].value == f.metadata()[k].value);
  }
  check(again->tensors().size() == f.tensors().size());
  for (size_t k = 0; k < f.tensors().size(); ++k) {
    const auto& a = f.tensors()[k];
    const auto& b = again->tensors()[k];
    check(a.name == b.name && a.type == b.type && a.ne == b.ne && a.n_bytes == b.n_bytes);
    auto da = f.tensorData(a);
    auto db = again->tensorData(b);
    check(std::equal(da.begin(), da.end(), db.begin(), db.end()));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tokenfab::gguf::ReadLimits limits;
  limits.max_array_elements = 1u << 16;  // keep memory per input small
  limits.max_metadata_elements = 1u << 18;
  limits.max_metadata_bytes = 64u << 20;
  auto f = GgufFile::parse(std::span<const uint8_t>(data, size), limits);
  if (!f.isOk()) {
    check(f.status().offset().has_value() && *f.status().offset() <= size);
    return 0;
  }
  uint64_t sum = 0;
  for (const auto& t : f->tensors()) {
    check(f->dataOffset() + t.offset + t.n_bytes <= size);
    for (uint8_t b : f->tensorData(t)) sum += b;
  }
  for (const auto& kv : f->metadata()) sum += kv.value.describe().size();
  (void)tokenfab::runnableProblems(*f);
  roundTrip(*f);
  return sum == 0xFFFFFFFFFFFFFFFFull ? 1 : 0;
}
