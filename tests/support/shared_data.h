// Where tests find ../shared (models and independent references), and what they do when it is
// missing: skip with a message naming the path, or fail when TOKENFAB_REQUIRE_SHARED=1 (CI).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

namespace tokenfab::test {

// $TOKENFAB_SHARED_DIR if set, else the CMake cache value TOKENFAB_SHARED_DIR (../shared).
std::filesystem::path sharedDir();
// True when TOKENFAB_REQUIRE_SHARED=1: missing shared data is a failure, not a skip.
bool sharedRequired();
// The project's source tree (for resources/ and test data committed with the tests).
std::filesystem::path sourceDir();
// Reads a whole file; empty string if unreadable.
std::string readFile(const std::filesystem::path& path);

// A fresh folder for the running test (temp dir / <prefix>_<test name>_<pid>), removed with
// everything in it when the object goes.
class TestDir {
 public:
  explicit TestDir(const std::string& prefix);
  ~TestDir();
  TestDir(const TestDir&) = delete;
  TestDir& operator=(const TestDir&) = delete;
  const std::filesystem::path& path() const { return m_path; }
  std::filesystem::path operator/(const std::filesystem::path& name) const { return m_path / name; }

 private:
  std::filesystem::path m_path;
};

}  // namespace tokenfab::test

// Declares `var` = sharedDir()/relpath; skips (or fails under TOKENFAB_REQUIRE_SHARED=1) the
// current test when it does not exist. Use at the top of a TEST body or a SetUp().
#define TF_SHARED_FILE(var, relpath)                                                            \
  const std::filesystem::path var = ::tokenfab::test::sharedDir() / (relpath);                  \
  do {                                                                                          \
    if (!std::filesystem::exists(var)) {                                                        \
      if (::tokenfab::test::sharedRequired()) {                                                 \
        FAIL() << "shared data missing: " << var.string()                                      \
               << " (TOKENFAB_REQUIRE_SHARED=1; set TOKENFAB_SHARED_DIR)";                       \
      } else {                                                                                  \
        GTEST_SKIP() << "shared data not found: " << var.string()                              \
                     << " (set TOKENFAB_SHARED_DIR to the folder holding models/ and reference/)"; \
      }                                                                                         \
    }                                                                                           \
  } while (0)
