//===- TokenizerJsonTest.cpp - tokenizer.json to a tokenizer image --------===//
//
// The errors of the compile-time tokenizer.json reader. What the image
// encodes is tested where the runtime loads it (tests/unit/runtime/
// TokenizerTest.cpp).
//
//===----------------------------------------------------------------------===//

#include "TestUtils.h"

#include "frontend/TokenizerJson.h"
#include "runtime/abi/TokenizerImage.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

using namespace llmc;
using namespace llmc::test;
using ::testing::HasSubstr;
using ::testing::StartsWith;

namespace {

/// The error of compiling `json`, or "" when it compiles.
std::string errorOf(llvm::StringRef json) {
  llvm::Expected<std::string> image = compileTokenizerJson(json);
  return image ? std::string() : llvm::toString(image.takeError());
}

/// The test fixture (a byte-level vocabulary with merges and added tokens)
/// after `edit`.
std::string fixtureWith(llvm::function_ref<void(llvm::json::Object &)> edit) {
  auto buffer = llvm::MemoryBuffer::getFile(LLMC_TOKENIZER_FIXTURE);
  EXPECT_TRUE(bool(buffer));
  llvm::Expected<llvm::json::Value> root =
      llvm::json::parse((*buffer)->getBuffer());
  EXPECT_TRUE(bool(root));
  edit(*root->getAsObject());
  std::string json;
  llvm::raw_string_ostream(json) << *root;
  return json;
}

/// The fixture with `merge` added as the first merge.
std::string fixtureWithMerge(llvm::json::Value merge) {
  return fixtureWith([&](llvm::json::Object &root) {
    llvm::json::Array *merges = root.getObject("model")->getArray("merges");
    merges->insert(merges->begin(), std::move(merge));
  });
}

/// The fixture with one more added token.
std::string fixtureWithAddedToken(llvm::json::Value token) {
  return fixtureWith([&](llvm::json::Object &root) {
    root.getArray("added_tokens")->push_back(std::move(token));
  });
}

/// The fixture with `pre` as its pre-tokenizer.
std::string fixtureWithPreTokenizer(llvm::json::Value pre) {
  return fixtureWith([&](llvm::json::Object &root) {
    root["pre_tokenizer"] = std::move(pre);
  });
}

TEST(TokenizerJsonTest, CompilesTheFixture) {
  llvm::Expected<std::string> image =
      compileTokenizerJson(fixtureWith([](llvm::json::Object &) {}));
  ASSERT_TRUE(bool(image)) << llvm::toString(image.takeError());
  ASSERT_GT(image->size(), sizeof(tokenizer_image::kMagic) + 1);
  EXPECT_EQ(image->substr(0, 8), std::string(tokenizer_image::kMagic, 8));
  EXPECT_EQ((*image)[8], 0) << "ignore_merges";
  // The same file always gives the same bytes (reproducible weight files).
  llvm::Expected<std::string> again =
      compileTokenizerJsonFile(LLMC_TOKENIZER_FIXTURE);
  ASSERT_TRUE(bool(again)) << llvm::toString(again.takeError());
  EXPECT_EQ(*again, *image);

  llvm::Expected<std::string> ignoring =
      compileTokenizerJson(fixtureWith([](llvm::json::Object &root) {
        (*root.getObject("model"))["ignore_merges"] = true;
      }));
  ASSERT_TRUE(bool(ignoring)) << llvm::toString(ignoring.takeError());
  EXPECT_EQ((*ignoring)[8], 1) << "ignore_merges";
}

TEST(TokenizerJsonTest, RejectsMalformedJson) {
  EXPECT_THAT(errorOf("{"), StartsWith("JSON error at line 1, column 1: "));
  EXPECT_THAT(errorOf("{\"model\": {\"type\": \"BPE\", \"vocab\": "),
              StartsWith("JSON error at line 1, column 35: "));
  EXPECT_THAT(errorOf("{\n  \"a\": x\n}"),
              StartsWith("JSON error at line 2, column 8: "));
  EXPECT_THAT(errorOf("{\"model\": {\"vocab\": {\"\xff\": 0}}}"),
              HasSubstr("UTF-8"));
  // Deep nesting is an error, not a stack overflow.
  EXPECT_THAT(errorOf(std::string(100000, '[')), HasSubstr("nesting"));
}

TEST(TokenizerJsonTest, RejectsMissingModelOrVocab) {
  EXPECT_EQ(errorOf("[1, 2]"), "no \"model\" object");
  EXPECT_EQ(errorOf("{\"model\": []}"), "no \"model\" object");
  EXPECT_EQ(errorOf("{\"model\": {\"type\": \"BPE\"}}"),
            "no \"model.vocab\" object");
  EXPECT_EQ(errorOf("{\"model\": {\"vocab\": [\"a\"]}}"),
            "no \"model.vocab\" object");
  EXPECT_EQ(errorOf("{\"model\": {\"type\": \"Unigram\", \"vocab\": {}}}"),
            "model type 'Unigram' is not supported (only BPE)");
}

TEST(TokenizerJsonTest, RejectsBadVocabularies) {
  for (const char *id : {"-1", "1.5", "\"7\"", "null"})
    EXPECT_EQ(
        errorOf(std::string("{\"model\": {\"vocab\": {\"a\": ") + id + "}}}"),
        "vocab entry 'a' has no valid id")
        << id;
  EXPECT_EQ(errorOf("{\"model\": {\"vocab\": {\"a\": 1073741824}}}"),
            "vocab entry 'a' has id 1073741824, beyond 1026 for 1 entries");
  EXPECT_EQ(errorOf("{\"model\": {\"vocab\": {\"a\": 0}}}"),
            "vocab has no token for byte 0 (not a byte-level BPE "
            "vocabulary)");
}

TEST(TokenizerJsonTest, RejectsBadMerges) {
  EXPECT_EQ(errorOf(fixtureWith([](llvm::json::Object &root) {
              (*root.getObject("model"))["merges"] = llvm::json::Object{};
            })),
            "\"model.merges\" is not an array");
  EXPECT_EQ(errorOf(fixtureWithMerge("hello")), "merge 'hello' is not 'a b'");
  EXPECT_EQ(errorOf(fixtureWithMerge(" h")), "merge ' h' is not 'a b'");
  for (llvm::json::Value merge :
       {llvm::json::Value(5), llvm::json::Value(llvm::json::Array{"h"}),
        llvm::json::Value(llvm::json::Array{"h", "e", "l"}),
        llvm::json::Value(llvm::json::Array{"h", 1})})
    EXPECT_EQ(errorOf(fixtureWithMerge(std::move(merge))),
              "merge 0 is neither \"a b\" nor [\"a\", \"b\"]");
  // A merge of tokens outside the vocabulary never applies: not an error.
  EXPECT_EQ(errorOf(fixtureWithMerge("zz qq")), "");
}

TEST(TokenizerJsonTest, RejectsBadAddedTokens) {
  EXPECT_EQ(errorOf(fixtureWith([](llvm::json::Object &root) {
              root["added_tokens"] = llvm::json::Object{};
            })),
            "\"added_tokens\" is not an array");
  for (llvm::json::Value token :
       {llvm::json::Value(llvm::json::Object{{"id", 302}, {"content", ""}}),
        llvm::json::Value(llvm::json::Object{{"id", -1}, {"content", "x"}}),
        llvm::json::Value(llvm::json::Object{{"content", "x"}}),
        llvm::json::Value(llvm::json::Object{{"id", 302}}),
        llvm::json::Value("<|x|>")})
    EXPECT_EQ(errorOf(fixtureWithAddedToken(std::move(token))),
              "an added token lacks a valid id or content");
}

TEST(TokenizerJsonTest, AcceptsOnlyTheLlama3PreTokenizer) {
  using llvm::json::Array;
  using llvm::json::Object;
  llvm::json::Value split =
      Object{{"type", "Split"},
             {"pattern", Object{{"Regex", tokenizer_image::kLlama3Pattern}}}};
  llvm::json::Value byteLevel =
      Object{{"type", "ByteLevel"}, {"use_regex", false}};
  EXPECT_EQ(
      errorOf(fixtureWithPreTokenizer(Object{
          {"type", "Sequence"}, {"pretokenizers", Array{split, byteLevel}}})),
      "");
  EXPECT_EQ(errorOf(fixtureWithPreTokenizer(nullptr)), "");

  EXPECT_EQ(errorOf(fixtureWithPreTokenizer(
                Object{{"type", "ByteLevel"}, {"use_regex", true}})),
            "a ByteLevel pre-tokenizer with its own (GPT-2) regex is not "
            "supported, only the Llama 3 split");
  EXPECT_EQ(errorOf(fixtureWithPreTokenizer(Object{
                {"type", "Split"}, {"pattern", Object{{"Regex", "\\s+"}}}})),
            "only the Llama 3 pre-tokenizer split pattern is supported");
  EXPECT_EQ(errorOf(fixtureWithPreTokenizer(
                Object{{"type", "Sequence"},
                       {"pretokenizers", Array{byteLevel, Object{}}}})),
            "a pre-tokenizer has no type");
  EXPECT_EQ(errorOf(fixtureWithPreTokenizer(Object{{"type", "Sequence"}})),
            "a Sequence pre-tokenizer lacks pretokenizers");
  EXPECT_EQ(errorOf(fixtureWithPreTokenizer(Object{{"type", "Whitespace"}})),
            "pre-tokenizer type 'Whitespace' is not supported");
}

TEST(TokenizerJsonTest, FileErrorsNameTheFile) {
  TempDir dir;
  std::string missing = dir.file("tokenizer.json");
  llvm::Expected<std::string> image = compileTokenizerJsonFile(missing);
  ASSERT_FALSE(bool(image));
  EXPECT_THAT(llvm::toString(image.takeError()), StartsWith(missing + ": "));

  std::string path = dir.write(
      "tokenizer.json", "{\"model\": {\"type\": \"Unigram\", \"vocab\": {}}}");
  image = compileTokenizerJsonFile(path);
  ASSERT_FALSE(bool(image));
  EXPECT_EQ(llvm::toString(image.takeError()),
            path + ": model type 'Unigram' is not supported (only BPE)");
}

TEST(TokenizerJsonTest, SparseIdsAreRefusedBeforeAllocating) {
  // Found by fuzz-tokenizer-json: one entry with id 10^9 sized the id table
  // at 10^9 strings.
  EXPECT_THAT(errorOf(R"({"model": {"type": "BPE", "vocab": {"a": 1000000000},
                  "merges": []}})"),
              HasSubstr("vocab entry 'a' has id 1000000000, beyond 1026 for 1 "
                        "entries"));
}

} // namespace
