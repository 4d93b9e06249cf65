#include "gtn/query/parser.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>

namespace gtn::query {
namespace {

class Parser {
 public:
  Parser(std::string_view text, std::vector<Token> toks) : text_(text), toks_(std::move(toks)) {}

  Result<QueryAst> query() {
    QueryAst q;
    if (is_kw("SELECT")) {
      next();
      GTN_RETURN_IF_ERROR(select_list(&q));
    }
    if (is_kw("FROM")) {
      next();
      if (peek().kind != Tok::kIdent) return error(peek(), "expected a dataset name after FROM");
      q.from = next().text;
      if (is_op("@")) {
        const Token& at = next();
        // The version runs to the next blank: a branch, tag, commit id or main~2.
        size_t start = at.offset + 1, end = start;
        while (end < text_.size() && !std::isspace(static_cast<unsigned char>(text_[end]))) ++end;
        q.from_version = std::string(text_.substr(start, end - start));
        if (q.from_version.empty()) return error(peek(), "expected a branch, tag or commit after '@'");
        while (peek().kind != Tok::kEnd && peek().offset < end) next();
      }
    }
    if (is_kw("WHERE")) {
      next();
      GTN_ASSIGN_OR_RETURN(q.where, expr());
    }
    if (is_kw("GROUP") || is_kw("UNGROUP")) {
      q.ungroup = next().text == "UNGROUP";
      GTN_RETURN_IF_ERROR(expect_kw("BY"));
      do {
        GTN_ASSIGN_OR_RETURN(ExprPtr e, expr());
        q.group_by.push_back(e);
      } while (accept_op(","));
    }
    if (is_kw("ORDER")) {
      next();
      GTN_RETURN_IF_ERROR(expect_kw("BY"));
      do {
        OrderItem o;
        GTN_ASSIGN_OR_RETURN(o.expr, expr());
        if (is_kw("ASC") || is_kw("DESC")) o.desc = next().text == "DESC";
        if (is_kw("NULLS")) {
          next();
          if (!is_kw("FIRST") && !is_kw("LAST")) return error(peek(), "expected FIRST or LAST after NULLS");
          o.nulls_first = next().text == "FIRST";
        }
        q.order_by.push_back(std::move(o));
      } while (accept_op(","));
    }
    if (is_kw("SAMPLE")) {
      next();
      GTN_RETURN_IF_ERROR(expect_kw("BY"));
      GTN_ASSIGN_OR_RETURN(q.sample_by, expr());
      if (is_kw("REPLACE")) {
        next();
        q.sample_replace = true;
      }
    }
    if (is_kw("LIMIT")) {
      next();
      GTN_ASSIGN_OR_RETURN(uint64_t n, count("LIMIT"));
      q.limit = n;
    }
    if (is_kw("OFFSET")) {
      next();
      GTN_ASSIGN_OR_RETURN(q.offset, count("OFFSET"));
    }
    if (q.sample_by && !q.limit) return error(peek(), "SAMPLE BY needs LIMIT n: how many rows to draw");
    if (peek().kind != Tok::kEnd) {
      return error(peek(), "unexpected '" + peek().text +
                               "': expected WHERE, GROUP BY, ORDER BY, SAMPLE BY, LIMIT, OFFSET or the end");
    }
    return q;
  }

 private:
  const Token& peek(size_t k = 0) const { return toks_[std::min(pos_ + k, toks_.size() - 1)]; }
  const Token& next() {
    const Token& t = peek();
    if (pos_ < toks_.size() - 1) ++pos_;
    return t;
  }
  bool is_kw(const char* k) const { return peek().kind == Tok::kKeyword && peek().text == k; }
  bool is_op(const char* o) const { return peek().kind == Tok::kOp && peek().text == o; }
  bool accept_op(const char* o) {
    if (!is_op(o)) return false;
    next();
    return true;
  }
  Status error(const Token& t, const std::string& msg) const {
    std::string got = t.kind == Tok::kEnd ? "the end of the query" : "'" + t.text + "'";
    return Status::InvalidArgument("query syntax error at " + where(text_, t) + "\n" + msg + " (found " + got + ")");
  }
  Status expect_kw(const char* k) {
    if (!is_kw(k)) return error(peek(), std::string("expected ") + k);
    next();
    return Status::OK();
  }
  Status expect_op(const char* o) {
    if (!is_op(o)) return error(peek(), std::string("expected '") + o + "'");
    next();
    return Status::OK();
  }
  Result<uint64_t> count(const char* what) {
    const Token& t = peek();
    if (t.kind != Tok::kNumber || !t.is_integer) return error(t, std::string(what) + " needs a whole number");
    next();
    errno = 0;
    unsigned long long v = std::strtoull(t.text.c_str(), nullptr, 10);
    if (errno) return error(t, std::string(what) + " is too large");
    return static_cast<uint64_t>(v);
  }

  Status select_list(QueryAst* q) {
    q->select_star = false;
    do {
      SelectItem item;
      if (is_op("*")) {
        next();
        q->select_star = true;
        continue;
      }
      GTN_ASSIGN_OR_RETURN(item.expr, expr());
      if (is_kw("AS")) {
        next();
        if (peek().kind != Tok::kIdent) return error(peek(), "expected a name after AS");
        item.alias = next().text;
      }
      q->select.push_back(std::move(item));
    } while (accept_op(","));
    return Status::OK();
  }

  ExprPtr make(Expr::Kind kind, const Token& at) {
    auto e = std::make_shared<Expr>();
    e->kind = kind;
    e->at = at;
    return e;
  }
  void finish(const ExprPtr& e, size_t start_offset) {
    size_t end = peek().kind == Tok::kEnd ? text_.size() : peek().offset;
    std::string_view s = text_.substr(start_offset, end - start_offset);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    e->source = std::string(s);
  }

  // Nesting (parentheses, NOT, unary signs, calls) is bounded, so that no query can
  // exhaust the stack of the parser or of the evaluator that walks its tree.
  static constexpr int kMaxDepth = 100;
  struct Deeper {
    explicit Deeper(int* d) : d_(d) { ++*d_; }
    ~Deeper() { --*d_; }
    int* d_;
  };
  Status too_deep() const {
    return error(peek(), "the query nests deeper than " + std::to_string(kMaxDepth) + " levels");
  }

  Result<ExprPtr> expr() {
    Deeper guard(&depth_);
    if (depth_ > kMaxDepth) return too_deep();
    return or_expr();
  }

  Result<ExprPtr> or_expr() {
    size_t start = peek().offset;
    GTN_ASSIGN_OR_RETURN(ExprPtr left, and_expr());
    while (is_kw("OR")) {
      const Token& op = next();
      GTN_ASSIGN_OR_RETURN(ExprPtr right, and_expr());
      ExprPtr e = make(Expr::kBinary, op);
      e->text = "OR";
      e->args = {left, right};
      finish(e, start);
      left = e;
    }
    return left;
  }

  Result<ExprPtr> and_expr() {
    size_t start = peek().offset;
    GTN_ASSIGN_OR_RETURN(ExprPtr left, not_expr());
    while (is_kw("AND")) {
      const Token& op = next();
      GTN_ASSIGN_OR_RETURN(ExprPtr right, not_expr());
      ExprPtr e = make(Expr::kBinary, op);
      e->text = "AND";
      e->args = {left, right};
      finish(e, start);
      left = e;
    }
    return left;
  }

  Result<ExprPtr> not_expr() {
    if (is_kw("NOT")) {
      Deeper guard(&depth_);
      if (depth_ > kMaxDepth) return too_deep();
      size_t start = peek().offset;
      const Token& op = next();
      GTN_ASSIGN_OR_RETURN(ExprPtr inner, not_expr());
      ExprPtr e = make(Expr::kUnary, op);
      e->text = "NOT";
      e->args = {inner};
      finish(e, start);
      return e;
    }
    return cmp_expr();
  }

  Result<ExprPtr> cmp_expr() {
    size_t start = peek().offset;
    GTN_ASSIGN_OR_RETURN(ExprPtr left, add_expr());
    static const char* ops[] = {"==", "=", "!=", "<>", "<", "<=", ">", ">="};
    for (const char* o : ops) {
      if (is_op(o)) {
        const Token& op = next();
        GTN_ASSIGN_OR_RETURN(ExprPtr right, add_expr());
        ExprPtr e = make(Expr::kBinary, op);
        std::string t = o;
        e->text = t == "=" ? "==" : t == "<>" ? "!=" : t;
        e->args = {left, right};
        finish(e, start);
        return e;
      }
    }
    bool negated = false;
    if (is_kw("NOT") && (peek(1).text == "IN" || peek(1).text == "BETWEEN" || peek(1).text == "LIKE" ||
                         peek(1).text == "ILIKE")) {
      next();
      negated = true;
    }
    if (is_kw("IN")) {
      const Token& op = next();
      GTN_RETURN_IF_ERROR(expect_op("("));
      ExprPtr e = make(Expr::kIn, op);
      e->args.push_back(left);
      do {
        GTN_ASSIGN_OR_RETURN(ExprPtr item, add_expr());
        e->args.push_back(item);
      } while (accept_op(","));
      GTN_RETURN_IF_ERROR(expect_op(")"));
      e->negated = negated;
      finish(e, start);
      return e;
    }
    if (is_kw("BETWEEN")) {
      const Token& op = next();
      GTN_ASSIGN_OR_RETURN(ExprPtr lo, add_expr());
      GTN_RETURN_IF_ERROR(expect_kw("AND"));
      GTN_ASSIGN_OR_RETURN(ExprPtr hi, add_expr());
      ExprPtr e = make(Expr::kBetween, op);
      e->args = {left, lo, hi};
      e->negated = negated;
      finish(e, start);
      return e;
    }
    if (is_kw("LIKE") || is_kw("ILIKE")) {
      const Token& op = next();
      GTN_ASSIGN_OR_RETURN(ExprPtr pattern, add_expr());
      ExprPtr e = make(Expr::kLike, op);
      e->text = op.text;
      e->args = {left, pattern};
      e->negated = negated;
      finish(e, start);
      return e;
    }
    if (negated) return error(peek(), "expected IN, BETWEEN, LIKE or ILIKE after NOT");
    if (is_kw("IS")) {
      const Token& op = next();
      ExprPtr e = make(Expr::kIsNull, op);
      if (is_kw("NOT")) {
        next();
        e->negated = true;
      }
      GTN_RETURN_IF_ERROR(expect_kw("NULL"));
      e->args = {left};
      finish(e, start);
      return e;
    }
    return left;
  }

  Result<ExprPtr> add_expr() {
    size_t start = peek().offset;
    GTN_ASSIGN_OR_RETURN(ExprPtr left, mul_expr());
    while (is_op("+") || is_op("-")) {
      const Token& op = next();
      GTN_ASSIGN_OR_RETURN(ExprPtr right, mul_expr());
      ExprPtr e = make(Expr::kBinary, op);
      e->text = op.text;
      e->args = {left, right};
      finish(e, start);
      left = e;
    }
    return left;
  }

  Result<ExprPtr> mul_expr() {
    size_t start = peek().offset;
    GTN_ASSIGN_OR_RETURN(ExprPtr left, unary());
    while (is_op("*") || is_op("/") || is_op("%")) {
      const Token& op = next();
      GTN_ASSIGN_OR_RETURN(ExprPtr right, unary());
      ExprPtr e = make(Expr::kBinary, op);
      e->text = op.text;
      e->args = {left, right};
      finish(e, start);
      left = e;
    }
    return left;
  }

  Result<ExprPtr> unary() {
    size_t start = peek().offset;
    if (is_op("-") || is_op("+")) {
      Deeper guard(&depth_);
      if (depth_ > kMaxDepth) return too_deep();
      const Token& op = next();
      GTN_ASSIGN_OR_RETURN(ExprPtr inner, unary());
      if (op.text == "+") return inner;
      if (inner->kind == Expr::kNumber) {  // a negative literal
        inner->number = -inner->number;
        inner->integer = -inner->integer;
        inner->at = op;
        finish(inner, start);
        return inner;
      }
      ExprPtr e = make(Expr::kUnary, op);
      e->text = "-";
      e->args = {inner};
      finish(e, start);
      return e;
    }
    return postfix();
  }

  Result<std::optional<int64_t>> opt_int() {
    if (is_op(":") || is_op(",") || is_op("]")) return std::optional<int64_t>{};
    bool neg = accept_op("-");
    const Token& t = peek();
    if (t.kind != Tok::kNumber || !t.is_integer) return error(t, "an index must be a whole number");
    next();
    errno = 0;
    long long v = std::strtoll(t.text.c_str(), nullptr, 10);
    if (errno) return error(t, "index too large");
    return std::optional<int64_t>(neg ? -v : v);
  }

  Result<ExprPtr> postfix() {
    size_t start = peek().offset;
    GTN_ASSIGN_OR_RETURN(ExprPtr e, primary());
    while (is_op("[")) {
      const Token& at = next();
      ExprPtr ix = make(Expr::kIndex, at);
      ix->args = {e};
      do {
        Expr::IndexItem item;
        GTN_ASSIGN_OR_RETURN(item.start, opt_int());
        if (accept_op(":")) {
          item.slice = true;
          GTN_ASSIGN_OR_RETURN(item.stop, opt_int());
          if (accept_op(":")) {
            GTN_ASSIGN_OR_RETURN(item.step, opt_int());
            if (item.step && *item.step == 0) return error(peek(), "a slice step cannot be 0");
          }
        } else if (!item.start) {
          return error(peek(), "expected an index or a slice");
        }
        ix->index.push_back(item);
      } while (accept_op(","));
      GTN_RETURN_IF_ERROR(expect_op("]"));
      finish(ix, start);
      e = ix;
    }
    return e;
  }

  Result<ExprPtr> primary() {
    size_t start = peek().offset;
    const Token& t = peek();
    if (t.kind == Tok::kNumber) {
      next();
      ExprPtr e = make(Expr::kNumber, t);
      e->is_integer = t.is_integer;
      errno = 0;
      e->number = std::strtod(t.text.c_str(), nullptr);
      if (t.is_integer) {
        e->integer = std::strtoll(t.text.c_str(), nullptr, 10);
        if (errno) e->is_integer = false;  // beyond int64: a double
      }
      finish(e, start);
      return e;
    }
    if (t.kind == Tok::kString) {
      next();
      ExprPtr e = make(Expr::kString, t);
      e->text = t.text;
      finish(e, start);
      return e;
    }
    if (t.kind == Tok::kKeyword && (t.text == "TRUE" || t.text == "FALSE")) {
      next();
      ExprPtr e = make(Expr::kBool, t);
      e->flag = t.text == "TRUE";
      finish(e, start);
      return e;
    }
    if (t.kind == Tok::kKeyword && t.text == "ARRAY") {
      next();
      GTN_RETURN_IF_ERROR(expect_op("["));
      ExprPtr e = make(Expr::kArray, t);
      if (!is_op("]")) {
        do {
          GTN_ASSIGN_OR_RETURN(ExprPtr item, unary());
          if (item->kind != Expr::kNumber) return error(item->at, "ARRAY[...] holds numbers only");
          e->args.push_back(item);
        } while (accept_op(","));
      }
      GTN_RETURN_IF_ERROR(expect_op("]"));
      finish(e, start);
      return e;
    }
    if (t.kind == Tok::kIdent) {
      next();
      if (is_op("(")) {
        next();
        ExprPtr e = make(Expr::kCall, t);
        e->text = t.text;
        if (is_op("*")) {
          next();
          e->star = true;
        } else if (!is_op(")")) {
          do {
            GTN_ASSIGN_OR_RETURN(ExprPtr a, expr());
            e->args.push_back(a);
          } while (accept_op(","));
        }
        GTN_RETURN_IF_ERROR(expect_op(")"));
        finish(e, start);
        return e;
      }
      ExprPtr e = make(Expr::kName, t);
      e->text = t.text;
      finish(e, start);
      return e;
    }
    if (is_op("(")) {
      next();
      GTN_ASSIGN_OR_RETURN(ExprPtr e, expr());
      GTN_RETURN_IF_ERROR(expect_op(")"));
      return e;
    }
    return error(t, "expected a tensor, a number, a 'string', a function call or '('");
  }

  std::string_view text_;
  std::vector<Token> toks_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

Result<QueryAst> parse_query(std::string_view text) {
  GTN_ASSIGN_OR_RETURN(std::vector<Token> toks, tokenize(text));
  Parser p(text, std::move(toks));
  return p.query();
}

}  // namespace gtn::query
