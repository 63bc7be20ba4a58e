// libFuzzer target for trace files (docs/trace.schema.json) and the byte-string encoding under
// them (json_text.h). Any input must give kSessionCorrupt or kSessionVersion, never a crash, a
// hang or an exception; a trace that reads must survive writer -> reader unchanged; any bytes
// must survive textToJson -> dump -> parse -> textFromJson.
#include <cstdint>
#include <string_view>

#include "tokenfab/json_text.h"
#include "tokenfab/trace.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  const std::string_view bytes = text.substr(0, 512);
  const std::string dumped = tokenfab::textToJson<nlohmann::json>(bytes).dump();
  auto parsed = tokenfab::parseJsonBounded<nlohmann::json>(dumped, "text", tokenfab::Code::kSessionCorrupt);
  check(parsed.isOk());
  check(tokenfab::textFromJson(*parsed) == std::optional<std::string>(std::string(bytes)));

  auto trace = tokenfab::traceFromJson(text);
  if (!trace.isOk()) {
    const tokenfab::Code code = trace.status().code();
    check(code == tokenfab::Code::kSessionCorrupt || code == tokenfab::Code::kSessionVersion);
    return 0;
  }
  auto again = tokenfab::traceFromJson(tokenfab::traceToJson(*trace));
  check(again.isOk());
  check(*again == *trace);
  return 0;
}
