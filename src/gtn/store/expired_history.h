// Expired history (docs/versions.md, "Expiring history"): commits whose parents were cut
// off by Dataset::expire_history, kept in "expired.json" at the dataset root. Every reader
// treats such a commit as a root, so gc frees what only its ancestors held. gc also lists
// there the unreachable commits whose manifests it had to keep, so they are not opened.
#pragma once

#include <cstdint>
#include <unordered_set>

#include "gtn/result.h"
#include "gtn/storage.h"

namespace gtn::store {

inline constexpr const char* kExpiredKey = "expired.json";

struct ExpiredHistory {
  // Commits whose history was expired: read as roots.
  std::unordered_set<uint64_t> commits;
  // Commits gc found unreachable whose manifests it kept because reachable versions share
  // their table nodes: their chunk files may be gone, so they cannot be opened.
  std::unordered_set<uint64_t> unreachable;
};

// Empty sets when the file does not exist.
Result<ExpiredHistory> load_expired(const Storage& storage);
// Writes both sets (atomically, durably).
Status save_expired(Storage& storage, const ExpiredHistory& history);

}  // namespace gtn::store
