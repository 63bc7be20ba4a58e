// The fixture the pull() tests share: a local hub on 127.0.0.1 serving the shared
// stories260K.gguf, and a fresh destination folder per test. The oracle for a good download is
// the fixture's bytes and the sha256 published in ../shared/models/MANIFEST.md.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "download/part_file.h"
#include "shared_data.h"
#include "test_hub_server.h"
#include "tokenfab/download.h"

namespace tokenfab::download {

namespace fs = std::filesystem;
using test::TestHubServer;

constexpr char kRepo[] = "test-owner/stories-GGUF";
constexpr char kFile[] = "stories260K.gguf";
constexpr char kManifestSha[] = "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d";

class PullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name :
         {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "HF_TOKEN"}) {
      ::unsetenv(name);
    }
    TF_SHARED_FILE(fixture, "models/stories260K.gguf");
    m_fixture = test::readFile(fixture);
    ASSERT_EQ(m_fixture.size(), 1185376u);
    ASSERT_TRUE(m_server.started());
    m_server.addFile(kRepo, "main", kFile, m_fixture, kManifestSha);
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    m_dir = fs::temp_directory_path() / ("tokenfab-dl-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(m_dir);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(m_dir, ec);
  }

  PullRequest request(const std::string& file = kFile) const {
    PullRequest r;
    r.repo = kRepo;
    r.file = file;
    r.endpoint = m_server.endpoint();
    r.dest_dir = m_dir;
    return r;
  }
  fs::path finalPath(const std::string& revision = "main") const { return m_dir / kRepo / revision / kFile; }
  fs::path partPath() const { return m_dir / kRepo / "main" / (std::string(kFile) + ".part"); }
  // What a previous run that began the .part recorded: the validator the server sends for the
  // file as it is now (this server's ETag on the hub's own answer is the quoted sha256).
  void recordValidator() const {
    ASSERT_TRUE(writeValidator(partPath(), {Validator::Kind::kEtag, std::string("\"") + kManifestSha + "\""}).isOk());
  }
  // The fixture with one byte changed at `offset`: another version of the same file.
  std::string changedFixture(size_t offset) const {
    std::string v2 = m_fixture;
    v2[offset] = char(v2[offset] ^ 0x01);
    return v2;
  }
  static std::string sha256Of(const std::string& bytes) {
    Sha256 hasher;
    hasher.update(bytes);
    return Sha256::toHex(hasher.finish());
  }
  uint64_t fileSize(const fs::path& p) const {
    std::error_code ec;
    const uint64_t n = fs::file_size(p, ec);
    return ec ? 0 : n;
  }

  TestHubServer m_server;
  std::string m_fixture;
  fs::path m_dir;
};

}  // namespace tokenfab::download
