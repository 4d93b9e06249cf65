// GTN-F tensor queries and views (docs/query.md).
//
// A query runs over one dataset state and returns rows: positions in that state, in result
// order, plus the columns its SELECT list computes. A *view* is such a list of rows bound
// to the commit it ran on; saved views (Dataset::save_view) keep reading the same rows
// after later commits.
//
//   auto r = gtn::run_query(*ds, "SELECT * WHERE labels == 'cat' AND score > 0.5 LIMIT 10");
//   for (uint64_t row : r->rows) ...
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "gtn/dataset.h"
#include "gtn/result.h"
#include "gtn/tensor.h"

namespace gtn {

struct QueryOptions {
  int n_threads = 0;       // 0: every core
  uint64_t seed = 0;       // SAMPLE BY draws with this seed (same seed, same sample)
  // Where model('file.gtnm', ...) looks for relative paths; empty: the working directory.
  std::string model_dir;
  // Rows the query runs over (a view's rows, in the view's order); null: every row.
  const std::vector<uint64_t>* rows = nullptr;
};

// What a query read: how much the per-chunk statistics saved.
struct QueryStats {
  uint64_t rows_scanned = 0;   // rows whose WHERE was evaluated
  uint64_t chunks_scanned = 0; // chunk slices read for WHERE
  uint64_t chunks_skipped = 0; // chunk slices the statistics ruled out
  uint64_t bytes_read = 0;     // sample bytes WHERE/ORDER BY/SELECT expressions read
};

// One SELECT column: a tensor passed through (`tensor` set, `values` empty) or a computed
// expression (`values`: one row per result row, first axis = rows.size()).
struct QueryColumn {
  std::string name;    // the tensor's name or the expression's alias (AS) or text
  std::string tensor;  // set when the column is a stored tensor
  Array values;        // set when the column is computed
};

struct QueryResult {
  std::string commit;                // the commit the rows are positions in ("" if uncommitted)
  bool uncommitted = false;          // the state had changes not yet committed
  std::string version;               // FROM ds@version, when the query named one
  std::string query;                 // the text that ran
  std::vector<uint64_t> rows;        // positions in the state the query read, result order
  std::vector<QueryColumn> columns;  // the SELECT list (SELECT *: every tensor)
  // GROUP BY: the key of each group (as text) and the index range [offsets[g],
  // offsets[g+1]) of its rows in `rows`; empty without GROUP BY.
  std::vector<std::string> group_keys;
  std::vector<uint64_t> group_offsets;
  QueryStats stats;
};

// Parses, checks and runs `text` on `dataset` (its current state, or the version its FROM
// clause names). Errors: InvalidArgument with "line L, column C" for syntax errors; type
// errors name the tensor, its dtype and shape and what the function expects; unknown
// tensors and functions list the candidates.
Result<QueryResult> run_query(const Dataset& dataset, std::string_view text, const QueryOptions& options = {});

// The query language's functions, for tools and error messages: name -> signature.
std::vector<std::pair<std::string, std::string>> query_functions();

}  // namespace gtn
