// The in-memory Storage backend: a map from key to immutable bytes, for tests and scratch data.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>

#include "gtn/storage.h"

namespace gtn {
namespace {

class StringBytes final : public Bytes {
 public:
  explicit StringBytes(std::string s) : s_(std::move(s)) {}
  const uint8_t* data() const override { return reinterpret_cast<const uint8_t*>(s_.data()); }
  size_t size() const override { return s_.size(); }

 private:
  std::string s_;
};

// A non-null handle (null means "cannot lock" or "not registered") that runs `release`
// when it dies.
std::shared_ptr<void> handle(std::function<void()> release) {
  class Releaser {
   public:
    explicit Releaser(std::function<void()> f) : f_(std::move(f)) {}
    ~Releaser() { f_(); }
    Releaser(const Releaser&) = delete;
    Releaser& operator=(const Releaser&) = delete;

   private:
    std::function<void()> f_;
  };
  return std::make_shared<Releaser>(std::move(release));
}

class MemoryStorage final : public Storage, public std::enable_shared_from_this<MemoryStorage> {
 public:
  MemoryStorage() {
    static std::atomic<uint64_t> next{0};
    name_ = "memory://" + std::to_string(next++);
  }

  Result<std::shared_ptr<const Bytes>> read(const std::string& key) const override {
    std::lock_guard<std::mutex> g(mu_);
    auto it = objects_.find(key);
    if (it == objects_.end()) return Status::NotFound("no object " + name_ + "/" + key);
    return it->second;
  }
  Status write_atomic(const std::string& key, std::string_view bytes) override {
    auto obj = std::make_shared<const StringBytes>(std::string(bytes));
    std::lock_guard<std::mutex> g(mu_);
    objects_[key] = std::move(obj);
    return Status::OK();
  }
  Result<bool> exists(const std::string& key) const override {
    std::lock_guard<std::mutex> g(mu_);
    return objects_.count(key) > 0;
  }
  Result<std::vector<std::string>> list(const std::string& prefix) const override {
    std::lock_guard<std::mutex> g(mu_);
    std::vector<std::string> keys;
    for (auto it = objects_.lower_bound(prefix); it != objects_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
      keys.push_back(it->first);
    }
    return keys;
  }
  Status remove(const std::string& key) override {
    std::lock_guard<std::mutex> g(mu_);
    objects_.erase(key);
    return Status::OK();
  }
  Result<std::shared_ptr<void>> lock_for_writing() override {
    bool expected = false;
    if (!locked_.compare_exchange_strong(expected, true)) {
      return Status::Locked("dataset " + name_ + " is locked by another writer (pid " + std::to_string(::getpid()) + ")");
    }
    auto self = shared_from_this();
    return std::shared_ptr<void>(nullptr, [self](void*) { self->locked_ = false; });
  }
  // The registry lock: any number of shared holders or one exclusive holder (a mutex and a
  // condition variable rather than std::shared_mutex, so a handle may die on any thread).
  Result<std::shared_ptr<void>> lock_registry(bool exclusive) override {
    std::unique_lock<std::mutex> g(registry_mu_);
    if (exclusive) {
      registry_cv_.wait(g, [&] { return !registry_exclusive_ && registry_shared_ == 0; });
      registry_exclusive_ = true;
    } else {
      registry_cv_.wait(g, [&] { return !registry_exclusive_; });
      ++registry_shared_;
    }
    auto self = shared_from_this();
    return handle([self, exclusive] {
      {
        std::lock_guard<std::mutex> g(self->registry_mu_);
        if (exclusive) {
          self->registry_exclusive_ = false;
        } else {
          --self->registry_shared_;
        }
      }
      self->registry_cv_.notify_all();
    });
  }
  // Readers of a memory dataset live in this process: a registration lasts exactly as long
  // as its handle.
  Result<std::shared_ptr<void>> register_reader(const std::vector<uint64_t>& versions) override {
    std::lock_guard<std::mutex> g(registry_mu_);
    uint64_t id = next_reader_++;
    readers_[id] = versions;
    auto self = shared_from_this();
    return handle([self, id] {
      std::lock_guard<std::mutex> g(self->registry_mu_);
      self->readers_.erase(id);
    });
  }
  Result<std::vector<uint64_t>> live_reader_versions() override {
    std::lock_guard<std::mutex> g(registry_mu_);
    std::vector<uint64_t> out;
    for (const auto& [id, versions] : readers_) out.insert(out.end(), versions.begin(), versions.end());
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }
  std::string describe() const override { return name_; }

 private:
  std::string name_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const Bytes>> objects_;
  std::atomic<bool> locked_{false};
  // The reader registry: lock state, and the versions each live registration named.
  std::mutex registry_mu_;
  std::condition_variable registry_cv_;
  bool registry_exclusive_ = false;
  int registry_shared_ = 0;
  uint64_t next_reader_ = 0;
  std::map<uint64_t, std::vector<uint64_t>> readers_;
};

}  // namespace

std::shared_ptr<Storage> make_memory_storage() { return std::make_shared<MemoryStorage>(); }

}  // namespace gtn
