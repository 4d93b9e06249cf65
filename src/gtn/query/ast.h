// The parsed form of a query (parser.cc); binding and evaluation live in expr.cc.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gtn/query/lexer.h"

namespace gtn::query {

struct Expr;
using ExprPtr = std::shared_ptr<Expr>;

struct Expr {
  enum Kind {
    kNumber,    // number
    kString,    // text literal
    kBool,      // TRUE / FALSE
    kName,      // a tensor
    kArray,     // ARRAY[...] of numbers
    kUnary,     // op: "-", "NOT"
    kBinary,    // op: + - * / % == != < <= > >= AND OR
    kCall,      // name(args); `star` for count(*)
    kIndex,     // args[0][indices]
    kIn,        // args[0] IN (args[1..]); `negated`
    kBetween,   // args[0] BETWEEN args[1] AND args[2]; `negated`
    kIsNull,    // args[0] IS [NOT] NULL; `negated`
    kLike,      // args[0] LIKE args[1]; op "LIKE" or "ILIKE"; `negated`
  };
  Kind kind = kNumber;
  Token at;             // where it starts (for errors)
  std::string text;     // kName / kCall: the name; kString: the text; kUnary/kBinary/kLike: the op
  double number = 0;
  bool is_integer = false;
  int64_t integer = 0;
  bool flag = false;    // kBool value
  bool negated = false;
  bool star = false;    // count(*)
  std::vector<ExprPtr> args;
  // kIndex: one item per axis: an integer index, or a slice start:stop:step (any part
  // omitted).
  struct IndexItem {
    bool slice = false;
    std::optional<int64_t> start, stop, step;
  };
  std::vector<IndexItem> index;
  std::string source;   // the expression's text as written (column names, errors)
};

struct SelectItem {
  ExprPtr expr;  // null for *
  std::string alias;
};

struct OrderItem {
  ExprPtr expr;
  bool desc = false;
  std::optional<bool> nulls_first;  // default: NULLs/NaN last ascending, first descending
};

struct QueryAst {
  bool select_star = true;
  std::vector<SelectItem> select;
  std::string from, from_version;  // FROM name[@version]
  ExprPtr where;
  std::vector<ExprPtr> group_by;
  bool ungroup = false;            // UNGROUP BY
  std::vector<OrderItem> order_by;
  ExprPtr sample_by;
  bool sample_replace = false;
  std::optional<uint64_t> limit;
  uint64_t offset = 0;
};

}  // namespace gtn::query
