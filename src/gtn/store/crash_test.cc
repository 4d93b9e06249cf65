// A writer SIGKILLed in the middle of extend loses at most its unflushed samples: a child
// process extends and flushes in a loop, reporting each flushed size through a pipe; the
// parent kills it at random moments, reopens, and checks every flushed sample byte-exactly.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <numeric>
#include <cstring>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

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

// --- version control under SIGKILL ---
//
// The third writer runs random version-control operations (extend, single and batch
// updates, pop, truncate, delete_samples, commit, checkout between branches "main" and
// "dev", merge with kTheirs, gc, compact). After each commit() (or merge) returns it
// reports "<commit id> <checksum of the committed content>" on a pipe; only reported
// commits count as complete. The parent kills it after a random delay and checks that the
// dataset opens, fsck is clean, and every reported commit reads back, read-only at that
// commit, with the reported checksum.
//
// GTN_CRASH_TRIALS sets the number of trials (default 40, to keep CI fast);
// GTN_CRASH_TRIALS=1000 is the full run documented for release checks.

uint64_t fnv(uint64_t h, const void* p, size_t n) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (size_t i = 0; i < n; ++i) {
    h ^= b[i];
    h *= 1099511628211ull;
  }
  return h;
}

// A checksum of every sample of every tensor in row order (names, shapes and bytes).
bool content_checksum(const Dataset& ds, uint64_t* out) {
  uint64_t h = 1469598103934665603ull;
  uint64_t n = ds.size();
  h = fnv(h, &n, sizeof(n));
  for (const auto& name : ds.tensor_names()) {
    h = fnv(h, name.data(), name.size() + 1);
    if (n == 0) continue;
    auto rows = ds.read_range(name, 0, n);
    if (!rows.ok()) return false;
    for (const auto& a : *rows) {
      uint64_t rank = a.shape().size();
      h = fnv(h, &rank, sizeof(rank));
      for (auto d : a.shape()) h = fnv(h, &d, sizeof(d));
      auto v = a.as_string_view();
      h = fnv(h, v.data(), v.size());
    }
  }
  *out = h;
  return true;
}

Array vc_blob(std::mt19937_64& rng) { return random_u8({static_cast<int64_t>(rng() % 120)}, rng()); }

[[noreturn]] void version_writer_child(const std::string& path, int report_fd, uint64_t seed) {
  auto opened = Dataset::Open(path);
  if (!opened.ok()) _exit(2);
  Dataset& ds = **opened;
  std::mt19937_64 rng(seed);
  auto fail = [](int code) { _exit(code); };
  auto report = [&](const std::string& id) {
    uint64_t sum = 0;
    if (!content_checksum(ds, &sum)) fail(20);
    char line[64];
    int len = std::snprintf(line, sizeof(line), "%s %016llx\n", id.c_str(), static_cast<unsigned long long>(sum));
    if (write(report_fd, line, static_cast<size_t>(len)) != len) fail(6);
  };
  auto do_commit = [&]() {
    auto c = ds.commit("c" + std::to_string(rng() % 1000));
    if (!c.ok()) fail(10);
    report(*c);
  };
  auto names = ds.tensor_names();
  if (std::find(names.begin(), names.end(), "x") == names.end()) {
    TensorSpec x;
    x.name = "x";
    x.dtype = DType::kInt64;
    x.chunk_target_bytes = 512;
    if (!ds.create_tensor(x).ok()) fail(3);
  }
  if (std::find(names.begin(), names.end(), "b") == names.end()) {
    TensorSpec b;
    b.name = "b";
    b.dtype = DType::kUInt8;
    b.chunk_target_bytes = 2048;
    b.chunk_compression = Compression::kLz4;
    if (!ds.create_tensor(b).ok()) fail(3);
  }
  if (ds.head_commit().empty() || ds.has_uncommitted_changes()) do_commit();
  auto branches = ds.branches();
  if (!branches.ok()) fail(11);
  if (std::find(branches->begin(), branches->end(), "dev") == branches->end()) {
    if (!ds.branch("dev").ok()) fail(12);
  }
  for (;;) {
    uint64_t n = ds.size();
    uint64_t op = rng() % 100;
    if (op < 25 || n < 4) {  // extend
      uint64_t k = 1 + rng() % 30;
      SampleBatch batch;
      for (uint64_t i = 0; i < k; ++i) {
        batch["x"].push_back(Array::Scalar<int64_t>(DType::kInt64, static_cast<int64_t>(rng())));
        batch["b"].push_back(vc_blob(rng));
      }
      if (!ds.extend(batch).ok()) fail(4);
    } else if (op < 40) {  // single update
      uint64_t i = rng() % n;
      Status st = rng() % 2 ? ds.update("x", i, Array::Scalar<int64_t>(DType::kInt64, static_cast<int64_t>(rng())))
                            : ds.update("b", i, vc_blob(rng));
      if (!st.ok()) fail(9);
    } else if (op < 50) {  // batch update
      std::vector<uint64_t> rows;
      std::vector<Array> xs, bs;
      for (int k = 0; k < 1 + static_cast<int>(rng() % 8); ++k) {
        rows.push_back(rng() % n);
        xs.push_back(Array::Scalar<int64_t>(DType::kInt64, static_cast<int64_t>(rng())));
        bs.push_back(vc_blob(rng));
      }
      if (!ds.update("x", rows, xs).ok()) fail(9);
      if (!ds.update("b", rows, bs).ok()) fail(9);
    } else if (op < 55) {
      if (!ds.pop().ok()) fail(7);
    } else if (op < 60) {
      std::vector<uint64_t> rows;
      for (int k = 0; k < 1 + static_cast<int>(rng() % 3); ++k) rows.push_back(rng() % n);
      if (!ds.delete_samples(rows).ok()) fail(13);
    } else if (op < 62 && n > 600) {
      if (!ds.truncate(300 + rng() % 200).ok()) fail(8);
    } else if (op < 80) {
      if (ds.has_uncommitted_changes()) do_commit();
    } else if (op < 87) {  // switch branch (uncommitted changes stay on their branch)
      std::string other = ds.current_branch() == "main" ? "dev" : "main";
      CheckoutOptions co;
      co.force = true;
      if (!ds.checkout(other, co).ok()) fail(14);
    } else if (op < 93) {  // merge the other branch
      if (ds.has_uncommitted_changes()) do_commit();
      std::string other = ds.current_branch() == "main" ? "dev" : "main";
      auto r = ds.merge(other, MergePolicy::kTheirs);
      if (!r.ok()) fail(15);
      if (!r->commit.empty() && !r->up_to_date) report(r->commit);
    } else if (op < 96) {
      if (!ds.gc().ok()) fail(16);
    } else {
      if (!ds.compact().ok()) fail(17);
    }
  }
}

// A writer killed while Open() creates a dataset leaves gtn.json.tmp-<pid>-<n> behind in
// the otherwise empty folder; the next Open() must still work (create or recover).
TEST(CrashSafety, KilledCreateLeavesAnOpenableFolder) {
  store::testing::TempDir dir;
  std::filesystem::create_directories(dir.path());
  { std::FILE* f = std::fopen((dir.path() + "/gtn.json.tmp-12345-2").c_str(), "w"); ASSERT_NE(f, nullptr); std::fclose(f); }
  auto ds = Dataset::Open(dir.path());
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  Status st = (*ds)->create_tensor(TensorSpec{.name = "x", .dtype = DType::kInt64});
  ASSERT_TRUE(st.ok()) << st.ToString();
}

TEST(CrashSafety, SigkillDuringVersionControlKeepsEveryCommit) {
  int trials = 40;
  if (const char* env = std::getenv("GTN_CRASH_TRIALS")) trials = std::max(1, std::atoi(env));
  std::mt19937_64 rng(4242);
  std::unique_ptr<store::testing::TempDir> dir;
  std::map<std::string, uint64_t> reported;  // commit id -> checksum, in this folder
  uint64_t total_commits = 0;
  for (int trial = 0; trial < trials; ++trial) {
    if (trial % 10 == 0) {  // a fresh folder every ten trials bounds the checking work
      dir = std::make_unique<store::testing::TempDir>();
      reported.clear();
      // Every tenth folder is created here, the others by the killed child (a creation
      // killed midway must leave an openable folder: KilledCreateLeavesAnOpenableFolder).
      if (trial % 20 == 0) {
        auto ds = Dataset::Open(dir->path());
        ASSERT_TRUE(ds.ok()) << ds.status().ToString();
        ASSERT_TRUE((*ds)->close().ok());
      }
    }
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      version_writer_child(dir->path(), fds[1], rng());
    }
    close(fds[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(3 + rng() % 200));
    kill(pid, SIGKILL);
    std::string text;
    char buf[4096];
    ssize_t got;
    while ((got = read(fds[0], buf, sizeof(buf))) > 0) text.append(buf, static_cast<size_t>(got));
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "trial " << trial << ": writer exited early with status "
                                     << WEXITSTATUS(status);
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
      if (lines.eof()) break;  // no newline: not a complete report
      std::istringstream f(line);
      std::string id, hex;
      f >> id >> hex;
      ASSERT_EQ(id.size(), 16u) << line;
      uint64_t sum = std::stoull(hex, nullptr, 16);
      auto [it, fresh] = reported.emplace(id, sum);
      if (!fresh) ASSERT_EQ(it->second, sum) << "commit " << id << " reported twice with different content";
      if (fresh) ++total_commits;
    }

    {
      auto w = Dataset::Open(dir->path());
      ASSERT_TRUE(w.ok()) << "trial " << trial << ": " << w.status().ToString();
      ASSERT_TRUE((*w)->close().ok());
    }
    OpenOptions ro;
    ro.read_only = true;
    auto r = Dataset::Open(dir->path(), ro);
    ASSERT_TRUE(r.ok()) << "trial " << trial << ": " << r.status().ToString();
    uint64_t ignored = 0;
    ASSERT_TRUE(content_checksum(**r, &ignored)) << "trial " << trial;
    r->reset();
    auto issues = fsck(dir->path());
    ASSERT_TRUE(issues.ok()) << issues.status().ToString();
    ASSERT_TRUE(issues->empty()) << "trial " << trial << ": " << (*issues)[0].object << ": " << (*issues)[0].problem;
    for (const auto& [id, sum] : reported) {
      ro.version = id;
      auto c = Dataset::Open(dir->path(), ro);
      ASSERT_TRUE(c.ok()) << "trial " << trial << ": commit " << id << ": " << c.status().ToString();
      uint64_t have = 0;
      ASSERT_TRUE(content_checksum(**c, &have)) << "trial " << trial << ": commit " << id;
      ASSERT_EQ(have, sum) << "trial " << trial << ": commit " << id << " reads back other content";
    }
  }
  std::printf("version-control crash trials: %d, commits checked: %llu\n", trials,
              static_cast<unsigned long long>(total_commits));
  EXPECT_GT(total_commits, 0u);
}


// --- rechunk killed at any point ---
// Rows of the rechunked dataset: x is unique per original row (r), b a blob, nb the ring
// neighbours of r. A reorder moves rows and remaps nb, so the check is invariant under
// row order: the sum over rows of a hash of (x, b, the x values of the row's neighbours).
constexpr uint64_t kRechunkRows = 400;

int64_t rc_x(uint64_t r) { return static_cast<int64_t>(r * 1000003 + 7); }
Array rc_b(uint64_t r) { return random_u8({static_cast<int64_t>(r % 100)}, r); }
Array rc_nb(uint64_t r) {
  uint64_t n = kRechunkRows;
  std::vector<int64_t> v{static_cast<int64_t>((r + n - 1) % n), static_cast<int64_t>((r + 1) % n),
                         static_cast<int64_t>((r * 13) % n)};
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  Array a = Array::Zeros(DType::kInt64, {static_cast<int64_t>(v.size())});
  std::memcpy(a.mutable_data(), v.data(), v.size() * 8);
  return a;
}

// The order-invariant checksum described above; false if a read fails or a row is wrong
// (orig, when present, must name the row's original position).
bool rows_invariant(const Dataset& ds, uint64_t* out) {
  uint64_t n = ds.size();
  auto xs = ds.read_range("x", 0, n);
  auto bs = ds.read_range("b", 0, n);
  auto nbs = ds.read_range("nb", 0, n);
  if (!xs.ok() || !bs.ok() || !nbs.ok()) return false;
  auto names = ds.tensor_names();
  bool has_orig = std::find(names.begin(), names.end(), "orig") != names.end();
  std::vector<Array> orig;
  if (has_orig) {
    auto o = ds.read_range("orig", 0, n);
    if (!o.ok()) return false;
    orig = std::move(*o);
  }
  uint64_t sum = 0;
  for (uint64_t i = 0; i < n; ++i) {
    int64_t x = (*xs)[i].data_as<int64_t>()[0];
    if (has_orig && rc_x(orig[i].data_as<uint64_t>()[0]) != x) return false;
    std::vector<int64_t> nx;
    const Array& nb = (*nbs)[i];
    for (int64_t k = 0; k < nb.numel(); ++k) {
      int64_t id = nb.data_as<int64_t>()[k];
      if (id < 0 || static_cast<uint64_t>(id) >= n) return false;
      nx.push_back((*xs)[static_cast<size_t>(id)].data_as<int64_t>()[0]);
    }
    std::sort(nx.begin(), nx.end());
    uint64_t h = fnv(1469598103934665603ull, &x, sizeof(x));
    auto b = (*bs)[i].as_string_view();
    h = fnv(h, b.data(), b.size());
    h = fnv(h, nx.data(), nx.size() * sizeof(int64_t));
    sum += h;
  }
  *out = sum;
  return true;
}

void make_rechunk_dataset(const std::string& path) {
  auto ds = Dataset::Open(path);
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  TensorSpec x{.name = "x", .dtype = DType::kInt64, .chunk_target_bytes = 256};
  TensorSpec b{.name = "b", .dtype = DType::kUInt8, .chunk_compression = Compression::kLz4, .chunk_target_bytes = 1024};
  TensorSpec nb{.name = "nb", .htype = "neighbors", .chunk_target_bytes = 512};
  for (const auto& s : {x, b, nb}) ASSERT_TRUE((*ds)->create_tensor(s).ok());
  SampleBatch batch;
  for (uint64_t r = 0; r < kRechunkRows; ++r) {
    batch["x"].push_back(Array::Scalar<int64_t>(DType::kInt64, rc_x(r)));
    batch["b"].push_back(rc_b(r));
    batch["nb"].push_back(rc_nb(r));
  }
  ASSERT_TRUE((*ds)->extend(batch).ok());
  ASSERT_TRUE((*ds)->commit("rows").ok());
}

// The child: rechunks forever with random layouts and orders, reporting each commit and
// the exact (row-order) checksum of what it holds.
[[noreturn]] void rechunk_child(const std::string& path, int report_fd, uint64_t seed) {
  auto opened = Dataset::Open(path);
  if (!opened.ok()) _exit(2);
  Dataset& ds = **opened;
  std::mt19937_64 rng(seed);
  const uint64_t targets[] = {48, 200, 1000, 5000};
  const Compression codecs[] = {Compression::kNone, Compression::kLz4, Compression::kZstd};
  for (;;) {
    RechunkOptions o;
    for (const char* t : {"x", "b", "nb"}) {
      if (rng() % 3 == 0) continue;
      TensorLayout& l = o.layouts[t];
      l.chunk_target_bytes = targets[rng() % 4];
      l.chunk_compression = codecs[rng() % 3];
      l.sample_compression = codecs[rng() % 3];
      if (*l.chunk_compression == Compression::kZstd && rng() % 2) l.compression_level = 1 + static_cast<int>(rng() % 19);
      else l.compression_level = 0;
    }
    if (rng() % 2) {
      std::vector<uint64_t> order(ds.size());
      std::iota(order.begin(), order.end(), 0);
      std::shuffle(order.begin(), order.end(), rng);
      o.order = std::move(order);
      o.order_tensor = "orig";
    }
    o.max_memory = 1 << 20;
    auto st = ds.rechunk(o);
    if (!st.ok()) {
      std::fprintf(stderr, "rechunk failed: %s\n", st.status().ToString().c_str());
      _exit(10);
    }
    uint64_t sum = 0;
    if (!content_checksum(ds, &sum)) _exit(20);
    char line[64];
    int len = std::snprintf(line, sizeof(line), "%s %016llx\n", st->commit.c_str(), static_cast<unsigned long long>(sum));
    if (write(report_fd, line, static_cast<size_t>(len)) != len) _exit(6);
  }
}

// A rechunk SIGKILLed anywhere leaves the branch at a commit (the last one reported, or one
// it made but could not report), every row whole, every reported commit readable as it
// was, and the folder fsck-clean; gc then removes what the killed rechunks left.
TEST(CrashSafety, SigkillDuringRechunkLeavesTheBranchAtACommit) {
  int trials = 24;
  if (const char* env = std::getenv("GTN_CRASH_TRIALS")) trials = std::max(1, std::atoi(env));
  std::mt19937_64 rng(777);
  std::unique_ptr<store::testing::TempDir> dir;
  std::map<std::string, uint64_t> reported;
  std::string last;
  uint64_t invariant = 0, commits = 0;
  for (int trial = 0; trial < trials; ++trial) {
    if (trial % 8 == 0) {
      dir = std::make_unique<store::testing::TempDir>();
      make_rechunk_dataset(dir->path());
      auto ds = Dataset::Open(dir->path());
      ASSERT_TRUE(ds.ok());
      ASSERT_TRUE(rows_invariant(**ds, &invariant));
      last = (*ds)->head_commit();
      reported.clear();
    }
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      rechunk_child(dir->path(), fds[1], rng());
    }
    close(fds[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + rng() % 400));
    kill(pid, SIGKILL);
    std::string text;
    char buf[4096];
    ssize_t got;
    while ((got = read(fds[0], buf, sizeof(buf))) > 0) text.append(buf, static_cast<size_t>(got));
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "trial " << trial << ": child exited with status " << WEXITSTATUS(status);
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
      if (lines.eof()) break;
      std::istringstream f(line);
      std::string id, hex;
      f >> id >> hex;
      ASSERT_EQ(id.size(), 16u) << line;
      reported[id] = std::stoull(hex, nullptr, 16);
      last = id;
      ++commits;
    }
    auto w = Dataset::Open(dir->path());
    ASSERT_TRUE(w.ok()) << "trial " << trial << ": " << w.status().ToString();
    Dataset& ds = **w;
    EXPECT_FALSE(ds.has_uncommitted_changes()) << "trial " << trial;
    // The head is the last reported commit or a descendant the child had no time to report.
    auto log = ds.log();
    ASSERT_TRUE(log.ok());
    bool reaches = false;
    for (const auto& c : *log) reaches = reaches || c.id == last;
    EXPECT_TRUE(reaches) << "trial " << trial << ": head " << ds.head_commit() << " does not descend from " << last;
    uint64_t now = 0;
    ASSERT_TRUE(rows_invariant(ds, &now)) << "trial " << trial;
    EXPECT_EQ(now, invariant) << "trial " << trial << ": rows lost or changed";
    for (const auto& [id, sum] : reported) {
      auto c = ds.open_version(id);
      ASSERT_TRUE(c.ok()) << c.status().ToString();
      uint64_t have = 0;
      ASSERT_TRUE(content_checksum(**c, &have));
      ASSERT_EQ(have, sum) << "trial " << trial << ": commit " << id;
    }
    if (trial % 3 == 2) ASSERT_TRUE(ds.gc().ok());
    w->reset();
    auto issues = fsck(dir->path());
    ASSERT_TRUE(issues.ok()) << issues.status().ToString();
    ASSERT_TRUE(issues->empty()) << "trial " << trial << ": " << (*issues)[0].object << ": " << (*issues)[0].problem;
  }
  std::printf("rechunk crash trials: %d, commits checked: %llu\n", trials, static_cast<unsigned long long>(commits));
  EXPECT_GT(commits, 0u);
}

}  // namespace
}  // namespace gtn
