#include "gtn/store/table_tree.h"

#include <xxhash.h>

#include <algorithm>

#include "gtn/store/chunk_stats.h"
#include "gtn/store/coding.h"

namespace gtn::store {
namespace {

constexpr uint32_t kBoundaryMask = 15;   // a boundary after 1 in 16 items on average
constexpr uint32_t kMaxItems = 256;      // and after at most this many
constexpr size_t kNodeHeaderBytes = 8;   // u8 level, u8 encoding, u16 reserved, u32 item count
constexpr size_t kRefBytes = 56;         // put_node_ref
// Node encodings: 0 fixed-width items (read only), 1 compact (a file or version dictionary
// and LEB128 varints; written for internal nodes, read only for leaves), 2 compact with
// each dictionary file's statistics (leaves; written).
constexpr uint8_t kFixedEncoding = 0;
constexpr uint8_t kCompactEncoding = 1;
constexpr uint8_t kStatsEncoding = 2;

// The fixed-width form of an entry: what node boundaries are decided on (and encoding 0).
void put_entry(std::string* out, const ChunkEntry& e) {
  put_le<uint32_t>(out, e.num_samples);
  put_le<uint32_t>(out, e.chunk_offset);
  put_le<uint64_t>(out, e.raw_bytes);
  put_le<uint32_t>(out, static_cast<uint32_t>(e.files.size()));
  for (const auto& f : e.files) put_file_ref(out, f);
}

void put_header(std::string* out, uint32_t level, uint8_t encoding, uint32_t count) {
  put_le<uint8_t>(out, static_cast<uint8_t>(level));
  put_le<uint8_t>(out, encoding);
  put_le<uint16_t>(out, 0);
  put_le<uint32_t>(out, count);
}

// What an internal node's content hash covers of a child: everything but where it lives.
void put_child_content(std::string* out, const NodeRef& r) {
  put_le<uint64_t>(out, r.hash_lo);
  put_le<uint64_t>(out, r.hash_hi);
  put_le<uint32_t>(out, r.size);
  put_le<uint32_t>(out, r.level);
  put_le<uint64_t>(out, r.samples);
  put_le<uint64_t>(out, r.raw_bytes);
}

// Encoding 2 of a leaf: header, varint file count, the distinct files (24 bytes each, then
// the file's statistics: chunk_stats.h), then per entry varints: samples, chunk offset, raw
// bytes, file count, file indices. Encoding 1 is the same without the statistics.
std::string encode_leaf(const std::vector<const ChunkEntry*>& items) {
  std::vector<const ChunkFileRef*> files;
  std::unordered_map<uint64_t, uint64_t> index;
  std::string body;
  for (const ChunkEntry* e : items) {
    put_varint(&body, e->num_samples);
    put_varint(&body, e->chunk_offset);
    put_varint(&body, e->raw_bytes);
    put_varint(&body, e->files.size());
    for (const auto& f : e->files) {
      auto [it, added] = index.emplace(f.id, files.size());
      if (added) files.push_back(&f);
      put_varint(&body, it->second);
    }
  }
  std::string node;
  put_header(&node, 0, kStatsEncoding, static_cast<uint32_t>(items.size()));
  put_varint(&node, files.size());
  for (const ChunkFileRef* f : files) {
    put_file_ref(&node, *f);
    put_chunk_stats(&node, f->stats.get());
  }
  return node + body;
}

// Encoding 1 of an internal node: varint version count, the distinct versions (u64 each),
// then per child: u64 hash low, u64 hash high, varints version index, offset, size,
// samples, raw bytes (its level is the node's minus one).
std::string encode_internal(uint32_t level, const std::vector<NodeRef>& children) {
  std::vector<uint64_t> versions;
  std::unordered_map<uint64_t, uint64_t> index;
  std::string body;
  for (const NodeRef& c : children) {
    auto [it, added] = index.emplace(c.version, versions.size());
    if (added) versions.push_back(c.version);
    put_le<uint64_t>(&body, c.hash_lo);
    put_le<uint64_t>(&body, c.hash_hi);
    put_varint(&body, it->second);
    put_varint(&body, c.offset);
    put_varint(&body, c.size);
    put_varint(&body, c.samples);
    put_varint(&body, c.raw_bytes);
  }
  std::string node;
  put_header(&node, level, kCompactEncoding, static_cast<uint32_t>(children.size()));
  put_varint(&node, versions.size());
  for (uint64_t v : versions) put_le<uint64_t>(&node, v);
  return node + body;
}

struct TreeWriter {
  uint64_t version;
  const NodeIndex& known;
  std::string* section;
  std::vector<NodeRef>* placed;
  NodeHolders* holders;
  const std::unordered_set<uint64_t>* evacuate;
  std::unordered_map<std::string, NodeRef> local;  // content hash bytes -> placed here

  // The stored node with this content, if one may be referenced. While evacuating, a leaf
  // stored in an evacuated manifest is written again, and so is every internal node with
  // a child written here (the stored one points at the old place).
  const NodeRef* reuse(const NodeRef& r, bool child_here) {
    const NodeRef* k = known.find(r);
    if (!k || (evacuate && (child_here || evacuate->count(k->version)))) return nullptr;
    if (holders) (*holders)[k->version] += k->size;
    return k;
  }

  // Places a node given its bytes, once per content hash in this manifest.
  NodeRef place(NodeRef r, const std::string& node) {
    std::string key(reinterpret_cast<const char*>(&r.hash_lo), 8);
    key.append(reinterpret_cast<const char*>(&r.hash_hi), 8);
    auto it = local.find(key);
    if (it != local.end()) return it->second;
    r.version = version;
    r.offset = section->size();
    r.size = static_cast<uint32_t>(node.size());
    section->append(node);
    placed->push_back(r);
    local.emplace(std::move(key), r);
    return r;
  }

  std::vector<NodeRef> level0(const std::vector<const ChunkEntry*>& entries) {
    std::vector<NodeRef> out;
    std::vector<const ChunkEntry*> items;
    uint64_t samples = 0, raw = 0;
    std::string one, fixed;
    auto finish = [&] {
      // A leaf stored already is found by the digest of its entries without encoding it.
      XXH128_hash_t d = XXH3_128bits(fixed.data(), fixed.size());
      const NodeRef* cached = known.find_leaf(d.low64, d.high64);
      NodeRef r;
      std::string node;
      if (cached) {
        r = *cached;
      } else {
        node = encode_leaf(items);
        XXH128_hash_t h = XXH3_128bits(node.data(), node.size());
        r.hash_lo = h.low64;
        r.hash_hi = h.high64;
        r.level = 0;
        r.samples = samples;
        r.raw_bytes = raw;
      }
      const NodeRef* k = reuse(r, false);
      if (k) {
        if (!cached) known.add_leaf(d.low64, d.high64, *k);
        out.push_back(*k);
      } else {
        if (node.empty()) node = encode_leaf(items);
        out.push_back(place(r, node));
      }
      items.clear();
      fixed.clear();
      samples = raw = 0;
    };
    for (const ChunkEntry* e : entries) {
      one.clear();
      put_entry(&one, *e);
      fixed += one;
      items.push_back(e);
      samples += e->num_samples;
      raw += e->raw_bytes;
      if ((XXH3_64bits(one.data(), one.size()) & kBoundaryMask) == kBoundaryMask || items.size() >= kMaxItems) finish();
    }
    if (!items.empty()) finish();
    return out;
  }

  std::vector<NodeRef> upper(const std::vector<NodeRef>& children, uint32_t level) {
    std::vector<NodeRef> out;
    std::vector<NodeRef> items;
    uint64_t samples = 0, raw = 0;
    auto finish = [&] {
      // The content hash first: a node stored already is not encoded again.
      std::string content;
      put_header(&content, level, kCompactEncoding, static_cast<uint32_t>(items.size()));
      for (const auto& c : items) put_child_content(&content, c);
      XXH128_hash_t h = XXH3_128bits(content.data(), content.size());
      NodeRef r;
      r.hash_lo = h.low64;
      r.hash_hi = h.high64;
      r.level = level;
      r.samples = samples;
      r.raw_bytes = raw;
      bool child_here = std::any_of(items.begin(), items.end(), [&](const NodeRef& c) { return c.version == version; });
      const NodeRef* k = reuse(r, child_here);
      out.push_back(k ? *k : place(r, encode_internal(level, items)));
      items.clear();
      samples = raw = 0;
    };
    for (const auto& c : children) {
      items.push_back(c);
      samples += c.samples;
      raw += c.raw_bytes;
      if ((c.hash_lo & kBoundaryMask) == kBoundaryMask || items.size() >= kMaxItems) finish();
    }
    if (!items.empty()) finish();
    return out;
  }
};

Status bad_node(const NodeRef& r, const std::string& what) {
  return Status::Corruption(manifest_key(r.version) + ": table node at offset " + std::to_string(r.offset) + " " + what);
}

}  // namespace

const NodeRef* NodeIndex::find(const NodeRef& content) const {
  auto it = nodes_.find({content.hash_lo, content.hash_hi});
  return it == nodes_.end() ? nullptr : &it->second;
}

void NodeIndex::add(const NodeRef& r) { nodes_.emplace(std::make_pair(r.hash_lo, r.hash_hi), r); }

const NodeRef* NodeIndex::find_leaf(uint64_t lo, uint64_t hi) const {
  auto it = leaves_.find({lo, hi});
  return it == leaves_.end() ? nullptr : &it->second;
}

void NodeIndex::add_leaf(uint64_t lo, uint64_t hi, const NodeRef& r) const { leaves_.emplace(std::make_pair(lo, hi), r); }

NodeRef write_table(const std::vector<const ChunkEntry*>& entries, uint64_t version, const NodeIndex& known,
                    std::string* section, std::vector<NodeRef>* placed, NodeHolders* holders,
                    const std::unordered_set<uint64_t>* evacuate) {
  if (entries.empty()) return NodeRef{};
  TreeWriter w{version, known, section, placed, holders, evacuate, {}};
  std::vector<NodeRef> level = w.level0(entries);
  for (uint32_t l = 1; level.size() > 1; ++l) level = w.upper(level, l);
  return level[0];
}

NodeRef write_table(const std::vector<ChunkEntry>& entries, uint64_t version, const NodeIndex& known,
                    std::string* section, std::vector<NodeRef>* placed, NodeHolders* holders,
                    const std::unordered_set<uint64_t>* evacuate) {
  std::vector<const ChunkEntry*> ptrs;
  ptrs.reserve(entries.size());
  for (const auto& e : entries) ptrs.push_back(&e);
  return write_table(ptrs, version, known, section, placed, holders, evacuate);
}

Result<std::string_view> NodeSource::node(const NodeRef& r) {
  std::string_view nodes;
  if (r.version == self_version_) {
    nodes = self_nodes_;
  } else {
    auto it = files_.find(r.version);
    if (it == files_.end()) {
      auto bytes = storage_->read(manifest_key(r.version));
      if (!bytes.ok()) return bad_node(r, "cannot be read: " + bytes.status().message());
      std::string_view section;
      GTN_RETURN_IF_ERROR(manifest_nodes((*bytes)->view(), &section).WithContext(manifest_key(r.version)));
      it = files_.emplace(r.version, std::make_pair(*bytes, section)).first;
    }
    nodes = it->second.second;
  }
  if (r.offset > nodes.size() || r.size > nodes.size() - r.offset || r.size < kNodeHeaderBytes) {
    return bad_node(r, "lies outside the node section (" + std::to_string(nodes.size()) + " bytes)");
  }
  return nodes.substr(r.offset, r.size);
}

namespace {

// A node's items, decoded from either encoding and checked against its content hash.
struct DecodedNode {
  uint32_t level = 0;
  std::vector<ChunkEntry> entries;  // level 0
  std::vector<NodeRef> children;    // above
};

Status decode_node(std::string_view node, const NodeRef& r, DecodedNode* out) {
  ByteReader in(node);
  uint32_t level = in.get<uint8_t>();
  uint8_t encoding = in.get<uint8_t>();
  in.get<uint16_t>();
  uint32_t count = in.get<uint32_t>();
  bool known_encoding = encoding == kFixedEncoding || encoding == kCompactEncoding ||
                        (encoding == kStatsEncoding && level == 0);
  if (!in.ok() || level != r.level || !known_encoding || count == 0 || count > kMaxItems * 4) {
    return bad_node(r, "has a bad header");
  }
  out->level = level;
  auto malformed = [&](uint32_t i) { return bad_node(r, "holds a malformed item " + std::to_string(i)); };
  if (level == 0) {
    std::vector<ChunkFileRef> dict;
    bool compact = encoding != kFixedEncoding;
    if (compact) {
      uint64_t nfiles = 0;
      if (!get_varint(in, &nfiles) || nfiles * 24 > in.remaining()) return bad_node(r, "has a bad file list");
      for (uint64_t f = 0; f < nfiles; ++f) {
        dict.push_back(get_file_ref(in));
        if (encoding == kStatsEncoding && !get_chunk_stats(in, &dict.back().stats)) {
          return bad_node(r, "has malformed statistics for file " + std::to_string(f));
        }
      }
    }
    for (uint32_t i = 0; i < count; ++i) {
      ChunkEntry e;
      uint64_t n = 0, off = 0, nfiles = 0;
      if (compact) {
        if (!get_varint(in, &n) || !get_varint(in, &off) || !get_varint(in, &e.raw_bytes) || !get_varint(in, &nfiles) ||
            n > UINT32_MAX || off > UINT32_MAX || nfiles > in.remaining()) {
          return malformed(i);
        }
        for (uint64_t f = 0; f < nfiles; ++f) {
          uint64_t k = 0;
          if (!get_varint(in, &k) || k >= dict.size()) return malformed(i);
          e.files.push_back(dict[k]);
        }
      } else {
        n = in.get<uint32_t>();
        off = in.get<uint32_t>();
        e.raw_bytes = in.get<uint64_t>();
        nfiles = in.get<uint32_t>();
        if (!in.ok() || nfiles * 24 > in.remaining()) return malformed(i);
        for (uint64_t f = 0; f < nfiles; ++f) e.files.push_back(get_file_ref(in));
      }
      e.num_samples = static_cast<uint32_t>(n);
      e.chunk_offset = static_cast<uint32_t>(off);
      if (!in.ok() || nfiles == 0 || e.num_samples == 0 || (nfiles > 1 && (e.num_samples != 1 || e.chunk_offset != 0))) {
        return malformed(i);
      }
      out->entries.push_back(std::move(e));
    }
  } else {
    std::vector<uint64_t> versions;
    if (encoding == kCompactEncoding) {
      uint64_t nv = 0;
      if (!get_varint(in, &nv) || nv * 8 > in.remaining()) return bad_node(r, "has a bad version list");
      for (uint64_t v = 0; v < nv; ++v) versions.push_back(in.get<uint64_t>());
    } else if (static_cast<uint64_t>(count) * kRefBytes != in.remaining()) {
      return bad_node(r, "has a bad size");
    }
    for (uint32_t i = 0; i < count; ++i) {
      NodeRef c;
      if (encoding == kCompactEncoding) {
        c.hash_lo = in.get<uint64_t>();
        c.hash_hi = in.get<uint64_t>();
        uint64_t vi = 0, size = 0;
        if (!get_varint(in, &vi) || vi >= versions.size() || !get_varint(in, &c.offset) || !get_varint(in, &size) ||
            size > UINT32_MAX || !get_varint(in, &c.samples) || !get_varint(in, &c.raw_bytes)) {
          return malformed(i);
        }
        c.version = versions[vi];
        c.size = static_cast<uint32_t>(size);
        c.level = level - 1;
      } else {
        c = get_node_ref(in);
      }
      if (!in.ok() || c.level + 1 != level || c.size == 0) return malformed(i);
      out->children.push_back(c);
    }
  }
  if (!in.ok() || in.remaining() != 0) return bad_node(r, "has trailing or missing bytes");
  // The content hash: a leaf's bytes; an internal node's header and children's contents.
  std::string content;
  std::string_view hashed = node;
  if (level > 0) {
    content.assign(node.substr(0, kNodeHeaderBytes));
    for (const auto& c : out->children) put_child_content(&content, c);
    hashed = content;
  }
  XXH128_hash_t h = XXH3_128bits(hashed.data(), hashed.size());
  if (h.low64 != r.hash_lo || h.high64 != r.hash_hi) return bad_node(r, "does not match its content hash");
  return Status::OK();
}

}  // namespace

Status read_table(const NodeRef& root, NodeSource* src, std::vector<ChunkEntry>* entries, NodeIndex* known) {
  if (root.empty()) return Status::OK();
  GTN_ASSIGN_OR_RETURN(std::string_view bytes, src->node(root));
  DecodedNode node;
  GTN_RETURN_IF_ERROR(decode_node(bytes, root, &node));
  if (known && src->shareable(root)) known->add(root);
  uint64_t samples = 0, raw = 0;
  if (node.level == 0) {
    uint64_t next = entries->empty() ? 0 : entries->back().first_sample + entries->back().num_samples;
    for (auto& e : node.entries) {
      e.first_sample = next;
      next += e.num_samples;
      samples += e.num_samples;
      raw += e.raw_bytes;
      entries->push_back(std::move(e));
    }
  } else {
    for (const auto& child : node.children) {
      GTN_RETURN_IF_ERROR(read_table(child, src, entries, known));
      samples += child.samples;
      raw += child.raw_bytes;
    }
  }
  if (samples != root.samples || raw != root.raw_bytes) {
    return bad_node(root, "does not add up to the samples and bytes its parent records");
  }
  return Status::OK();
}

ChunkEntry id_run(uint64_t block, uint32_t offset, uint32_t count) {
  ChunkEntry e;
  e.num_samples = count;
  e.chunk_offset = offset;
  e.files.push_back(ChunkFileRef{block, 0, 0});
  return e;
}

Status load_tables(const Storage& storage, const Manifest& m, Tables* out, NodeIndex* known) {
  out->tensors.clear();
  out->ids.clear();
  if (m.format == 1) {
    out->tensors = m.chunks;
    for (uint64_t done = 0; done < m.length;) {
      uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(m.length - done, UINT32_MAX));
      ChunkEntry e = id_run(m.version_id ^ 0x9e3779b97f4a7c15ull, 0, n);
      e.first_sample = done;
      e.chunk_offset = static_cast<uint32_t>(done);  // one block per format 1 version
      out->ids.push_back(std::move(e));
      done += n;
    }
    return Status::OK();
  }
  NodeSource src(&storage, m.version_id, m.nodes, m.commit.committed);
  GTN_RETURN_IF_ERROR(read_table(m.roots[0], &src, &out->ids, known));
  out->tensors.resize(m.tensors.size());
  for (size_t t = 0; t < m.tensors.size(); ++t) {
    GTN_RETURN_IF_ERROR(read_table(m.roots[t + 1], &src, &out->tensors[t], known)
                            .WithContext("tensor '" + m.tensors[t].name + "'"));
  }
  return Status::OK();
}

}  // namespace gtn::store
