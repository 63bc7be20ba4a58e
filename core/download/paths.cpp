// Where downloads go, which hub they come from, and which requests are acceptable.
#include <cstdlib>

#include "tokenfab/download.h"

namespace tokenfab::download {
namespace {

constexpr std::string_view kDefaultEndpoint = "https://huggingface.co";

std::string envOr(const char* name, std::string_view fallback = {}) {
  const char* value = std::getenv(name);
  return (value && *value) ? std::string(value) : std::string(fallback);
}

// One path component of a repo id: letters, digits, '-', '_', '.', not "." or "..".
bool validRepoPart(std::string_view part) {
  if (part.empty() || part == "." || part == ".." || part.size() > 96) return false;
  for (char c : part) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string hubEndpoint(std::string_view requested) {
  std::string endpoint =
      requested.empty() ? envOr("TOKENFAB_HF_ENDPOINT", kDefaultEndpoint) : std::string(requested);
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  return endpoint;
}

std::filesystem::path modelsDir() {
  if (std::string dir = envOr("TOKENFAB_MODELS_DIR"); !dir.empty()) return dir;
#if defined(_WIN32)
  if (std::string local = envOr("LOCALAPPDATA"); !local.empty()) {
    return std::filesystem::path(local) / "tokenfab" / "models";
  }
  return std::filesystem::path(envOr("USERPROFILE", ".")) / "AppData" / "Local" / "tokenfab" / "models";
#elif defined(__APPLE__)
  return std::filesystem::path(envOr("HOME", ".")) / "Library" / "Application Support" / "tokenfab" /
         "models";
#else
  if (std::string xdg = envOr("XDG_DATA_HOME"); !xdg.empty() && xdg.front() == '/') {
    return std::filesystem::path(xdg) / "tokenfab" / "models";
  }
  return std::filesystem::path(envOr("HOME", ".")) / ".local" / "share" / "tokenfab" / "models";
#endif
}

Status validateRequest(const PullRequest& request) {
  const size_t slash = request.repo.find('/');
  if (slash == std::string::npos || request.repo.find('/', slash + 1) != std::string::npos ||
      !validRepoPart(std::string_view(request.repo).substr(0, slash)) ||
      !validRepoPart(std::string_view(request.repo).substr(slash + 1))) {
    return Status(
        Code::kInvalidArgument,
        "repository must look like owner/name (letters, digits, '-', '_', '.'), got '" + request.repo + "'");
  }
  if (request.file.empty() || request.file.size() > 512) {
    return Status(Code::kInvalidArgument, "file name is empty or too long");
  }
  if (request.file.front() == '/' || request.file.back() == '/') {
    return Status(Code::kInvalidArgument, "file name must be a relative path: '" + request.file + "'");
  }
  std::string_view rest = request.file;
  while (!rest.empty()) {
    const size_t end = rest.find('/');
    const std::string_view part = rest.substr(0, end);
    if (part.empty() || part == "." || part == "..") {
      return Status(Code::kInvalidArgument,
                    "file name may not contain '.', '..' or '//': '" + request.file + "'");
    }
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
  }
  for (unsigned char c : request.file) {
    if (c < 0x20 || c == 0x7f || c == '\\' || c == '?' || c == '#' || c == '%' || c == ' ') {
      return Status(Code::kInvalidArgument,
                    "file name contains a character that is not allowed: '" + request.file + "'");
    }
  }
  if (request.revision.empty() || request.revision.find_first_of("/\\?#% ") != std::string::npos ||
      request.revision == "." || request.revision == "..") {
    return Status(Code::kInvalidArgument, "bad revision '" + request.revision + "'");
  }
  for (unsigned char c : request.revision) {
    if (c < 0x20 || c == 0x7f) return Status(Code::kInvalidArgument, "bad revision");
  }
  return Status::ok();
}

std::string resolveUrl(const PullRequest& request) {
  return hubEndpoint(request.endpoint) + "/" + request.repo + "/resolve/" + request.revision + "/" +
         request.file;
}

std::filesystem::path destinationPath(const PullRequest& request) {
  const std::filesystem::path base = request.dest_dir.empty() ? modelsDir() : request.dest_dir;
  // The revision is one path component (validateRequest refuses '/', '.' and '..').
  return base / std::filesystem::path(request.repo) / request.revision / std::filesystem::path(request.file);
}

}  // namespace tokenfab::download
