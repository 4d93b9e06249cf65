#include "gtn/store/table_edit.h"

#include <limits>

namespace gtn::store {

void append_entry(std::vector<ChunkEntry>* entries, ChunkEntry e) {
  e.first_sample = table_samples(*entries);
  if (!entries->empty()) {
    ChunkEntry& last = entries->back();
    if (last.files.size() == 1 && e.files.size() == 1 && last.files[0].id == e.files[0].id &&
        last.chunk_offset + static_cast<uint64_t>(last.num_samples) == e.chunk_offset &&
        static_cast<uint64_t>(last.num_samples) + e.num_samples <= std::numeric_limits<uint32_t>::max()) {
      last.num_samples += e.num_samples;
      last.raw_bytes += e.raw_bytes;
      return;
    }
  }
  entries->push_back(std::move(e));
}

namespace {

// Appends samples [from, to) (positions relative to the entry) of `e`.
Status append_piece(std::vector<ChunkEntry>* out, const ChunkEntry& e, uint32_t from, uint32_t to,
                    const RawBytesFn& raw) {
  if (from >= to) return Status::OK();
  ChunkEntry piece = e;
  piece.chunk_offset = e.chunk_offset + from;
  piece.num_samples = to - from;
  if (from != 0 || to != e.num_samples) {
    GTN_ASSIGN_OR_RETURN(piece.raw_bytes, raw(e, piece.chunk_offset, piece.num_samples));
  }
  append_entry(out, std::move(piece));
  return Status::OK();
}

}  // namespace

Status edit_table(std::vector<ChunkEntry>* entries, const std::vector<TableEdit>& edits, const RawBytesFn& raw) {
  if (edits.empty()) return Status::OK();
  std::vector<ChunkEntry> out;
  out.reserve(entries->size() + 2 * edits.size());
  size_t k = 0;
  for (const ChunkEntry& e : *entries) {
    uint64_t end = e.first_sample + e.num_samples;
    if (k == edits.size() || edits[k].index >= end) {
      append_entry(&out, e);
      continue;
    }
    uint32_t cur = 0;
    for (; k < edits.size() && edits[k].index < end; ++k) {
      uint32_t at = static_cast<uint32_t>(edits[k].index - e.first_sample);
      GTN_RETURN_IF_ERROR(append_piece(&out, e, cur, at, raw));
      if (!edits[k].erase) append_entry(&out, edits[k].with);
      cur = at + 1;
    }
    GTN_RETURN_IF_ERROR(append_piece(&out, e, cur, e.num_samples, raw));
  }
  if (k != edits.size()) return Status::Internal("table edit past the end of the table");
  *entries = std::move(out);
  return Status::OK();
}

Status cut_table(std::vector<ChunkEntry>* entries, uint64_t n, const RawBytesFn& raw) {
  while (!entries->empty() && entries->back().first_sample >= n) entries->pop_back();
  if (entries->empty() || table_samples(*entries) <= n) return Status::OK();
  ChunkEntry& last = entries->back();
  uint32_t keep = static_cast<uint32_t>(n - last.first_sample);
  GTN_ASSIGN_OR_RETURN(last.raw_bytes, raw(last, last.chunk_offset, keep));
  last.num_samples = keep;
  return Status::OK();
}

Result<ChunkEntry> sample_slice(const ChunkEntry& e, uint64_t index, const RawBytesFn& raw) {
  ChunkEntry s = e;
  s.chunk_offset = e.chunk_offset + static_cast<uint32_t>(index - e.first_sample);
  s.num_samples = 1;
  if (e.num_samples != 1) {
    GTN_ASSIGN_OR_RETURN(s.raw_bytes, raw(e, s.chunk_offset, 1));
  }
  return s;
}

void renumber(std::vector<ChunkEntry>* entries) {
  uint64_t next = 0;
  for (auto& e : *entries) {
    e.first_sample = next;
    next += e.num_samples;
  }
}

}  // namespace gtn::store
