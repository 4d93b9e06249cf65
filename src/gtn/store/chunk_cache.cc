#include "gtn/store/chunk_cache.h"

namespace gtn::store {

std::shared_ptr<const std::string> ChunkCache::get(uint64_t id) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = index_.find(id);
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

void ChunkCache::put(uint64_t id, std::shared_ptr<const std::string> data) {
  if (data->size() > capacity_) return;
  std::lock_guard<std::mutex> g(mu_);
  if (index_.count(id)) return;
  bytes_ += data->size();
  lru_.emplace_front(id, std::move(data));
  index_[id] = lru_.begin();
  while (bytes_ > capacity_ && !lru_.empty()) {
    bytes_ -= lru_.back().second->size();
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
}

uint64_t ChunkCache::bytes() const {
  std::lock_guard<std::mutex> g(mu_);
  return bytes_;
}

}  // namespace gtn::store
