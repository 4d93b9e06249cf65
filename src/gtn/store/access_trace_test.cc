// Access traces: every read path records, files round-trip, damaged files are refused,
// and the summary describes the workload.
#include "gtn/access_trace.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "gtn/dataset.h"
#include "gtn/store/test_util.h"

namespace gtn::store {
namespace {

using testing::TempDir;

// 100 rows: x (float32 (4,)), label (class_label: row / 10), text.
std::unique_ptr<Dataset> make_dataset(const std::string& path, uint64_t chunk_bytes = 256) {
  auto ds = Dataset::Open(path).value();
  TensorSpec x{"x", "generic", DType::kFloat32};
  x.chunk_target_bytes = chunk_bytes;
  EXPECT_TRUE(ds->create_tensor(x).ok());
  TensorSpec label{"label", "class_label"};
  label.class_names = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"};
  EXPECT_TRUE(ds->create_tensor(label).ok());
  EXPECT_TRUE(ds->create_tensor(TensorSpec{"text", "text"}).ok());
  SampleBatch b;
  for (int i = 0; i < 100; ++i) {
    b["x"].push_back(testing::random_f32({4}, i));
    b["label"].push_back(Array::Scalar<int64_t>(DType::kInt64, i / 10));
    b["text"].push_back(Array::Text("row " + std::to_string(i)));
  }
  EXPECT_TRUE(ds->extend(b).ok());
  EXPECT_TRUE(ds->flush().ok());
  return ds;
}

struct TraceRun {
  std::string tensor;
  uint64_t begin, rows;
  bool operator==(const TraceRun& o) const { return tensor == o.tensor && begin == o.begin && rows == o.rows; }
};

std::vector<std::vector<TraceRun>> calls_of(const AccessTrace& t) {
  auto names = t.tensor_names();
  std::vector<std::vector<TraceRun>> out;
  uint64_t call = 0;
  for (const auto& e : t.events()) {
    if (out.empty() || e.call != call) out.emplace_back();
    call = e.call;
    out.back().push_back({names[e.tensor], e.begin, e.rows});
  }
  for (auto& c : out) {
    std::sort(c.begin(), c.end(), [](const TraceRun& a, const TraceRun& b) {
      return a.tensor != b.tensor ? a.tensor < b.tensor : a.begin < b.begin;
    });
  }
  return out;
}

TEST(AccessTrace, EveryReadPathRecordsItsRows) {
  TempDir dir;
  auto ds = make_dataset(dir.sub("d"));
  auto trace = std::make_shared<AccessTrace>();
  ds->set_access_trace(trace);
  size_t x = ds->tensor_index("x").value(), text = ds->tensor_index("text").value();
  ASSERT_TRUE(ds->read("x", 3).ok());
  ASSERT_TRUE(ds->read(x, 4).ok());
  float buf[64];
  ASSERT_TRUE(ds->read_into(x, 5, buf, sizeof(buf)).ok());
  ASSERT_EQ(ds->read_rows_into(x, 10, 14, {4}, buf, sizeof(buf)).value(), 4u);
  ASSERT_GE(ds->read_rows_view(x, 20, 22, {4}).value().shape()[0], 1);
  ASSERT_TRUE(ds->read_bytes_rows(text, 30, 33).ok());
  ASSERT_TRUE(ds->read_sample(40).ok());
  ASSERT_TRUE(ds->read_batch({50, 7}).ok());
  ASSERT_TRUE(ds->read_range("text", 60, 63).ok());
  ASSERT_TRUE(ds->sample_shape(x, 70).ok());  // metadata only: not recorded
  ds->set_access_trace(nullptr);
  ASSERT_TRUE(ds->read(x, 99).ok());  // detached: not recorded

  auto calls = calls_of(*trace);
  ASSERT_EQ(calls.size(), 9u);
  EXPECT_EQ(calls[0], (std::vector<TraceRun>{{"x", 3, 1}}));
  EXPECT_EQ(calls[1], (std::vector<TraceRun>{{"x", 4, 1}}));
  EXPECT_EQ(calls[2], (std::vector<TraceRun>{{"x", 5, 1}}));
  EXPECT_EQ(calls[3], (std::vector<TraceRun>{{"x", 10, 4}}));
  EXPECT_EQ(calls[4], (std::vector<TraceRun>{{"x", 20, 2}}));
  EXPECT_EQ(calls[5], (std::vector<TraceRun>{{"text", 30, 3}}));
  EXPECT_EQ(calls[6], (std::vector<TraceRun>{{"label", 40, 1}, {"text", 40, 1}, {"x", 40, 1}}));
  EXPECT_EQ(calls[7], (std::vector<TraceRun>{{"label", 7, 1}, {"label", 50, 1}, {"text", 7, 1}, {"text", 50, 1},
                                        {"x", 7, 1}, {"x", 50, 1}}));
  EXPECT_EQ(calls[8], (std::vector<TraceRun>{{"text", 60, 3}}));
  for (const auto& e : trace->events()) EXPECT_EQ(e.process, static_cast<uint32_t>(::getpid()));
}

TEST(AccessTrace, CallScopeMakesOneBatch) {
  TempDir dir;
  auto ds = make_dataset(dir.sub("d"));
  auto trace = std::make_shared<AccessTrace>();
  ds->set_access_trace(trace);
  {
    AccessTrace::CallScope batch;
    for (uint64_t i : {9, 10, 11, 40}) ASSERT_TRUE(ds->read("x", i).ok());
  }
  ASSERT_TRUE(ds->read("x", 0).ok());
  auto calls = calls_of(*trace);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0], (std::vector<TraceRun>{{"x", 9, 3}, {"x", 40, 1}}));
  TraceSummary s = trace->summarize();
  EXPECT_EQ(s.calls, 2u);
  EXPECT_EQ(s.batch_max, 4u);
  EXPECT_EQ(s.rows_read, 5u);
}

TEST(AccessTrace, ThreadsJoinTheirCallerCall) {
  TempDir dir;
  auto ds = make_dataset(dir.sub("d"));
  auto trace = std::make_shared<AccessTrace>();
  ds->set_access_trace(trace);
  {
    AccessTrace::CallScope batch;
    uint64_t call = AccessTrace::open_call();
    ASSERT_NE(call, 0u);
    std::thread helper([&] {
      AccessTrace::CallScope join(call);
      ASSERT_TRUE(ds->read("x", 60).ok());
    });
    ASSERT_TRUE(ds->read("x", 2).ok());
    helper.join();
  }
  TraceSummary s = trace->summarize();
  EXPECT_EQ(s.calls, 1u);
  EXPECT_EQ(s.readers, 2u);
  EXPECT_EQ(s.batch_max, 2u);
}

TEST(AccessTrace, ThreadsRecordWithoutLosingEvents) {
  TempDir dir;
  auto ds = make_dataset(dir.sub("d"));
  auto trace = std::make_shared<AccessTrace>();
  ds->set_access_trace(trace);
  size_t x = ds->tensor_index("x").value();
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      for (int i = 0; i < 500; ++i) ASSERT_TRUE(ds->read(x, static_cast<uint64_t>((i * 7 + k) % 100)).ok());
    });
  }
  for (auto& th : threads) th.join();
  TraceSummary s = trace->summarize();
  EXPECT_EQ(s.calls, 2000u);
  EXPECT_EQ(s.rows_read, 2000u);
  EXPECT_EQ(s.readers, 4u);
  EXPECT_EQ(s.distinct_rows, 100u);
  EXPECT_NEAR(s.reread_fraction, 0.95, 1e-12);
}

TEST(AccessTrace, SaveLoadRoundTrip) {
  TempDir dir;
  auto ds = make_dataset(dir.sub("d"));
  auto trace = std::make_shared<AccessTrace>();
  ds->set_access_trace(trace);
  for (uint64_t i = 0; i < 100; i += 3) ASSERT_TRUE(ds->read_batch({i, 99 - i}).ok());
  ASSERT_TRUE(ds->read_range("x", 0, 100).ok());
  std::filesystem::create_directories(dir.sub("t"));
  std::string path = dir.sub("t/job.gtntrace");
  ASSERT_TRUE(trace->save(path).ok());
  auto back = AccessTrace::load(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ((*back)->tensor_names(), trace->tensor_names());
  auto a = trace->events(), b = (*back)->events();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].time_ns, b[i].time_ns);
    EXPECT_EQ(a[i].call, b[i].call);
    EXPECT_EQ(a[i].begin, b[i].begin);
    EXPECT_EQ(a[i].rows, b[i].rows);
    EXPECT_EQ(a[i].tensor, b[i].tensor);
    EXPECT_EQ(a[i].thread, b[i].thread);
    EXPECT_EQ(a[i].process, b[i].process);
  }
  // Compact: a few bytes per event.
  EXPECT_LT(std::filesystem::file_size(path), 64 + 12 * a.size());
  // A directory and a prefix merge every file in them.
  ASSERT_TRUE(trace->save(dir.sub("t/job.7.gtntrace")).ok());
  EXPECT_EQ(AccessTrace::load_merged(dir.sub("t")).value()->size(), 2 * a.size());
  EXPECT_EQ(AccessTrace::load_merged(dir.sub("t/job")).value()->size(), 2 * a.size());
  EXPECT_EQ(AccessTrace::load_merged(dir.sub("t/job.7")).value()->size(), a.size());
  EXPECT_EQ(AccessTrace::load_merged(dir.sub("t/none")).status().code(), StatusCode::kNotFound);
}

TEST(AccessTrace, DamagedFilesAreRefused) {
  TempDir dir;
  auto ds = make_dataset(dir.sub("d"));
  auto trace = std::make_shared<AccessTrace>();
  ds->set_access_trace(trace);
  for (uint64_t i = 0; i < 50; ++i) ASSERT_TRUE(ds->read("x", i * 2).ok());
  std::filesystem::create_directories(dir.path());
  std::string path = dir.sub("t.gtntrace");
  ASSERT_TRUE(trace->save(path).ok());
  std::string good;
  {
    std::ifstream f(path, std::ios::binary);
    good.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  auto write = [&](const std::string& bytes) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  };
  write("not a trace at all");
  auto st = AccessTrace::load(path).status();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("is not a GTN access trace"), std::string::npos);
  std::string flipped = good;
  flipped[good.size() / 2] ^= 0x40;
  write(flipped);
  st = AccessTrace::load(path).status();
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_NE(st.message().find("checksum mismatch"), std::string::npos);
  write(good.substr(0, good.size() - 5));
  EXPECT_EQ(AccessTrace::load(path).status().code(), StatusCode::kCorruption);
  std::string future = good;
  future[8] = 9;
  write(future);
  EXPECT_EQ(AccessTrace::load(path).status().code(), StatusCode::kUnsupported);
  EXPECT_EQ(AccessTrace::load(dir.sub("missing")).status().code(), StatusCode::kNotFound);
}

TEST(AccessTrace, SummaryTellsSequentialFromRandomAndFindsClassBatches) {
  TempDir dir;
  auto ds = make_dataset(dir.sub("d"));
  auto seq = std::make_shared<AccessTrace>();
  ds->set_access_trace(seq);
  size_t x = ds->tensor_index("x").value();
  float buf[40 * 4];
  for (uint64_t b = 0; b < 100; b += 10) ASSERT_TRUE(ds->read_rows_into(x, b, b + 10, {4}, buf, sizeof(buf)).ok());
  TraceSummary s = seq->summarize();
  EXPECT_DOUBLE_EQ(s.sequential_fraction, 1.0);
  EXPECT_DOUBLE_EQ(s.contiguous_fraction, 1.0);
  EXPECT_EQ(s.batch_p50, 10u);
  EXPECT_EQ(s.read_together.at(0).first, std::vector<std::string>{"x"});

  // Batches of one class each (rows 10c..10c+9 hold class c), shuffled within the class.
  auto by_class = std::make_shared<AccessTrace>();
  ds->set_access_trace(by_class);
  for (uint64_t c = 0; c < 10; ++c) {
    ASSERT_TRUE(ds->read_batch({c * 10 + 7, c * 10 + 2, c * 10 + 5, c * 10}).ok());
  }
  ds->set_access_trace(nullptr);
  s = by_class->summarize(ds.get());
  EXPECT_DOUBLE_EQ(s.sequential_fraction, 0.0);
  ASSERT_EQ(s.read_together.at(0).first, (std::vector<std::string>{"label", "text", "x"}));
  EXPECT_EQ(s.read_together.at(0).second, 10u);
  ASSERT_TRUE(s.class_locality.count("label"));
  EXPECT_DOUBLE_EQ(s.class_locality["label"].first, 1.0);  // every batch is one class
  EXPECT_LT(s.class_locality["label"].second, 0.7);        // random batches of 4 of 10 classes
  EXPECT_EQ(by_class->size(), 10u * 3 * 4);                 // summarize's own reads are not recorded
  EXPECT_FALSE(s.to_string().empty());
}

TEST(AccessTrace, EnvironmentTraceIsWrittenPerProcess) {
  TempDir dir;
  { auto ds = make_dataset(dir.sub("d")); }
  std::filesystem::create_directories(dir.sub("traces"));
  std::string prefix = dir.sub("traces/job.gtntrace");
  pid_t child = ::fork();
  if (child == 0) {
    ::setenv("GTN_TRACE", prefix.c_str(), 1);
    OpenOptions ro;
    ro.read_only = true;
    auto ds = Dataset::Open(dir.sub("d"), ro);
    if (!ds.ok()) ::_exit(2);
    for (uint64_t i = 0; i < 10; ++i) (void)(*ds)->read("x", i);
    ::_exit((*ds)->close().ok() ? 0 : 3);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  std::string file = trace_path_for_process(prefix, static_cast<uint64_t>(child));
  ASSERT_TRUE(std::filesystem::exists(file)) << file;
  auto t = AccessTrace::load_merged(prefix).value();
  TraceSummary s = t->summarize();
  EXPECT_EQ(s.rows_read, 10u);
  EXPECT_DOUBLE_EQ(s.sequential_fraction, 1.0);
  EXPECT_EQ(s.processes, 1u);
}

}  // namespace
}  // namespace gtn::store
