// A writer SIGKILLed in the middle of extend loses at most its unflushed samples: a child
// process extends and flushes in a loop, reporting each flushed size through a pipe; the
// parent kills it at random moments, reopens, and checks every flushed sample byte-exactly.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <thread>

#include "gtn/dataset.h"
#include "gtn/store/test_util.h"

namespace gtn {
namespace {

using store::testing::random_text;
using store::testing::random_u8;
using store::testing::same;

Sample sample_at(uint64_t i) {
  return {{"blob", random_u8({static_cast<int64_t>(i * 37 % 300)}, i)},
          {"label", Array::Scalar<int64_t>(DType::kInt64, static_cast<int64_t>(i * 3))},
          {"text", Array::Text(random_text(i % 50, i))}};
}

// The child: extends forever, reporting the size after each flush. Never returns.
[[noreturn]] void writer_child(const std::string& path, int report_fd, uint64_t seed) {
  auto ds = Dataset::Open(path);
  if (!ds.ok()) _exit(2);
  if ((*ds)->tensor_names().empty()) {
    TensorSpec blob;
    blob.name = "blob";
    blob.dtype = DType::kUInt8;
    blob.chunk_target_bytes = 2048;
    TensorSpec label;
    label.name = "label";
    label.htype = "class_label";
    label.chunk_target_bytes = 256;
    TensorSpec text;
    text.name = "text";
    text.htype = "text";
    text.chunk_compression = Compression::kLz4;
    text.chunk_target_bytes = 1024;
    for (const auto& s : {blob, label, text}) {
      if (!(*ds)->create_tensor(s).ok()) _exit(3);
    }
  }
  std::mt19937_64 rng(seed);
  for (;;) {
    uint64_t n = (*ds)->size();
    uint64_t batch_size = 1 + rng() % 40;
    SampleBatch batch;
    for (uint64_t i = n; i < n + batch_size; ++i) {
      for (auto& [name, v] : sample_at(i)) batch[name].push_back(std::move(v));
    }
    if (!(*ds)->extend(batch).ok()) _exit(4);
    if (rng() % 3 == 0) {
      if (!(*ds)->flush().ok()) _exit(5);
      uint64_t flushed = (*ds)->size();
      if (write(report_fd, &flushed, sizeof(flushed)) != sizeof(flushed)) _exit(6);
    }
  }
}

TEST(CrashSafety, SigkillLosesOnlyUnflushedSamples) {
  store::testing::TempDir dir;
  std::mt19937_64 rng(1234);
  uint64_t last_checked = 0;
  for (int round = 0; round < 8; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      writer_child(dir.path(), fds[1], rng());
    }
    close(fds[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng() % 400));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "writer exited early with status " << WEXITSTATUS(status);
    uint64_t flushed = 0, v;
    while (read(fds[0], &v, sizeof(v)) == sizeof(v)) flushed = v;
    close(fds[0]);

    auto ds = Dataset::Open(dir.path());  // the dead writer's lock is gone
    ASSERT_TRUE(ds.ok()) << ds.status().ToString();
    uint64_t size = (*ds)->size();
    EXPECT_GE(size, flushed) << "round " << round;
    EXPECT_GE(size, last_checked);
    for (uint64_t i = 0; i < size; ++i) {
      auto got = (*ds)->read_sample(i);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      for (const auto& [name, want] : sample_at(i)) ASSERT_TRUE(same(got->at(name), want)) << name << " " << i;
    }
    last_checked = size;
    ds->reset();
    auto issues = fsck(dir.path());
    ASSERT_TRUE(issues.ok());
    EXPECT_TRUE(issues->empty()) << (*issues)[0].object << ": " << (*issues)[0].problem;
  }
  EXPECT_GT(last_checked, 0u);
}

// The second writer also pops, truncates and updates. Every row carries a stamp (tensor
// "stamp") from which its other values follow, so any version a crash leaves can be
// checked row by row; the reopened length never falls below the lowest length the
// writer had since its last flush (pops are the only way rows leave).
Sample stamped(uint64_t i, int64_t stamp) {
  uint64_t k = i * 1000003 + static_cast<uint64_t>(stamp);
  return {{"blob", random_u8({static_cast<int64_t>((i * 37 + static_cast<uint64_t>(stamp)) % 300)}, k)},
          {"stamp", Array::Scalar<int64_t>(DType::kInt64, stamp)},
          {"text", Array::Text(random_text(k % 50, k))}};
}

constexpr uint64_t kFlushMark = ~0ull;

[[noreturn]] void editing_writer_child(const std::string& path, int report_fd, uint64_t seed) {
  auto ds = Dataset::Open(path);
  if (!ds.ok()) _exit(2);
  if ((*ds)->tensor_names().empty()) {
    TensorSpec blob;
    blob.name = "blob";
    blob.dtype = DType::kUInt8;
    blob.chunk_target_bytes = 32768;  // large next to the others: a pop after a flush
    // pulls a chunk of it back while the other tensors keep sealing chunks
    TensorSpec stamp;
    stamp.name = "stamp";
    stamp.dtype = DType::kInt64;
    stamp.chunk_target_bytes = 256;
    TensorSpec text;
    text.name = "text";
    text.htype = "text";
    text.chunk_compression = Compression::kZstd;
    text.chunk_target_bytes = 1024;
    for (const auto& s : {blob, stamp, text}) {
      if (!(*ds)->create_tensor(s).ok()) _exit(3);
    }
  }
  std::mt19937_64 rng(seed);
  int64_t next_stamp = static_cast<int64_t>(rng() % 1000000) * 1000;
  auto report = [&](uint64_t v) {
    if (write(report_fd, &v, sizeof(v)) != sizeof(v)) _exit(6);
  };
  for (;;) {
    uint64_t n = (*ds)->size();
    uint64_t op = rng() % 10;
    if (op < 5 || n == 0) {
      uint64_t batch_size = 1 + rng() % 40;
      SampleBatch batch;
      for (uint64_t i = n; i < n + batch_size; ++i) {
        for (auto& [name, v] : stamped(i, next_stamp++)) batch[name].push_back(std::move(v));
      }
      if (!(*ds)->extend(batch).ok()) _exit(4);
    } else if (op == 5) {
      if (!(*ds)->pop().ok()) _exit(7);
    } else if (op == 6) {
      if (!(*ds)->truncate(n - std::min<uint64_t>(n, rng() % 30)).ok()) _exit(8);
    } else if (op < 9) {
      std::vector<uint64_t> rows;
      for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k) rows.push_back(rng() % n);
      std::map<std::string, std::vector<Array>> values;
      for (uint64_t i : rows) {
        for (auto& [name, v] : stamped(i, next_stamp++)) values[name].push_back(std::move(v));
      }
      // A row's tensors change together: no manifest is published between these calls.
      for (auto& [name, v] : values) {
        if (!(*ds)->update(name, rows, v).ok()) _exit(9);
      }
    } else {
      if (!(*ds)->flush().ok()) _exit(5);
      report(kFlushMark);
    }
    report((*ds)->size());
  }
}

TEST(CrashSafety, SigkillDuringPopTruncateUpdateKeepsEveryRowWhole) {
  store::testing::TempDir dir;
  std::mt19937_64 rng(99);
  for (int round = 0; round < 10; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      editing_writer_child(dir.path(), fds[1], rng());
    }
    close(fds[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(30 + rng() % 300));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "writer exited early with status " << WEXITSTATUS(status);
    // The lowest length since the last flush (or since the start, before any flush).
    uint64_t floor = UINT64_MAX, v;
    bool flushed = false;
    while (read(fds[0], &v, sizeof(v)) == sizeof(v)) {
      if (v == kFlushMark) {
        flushed = true;
        floor = UINT64_MAX;
        continue;
      }
      floor = std::min(floor, v);
    }
    close(fds[0]);

    auto ds = Dataset::Open(dir.path());
    ASSERT_TRUE(ds.ok()) << ds.status().ToString();
    uint64_t size = (*ds)->size();
    if (flushed && floor != UINT64_MAX) {
      EXPECT_GE(size, floor) << "round " << round;
    }
    for (uint64_t i = 0; i < size; ++i) {
      auto got = (*ds)->read_sample(i);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      int64_t stamp = got->at("stamp").data_as<int64_t>()[0];
      for (const auto& [name, want] : stamped(i, stamp)) {
        ASSERT_TRUE(same(got->at(name), want)) << name << " " << i << " round " << round;
      }
    }
    ds->reset();
    auto issues = fsck(dir.path());
    ASSERT_TRUE(issues.ok());
    EXPECT_TRUE(issues->empty()) << (*issues)[0].object << ": " << (*issues)[0].problem;
  }
}

}  // namespace
}  // namespace gtn
