// Chunk tables stored as trees of content-defined nodes, shared between versions
// (docs/format.md, "Table trees"). An entry never stores its first sample, only its count,
// so deleting or inserting rows changes the nodes around the change and nothing else;
// node boundaries fall where an item's hash says (content-defined), so equal runs of
// entries give equal nodes in every version, found by content hash and referenced
// instead of written again. A commit therefore writes the nodes on the paths to what
// changed, and a reader loads a version's tables without looking at any other version's
// manifest except to fetch the nodes this version's tree points to.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "gtn/storage.h"
#include "gtn/store/manifest.h"

namespace gtn::store {

// Nodes stored in frozen (committed) manifests, by content hash: what a new version may
// reference instead of writing again.
class NodeIndex {
 public:
  const NodeRef* find(const NodeRef& content) const;
  void add(const NodeRef& r);
  // Stored leaves by a digest of their entries' fixed-width form, so that writing a table
  // again need not encode the leaves it shares (a cache; misses are found by content).
  const NodeRef* find_leaf(uint64_t lo, uint64_t hi) const;
  void add_leaf(uint64_t lo, uint64_t hi, const NodeRef& r) const;
  size_t size() const { return nodes_.size(); }
  // The manifests that store the nodes held.
  std::vector<uint64_t> versions() const {
    std::vector<uint64_t> v;
    for (const auto& [k, r] : nodes_) v.push_back(r.version);
    return v;
  }

 private:
  struct Hash {
    size_t operator()(const std::pair<uint64_t, uint64_t>& k) const { return static_cast<size_t>(k.first ^ (k.second * 31)); }
  };
  std::unordered_map<std::pair<uint64_t, uint64_t>, NodeRef, Hash> nodes_;
  mutable std::unordered_map<std::pair<uint64_t, uint64_t>, NodeRef, Hash> leaves_;
};

// Where the nodes a tree references (but does not write) live: version -> their bytes.
using NodeHolders = std::unordered_map<uint64_t, uint64_t>;

// Builds the tree of `entries` (their first_sample is ignored) for manifest `version`.
// Nodes `known` holds are referenced; the others are appended to *section (that
// manifest's node section) and listed in *placed. Returns the root (size 0: empty table).
// `holders` (optional) collects where the referenced nodes live. `evacuate` (optional):
// leaves living in these versions are written again here instead of referenced, with the
// internal nodes above them, so that a version's tree never spreads over many manifests.
NodeRef write_table(const std::vector<ChunkEntry>& entries, uint64_t version, const NodeIndex& known,
                    std::string* section, std::vector<NodeRef>* placed, NodeHolders* holders = nullptr,
                    const std::unordered_set<uint64_t>* evacuate = nullptr);
// The same over entries held elsewhere (no copy).
NodeRef write_table(const std::vector<const ChunkEntry*>& entries, uint64_t version, const NodeIndex& known,
                    std::string* section, std::vector<NodeRef>* placed, NodeHolders* holders = nullptr,
                    const std::unordered_set<uint64_t>* evacuate = nullptr);

// Fetches node bytes from the manifests that store them, each file read once.
class NodeSource {
 public:
  // `self_frozen`: the manifest being read is committed, so its own nodes may be shared.
  NodeSource(const Storage* storage, uint64_t self_version, std::string_view self_nodes, bool self_frozen)
      : storage_(storage), self_version_(self_version), self_nodes_(self_nodes), self_frozen_(self_frozen) {}
  // Whether a node may be referenced by later versions (it lives in a frozen manifest).
  bool shareable(const NodeRef& r) const { return r.version != self_version_ || self_frozen_; }
  // The node's bytes (read_table decodes them and checks their content hash).
  Result<std::string_view> node(const NodeRef& r);

 private:
  const Storage* storage_;
  uint64_t self_version_;
  std::string_view self_nodes_;
  bool self_frozen_;
  std::unordered_map<uint64_t, std::pair<std::shared_ptr<const Bytes>, std::string_view>> files_;
};

// Appends the entries under `root` to *entries, numbering first_sample from the count
// already there; every node read is added to *known when it is non-null.
Status read_table(const NodeRef& root, NodeSource* src, std::vector<ChunkEntry>* entries, NodeIndex* known);

// The tables of a decoded manifest (format 1 inline; format 2 from its trees), per tensor
// in schema order, and its sample id table. A format 1 manifest has no id table: its ids
// are one run of `length` ids in a block derived from its version id.
struct Tables {
  std::vector<std::vector<ChunkEntry>> tensors;
  std::vector<ChunkEntry> ids;
};
Status load_tables(const Storage& storage, const Manifest& m, Tables* out, NodeIndex* known);

// An id table entry: ids [offset, offset + count) of id block `block`.
ChunkEntry id_run(uint64_t block, uint32_t offset, uint32_t count);
inline uint64_t id_block(const ChunkEntry& e) { return e.files[0].id; }

}  // namespace gtn::store
