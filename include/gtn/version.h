// GTN-F version control: the values that commit, log, diff, merge and gc return.
// The operations are methods of gtn::Dataset (dataset.h); docs/versions.md explains the
// model and docs/format.md the bytes.
//
// Names: a *commit id* is 16 lowercase hex digits (a unique prefix of at least 4 digits is
// accepted wherever a commit is named). A *target* is a branch, a tag or a commit id.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gtn {

// One commit, as log() lists it.
struct CommitInfo {
  std::string id;                    // 16 hex digits
  std::vector<std::string> parents;  // first parent first; two for a merge; none for the root
  std::string message;
  std::string author;
  int64_t time_ms = 0;  // Unix time of the commit, milliseconds
  uint64_t length = 0;  // rows in the committed state
};

// What changed in one tensor between two states a and b. Samples are matched by their
// stable sample ids, not by position: a sample that moved (rows deleted before it) is not
// "updated". Indices of added and updated samples are positions in b, of deleted ones in a.
struct TensorDiff {
  std::string name;      // the tensor's name in b (in a when it was deleted)
  std::string old_name;  // its name in a when it was renamed; empty otherwise
  // Schema changes, in this order where they apply: "added", "deleted", "renamed",
  // "htype" (old -> new in `detail`), "dtype", "compression", "class_names".
  std::vector<std::string> schema_changes;
  std::string detail;  // e.g. "dtype float32 -> float16"; empty when nothing to add
  std::vector<uint64_t> added;
  std::vector<uint64_t> updated;
  std::vector<uint64_t> deleted;
  bool empty() const { return schema_changes.empty() && added.empty() && updated.empty() && deleted.empty(); }
};

struct DatasetDiff {
  std::string a, b;  // the commit ids compared ("" for the uncommitted state)
  // Rows (samples of every tensor) present in b only, positions in b, and present in a
  // only, positions in a.
  std::vector<uint64_t> rows_added;
  std::vector<uint64_t> rows_deleted;
  // Every tensor of a and of b, in b's schema order then the tensors deleted; a tensor
  // whose TensorDiff is empty did not change.
  std::vector<TensorDiff> tensors;
  bool empty() const;
};

// How merge() settles a sample that both sides changed differently.
enum class MergePolicy : uint8_t {
  kFail = 0,    // change nothing; report the conflicts
  kOurs = 1,    // keep the current branch's value (or deletion)
  kTheirs = 2,  // take the merged branch's value (or deletion)
};

// One (sample, tensor) that both sides changed since their common ancestor.
struct MergeConflict {
  std::string tensor;
  uint64_t sample_id = 0;   // the stable id of the sample
  int64_t ours_index = -1;  // its position on the current branch; -1 if deleted there
  int64_t theirs_index = -1;  // its position on the merged branch; -1 if deleted there
  // "both updated", "updated here, deleted there", "deleted here, updated there",
  // "both added" (a tensor both sides created with different schemas).
  std::string kind;
};

struct MergeResult {
  // The merge commit (or, for a fast-forward, the commit the branch moved to); empty when
  // conflicts stopped the merge (MergePolicy::kFail), in which case nothing changed.
  std::string commit;
  bool fast_forward = false;
  bool up_to_date = false;  // the merged branch was already contained: nothing done
  std::vector<MergeConflict> conflicts;  // found (and, with kOurs/kTheirs, settled)
  uint64_t rows_added = 0;    // rows taken from the merged branch
  uint64_t rows_deleted = 0;  // rows the merged branch deleted, deleted here
  uint64_t samples_updated = 0;  // (sample, tensor) values taken from the merged branch
};

struct CheckoutOptions {
  bool create = false;  // create the branch at the current commit first
  // Switch even when the current branch has uncommitted changes. They are not lost: a
  // branch keeps its uncommitted state (flushed), and checking it out again returns to it.
  bool force = false;
};

struct GcStats {
  uint64_t files_deleted = 0;
  uint64_t bytes_freed = 0;
  // Unreachable files kept because a registered reader's version still needs them.
  uint64_t files_kept_for_readers = 0;
  uint64_t versions_deleted = 0;  // manifests of unreachable states
};

struct CompactStats {
  uint64_t samples_rewritten = 0;
  uint64_t entries_before = 0;  // chunk table entries of every tensor
  uint64_t entries_after = 0;
};

}  // namespace gtn
