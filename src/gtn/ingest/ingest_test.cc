#include "gtn/ingest/ingest.h"

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

TEST_F(IngestTest, MissingImagePathNamesColumnAndRow) {
  std::ofstream(root_ / "t.csv") << "img\nnope.png\n";
  auto ds = open("ds");
  auto report = ingest((root_ / "t.csv").string(), *ds);
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.status().message().find("column 'img'"), std::string::npos);
  EXPECT_NE(report.status().message().find("row 1"), std::string::npos);
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

}  // namespace
}  // namespace gtn::ingest
