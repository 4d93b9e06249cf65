// The local-directory Storage backend: one file per key, memory-mapped reads, atomic
// writes (temporary file, fsync, rename, fsync of the directory; or without the fsyncs,
// made durable later by sync()), an flock writer lock and the reader registry (gtn.readers,
// readers/).
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <set>
#include <system_error>

#include "gtn/storage.h"

namespace gtn {
namespace {

namespace fs = std::filesystem;
constexpr const char* kReadersFile = "gtn.readers";
constexpr const char* kReadersDir = "readers";

std::string errno_text(int err) { return std::strerror(err); }

class MappedFile final : public Bytes {
 public:
  MappedFile(void* addr, size_t size) : addr_(addr), size_(size) {}
  ~MappedFile() override {
    if (addr_) munmap(addr_, size_);
  }
  const uint8_t* data() const override { return static_cast<const uint8_t*>(addr_); }
  size_t size() const override { return size_; }
  void hint_random_access() const override { (void)::madvise(addr_, size_, MADV_RANDOM); }
  void hint_will_need(size_t offset, size_t length) const override {
    if (offset >= size_ || length == 0) return;
    static const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    size_t begin = offset / page * page;
    size_t end = std::min(size_, offset + std::min(length, size_ - offset));
    (void)::madvise(static_cast<char*>(addr_) + begin, end - begin, MADV_WILLNEED);
  }

 private:
  void* addr_;
  size_t size_;
};

class EmptyBytes final : public Bytes {
 public:
  const uint8_t* data() const override { return nullptr; }
  size_t size() const override { return 0; }
};

Status write_all(int fd, std::string_view bytes, const std::string& path) {
  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IOError("cannot write " + path + ": " + errno_text(errno));
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  return Status::OK();
}

Status fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::IOError("cannot open directory " + dir + ": " + errno_text(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0 && err != EINVAL) return Status::IOError("cannot fsync directory " + dir + ": " + errno_text(err));
  return Status::OK();
}

// Errors that mean the folder cannot be written (read-only media, no permission).
bool cannot_write(int err) { return err == EROFS || err == EACCES || err == EPERM; }

bool flock_waiting(int fd, int op) {
  int rc;
  do {
    rc = ::flock(fd, op);
  } while (rc != 0 && errno == EINTR);
  return rc == 0;
}

std::string hex16(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(v));
  return std::string(buf, 16);
}

Status read_all(int fd, const std::string& path, std::string* out) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IOError("cannot read " + path + ": " + errno_text(errno));
    }
    if (n == 0) return Status::OK();
    out->append(buf, static_cast<size_t>(n));
  }
}

// Appends the ids of `body`, one per line as 16 hex digits; other lines are skipped.
void parse_versions(std::string_view body, std::vector<uint64_t>* out) {
  while (!body.empty()) {
    size_t eol = body.find('\n');
    std::string_view line = body.substr(0, eol);
    body = eol == std::string_view::npos ? std::string_view() : body.substr(eol + 1);
    if (line.size() != 16) continue;
    uint64_t v = 0;
    bool ok = true;
    for (char c : line) {
      int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (digit < 0) {
        ok = false;
        break;
      }
      v = v << 4 | static_cast<uint64_t>(digit);
    }
    if (ok) out->push_back(v);
  }
}

// A flock held by an open file until destruction. Closing (not LOCK_UN) releases it, so a
// forked child dropping its copy does not release the parent's lock.
class LockedFile {
 public:
  explicit LockedFile(int fd) : fd_(fd) {}
  ~LockedFile() { ::close(fd_); }
  LockedFile(const LockedFile&) = delete;
  LockedFile& operator=(const LockedFile&) = delete;

 private:
  int fd_;
};

// A reader registration: unlinked, then closed (which drops its flock), by the process
// that made it.
class Registration {
 public:
  Registration(std::string path, int fd) : path_(std::move(path)), fd_(fd), owner_(::getpid()) {}
  ~Registration() {
    if (::getpid() == owner_) ::unlink(path_.c_str());
    ::close(fd_);
  }
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;

 private:
  std::string path_;
  int fd_;
  pid_t owner_;
};

class WriterLock {
 public:
  explicit WriterLock(int fd) : fd_(fd) {}
  ~WriterLock() {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }

 private:
  int fd_;
};

class LocalStorage final : public Storage {
 public:
  explicit LocalStorage(std::string root) : root_(std::move(root)) {}

  Result<std::shared_ptr<const Bytes>> read(const std::string& key) const override {
    std::string path = full(key);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      if (err == ENOENT) return Status::NotFound("no object " + path);
      return Status::IOError("cannot open " + path + ": " + errno_text(err));
    }
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      int err = errno;
      ::close(fd);
      return Status::IOError("cannot stat " + path + ": " + errno_text(err));
    }
    size_t size = static_cast<size_t>(st.st_size);
    if (size == 0) {
      ::close(fd);
      return std::shared_ptr<const Bytes>(std::make_shared<EmptyBytes>());
    }
    // No MAP_POPULATE: a read faults in only the pages it touches (chunk format 2 verifies
    // per block), so opening and reading cost what is read, not the file size.
    void* addr = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    int err = errno;
    ::close(fd);
    if (addr == MAP_FAILED) return Status::IOError("cannot mmap " + path + ": " + errno_text(err));
    return std::shared_ptr<const Bytes>(std::make_shared<MappedFile>(addr, size));
  }

  Status write_atomic(const std::string& key, std::string_view bytes) override {
    return write_renamed(key, bytes, /*durable=*/true);
  }

  Status write_atomic_unsynced(const std::string& key, std::string_view bytes) override {
    return write_renamed(key, bytes, /*durable=*/false);
  }

  Status sync(const std::vector<std::string>& keys) override {
    std::set<std::string> dirs;
    for (const auto& key : keys) {
      std::string path = full(key);
      int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return Status::IOError("cannot open " + path + " to sync it: " + errno_text(errno));
      int rc = ::fdatasync(fd);
      int err = errno;
      ::close(fd);
      if (rc != 0) return Status::IOError("cannot fdatasync " + path + ": " + errno_text(err));
      // The file's directory holds its name; the directory's parent holds the directory's
      // name when it was created since the last sync.
      fs::path parent = fs::path(path).parent_path();
      dirs.insert(parent.string());
      if (parent.string() != root_) dirs.insert(parent.parent_path().string());
    }
    for (const auto& dir : dirs) GTN_RETURN_IF_ERROR(fsync_dir(dir));
    return Status::OK();
  }

  Result<bool> exists(const std::string& key) const override {
    struct stat st;
    if (::stat(full(key).c_str(), &st) == 0) return true;
    if (errno == ENOENT || errno == ENOTDIR) return false;
    return Status::IOError("cannot stat " + full(key) + ": " + errno_text(errno));
  }

  Result<std::vector<std::string>> list(const std::string& prefix) const override {
    std::vector<std::string> keys;
    std::string dir_part = prefix.substr(0, prefix.rfind('/') == std::string::npos ? 0 : prefix.rfind('/'));
    fs::path start = dir_part.empty() ? fs::path(root_) : fs::path(root_) / dir_part;
    std::error_code ec;
    if (!fs::is_directory(start, ec)) return keys;
    fs::recursive_directory_iterator it(start, ec), end;
    if (ec) return Status::IOError("cannot list " + start.string() + ": " + ec.message());
    for (; it != end; it.increment(ec)) {
      if (ec) return Status::IOError("cannot list " + start.string() + ": " + ec.message());
      if (!it->is_regular_file(ec)) continue;
      std::string key = fs::relative(it->path(), root_, ec).generic_string();
      if (key.compare(0, prefix.size(), prefix) == 0) keys.push_back(std::move(key));
    }
    std::sort(keys.begin(), keys.end());
    return keys;
  }

  Status remove(const std::string& key) override {
    if (::unlink(full(key).c_str()) != 0 && errno != ENOENT) {
      return Status::IOError("cannot remove " + full(key) + ": " + errno_text(errno));
    }
    return Status::OK();
  }

  Result<std::shared_ptr<void>> lock_for_writing() override {
    std::string path = full("gtn.lock");
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Status::IOError("cannot open lock file " + path + ": " + errno_text(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      char buf[32] = {0};
      ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
      ::close(fd);
      if (err != EWOULDBLOCK) return Status::IOError("cannot lock " + path + ": " + errno_text(err));
      std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "unknown";
      while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
      return Status::Locked("dataset " + root_ + " is locked by another writer (pid " + pid + ")");
    }
    int readers = ::open(full(kReadersFile).c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
    if (readers >= 0) ::close(readers);
    std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
      int err = errno;
      ::flock(fd, LOCK_UN);
      ::close(fd);
      return Status::IOError("cannot write lock file " + path + ": " + errno_text(err));
    }
    return std::shared_ptr<void>(std::make_shared<WriterLock>(fd));
  }

  // The registry lock: a shared or exclusive flock on gtn.readers, taken waiting.
  // gtn.readers is created when missing; where it cannot be (read-only media) there is
  // nothing to lock and no writer can delete anything: null handle.
  Result<std::shared_ptr<void>> lock_registry(bool exclusive) override {
    std::string path = full(kReadersFile);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    // Only writers create the registry: a reader of a dataset no writer of this build has
    // opened leaves the folder untouched (and is not registered).
    if (fd < 0 && errno == ENOENT && !exclusive) return std::shared_ptr<void>();
    if (fd < 0 && errno == ENOENT) fd = ::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
      int err = errno;
      if (cannot_write(err)) return std::shared_ptr<void>();
      return Status::IOError("cannot open " + path + ": " + errno_text(err));
    }
    if (!flock_waiting(fd, exclusive ? LOCK_EX : LOCK_SH)) {
      int err = errno;
      ::close(fd);
      return Status::IOError("cannot lock " + path + ": " + errno_text(err));
    }
    return std::shared_ptr<void>(std::make_shared<LockedFile>(fd));
  }

  // readers/<pid>-<16 random hex>: created, flocked exclusive, then filled. A gc that saw
  // the file before the flock may have taken it for a dead reader's and deleted it (the
  // registry lock normally rules that out): then the name no longer links to the file and
  // a new name is tried.
  Result<std::shared_ptr<void>> register_reader(const std::vector<uint64_t>& versions) override {
    std::string dir = full(kReadersDir);
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      int err = errno;
      if (cannot_write(err)) return std::shared_ptr<void>();
      return Status::IOError("cannot create " + dir + ": " + errno_text(err));
    }
    std::string body;
    body.reserve(versions.size() * 17);
    for (uint64_t v : versions) body += hex16(v) + "\n";
    std::random_device rd;
    for (int attempt = 0; attempt < 16; ++attempt) {
      uint64_t nonce = (static_cast<uint64_t>(rd()) << 32) ^ rd();
      std::string path = dir + "/" + std::to_string(::getpid()) + "-" + hex16(nonce);
      int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0644);
      if (fd < 0) {
        int err = errno;
        if (err == EEXIST) continue;
        if (cannot_write(err)) return std::shared_ptr<void>();
        return Status::IOError("cannot create " + path + ": " + errno_text(err));
      }
      struct stat st;
      if (!flock_waiting(fd, LOCK_EX) || ::fstat(fd, &st) != 0) {
        int err = errno;
        ::unlink(path.c_str());
        ::close(fd);
        return Status::IOError("cannot lock " + path + ": " + errno_text(err));
      }
      if (st.st_nlink == 0) {  // reaped between open and flock
        ::close(fd);
        continue;
      }
      Status written = write_all(fd, body, path);
      if (!written.ok()) {
        ::unlink(path.c_str());
        ::close(fd);
        return written;
      }
      return std::shared_ptr<void>(std::make_shared<Registration>(std::move(path), fd));
    }
    return Status::IOError("cannot register a reader in " + dir + ": no free name after 16 tries");
  }

  // Registrations whose flock is free belong to dead processes (the kernel dropped their
  // lock): deleted. The others are read; lines that are not 16 hex digits are skipped.
  Result<std::vector<uint64_t>> live_reader_versions() override {
    std::vector<uint64_t> out;
    std::string dir = full(kReadersDir);
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) {
      if (errno == ENOENT) return out;
      return Status::IOError("cannot list " + dir + ": " + errno_text(errno));
    }
    std::vector<std::string> names;
    errno = 0;
    while (struct dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(std::move(name));
      errno = 0;
    }
    int list_err = errno;
    ::closedir(d);
    if (list_err != 0) return Status::IOError("cannot list " + dir + ": " + errno_text(list_err));
    for (const auto& name : names) {
      std::string path = dir + "/" + name;
      int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
      if (fd < 0) {
        if (errno == ENOENT) continue;  // its reader closed meanwhile
        return Status::IOError("cannot open reader registration " + path + ": " + errno_text(errno));
      }
      struct stat st;
      if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        continue;
      }
      int rc;
      do {
        rc = ::flock(fd, LOCK_EX | LOCK_NB);
      } while (rc != 0 && errno == EINTR);
      if (rc == 0) {  // no live owner
        ::unlink(path.c_str());
        ::close(fd);
        continue;
      }
      if (errno != EWOULDBLOCK) {
        int err = errno;
        ::close(fd);
        return Status::IOError("cannot lock reader registration " + path + ": " + errno_text(err));
      }
      std::string body;
      Status read = read_all(fd, path, &body);
      ::close(fd);
      GTN_RETURN_IF_ERROR(read);
      parse_versions(body, &out);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  std::string describe() const override { return "file://" + root_; }

 private:
  // Temporary file, rename over `key`; with `durable`, fsync of the file before the rename
  // and of the directory after it.
  Status write_renamed(const std::string& key, std::string_view bytes, bool durable) {
    std::string path = full(key);
    fs::path parent = fs::path(path).parent_path();
    std::error_code ec;
    bool created = fs::create_directories(parent, ec);
    if (ec) return Status::IOError("cannot create directory " + parent.string() + ": " + ec.message());
    static std::atomic<uint64_t> counter{0};
    std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return Status::IOError("cannot create " + tmp + ": " + errno_text(errno));
    Status st = write_all(fd, bytes, tmp);
    if (st.ok() && durable && ::fsync(fd) != 0) st = Status::IOError("cannot fsync " + tmp + ": " + errno_text(errno));
    ::close(fd);
    if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
      st = Status::IOError("cannot rename " + tmp + " to " + path + ": " + errno_text(errno));
    }
    if (!st.ok()) {
      ::unlink(tmp.c_str());
      return st;
    }
    if (!durable) return Status::OK();
    GTN_RETURN_IF_ERROR(fsync_dir(parent.string()));
    if (created) GTN_RETURN_IF_ERROR(fsync_dir(parent.parent_path().string()));
    return Status::OK();
  }

  std::string full(const std::string& key) const { return root_ + "/" + key; }
  std::string root_;
};

}  // namespace

Result<std::shared_ptr<Storage>> open_local_storage(const std::string& root, bool create) {
  std::error_code ec;
  fs::path p = fs::absolute(root, ec);
  if (ec) return Status::IOError("cannot resolve path " + root + ": " + ec.message());
  p = p.lexically_normal();
  std::string s = p.string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  if (fs::exists(p, ec)) {
    if (!fs::is_directory(p, ec)) return Status::InvalidArgument(s + " exists and is not a directory");
  } else {
    if (!create) return Status::NotFound(s + " does not exist");
    fs::create_directories(p, ec);
    if (ec) return Status::IOError("cannot create directory " + s + ": " + ec.message());
  }
  return std::shared_ptr<Storage>(std::make_shared<LocalStorage>(s));
}

}  // namespace gtn
