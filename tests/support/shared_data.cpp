#include "shared_data.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace tokenfab::test {

std::filesystem::path sharedDir() {
  if (const char* env = std::getenv("TOKENFAB_SHARED_DIR"); env && *env) return env;
  return TOKENFAB_DEFAULT_SHARED_DIR;
}

bool sharedRequired() {
  const char* env = std::getenv("TOKENFAB_REQUIRE_SHARED");
  return env && std::string(env) == "1";
}

std::filesystem::path sourceDir() { return TOKENFAB_SOURCE_DIR; }

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace tokenfab::test
