// Tokens of the query language (docs/query.md), with the line and column each starts at.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "gtn/result.h"

namespace gtn::query {

enum class Tok {
  kEnd,
  kIdent,    // name, or "quoted name"
  kKeyword,  // SELECT, WHERE, ... (text upper-cased)
  kNumber,
  kString,   // 'text' ('' escapes a quote)
  kOp,       // + - * / % == = != <> < <= > >= ( ) [ ] , : @ . ~ ^
};

struct Token {
  Tok kind = Tok::kEnd;
  std::string text;  // keyword upper-cased; string without quotes; op as written
  int line = 1, column = 1;
  size_t offset = 0;  // byte offset in the query text
  bool is_integer = false;  // numbers without '.', exponent
};

// Splits `text` into tokens; InvalidArgument "line L, column C: ..." on a bad character or
// an unterminated string.
Result<std::vector<Token>> tokenize(std::string_view text);

// "line L, column C" of a token, and the query line with a caret under it.
std::string where(std::string_view text, const Token& t);

}  // namespace gtn::query
