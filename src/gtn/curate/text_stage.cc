#include "gtn/curate/text_stage.h"

#include <xxhash.h>

#include <algorithm>
#include <mutex>
#include <unordered_map>

#include "gtn/curate/minhash.h"
#include "gtn/curate/ngrams.h"
#include "gtn/curate/parallel.h"

namespace gtn::curate {
namespace {

constexpr uint64_t kBlockRows = 4096;
constexpr uint64_t kBlockBytes = 64ull << 20;

// Keeps the error of the smallest row (so the message does not depend on thread timing).
struct FirstError {
  std::mutex mu;
  uint64_t row = UINT64_MAX;
  Status status;
  void set(uint64_t r, Status s) {
    std::lock_guard<std::mutex> lock(mu);
    if (r < row) {
      row = r;
      status = std::move(s);
    }
  }
};

struct ThreadState {
  NgramScratch scratch;
  std::vector<uint64_t> grams;
  std::vector<uint32_t> sig;
  std::vector<uint8_t> filled;
};

std::string row_context(const std::string& tensor, uint64_t row) {
  return "tensor '" + tensor + "', row " + std::to_string(row);
}

}  // namespace

Status hash_text_rows(const Dataset& ds, const TextPlan& plan, uint64_t begin, uint64_t end, RowHashes& out,
                      const std::function<void(uint64_t, uint64_t)>& progress) {
  std::vector<ThreadState> states(static_cast<size_t>(std::max(1, plan.threads)));
  std::vector<Array> block;
  uint64_t row = begin;
  while (row < end) {
    block.clear();
    uint64_t bytes = 0;
    uint64_t first = row;
    while (row < end && block.size() < kBlockRows && bytes < kBlockBytes) {
      GTN_ASSIGN_OR_RETURN(Array a, ds.read(plan.tensor_index, row));
      bytes += a.nbytes();
      block.push_back(std::move(a));
      ++row;
    }
    FirstError error;
    parallel_for(block.size(), plan.threads, [&](size_t i, size_t worker) {
      uint64_t r = first + i;
      ThreadState& st = states[worker];
      std::string_view text = block[i].as_string_view();
      out.length[r] = text.size();
      Status s = normalize_into(text, plan.ngrams.normalization, st.scratch.normalized);
      if (!s.ok()) {
        error.set(r, s.WithContext(row_context(plan.tensor, r)));
        return;
      }
      const std::string& norm = st.scratch.normalized;
      bool empty = norm.find_first_not_of(' ') == std::string::npos;
      out.empty[r] = empty ? 1 : 0;
      if (empty && !plan.allow_empty) {
        error.set(r, Status::InvalidArgument(
                         row_context(plan.tensor, r) + ": the text is empty" +
                         (text.empty() ? "" : " after normalization") +
                         " (pass allow_empty=True / --allow-empty to keep empty texts as their own clusters)"));
        return;
      }
      if (plan.exact) {
        XXH128_hash_t h = plan.exact_normalized ? XXH3_128bits(norm.data(), norm.size())
                                                : XXH3_128bits(text.data(), text.size());
        out.exact[r] = {h.low64, h.high64};
      }
      if (plan.minhash) {
        uint64_t* keys = out.keys.data() + r * static_cast<uint64_t>(plan.lsh.bands);
        st.grams.clear();
        ngram_hashes_of_normalized(norm, plan.ngrams, st.scratch, st.grams);
        if (st.grams.empty()) {
          std::fill(keys, keys + plan.lsh.bands, 0);
          return;
        }
        minhash_into(st.grams.data(), st.grams.size(), plan.num_perm, plan.seed, st.sig, st.filled);
        band_keys(st.sig, plan.lsh, keys);
      }
    }, 8);
    if (error.row != UINT64_MAX) return error.status;
    if (progress) progress(row - begin, end - begin);
  }
  return Status::OK();
}

Status hash_rows_raw(const Dataset& ds, const std::vector<size_t>& tensor_indices, uint64_t begin, uint64_t end,
                     RowHashes& out) {
  XXH3_state_t* state = XXH3_createState();
  if (!state) return Status::Internal("out of memory");
  for (uint64_t r = begin; r < end; ++r) {
    XXH3_128bits_reset(state);
    uint64_t length = 0;
    for (size_t ti : tensor_indices) {
      Result<Array> a = ds.read(ti, r);
      if (!a.ok()) {
        XXH3_freeState(state);
        return a.status();
      }
      uint8_t dtype = static_cast<uint8_t>(a->dtype());
      XXH3_128bits_update(state, &dtype, 1);
      uint64_t ndim = a->ndim();
      XXH3_128bits_update(state, &ndim, sizeof ndim);
      XXH3_128bits_update(state, a->shape().data(), a->shape().size() * sizeof(int64_t));
      XXH3_128bits_update(state, a->data(), a->nbytes());
      length += a->nbytes();
    }
    XXH128_hash_t h = XXH3_128bits_digest(state);
    out.exact[r] = {h.low64, h.high64};
    out.length[r] = length;
  }
  XXH3_freeState(state);
  return Status::OK();
}

uint64_t unite_exact(const RowHashes& h, uint64_t n, UnionFind& uf) {
  std::vector<uint64_t> order;
  order.reserve(n);
  for (uint64_t r = 0; r < n; ++r) {
    if (!h.empty[r]) order.push_back(r);
  }
  std::sort(order.begin(), order.end(), [&](uint64_t a, uint64_t b) {
    return h.exact[a] != h.exact[b] ? h.exact[a] < h.exact[b] : a < b;
  });
  uint64_t united = 0;
  for (size_t i = 1; i < order.size(); ++i) {
    if (h.exact[order[i]] == h.exact[order[i - 1]]) united += uf.unite(order[i - 1], order[i]) ? 1 : 0;
  }
  return united;
}

std::vector<uint64_t> lsh_candidates(const RowHashes& h, const std::vector<uint64_t>& rep, uint64_t n,
                                     uint64_t first_new, size_t max_bucket, uint64_t* oversized) {
  std::vector<uint64_t> members;
  for (uint64_t r = 0; r < n; ++r) {
    if (rep[r] == r && !h.empty[r]) members.push_back(r);
  }
  std::vector<uint64_t> pairs;
  std::vector<std::pair<uint64_t, uint32_t>> entries(members.size());
  for (int b = 0; b < h.bands; ++b) {
    for (size_t i = 0; i < members.size(); ++i) {
      entries[i] = {h.keys[members[i] * static_cast<uint64_t>(h.bands) + static_cast<uint64_t>(b)],
                    static_cast<uint32_t>(members[i])};
    }
    std::sort(entries.begin(), entries.end());
    for (size_t i = 0; i < entries.size();) {
      size_t j = i + 1;
      while (j < entries.size() && entries[j].first == entries[i].first) ++j;
      size_t count = j - i;
      if (count > 1) {
        // Members are sorted by row within the run, so a < b below.
        if (count > max_bucket) {
          ++*oversized;
          for (size_t y = i + 1; y < j; ++y) {
            uint64_t a = entries[i].second, c = entries[y].second;
            if (c >= first_new) pairs.push_back(a << 32 | c);
          }
        } else {
          for (size_t x = i; x < j; ++x) {
            for (size_t y = x + 1; y < j; ++y) {
              uint64_t a = entries[x].second, c = entries[y].second;
              if (c >= first_new) pairs.push_back(a << 32 | c);
            }
          }
        }
      }
      i = j;
    }
    // Keep the list short as it grows: many bands propose the same pairs.
    if (pairs.size() > (8u << 20)) sort_unique(pairs);
  }
  sort_unique(pairs);
  return pairs;
}

Status verify_pairs(const Dataset& ds, const TextPlan& plan, const RowHashes& h, const std::vector<uint64_t>& pairs,
                    uint64_t budget_bytes, std::vector<double>& jaccard_out, uint64_t* peak_bytes,
                    const std::function<void(uint64_t, uint64_t)>& progress) {
  jaccard_out.assign(pairs.size(), 0.0);
  std::vector<ThreadState> states(static_cast<size_t>(std::max(1, plan.threads)));
  size_t p = 0;
  while (p < pairs.size()) {
    // A window of pairs whose rows' n-gram sets fit the budget (estimated at 2 bytes of set
    // per byte of text: ~1 n-gram of 8 bytes per 5-6 bytes of text, plus slack).
    std::unordered_map<uint64_t, uint32_t> slot;
    std::vector<uint64_t> rows;
    uint64_t estimate = 0;
    size_t q = p;
    while (q < pairs.size()) {
      uint64_t a = pairs[q] >> 32, b = pairs[q] & 0xFFFFFFFFull;
      uint64_t add = (slot.count(a) ? 0 : h.length[a] * 2 + 64) + (slot.count(b) ? 0 : h.length[b] * 2 + 64);
      if (q > p && estimate + add > budget_bytes) break;
      estimate += add;
      for (uint64_t r : {a, b}) {
        if (slot.emplace(r, static_cast<uint32_t>(rows.size())).second) rows.push_back(r);
      }
      ++q;
    }
    std::vector<Array> texts;
    texts.reserve(rows.size());
    for (uint64_t r : rows) {
      GTN_ASSIGN_OR_RETURN(Array a, ds.read(plan.tensor_index, r));
      texts.push_back(std::move(a));
    }
    std::vector<std::vector<uint64_t>> sets(rows.size());
    FirstError error;
    parallel_for(rows.size(), plan.threads, [&](size_t i, size_t worker) {
      ThreadState& st = states[worker];
      Status s = normalize_into(texts[i].as_string_view(), plan.ngrams.normalization, st.scratch.normalized);
      if (!s.ok()) {
        error.set(rows[i], s.WithContext(row_context(plan.tensor, rows[i])));
        return;
      }
      ngram_hashes_of_normalized(st.scratch.normalized, plan.ngrams, st.scratch, sets[i]);
      sort_unique(sets[i]);
    }, 4);
    if (error.row != UINT64_MAX) return error.status;
    uint64_t held = 0;
    for (const auto& s : sets) held += s.capacity() * sizeof(uint64_t);
    if (peak_bytes) *peak_bytes = std::max(*peak_bytes, held);
    texts.clear();
    parallel_for(q - p, plan.threads, [&](size_t i, size_t) {
      uint64_t pr = pairs[p + i];
      jaccard_out[p + i] = (jaccard(sets[slot.at(pr >> 32)], sets[slot.at(pr & 0xFFFFFFFFull)]));
    }, 64);
    p = q;
    if (progress) progress(p, pairs.size());
  }
  return Status::OK();
}

}  // namespace gtn::curate
