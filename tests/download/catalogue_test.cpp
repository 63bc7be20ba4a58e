// Catalogue entries, request validation, paths and hub header parsing (no network).
#include <gtest/gtest.h>

#include <cstdlib>
#include <set>

#include "download/http_headers.h"
#include "tokenfab/download.h"

namespace tokenfab::download {
namespace {

// Sets an environment variable for the scope, restoring the old value afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : m_name(name) {
    if (const char* old = std::getenv(name)) m_old = old;
    if (value)
      ::setenv(name, value, 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (m_old)
      ::setenv(m_name, m_old->c_str(), 1);
    else
      ::unsetenv(m_name);
  }

 private:
  const char* m_name;
  std::optional<std::string> m_old;
};

TEST(Catalogue, EntriesAreWellFormedAndUnique) {
  std::set<std::string_view> names;
  ASSERT_GE(catalogue().size(), 10u);
  for (const CatalogueEntry& entry : catalogue()) {
    EXPECT_TRUE(names.insert(entry.name).second) << "duplicate " << entry.name;
    EXPECT_NE(entry.name.find(':'), std::string_view::npos) << entry.name;
    EXPECT_TRUE(entry.file.ends_with(".gguf")) << entry.file;
    EXPECT_GT(entry.approx_bytes, 100'000'000u) << entry.name;
    EXPECT_FALSE(entry.license.empty());
    PullRequest request{std::string(entry.repo), std::string(entry.file)};
    EXPECT_TRUE(validateRequest(request).isOk()) << entry.name;
    EXPECT_EQ(findCatalogueEntry(entry.name), &entry);
  }
}

TEST(Catalogue, LookupIsCaseInsensitive) {
  const CatalogueEntry* entry = findCatalogueEntry("Qwen2.5-0.5B-Instruct:Q4_K_M");
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry->repo, "Qwen/Qwen2.5-0.5B-Instruct-GGUF");
  EXPECT_EQ(findCatalogueEntry("no-such-model:q4"), nullptr);
}

TEST(PullRequestCheck, UrlLayout) {
  PullRequest request{"owner/repo", "dir/model-Q4_K_M.gguf", "v1.0", "http://127.0.0.1:9/"};
  EXPECT_EQ(resolveUrl(request), "http://127.0.0.1:9/owner/repo/resolve/v1.0/dir/model-Q4_K_M.gguf");
  ScopedEnv endpoint("TOKENFAB_HF_ENDPOINT", nullptr);
  EXPECT_EQ(hubEndpoint(), "https://huggingface.co");
  ScopedEnv endpoint2("TOKENFAB_HF_ENDPOINT", "http://mirror.example/");
  EXPECT_EQ(hubEndpoint(), "http://mirror.example");
}

TEST(PullRequestCheck, RejectsBadNames) {
  const PullRequest bad[] = {
      {"owner", "a.gguf"},
      {"a/b/c", "a.gguf"},
      {"../x", "a.gguf"},
      {"owner/..", "a.gguf"},
      {"owner/repo", ""},
      {"owner/repo", "../a.gguf"},
      {"owner/repo", "/abs.gguf"},
      {"owner/repo", "a/../../b"},
      {"owner/repo", "a\\b.gguf"},
      {"owner/repo", "a\nb.gguf"},
      {"own er/repo", "a.gguf"},
      {"owner/repo", "a.gguf", ""},
      {"owner/repo", "a.gguf", "../main"},
  };
  for (const PullRequest& request : bad) {
    const Status status = validateRequest(request);
    EXPECT_EQ(status.code(), Code::kInvalidArgument)
        << "repo '" << request.repo << "' file '" << request.file << "' rev '" << request.revision << "'";
  }
  EXPECT_TRUE(validateRequest({"Qwen/Qwen2.5-0.5B-Instruct-GGUF", "sub/dir/x.gguf"}).isOk());
}

TEST(ModelsDir, EnvironmentOverrides) {
  ScopedEnv models("TOKENFAB_MODELS_DIR", "/tmp/tf-models");
  EXPECT_EQ(modelsDir(), std::filesystem::path("/tmp/tf-models"));
  ScopedEnv models_unset("TOKENFAB_MODELS_DIR", nullptr);
  ScopedEnv xdg("XDG_DATA_HOME", "/tmp/xdg-data");
  EXPECT_EQ(modelsDir(), std::filesystem::path("/tmp/xdg-data/tokenfab/models"));
  ScopedEnv xdg_unset("XDG_DATA_HOME", nullptr);
  ScopedEnv home("HOME", "/home/someone");
  EXPECT_EQ(modelsDir(), std::filesystem::path("/home/someone/.local/share/tokenfab/models"));
  PullRequest request{"o/r", "f.gguf"};
  request.dest_dir = "/data";
  EXPECT_EQ(destinationPath(request), std::filesystem::path("/data/o/r/main/f.gguf"));
  request.revision = "v2";
  EXPECT_EQ(destinationPath(request), std::filesystem::path("/data/o/r/v2/f.gguf"));
}

TEST(HubHeaders, LinkedFactsComeFromTheFirstResponse) {
  const std::string sha(64, 'a');
  HubHeaders headers;
  for (const char* line : {"HTTP/1.1 302 Found\r\n", "Location: https://cdn/x\r\n"}) {
    headers.feedLine(line);
  }
  headers.feedLine("X-Linked-Size: 1234\r\n");
  headers.feedLine("X-Linked-ETag: \"" + sha + "\"\r\n");
  headers.feedLine("\r\n");
  headers.feedLine("HTTP/2 200\r\n");
  headers.feedLine("etag: \"" + std::string(64, 'b') + "\"\r\n");
  headers.feedLine("content-length: 99\r\n");
  EXPECT_EQ(headers.status(), 200);
  EXPECT_EQ(headers.totalSize(0), 1234u);
  EXPECT_EQ(headers.sha256(), sha);
}

TEST(HubHeaders, RangeAndPlainEtag) {
  HubHeaders headers;
  headers.feedLine("HTTP/1.1 206 Partial Content\r\n");
  headers.feedLine("ETag: W/\"" + std::string(64, 'C') + "\"\r\n");
  headers.feedLine("Content-Length: 50\r\n");
  headers.feedLine("Content-Range: bytes 50-99/100\r\n");
  EXPECT_EQ(headers.status(), 206);
  EXPECT_EQ(headers.totalSize(50), 100u);
  EXPECT_EQ(headers.sha256(), std::string(64, 'c'));

  HubHeaders git_blob;  // a non-LFS file: the ETag is a 40-digit git hash, not a sha256
  git_blob.feedLine("HTTP/1.1 200 OK\r\n");
  git_blob.feedLine("ETag: \"" + std::string(40, 'd') + "\"\r\n");
  git_blob.feedLine("Content-Length: 7\r\n");
  EXPECT_EQ(git_blob.sha256(), "");
  EXPECT_EQ(git_blob.totalSize(0), 7u);
}

// Size and checksum only from the hub's own hops: a hop on another host may not set them.
TEST(HubHeaders, UntrustedHopsCannotSetSizeOrChecksum) {
  HubHeaders headers;
  headers.beginHop(true);
  headers.feedLine("HTTP/1.1 302 Found\r\n");  // the hub announces nothing
  headers.feedLine("Location: https://cdn.example/x\r\n");
  headers.beginHop(false);
  headers.feedLine("HTTP/1.1 200 OK\r\n");
  headers.feedLine("X-Linked-Size: 5\r\n");
  headers.feedLine("X-Linked-Etag: \"" + std::string(64, 'e') + "\"\r\n");
  headers.feedLine("Content-Length: 99\r\n");
  EXPECT_EQ(headers.sha256(), "");
  EXPECT_EQ(headers.totalSize(0), 99u) << "the body's own length, not the forged size";
}

TEST(HubHeaders, ValidatorAndRangeStartOfTheLatestResponse) {
  HubHeaders headers;
  headers.feedLine("HTTP/1.1 302 Found\r\n");
  headers.feedLine("ETag: \"hub\"\r\n");
  headers.feedLine("HTTP/1.1 206 Partial Content\r\n");
  headers.feedLine("ETag: \"cdn-1\"\r\n");
  headers.feedLine("Last-Modified: Mon, 01 Jan 2024 00:00:01 GMT\r\n");
  headers.feedLine("Content-Range: bytes 300000-1185375/1185376\r\n");
  EXPECT_EQ(headers.validator(), (Validator{Validator::Kind::kEtag, "\"cdn-1\""}));
  EXPECT_EQ(headers.rangeStart(), std::optional<uint64_t>(300000));

  HubHeaders weak;  // a weak ETag cannot guard a range: Last-Modified is used instead
  weak.feedLine("HTTP/1.1 200 OK\r\n");
  weak.feedLine("ETag: W/\"x\"\r\n");
  weak.feedLine("Last-Modified: Tue, 02 Jan 2024 00:00:00 GMT\r\n");
  EXPECT_EQ(weak.validator(), (Validator{Validator::Kind::kLastModified, "Tue, 02 Jan 2024 00:00:00 GMT"}));
  EXPECT_EQ(weak.rangeStart(), std::nullopt);

  HubHeaders control;  // control characters would be sent back in If-Range: not a validator
  control.feedLine("HTTP/1.1 200 OK\r\n");
  control.feedLine(std::string("ETag: \"a\rb\"\r\n"));
  EXPECT_EQ(control.validator().kind, Validator::Kind::kNone);

  HubHeaders none;
  none.feedLine("HTTP/1.1 206 Partial Content\r\n");
  none.feedLine("Content-Range: bytes */100\r\n");
  EXPECT_EQ(none.validator().kind, Validator::Kind::kNone);
  EXPECT_EQ(none.rangeStart(), std::nullopt);
}

}  // namespace
}  // namespace tokenfab::download
