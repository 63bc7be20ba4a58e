#include "tokenfab/status.h"

#include <gtest/gtest.h>

namespace tokenfab {
namespace {

Result<int> parsePositive(int v) {
  if (v <= 0) return Status(Code::kInvalidArgument, "not positive", 17);
  return v;
}

Status chain(int v, int* out) {
  TF_ASSIGN_OR_RETURN(int x, parsePositive(v));
  *out = x * 2;
  return Status::ok();
}

TEST(Status, OkByDefault) {
  Status s;
  EXPECT_TRUE(s.isOk());
  EXPECT_EQ(s.toString(), "ok");
}

TEST(Status, CarriesCodeMessageAndOffset) {
  Status s(Code::kGgufTruncated, "file ends inside a string", 123);
  EXPECT_FALSE(s.isOk());
  EXPECT_EQ(s.code(), Code::kGgufTruncated);
  ASSERT_TRUE(s.offset().has_value());
  EXPECT_EQ(*s.offset(), 123u);
  EXPECT_EQ(s.toString(), "kGgufTruncated at byte 123: file ends inside a string");
  Status c = s.withContext("reading model.gguf");
  EXPECT_EQ(c.code(), Code::kGgufTruncated);
  EXPECT_EQ(c.message(), "reading model.gguf: file ends inside a string");
}

TEST(Status, ResultPropagates) {
  int out = 0;
  EXPECT_TRUE(chain(4, &out).isOk());
  EXPECT_EQ(out, 8);
  Status bad = chain(-1, &out);
  EXPECT_EQ(bad.code(), Code::kInvalidArgument);
  EXPECT_EQ(bad.offset().value_or(0), 17u);
}

}  // namespace
}  // namespace tokenfab
