// The reader registry of include/gtn/storage.h: registrations, stale ones left by killed
// processes, the registry lock, and read-only folders.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <regex>
#include <thread>

#include "gtn/storage.h"
#include "gtn/store/test_util.h"

namespace gtn {
namespace {

namespace fs = std::filesystem;
using store::testing::TempDir;
using Versions = std::vector<uint64_t>;

std::shared_ptr<Storage> local(const TempDir& dir) {
  auto s = open_local_storage(dir.path(), true);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? *s : nullptr;
}

Versions live(Storage& s) {
  auto v = s.live_reader_versions();
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return v.ok() ? *v : Versions{};
}

std::vector<std::string> registrations(Storage& s) {
  auto keys = s.list("readers/");
  EXPECT_TRUE(keys.ok()) << keys.status().ToString();
  return keys.ok() ? *keys : std::vector<std::string>{};
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Registrations of both backends: reported while their handle lives, sorted and each once.
void exercise_registrations(Storage& s) {
  EXPECT_EQ(live(s), Versions{});
  auto a = s.register_reader({0x0123456789abcdefULL, 7});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_NE(*a, nullptr);
  EXPECT_EQ(live(s), (Versions{7, 0x0123456789abcdefULL}));
  auto b = s.register_reader({7, 3});
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_NE(*b, nullptr);
  EXPECT_EQ(live(s), (Versions{3, 7, 0x0123456789abcdefULL}));
  auto none = s.register_reader({});
  ASSERT_TRUE(none.ok());
  EXPECT_NE(*none, nullptr);
  *a = nullptr;
  EXPECT_EQ(live(s), (Versions{3, 7}));
  *b = nullptr;
  *none = nullptr;
  EXPECT_EQ(live(s), Versions{});
}

TEST(StorageRegistry, LocalRegistrationsLiveAsLongAsTheirHandle) {
  TempDir dir;
  auto s = local(dir);
  ASSERT_NE(s, nullptr);
  exercise_registrations(*s);
  EXPECT_EQ(registrations(*s), std::vector<std::string>{});
}

TEST(StorageRegistry, MemoryRegistrationsLiveAsLongAsTheirHandle) {
  auto s = make_memory_storage();
  exercise_registrations(*s);
}

TEST(StorageRegistry, LocalRegistrationFileNamesItsVersions) {
  TempDir dir;
  auto s = local(dir);
  ASSERT_NE(s, nullptr);
  auto h = s->register_reader({1, 0xfedcba9876543210ULL});
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  ASSERT_NE(*h, nullptr);
  auto keys = registrations(*s);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_TRUE(std::regex_match(keys[0], std::regex("readers/" + std::to_string(::getpid()) + "-[0-9a-f]{16}")))
      << keys[0];
  std::string path = dir.sub(keys[0]);
  EXPECT_EQ(slurp(path), "0000000000000001\nfedcba9876543210\n");
  // Held under an exclusive flock: another open file description cannot take it.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_NE(::flock(fd, LOCK_EX | LOCK_NB), 0);
  EXPECT_EQ(errno, EWOULDBLOCK);
  ::close(fd);
  // A second registration gets another name.
  auto h2 = s->register_reader({1});
  ASSERT_TRUE(h2.ok());
  EXPECT_EQ(registrations(*s).size(), 2u);
  *h = nullptr;
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(registrations(*s).size(), 1u);
}

// A registration nobody holds locked is a dead process's: not reported, and deleted.
// One held locked is read, skipping lines that are not 16 hex digits.
TEST(StorageRegistry, LocalUnlockedRegistrationIsReapedAndMalformedLinesSkipped) {
  TempDir dir;
  auto s = local(dir);
  ASSERT_NE(s, nullptr);
  fs::create_directories(dir.sub("readers"));
  std::string stale = dir.sub("readers/999999-00000000000000aa");
  std::ofstream(stale) << "0000000000000011\n";
  std::string held = dir.sub("readers/999998-00000000000000bb");
  std::ofstream(held) << "zz\n0000000000000005\nshort\n00000000000000000\n000000000000000g\n\n"
                      << "00000000000000FF";  // no final newline
  int fd = ::open(held.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);
  fs::create_directories(dir.sub("readers/not-a-file"));
  EXPECT_EQ(live(*s), (Versions{5, 0xff}));
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(held));
  ::close(fd);
  EXPECT_EQ(live(*s), Versions{});
  EXPECT_FALSE(fs::exists(held));
}

// Waits for a byte on `fd`; false on EOF or error.
bool wait_for_byte(int fd) {
  char c;
  ssize_t n;
  do {
    n = ::read(fd, &c, 1);
  } while (n < 0 && errno == EINTR);
  return n == 1;
}

TEST(StorageRegistry, LocalRegistrationOfAKilledProcessIsReaped) {
  TempDir dir;
  auto s = local(dir);
  ASSERT_NE(s, nullptr);
  auto mine = s->register_reader({1});
  ASSERT_TRUE(mine.ok());
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(pipe_fds[0]);
    auto cs = open_local_storage(dir.path(), false);
    if (!cs.ok()) ::_exit(1);
    auto h = (*cs)->register_reader({0xc0ffee});
    if (!h.ok() || !*h) ::_exit(2);
    char c = 'r';
    if (::write(pipe_fds[1], &c, 1) != 1) ::_exit(3);
    for (;;) ::pause();
  }
  ::close(pipe_fds[1]);
  bool registered = wait_for_byte(pipe_fds[0]);
  ::close(pipe_fds[0]);
  if (!registered) {
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    FAIL() << "the child did not register (exit status " << status << ")";
  }
  EXPECT_EQ(live(*s), (Versions{1, 0xc0ffee}));
  std::string child_file = "readers/" + std::to_string(child) + "-";
  auto keys = registrations(*s);
  EXPECT_EQ(keys.size(), 2u);
  EXPECT_EQ(std::count_if(keys.begin(), keys.end(), [&](const std::string& k) { return k.rfind(child_file, 0) == 0; }),
            1);
  // Still live after a look: only a dead owner's file is deleted.
  EXPECT_EQ(live(*s), (Versions{1, 0xc0ffee}));

  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));
  keys = registrations(*s);
  EXPECT_EQ(keys.size(), 2u);  // the killed reader could not delete its file
  EXPECT_EQ(live(*s), Versions{1});
  keys = registrations(*s);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_NE(keys[0].rfind(child_file, 0), 0u);
}

// A forked child inherits the handle's copy; its dropping it (a loader worker exiting)
// leaves the parent's registration in place and locked.
TEST(StorageRegistry, LocalForkedChildDroppingTheHandleKeepsTheRegistration) {
  TempDir dir;
  auto s = local(dir);
  ASSERT_NE(s, nullptr);
  auto h = s->register_reader({42});
  ASSERT_TRUE(h.ok());
  ASSERT_NE(*h, nullptr);
  auto lock = s->lock_registry(true);
  ASSERT_TRUE(lock.ok());
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    *h = nullptr;
    *lock = nullptr;
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(registrations(*s).size(), 1u);
  EXPECT_EQ(live(*s), Versions{42});
  // The registry lock is still the parent's too.
  int fd = ::open(dir.sub("gtn.readers").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_NE(::flock(fd, LOCK_SH | LOCK_NB), 0);
  ::close(fd);
  *lock = nullptr;
  *h = nullptr;
  EXPECT_EQ(live(*s), Versions{});
}

// Takes lock_registry(exclusive) on another thread. The thread owns what it touches, so a
// test that gives up on it can leave it behind.
struct PendingLock {
  std::shared_ptr<std::promise<std::shared_ptr<void>>> promise = std::make_shared<std::promise<std::shared_ptr<void>>>();
  std::future<std::shared_ptr<void>> future = promise->get_future();
  PendingLock(std::shared_ptr<Storage> s, bool exclusive) {
    std::thread([s, exclusive, p = promise] {
      auto lock = s->lock_registry(exclusive);
      p->set_value(lock.ok() ? *lock : nullptr);
    }).detach();
  }
  bool ready_within(std::chrono::milliseconds ms) { return future.wait_for(ms) == std::future_status::ready; }
};

void exercise_registry_lock(const std::shared_ptr<Storage>& s) {
  using std::chrono::milliseconds;
  // Shared locks coexist.
  auto shared1 = s->lock_registry(false);
  ASSERT_TRUE(shared1.ok()) << shared1.status().ToString();
  ASSERT_NE(*shared1, nullptr);
  {
    PendingLock shared2(s, false);
    ASSERT_TRUE(shared2.ready_within(milliseconds(5000))) << "a shared lock waited for a shared one";
    EXPECT_NE(shared2.future.get(), nullptr);
  }
  // An exclusive lock waits for the shared holder (an opening reader).
  {
    PendingLock exclusive(s, true);
    EXPECT_FALSE(exclusive.ready_within(milliseconds(300))) << "the exclusive lock did not wait for a reader";
    *shared1 = nullptr;
    ASSERT_TRUE(exclusive.ready_within(milliseconds(5000))) << "the exclusive lock was not granted on release";
    auto held = exclusive.future.get();
    ASSERT_NE(held, nullptr);
    // A shared lock (a reader starting to open) waits for it, and proceeds after release.
    PendingLock shared(s, false);
    EXPECT_FALSE(shared.ready_within(milliseconds(300))) << "a reader did not wait for the exclusive lock";
    held = nullptr;
    ASSERT_TRUE(shared.ready_within(milliseconds(5000))) << "the shared lock was not granted on release";
    EXPECT_NE(shared.future.get(), nullptr);
  }
  // Two exclusive locks exclude each other.
  auto exclusive1 = s->lock_registry(true);
  ASSERT_TRUE(exclusive1.ok());
  PendingLock exclusive2(s, true);
  EXPECT_FALSE(exclusive2.ready_within(milliseconds(300)));
  *exclusive1 = nullptr;
  ASSERT_TRUE(exclusive2.ready_within(milliseconds(5000)));
  EXPECT_NE(exclusive2.future.get(), nullptr);
}

TEST(StorageRegistry, LocalExclusiveLockWaitsForAndHoldsOffReaders) {
  TempDir dir;
  auto s = local(dir);
  ASSERT_NE(s, nullptr);
  // Readers never create the registry (a dataset no writer of this build opened stays
  // untouched); the first exclusive lock (a writer) does.
  auto before = s->lock_registry(false);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(*before, nullptr);
  EXPECT_FALSE(fs::exists(dir.sub("gtn.readers")));
  { ASSERT_TRUE(s->lock_registry(true).ok()); }
  exercise_registry_lock(s);
  EXPECT_TRUE(fs::is_regular_file(dir.sub("gtn.readers")));
}

TEST(StorageRegistry, MemoryExclusiveLockWaitsForAndHoldsOffReaders) { exercise_registry_lock(make_memory_storage()); }

// The checks on a read-only dataset folder (`readers_file`: gtn.readers was created
// before the folder became read-only). Returns what went wrong, empty if nothing.
std::string check_read_only(const std::string& path, bool readers_file) {
  auto s = open_local_storage(path, false);
  if (!s.ok()) return "open: " + s.status().ToString();
  auto lock = (*s)->lock_registry(false);
  if (!lock.ok()) return "lock_registry(false): " + lock.status().ToString();
  if (readers_file && *lock == nullptr) return "lock_registry(false) gave a null handle though gtn.readers exists";
  if (!readers_file && *lock != nullptr) return "lock_registry(false) gave a handle without gtn.readers";
  *lock = nullptr;
  auto exclusive = (*s)->lock_registry(true);
  if (!exclusive.ok()) return "lock_registry(true): " + exclusive.status().ToString();
  if (readers_file != (*exclusive != nullptr)) return "lock_registry(true) handle does not follow gtn.readers";
  *exclusive = nullptr;
  if (fs::exists(path + "/gtn.readers") != readers_file) return "gtn.readers appeared";
  auto reg = (*s)->register_reader({9});
  if (!reg.ok()) return "register_reader: " + reg.status().ToString();
  if (*reg != nullptr) return "register_reader gave a handle in a read-only folder";
  auto versions = (*s)->live_reader_versions();
  if (!versions.ok()) return "live_reader_versions: " + versions.status().ToString();
  if (!versions->empty()) return "live_reader_versions reported versions";
  return "";
}

// Runs check_read_only as an unprivileged user (root writes anywhere): in a child that
// drops to uid/gid 65534. "skip: ..." when the child cannot drop privileges.
std::string check_read_only_unprivileged(const std::string& path, bool readers_file) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return "pipe failed";
  pid_t child = ::fork();
  if (child < 0) return "fork failed";
  if (child == 0) {
    ::close(pipe_fds[0]);
    std::string msg = ::setgid(65534) == 0 && ::setuid(65534) == 0 ? check_read_only(path, readers_file)
                                                                     : "skip: running as root and unable to switch to an unprivileged user, so a read-only folder stays writable here; only the registration calls were checked";
    if (!msg.empty() && ::write(pipe_fds[1], msg.data(), msg.size()) < 0) ::_exit(2);
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string msg;
  char buf[256];
  ssize_t n;
  while ((n = ::read(pipe_fds[0], buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) msg.append(buf, static_cast<size_t>(n));
  }
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) msg += " (child exit status " + std::to_string(status) + ")";
  return msg;
}

void expect_read_only_works(const std::string& path, bool readers_file) {
  std::string msg = ::geteuid() == 0 ? check_read_only_unprivileged(path, readers_file)
                                     : check_read_only(path, readers_file);
  if (msg.rfind("skip:", 0) == 0) {
    // Root that cannot drop privileges writes anyway: the calls still succeed, and a
    // registration they make is reported.
    auto s = open_local_storage(path, false);
    ASSERT_TRUE(s.ok());
    auto reg = (*s)->register_reader({9});
    ASSERT_TRUE(reg.ok()) << reg.status().ToString();
    if (*reg != nullptr) {
      EXPECT_EQ(live(**s), Versions{9});
    }
    GTEST_SKIP() << msg;
  }
  EXPECT_EQ(msg, "");
}

TEST(StorageRegistry, LocalReadOnlyFolderRegistersNothing) {
  TempDir dir;
  ASSERT_NE(local(dir), nullptr);
  ::chmod(dir.path().c_str(), 0555);
  expect_read_only_works(dir.path(), /*readers_file=*/false);
  ::chmod(dir.path().c_str(), 0755);
  EXPECT_FALSE(fs::exists(dir.sub("readers")));
}

TEST(StorageRegistry, LocalReadOnlyFolderWithRegistryLocksButRegistersNothing) {
  TempDir dir;
  auto s = local(dir);
  ASSERT_NE(s, nullptr);
  {
    auto lock = s->lock_registry(true);  // creates gtn.readers
    ASSERT_TRUE(lock.ok());
    auto reg = s->register_reader({1});  // creates readers/
    ASSERT_TRUE(reg.ok());
  }
  ASSERT_TRUE(fs::exists(dir.sub("gtn.readers")));
  ASSERT_TRUE(fs::is_directory(dir.sub("readers")));
  ::chmod(dir.sub("readers").c_str(), 0555);
  ::chmod(dir.path().c_str(), 0555);
  expect_read_only_works(dir.path(), /*readers_file=*/true);
  ::chmod(dir.path().c_str(), 0755);
  ::chmod(dir.sub("readers").c_str(), 0755);
  EXPECT_EQ(registrations(*s), std::vector<std::string>{});
}

}  // namespace
}  // namespace gtn
