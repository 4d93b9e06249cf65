// Storage: the key-value backend a dataset lives in (local directory, memory; an object
// store later). Keys are '/'-separated relative paths such as "chunks/t0/0001.chunk".
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gtn/result.h"

namespace gtn {

// Immutable bytes returned by Storage::read; may be an mmap of a file.
class Bytes {
 public:
  virtual ~Bytes() = default;
  virtual const uint8_t* data() const = 0;
  virtual size_t size() const = 0;
  std::string_view view() const { return {reinterpret_cast<const char*>(data()), size()}; }
  // Access hints for bytes mapped from a file (no-ops for bytes already in memory).
  // Reads will jump around: fetch only the pages touched, without read-around.
  virtual void hint_random_access() const {}
  // Bytes [offset, offset + length) will be read soon: fetch them in one request.
  virtual void hint_will_need(size_t offset, size_t length) const {
    (void)offset;
    (void)length;
  }
};

class Storage {
 public:
  virtual ~Storage() = default;
  // The whole object at `key` (NotFound if absent). Local files are memory-mapped.
  virtual Result<std::shared_ptr<const Bytes>> read(const std::string& key) const = 0;
  // Writes `bytes` at `key` atomically (temporary file, fsync, rename): readers see the
  // old object or the new one, never a mix.
  virtual Status write_atomic(const std::string& key, std::string_view bytes) = 0;
  // Like write_atomic, without waiting for the disk: readers, and a process killed at any
  // point, still see the old object or the new one, but after a power loss the object may
  // be old, missing or empty until sync() has covered it. Backends with nothing to sync
  // keep this default.
  virtual Status write_atomic_unsynced(const std::string& key, std::string_view bytes) {
    return write_atomic(key, bytes);
  }
  // Makes the objects at `keys` (written by write_atomic_unsynced) and their directory
  // entries durable.
  virtual Status sync(const std::vector<std::string>& keys) {
    (void)keys;
    return Status::OK();
  }
  virtual Result<bool> exists(const std::string& key) const = 0;
  // Keys that start with `prefix`, sorted.
  virtual Result<std::vector<std::string>> list(const std::string& prefix) const = 0;
  virtual Status remove(const std::string& key) = 0;
  // Takes the single-writer lock; Locked error if another writer holds it. Released on destruction.
  virtual Result<std::shared_ptr<void>> lock_for_writing() = 0;
  // Registers a reader until the returned handle is destroyed, so that a writer never
  // deletes a file the reader's version may still need (a reader maps chunk files on
  // first touch). Backends that cannot tell return a null handle.
  virtual Result<std::shared_ptr<void>> register_reader() { return std::shared_ptr<void>(); }
  // A handle that keeps new readers out (their register_reader waits) while it lives, or
  // null when a reader is registered now or the backend cannot tell. A writer deletes
  // files the current version no longer names only while it holds one.
  virtual Result<std::shared_ptr<void>> lock_out_readers() { return std::shared_ptr<void>(); }
  // "file:///abs/path" or "memory://name", for messages.
  virtual std::string describe() const = 0;
};

// The local-directory backend rooted at `root` (created if `create` and missing).
Result<std::shared_ptr<Storage>> open_local_storage(const std::string& root, bool create);
// A process-local in-memory backend (for tests and scratch datasets).
std::shared_ptr<Storage> make_memory_storage();

}  // namespace gtn
