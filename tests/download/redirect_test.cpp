// The redirect rule (redirect.h) on URLs, since the loopback hub cannot speak TLS: never from
// https down to http, only http(s) at all; and which hops are the hub's own.
#include <gtest/gtest.h>

#include "download/redirect.h"

namespace tokenfab::download {
namespace {

TEST(Redirect, NeverDowngradesFromHttps) {
  const Status down = checkRedirect("https://huggingface.co/o/r/resolve/main/f.gguf", "http://cdn.example/f.gguf");
  ASSERT_FALSE(down.isOk());
  EXPECT_EQ(down.code(), Code::kNetworkError);
  EXPECT_NE(down.message().find("from https to http (a downgrade)"), std::string::npos) << down.toString();
  EXPECT_NE(down.message().find("http://cdn.example/f.gguf"), std::string::npos) << "names the target";
  EXPECT_FALSE(checkRedirect("HTTPS://hub.example/x", "HTTP://cdn.example/x").isOk()) << "schemes are case-blind";
  EXPECT_TRUE(checkRedirect("https://huggingface.co/x", "https://cdn-lfs.huggingface.co/x?sig=1").isOk());
  // A plain-http chain (the loopback test hub, a local mirror) may stay on http or move up.
  EXPECT_TRUE(checkRedirect("http://127.0.0.1:8080/x", "http://127.0.0.1:8080/cdn/x").isOk());
  EXPECT_TRUE(checkRedirect("http://127.0.0.1:8080/x", "https://cdn.example/x").isOk());
}

TEST(Redirect, OnlyHttpAndHttpsAreFollowed) {
  for (const char* to : {"ftp://cdn.example/x", "file:///etc/passwd", "gopher://cdn.example/x", "not a url", ""}) {
    EXPECT_FALSE(checkRedirect("http://hub.example/x", to).isOk()) << to;
    EXPECT_FALSE(checkRedirect("https://hub.example/x", to).isOk()) << to;
  }
}

TEST(Redirect, OriginIsSchemeHostAndPort) {
  EXPECT_TRUE(sameOrigin("https://huggingface.co/a", "https://huggingface.co:443/b?c=d"));
  EXPECT_TRUE(sameOrigin("https://HuggingFace.co/a", "https://huggingface.co/b"));
  EXPECT_FALSE(sameOrigin("https://huggingface.co/a", "https://cdn-lfs.huggingface.co/a"));
  EXPECT_FALSE(sameOrigin("https://huggingface.co/a", "http://huggingface.co/a"));
  EXPECT_FALSE(sameOrigin("http://127.0.0.1:8080/a", "http://127.0.0.1:8081/a"));
  EXPECT_FALSE(sameOrigin("not a url", "not a url"));
  const auto origin = urlOrigin("http://127.0.0.1:8080/o/r/resolve/main/f.gguf");
  ASSERT_TRUE(origin.has_value());
  EXPECT_EQ(*origin, (Origin{"http", "127.0.0.1", "8080"}));
}

}  // namespace
}  // namespace tokenfab::download
