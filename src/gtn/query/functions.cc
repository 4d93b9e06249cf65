// The query language's function table: names, signatures and what they compute. The
// binder (bind.cc) checks calls against it; tools list it; errors suggest from it.
#include "gtn/query/functions.h"

#include "gtn/query.h"

namespace gtn {
namespace query {

const std::vector<FunctionInfo>& function_table() {
  static const std::vector<FunctionInfo> kTable = {
      {"shape", "shape(t) -> int64[rank]", "the sample's shape"},
      {"len", "len(t) -> int64", "the size of the sample's first axis (bytes for text)"},
      {"numel", "numel(t) -> int64", "number of elements of the sample"},
      {"mean", "mean(x) -> float64", "mean of the sample's elements (NaN if empty)"},
      {"sum", "sum(x) -> float64", "sum of the sample's elements"},
      {"min", "min(x) -> float64", "smallest element (NaN if empty)"},
      {"max", "max(x) -> float64", "largest element (NaN if empty)"},
      {"any", "any(x) -> bool", "true if any element is non-zero / true"},
      {"all", "all(x) -> bool", "true if every element is non-zero / true"},
      {"abs", "abs(x) -> same shape", "elementwise absolute value"},
      {"sqrt", "sqrt(x) -> float", "elementwise square root"},
      {"log", "log(x) -> float", "elementwise natural logarithm"},
      {"exp", "exp(x) -> float", "elementwise exponential"},
      {"l2_norm", "l2_norm(v) -> float64", "Euclidean norm of the sample"},
      {"l1_norm", "l1_norm(v) -> float64", "sum of absolute values of the sample"},
      {"cosine_similarity", "cosine_similarity(v, ARRAY[...]) -> float64", "cosine of the angle to a query vector"},
      {"l2_distance", "l2_distance(v, ARRAY[...]) -> float64", "Euclidean distance to a query vector"},
      {"inner_product", "inner_product(v, ARRAY[...]) -> float64", "dot product with a query vector"},
      {"contains", "contains(text, 'word') -> bool", "the text holds the substring"},
      {"lower", "lower(text) -> text", "ASCII lower case"},
      {"upper", "upper(text) -> text", "ASCII upper case"},
      {"regexp_match", "regexp_match(text, 'pattern') -> bool", "ECMAScript regex search"},
      {"row_number", "row_number() -> int64", "the row's position in the result (0-based)"},
      {"model", "model('file.gtnm', x, ...) -> float", "a GTN-ML model's predict on the features"},
      {"predict_proba", "predict_proba(model('file.gtnm', x, ...), k) -> float64", "class k's probability"},
      {"decision_function", "decision_function(model('file.gtnm', x, ...)[, k]) -> float64",
       "the model's decision function (column k)"},
      {"transform", "transform(model('file.gtnm', x, ...)[, k]) -> float", "the model's transform (column k)"},
  };
  return kTable;
}

}  // namespace query

std::vector<std::pair<std::string, std::string>> query_functions() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& f : query::function_table()) out.emplace_back(f.name, f.signature);
  return out;
}

}  // namespace gtn
