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
  // --- reader registry (docs/format.md, "Readers and garbage collection") ---
  // The registry lock (flock on "gtn.readers"), held until the handle dies. Readers hold it
  // shared while they open (from reading the ref until register_reader returns); a writer
  // or gc deleting files holds it exclusive, which waits for opening readers and keeps new
  // ones waiting. Backends that cannot lock return a null handle. `exclusive` locks wait;
  // shared locks wait too. If gtn.readers does not exist and the backend is read-only media
  // (cannot create it), return null (readers on read-only media are not registered).
  virtual Result<std::shared_ptr<void>> lock_registry(bool exclusive) {
    (void)exclusive;
    return std::shared_ptr<void>();
  }
  // Records that this process reads the states named in `versions` (16-hex-digit version
  // ids, one per line in the registration) until the handle dies: a file
  // "readers/<pid>-<16 random hex>" holding them, kept under an exclusive flock for the
  // handle's life and deleted when the handle dies (by the registering process only: a
  // forked child dropping its copy leaves it). Null handle where the backend cannot
  // record (folder not writable: read-only media).
  virtual Result<std::shared_ptr<void>> register_reader(const std::vector<uint64_t>& versions) {
    (void)versions;
    return std::shared_ptr<void>();
  }
  // The versions every live reader registered (sorted, each once). A registration whose
  // flock can be taken belongs to a dead process: it is deleted and not reported. Call
  // while holding the exclusive registry lock.
  virtual Result<std::vector<uint64_t>> live_reader_versions() { return std::vector<uint64_t>(); }
  // "file:///abs/path" or "memory://name", for messages.
  virtual std::string describe() const = 0;
};

// The local-directory backend rooted at `root` (created if `create` and missing).
Result<std::shared_ptr<Storage>> open_local_storage(const std::string& root, bool create);
// A process-local in-memory backend (for tests and scratch datasets).
std::shared_ptr<Storage> make_memory_storage();

}  // namespace gtn
