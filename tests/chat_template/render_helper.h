// Small helpers shared by the chat-template tests.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "tokenfab/chat_template.h"

namespace tokenfab::test {

// The references pin strftime_now() to 2026-07-26.
inline std::chrono::system_clock::time_point pinnedNow() {
  return std::chrono::sys_days{std::chrono::year{2026} / 7 / 26} + std::chrono::hours{12};
}

// Renders `tmpl` with `vars` as the template's variables (and an empty `messages`).
inline Result<std::string> renderWith(const std::string& tmpl,
                                      const nlohmann::ordered_json& vars = nlohmann::ordered_json::object(),
                                      TemplateLimits limits = {}) {
  RenderOptions opts;
  opts.extra_context = vars;
  opts.now = pinnedNow();
  opts.limits = limits;
  return renderChatTemplate(tmpl, nlohmann::ordered_json::array(), opts);
}

}  // namespace tokenfab::test
