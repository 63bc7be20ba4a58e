// URL origins through libcurl's URL parser (the one that will fetch them), and the redirect rule.
#include "download/redirect.h"

#include <curl/curl.h>

namespace tokenfab::download {
namespace {

std::optional<std::string> urlPart(CURLU* url, CURLUPart part, unsigned flags = 0) {
  char* value = nullptr;
  if (curl_url_get(url, part, &value, flags) != CURLUE_OK || value == nullptr) return std::nullopt;
  std::string out(value);
  curl_free(value);
  return out;
}

}  // namespace

std::optional<Origin> urlOrigin(std::string_view text) {
  CURLU* url = curl_url();
  if (url == nullptr) return std::nullopt;
  std::optional<Origin> origin;
  // No CURLU_GUESS_SCHEME: a redirect target must be absolute (curl resolves relative ones).
  if (curl_url_set(url, CURLUPART_URL, std::string(text).c_str(), CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK) {
    auto scheme = urlPart(url, CURLUPART_SCHEME);
    auto host = urlPart(url, CURLUPART_HOST);
    auto port = urlPart(url, CURLUPART_PORT, CURLU_DEFAULT_PORT);
    if (scheme && host && port) {
      for (char& c : *scheme) c = char(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
      for (char& c : *host) c = char(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
      origin = Origin{*scheme, *host, *port};
    }
  }
  curl_url_cleanup(url);
  return origin;
}

Status checkRedirect(std::string_view from, std::string_view to) {
  const std::optional<Origin> a = urlOrigin(from);
  const std::optional<Origin> b = urlOrigin(to);
  const std::string hop = " (redirect from " + std::string(from) + " to " + std::string(to) + ")";
  if (!a || !b) return Status(Code::kNetworkError, "refusing a redirect to a URL that does not parse" + hop);
  if (b->scheme != "https" && b->scheme != "http") {
    return Status(Code::kNetworkError, "refusing a redirect to a " + b->scheme + " URL" + hop);
  }
  if (a->scheme == "https" && b->scheme != "https") {
    return Status(Code::kNetworkError, "refusing a redirect from https to " + b->scheme + " (a downgrade)" + hop);
  }
  return Status::ok();
}

bool sameOrigin(std::string_view a, std::string_view b) {
  const std::optional<Origin> x = urlOrigin(a);
  const std::optional<Origin> y = urlOrigin(b);
  return x && y && *x == *y;
}

}  // namespace tokenfab::download
