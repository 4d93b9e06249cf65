// Recursive-descent parser of the query language (docs/query.md, "Grammar").
#pragma once

#include <string_view>

#include "gtn/query/ast.h"
#include "gtn/result.h"

namespace gtn::query {

// InvalidArgument "query syntax error at line L, column C" with the line and a caret.
Result<QueryAst> parse_query(std::string_view text);

}  // namespace gtn::query
