#include "gtn/query/lexer.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace gtn::query {
namespace {

const std::set<std::string>& keywords() {
  static const std::set<std::string> k = {
      "SELECT", "FROM",  "WHERE", "GROUP", "UNGROUP", "BY",   "ORDER", "ASC",     "DESC",  "LIMIT",
      "OFFSET", "SAMPLE", "REPLACE", "AND", "OR",     "NOT",  "IN",    "BETWEEN", "IS",    "NULL",
      "LIKE",   "ILIKE", "AS",    "TRUE",  "FALSE",   "ARRAY", "NULLS", "FIRST",  "LAST"};
  return k;
}

}  // namespace

std::string where(std::string_view text, const Token& t) {
  std::string out = "line " + std::to_string(t.line) + ", column " + std::to_string(t.column);
  // The line itself, with a caret.
  size_t start = 0;
  for (int l = 1; l < t.line; ++l) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) return out;
    start = nl + 1;
  }
  size_t end = text.find('\n', start);
  std::string_view line = text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
  out += "\n  " + std::string(line) + "\n  " + std::string(std::max(0, t.column - 1), ' ') + "^";
  return out;
}

Result<std::vector<Token>> tokenize(std::string_view s) {
  std::vector<Token> out;
  int line = 1, col = 1;
  size_t i = 0;
  auto advance = [&](size_t n) {
    for (size_t k = 0; k < n && i < s.size(); ++k, ++i) {
      if (s[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
  };
  auto error = [&](const Token& t, const std::string& msg) -> Status {
    return Status::InvalidArgument("query syntax error at " + where(s, t) + "\n" + msg);
  };
  while (true) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) advance(1);
    if (i + 1 < s.size() && s[i] == '-' && s[i + 1] == '-') {  // comment to end of line
      while (i < s.size() && s[i] != '\n') advance(1);
      continue;
    }
    Token t;
    t.line = line;
    t.column = col;
    t.offset = i;
    if (i >= s.size()) {
      out.push_back(t);
      return out;
    }
    char c = s[i];
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t j = i;
      while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
      t.text = std::string(s.substr(i, j - i));
      std::string upper = t.text;
      std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char ch) { return std::toupper(ch); });
      if (keywords().count(upper)) {
        t.kind = Tok::kKeyword;
        t.text = upper;
      } else {
        t.kind = Tok::kIdent;
      }
      advance(j - i);
    } else if (std::isdigit(static_cast<unsigned char>(c)) ||
               (c == '.' && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
      size_t j = i;
      bool integer = true;
      while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
      if (j < s.size() && s[j] == '.' && !(j + 1 < s.size() && s[j + 1] == '.')) {
        integer = false;
        ++j;
        while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
      }
      if (j < s.size() && (s[j] == 'e' || s[j] == 'E')) {
        size_t k = j + 1;
        if (k < s.size() && (s[k] == '+' || s[k] == '-')) ++k;
        if (k < s.size() && std::isdigit(static_cast<unsigned char>(s[k]))) {
          integer = false;
          j = k;
          while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
        }
      }
      if (j < s.size() && (std::isalpha(static_cast<unsigned char>(s[j])) || s[j] == '_')) {
        return error(t, "a number runs into a name: '" + std::string(s.substr(i, j - i + 1)) + "'");
      }
      t.kind = Tok::kNumber;
      t.is_integer = integer;
      t.text = std::string(s.substr(i, j - i));
      advance(j - i);
    } else if (c == '\'' || c == '"') {
      // 'string' or "quoted identifier"; a doubled quote escapes it.
      std::string text;
      size_t j = i + 1;
      bool closed = false;
      while (j < s.size()) {
        if (s[j] == c) {
          if (j + 1 < s.size() && s[j + 1] == c) {
            text.push_back(c);
            j += 2;
            continue;
          }
          closed = true;
          break;
        }
        text.push_back(s[j++]);
      }
      if (!closed) return error(t, std::string("unterminated ") + (c == '\'' ? "string: add a closing '" : "quoted name: add a closing \""));
      t.kind = c == '\'' ? Tok::kString : Tok::kIdent;
      t.text = std::move(text);
      advance(j + 1 - i);
    } else {
      static const char* two[] = {"==", "!=", "<>", "<=", ">="};
      std::string op;
      for (const char* o : two) {
        if (s.substr(i, 2) == o) op = o;
      }
      if (op.empty()) {
        if (std::string_view("+-*/%=<>()[],:@.~^").find(c) == std::string_view::npos) {
          return error(t, std::string("unexpected character '") + c + "'");
        }
        op = std::string(1, c);
      }
      t.kind = Tok::kOp;
      t.text = op;
      advance(op.size());
    }
    out.push_back(std::move(t));
  }
}

}  // namespace gtn::query
