// pull() against hubs and networks that misbehave: a file that changes between two runs, ranges
// from the wrong offset, forged checksums on another host, redirects to other schemes, a full
// disk, a cancel while the .part is re-hashed or while the server says nothing, revisions,
// --sha256 on a file already there. Oracles: the loopback server's real bytes and the shared
// fixture's published sha256.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <chrono>
#include <fstream>
#include <thread>
#include <vector>

#include "download/file_hash.h"
#include "pull_fixture.h"

namespace tokenfab::download {
namespace {

constexpr uint64_t kCut = 300000;
// A byte inside stories260K's tensor data (the metadata ends near byte 7,600), before kCut: a
// version that differs there and nowhere else is still a valid GGUF, and an old prefix spliced
// onto its suffix would be the old file.
constexpr size_t kChangedAt = 200000;

class PullHostile : public PullTest {
 protected:
  // Leaves kCut bytes of the current version in the .part, as an interrupted first run does.
  void interruptAt(TestHubServer::Options options) {
    options.cut_after = kCut;
    m_server.setOptions(options);
    auto first = pull(request());
    ASSERT_FALSE(first.isOk());
    ASSERT_EQ(first.status().code(), Code::kNetworkError) << first.status().toString();
    ASSERT_EQ(fileSize(partPath()), kCut);
  }
  // Replaces the file upstream with another version (one byte differs, before kCut).
  std::string publishNewVersion() {
    std::string v2 = changedFixture(kChangedAt);
    m_server.addFile(kRepo, "main", kFile, v2, sha256Of(v2));
    return v2;
  }
  // Pulls again, uninterrupted, and expects exactly `bytes`.
  void expectPullGives(TestHubServer::Options options, const std::string& bytes) {
    options.cut_after.reset();
    m_server.setOptions(options);
    auto path = pull(request());
    ASSERT_TRUE(path.isOk()) << path.status().toString();
    EXPECT_TRUE(test::readFile(*path) == bytes) << "the download is not the file as it is now";
  }
};

// The reported case: the file changed upstream between two runs. The resume sends If-Range with
// the first answer's validator, the server answers 200 with the whole new file, and the result is
// exactly the new version, with or without a checksum from the hub (before: old prefix + new
// suffix, accepted when there was no checksum, rejected when there was).
TEST_F(PullHostile, FileChangedBetweenRunsStartsOverFromZero) {
  for (const bool checksum : {false, true}) {
    SCOPED_TRACE(checksum ? "hub announces the new sha256" : "no checksum anywhere");
    TearDown();
    m_server.addFile(kRepo, "main", kFile, m_fixture, kManifestSha);
    TestHubServer::Options options;
    options.send_checksum = checksum;
    interruptAt(options);
    const std::string v2 = publishNewVersion();
    const size_t before = m_server.requests().size();
    expectPullGives(options, v2);
    const auto requests = m_server.requests();
    ASSERT_EQ(requests.size(), before + 1) << "If-Range makes the server send the new file at once";
    EXPECT_EQ(requests.back().range, "bytes=300000-");
    EXPECT_FALSE(requests.back().if_range.empty());
  }
}

// A server that ignores If-Range sends a 206 of the new version: its validator differs from the
// one the .part was started with, so nothing is appended and the pull starts over.
TEST_F(PullHostile, PartialAnswerOfAnotherVersionIsNotSpliced) {
  TestHubServer::Options options;
  options.send_checksum = false;
  interruptAt(options);
  const std::string v2 = publishNewVersion();
  options.honour_if_range = false;
  expectPullGives(options, v2);
  const auto requests = m_server.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[1].range, "bytes=300000-");  // answered 206 with another version's ETag
  EXPECT_EQ(requests[2].range, "") << "the restart asks for the whole file";
}

// Last-Modified is the validator when there is no ETag: unchanged, the pull resumes; changed, it
// starts over.
TEST_F(PullHostile, LastModifiedGuardsTheResumeWhenThereIsNoEtag) {
  TestHubServer::Options options;
  options.send_checksum = false;
  options.validator = TestHubServer::Options::Validator::kLastModified;
  interruptAt(options);
  options.cut_after = 100000;  // a second interruption, same version
  m_server.setOptions(options);
  ASSERT_FALSE(pull(request()).isOk());
  auto requests = m_server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].range, "bytes=300000-");
  EXPECT_EQ(requests[1].if_range, "Mon, 01 Jan 2024 00:00:01 GMT");  // the first version's date
  ASSERT_EQ(fileSize(partPath()), kCut + 100000) << "an unchanged file resumes";

  expectPullGives(options, publishNewVersion());
}

// A .part without a validator (a server that sent none, or a .part from an older tokenfab) cannot
// be proven to hold the start of the current file: the pull starts over instead of resuming.
TEST_F(PullHostile, PartWithoutValidatorIsNotResumed) {
  TestHubServer::Options options;
  options.send_checksum = false;
  options.validator = TestHubServer::Options::Validator::kNone;
  interruptAt(options);
  EXPECT_FALSE(fs::exists(validatorPath(partPath())));
  expectPullGives(options, publishNewVersion());
  EXPECT_EQ(m_server.requests().back().range, "");
}

// The reported case: a 206 whose Content-Range does not start at the resume offset. Its bytes are
// never appended; the pull starts over from zero and gets the exact file.
TEST_F(PullHostile, PartialAnswerFromAnotherOffsetIsNotSpliced) {
  for (const bool checksum : {false, true}) {
    SCOPED_TRACE(checksum ? "with the hub's checksum" : "without a checksum");
    TearDown();
    TestHubServer::Options options;
    options.send_checksum = checksum;
    interruptAt(options);
    options.serve_from = 1000;  // "bytes 1000-1185375/1185376" to a request for bytes=300000-
    const size_t before = m_server.requests().size();
    expectPullGives(options, m_fixture);
    const auto requests = m_server.requests();
    ASSERT_EQ(requests.size(), before + 2);
    EXPECT_EQ(requests[before].range, "bytes=300000-");
    EXPECT_EQ(requests[before + 1].range, "");
  }
}

// The reported case: the revision is part of the cache path, so v2 after v1 is another file.
TEST_F(PullHostile, EachRevisionIsItsOwnFile) {
  const std::string v2 = changedFixture(kChangedAt);
  m_server.addFile(kRepo, "v1", kFile, m_fixture, kManifestSha);
  m_server.addFile(kRepo, "v2", kFile, v2, sha256Of(v2));
  PullRequest r1 = request();
  r1.revision = "v1";
  PullRequest r2 = request();
  r2.revision = "v2";
  auto first = pull(r1);
  ASSERT_TRUE(first.isOk()) << first.status().toString();
  auto second = pull(r2);
  ASSERT_TRUE(second.isOk()) << second.status().toString();
  EXPECT_EQ(*first, finalPath("v1"));
  EXPECT_EQ(*second, finalPath("v2"));
  EXPECT_TRUE(test::readFile(*first) == m_fixture);
  EXPECT_TRUE(test::readFile(*second) == v2) << "pull --revision v2 returned another revision's file";
  const auto requests = m_server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].path, std::string("/") + kRepo + "/resolve/v2/" + kFile);
  // Each is then found in place without a request.
  ASSERT_TRUE(pull(r1).isOk());
  ASSERT_TRUE(pull(r2).isOk());
  EXPECT_EQ(m_server.requests().size(), 2u);
}

// Runs `tokenfab-cli pull ARGS` against the loopback hub; returns the exit status and fills
// `output` with stdout and stderr.
int runCliPull(const std::string& endpoint, const std::string& args, std::string& output) {
  const std::string command = "TOKENFAB_HF_ENDPOINT=" + endpoint + " " + TOKENFAB_CLI_PATH + " pull " + args + " 2>&1";
  std::FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return -1;
  output.clear();
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, pipe)) output.append(buf, n);
  const int status = ::pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The reported cases end to end through the CLI: `pull OWNER/REPO/FILE --revision v2` after v1
// gives v2, and `--sha256` is checked on a file that is already there.
TEST_F(PullHostile, CliRevisionSwitchAndSha256OnAnExistingFile) {
  const std::string v2 = changedFixture(kChangedAt);
  m_server.addFile(kRepo, "v1", kFile, m_fixture, kManifestSha);
  m_server.addFile(kRepo, "v2", kFile, v2, sha256Of(v2));
  const std::string target = std::string(kRepo) + "/" + kFile + " --dir " + m_dir.string() + " --quiet";
  std::string out;
  ASSERT_EQ(runCliPull(m_server.endpoint(), target + " --revision v1", out), 0) << out;
  EXPECT_EQ(out, finalPath("v1").string() + "\n");
  ASSERT_EQ(runCliPull(m_server.endpoint(), target + " --revision v2", out), 0) << out;
  EXPECT_EQ(out, finalPath("v2").string() + "\n");
  EXPECT_TRUE(test::readFile(finalPath("v2")) == v2);
  EXPECT_EQ(runCliPull(m_server.endpoint(), target + " --revision v2 --sha256 " + kManifestSha, out), 1) << out;
  EXPECT_NE(out.find("kChecksumMismatch"), std::string::npos) << out;
  EXPECT_NE(out.find("exists but its sha256 is " + sha256Of(v2)), std::string::npos) << out;
  EXPECT_TRUE(test::readFile(finalPath("v2")) == v2);
}

// The reported case: --sha256 is checked on a file that is already there. A mismatch is an error
// that leaves the file alone (the hash may be the mistake); a match costs no request.
TEST_F(PullHostile, ExpectedSha256IsCheckedOnAnExistingFile) {
  ASSERT_TRUE(pull(request()).isOk());
  PullRequest wrong = request();
  wrong.expected_sha256 = std::string(64, '0');
  auto refused = pull(wrong);
  ASSERT_FALSE(refused.isOk());
  EXPECT_EQ(refused.status().code(), Code::kChecksumMismatch) << refused.status().toString();
  EXPECT_NE(refused.status().message().find(kManifestSha), std::string::npos) << "names the actual hash";
  EXPECT_TRUE(test::readFile(finalPath()) == m_fixture) << "the existing file must not be touched";
  PullRequest right = request();
  right.expected_sha256 = kManifestSha;
  for (char& c : right.expected_sha256) c = char(std::toupper(static_cast<unsigned char>(c)));
  auto accepted = pull(right);
  ASSERT_TRUE(accepted.isOk()) << accepted.status().toString();
  EXPECT_EQ(m_server.requests().size(), 1u);
}

// The reported case: a checksum (and size) announced by a hop on another host is not trusted. The
// hub here announces none and redirects to a CDN on another port that forges both: the download
// is judged by its real size and GGUF structure, and the token never reaches the CDN.
TEST_F(PullHostile, ChecksumFromAnotherHostIsIgnored) {
  TestHubServer cdn;
  ASSERT_TRUE(cdn.started());
  cdn.addFile(kRepo, "main", kFile, m_fixture, kManifestSha);
  TestHubServer::Options cdn_options;
  cdn_options.redirect = true;  // serves /cdn/...
  cdn_options.cdn_headers = "X-Linked-Etag: \"" + std::string(64, '0') + "\"\r\nX-Linked-Size: 5\r\n";
  cdn.setOptions(cdn_options);
  TestHubServer::Options hub_options;
  hub_options.send_checksum = false;
  hub_options.redirect = true;
  hub_options.redirect_to = cdn.endpoint();
  m_server.setOptions(hub_options);
  ::setenv("HF_TOKEN", "secret-token", 1);
  auto path = pull(request());
  ::unsetenv("HF_TOKEN");
  ASSERT_TRUE(path.isOk()) << path.status().toString();
  EXPECT_TRUE(test::readFile(*path) == m_fixture);
  ASSERT_EQ(m_server.requests().size(), 1u);
  ASSERT_EQ(cdn.requests().size(), 1u);
  EXPECT_EQ(m_server.requests()[0].authorization, "Bearer secret-token");
  EXPECT_EQ(cdn.requests()[0].authorization, "") << "the token went to another host";
}

// The hub's own checksum still judges bytes that come from another host.
TEST_F(PullHostile, HubChecksumJudgesTheCdnBytes) {
  TestHubServer cdn;
  ASSERT_TRUE(cdn.started());
  cdn.addFile(kRepo, "main", kFile, m_fixture, kManifestSha);
  TestHubServer::Options cdn_options;
  cdn_options.redirect = true;
  cdn_options.corrupt_at = 654321;
  cdn.setOptions(cdn_options);
  TestHubServer::Options hub_options;
  hub_options.redirect = true;
  hub_options.redirect_to = cdn.endpoint();
  m_server.setOptions(hub_options);
  auto path = pull(request());
  ASSERT_FALSE(path.isOk());
  EXPECT_EQ(path.status().code(), Code::kChecksumMismatch) << path.status().toString();
  EXPECT_FALSE(fs::exists(partPath()));
}

// Only http and https are followed, and never from https down to http (checkRedirect, tested
// with URLs in redirect_test.cpp); here the loopback hub redirects to ftp.
TEST_F(PullHostile, RedirectToAnotherSchemeIsRefused) {
  TestHubServer::Options options;
  options.redirect = true;
  options.redirect_to = "ftp://127.0.0.1:" + std::to_string(test::closedLoopbackPort());
  m_server.setOptions(options);
  auto path = pull(request());
  ASSERT_FALSE(path.isOk());
  EXPECT_EQ(path.status().code(), Code::kNetworkError);
  EXPECT_NE(path.status().message().find("refusing a redirect to a ftp URL"), std::string::npos)
      << path.status().toString();
  EXPECT_FALSE(fs::exists(partPath()));
}

// Not enough free space is found before the first byte is written, with both numbers; a resume
// needs only the bytes still missing. (The free-space query is the test's: the honest stand-in for
// a full disk that needs neither root nor a small file system.)
TEST_F(PullHostile, NotEnoughFreeSpaceIsRefusedBeforeWriting) {
  PullRequest r = request();
  std::vector<fs::path> asked;
  uint64_t free_bytes = 1000;
  r.free_space = [&](const fs::path& dir) -> Result<uint64_t> {
    asked.push_back(dir);
    return free_bytes;
  };
  auto full = pull(r);
  ASSERT_FALSE(full.isOk());
  EXPECT_EQ(full.status().code(), Code::kIoError);
  EXPECT_NE(full.status().message().find("needs 1185376 more bytes, 1000 bytes are available"), std::string::npos)
      << full.status().toString();
  ASSERT_FALSE(asked.empty());
  EXPECT_EQ(asked.front(), partPath().parent_path());
  EXPECT_EQ(fileSize(partPath()), 0u);
  EXPECT_FALSE(fs::exists(finalPath()));

  interruptAt({});
  m_server.setOptions({});
  const uint64_t missing = m_fixture.size() - kCut;
  free_bytes = missing - 1;
  auto short_by_one = pull(r);
  ASSERT_FALSE(short_by_one.isOk());
  EXPECT_NE(short_by_one.status().message().find("needs " + std::to_string(missing) + " more bytes, " +
                                                  std::to_string(missing - 1) + " bytes are available"),
            std::string::npos)
      << short_by_one.status().toString();
  EXPECT_EQ(fileSize(partPath()), kCut) << "the .part is kept for when there is room";
  free_bytes = missing;
  auto resumed = pull(r);
  ASSERT_TRUE(resumed.isOk()) << resumed.status().toString();
  EXPECT_TRUE(test::readFile(*resumed) == m_fixture);
}

// The reported case: cancel acts while the .part of a previous run is re-hashed. Set at the first
// re-hash report, it stops the pull before any request and keeps the .part and its validator.
TEST_F(PullHostile, CancelActsWhileThePartIsRehashed) {
  fs::create_directories(partPath().parent_path());
  const size_t part_size = kHashChunkBytes + 50000;  // two chunks
  std::ofstream(partPath(), std::ios::binary) << m_fixture.substr(0, part_size);
  recordValidator();
  std::atomic<bool> cancel{false};
  int rehash_reports = 0;
  auto path = pull(
      request(),
      [&](const Progress& p) {
        if (p.phase != Progress::Phase::kRehashing) return;
        ++rehash_reports;
        EXPECT_EQ(p.received, kHashChunkBytes);
        cancel = true;
      },
      &cancel);
  ASSERT_FALSE(path.isOk());
  EXPECT_EQ(path.status().code(), Code::kCancelled) << path.status().toString();
  EXPECT_EQ(rehash_reports, 1);
  EXPECT_TRUE(m_server.requests().empty()) << "the pull went on to the network after the cancel";
  EXPECT_EQ(fileSize(partPath()), part_size);
  EXPECT_TRUE(fs::exists(validatorPath(partPath())));
}

// Cancel while the server accepts the connection and says nothing: the pull ends (the flag is
// read between polls of the connection, not only when bytes arrive).
TEST_F(PullHostile, CancelActsWhileTheServerSaysNothing) {
  TestHubServer::Options options;
  options.stall_ms = 120000;  // longer than the test's timeout: only the cancel can end the pull
  m_server.setOptions(options);
  std::atomic<bool> cancel{false};
  Result<fs::path> path = Status(Code::kInternal, "not run");
  std::thread worker([&] { path = pull(request(), {}, &cancel); });
  for (int i = 0; i < 3000 && m_server.requests().empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(m_server.requests().size(), 1u) << "the request never reached the server";
  cancel = true;
  worker.join();
  ASSERT_FALSE(path.isOk());
  EXPECT_EQ(path.status().code(), Code::kCancelled) << path.status().toString();
}

// Cancel acts while an existing file is hashed for --sha256, and leaves it alone.
TEST_F(PullHostile, CancelActsWhileAnExistingFileIsVerified) {
  ASSERT_TRUE(pull(request()).isOk());
  PullRequest r = request();
  r.expected_sha256 = kManifestSha;
  std::atomic<bool> cancel{false};
  int reports = 0;
  auto path = pull(
      r,
      [&](const Progress& p) {
        if (p.phase != Progress::Phase::kVerifying) return;
        ++reports;
        cancel = true;
      },
      &cancel);
  ASSERT_FALSE(path.isOk());
  EXPECT_EQ(path.status().code(), Code::kCancelled) << path.status().toString();
  EXPECT_EQ(reports, 1);
  EXPECT_TRUE(test::readFile(finalPath()) == m_fixture);
}

}  // namespace
}  // namespace tokenfab::download
