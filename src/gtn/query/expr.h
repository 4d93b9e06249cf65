// Binding and evaluation of query expressions. compile() checks an expression against
// the dataset's schema (tensor names, dtypes, shapes, class names, function signatures)
// and returns a Node that evaluates it over a Batch of rows, vectorized.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gtn/dataset.h"
#include "gtn/ml.h"
#include "gtn/query/ast.h"
#include "gtn/query/column.h"

namespace gtn::query {

// What the binder knows of an expression's values before running it.
struct Type {
  bool text = false;
  DType dtype = DType::kFloat64;
  bool fixed = false;  // every row has `shape`
  Shape shape;
  const TensorSpec* classes = nullptr;  // a class_label tensor's values (names to codes)
  int tensor = -1;                      // a tensor read as it is stored
  bool scalar() const { return fixed && shape_numel(shape) == 1; }
  std::string describe() const;
};

// The tensors of the dataset a query reads.
struct Schema {
  const Dataset* ds = nullptr;
  std::vector<std::string> names;
  std::vector<TensorSpec> specs;
  std::vector<TensorInfo> infos;
  std::string model_dir;
};

// The rows one evaluation covers: rows [begin, begin + n) of the dataset, or the listed
// rows; positions (row_number) start at `position`.
class Batch {
 public:
  Batch(const Schema& schema, uint64_t begin, uint64_t n, uint64_t position)
      : schema_(schema), begin_(begin), n_(n), position_(position) {}
  Batch(const Schema& schema, const uint64_t* rows, uint64_t n, uint64_t position)
      : schema_(schema), rows_(rows), n_(n), position_(position) {}
  uint64_t size() const { return n_; }
  uint64_t position() const { return position_; }
  // Row i's position in the rows queried: position() + i, or positions[i] when set.
  uint64_t position_of(uint64_t i) const { return positions_ ? positions_[i] : position_ + i; }
  void set_positions(const uint64_t* p) { positions_ = p; }
  Result<const Col*> tensor(int t);
  uint64_t bytes_read() const { return bytes_read_; }
  // The rows idx[k] of this batch as a batch of their own (for evaluating one side of AND
  // only where the other is true); `rows` and `positions` hold its storage.
  Batch subset(const std::vector<uint32_t>& idx, std::vector<uint64_t>* rows, std::vector<uint64_t>* positions) const {
    rows->resize(idx.size());
    positions->resize(idx.size());
    for (size_t k = 0; k < idx.size(); ++k) {
      (*rows)[k] = rows_ ? rows_[idx[k]] : begin_ + idx[k];
      (*positions)[k] = position_of(idx[k]);
    }
    Batch b(schema_, rows->data(), idx.size(), 0);
    b.set_positions(positions->data());
    return b;
  }
  void add_bytes_read(uint64_t n) { bytes_read_ += n; }

 private:
  const Schema& schema_;
  const uint64_t* rows_ = nullptr;
  uint64_t begin_ = 0;
  uint64_t n_;
  uint64_t position_;
  const uint64_t* positions_ = nullptr;
  std::map<int, Col> cache_;
  uint64_t bytes_read_ = 0;
};

class Node {
 public:
  virtual ~Node() = default;
  virtual Result<Col> eval(Batch& b) const = 0;
  Type type;
  ExprPtr expr;  // the parsed expression (source text, position)
};
using NodePtr = std::shared_ptr<Node>;

// Binds `e`. Aggregates (count/sum/mean/avg/min/max over a group) are not expressions:
// the executor recognizes them first (is_aggregate) and compiles their argument.
Result<NodePtr> compile(const ExprPtr& e, const Schema& schema, std::string_view text);

// True when `e` is count(*), count(x), sum/mean/avg/min/max/any/all(x) used as an
// aggregate over groups (the executor decides where that applies).
bool is_aggregate_call(const ExprPtr& e);

// The tensors an expression reads.
void referenced_tensors(const ExprPtr& e, const Schema& schema, std::vector<int>* out);

// Statistics of tensor `t` over the rows a block covers (merged over its chunk spans);
// null when unknown.
using StatsFn = std::function<const ChunkStats*(int tensor)>;
// True when the statistics show that `n` is false (or empty) on every row of the block,
// so WHERE can skip it unread. Never true when in doubt.
bool never_true(const Node& n, const StatsFn& stats);

// Per row: is the value true? (WHERE). Rows whose value is empty are false; a row that
// holds more than one boolean is an error naming the expression.
Status truth(const Col& c, const Expr& e, std::vector<uint8_t>* out);

}  // namespace gtn::query
