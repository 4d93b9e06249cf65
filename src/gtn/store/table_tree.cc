#include "gtn/store/table_tree.h"

#include <xxhash.h>

#include "gtn/store/coding.h"

namespace gtn::store {
namespace {

constexpr uint32_t kBoundaryMask = 15;   // a boundary after 1 in 16 items on average
constexpr uint32_t kMaxItems = 256;      // and after at most this many
constexpr size_t kNodeHeaderBytes = 8;  // u8 level, 3 reserved, u32 item count
constexpr size_t kRefBytes = 56;  // put_node_ref

void put_entry(std::string* out, const ChunkEntry& e) {
  put_le<uint32_t>(out, e.num_samples);
  put_le<uint32_t>(out, e.chunk_offset);
  put_le<uint64_t>(out, e.raw_bytes);
  put_le<uint32_t>(out, static_cast<uint32_t>(e.files.size()));
  for (const auto& f : e.files) {
    put_le<uint64_t>(out, f.id);
    put_le<uint64_t>(out, f.size);
    put_le<uint64_t>(out, f.checksum);
  }
}

void put_header(std::string* out, uint32_t level, uint32_t count) {
  put_le<uint8_t>(out, static_cast<uint8_t>(level));
  put_le<uint8_t>(out, 0);
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

// A node being built: its stored bytes and the bytes its content hash covers.
struct Building {
  uint32_t level = 0;
  std::string items, content;
  uint32_t count = 0;
  uint64_t samples = 0, raw = 0;
};

struct TreeWriter {
  uint64_t version;
  const NodeIndex& known;
  std::string* section;
  std::vector<NodeRef>* placed;
  std::unordered_map<std::string, NodeRef> local;  // content hash bytes -> placed here

  NodeRef finish(Building& b) {
    std::string node, content;
    put_header(&node, b.level, b.count);
    content = node;
    node += b.items;
    content += b.level == 0 ? b.items : b.content;
    XXH128_hash_t h = XXH3_128bits(content.data(), content.size());
    NodeRef r;
    r.hash_lo = h.low64;
    r.hash_hi = h.high64;
    r.size = static_cast<uint32_t>(node.size());
    r.level = b.level;
    r.samples = b.samples;
    r.raw_bytes = b.raw;
    b = Building{b.level};
    if (const NodeRef* k = known.find(r)) return *k;
    std::string key(reinterpret_cast<const char*>(&h), sizeof(h));
    auto it = local.find(key);
    if (it != local.end()) return it->second;
    r.version = version;
    r.offset = section->size();
    section->append(node);
    placed->push_back(r);
    local.emplace(std::move(key), r);
    return r;
  }

  // One level: items (entries at level 0, child refs above) into nodes.
  std::vector<NodeRef> level0(const std::vector<ChunkEntry>& entries) {
    std::vector<NodeRef> out;
    Building b;
    std::string one;
    for (const auto& e : entries) {
      one.clear();
      put_entry(&one, e);
      b.items += one;
      ++b.count;
      b.samples += e.num_samples;
      b.raw += e.raw_bytes;
      if ((XXH3_64bits(one.data(), one.size()) & kBoundaryMask) == kBoundaryMask || b.count >= kMaxItems) {
        out.push_back(finish(b));
      }
    }
    if (b.count) out.push_back(finish(b));
    return out;
  }

  std::vector<NodeRef> upper(const std::vector<NodeRef>& children, uint32_t level) {
    std::vector<NodeRef> out;
    Building b{level};
    for (const auto& c : children) {
      put_node_ref(&b.items, c);
      put_child_content(&b.content, c);
      ++b.count;
      b.samples += c.samples;
      b.raw += c.raw_bytes;
      if ((c.hash_lo & kBoundaryMask) == kBoundaryMask || b.count >= kMaxItems) out.push_back(finish(b));
    }
    if (b.count) out.push_back(finish(b));
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

NodeRef write_table(const std::vector<ChunkEntry>& entries, uint64_t version, const NodeIndex& known,
                    std::string* section, std::vector<NodeRef>* placed) {
  if (entries.empty()) return NodeRef{};
  TreeWriter w{version, known, section, placed, {}};
  std::vector<NodeRef> level = w.level0(entries);
  for (uint32_t l = 1; level.size() > 1; ++l) level = w.upper(level, l);
  return level[0];
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
  std::string_view node = nodes.substr(r.offset, r.size);
  ByteReader in(node);
  uint32_t level = in.get<uint8_t>();
  in.bytes(3);
  uint32_t count = in.get<uint32_t>();
  std::string content;
  std::string_view hashed = node;
  if (level > 0) {
    content.assign(node.substr(0, kNodeHeaderBytes));
    if (static_cast<uint64_t>(count) * kRefBytes != in.remaining()) return bad_node(r, "has a bad size");
    for (uint32_t i = 0; i < count; ++i) put_child_content(&content, get_node_ref(in));
    hashed = content;
  }
  XXH128_hash_t h = XXH3_128bits(hashed.data(), hashed.size());
  if (h.low64 != r.hash_lo || h.high64 != r.hash_hi || level != r.level) {
    return bad_node(r, "does not match its content hash");
  }
  return node;
}

Status read_table(const NodeRef& root, NodeSource* src, std::vector<ChunkEntry>* entries, NodeIndex* known) {
  if (root.empty()) return Status::OK();
  GTN_ASSIGN_OR_RETURN(std::string_view node, src->node(root));
  if (known && src->shareable(root)) known->add(root);
  ByteReader in(node);
  uint32_t level = in.get<uint8_t>();
  in.bytes(3);
  uint32_t count = in.get<uint32_t>();
  uint64_t samples = 0, raw = 0;
  if (level == 0) {
    uint64_t next = entries->empty() ? 0 : entries->back().first_sample + entries->back().num_samples;
    for (uint32_t i = 0; i < count; ++i) {
      ChunkEntry e;
      e.first_sample = next;
      e.num_samples = in.get<uint32_t>();
      e.chunk_offset = in.get<uint32_t>();
      e.raw_bytes = in.get<uint64_t>();
      uint32_t nfiles = in.get<uint32_t>();
      if (!in.ok() || nfiles == 0 || static_cast<uint64_t>(nfiles) * 24 > in.remaining() || e.num_samples == 0 ||
          (nfiles > 1 && (e.num_samples != 1 || e.chunk_offset != 0))) {
        return bad_node(root, "holds a malformed entry " + std::to_string(i));
      }
      for (uint32_t f = 0; f < nfiles; ++f) {
        ChunkFileRef fr;
        fr.id = in.get<uint64_t>();
        fr.size = in.get<uint64_t>();
        fr.checksum = in.get<uint64_t>();
        e.files.push_back(fr);
      }
      next += e.num_samples;
      samples += e.num_samples;
      raw += e.raw_bytes;
      entries->push_back(std::move(e));
    }
  } else {
    if (level != root.level) return bad_node(root, "is at the wrong level");
    for (uint32_t i = 0; i < count; ++i) {
      NodeRef child = get_node_ref(in);
      if (!in.ok() || child.level + 1 != level) return bad_node(root, "holds a malformed child " + std::to_string(i));
      GTN_RETURN_IF_ERROR(read_table(child, src, entries, known));
      samples += child.samples;
      raw += child.raw_bytes;
    }
  }
  if (!in.ok() || in.remaining() != 0 || samples != root.samples || raw != root.raw_bytes) {
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
