// A writer SIGKILLed in the middle of extend loses at most its unflushed samples: a child
// process extends and flushes in a loop, reporting each flushed size through a pipe; the
// parent kills it at random moments, reopens, and checks every flushed sample byte-exactly.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
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

}  // namespace
}  // namespace gtn
