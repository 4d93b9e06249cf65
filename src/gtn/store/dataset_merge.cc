// Three-way merge and cherry-pick (docs/versions.md; see dataset_impl.h for the other
// concerns). Samples are matched by their stable ids across base, ours and theirs; a
// (sample, tensor) changed on one side takes that side's value, changed on both differently
// is a conflict settled by the policy. The merged tables are slices of the chunk files both
// sides already have: a merge writes no sample bytes (except empty samples for a tensor one
// side lacks).
#include <algorithm>
#include <unordered_map>

#include "gtn/store/coding.h"
#include "gtn/store/dataset_diff.h"
#include "gtn/store/dataset_impl.h"

namespace gtn::store {
namespace {

constexpr int64_t kNone = -1;

// Per-row maps between states from an alignment: for each row of x, its row in y or -1.
void fill_map(const Alignment& al, uint64_t nx, bool x_is_a, std::vector<int64_t>* out) {
  out->assign(nx, kNone);
  for (const auto& m : al.matched) {
    for (uint64_t k = 0; k < m.count; ++k) {
      if (x_is_a) {
        (*out)[m.a + k] = static_cast<int64_t>(m.b + k);
      } else {
        (*out)[m.b + k] = static_cast<int64_t>(m.a + k);
      }
    }
  }
}

// Builds a table from runs of rows of source tables.
struct TableBuilder {
  std::vector<ChunkEntry> out;
  const std::vector<ChunkEntry>* src = nullptr;
  RawBytesFn raw;
  uint64_t from = 0, count = 0;

  Status flush() {
    if (!count) return Status::OK();
    const auto& t = *src;
    auto it = std::upper_bound(t.begin(), t.end(), from, [](uint64_t p, const ChunkEntry& e) { return p < e.first_sample; });
    size_t k = static_cast<size_t>(it - t.begin()) - 1;
    uint64_t p = from, left = count;
    while (left > 0) {
      const ChunkEntry& e = t[k];
      uint32_t j0 = static_cast<uint32_t>(p - e.first_sample);
      uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(left, e.num_samples - j0));
      ChunkEntry piece = e;
      piece.chunk_offset = e.chunk_offset + j0;
      piece.num_samples = n;
      if (j0 != 0 || n != e.num_samples) {
        GTN_ASSIGN_OR_RETURN(piece.raw_bytes, raw(e, piece.chunk_offset, n));
      }
      append_entry(&out, std::move(piece));
      p += n;
      left -= n;
      ++k;
    }
    count = 0;
    return Status::OK();
  }
  // Appends row `pos` of `table` (whose raw-bytes function is `fn`).
  Status add(const std::vector<ChunkEntry>* table, const RawBytesFn* fn, uint64_t pos) {
    if (count && table == src && pos == from + count) {
      ++count;
      return Status::OK();
    }
    GTN_RETURN_IF_ERROR(flush());
    src = table;
    raw = *fn;
    from = pos;
    count = 1;
    return Status::OK();
  }
};

uint64_t sample_id_at(const std::vector<ChunkEntry>& ids, uint64_t pos) {
  auto it = std::upper_bound(ids.begin(), ids.end(), pos, [](uint64_t p, const ChunkEntry& e) { return p < e.first_sample; });
  const ChunkEntry& e = *(it - 1);
  return id_block(e) + e.chunk_offset + (pos - e.first_sample);
}

const RawBytesFn kNoRaw = [](const ChunkEntry&, uint32_t, uint32_t) -> Result<uint64_t> { return uint64_t{0}; };

}  // namespace

Status DatasetImpl::merge_states(const State& base, const State& ours, const State& theirs, MergePolicy policy,
                                 bool dry, MergeResult* result) {
  const auto& B = base.tables;
  const auto& O = ours.tables;
  const auto& T = theirs.tables;
  uint64_t nO = ours.manifest.length, nT = theirs.manifest.length;
  Alignment bo = align_ids(B.ids, O.ids), bt = align_ids(B.ids, T.ids), ot = align_ids(O.ids, T.ids);
  std::vector<int64_t> o_in_b, o_in_t, t_in_b, t_in_o;
  fill_map(bo, nO, /*x_is_a=*/false, &o_in_b);
  fill_map(bt, nT, false, &t_in_b);
  fill_map(ot, nO, true, &o_in_t);
  fill_map(ot, nT, false, &t_in_o);

  const auto& mB = base.manifest.tensors;
  const auto& mO = ours.manifest.tensors;
  const auto& mT = theirs.manifest.tensors;
  auto find_key = [](const std::vector<TensorMeta>& v, const std::string& key) -> int {
    for (size_t i = 0; i < v.size(); ++i) {
      if (v[i].key == key) return static_cast<int>(i);
    }
    return -1;
  };
  bool take_theirs = policy == MergePolicy::kTheirs;
  auto conflict = [&](const std::string& tensor, uint64_t id, int64_t o, int64_t t, const char* kind) {
    MergeConflict c;
    c.tensor = tensor;
    c.sample_id = id;
    c.ours_index = o;
    c.theirs_index = t;
    c.kind = kind;
    result->conflicts.push_back(std::move(c));
  };

  // Which rows changed on each side, per tensor key present in base.
  std::unordered_map<std::string, std::vector<bool>> changed_o, changed_t;
  std::vector<bool> row_changed_o(nO, false), row_changed_t(nT, false);
  for (const auto& mb : mB) {
    int io = find_key(mO, mb.key), it = find_key(mT, mb.key);
    int ib = find_key(mB, mb.key);
    auto mark = [&](int ix, const State& x, const std::vector<ChunkEntry>& tx, const Alignment& al, uint64_t nx,
                    std::vector<bool>* rows) -> Status {
      std::vector<bool>& bits = (&x == &ours ? changed_o : changed_t)[mb.key];
      bits.assign(nx, false);
      std::vector<std::pair<uint64_t, uint64_t>> ch;
      ViewCache cache;
      const TensorMeta& mx = x.manifest.tensors[static_cast<size_t>(ix)];
      GTN_RETURN_IF_ERROR(changed_samples(B.tensors[static_cast<size_t>(ib)], tx, al.matched,
                                          [&](const ChunkEntry& ea, uint32_t ja, const ChunkEntry& eb, uint32_t jb) {
                                            return same_sample(mb, ea, ja, mx, eb, jb, &cache);
                                          },
                                          &ch));
      for (const auto& c : ch) {
        bits[c.second] = true;
        (*rows)[c.second] = true;
      }
      return Status::OK();
    };
    if (io >= 0) GTN_RETURN_IF_ERROR(mark(io, ours, O.tensors[static_cast<size_t>(io)], bo, nO, &row_changed_o));
    if (it >= 0) GTN_RETURN_IF_ERROR(mark(it, theirs, T.tensors[static_cast<size_t>(it)], bt, nT, &row_changed_t));
  }

  // The merged rows: ours in order (without the rows theirs deleted), then the rows theirs
  // added (and, with kTheirs, rows ours deleted and theirs updated).
  struct Row {
    bool from_theirs;
    uint64_t pos;  // in ours or theirs
  };
  std::vector<Row> rows;
  rows.reserve(nO + nT / 16);
  // A row deleted on one side and changed on the other: a conflict for each tensor changed.
  auto row_conflicts = [&](const std::unordered_map<std::string, std::vector<bool>>& changed,
                           const std::vector<TensorMeta>& metas, uint64_t pos, const std::vector<ChunkEntry>& ids,
                           int64_t o, int64_t t, const char* kind) {
    for (const auto& m : metas) {
      auto it = changed.find(m.key);
      if (it != changed.end() && it->second[pos]) conflict(m.name, sample_id_at(ids, pos), o, t, kind);
    }
  };
  for (uint64_t i = 0; i < nO; ++i) {
    bool deleted_there = o_in_t[i] == kNone && o_in_b[i] != kNone;
    if (deleted_there) {
      if (row_changed_o[i]) {
        row_conflicts(changed_o, mO, i, O.ids, static_cast<int64_t>(i), kNone, "updated here, deleted there");
        if (!take_theirs) rows.push_back({false, i});
      }
      if (!row_changed_o[i] || take_theirs) ++result->rows_deleted;
      continue;
    }
    rows.push_back({false, i});
  }
  for (uint64_t j = 0; j < nT; ++j) {
    if (t_in_o[j] != kNone) continue;
    if (t_in_b[j] == kNone) {
      rows.push_back({true, j});
      ++result->rows_added;
    } else if (row_changed_t[j]) {
      row_conflicts(changed_t, mT, j, T.ids, kNone, static_cast<int64_t>(j), "deleted here, updated there");
      if (take_theirs) {
        rows.push_back({true, j});
        ++result->rows_added;
      }
    }
  }

  // The merged schema: ours, with theirs' renames, theirs' new tensors, minus the tensors
  // theirs deleted and ours left alone.
  struct Out {
    TensorMeta meta;
    int io = -1, it = -1;  // sources
    bool use_theirs_values = false;  // a tensor only theirs has
  };
  std::vector<Out> outs;
  for (size_t i = 0; i < mO.size(); ++i) {
    int ib = find_key(mB, mO[i].key), it = find_key(mT, mO[i].key);
    Out o;
    o.meta = mO[i];
    o.io = static_cast<int>(i);
    o.it = it;
    if (ib >= 0 && it < 0) {
      // Theirs deleted it.
      const auto& bits = changed_o[mO[i].key];
      bool changed = std::find(bits.begin(), bits.end(), true) != bits.end() || mO[i].name != mB[static_cast<size_t>(ib)].name;
      if (!changed || take_theirs) {
        if (changed) conflict(mO[i].name, 0, kNone, kNone, "updated here, deleted there");
        continue;
      }
      conflict(mO[i].name, 0, kNone, kNone, "updated here, deleted there");
    }
    if (ib >= 0 && it >= 0 && mT[static_cast<size_t>(it)].name != mB[static_cast<size_t>(ib)].name &&
        mO[i].name == mB[static_cast<size_t>(ib)].name) {
      o.meta.name = mT[static_cast<size_t>(it)].name;  // renamed there only
    }
    outs.push_back(std::move(o));
  }
  for (size_t j = 0; j < mT.size(); ++j) {
    if (find_key(mO, mT[j].key) >= 0) continue;
    int ib = find_key(mB, mT[j].key);
    if (ib >= 0) {
      // Ours deleted it: it stays deleted unless theirs changed it.
      const auto& bits = changed_t[mT[j].key];
      if (std::find(bits.begin(), bits.end(), true) == bits.end()) continue;
      conflict(mT[j].name, 0, kNone, kNone, "deleted here, updated there");
      if (!take_theirs) continue;
    }
    Out o;
    o.meta = mT[j];
    o.it = static_cast<int>(j);
    o.use_theirs_values = true;
    auto same_name = std::find_if(outs.begin(), outs.end(), [&](const Out& x) { return x.meta.name == mT[j].name; });
    if (same_name != outs.end()) {
      conflict(mT[j].name, 0, kNone, kNone, "both added");
      if (!take_theirs) continue;
      outs.erase(same_name);
    }
    outs.push_back(std::move(o));
  }
  // Value conflicts, and the tables (a dry run only looks for conflicts).
  std::vector<std::vector<ChunkEntry>> tables;
  std::vector<std::unique_ptr<TensorState>> probes;
  for (auto& o : outs) {
    auto po = std::make_unique<TensorState>(), pt = std::make_unique<TensorState>();
    if (o.io >= 0) po->meta = mO[static_cast<size_t>(o.io)];
    if (o.it >= 0) pt->meta = mT[static_cast<size_t>(o.it)];
    RawBytesFn fo = raw_fn(*po), ft = raw_fn(*pt);
    const std::vector<ChunkEntry>* to = o.io >= 0 ? &O.tensors[static_cast<size_t>(o.io)] : nullptr;
    const std::vector<ChunkEntry>* tt = o.it >= 0 ? &T.tensors[static_cast<size_t>(o.it)] : nullptr;
    const auto* cho = changed_o.count(o.meta.key) ? &changed_o[o.meta.key] : nullptr;
    const auto* cht = changed_t.count(o.meta.key) ? &changed_t[o.meta.key] : nullptr;
    // Empty samples for rows a side lacks the tensor for.
    uint64_t empties = 0;
    for (const Row& r : rows) {
      bool have = r.from_theirs ? tt != nullptr : (to != nullptr && !o.use_theirs_values) ||
                                                      (o.use_theirs_values && o_in_t[r.pos] != kNone);
      if (!have) ++empties;
    }
    std::vector<ChunkEntry> empty_table;
    if (empties && !dry) {
      PendingChunk pending;
      pending.add_empty(static_cast<uint32_t>(empties));
      uint64_t first = 0;
      GTN_RETURN_IF_ERROR(writer_.seal(o.meta, &pending, &first, &empty_table));
      for (const auto& e : empty_table) {
        unpublished_[e.files[0].id] = chunk_key(o.meta.key, e.files[0].id);
        fresh_[e.files[0].id] = chunk_key(o.meta.key, e.files[0].id);
      }
    }
    uint64_t next_empty = 0;
    ViewCache cache;
    TableBuilder tb;
    for (const Row& r : rows) {
      if (dry && (r.from_theirs || o.use_theirs_values)) continue;
      if (r.from_theirs) {
        if (tt) {
          GTN_RETURN_IF_ERROR(tb.add(tt, &ft, r.pos));
        } else {
          GTN_RETURN_IF_ERROR(tb.add(&empty_table, &kNoRaw, next_empty++));
        }
        continue;
      }
      if (o.use_theirs_values) {
        if (o_in_t[r.pos] != kNone) {
          GTN_RETURN_IF_ERROR(tb.add(tt, &ft, static_cast<uint64_t>(o_in_t[r.pos])));
        } else {
          GTN_RETURN_IF_ERROR(tb.add(&empty_table, &kNoRaw, next_empty++));
        }
        continue;
      }
      int64_t pt_row = o_in_t[r.pos];
      bool theirs_changed = tt && cht && pt_row != kNone && (*cht)[static_cast<size_t>(pt_row)];
      if (theirs_changed) {
        bool ours_changed = cho && (*cho)[r.pos];
        bool take = true;
        if (ours_changed) {
          auto& eo = *std::prev(std::upper_bound(to->begin(), to->end(), r.pos,
                                                 [](uint64_t p, const ChunkEntry& e) { return p < e.first_sample; }));
          auto& et = *std::prev(std::upper_bound(tt->begin(), tt->end(), static_cast<uint64_t>(pt_row),
                                                 [](uint64_t p, const ChunkEntry& e) { return p < e.first_sample; }));
          GTN_ASSIGN_OR_RETURN(bool same,
                               same_sample(mO[static_cast<size_t>(o.io)], eo,
                                           static_cast<uint32_t>(r.pos - eo.first_sample + eo.chunk_offset),
                                           mT[static_cast<size_t>(o.it)], et,
                                           static_cast<uint32_t>(static_cast<uint64_t>(pt_row) - et.first_sample +
                                                                 et.chunk_offset),
                                           &cache));
          if (!same) {
            conflict(o.meta.name, sample_id_at(O.ids, r.pos), static_cast<int64_t>(r.pos), pt_row, "both updated");
            take = take_theirs;
          } else {
            take = false;
          }
        }
        if (take) {
          ++result->samples_updated;
          if (!dry) GTN_RETURN_IF_ERROR(tb.add(tt, &ft, static_cast<uint64_t>(pt_row)));
          continue;
        }
      }
      if (!dry) GTN_RETURN_IF_ERROR(tb.add(to, &fo, r.pos));
    }
    GTN_RETURN_IF_ERROR(tb.flush());
    tables.push_back(std::move(tb.out));
    probes.push_back(std::move(po));
    probes.push_back(std::move(pt));
  }
  if (dry) return Status::OK();
  // Ids of the merged rows.
  TableBuilder ib;
  for (const Row& r : rows) GTN_RETURN_IF_ERROR(ib.add(r.from_theirs ? &T.ids : &O.ids, &kNoRaw, r.pos));
  GTN_RETURN_IF_ERROR(ib.flush());

  // Install.
  tensors_.clear();
  for (size_t k = 0; k < outs.size(); ++k) {
    auto ts = std::make_unique<TensorState>();
    ts->meta = outs[k].meta;
    ts->set_table(std::move(tables[k]));
    tensors_.push_back(std::move(ts));
  }
  ids_ = std::move(ib.out);
  renumber(&ids_);
  length_ = rows.size();
  next_key_ = std::max(next_key_, theirs.manifest.next_tensor_key);
  dirty_ = true;
  return Status::OK();
}

Result<MergeResult> DatasetImpl::merge(const std::string& source, MergePolicy policy, const std::string& message) {
  GTN_RETURN_IF_ERROR(check_writable_now());
  if (policy != MergePolicy::kFail && policy != MergePolicy::kOurs && policy != MergePolicy::kTheirs) {
    return Status::InvalidArgument("unknown merge policy");
  }
  if (has_uncommitted_changes()) {
    return Status::InvalidArgument("branch '" + branch_ + "' of " + path_ +
                                   " has uncommitted changes: commit or reset them before merging");
  }
  GTN_ASSIGN_OR_RETURN(uint64_t theirs, resolve_commit(source));
  uint64_t ours = version_id_;
  MergeResult result;
  GTN_ASSIGN_OR_RETURN(uint64_t base, merge_base(ours, theirs));
  if (base == 0) {
    return Status::InvalidArgument("refusing to merge '" + source + "' into '" + branch_ +
                                   "': they share no commit (unrelated histories)");
  }
  if (base == theirs) {
    result.up_to_date = true;
    result.commit = hex_id(ours);
    return result;
  }
  if (base == ours) {
    GTN_RETURN_IF_ERROR(write_ref(ref_key(branch_), theirs));
    GTN_RETURN_IF_ERROR(load_version(theirs));
    result.fast_forward = true;
    result.commit = hex_id(theirs);
    return result;
  }
  GTN_ASSIGN_OR_RETURN(auto sb, load_state(base));
  GTN_ASSIGN_OR_RETURN(auto so, load_state(ours));
  GTN_ASSIGN_OR_RETURN(auto st, load_state(theirs));
  if (policy == MergePolicy::kFail) {
    // Every conflict is listed before anything is written; none: the policy never applies.
    GTN_RETURN_IF_ERROR(merge_states(*sb, *so, *st, policy, /*dry=*/true, &result));
    if (!result.conflicts.empty()) return result;
    result = MergeResult();
  }
  GTN_RETURN_IF_ERROR(merge_states(*sb, *so, *st, MergePolicy::kOurs == policy ? policy : MergePolicy::kTheirs,
                                   /*dry=*/false, &result));
  std::string msg = message.empty() ? "Merge '" + source + "' into '" + branch_ + "'" : message;
  uint64_t id = 0;
  GTN_RETURN_IF_ERROR(commit_now(msg, "", {theirs}, &id));
  result.commit = hex_id(id);
  return result;
}

Result<std::string> DatasetImpl::cherry_pick(const std::string& target) {
  GTN_RETURN_IF_ERROR(check_writable_now());
  if (has_uncommitted_changes()) {
    return Status::InvalidArgument("branch '" + branch_ + "' of " + path_ +
                                   " has uncommitted changes: commit or reset them before a cherry-pick");
  }
  GTN_ASSIGN_OR_RETURN(uint64_t pick, resolve_commit(target));
  GTN_ASSIGN_OR_RETURN(auto sp, load_state(pick));
  if (sp->manifest.commit.parents.empty()) {
    return Status::InvalidArgument("commit " + hex_id(pick) + " has no parent: nothing to cherry-pick");
  }
  GTN_ASSIGN_OR_RETURN(auto sb, load_state(sp->manifest.commit.parents[0]));
  GTN_ASSIGN_OR_RETURN(auto so, load_state(version_id_));
  MergeResult result;
  GTN_RETURN_IF_ERROR(merge_states(*sb, *so, *sp, MergePolicy::kFail, /*dry=*/true, &result));
  if (!result.conflicts.empty()) {
    std::string list;
    for (size_t i = 0; i < result.conflicts.size() && i < 5; ++i) {
      const auto& c = result.conflicts[i];
      list += (i ? "; " : "") + (c.tensor.empty() ? std::string("row") : "tensor '" + c.tensor + "'") + " " +
              std::to_string(c.ours_index) + ": " + c.kind;
    }
    return Status::InvalidArgument("cherry-pick of " + hex_id(pick) + " conflicts with '" + branch_ + "' (" +
                                   std::to_string(result.conflicts.size()) + " conflicts: " + list + ")");
  }
  result = MergeResult();
  GTN_RETURN_IF_ERROR(merge_states(*sb, *so, *sp, MergePolicy::kTheirs, /*dry=*/false, &result));
  std::string msg = sp->manifest.commit.message + " (cherry picked from commit " + hex_id(pick) + ")";
  uint64_t id = 0;
  GTN_RETURN_IF_ERROR(commit_now(msg, sp->manifest.commit.author, {}, &id));
  return hex_id(id);
}

}  // namespace gtn::store
