// run_query: parse, bind, then evaluate WHERE and the keys over blocks of rows in
// parallel (skipping blocks the chunk statistics rule out), then group, order, sample,
// limit, and compute the SELECT columns for the rows that remain.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <numeric>
#include <random>
#include <thread>
#include <cstring>
#include <limits>
#include <unordered_map>

#include "gtn/query.h"
#include "gtn/query/expr.h"
#include "gtn/query/parser.h"

namespace gtn {
namespace query {
namespace {

constexpr uint64_t kMaxBlockRows = 65536;
constexpr uint64_t kBlockBytes = 4ull << 20;

// One key per row: a number, or text.
struct Key {
  bool text = false;
  std::vector<double> num;
  std::vector<std::string> str;
  void append(const Key& o) {
    num.insert(num.end(), o.num.begin(), o.num.end());
    str.insert(str.end(), o.str.begin(), o.str.end());
  }
};

struct Block {
  bool contiguous = true;
  uint64_t begin = 0, n = 0;  // rows [begin, begin+n) of the dataset, or of the row list
  uint64_t position = 0;      // position of its first row in the queried row set
};

struct BlockOut {
  std::vector<uint64_t> rows;       // dataset rows that passed WHERE
  std::vector<uint64_t> positions;  // their positions in the rows queried (when row_number() is selected)
  std::vector<Key> keys;            // per key expression
  std::vector<std::vector<double>> elems;  // UNGROUP BY: each row's elements
  Status status;
  bool done = false;
  bool skipped = false;
  uint64_t scanned = 0, bytes = 0;
};

// The rows' values of a key expression: one number or text per row.
Status key_values(const Col& c, const Expr& e, const std::vector<uint32_t>& pick, const char* clause, Key* out) {
  out->text = c.text;
  if (c.text) {
    for (uint32_t i : pick) out->str.emplace_back(c.str(i));
    return Status::OK();
  }
  const double* p;
  auto keep = to_f64(c, &p);
  for (uint32_t i : pick) {
    uint64_t m = c.row_numel(i);
    if (m != 1) {
      return Status::InvalidArgument(std::string("query error in '") + e.source + "': " + clause +
                                     " needs one value per row, row gives " + std::to_string(m) + " (shape " +
                                     shape_to_string(c.row_shape(i)) + "); reduce it with mean(), max(), ... or index it");
    }
    out->num.push_back(p[c.row_start(i)]);
  }
  return Status::OK();
}

// Ascending order of numbers with NaN last (first when `nan_first`).
int cmp_num(double a, double b, bool nan_first) {
  bool na = std::isnan(a), nb = std::isnan(b);
  if (na || nb) {
    if (na && nb) return 0;
    return (na ? 1 : -1) * (nan_first ? -1 : 1);
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

std::string format_number(double v) {
  if (std::isnan(v)) return "NaN";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// SplitMix64: the per-row random numbers of SAMPLE BY (independent of threads and blocks).
double unit_random(uint64_t seed, uint64_t row) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ull * (row + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return (static_cast<double>(z >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

struct Aggregate {
  std::string fn;         // count, sum, mean, min, max, any, all
  NodePtr arg;            // null for count(*)
  int key = -1;           // index into the per-row keys holding the argument
};

class Runner {
 public:
  Runner(const Dataset& ds, std::string_view text, const QueryOptions& opts) : ds_(ds), text_(text), opts_(opts) {}

  Result<QueryResult> run() {
    GTN_ASSIGN_OR_RETURN(ast_, parse_query(text_));
    const Dataset* ds = &ds_;
    std::unique_ptr<Dataset> other;
    if (!ast_.from_version.empty()) {
      if (opts_.rows) return Status::InvalidArgument("a query over a view cannot name another version in FROM");
      auto opened = ds_.open_version(ast_.from_version);
      if (!opened.ok()) return opened.status().WithContext("FROM @" + ast_.from_version);
      other = std::move(*opened);
      ds = other.get();
    }
    GTN_RETURN_IF_ERROR(make_schema(*ds));
    GTN_RETURN_IF_ERROR(bind_all());
    QueryResult r;
    r.query = std::string(text_);
    r.version = ast_.from_version;
    r.commit = ds->head_commit();
    r.uncommitted = ds->has_uncommitted_changes();
    GTN_RETURN_IF_ERROR(scan(&r.stats));
    GTN_RETURN_IF_ERROR(finish(&r));
    return r;
  }

 private:
  Status make_schema(const Dataset& ds) {
    schema_.ds = &ds;
    schema_.names = ds.tensor_names();
    schema_.model_dir = opts_.model_dir;
    schema_.specs.resize(schema_.names.size());
    schema_.infos.resize(schema_.names.size());
    std::vector<ExprPtr> all = {ast_.where, ast_.sample_by};
    for (const auto& g : ast_.group_by) all.push_back(g);
    for (const auto& o : ast_.order_by) all.push_back(o.expr);
    for (const auto& s : ast_.select) all.push_back(s.expr);
    std::vector<int> used;
    for (const auto& e : all) referenced_tensors(e, schema_, &used);
    for (int t : used) {
      GTN_ASSIGN_OR_RETURN(schema_.specs[t], ds.tensor_spec(schema_.names[t]));
      GTN_ASSIGN_OR_RETURN(schema_.infos[t], ds.tensor_info(schema_.names[t]));
    }
    n_rows_ = opts_.rows ? opts_.rows->size() : ds.size();
    return Status::OK();
  }

  Result<NodePtr> bind(const ExprPtr& e) { return compile(e, schema_, text_); }

  // Adds a per-row key expression evaluated in the scan; returns its index.
  Result<int> add_key(const ExprPtr& e, const char* clause) {
    GTN_ASSIGN_OR_RETURN(NodePtr n, bind(e));
    keys_.push_back(n);
    key_clause_.push_back(clause);
    return static_cast<int>(keys_.size() - 1);
  }

  // ORDER BY and GROUP BY may name a SELECT item by its alias.
  void resolve_aliases() {
    auto sub = [&](ExprPtr& e) {
      if (!e || e->kind != Expr::kName) return;
      if (std::find(schema_.names.begin(), schema_.names.end(), e->text) != schema_.names.end()) return;
      for (const auto& s : ast_.select) {
        if (!s.alias.empty() && s.alias == e->text) e = s.expr;
      }
    };
    for (auto& o : ast_.order_by) sub(o.expr);
    for (auto& g : ast_.group_by) sub(g);
  }

  Status bind_all() {
    resolve_aliases();
    for (const auto& item : ast_.select) {
      std::string src = item.expr ? item.expr->source : "";
      std::transform(src.begin(), src.end(), src.begin(), [](unsigned char c) { return std::tolower(c); });
      need_positions_ = need_positions_ || src.find("row_number") != std::string::npos;
    }
    if (ast_.where) {
      GTN_ASSIGN_OR_RETURN(where_, bind(ast_.where));
      if (where_->type.text || where_->type.dtype != DType::kBool) {
        return Status::InvalidArgument("query type error at " + where(text_, ast_.where->at) +
                                       "\nWHERE needs a boolean (a comparison, IN, LIKE, ...), but '" +
                                       ast_.where->source + "' is " + where_->type.describe());
      }
      if (where_->type.fixed && shape_numel(where_->type.shape) != 1) {
        return Status::InvalidArgument("query type error at " + where(text_, ast_.where->at) +
                                       "\nWHERE needs one boolean per row, but '" + ast_.where->source + "' gives " +
                                       where_->type.describe() + "; wrap it in any() or all()");
      }
    }
    // Aggregates in SELECT make the query a grouped one (one group without GROUP BY).
    for (const auto& s : ast_.select) {
      if (is_aggregate_call(s.expr) && (s.expr->star || !ast_.group_by.empty() || contains_no_tensor_scalar(s.expr))) {
        grouped_ = true;
      }
    }
    if (!ast_.group_by.empty() && ast_.ungroup) {
      if (ast_.group_by.size() != 1) return Status::InvalidArgument("UNGROUP BY takes one expression");
      GTN_ASSIGN_OR_RETURN(ungroup_, bind(ast_.group_by[0]));
      if (ungroup_->type.text) return Status::InvalidArgument("UNGROUP BY needs numbers (a multi-label tensor, a vector)");
    } else if (!ast_.group_by.empty()) {
      grouped_ = true;
      for (const auto& g : ast_.group_by) {
        GTN_ASSIGN_OR_RETURN(int k, add_key(g, "GROUP BY"));
        group_keys_.push_back(k);
      }
    }
    if (grouped_) {
      for (const auto& s : ast_.select) GTN_RETURN_IF_ERROR(group_item(s.expr, "SELECT"));
      for (const auto& o : ast_.order_by) GTN_RETURN_IF_ERROR(group_item(o.expr, "ORDER BY"));
      if (ast_.sample_by) return Status::InvalidArgument("SAMPLE BY cannot be combined with GROUP BY or aggregates");
    } else {
      for (const auto& o : ast_.order_by) {
        GTN_ASSIGN_OR_RETURN(int k, add_key(o.expr, "ORDER BY"));
        order_keys_.push_back(k);
      }
      for (const auto& s : ast_.select) {
        if (is_aggregate_call(s.expr) && s.expr->star) continue;
        if (s.expr->kind == Expr::kName) {
          GTN_ASSIGN_OR_RETURN(NodePtr n, bind(s.expr));
          select_.push_back(n);  // checks the name
          continue;
        }
        GTN_ASSIGN_OR_RETURN(NodePtr n, bind(s.expr));
        if (n->type.text) {
          return Status::InvalidArgument("query type error at " + where(text_, s.expr->at) + "\nSELECT '" +
                                         s.expr->source + "' computes text; computed columns hold numbers "
                                         "(select the text tensor itself, or filter with it in WHERE)");
        }
        select_.push_back(n);
      }
    }
    for (const auto& o : ast_.order_by) {
      order_desc_.push_back(o.desc);
      order_nulls_.push_back(o.nulls_first);
    }
    if (!order_keys_.empty() && ast_.limit && !ast_.sample_by && !grouped_ && !ungroup_) {
      top_k_ = *ast_.limit + ast_.offset;
      if (top_k_ == 0) top_k_ = 1;  // LIMIT 0: nothing is kept, but a block keeps a row
    }
    if (ast_.sample_by) {
      GTN_ASSIGN_OR_RETURN(sample_key_, add_key(ast_.sample_by, "SAMPLE BY"));
      if (keys_[sample_key_]->type.text) return Status::InvalidArgument("SAMPLE BY needs a numeric weight per row");
    }
    return Status::OK();
  }

  static bool contains_no_tensor_scalar(const ExprPtr&) { return true; }

  // In a grouped query, an item is a grouping expression or an aggregate.
  Status group_item(const ExprPtr& e, const char* clause) {
    for (size_t g = 0; g < ast_.group_by.size(); ++g) {
      if (ast_.group_by[g]->source == e->source) return Status::OK();
    }
    if (is_aggregate_call(e)) {
      Aggregate a;
      a.fn = e->text;
      std::transform(a.fn.begin(), a.fn.end(), a.fn.begin(), [](unsigned char c) { return std::tolower(c); });
      if (a.fn == "avg") a.fn = "mean";
      if (!e->star) {
        if (e->args.size() != 1) {
          return Status::InvalidArgument("query type error at " + where(text_, e->at) + "\n" + a.fn +
                                         "() over a group takes one argument");
        }
        GTN_ASSIGN_OR_RETURN(a.key, add_key(e->args[0], "an aggregate"));
        if (keys_[a.key]->type.text) {
          return Status::InvalidArgument("query type error at " + where(text_, e->args[0]->at) + "\n" + a.fn +
                                         "() aggregates numbers, but '" + e->args[0]->source + "' is text");
        }
      } else if (a.fn != "count") {
        return Status::InvalidArgument("query type error at " + where(text_, e->at) + "\nonly count takes *");
      }
      aggregates_.emplace(e->source, a);
      return Status::OK();
    }
    return Status::InvalidArgument("query type error at " + where(text_, e->at) + "\n" + clause + " '" + e->source +
                                   "' is neither a GROUP BY expression nor an aggregate (count, sum, mean, min, max, "
                                   "any, all) in a grouped query");
  }

  // Blocks: spans of the first tensor WHERE reads (so statistics apply), cut to bound
  // the bytes a block reads.
  Status plan_blocks() {
    std::vector<int> used;
    referenced_tensors(ast_.where, schema_, &used);
    for (const auto& k : keys_) referenced_tensors(k->expr, schema_, &used);
    if (ungroup_) referenced_tensors(ungroup_->expr, schema_, &used);
    uint64_t row_bytes = 8;
    for (int t : used) {
      const TensorInfo& i = schema_.infos[t];
      row_bytes += i.length ? std::max<uint64_t>(1, i.raw_bytes / i.length) : 8;
    }
    uint64_t max_rows = std::clamp<uint64_t>(kBlockBytes / row_bytes, 1024, kMaxBlockRows);
    auto cut = [&](uint64_t begin, uint64_t end, bool contiguous) {
      for (uint64_t b = begin; b < end; b += max_rows) {
        blocks_.push_back({contiguous, b, std::min(end, b + max_rows) - b, b});
      }
    };
    if (opts_.rows) {
      cut(0, n_rows_, false);
      return Status::OK();
    }
    // Blocks end where a chunk of any tensor the scan reads ends, so every tensor comes in
    // as one zero-copy view per block; the statistics of WHERE's tensors then cover
    // exactly the block.
    // Cuts where WHERE's statistics change are kept (they decide what is skipped); other
    // cuts (segments under 1,024 rows, such as slices left by updates) may be merged.
    std::vector<int> where_used;
    referenced_tensors(ast_.where, schema_, &where_used);
    std::vector<std::pair<uint64_t, bool>> cuts = {{0, true}, {n_rows_, true}};  // (row, hard)
    for (int t : used) {
      GTN_ASSIGN_OR_RETURN(spans_[t], schema_.ds->chunk_spans(t));
      bool in_where = std::find(where_used.begin(), where_used.end(), t) != where_used.end();
      for (const ChunkSpan& s : spans_[t]) cuts.push_back({std::min(s.end, n_rows_), in_where && s.stats.known});
    }
    std::sort(cuts.begin(), cuts.end(), [](const auto& a, const auto& b) { return a.first < b.first || (a.first == b.first && a.second > b.second); });
    uint64_t start = 0;
    for (size_t i = 1; i < cuts.size(); ++i) {
      uint64_t at = cuts[i].first;
      if (at == start) continue;
      if (cuts[i].second || at - start >= 1024 || at == n_rows_) {
        cut(start, at, true);
        start = at;
      }
    }
    return Status::OK();
  }

  // Statistics of tensor t over rows [begin, end): merged over the spans they touch.
  const ChunkStats* merged_stats(int t, uint64_t begin, uint64_t end, ChunkStats* scratch) const {
    auto it = spans_.find(t);
    if (it == spans_.end()) return nullptr;
    const auto& spans = it->second;
    auto first = std::upper_bound(spans.begin(), spans.end(), begin,
                                  [](uint64_t v, const ChunkSpan& s) { return v < s.end; });
    bool any = false;
    for (auto s = first; s != spans.end() && s->begin < end; ++s) {
      if (!s->stats.known) return nullptr;
      if (!any) {
        *scratch = s->stats;
        any = true;
        continue;
      }
      ChunkStats& m = *scratch;
      m.samples += s->stats.samples;
      m.empty += s->stats.empty;
      m.nan += s->stats.nan;
      if (s->stats.has_range) {
        m.min = m.has_range ? std::min(m.min, s->stats.min) : s->stats.min;
        m.max = m.has_range ? std::max(m.max, s->stats.max) : s->stats.max;
        m.has_range = true;
      }
      if (m.has_classes && s->stats.has_classes) {
        std::vector<int64_t> u;
        std::set_union(m.classes.begin(), m.classes.end(), s->stats.classes.begin(), s->stats.classes.end(),
                       std::back_inserter(u));
        m.classes = std::move(u);
      } else {
        m.has_classes = false;
      }
    }
    return any ? scratch : nullptr;
  }

  Status run_block(const Block& blk, BlockOut* out) {
    if (where_ && blk.contiguous) {
      ChunkStats scratch;
      std::map<int, ChunkStats> merged;
      StatsFn fn = [&](int t) -> const ChunkStats* {
        const ChunkStats* s = merged_stats(t, blk.begin, blk.begin + blk.n, &scratch);
        if (!s) return nullptr;
        return &(merged[t] = *s);
      };
      if (never_true(*where_, fn)) {
        out->skipped = true;
        return Status::OK();
      }
    }
    const uint64_t* rows = opts_.rows ? opts_.rows->data() + blk.begin : nullptr;
    Batch batch = rows ? Batch(schema_, rows, blk.n, blk.position) : Batch(schema_, blk.begin, blk.n, blk.position);
    std::vector<uint32_t> pick;
    out->scanned = blk.n;
    if (where_) {
      GTN_ASSIGN_OR_RETURN(Col c, where_->eval(batch));
      std::vector<uint8_t> mask;
      GTN_RETURN_IF_ERROR(truth(c, *ast_.where, &mask));
      for (uint32_t i = 0; i < blk.n; ++i) {
        if (mask[i]) pick.push_back(i);
      }
    } else {
      pick.resize(blk.n);
      std::iota(pick.begin(), pick.end(), 0);
    }
    out->rows.resize(pick.size());
    for (size_t k = 0; k < pick.size(); ++k) out->rows[k] = rows ? rows[pick[k]] : blk.begin + pick[k];
    if (need_positions_) {
      out->positions.resize(pick.size());
      for (size_t k = 0; k < pick.size(); ++k) out->positions[k] = blk.position + pick[k];
    }
    if (!pick.empty()) {
      out->keys.resize(keys_.size());
      for (size_t k = 0; k < keys_.size(); ++k) {
        GTN_ASSIGN_OR_RETURN(Col c, keys_[k]->eval(batch));
        GTN_RETURN_IF_ERROR(key_values(c, *keys_[k]->expr, pick, key_clause_[k], &out->keys[k]));
      }
      if (ungroup_) {
        GTN_ASSIGN_OR_RETURN(Col c, ungroup_->eval(batch));
        const double* p;
        auto keep = to_f64(c, &p);
        for (uint32_t i : pick) {
          out->elems.emplace_back(p + c.row_start(i), p + c.row_start(i) + c.row_numel(i));
        }
      }
    }
    keep_block_top(out);
    out->bytes = batch.bytes_read();
    return Status::OK();
  }

  Status scan(QueryStats* stats) {
    GTN_RETURN_IF_ERROR(plan_blocks());
    outs_.resize(blocks_.size());
    // LIMIT without ORDER BY, SAMPLE BY or groups stops once enough rows are found in order.
    bool early = ast_.limit && ast_.order_by.empty() && !ast_.sample_by && !grouped_ && !ungroup_;
    uint64_t need = early ? *ast_.limit + ast_.offset : 0;
    std::atomic<size_t> next{0};
    std::atomic<bool> stop{false};
    std::mutex mu;
    size_t prefix_done = 0;  // blocks [0, prefix_done) are done
    uint64_t prefix_rows = 0;
    auto worker = [&] {
      while (!stop.load()) {
        size_t b = next.fetch_add(1);
        if (b >= blocks_.size()) return;
        BlockOut& o = outs_[b];
        o.status = run_block(blocks_[b], &o);
        std::lock_guard<std::mutex> g(mu);
        o.done = true;
        if (!o.status.ok()) stop = true;
        while (prefix_done < outs_.size() && outs_[prefix_done].done) prefix_rows += outs_[prefix_done++].rows.size();
        if (early && prefix_rows >= need) stop = true;
      }
    };
    int threads = opts_.n_threads > 0 ? opts_.n_threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    threads = static_cast<int>(std::min<size_t>(threads, std::max<size_t>(1, blocks_.size())));
    if (threads == 1) {
      worker();
    } else {
      std::vector<std::thread> pool;
      for (int i = 0; i < threads; ++i) pool.emplace_back(worker);
      for (auto& t : pool) t.join();
    }
    for (size_t b = 0; b < outs_.size(); ++b) {
      if (!outs_[b].done) {
        if (early) break;  // past the rows LIMIT needs
        continue;
      }
      GTN_RETURN_IF_ERROR(outs_[b].status);
      if (early && b >= prefix_done) break;
      stats->chunks_skipped += outs_[b].skipped;
      stats->chunks_scanned += !outs_[b].skipped;
      stats->rows_scanned += outs_[b].skipped ? 0 : outs_[b].scanned;
      stats->bytes_read += outs_[b].bytes;
      rows_.insert(rows_.end(), outs_[b].rows.begin(), outs_[b].rows.end());
      positions_.insert(positions_.end(), outs_[b].positions.begin(), outs_[b].positions.end());
      if (all_keys_.empty()) all_keys_.resize(keys_.size());
      for (size_t k = 0; k < outs_[b].keys.size(); ++k) {
        all_keys_[k].text = keys_[k]->type.text;
        all_keys_[k].append(outs_[b].keys[k]);
      }
      for (auto& e : outs_[b].elems) elems_.push_back(std::move(e));
      outs_[b] = BlockOut();
    }
    if (all_keys_.empty()) all_keys_.resize(keys_.size());
    for (size_t k = 0; k < keys_.size(); ++k) all_keys_[k].text = keys_[k]->type.text;
    return Status::OK();
  }

  // Sorted permutation of [0, n) by the given keys (stable: ties keep row order).
  void sort_by(std::vector<uint64_t>* idx, const std::vector<int>& keys, const std::vector<bool>& desc,
               const std::vector<std::optional<bool>>& nulls_first, uint64_t top) {
    sort_keys(all_keys_, idx, keys, desc, nulls_first, top);
  }

  // Sorts (or, with top < size, selects and sorts the first `top` of) the indices into
  // `store` by the listed keys; ties keep index order.
  static void sort_keys(const std::vector<Key>& store, std::vector<uint64_t>* idx, const std::vector<int>& keys,
                        const std::vector<bool>& desc, const std::vector<std::optional<bool>>& nulls_first, uint64_t top) {
    auto less = [&](uint64_t a, uint64_t b) {
      for (size_t i = 0; i < keys.size(); ++i) {
        const Key& k = store[keys[i]];
        int c;
        if (k.text) {
          c = k.str[a] < k.str[b] ? -1 : k.str[a] > k.str[b] ? 1 : 0;
          if (desc[i]) c = -c;
        } else {
          bool nf = nulls_first[i].value_or(desc[i]);
          double x = k.num[a], y = k.num[b];
          if (std::isnan(x) || std::isnan(y)) {
            c = cmp_num(x, y, nf);
          } else {
            c = x < y ? -1 : x > y ? 1 : 0;
            if (desc[i]) c = -c;
          }
        }
        if (c) return c < 0;
      }
      return a < b;
    };
    if (top < idx->size()) {
      std::partial_sort(idx->begin(), idx->begin() + top, idx->end(), less);
      idx->resize(top);
    } else {
      std::sort(idx->begin(), idx->end(), less);
    }
  }

  // ORDER BY ... LIMIT k: a block keeps only its own first k rows (in scan order), so the
  // final sort sees at most k rows per block.
  void keep_block_top(BlockOut* out) const {
    uint64_t m = out->rows.size();
    if (!top_k_ || m <= top_k_) return;
    std::vector<uint64_t> idx(m);
    std::iota(idx.begin(), idx.end(), 0);
    sort_keys(out->keys, &idx, order_keys_, order_desc_, order_nulls_, top_k_);
    std::sort(idx.begin(), idx.end());
    auto take = [&](auto& v) {
      using V = std::decay_t<decltype(v)>;
      V kept;
      kept.reserve(idx.size());
      for (uint64_t i : idx) kept.push_back(std::move(v[i]));
      v = std::move(kept);
    };
    take(out->rows);
    if (!out->positions.empty()) take(out->positions);
    for (Key& k : out->keys) {
      if (k.text) {
        take(k.str);
      } else {
        take(k.num);
      }
    }
  }

  std::string key_text(int k, uint64_t i) const {
    const Key& key = all_keys_[k];
    if (key.text) return key.str[i];
    const Type& t = keys_[k]->type;
    double v = key.num[i];
    if (t.classes && v == std::floor(v) && v >= 0 && v < static_cast<double>(t.classes->class_names.size())) {
      return t.classes->class_names[static_cast<size_t>(v)];
    }
    return format_number(v);
  }

  Status finish(QueryResult* r) {
    uint64_t n = rows_.size();
    std::vector<uint64_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    if (grouped_) return finish_groups(r, order);
    bool identity = order_keys_.empty() && !ast_.sample_by && !ungroup_;
    if (!order_keys_.empty()) {
      std::vector<bool> desc;
      std::vector<std::optional<bool>> nf;
      for (const auto& o : ast_.order_by) {
        desc.push_back(o.desc);
        nf.push_back(o.nulls_first);
      }
      uint64_t top = ast_.limit ? *ast_.limit + ast_.offset : n;
      sort_by(&order, order_keys_, desc, nf, top);
    }
    if (ast_.sample_by) GTN_RETURN_IF_ERROR(sample(&order));
    // UNGROUP BY: one row per element.
    std::vector<double> elem_values;
    if (ungroup_) {
      std::vector<uint64_t> expanded;
      for (uint64_t i : order) {
        for (double v : elems_[i]) {
          expanded.push_back(i);
          elem_values.push_back(v);
        }
      }
      order = std::move(expanded);
    }
    uint64_t off = std::min<uint64_t>(ast_.offset, order.size());
    uint64_t end = ast_.limit ? std::min<uint64_t>(order.size(), off + *ast_.limit) : order.size();
    if (need_positions_) {
      result_positions_.resize(end - off);
      for (uint64_t k = off; k < end; ++k) result_positions_[k - off] = positions_[order[k]];
    }
    if (!identity || off != 0 || end != order.size()) {
      r->rows.resize(end - off);
      for (uint64_t k = off; k < end; ++k) r->rows[k - off] = rows_[order[k]];
    } else {
      r->rows = std::move(rows_);  // WHERE alone: the rows as scanned
    }
    if (ungroup_) {
      Array col = Array::Zeros(DType::kFloat64, {static_cast<int64_t>(end - off)});
      std::copy(elem_values.begin() + off, elem_values.begin() + end, static_cast<double*>(col.mutable_data()));
      r->columns.push_back({ast_.group_by[0]->source, "", std::move(col)});
    }
    return select_columns(r);
  }

  Status sample(std::vector<uint64_t>* order) {
    const Key& w = all_keys_[sample_key_];
    for (uint64_t i = 0; i < w.num.size(); ++i) {
      if (!(w.num[i] >= 0) || std::isinf(w.num[i])) {
        return Status::InvalidArgument("SAMPLE BY weights must be finite and >= 0; row " + std::to_string(rows_[i]) +
                                       " has " + format_number(w.num[i]));
      }
    }
    uint64_t k = *ast_.limit + ast_.offset;
    std::vector<uint64_t> picked;
    if (ast_.sample_replace) {
      std::vector<double> cum(order->size());
      double total = 0;
      for (uint64_t i = 0; i < order->size(); ++i) cum[i] = total += w.num[(*order)[i]];
      if (total > 0) {
        std::mt19937_64 rng(opts_.seed);
        std::uniform_real_distribution<double> u(0, total);
        for (uint64_t j = 0; j < k; ++j) {
          double x = u(rng);
          uint64_t i = std::upper_bound(cum.begin(), cum.end(), x) - cum.begin();
          picked.push_back((*order)[std::min<uint64_t>(i, order->size() - 1)]);
        }
      }
    } else {
      // Efraimidis-Spirakis: the k largest u^(1/w), computed as log(u)/w.
      std::vector<std::pair<double, uint64_t>> keyed;
      for (uint64_t i : *order) {
        if (w.num[i] > 0) keyed.push_back({std::log(unit_random(opts_.seed, rows_[i])) / w.num[i], i});
      }
      uint64_t m = std::min<uint64_t>(k, keyed.size());
      std::partial_sort(keyed.begin(), keyed.begin() + m, keyed.end(),
                        [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
      for (uint64_t j = 0; j < m; ++j) picked.push_back(keyed[j].second);
    }
    *order = std::move(picked);
    return Status::OK();
  }

  // The SELECT columns of the result rows.
  Status select_columns(QueryResult* r) {
    if (ast_.select_star) {
      for (const auto& name : schema_.names) r->columns.push_back({name, name, Array()});
    }
    size_t si = 0;
    for (const auto& item : ast_.select) {
      if (is_aggregate_call(item.expr) && item.expr->star) continue;
      const NodePtr& node = select_[si++];
      std::string name = item.alias.empty() ? item.expr->source : item.alias;
      if (item.expr->kind == Expr::kName) {
        r->columns.push_back({name, item.expr->text, Array()});
        continue;
      }
      GTN_ASSIGN_OR_RETURN(Array values, evaluate(node, r->rows));
      r->columns.push_back({name, "", std::move(values)});
    }
    return Status::OK();
  }

  // Evaluates `node` on the listed rows, in batches; the rows must give equal shapes.
  Result<Array> evaluate(const NodePtr& node, const std::vector<uint64_t>& rows) {
    uint64_t n = rows.size();
    Array out;
    Shape row_shape;
    size_t es = 0;
    for (uint64_t b = 0; b < n || (n == 0 && b == 0); b += kMaxBlockRows) {
      uint64_t m = std::min<uint64_t>(kMaxBlockRows, n - b);
      Batch batch(schema_, rows.data() + b, m, b);
      if (need_positions_) batch.set_positions(result_positions_.data() + b);
      GTN_ASSIGN_OR_RETURN(Col c, node->eval(batch));
      if (b == 0) {
        row_shape = c.row_shape(0);
        if (!c.uniform) {
          for (uint64_t i = 0; i < m; ++i) {
            if (c.row_shape(i) != row_shape) {
              return Status::InvalidArgument("query error in '" + node->expr->source +
                                             "': a computed column needs the same shape on every row; rows have " +
                                             shape_to_string(row_shape) + " and " + shape_to_string(c.row_shape(i)));
            }
          }
        }
        Shape full = row_shape;
        full.insert(full.begin(), static_cast<int64_t>(n));
        out = Array::Zeros(c.dtype, full);
        es = dtype_size(c.dtype);
        if (n == 0) break;
      }
      uint64_t per = static_cast<uint64_t>(shape_numel(row_shape));
      auto* dst = static_cast<uint8_t*>(out.mutable_data()) + b * per * es;
      for (uint64_t i = 0; i < m; ++i) {
        if (c.row_numel(i) != per) {
          return Status::InvalidArgument("query error in '" + node->expr->source +
                                         "': a computed column needs the same shape on every row");
        }
        std::memcpy(dst + i * per * es, c.data + c.row_start(i) * es, per * es);
      }
    }
    return out;
  }

  Status finish_groups(QueryResult* r, std::vector<uint64_t>& order) {
    uint64_t n = rows_.size();
    // Groups: rows sorted by the GROUP BY keys (ascending), then split where keys change.
    std::vector<uint64_t> offsets;
    if (group_keys_.size() == 1 && !all_keys_[group_keys_[0]].text) {
      // One numeric key: buckets by value in one pass, then the few distinct keys sorted.
      const std::vector<double>& key = all_keys_[group_keys_[0]].num;
      std::unordered_map<uint64_t, uint32_t> ids;
      std::vector<double> values;
      std::vector<uint32_t> gid(n);
      // Small non-negative integer keys (class labels): an array indexed by the key.
      const Type& kt = keys_[group_keys_[0]]->type;
      bool dense = is_integral(kt.dtype) && !kt.text;
      double kmax = 0;
      for (uint64_t i = 0; i < n && dense; ++i) {
        dense = key[i] >= 0 && key[i] < 65536;
        kmax = std::max(kmax, key[i]);
      }
      if (dense) {
        std::vector<int64_t> slot(static_cast<size_t>(kmax) + 1, -1);
        for (uint64_t i = 0; i < n; ++i) {
          int64_t& g = slot[static_cast<size_t>(key[i])];
          if (g < 0) {
            g = static_cast<int64_t>(values.size());
            values.push_back(key[i]);
          }
          gid[i] = static_cast<uint32_t>(g);
        }
      }
      for (uint64_t i = 0; i < n && !dense; ++i) {
        double v = std::isnan(key[i]) ? std::numeric_limits<double>::quiet_NaN() : key[i] == 0 ? 0.0 : key[i];
        uint64_t bits;
        std::memcpy(&bits, &v, 8);
        auto [it, added] = ids.emplace(bits, static_cast<uint32_t>(values.size()));
        if (added) values.push_back(v);
        gid[i] = it->second;
      }
      std::vector<uint32_t> by_key(values.size());
      std::iota(by_key.begin(), by_key.end(), 0);
      std::sort(by_key.begin(), by_key.end(), [&](uint32_t a, uint32_t b) { return cmp_num(values[a], values[b], false) < 0; });
      std::vector<uint64_t> rank(values.size()), start(values.size() + 1, 0);
      for (size_t r = 0; r < by_key.size(); ++r) rank[by_key[r]] = r;
      for (uint64_t i = 0; i < n; ++i) ++start[rank[gid[i]] + 1];
      for (size_t g = 0; g < values.size(); ++g) start[g + 1] += start[g];
      offsets.assign(start.begin(), start.end() - 1);
      std::vector<uint64_t> fill(start.begin(), start.end() - 1);
      for (uint64_t i = 0; i < n; ++i) order[fill[rank[gid[i]]]++] = i;  // row order within a group
      if (offsets.empty()) offsets.push_back(0);
    } else if (!group_keys_.empty()) {
      std::vector<bool> desc(group_keys_.size(), false);
      std::vector<std::optional<bool>> nf(group_keys_.size());
      sort_by(&order, group_keys_, desc, nf, n);
      for (uint64_t i = 0; i < n; ++i) {
        bool change = i == 0;
        for (int k : group_keys_) {
          if (change) break;
          const Key& key = all_keys_[k];
          change = key.text ? key.str[order[i]] != key.str[order[i - 1]]
                            : cmp_num(key.num[order[i]], key.num[order[i - 1]], false) != 0;
        }
        if (change) offsets.push_back(i);
      }
    } else {
      offsets.push_back(0);  // one group: every row (even none)
    }
    offsets.push_back(n);
    uint64_t groups = offsets.size() - 1;
    if (!group_keys_.empty() && n == 0) groups = 0;
    // Group-level values of every SELECT and ORDER BY item.
    std::map<std::string, std::vector<double>> values;
    auto group_value = [&](const ExprPtr& e) -> std::vector<double>& {
      auto it = values.find(e->source);
      if (it != values.end()) return it->second;
      std::vector<double>& v = values[e->source];
      v.resize(groups);
      for (size_t g = 0; g < ast_.group_by.size(); ++g) {
        if (ast_.group_by[g]->source == e->source) {
          const Key& key = all_keys_[group_keys_[g]];
          for (uint64_t gi = 0; gi < groups; ++gi) v[gi] = key.text ? NAN : key.num[order[offsets[gi]]];
          return v;
        }
      }
      const Aggregate& a = aggregates_.at(e->source);
      for (uint64_t gi = 0; gi < groups; ++gi) {
        uint64_t b = offsets[gi], end = offsets[gi + 1];
        double acc = a.fn == "count" ? 0 : a.fn == "min" ? INFINITY : a.fn == "max" ? -INFINITY : a.fn == "all" ? 1 : 0;
        uint64_t cnt = 0;
        bool nan = false;
        for (uint64_t i = b; i < end; ++i) {
          if (a.fn == "count") {
            acc += a.key < 0 || !std::isnan(all_keys_[a.key].num[order[i]]);
            continue;
          }
          double x = all_keys_[a.key].num[order[i]];
          if (std::isnan(x)) nan = true;
          ++cnt;
          if (a.fn == "sum" || a.fn == "mean") acc += x;
          else if (a.fn == "min") acc = std::min(acc, x);
          else if (a.fn == "max") acc = std::max(acc, x);
          else if (a.fn == "any") acc = acc || x != 0;
          else if (a.fn == "all") acc = acc && x != 0;
        }
        if (a.fn == "mean") acc = cnt ? acc / static_cast<double>(cnt) : NAN;
        if ((a.fn == "min" || a.fn == "max") && cnt == 0) acc = NAN;
        if (nan && (a.fn == "sum" || a.fn == "mean" || a.fn == "min" || a.fn == "max")) acc = NAN;
        v[gi] = acc;
      }
      return v;
    };
    std::vector<uint64_t> gorder(groups);
    std::iota(gorder.begin(), gorder.end(), 0);
    if (!ast_.order_by.empty()) {
      std::vector<std::vector<double>*> cols;
      for (const auto& o : ast_.order_by) cols.push_back(&group_value(o.expr));
      std::stable_sort(gorder.begin(), gorder.end(), [&](uint64_t a, uint64_t b) {
        for (size_t i = 0; i < cols.size(); ++i) {
          const auto& o = ast_.order_by[i];
          double x = (*cols[i])[a], y = (*cols[i])[b];
          int c;
          if (std::isnan(x) || std::isnan(y)) {
            c = cmp_num(x, y, o.nulls_first.value_or(o.desc));
          } else {
            c = x < y ? -1 : x > y ? 1 : 0;
            if (o.desc) c = -c;
          }
          if (c) return c < 0;
        }
        return false;
      });
    }
    uint64_t off = std::min<uint64_t>(ast_.offset, groups);
    uint64_t end = ast_.limit ? std::min<uint64_t>(groups, off + *ast_.limit) : groups;
    r->group_offsets.push_back(0);
    for (uint64_t k = off; k < end; ++k) {
      uint64_t g = gorder[k];
      std::string key;
      for (size_t j = 0; j < group_keys_.size(); ++j) {
        key += (j ? ", " : "") + key_text(group_keys_[j], order[offsets[g]]);
      }
      r->group_keys.push_back(key);
      for (uint64_t i = offsets[g]; i < offsets[g + 1]; ++i) r->rows.push_back(rows_[order[i]]);
      r->group_offsets.push_back(r->rows.size());
    }
    for (const auto& item : ast_.select) {
      std::vector<double>& v = group_value(item.expr);
      Array col = Array::Zeros(DType::kFloat64, {static_cast<int64_t>(end - off)});
      auto* p = static_cast<double*>(col.mutable_data());
      for (uint64_t k = off; k < end; ++k) p[k - off] = v[gorder[k]];
      r->columns.push_back({item.alias.empty() ? item.expr->source : item.alias, "", std::move(col)});
    }
    return Status::OK();
  }

  const Dataset& ds_;
  std::string_view text_;
  const QueryOptions& opts_;
  QueryAst ast_;
  Schema schema_;
  uint64_t n_rows_ = 0;
  NodePtr where_, ungroup_;
  std::vector<NodePtr> keys_;
  std::vector<const char*> key_clause_;
  std::vector<int> order_keys_, group_keys_;
  std::vector<bool> order_desc_;
  std::vector<std::optional<bool>> order_nulls_;
  uint64_t top_k_ = 0;  // ORDER BY with LIMIT (no SAMPLE BY, groups or UNGROUP BY): rows a block keeps
  int sample_key_ = -1;
  bool grouped_ = false;
  std::map<std::string, Aggregate> aggregates_;
  std::vector<NodePtr> select_;
  std::vector<Block> blocks_;
  std::map<int, std::vector<ChunkSpan>> spans_;
  std::vector<BlockOut> outs_;
  std::vector<uint64_t> rows_, positions_;
  bool need_positions_ = false;
  std::vector<uint64_t> result_positions_;
  std::vector<Key> all_keys_;
  std::vector<std::vector<double>> elems_;
};

}  // namespace
}  // namespace query

Result<QueryResult> run_query(const Dataset& dataset, std::string_view text, const QueryOptions& options) {
  query::Runner r(dataset, text, options);
  return r.run();
}

}  // namespace gtn
