#include "gtn/ingest.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "gtn/codec/image_codec.h"

namespace gtn::ingest {
namespace {
namespace fs = std::filesystem;

class IngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("gtn_ingest_test_" + std::to_string(::getpid()) + "_" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  std::vector<uint8_t> write_image(const fs::path& path, Compression codec, uint32_t seed, int64_t h = 6, int64_t w = 5) {
    std::mt19937 rng(seed);
    std::vector<uint8_t> px(static_cast<size_t>(h * w * 3));
    for (auto& p : px) p = static_cast<uint8_t>(rng());
    auto bytes = codec::encode_image(codec, px.data(), {h, w, 3});
    EXPECT_TRUE(bytes.ok());
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary).write(bytes->data(), static_cast<std::streamsize>(bytes->size()));
    return px;
  }

  std::unique_ptr<Dataset> open(const std::string& name) {
    auto ds = Dataset::Open((root_ / name).string());
    EXPECT_TRUE(ds.ok()) << ds.status().ToString();
    return std::move(ds).value();
  }

  fs::path root_;
};

TEST_F(IngestTest, FolderOfClassesSkipsNonImagesAndKeepsPixels) {
  std::map<std::string, std::vector<uint8_t>> pixels;
  pixels["cat/a.png"] = write_image(root_ / "src/cat/a.png", Compression::kPng, 1);
  pixels["cat/b.png"] = write_image(root_ / "src/cat/b.png", Compression::kPng, 2);
  pixels["dog/c.png"] = write_image(root_ / "src/dog/c.png", Compression::kPng, 3);
  std::ofstream(root_ / "src/dog/notes.txt") << "not an image";
  std::ofstream(root_ / "src/README.md") << "top-level file";
  auto ds = open("ds");
  std::vector<std::string> warnings;
  std::vector<std::pair<uint64_t, uint64_t>> progress;
  IngestOptions options;
  options.batch_size = 2;
  options.warn = [&](const std::string& m) { warnings.push_back(m); };
  options.progress = [&](uint64_t done, uint64_t total) { progress.emplace_back(done, total); };
  auto report = ingest((root_ / "src").string(), *ds, options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->format, SourceFormat::kFolder);
  EXPECT_EQ(report->samples, 3u);
  EXPECT_EQ(report->skipped_files, 2u);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("README.md"), std::string::npos);
  EXPECT_NE(warnings[1].find("notes.txt"), std::string::npos);
  EXPECT_EQ(progress, (std::vector<std::pair<uint64_t, uint64_t>>{{2, 3}, {3, 3}}));
  ASSERT_EQ(ds->size(), 3u);
  auto info = ds->tensor_info("labels");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->class_names, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(ds->tensor_info("images")->sample_compression, Compression::kPng);
  const char* order[] = {"cat/a.png", "cat/b.png", "dog/c.png"};
  for (uint64_t i = 0; i < 3; ++i) {
    auto img = ds->read("images", i);
    ASSERT_TRUE(img.ok());
    EXPECT_EQ(img->shape(), (Shape{6, 5, 3}));
    EXPECT_EQ(std::vector<uint8_t>(img->data_as<uint8_t>(), img->data_as<uint8_t>() + img->nbytes()), pixels[order[i]]);
    EXPECT_EQ(*ds->read("labels", i)->data_as<int64_t>(), i < 2 ? 0 : 1);
  }
}

TEST_F(IngestTest, FolderWithoutImagesIsAnError) {
  fs::create_directories(root_ / "src/empty");
  std::ofstream(root_ / "src/empty/x.txt") << "x";
  auto ds = open("ds");
  auto report = ingest((root_ / "src").string(), *ds);
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("no .jpg/.jpeg/.png images"), std::string::npos);
}

TEST_F(IngestTest, JsonlInfersTensorsAndLoadsImagePaths) {
  auto px = write_image(root_ / "imgs/one.png", Compression::kPng, 9);
  write_image(root_ / "imgs/two.png", Compression::kPng, 10);
  std::ofstream(root_ / "data.jsonl") << R"({"text": "hello", "label": 1, "score": 0.5, "emb": [1, 2.5], "img": "imgs/one.png", "meta": {"k": 1}})" "\n"
                                      << R"({"text": "world", "label": 2, "emb": [3, 4], "img": "imgs/two.png", "meta": [1]})" "\n";
  auto ds = open("ds");
  auto report = ingest((root_ / "data.jsonl").string(), *ds);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->tensors, (std::vector<std::string>{"text", "label", "score", "emb", "img", "meta"}));
  EXPECT_EQ(ds->tensor_info("text")->dtype, DType::kText);
  EXPECT_EQ(ds->tensor_info("label")->dtype, DType::kInt64);
  EXPECT_EQ(ds->tensor_info("score")->dtype, DType::kFloat64);
  EXPECT_EQ(ds->tensor_info("emb")->dtype, DType::kFloat32);
  EXPECT_EQ(ds->tensor_info("img")->htype, "image");
  EXPECT_EQ(ds->tensor_info("meta")->htype, "json");
  EXPECT_EQ(ds->read("text", 1)->as_string_view(), "world");
  EXPECT_EQ(*ds->read("label", 1)->data_as<int64_t>(), 2);
  EXPECT_TRUE(std::isnan(*ds->read("score", 1)->data_as<double>()));
  EXPECT_FLOAT_EQ(ds->read("emb", 0)->data_as<float>()[1], 2.5f);
  auto img = ds->read("img", 0);
  ASSERT_TRUE(img.ok());
  EXPECT_EQ(std::vector<uint8_t>(img->data_as<uint8_t>(), img->data_as<uint8_t>() + img->nbytes()), px);
  EXPECT_EQ(ds->read("meta", 0)->as_string_view(), "{\"k\":1}");
}

TEST_F(IngestTest, CsvParsesNumbersFromText) {
  std::ofstream(root_ / "t.csv") << "id,name,weight\n1,\"Smith, J\",70.5\n2,Lee,\n";
  auto ds = open("ds");
  auto report = ingest((root_ / "t.csv").string(), *ds);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->format, SourceFormat::kCsv);
  EXPECT_EQ(ds->size(), 2u);
  EXPECT_EQ(*ds->read("id", 1)->data_as<int64_t>(), 2);
  EXPECT_EQ(ds->read("name", 0)->as_string_view(), "Smith, J");
  EXPECT_DOUBLE_EQ(*ds->read("weight", 0)->data_as<double>(), 70.5);
}

// Asked to, an ingest ends with one commit whose parent is the state before it.
TEST_F(IngestTest, CommitWhenAskedNamesTheIngestedState) {
  std::ofstream(root_ / "a.csv") << "x\n1\n2\n";
  std::ofstream(root_ / "b.csv") << "x\n3\n";
  auto ds = open("ds");
  IngestOptions options;
  options.commit = "first batch";
  auto first = ingest((root_ / "a.csv").string(), *ds, options);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->commit.size(), 16u);
  EXPECT_FALSE(ds->has_uncommitted_changes());
  options.commit = "second batch";
  auto second = ingest((root_ / "b.csv").string(), *ds, options);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  auto log = ds->log();
  ASSERT_TRUE(log.ok());
  ASSERT_EQ(log->size(), 2u);
  EXPECT_EQ((*log)[0].id, second->commit);
  EXPECT_EQ((*log)[0].message, "second batch");
  EXPECT_EQ((*log)[0].parents, (std::vector<std::string>{first->commit}));
  EXPECT_EQ((*log)[0].length, 3u);
  EXPECT_EQ((*log)[1].length, 2u);
  // Without the option nothing is committed.
  auto plain = ingest((root_ / "b.csv").string(), *ds);
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(plain->commit.empty());
  EXPECT_TRUE(ds->has_uncommitted_changes());
}

TEST_F(IngestTest, MissingImagePathNamesColumnAndRow) {
  std::ofstream(root_ / "t.csv") << "img\nnope.png\n";
  auto ds = open("ds");
  auto report = ingest((root_ / "t.csv").string(), *ds);
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("column 'img'"), std::string::npos);
  EXPECT_NE(report.status().message().find("item 1 of 1 (line 2)"), std::string::npos);
}

TEST_F(IngestTest, SecondIngestAppendsToTheSameTensorsOnly) {
  std::ofstream(root_ / "a.csv") << "x\n1\n2\n";
  std::ofstream(root_ / "b.csv") << "y\n1\n";
  auto ds = open("ds");
  ASSERT_TRUE(ingest((root_ / "a.csv").string(), *ds).ok());
  ASSERT_TRUE(ingest((root_ / "a.csv").string(), *ds).ok());
  EXPECT_EQ(ds->size(), 4u);
  auto bad = ingest((root_ / "b.csv").string(), *ds);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("destination dataset has tensors"), std::string::npos);
}

TEST_F(IngestTest, FormatDetectionAndBadFormatNames) {
  EXPECT_FALSE(parse_source_format("xml").ok());
  EXPECT_EQ(*parse_source_format("npy"), SourceFormat::kNpy);
  std::ofstream(root_ / "x.txt") << "?";
  EXPECT_FALSE(detect_source_format((root_ / "x.txt").string()).ok());
  EXPECT_EQ(detect_source_format((root_ / "missing").string()).status().code(), StatusCode::kNotFound);
}

// A failure in the middle of a second ingest leaves the dataset exactly as it was.
TEST_F(IngestTest, FailureRollsBackToTheDatasetBeforeTheCall) {
  std::ofstream(root_ / "a.csv") << "x,img\n1,p.png\n";
  write_image(root_ / "p.png", Compression::kPng, 4);
  std::ofstream(root_ / "b.csv") << "x,img\n2,p.png\n3,p.png\n4,missing.png\n5,p.png\n";
  auto ds = open("ds");
  ASSERT_TRUE(ingest((root_ / "a.csv").string(), *ds).ok());
  IngestOptions options;
  options.batch_size = 2;  // the first batch is written before the failure
  auto bad = ingest((root_ / "b.csv").string(), *ds, options);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("item 3 of 4 (line 4) failed after 2 item(s) were read"), std::string::npos)
      << bad.status().ToString();
  EXPECT_NE(bad.status().message().find("missing.png"), std::string::npos);
  EXPECT_EQ(ds->size(), 1u);
  ds.reset();
  auto again = open("ds");
  EXPECT_EQ(again->size(), 1u);
  EXPECT_EQ(*again->read("x", 0)->data_as<int64_t>(), 1);
}

TEST_F(IngestTest, FailureDeletesTheTensorsTheCallCreated) {
  std::ofstream(root_ / "b.csv") << "x,y\n1,2\n3\n";
  auto ds = open("ds");
  auto bad = ingest((root_ / "b.csv").string(), *ds);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("has 1 fields, expected 2"), std::string::npos);
  EXPECT_TRUE(ds->tensor_names().empty());
  EXPECT_EQ(ds->size(), 0u);
}

TEST_F(IngestTest, SkipErrorsReportsEachSkippedItem) {
  write_image(root_ / "src/a/1.png", Compression::kPng, 1);
  std::ofstream(root_ / "src/a/empty.png");  // an empty file named .png
  std::string ico("\0\0\1\0\1\0\x10\x10\0\0", 10);
  fs::create_directories(root_ / "src/b");
  std::ofstream(root_ / "src/b/icon.png", std::ios::binary).write(ico.data(), static_cast<std::streamsize>(ico.size()));
  write_image(root_ / "src/b/2.png", Compression::kPng, 2);
  IngestOptions options;
  options.on_error = OnError::kSkip;
  auto report = ingest((root_ / "src").string(), (root_ / "ds").string(), options, OpenOptions{});
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->samples, 2u);
  EXPECT_EQ(report->items, 4u);
  ASSERT_EQ(report->skipped.size(), 2u);
  EXPECT_EQ(report->skipped[0].item, "a/empty.png");
  EXPECT_NE(report->skipped[0].reason.find("an empty file"), std::string::npos);
  EXPECT_EQ(report->skipped[1].item, "b/icon.png");
  EXPECT_NE(report->skipped[1].reason.find("ICO"), std::string::npos);
  // Without skipping, the same folder fails and leaves no dataset behind.
  auto strict = ingest((root_ / "src").string(), (root_ / "ds2").string(), IngestOptions{}, OpenOptions{});
  ASSERT_FALSE(strict.ok());
  EXPECT_NE(strict.status().message().find("item 2 of 4 (a/empty.png) failed after 1 item(s) were read"),
            std::string::npos) << strict.status().ToString();
  EXPECT_FALSE(fs::exists(root_ / "ds2"));
}

TEST_F(IngestTest, NoDatasetIsCreatedWhenTheSourceIsMissing) {
  auto r = ingest((root_ / "missing.csv").string(), (root_ / "ds").string(), IngestOptions{}, OpenOptions{});
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(root_ / "ds"));
  std::ofstream(root_ / "empty.csv");
  EXPECT_FALSE(ingest((root_ / "empty.csv").string(), (root_ / "ds").string(), IngestOptions{}, OpenOptions{}).ok());
  EXPECT_FALSE(fs::exists(root_ / "ds"));
}

TEST_F(IngestTest, SixteenBitPngsAreLossless) {
  std::vector<uint16_t> px(4 * 3 * 3);
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint16_t>(i * 2917 + 58);
  auto png = codec::encode_image(Compression::kPng, DType::kUInt16, px.data(), {4, 3, 3});
  ASSERT_TRUE(png.ok()) << png.status().ToString();
  fs::create_directories(root_ / "src/c");
  std::ofstream(root_ / "src/c/x.png", std::ios::binary).write(png->data(), static_cast<std::streamsize>(png->size()));
  auto ds = open("ds");
  auto report = ingest((root_ / "src").string(), *ds);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(ds->tensor_info("images")->dtype, DType::kUInt16);
  auto img = ds->read("images", 0);
  ASSERT_TRUE(img.ok()) << img.status().ToString();
  EXPECT_EQ(img->shape(), (Shape{4, 3, 3}));
  EXPECT_EQ(std::vector<uint16_t>(img->data_as<uint16_t>(), img->data_as<uint16_t>() + px.size()), px);
}

TEST_F(IngestTest, SourceBytesAreKeptWhenTheCompressionMatches) {
  write_image(root_ / "src/a/1.jpg", Compression::kJpeg, 1, 16, 16);
  std::ifstream in(root_ / "src/a/1.jpg", std::ios::binary);
  std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto ds = open("ds");
  auto report = ingest((root_ / "src").string(), *ds);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->kept_encoded, 1u);
  EXPECT_EQ(ds->tensor_info("images")->sample_compression, Compression::kJpeg);
  // The stored sample decodes to exactly what the file decodes to (no second JPEG pass).
  auto probed = codec::probe_image(file);
  ASSERT_TRUE(probed.ok());
  std::vector<uint8_t> want(16 * 16 * 3);
  ASSERT_TRUE(codec::decode_image(Compression::kJpeg, file, probed->shape, want.data()).ok());
  auto img = ds->read("images", 0);
  ASSERT_TRUE(img.ok()) << img.status().ToString();
  EXPECT_EQ(std::vector<uint8_t>(img->data_as<uint8_t>(), img->data_as<uint8_t>() + img->nbytes()), want);
}

}  // namespace
}  // namespace gtn::ingest
