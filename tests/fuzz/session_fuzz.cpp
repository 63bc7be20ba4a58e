// libFuzzer target for session files (app/gui/conversation.cpp, which needs Qt only for the
// types it shares with the window). Any input must give kSessionCorrupt or kSessionVersion,
// never a crash, a hang or an exception; a session that loads must serialise to a file that
// loads to the same serialisation.
#include <cstdint>
#include <string_view>

#include "conversation.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using tokenfab::Code;
  using tokenfab::gui::Conversation;
  auto conv = Conversation::fromJson(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!conv.isOk()) {
    check(conv.status().code() == Code::kSessionCorrupt || conv.status().code() == Code::kSessionVersion);
    return 0;
  }
  const std::string text = conv->toJson();
  auto again = Conversation::fromJson(text);
  check(again.isOk());
  check(again->toJson() == text);
  check(again->activePath() == conv->activePath());
  return 0;
}
