//===- JsonTest.cpp - Tests for the runtime's JSON reader -----------------===//

#include "runtime/Json.h"

#include <gtest/gtest.h>

using namespace llmc;

namespace {

TEST(JsonTest, ParsesNestedDocument) {
  JsonValue v;
  std::string error;
  ASSERT_TRUE(parseJson(R"( {"a": [1, -2.5e2, true, false, null],
                             "b": {"c": "d"}, "e": []} )",
                        v, error))
      << error;
  ASSERT_TRUE(v.isObject());
  const JsonValue *a = v.get("a");
  ASSERT_TRUE(a && a->isArray());
  ASSERT_EQ(a->items.size(), 5u);
  EXPECT_EQ(a->items[0].number, 1.0);
  EXPECT_EQ(a->items[1].number, -250.0);
  EXPECT_TRUE(a->items[2].isBool() && a->items[2].boolean);
  EXPECT_TRUE(a->items[3].isBool() && !a->items[3].boolean);
  EXPECT_TRUE(a->items[4].isNull());
  ASSERT_TRUE(v.get("b") && v.get("b")->get("c"));
  EXPECT_EQ(v.get("b")->get("c")->str, "d");
  EXPECT_TRUE(v.get("e")->isArray() && v.get("e")->items.empty());
  EXPECT_EQ(v.get("missing"), nullptr);
}

TEST(JsonTest, DecodesEscapes) {
  JsonValue v;
  std::string error;
  ASSERT_TRUE(parseJson(R"("q\"b\\s\/\b\f\n\r\t")", v, error)) << error;
  EXPECT_EQ(v.str, "q\"b\\s/\b\f\n\r\t");
  ASSERT_TRUE(parseJson(R"("\u0041\u00e9\u20AC")", v, error)) << error;
  EXPECT_EQ(v.str, "A\xC3\xA9\xE2\x82\xAC");
  // U+1F600 as a surrogate pair.
  ASSERT_TRUE(parseJson(R"("\ud83d\ude00")", v, error)) << error;
  EXPECT_EQ(v.str, "\xF0\x9F\x98\x80");
  // Raw UTF-8 passes through.
  ASSERT_TRUE(parseJson("\"\xC4\xA0the\"", v, error)) << error;
  EXPECT_EQ(v.str, "\xC4\xA0the");
}

TEST(JsonTest, RejectsMalformedInput) {
  const char *bad[] = {"",
                       "{",
                       "[1,]",
                       "{\"a\" 1}",
                       "{\"a\":1,}",
                       "{1:2}",
                       "tru",
                       "01",
                       "1.",
                       "-",
                       "1e",
                       "\"abc",
                       "\"a\\x\"",
                       "\"\\u12G4\"",
                       "\"\\ud83d\"",
                       "\"\\ud83dx\"",
                       "\"\\ude00\"",
                       "\"\\ud83d\\u0041\"",
                       "\"tab\there\"",
                       "[1] 2",
                       "nul"};
  for (const char *text : bad) {
    JsonValue v;
    std::string error;
    EXPECT_FALSE(parseJson(text, v, error)) << "accepted: " << text;
    EXPECT_NE(error.find("JSON error at line"), std::string::npos) << text;
  }
}

TEST(JsonTest, ReportsLineAndColumn) {
  JsonValue v;
  std::string error;
  EXPECT_FALSE(parseJson("{\n  \"a\": x\n}", v, error));
  EXPECT_NE(error.find("line 2, column 8"), std::string::npos) << error;
}

TEST(JsonTest, RejectsExcessiveNesting) {
  JsonValue v;
  std::string error;
  std::string deep(100000, '[');
  EXPECT_FALSE(parseJson(deep, v, error));
  EXPECT_NE(error.find("nesting"), std::string::npos) << error;
}

} // namespace
