// The in-memory Storage backend: a map from key to immutable bytes, for tests and scratch data.
#include <algorithm>
#include <atomic>
#include <map>
#include <unistd.h>
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
  std::string describe() const override { return name_; }

 private:
  std::string name_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const Bytes>> objects_;
  std::atomic<bool> locked_{false};
};

}  // namespace

std::shared_ptr<Storage> make_memory_storage() { return std::make_shared<MemoryStorage>(); }

}  // namespace gtn
