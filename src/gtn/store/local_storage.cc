// The local-directory Storage backend: one file per key, memory-mapped reads, atomic
// writes (temporary file, fsync, rename, fsync of the directory; or without the fsyncs,
// made durable later by sync()) and an flock writer lock.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <system_error>

#include "gtn/storage.h"

namespace gtn {
namespace {

namespace fs = std::filesystem;
constexpr const char* kReadersFile = "gtn.readers";

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

  // Readers hold a shared flock on gtn.readers for their lifetime; a writer that gets the
  // exclusive lock without waiting knows no reader is open (a reader registering meanwhile
  // waits for it). A read-only file system, where no writer can delete anything, needs no
  // registration.
  Result<std::shared_ptr<void>> register_reader() override {
    // Readers never create files (a dataset may sit on read-only media, or in a source
    // tree); writers create gtn.readers when they take the writer lock.
    std::string path = full(kReadersFile);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::shared_ptr<void>();
    int rc;
    do {
      rc = ::flock(fd, LOCK_SH);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
      int err = errno;
      ::close(fd);
      return Status::IOError("cannot register a reader on " + path + ": " + errno_text(err));
    }
    return std::shared_ptr<void>(std::make_shared<WriterLock>(fd));
  }

  Result<std::shared_ptr<void>> lock_out_readers() override {
    std::string path = full(kReadersFile);
    int fd = ::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Status::IOError("cannot open " + path + ": " + errno_text(errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      return std::shared_ptr<void>();
    }
    return std::shared_ptr<void>(std::make_shared<WriterLock>(fd));
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
