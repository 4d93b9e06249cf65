// A bounded LRU cache of decompressed chunk data regions, shared by the readers of one
// dataset (OpenOptions::chunk_cache_bytes). Thread-safe.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace gtn::store {

class ChunkCache {
 public:
  explicit ChunkCache(uint64_t capacity_bytes) : capacity_(capacity_bytes) {}

  // The cached data of chunk `id`, or null.
  std::shared_ptr<const std::string> get(uint64_t id);
  // Keeps `data` for chunk `id`, evicting least recently used chunks beyond the capacity.
  // Data larger than the whole capacity is not kept.
  void put(uint64_t id, std::shared_ptr<const std::string> data);
  uint64_t bytes() const;

 private:
  using Entry = std::pair<uint64_t, std::shared_ptr<const std::string>>;
  mutable std::mutex mu_;
  uint64_t capacity_;
  uint64_t bytes_ = 0;
  std::list<Entry> lru_;  // most recent first
  std::unordered_map<uint64_t, std::list<Entry>::iterator> index_;
};

}  // namespace gtn::store
