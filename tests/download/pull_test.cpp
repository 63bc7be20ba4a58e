// pull() against a local hub on 127.0.0.1 serving the shared stories260K.gguf. The oracle for a
// good download is the fixture's bytes and the sha256 published in ../shared/models/MANIFEST.md.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <thread>

#include "pull_fixture.h"

namespace tokenfab::download {
namespace {

TEST_F(PullTest, FullDownloadEqualsTheFixture) {
  std::vector<Progress> seen;
  auto path = pull(request(), [&](const Progress& p) { seen.push_back(p); });
  ASSERT_TRUE(path.isOk()) << path.status().toString();
  EXPECT_EQ(*path, finalPath());
  EXPECT_TRUE(test::readFile(*path) == m_fixture) << "downloaded bytes differ from the fixture";
  EXPECT_FALSE(fs::exists(partPath()));
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().phase, Progress::Phase::kDone);
  EXPECT_EQ(seen.back().received, m_fixture.size());
  ASSERT_TRUE(seen.back().total.has_value());
  EXPECT_EQ(*seen.back().total, m_fixture.size());
  const auto requests = m_server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].path, std::string("/") + kRepo + "/resolve/main/" + kFile);
  EXPECT_EQ(requests[0].range, "");
}

TEST_F(PullTest, AnExistingCompleteFileIsReturnedWithoutARequest) {
  ASSERT_TRUE(pull(request()).isOk());
  auto again = pull(request());
  ASSERT_TRUE(again.isOk()) << again.status().toString();
  EXPECT_EQ(m_server.requests().size(), 1u);
}

TEST_F(PullTest, RedirectUsesTheHubChecksumNotTheCdnEtag) {
  TestHubServer::Options options;
  options.redirect = true;  // the CDN's ETag is 64 hex digits that are not the sha256
  m_server.setOptions(options);
  auto path = pull(request());
  ASSERT_TRUE(path.isOk()) << path.status().toString();
  EXPECT_TRUE(test::readFile(*path) == m_fixture);
  const auto requests = m_server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_TRUE(requests[1].path.starts_with("/cdn/")) << requests[1].path;
}

TEST_F(PullTest, InterruptedDownloadResumesWithRange) {
  constexpr uint64_t kCut = 300000;
  TestHubServer::Options options;
  options.cut_after = kCut;
  m_server.setOptions(options);
  auto first = pull(request());
  ASSERT_FALSE(first.isOk());
  EXPECT_EQ(first.status().code(), Code::kNetworkError) << first.status().toString();
  EXPECT_NE(first.status().message().find("resume"), std::string::npos) << first.status().toString();
  EXPECT_FALSE(fs::exists(finalPath())) << "an interrupted download must not get the final name";
  EXPECT_EQ(fileSize(partPath()), kCut);

  std::vector<Progress> seen;
  auto second = pull(request(), [&](const Progress& p) { seen.push_back(p); });
  ASSERT_TRUE(second.isOk()) << second.status().toString();
  EXPECT_TRUE(test::readFile(*second) == m_fixture);
  const auto requests = m_server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].range, "bytes=300000-");
  EXPECT_EQ(requests[1].if_range, std::string("\"") + kManifestSha + "\"") << "the validator of the first answer";
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back().resumed_from, kCut);
}

TEST_F(PullTest, ResumeThroughRedirectAndPlainEtag) {
  TestHubServer::Options options;
  options.redirect = true;
  options.linked_headers = false;
  options.cut_after = 4096 * 7;
  m_server.setOptions(options);
  ASSERT_FALSE(pull(request()).isOk());
  auto second = pull(request());
  ASSERT_TRUE(second.isOk()) << second.status().toString();
  EXPECT_TRUE(test::readFile(*second) == m_fixture);
}

TEST_F(PullTest, ServerIgnoringRangeRestartsTheFile) {
  TestHubServer::Options options;
  options.cut_after = 100000;
  m_server.setOptions(options);
  ASSERT_FALSE(pull(request()).isOk());
  options.cut_after.reset();
  options.honour_range = false;  // answers 200 with the whole file
  m_server.setOptions(options);
  auto second = pull(request());
  ASSERT_TRUE(second.isOk()) << second.status().toString();
  EXPECT_TRUE(test::readFile(*second) == m_fixture) << "bytes appended to the old .part?";
}

TEST_F(PullTest, CompletePartFileIsVerifiedNotRefetched) {
  // A previous run received every byte but stopped before the rename.
  fs::create_directories(partPath().parent_path());
  std::ofstream(partPath(), std::ios::binary) << m_fixture;
  recordValidator();
  auto path = pull(request());
  ASSERT_TRUE(path.isOk()) << path.status().toString();
  EXPECT_TRUE(test::readFile(*path) == m_fixture);
  const auto requests = m_server.requests();
  ASSERT_EQ(requests.size(), 1u);  // answered 416, nothing fetched again
  EXPECT_EQ(requests[0].range, "bytes=1185376-");
}

TEST_F(PullTest, OverlongPartFileStartsOver) {
  fs::create_directories(partPath().parent_path());
  std::ofstream(partPath(), std::ios::binary) << m_fixture << "trailing junk";
  recordValidator();
  auto path = pull(request());
  ASSERT_TRUE(path.isOk()) << path.status().toString();
  EXPECT_TRUE(test::readFile(*path) == m_fixture);
}

TEST_F(PullTest, CorruptedDownloadIsRejectedAndDeleted) {
  TestHubServer::Options options;
  options.corrupt_at = 654321;
  m_server.setOptions(options);
  auto path = pull(request());
  ASSERT_FALSE(path.isOk());
  EXPECT_EQ(path.status().code(), Code::kChecksumMismatch) << path.status().toString();
  EXPECT_NE(path.status().message().find(kManifestSha), std::string::npos);
  EXPECT_FALSE(fs::exists(finalPath()));
  EXPECT_FALSE(fs::exists(partPath()));
}

TEST_F(PullTest, CorruptionInTheResumedPartIsCaught) {
  TestHubServer::Options options;
  options.cut_after = 200000;
  options.corrupt_at = 100;  // in the first part: the resume must hash the bytes already on disk
  m_server.setOptions(options);
  ASSERT_FALSE(pull(request()).isOk());
  options.corrupt_at.reset();
  options.cut_after.reset();
  m_server.setOptions(options);
  auto second = pull(request());
  ASSERT_FALSE(second.isOk());
  EXPECT_EQ(second.status().code(), Code::kChecksumMismatch) << second.status().toString();
  EXPECT_FALSE(fs::exists(finalPath()));
  EXPECT_FALSE(fs::exists(partPath()));
}

TEST_F(PullTest, CallerChecksumIsEnforced) {
  PullRequest r = request();
  r.expected_sha256 = std::string(64, '0');
  auto path = pull(r);
  ASSERT_FALSE(path.isOk());
  EXPECT_EQ(path.status().code(), Code::kChecksumMismatch);
  EXPECT_FALSE(fs::exists(finalPath()));
}

TEST_F(PullTest, WithoutAChecksumTheSizeAndGgufStillDecide) {
  TestHubServer::Options options;
  options.send_checksum = false;
  m_server.setOptions(options);
  auto path = pull(request());
  ASSERT_TRUE(path.isOk()) << path.status().toString();
  EXPECT_TRUE(test::readFile(*path) == m_fixture);
}

TEST_F(PullTest, CancelLeavesNoFileThatLooksComplete) {
  TestHubServer::Options options;
  options.slow_chunk_delay_ms = 20;  // ~290 chunks: several seconds if not cancelled
  m_server.setOptions(options);
  std::atomic<bool> cancel{false};
  auto path = pull(
      request(),
      [&](const Progress& p) {
        if (p.received > 0) cancel = true;
      },
      &cancel);
  ASSERT_FALSE(path.isOk());
  EXPECT_EQ(path.status().code(), Code::kCancelled) << path.status().toString();
  EXPECT_FALSE(fs::exists(finalPath()));
  EXPECT_LT(fileSize(partPath()), m_fixture.size());

  // The kept .part resumes to the right file.
  m_server.setOptions({});
  auto resumed = pull(request());
  ASSERT_TRUE(resumed.isOk()) << resumed.status().toString();
  EXPECT_TRUE(test::readFile(*resumed) == m_fixture);
}

TEST_F(PullTest, SecondConcurrentPullOfTheSameFileIsRefused) {
  TestHubServer::Options options;
  options.slow_chunk_delay_ms = 20;
  m_server.setOptions(options);
  std::atomic<bool> cancel{false};
  std::atomic<bool> receiving{false};
  Result<fs::path> first = Status(Code::kInternal, "not run");
  std::thread worker([&] {
    first = pull(
        request(),
        [&](const Progress& p) {
          if (p.received > 0) receiving = true;
        },
        &cancel);
  });
  for (int i = 0; i < 500 && !receiving; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(receiving.load());
  auto second = pull(request());
  cancel = true;
  worker.join();
  ASSERT_FALSE(second.isOk());
  EXPECT_EQ(second.status().code(), Code::kAlreadyExists) << second.status().toString();
  EXPECT_EQ(first.status().code(), Code::kCancelled) << first.status().toString();
  EXPECT_FALSE(fs::exists(finalPath()));
}

TEST_F(PullTest, MissingFileIsNotFoundWithAClearMessage) {
  auto path = pull(request("missing-Q4_K_M.gguf"));
  ASSERT_FALSE(path.isOk());
  EXPECT_EQ(path.status().code(), Code::kNotFound);
  EXPECT_NE(path.status().message().find(std::string("no file missing-Q4_K_M.gguf in repo ") + kRepo),
            std::string::npos)
      << path.status().toString();
  EXPECT_FALSE(fs::exists(m_dir / kRepo / "main/missing-Q4_K_M.gguf.part"));
  EXPECT_FALSE(fs::exists(m_dir / kRepo / "main/missing-Q4_K_M.gguf"));
}

TEST_F(PullTest, RefusedConnectionHasAClearMessage) {
  PullRequest r = request();
  r.endpoint = "http://127.0.0.1:" + std::to_string(test::closedLoopbackPort());
  auto path = pull(r);
  ASSERT_FALSE(path.isOk());
  EXPECT_EQ(path.status().code(), Code::kNetworkError);
  EXPECT_NE(path.status().message().find("could not connect"), std::string::npos) << path.status().toString();
  EXPECT_FALSE(fs::exists(finalPath()));
}

TEST_F(PullTest, TlsFailureHasAClearMessage) {
  PullRequest r = request();
  r.endpoint = "https://127.0.0.1:" + std::to_string(m_server.port());  // a plain-HTTP server
  auto path = pull(r);
  ASSERT_FALSE(path.isOk());
  EXPECT_EQ(path.status().code(), Code::kNetworkError);
  EXPECT_NE(path.status().message().find("TLS"), std::string::npos) << path.status().toString();
}

TEST_F(PullTest, NonGgufFileIsRejected) {
  const std::string text = "this is not a model, just some text that happens to be served\n";
  Sha256 hasher;
  hasher.update(text);
  m_server.addFile(kRepo, "main", "notes.gguf", text, Sha256::toHex(hasher.finish()));
  auto path = pull(request("notes.gguf"));
  ASSERT_FALSE(path.isOk());
  EXPECT_NE(path.status().message().find("not a valid GGUF"), std::string::npos) << path.status().toString();
  EXPECT_FALSE(fs::exists(m_dir / kRepo / "main/notes.gguf"));
  EXPECT_FALSE(fs::exists(m_dir / kRepo / "main/notes.gguf.part"));
}

TEST_F(PullTest, WriteFailureIsAnIoErrorAndNothingLooksComplete) {
  // A file-size limit makes write() fail part-way (EFBIG), standing in for a full disk.
  rlimit old_limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = old_limit;
  small.rlim_cur = 256 * 1024;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  auto path = pull(request());
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);
  ASSERT_FALSE(path.isOk());
  EXPECT_EQ(path.status().code(), Code::kIoError) << path.status().toString();
  EXPECT_NE(path.status().message().find("cannot write"), std::string::npos) << path.status().toString();
  EXPECT_FALSE(fs::exists(finalPath()));
}

TEST_F(PullTest, UncreatableDestinationIsAnIoError) {
  fs::create_directories(m_dir);
  std::ofstream(m_dir / "plain-file") << "x";
  PullRequest r = request();
  r.dest_dir = m_dir / "plain-file";
  auto path = pull(r);
  ASSERT_FALSE(path.isOk());
  EXPECT_EQ(path.status().code(), Code::kIoError) << path.status().toString();
  EXPECT_TRUE(m_server.requests().empty());
}

TEST_F(PullTest, BadRequestIsRejectedBeforeAnyConnection) {
  auto path = pull(request("../escape.gguf"));
  ASSERT_FALSE(path.isOk());
  EXPECT_EQ(path.status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(m_server.requests().empty());
}

}  // namespace
}  // namespace tokenfab::download
