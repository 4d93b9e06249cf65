#include "gtn/dump.h"

#include <set>
#include <sstream>

#include "gtn/store/checksum.h"
#include "gtn/store/chunk_format.h"
#include "gtn/store/coding.h"
#include "gtn/store/dataset_files.h"

namespace gtn::store {
namespace {

void dump_chunk_file(std::ostringstream& os, const DatasetFiles& f, const TensorMeta& meta, const ChunkFileRef& ref,
                     bool verbose, uint64_t first_sample) {
  std::string key = chunk_key(meta.key, ref.id);
  os << "      file " << key << ", " << ref.size << " bytes, checksum " << checksum_to_string(ref.checksum) << "\n";
  auto bytes = f.storage->read(key);
  if (!bytes.ok()) {
    os << "        error: " << bytes.status().message() << "\n";
    return;
  }
  ChunkHeader h;
  Status st = parse_chunk((*bytes)->view(), &h);
  if (!st.ok()) {
    os << "        error: " << st.message() << "\n";
    return;
  }
  os << "        header: " << h.num_samples << " samples, data at " << h.data_offset << ", "
     << h.stored_data_bytes << " bytes stored, " << h.raw_data_bytes << " raw, " << h.positions.num_runs()
     << " position runs, " << h.shapes.num_runs() << " shape runs";
  if (h.is_tile()) {
    os << ", tile " << h.tile.index + 1 << " of " << h.tile.count << " (bytes " << h.tile.offset << ".."
       << h.tile.offset + h.stored_data_bytes << " of " << h.tile.total_bytes << ")";
  }
  os << "\n";
  if (!verbose || h.is_tile()) return;
  for (uint32_t j = 0; j < h.num_samples; ++j) {
    uint64_t off, len;
    h.positions.locate(j, &off, &len);
    os << "        sample " << first_sample + j << ": offset " << off << ", " << len << " bytes, shape "
       << shape_to_string(h.shapes.shape(j)) << "\n";
  }
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

}  // namespace
}  // namespace gtn::store

namespace gtn {

Result<std::string> dump(const std::string& path, bool verbose) {
  using namespace store;  // NOLINT: the file helpers above
  DatasetFiles f;
  GTN_RETURN_IF_ERROR(load_dataset_files(path, &f));
  std::ostringstream os;
  os << "dataset " << f.storage->describe() << "\n";
  os << "root gtn.json: format GTN-F version " << f.root.format_version << ", head " << f.root.head
     << ", reader features [" << join(f.root.reader_features) << "], writer features ["
     << join(f.root.writer_features) << "]\n";
  os << "ref " << ref_key(f.root.head) << " -> version " << hex_id(f.version_id) << "\n";
  const Manifest& m = f.manifest;
  std::string parents;
  for (uint64_t p : m.commit.parents) parents += (parents.empty() ? "" : ", ") + hex_id(p);
  os << "manifest " << manifest_key(f.version_id) << " (format " << m.format << "): "
     << (m.commit.committed ? "commit \"" + m.commit.message + "\" by " + m.commit.author
                            : std::string("uncommitted state"))
     << ", parents [" << parents << "], " << m.length << " samples, " << m.tensors.size() << " tensors, "
     << f.ids.size() << " sample id runs\n";
  std::set<std::string> referenced;
  for (size_t t = 0; t < m.tensors.size(); ++t) {
    const TensorMeta& meta = m.tensors[t];
    uint64_t held = m.chunks[t].empty() ? 0 : m.chunks[t].back().first_sample + m.chunks[t].back().num_samples;
    os << "  tensor '" << meta.name << "' (" << meta.key << "): htype " << meta.htype << ", dtype "
       << dtype_name(meta.dtype) << ", rank " << meta.rank << ", sample compression "
       << compression_name(meta.sample_compression) << ", chunk compression "
       << compression_name(meta.chunk_compression) << ", chunk target " << meta.chunk_target_bytes << " bytes, "
       << m.chunks[t].size() << " chunk entries, " << held << " samples held\n";
    for (const auto& e : m.chunks[t]) {
      os << "    samples [" << e.first_sample << ", " << e.first_sample + e.num_samples << "), " << e.raw_bytes
         << " raw bytes" << (e.is_tiled() ? ", tiled over " + std::to_string(e.files.size()) + " files" : "")
         << (e.chunk_offset ? ", from sample " + std::to_string(e.chunk_offset) + " of its chunk" : "") << "\n";
      for (const auto& ref : e.files) {
        referenced.insert(chunk_key(meta.key, ref.id));
        dump_chunk_file(os, f, meta, ref, verbose, e.first_sample);
      }
    }
  }
  auto all = f.storage->list("chunks/");
  if (all.ok()) {
    size_t orphans = 0;
    for (const auto& key : *all) {
      if (referenced.count(key)) continue;
      if (orphans++ == 0) os << "files not referenced by this version (left by interrupted writes or older versions):\n";
      os << "  " << key << "\n";
    }
  }
  return os.str();
}

}  // namespace gtn
