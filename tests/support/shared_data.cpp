#include "shared_data.h"

#include <unistd.h>

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

TestDir::TestDir(const std::string& prefix) {
  const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  m_path = std::filesystem::temp_directory_path() / (prefix + "_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(m_path);
  std::filesystem::create_directories(m_path);
}

TestDir::~TestDir() {
  std::error_code ec;
  std::filesystem::remove_all(m_path, ec);
}

}  // namespace tokenfab::test
