#include "gtn/store/manifest.h"

#include <nlohmann/json.hpp>

#include <set>

#include "gtn/store/checksum.h"
#include "gtn/store/coding.h"

namespace gtn::store {
namespace {
constexpr char kMagic[4] = {'G', 'T', 'N', 'M'};
constexpr size_t kChunkEntryBytes = 8 + 4 + 8 + 4;
constexpr size_t kFileRefBytes = 24;
}  // namespace

std::string manifest_key(uint64_t version_id) { return "versions/" + hex_id(version_id) + ".manifest"; }

std::string chunk_key(const std::string& tensor_key, uint64_t chunk_id) {
  return "chunks/" + tensor_key + "/" + hex_id(chunk_id) + ".chunk";
}

std::string encode_schema(const std::vector<TensorMeta>& tensors, uint64_t next_key) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& t : tensors) {
    nlohmann::ordered_json j;
    j["name"] = t.name;
    j["key"] = t.key;
    j["htype"] = t.htype;
    j["dtype"] = std::string(dtype_name(t.dtype));
    j["sample_compression"] = std::string(compression_name(t.sample_compression));
    j["chunk_compression"] = std::string(compression_name(t.chunk_compression));
    j["chunk_target_bytes"] = t.chunk_target_bytes;
    if (t.compression_level != 0) j["compression_level"] = t.compression_level;
    j["class_names"] = t.class_names;
    j["rank"] = t.rank;
    list.push_back(std::move(j));
  }
  nlohmann::ordered_json root;
  root["tensors"] = std::move(list);
  if (next_key > 0) root["next_key"] = next_key;
  return root.dump();
}

Status decode_schema(std::string_view text, std::vector<TensorMeta>* tensors, uint64_t* next_key) {
  tensors->clear();
  auto root = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (root.is_discarded() || !root.is_object() || !root.contains("tensors") || !root["tensors"].is_array()) {
    return Status::Corruption("manifest schema is not a JSON object with a \"tensors\" list");
  }
  std::set<std::string> names, keys;
  for (const auto& j : root["tensors"]) {
    auto str = [&](const char* field, std::string* out) -> Status {
      if (!j.is_object() || !j.contains(field) || !j[field].is_string()) {
        return Status::Corruption(std::string("manifest schema: tensor entry lacks string field \"") + field + "\"");
      }
      *out = j[field].get<std::string>();
      return Status::OK();
    };
    TensorMeta t;
    std::string dtype, sc, cc;
    GTN_RETURN_IF_ERROR(str("name", &t.name));
    GTN_RETURN_IF_ERROR(str("key", &t.key));
    GTN_RETURN_IF_ERROR(str("htype", &t.htype));
    GTN_RETURN_IF_ERROR(str("dtype", &dtype));
    GTN_RETURN_IF_ERROR(str("sample_compression", &sc));
    GTN_RETURN_IF_ERROR(str("chunk_compression", &cc));
    auto d = parse_dtype(dtype);
    auto s = parse_compression(sc);
    auto c = parse_compression(cc);
    if (!d.ok() || !s.ok() || !c.ok()) return Status::Corruption("manifest schema: bad dtype or compression for tensor '" + t.name + "'");
    t.dtype = *d;
    t.sample_compression = *s;
    t.chunk_compression = *c;
    if (!j.contains("chunk_target_bytes") || !j["chunk_target_bytes"].is_number_unsigned() ||
        !j.contains("rank") || !j["rank"].is_number_integer() || !j.contains("class_names") ||
        !j["class_names"].is_array()) {
      return Status::Corruption("manifest schema: tensor '" + t.name + "' lacks chunk_target_bytes, rank or class_names");
    }
    t.chunk_target_bytes = j["chunk_target_bytes"].get<uint64_t>();
    if (j.contains("compression_level")) {
      const auto& level = j["compression_level"];
      if (!level.is_number_integer() || level.get<int64_t>() < -(1 << 20) || level.get<int64_t>() > (1 << 20)) {
        return Status::Corruption("manifest schema: bad compression_level for tensor '" + t.name + "'");
      }
      t.compression_level = static_cast<int>(level.get<int64_t>());
    }
    int64_t rank = j["rank"].get<int64_t>();
    if (rank < -1 || rank > 32) return Status::Corruption("manifest schema: bad rank for tensor '" + t.name + "'");
    t.rank = static_cast<int>(rank);
    for (const auto& n : j["class_names"]) {
      if (!n.is_string()) return Status::Corruption("manifest schema: class name is not a string");
      t.class_names.push_back(n.get<std::string>());
    }
    if (t.key.empty() || t.key.find('/') != std::string::npos || t.key.find("..") != std::string::npos ||
        !names.insert(t.name).second || !keys.insert(t.key).second || t.chunk_target_bytes == 0) {
      return Status::Corruption("manifest schema: duplicate or invalid tensor name/key '" + t.name + "'");
    }
    tensors->push_back(std::move(t));
  }
  if (next_key) {
    *next_key = 0;
    if (root.contains("next_key")) {
      if (!root["next_key"].is_number_unsigned()) return Status::Corruption("manifest schema: next_key is not a count");
      *next_key = root["next_key"].get<uint64_t>();
    }
  }
  return Status::OK();
}

namespace {

std::string encode_commit(const CommitMeta& c) {
  nlohmann::ordered_json j;
  std::vector<std::string> parents;
  for (uint64_t p : c.parents) parents.push_back(hex_id(p));
  j["parents"] = parents;
  j["message"] = c.message;
  j["author"] = c.author;
  j["time_ms"] = c.time_ms;
  return j.dump();
}

Status decode_commit(std::string_view text, CommitMeta* c) {
  auto j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("parents") || !j["parents"].is_array() ||
      !j.contains("message") || !j["message"].is_string() || !j.contains("author") || !j["author"].is_string() ||
      !j.contains("time_ms") || !j["time_ms"].is_number_integer()) {
    return Status::Corruption("manifest commit record is not a JSON object with parents, message, author, time_ms");
  }
  for (const auto& p : j["parents"]) {
    uint64_t id = 0;
    if (!p.is_string() || !parse_hex_id(p.get<std::string>(), &id) || id == 0) {
      return Status::Corruption("manifest commit record: a parent is not a 16-digit hex id");
    }
    c->parents.push_back(id);
  }
  c->message = j["message"].get<std::string>();
  c->author = j["author"].get<std::string>();
  c->time_ms = j["time_ms"].get<int64_t>();
  return Status::OK();
}

void put_entry_v1(std::string* out, const ChunkEntry& e) {
  put_le<uint64_t>(out, e.first_sample);
  put_le<uint32_t>(out, e.num_samples);
  put_le<uint64_t>(out, e.raw_bytes);
  put_le<uint32_t>(out, static_cast<uint32_t>(e.files.size()));
  for (const auto& f : e.files) put_file_ref(out, f);
}

Status check_trailer(std::string_view bytes) {
  if (bytes.size() < 44) return Status::Corruption("manifest is truncated: " + std::to_string(bytes.size()) + " bytes");
  if (bytes.substr(0, 4) != std::string_view(kMagic, 4)) return Status::Corruption("not a manifest (bad magic)");
  uint64_t stored = load_le<uint64_t>(reinterpret_cast<const uint8_t*>(bytes.data()) + bytes.size() - 8);
  uint64_t computed = checksum64(bytes.data(), bytes.size() - 8);
  if (stored != computed) {
    return Status::Corruption("manifest checksum mismatch: stored " + checksum_to_string(stored) + ", computed " +
                              checksum_to_string(computed));
  }
  return Status::OK();
}

Status decode_v1_tables(ByteReader& in, Manifest* m) {
  uint32_t ntensors = in.get<uint32_t>();
  if (!in.ok() || ntensors != m->tensors.size()) {
    return Status::Corruption("manifest chunk tables (" + std::to_string(ntensors) + ") do not match the schema's " +
                              std::to_string(m->tensors.size()) + " tensors");
  }
  m->chunks.resize(ntensors);
  for (uint32_t t = 0; t < ntensors; ++t) {
    uint32_t nentries = in.get<uint32_t>();
    if (!in.ok() || static_cast<uint64_t>(nentries) * (kChunkEntryBytes + kFileRefBytes) > in.remaining()) {
      return Status::Corruption("manifest chunk table of tensor '" + m->tensors[t].name + "' is truncated");
    }
    auto& table = m->chunks[t];
    table.reserve(nentries);
    uint64_t next = 0;
    for (uint32_t i = 0; i < nentries; ++i) {
      ChunkEntry e;
      e.first_sample = in.get<uint64_t>();
      e.num_samples = in.get<uint32_t>();
      e.raw_bytes = in.get<uint64_t>();
      uint32_t nfiles = in.get<uint32_t>();
      if (!in.ok() || nfiles == 0 || static_cast<uint64_t>(nfiles) * kFileRefBytes > in.remaining()) {
        return Status::Corruption("manifest chunk entry of tensor '" + m->tensors[t].name + "' is truncated");
      }
      for (uint32_t f = 0; f < nfiles; ++f) e.files.push_back(get_file_ref(in));
      if (e.first_sample != next || e.num_samples == 0 || (nfiles > 1 && e.num_samples != 1)) {
        return Status::Corruption("manifest chunk table of tensor '" + m->tensors[t].name +
                                  "' is not a contiguous run of samples at entry " + std::to_string(i));
      }
      next = e.first_sample + e.num_samples;
      table.push_back(std::move(e));
    }
    if (next < m->length) {
      return Status::Corruption("manifest: tensor '" + m->tensors[t].name + "' holds " + std::to_string(next) +
                                " samples, fewer than the dataset length " + std::to_string(m->length));
    }
  }
  return Status::OK();
}

}  // namespace

void put_file_ref(std::string* out, const ChunkFileRef& f) {
  put_le<uint64_t>(out, f.id);
  put_le<uint64_t>(out, f.size);
  put_le<uint64_t>(out, f.checksum);
}

ChunkFileRef get_file_ref(ByteReader& in) {
  ChunkFileRef f;
  f.id = in.get<uint64_t>();
  f.size = in.get<uint64_t>();
  f.checksum = in.get<uint64_t>();
  return f;
}

void put_node_ref(std::string* out, const NodeRef& r) {
  put_le<uint64_t>(out, r.hash_lo);
  put_le<uint64_t>(out, r.hash_hi);
  put_le<uint64_t>(out, r.version);
  put_le<uint64_t>(out, r.offset);
  put_le<uint32_t>(out, r.size);
  put_le<uint32_t>(out, r.level);
  put_le<uint64_t>(out, r.samples);
  put_le<uint64_t>(out, r.raw_bytes);
}

NodeRef get_node_ref(ByteReader& in) {
  NodeRef r;
  r.hash_lo = in.get<uint64_t>();
  r.hash_hi = in.get<uint64_t>();
  r.version = in.get<uint64_t>();
  r.offset = in.get<uint64_t>();
  r.size = in.get<uint32_t>();
  r.level = in.get<uint32_t>();
  r.samples = in.get<uint64_t>();
  r.raw_bytes = in.get<uint64_t>();
  return r;
}

std::string encode_manifest(const Manifest& m, std::string_view nodes) {
  std::string out;
  out.append(kMagic, 4);
  put_le<uint16_t>(&out, 2);
  put_le<uint16_t>(&out, m.commit.committed ? 1 : 0);
  put_le<uint64_t>(&out, m.version_id);
  put_le<uint64_t>(&out, m.length);
  std::string commit = encode_commit(m.commit);
  put_le<uint32_t>(&out, static_cast<uint32_t>(commit.size()));
  out += commit;
  std::string schema = encode_schema(m.tensors, m.next_tensor_key);
  put_le<uint32_t>(&out, static_cast<uint32_t>(schema.size()));
  out += schema;
  put_le<uint32_t>(&out, static_cast<uint32_t>(m.roots.size()));
  for (const auto& r : m.roots) put_node_ref(&out, r);
  put_le<uint64_t>(&out, nodes.size());
  out.append(nodes.data(), nodes.size());
  put_le<uint64_t>(&out, checksum64(out.data(), out.size()));
  return out;
}

std::string encode_manifest_v1(const Manifest& m, uint64_t parent_id) {
  std::string out;
  out.append(kMagic, 4);
  put_le<uint16_t>(&out, 1);
  put_le<uint16_t>(&out, 0);
  put_le<uint64_t>(&out, m.version_id);
  put_le<uint64_t>(&out, parent_id);
  put_le<uint64_t>(&out, m.length);
  std::string schema = encode_schema(m.tensors, m.next_tensor_key);
  put_le<uint32_t>(&out, static_cast<uint32_t>(schema.size()));
  out += schema;
  put_le<uint32_t>(&out, static_cast<uint32_t>(m.chunks.size()));
  for (const auto& table : m.chunks) {
    put_le<uint32_t>(&out, static_cast<uint32_t>(table.size()));
    for (const auto& e : table) put_entry_v1(&out, e);
  }
  put_le<uint64_t>(&out, checksum64(out.data(), out.size()));
  return out;
}

Status decode_manifest(std::string_view bytes, Manifest* m) {
  *m = Manifest();
  GTN_RETURN_IF_ERROR(check_trailer(bytes));
  ByteReader in(bytes.substr(0, bytes.size() - 8));
  in.bytes(4);
  uint16_t version = in.get<uint16_t>();
  if (version != 1 && version != 2) {
    return Status::Corruption("unsupported manifest format version " + std::to_string(version) + " (expected 1 or 2)");
  }
  m->format = version;
  uint16_t flags = in.get<uint16_t>();
  m->version_id = in.get<uint64_t>();
  if (version == 1) {
    uint64_t parent = in.get<uint64_t>();
    if (parent) m->commit.parents.push_back(parent);
  }
  m->length = in.get<uint64_t>();
  if (version == 2) {
    if (flags > 1) return Status::Corruption("manifest has unknown flags " + std::to_string(flags));
    m->commit.committed = flags & 1;
    uint32_t commit_len = in.get<uint32_t>();
    std::string_view commit = in.bytes(commit_len);
    if (!in.ok()) return Status::Corruption("manifest commit record is truncated");
    GTN_RETURN_IF_ERROR(decode_commit(commit, &m->commit));
  }
  uint32_t schema_len = in.get<uint32_t>();
  std::string_view schema = in.bytes(schema_len);
  if (!in.ok()) return Status::Corruption("manifest schema is truncated");
  GTN_RETURN_IF_ERROR(decode_schema(schema, &m->tensors, &m->next_tensor_key));
  if (version == 1) {
    GTN_RETURN_IF_ERROR(decode_v1_tables(in, m));
  } else {
    uint32_t nroots = in.get<uint32_t>();
    if (!in.ok() || nroots != m->tensors.size() + 1 || static_cast<uint64_t>(nroots) * 56 > in.remaining()) {
      return Status::Corruption("manifest table roots (" + std::to_string(nroots) + ") do not match the schema's " +
                                std::to_string(m->tensors.size()) + " tensors plus the id table");
    }
    for (uint32_t r = 0; r < nroots; ++r) {
      NodeRef ref = get_node_ref(in);
      if (r > 0 && ref.samples < m->length) {
        return Status::Corruption("manifest: tensor '" + m->tensors[r - 1].name + "' holds " +
                                  std::to_string(ref.samples) + " samples, fewer than the dataset length " +
                                  std::to_string(m->length));
      }
      if (r == 0 && ref.samples != m->length) {
        return Status::Corruption("manifest: the sample id table holds " + std::to_string(ref.samples) +
                                  " ids, not the dataset length " + std::to_string(m->length));
      }
      m->roots.push_back(ref);
    }
    uint64_t nodes_len = in.get<uint64_t>();
    m->nodes_offset = in.position();
    m->nodes = in.bytes(nodes_len);
    if (!in.ok()) return Status::Corruption("manifest node section is truncated");
  }
  if (!in.ok() || in.remaining() != 0) return Status::Corruption("manifest has trailing or missing bytes");
  return Status::OK();
}

Status manifest_nodes(std::string_view bytes, std::string_view* nodes) {
  // Only the framing is parsed: each node is verified against its content hash.
  if (bytes.size() < 44 || bytes.substr(0, 4) != std::string_view(kMagic, 4)) {
    return Status::Corruption("not a manifest (bad magic or truncated)");
  }
  ByteReader in(bytes.substr(0, bytes.size() - 8));
  in.bytes(4);
  if (in.get<uint16_t>() != 2) return Status::Corruption("a format 1 manifest holds no table nodes");
  in.get<uint16_t>();
  in.get<uint64_t>();
  in.get<uint64_t>();
  in.bytes(in.get<uint32_t>());
  in.bytes(in.get<uint32_t>());
  uint32_t nroots = in.get<uint32_t>();
  in.bytes(static_cast<uint64_t>(nroots) * 56);
  uint64_t n = in.get<uint64_t>();
  *nodes = in.bytes(n);
  if (!in.ok()) return Status::Corruption("manifest node section is truncated");
  return Status::OK();
}

}  // namespace gtn::store
