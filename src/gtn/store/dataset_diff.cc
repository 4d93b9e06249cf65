// Matching the samples of two states by their stable ids, and what changed between them:
// diff() and status() (docs/versions.md; see dataset_impl.h for the other concerns).
// Ids and chunk tables are runs, so the work follows the runs and the changed samples,
// not the dataset size: runs of samples that share a chunk slice in both states are
// unchanged without looking at them.
#include <algorithm>
#include <limits>

#include "gtn/store/coding.h"
#include "gtn/store/dataset_diff.h"
#include "gtn/store/dataset_impl.h"

namespace gtn::store {

bool same_slice_file(const ChunkEntry& a, const ChunkEntry& b) {
  if (a.files.size() != b.files.size()) return false;
  for (size_t i = 0; i < a.files.size(); ++i) {
    if (a.files[i].id != b.files[i].id) return false;
  }
  return true;
}

Alignment align_ids(const std::vector<ChunkEntry>& a, const std::vector<ChunkEntry>& b) {
  struct Run {
    uint64_t block, off, count, pos;
    size_t index;
  };
  std::vector<Run> runs;
  runs.reserve(a.size());
  for (size_t i = 0; i < a.size(); ++i) runs.push_back({id_block(a[i]), a[i].chunk_offset, a[i].num_samples, a[i].first_sample, i});
  std::sort(runs.begin(), runs.end(), [](const Run& x, const Run& y) {
    return x.block != y.block ? x.block < y.block : x.off < y.off;
  });
  Alignment out;
  std::vector<std::pair<uint64_t, uint64_t>> covered;  // matched position ranges in a
  for (const ChunkEntry& e : b) {
    uint64_t block = id_block(e), lo = e.chunk_offset, hi = lo + e.num_samples;
    // Runs of a in this block that may overlap [lo, hi): from the last one starting at or
    // before lo.
    auto it = std::upper_bound(runs.begin(), runs.end(), std::make_pair(block, lo),
                               [](const std::pair<uint64_t, uint64_t>& k, const Run& r) {
                                 return k.first != r.block ? k.first < r.block : k.second < r.off;
                               });
    if (it != runs.begin()) --it;
    uint64_t cur = lo;
    for (; it != runs.end() && it->block <= block; ++it) {
      if (it->block < block || it->off + it->count <= cur) continue;
      if (it->off >= hi) break;
      uint64_t from = std::max(cur, it->off), to = std::min(hi, it->off + it->count);
      if (from > cur) {
        for (uint64_t x = cur; x < from; ++x) out.only_b.push_back(e.first_sample + (x - lo));
      }
      out.matched.push_back({it->pos + (from - it->off), e.first_sample + (from - lo), to - from});
      covered.emplace_back(it->pos + (from - it->off), it->pos + (to - it->off));
      cur = to;
    }
    for (uint64_t x = cur; x < hi; ++x) out.only_b.push_back(e.first_sample + (x - lo));
  }
  std::sort(covered.begin(), covered.end());
  uint64_t next = 0, total = table_samples(a);
  for (const auto& [from, to] : covered) {
    for (uint64_t x = next; x < from; ++x) out.only_a.push_back(x);
    next = std::max(next, to);
  }
  for (uint64_t x = next; x < total; ++x) out.only_a.push_back(x);
  return out;
}

namespace {

// Walks a table from a position onwards.
struct Cursor {
  const std::vector<ChunkEntry>* table;
  size_t k = 0;
  void seek(uint64_t pos) {
    auto it = std::upper_bound(table->begin(), table->end(), pos,
                               [](uint64_t p, const ChunkEntry& e) { return p < e.first_sample; });
    k = static_cast<size_t>(it - table->begin()) - 1;
  }
  const ChunkEntry& entry(uint64_t pos) {
    while (k + 1 < table->size() && (*table)[k + 1].first_sample <= pos) ++k;
    return (*table)[k];
  }
};

}  // namespace

Status changed_samples(const std::vector<ChunkEntry>& ta, const std::vector<ChunkEntry>& tb,
                       const std::vector<Alignment::Match>& matched, const SameSampleFn& same,
                       std::vector<std::pair<uint64_t, uint64_t>>* changed) {
  Cursor ca{&ta}, cb{&tb};
  for (const auto& m : matched) {
    uint64_t pa = m.a, pb = m.b, left = m.count;
    ca.seek(pa);
    cb.seek(pb);
    while (left > 0) {
      const ChunkEntry& ea = ca.entry(pa);
      const ChunkEntry& eb = cb.entry(pb);
      uint64_t ja = pa - ea.first_sample + ea.chunk_offset, jb = pb - eb.first_sample + eb.chunk_offset;
      uint64_t step = std::min({left, ea.first_sample + ea.num_samples - pa, eb.first_sample + eb.num_samples - pb});
      if (!(same_slice_file(ea, eb) && ja == jb)) {
        for (uint64_t s = 0; s < step; ++s) {
          GTN_ASSIGN_OR_RETURN(bool eq, same(ea, static_cast<uint32_t>(ja + s), eb, static_cast<uint32_t>(jb + s)));
          if (!eq) changed->emplace_back(pa + s, pb + s);
        }
      }
      pa += step;
      pb += step;
      left -= step;
    }
  }
  return Status::OK();
}

namespace {

std::vector<std::string> schema_changes(const TensorMeta& a, const TensorMeta& b, std::string* detail) {
  std::vector<std::string> out;
  auto note = [&](const std::string& what, const std::string& from, const std::string& to) {
    out.push_back(what);
    *detail += (detail->empty() ? "" : "; ") + what + " " + from + " -> " + to;
  };
  if (a.name != b.name) note("renamed", a.name, b.name);
  if (a.htype != b.htype) note("htype", a.htype, b.htype);
  if (a.dtype != b.dtype) note("dtype", std::string(dtype_name(a.dtype)), std::string(dtype_name(b.dtype)));
  if (a.sample_compression != b.sample_compression || a.chunk_compression != b.chunk_compression) {
    note("compression", std::string(compression_name(a.sample_compression)),
         std::string(compression_name(b.sample_compression)));
  }
  if (a.class_names != b.class_names) {
    note("class_names", std::to_string(a.class_names.size()) + " names", std::to_string(b.class_names.size()) + " names");
  }
  return out;
}

std::vector<uint64_t> all_positions(uint64_t n) {
  std::vector<uint64_t> v(n);
  for (uint64_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

}  // namespace

Result<bool> DatasetImpl::same_sample(const TensorMeta& ma, const ChunkEntry& ea, uint32_t ja, const TensorMeta& mb,
                                      const ChunkEntry& eb, uint32_t jb, ViewCache* cache) const {
  Shape ha, hb;
  GTN_ASSIGN_OR_RETURN(std::string_view sa, stored_view(ma, ea, ja, &ha, cache));
  GTN_ASSIGN_OR_RETURN(std::string_view sb, stored_view(mb, eb, jb, &hb, cache));
  return ha == hb && sa == sb;
}

Result<std::string_view> DatasetImpl::stored_view(const TensorMeta& meta, const ChunkEntry& e, uint32_t j, Shape* shape,
                                                  ViewCache* cache) const {
  if (e.is_tiled() || (e.files.size() == 1 && e.files[0].id == kPendingFile)) {
    auto bytes = std::make_unique<std::string>();
    GTN_RETURN_IF_ERROR(stored_sample(meta, e, j, bytes.get(), shape));
    std::string_view v(*bytes);
    cache->tiled.push_back(std::move(bytes));
    return v;
  }
  auto it = cache->chunks.find(e.files[0].id);
  if (it == cache->chunks.end()) {
    TensorState probe;
    probe.meta = meta;
    TableEntry entry(e);
    GTN_ASSIGN_OR_RETURN(const LoadedChunk* c, loaded(probe, entry));
    ViewCache::Resolved r;
    r.chunk = c;
    GTN_ASSIGN_OR_RETURN(r.base, data_for(*c, 0, c->header.stored_data_bytes, &r.keep));
    it = cache->chunks.emplace(e.files[0].id, std::move(r)).first;
  }
  const ViewCache::Resolved& r = it->second;
  uint64_t off, len;
  r.chunk->header.positions.locate(j, &off, &len);
  *shape = r.chunk->header.shapes.shape(j);
  return std::string_view(reinterpret_cast<const char*>(r.base + off), len);
}

Status DatasetImpl::stored_sample(const TensorMeta& meta, const ChunkEntry& e, uint32_t j, std::string* bytes,
                                  Shape* shape) const {
  if (e.files.size() == 1 && e.files[0].id == kPendingFile) {
    for (const auto& ts : tensors_) {
      if (ts->meta.key != meta.key) continue;
      *bytes = std::string(ts->pending.stored(j));
      *shape = ts->pending.shapes.shape(j);
      return Status::OK();
    }
    return Status::Internal("pending sample of an unknown tensor");
  }
  TensorState probe;
  probe.meta = meta;
  TableEntry entry(e);
  if (e.is_tiled()) {
    GTN_ASSIGN_OR_RETURN(*bytes, tiled_bytes(probe, entry, shape));
    return Status::OK();
  }
  GTN_ASSIGN_OR_RETURN(const LoadedChunk* c, loaded(probe, entry));
  uint64_t off, len;
  c->header.positions.locate(j, &off, &len);
  *shape = c->header.shapes.shape(j);
  std::shared_ptr<const std::string> region;
  GTN_ASSIGN_OR_RETURN(const uint8_t* base, data_for(*c, off, len, &region));
  bytes->assign(reinterpret_cast<const char*>(base + off), len);
  return Status::OK();
}

Result<std::unique_ptr<State>> DatasetImpl::current_state() const {
  auto st = std::make_unique<State>();
  st->version = 0;
  Manifest& m = st->manifest;
  m.version_id = version_id_;
  m.length = length_;
  m.commit = commit_;
  for (const auto& ts : tensors_) {
    m.tensors.push_back(ts->meta);
    std::vector<ChunkEntry> table = ts->table();
    if (ts->pending.size() > 0) {
      ChunkEntry p;
      p.first_sample = ts->committed;
      p.num_samples = ts->pending.size();
      p.files.push_back(ChunkFileRef{kPendingFile, 0, 0});
      table.push_back(std::move(p));
    }
    st->tables.tensors.push_back(std::move(table));
  }
  st->tables.ids = ids_;
  return st;
}

Result<DatasetDiff> DatasetImpl::diff_states(const State& a, const State& b) const {
  DatasetDiff out;
  Alignment al = align_ids(a.tables.ids, b.tables.ids);
  out.rows_added = al.only_b;
  out.rows_deleted = al.only_a;
  std::sort(out.rows_added.begin(), out.rows_added.end());
  const auto& ta = a.manifest.tensors;
  const auto& tb = b.manifest.tensors;
  std::vector<bool> seen(ta.size(), false);
  for (size_t j = 0; j < tb.size(); ++j) {
    TensorDiff d;
    d.name = tb[j].name;
    size_t i = 0;
    while (i < ta.size() && ta[i].key != tb[j].key) ++i;
    if (i == ta.size()) {
      d.schema_changes.push_back("added");
      d.added = all_positions(b.manifest.length);
      out.tensors.push_back(std::move(d));
      continue;
    }
    seen[i] = true;
    d.schema_changes = schema_changes(ta[i], tb[j], &d.detail);
    if (ta[i].name != tb[j].name) d.old_name = ta[i].name;
    d.added = out.rows_added;
    d.deleted = out.rows_deleted;
    std::vector<std::pair<uint64_t, uint64_t>> changed;
    ViewCache cache;
    const TensorMeta& ma = ta[i];
    const TensorMeta& mb = tb[j];
    GTN_RETURN_IF_ERROR(changed_samples(
        a.tables.tensors[i], b.tables.tensors[j], al.matched,
        [&](const ChunkEntry& ea, uint32_t ja, const ChunkEntry& eb, uint32_t jb) {
          return same_sample(ma, ea, ja, mb, eb, jb, &cache);
        },
        &changed));
    for (const auto& c : changed) d.updated.push_back(c.second);
    std::sort(d.updated.begin(), d.updated.end());
    out.tensors.push_back(std::move(d));
  }
  for (size_t i = 0; i < ta.size(); ++i) {
    if (seen[i]) continue;
    TensorDiff d;
    d.name = ta[i].name;
    d.schema_changes.push_back("deleted");
    d.deleted = all_positions(a.manifest.length);
    out.tensors.push_back(std::move(d));
  }
  return out;
}

Result<DatasetDiff> DatasetImpl::diff(const std::string& a, const std::string& b) const {
  GTN_RETURN_IF_ERROR(check_open());
  GTN_ASSIGN_OR_RETURN(uint64_t va, resolve(a));
  std::unique_ptr<State> sa, sb;
  // A commit is read from its manifest; the uncommitted state of the current branch is
  // what is in memory (unflushed writes included).
  if (va == version_id_ && !commit_.committed) {
    GTN_ASSIGN_OR_RETURN(sa, current_state());
  } else {
    GTN_ASSIGN_OR_RETURN(sa, load_state(va));
  }
  if (b.empty()) {
    GTN_ASSIGN_OR_RETURN(sb, current_state());
  } else {
    GTN_ASSIGN_OR_RETURN(uint64_t vb, resolve(b));
    if (vb == version_id_ && !commit_.committed) {
      GTN_ASSIGN_OR_RETURN(sb, current_state());
    } else {
      GTN_ASSIGN_OR_RETURN(sb, load_state(vb));
    }
  }
  GTN_ASSIGN_OR_RETURN(DatasetDiff d, diff_states(*sa, *sb));
  d.a = sa->manifest.commit.committed ? hex_id(sa->manifest.version_id) : "";
  d.b = sb->manifest.commit.committed && !b.empty() ? hex_id(sb->manifest.version_id) : "";
  if (sb->manifest.commit.committed && b.empty() && !has_uncommitted_changes()) d.b = hex_id(version_id_);
  return d;
}

Result<DatasetDiff> DatasetImpl::status() const {
  GTN_RETURN_IF_ERROR(check_open());
  std::string h = head_commit();
  std::unique_ptr<State> base;
  if (h.empty()) {
    base = std::make_unique<State>();  // before the first commit: everything is new
  } else {
    uint64_t v = 0;
    parse_hex_id(h, &v);
    GTN_ASSIGN_OR_RETURN(base, load_state(v));
  }
  GTN_ASSIGN_OR_RETURN(auto cur, current_state());
  GTN_ASSIGN_OR_RETURN(DatasetDiff d, diff_states(*base, *cur));
  d.a = h;
  d.b = "";
  return d;
}

}  // namespace gtn::store

bool gtn::DatasetDiff::empty() const {
  if (!rows_added.empty() || !rows_deleted.empty()) return false;
  for (const auto& t : tensors) {
    if (!t.empty()) return false;
  }
  return true;
}
