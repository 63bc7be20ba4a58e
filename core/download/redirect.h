// Which redirects a download follows, and which hops count as the hub's own answers.
// Rule: never downgrade. A chain that started on https stays on https (a redirect to http would
// let anyone on the path swap the bytes, and with them the checksum a CDN hop might announce);
// a chain on plain http (a loopback test hub, a local mirror) may go to http or https. Only
// http and https are followed at all.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "tokenfab/status.h"

namespace tokenfab::download {

// Scheme (lower case), host and port of an absolute URL; nullopt when it does not parse.
struct Origin {
  std::string scheme;
  std::string host;
  std::string port;  // explicit or the scheme's default
  bool operator==(const Origin&) const = default;
};
std::optional<Origin> urlOrigin(std::string_view url);

// ok when a hop from `from` to `to` may be followed; kNetworkError naming both URLs otherwise.
Status checkRedirect(std::string_view from, std::string_view to);

// True when both URLs parse and share scheme, host and port.
bool sameOrigin(std::string_view a, std::string_view b);

}  // namespace tokenfab::download
