#include "gtn/query/expr.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <regex>
#include <set>

#include "gtn/query/functions.h"
#include "gtn/query/vector_kernels.h"

namespace gtn::query {

std::string Type::describe() const {
  if (text) return "text";
  std::string s(dtype_name(dtype));
  if (fixed) {
    s += shape.empty() ? " scalar" : shape_to_string(shape);
  } else {
    s += " of varying shape";
  }
  return s;
}

Result<const Col*> Batch::tensor(int t) {
  auto it = cache_.find(t);
  if (it != cache_.end()) return &it->second;
  const TensorInfo& info = schema_.infos[t];
  Result<Col> c = rows_ ? load_rows(*schema_.ds, t, info, rows_, n_, &bytes_read_)
                        : load_range(*schema_.ds, t, info, begin_, n_, &bytes_read_);
  if (!c.ok()) return c.status();
  return &cache_.emplace(t, std::move(*c)).first->second;
}

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (std::tolower(a[i - 1]) != std::tolower(b[j - 1]))});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// "did you mean 'x'? (candidates: a, b, c)"
std::string suggest(const std::string& name, const std::vector<std::string>& candidates, const char* what = "candidates") {
  std::string best;
  size_t best_d = std::numeric_limits<size_t>::max();
  for (const auto& c : candidates) {
    size_t d = edit_distance(name, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  // A candidate the name begins (or that begins the name) is the better guess.
  for (const auto& c : candidates) {
    if (name.size() >= 3 && (c.rfind(name, 0) == 0 || name.rfind(c, 0) == 0)) {
      best = c;
      best_d = 0;
      break;
    }
  }
  std::string out;
  if (!best.empty() && best_d <= std::max<size_t>(2, name.size() / 3)) out = "did you mean '" + best + "'? ";
  out += std::string("(") + what + ": ";
  for (size_t i = 0; i < candidates.size() && i < 40; ++i) out += (i ? ", " : "") + candidates[i];
  if (candidates.size() > 40) out += ", ...";
  return out + ")";
}

Status type_error(std::string_view text, const Expr& e, const std::string& msg) {
  return Status::InvalidArgument("query type error at " + where(text, e.at) + "\n" + msg);
}

Status run_error(const Expr& e, const std::string& msg) {
  return Status::InvalidArgument("query error in '" + e.source + "': " + msg);
}

// ---- constants and tensors ----

class ConstNode : public Node {
 public:
  explicit ConstNode(Col c) : c_(std::move(c)) { c_.shared = true; }
  Result<Col> eval(Batch& b) const override {
    Col c = c_;
    c.n = b.size();
    return c;
  }
  const Col& value() const { return c_; }

 private:
  Col c_;
};

Col scalar_f64(double v) {
  double* p;
  Col c = make_col<double>(DType::kFloat64, 1, {}, &p);
  *p = v;
  c.shared = true;
  return c;
}
Col scalar_i64(int64_t v) {
  int64_t* p;
  Col c = make_col<int64_t>(DType::kInt64, 1, {}, &p);
  *p = v;
  c.shared = true;
  return c;
}
Col scalar_bool(bool v) {
  uint8_t* p;
  Col c = make_col<uint8_t>(DType::kBool, 1, {}, &p);
  *p = v;
  c.shared = true;
  return c;
}
Col scalar_text(const std::string& s) {
  auto keep = std::make_shared<std::string>(s);
  Col c;
  c.text = true;
  c.dtype = DType::kText;
  c.n = 1;
  c.shared = true;
  c.strs.push_back(*keep);
  c.str_keep.push_back(keep);
  return c;
}

class TensorNode : public Node {
 public:
  explicit TensorNode(int t) : t_(t) {}
  Result<Col> eval(Batch& b) const override {
    GTN_ASSIGN_OR_RETURN(const Col* c, b.tensor(t_));
    return *c;
  }
  int tensor() const { return t_; }

 private:
  int t_;
};

// The shape rows of a and b combine to (numpy broadcasting of whole rows: equal shapes,
// or one side a single element).
Result<Shape> combine(const Shape& a, const Shape& b, const Expr& e, uint64_t row) {
  if (a == b) return a;
  if (shape_numel(a) == 1) return b;
  if (shape_numel(b) == 1) return a;
  return run_error(e, "shapes " + shape_to_string(a) + " and " + shape_to_string(b) + " do not match at row " +
                          std::to_string(row));
}

// The output layout of an elementwise op over a and b: uniform with one shape, or per row.
Status layout(const Col& a, const Col& b, const Expr& e, uint64_t n, bool* uniform, Shape* shape,
              std::vector<Shape>* shapes) {
  if (a.uniform && b.uniform) {
    *uniform = true;
    GTN_ASSIGN_OR_RETURN(*shape, combine(a.shape, b.shape, e, 0));
    return Status::OK();
  }
  *uniform = false;
  shapes->resize(n);
  for (uint64_t i = 0; i < n; ++i) {
    GTN_ASSIGN_OR_RETURN((*shapes)[i], combine(a.row_shape(i), b.row_shape(i), e, i));
  }
  return Status::OK();
}

template <typename T>
Col alloc(DType d, uint64_t n, bool uniform, const Shape& shape, std::vector<Shape>& shapes, T** p) {
  if (uniform) return make_col<T>(d, n, shape, p);
  return make_ragged<T>(d, std::move(shapes), p);
}

// out[k] = f(a[ia], b[ib]) over every row, with single-element rows broadcast.
template <typename TA, typename TB, typename TO, typename F>
void zip(const Col& a, const TA* pa, const Col& b, const TB* pb, const Col& out, TO* po, F f) {
  uint64_t n = out.n;
  if (a.scalar_rows() && b.scalar_rows() && out.scalar_rows()) {
    if (a.shared && !b.shared) {
      TA x = pa[0];
      for (uint64_t i = 0; i < n; ++i) po[i] = f(x, pb[i]);
    } else if (b.shared && !a.shared) {
      TB y = pb[0];
      for (uint64_t i = 0; i < n; ++i) po[i] = f(pa[i], y);
    } else if (a.shared && b.shared) {
      for (uint64_t i = 0; i < n; ++i) po[i] = f(pa[0], pb[0]);
    } else {
      for (uint64_t i = 0; i < n; ++i) po[i] = f(pa[i], pb[i]);
    }
    return;
  }
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t m = out.row_numel(i), o = out.row_start(i);
    uint64_t sa = a.row_start(i), sb = b.row_start(i);
    bool ba = a.row_numel(i) == 1 && m != 1, bb = b.row_numel(i) == 1 && m != 1;
    for (uint64_t k = 0; k < m; ++k) po[o + k] = f(pa[sa + (ba ? 0 : k)], pb[sb + (bb ? 0 : k)]);
  }
}

// ---- arithmetic, comparison, logic ----

enum class Op { kAdd, kSub, kMul, kDiv, kMod, kEq, kNe, kLt, kLe, kGt, kGe, kAnd, kOr };

Op parse_op(const std::string& s) {
  if (s == "+") return Op::kAdd;
  if (s == "-") return Op::kSub;
  if (s == "*") return Op::kMul;
  if (s == "/") return Op::kDiv;
  if (s == "%") return Op::kMod;
  if (s == "==") return Op::kEq;
  if (s == "!=") return Op::kNe;
  if (s == "<") return Op::kLt;
  if (s == "<=") return Op::kLe;
  if (s == ">") return Op::kGt;
  if (s == ">=") return Op::kGe;
  if (s == "AND") return Op::kAnd;
  return Op::kOr;
}
bool is_cmp(Op op) { return op >= Op::kEq && op <= Op::kGe; }

template <typename T>
bool compare(Op op, T a, T b) {
  switch (op) {
    case Op::kEq: return a == b;
    case Op::kNe: return a != b;
    case Op::kLt: return a < b;
    case Op::kLe: return a <= b;
    case Op::kGt: return a > b;
    default: return a >= b;
  }
}

// out[i] = cast(p[i]) <op> c, with the op chosen once per loop (each loop vectorizes).
template <typename T, typename C, typename Cast>
void compare_loop(Op op, const T* p, uint64_t n, C c, uint8_t* out, Cast cast) {
  switch (op) {
    case Op::kEq: for (uint64_t i = 0; i < n; ++i) out[i] = cast(p[i]) == c; break;
    case Op::kNe: for (uint64_t i = 0; i < n; ++i) out[i] = cast(p[i]) != c; break;
    case Op::kLt: for (uint64_t i = 0; i < n; ++i) out[i] = cast(p[i]) < c; break;
    case Op::kLe: for (uint64_t i = 0; i < n; ++i) out[i] = cast(p[i]) <= c; break;
    case Op::kGt: for (uint64_t i = 0; i < n; ++i) out[i] = cast(p[i]) > c; break;
    default: for (uint64_t i = 0; i < n; ++i) out[i] = cast(p[i]) >= c; break;
  }
}

Op flip(Op op) {
  switch (op) {
    case Op::kLt: return Op::kGt;
    case Op::kLe: return Op::kGe;
    case Op::kGt: return Op::kLt;
    case Op::kGe: return Op::kLe;
    default: return op;
  }
}

class BinaryNode : public Node {
 public:
  BinaryNode(Op op, NodePtr a, NodePtr b) : op_(op), a_(std::move(a)), b_(std::move(b)) {}

  Result<Col> eval(Batch& batch) const override {
    GTN_ASSIGN_OR_RETURN(Col a, a_->eval(batch));
    uint64_t n = batch.size();
    if ((op_ == Op::kAnd || op_ == Op::kOr) && costly_right_ && a.scalar_rows() && !a.shared && b_->type.scalar()) {
      // Short circuit: the right side is read only for the rows it can still decide.
      const uint8_t* pa = a.as<uint8_t>();
      bool is_and = op_ == Op::kAnd;
      std::vector<uint32_t> undecided;
      for (uint32_t i = 0; i < n; ++i) {
        if (static_cast<bool>(pa[i]) == is_and) undecided.push_back(i);
      }
      if (undecided.empty()) return a;
      if (undecided.size() * 4 < n) {
        std::vector<uint64_t> rows, positions;
        Batch sub = batch.subset(undecided, &rows, &positions);
        GTN_ASSIGN_OR_RETURN(Col b, b_->eval(sub));
        batch.add_bytes_read(sub.bytes_read());
        if (b.scalar_rows() && b.dtype == DType::kBool) {
          uint8_t* po;
          Col out = make_col<uint8_t>(DType::kBool, n, a.shape, &po);
          std::memcpy(po, pa, n);
          const uint8_t* pb = b.as<uint8_t>();
          for (size_t k = 0; k < undecided.size(); ++k) po[undecided[k]] = pb[b.shared ? 0 : k];
          return out;
        }
      }
    }
    GTN_ASSIGN_OR_RETURN(Col b, b_->eval(batch));
    if (a.text || b.text) return text_compare(a, b, n);
    // Fast path: a scalar-per-row column against a constant, in the column's own type.
    if (is_cmp(op_) && a.scalar_rows() && b.scalar_rows() && (a.shared != b.shared)) {
      const Col& col = a.shared ? b : a;
      const Col& con = a.shared ? a : b;
      Op op = a.shared ? flip(op_) : op_;
      uint8_t* po;
      Col out = make_col<uint8_t>(DType::kBool, n, col.shape, &po);
      bool int_const = is_integral(con.dtype);
      int64_t ci = 0;
      double cd = 0;
      visit_numeric(con.dtype, [&](auto tag) {
        using T = decltype(tag);
        ci = static_cast<int64_t>(con.as<T>()[0]);
        cd = static_cast<double>(con.as<T>()[0]);
      });
      if (con.dtype == DType::kUInt64 && con.as<uint64_t>()[0] > static_cast<uint64_t>(INT64_MAX)) int_const = false;
      visit_numeric(col.dtype, [&](auto tag) {
        using T = decltype(tag);
        const T* p = col.as<T>();
        // Exact: values widen to int64 (integers against an integer) or double, as numpy does.
        if constexpr (std::is_integral_v<T> && !std::is_same_v<T, uint64_t>) {
          if (int_const) {
            compare_loop(op, p, n, ci, po, [](T v) { return static_cast<int64_t>(v); });
            return;
          }
        }
        compare_loop(op, p, n, cd, po, [](T v) { return static_cast<double>(v); });
      });
      return out;
    }
    bool uniform;
    Shape shape;
    std::vector<Shape> shapes;
    GTN_RETURN_IF_ERROR(layout(a, b, *expr, n, &uniform, &shape, &shapes));
    if (op_ == Op::kAnd || op_ == Op::kOr) {
      uint8_t* po;
      Col out = alloc<uint8_t>(DType::kBool, n, uniform, shape, shapes, &po);
      bool is_and = op_ == Op::kAnd;
      zip(a, a.as<uint8_t>(), b, b.as<uint8_t>(), out, po,
          [is_and](uint8_t x, uint8_t y) -> uint8_t { return is_and ? (x && y) : (x || y); });
      return out;
    }
    bool ints = is_integral(a.dtype) && is_integral(b.dtype) && a.dtype != DType::kUInt64 && b.dtype != DType::kUInt64;
    if (is_cmp(op_)) {
      uint8_t* po;
      Col out = alloc<uint8_t>(DType::kBool, n, uniform, shape, shapes, &po);
      Op op = op_;
      if (ints) {
        const int64_t *pa, *pb;
        auto ka = to_i64(a, &pa);
        auto kb = to_i64(b, &pb);
        zip(a, pa, b, pb, out, po, [op](int64_t x, int64_t y) -> uint8_t { return compare(op, x, y); });
      } else {
        const double *pa, *pb;
        auto ka = to_f64(a, &pa);
        auto kb = to_f64(b, &pb);
        zip(a, pa, b, pb, out, po, [op](double x, double y) -> uint8_t { return compare(op, x, y); });
      }
      return out;
    }
    if (ints && op_ != Op::kDiv) {
      int64_t* po;
      Col out = alloc<int64_t>(DType::kInt64, n, uniform, shape, shapes, &po);
      const int64_t *pa, *pb;
      auto ka = to_i64(a, &pa);
      auto kb = to_i64(b, &pb);
      Op op = op_;
      zip(a, pa, b, pb, out, po, [op](int64_t x, int64_t y) -> int64_t {
        uint64_t ux = static_cast<uint64_t>(x), uy = static_cast<uint64_t>(y);
        switch (op) {
          case Op::kAdd: return static_cast<int64_t>(ux + uy);
          case Op::kSub: return static_cast<int64_t>(ux - uy);
          case Op::kMul: return static_cast<int64_t>(ux * uy);
          default: {  // floor modulo, 0 for a zero divisor (numpy)
            if (y == 0) return 0;
            if (y == -1) return 0;
            int64_t r = x % y;
            if (r != 0 && ((r < 0) != (y < 0))) r += y;
            return r;
          }
        }
      });
      return out;
    }
    double* po;
    Col out = alloc<double>(DType::kFloat64, n, uniform, shape, shapes, &po);
    const double *pa, *pb;
    auto ka = to_f64(a, &pa);
    auto kb = to_f64(b, &pb);
    Op op = op_;
    zip(a, pa, b, pb, out, po, [op](double x, double y) -> double {
      switch (op) {
        case Op::kAdd: return x + y;
        case Op::kSub: return x - y;
        case Op::kMul: return x * y;
        case Op::kDiv: return x / y;
        default: {  // floor modulo (numpy's np.mod)
          if (y == 0) return std::numeric_limits<double>::quiet_NaN();
          double r = std::fmod(x, y);
          if (r != 0 && ((r < 0) != (y < 0))) r += y;
          return r;
        }
      }
    });
    return out;
  }

  Op op() const { return op_; }
  // The right side reads text, runs a model or compares vectors: worth evaluating only on
  // the rows the left side leaves undecided.
  void set_costly_right(bool v) { costly_right_ = v; }
  const NodePtr& left() const { return a_; }
  const NodePtr& right() const { return b_; }

 private:
  Result<Col> text_compare(const Col& a, const Col& b, uint64_t n) const {
    uint8_t* po;
    Col out = make_col<uint8_t>(DType::kBool, n, {}, &po);
    for (uint64_t i = 0; i < n; ++i) po[i] = compare(op_, a.str(i), b.str(i));
    return out;
  }

  Op op_;
  NodePtr a_, b_;
  bool costly_right_ = false;
};

// x BETWEEN lo AND hi with constant bounds: one pass over x in its own type; otherwise
// (and for the statistics) the AND of the two comparisons it stands for.
class BetweenNode : public Node {
 public:
  BetweenNode(NodePtr both, NodePtr x, const Col& lo, const Col& hi) : both_(std::move(both)), x_(std::move(x)) {
    visit_numeric(lo.dtype, [&](auto tag) {
      lo_ = static_cast<double>(lo.as<decltype(tag)>()[0]);
      lo_i_ = static_cast<int64_t>(lo.as<decltype(tag)>()[0]);
    });
    visit_numeric(hi.dtype, [&](auto tag) {
      hi_ = static_cast<double>(hi.as<decltype(tag)>()[0]);
      hi_i_ = static_cast<int64_t>(hi.as<decltype(tag)>()[0]);
    });
    ints_ = is_integral(lo.dtype) && is_integral(hi.dtype) && lo.dtype != DType::kUInt64 && hi.dtype != DType::kUInt64;
  }
  Result<Col> eval(Batch& b) const override {
    GTN_ASSIGN_OR_RETURN(Col x, x_->eval(b));
    if (x.text || x.shared || !x.scalar_rows()) return both_->eval(b);
    uint64_t n = b.size();
    uint8_t* po;
    Col out = make_col<uint8_t>(DType::kBool, n, x.shape, &po);
    visit_numeric(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      const T* p = x.as<T>();
      // Bounds in locals and a non-short-circuit &: a branch-free loop that vectorizes.
      if constexpr (std::is_integral_v<T> && !std::is_same_v<T, uint64_t>) {
        if (ints_) {
          const int64_t lo = lo_i_, hi = hi_i_;
          for (uint64_t i = 0; i < n; ++i) {
            int64_t v = static_cast<int64_t>(p[i]);
            po[i] = static_cast<uint8_t>((v >= lo) & (v <= hi));
          }
          return;
        }
      }
      const double lo = lo_, hi = hi_;
      for (uint64_t i = 0; i < n; ++i) {
        double v = static_cast<double>(p[i]);
        po[i] = static_cast<uint8_t>((v >= lo) & (v <= hi));
      }
    });
    return out;
  }
  const NodePtr& both() const { return both_; }

 private:
  NodePtr both_, x_;
  double lo_ = 0, hi_ = 0;
  int64_t lo_i_ = 0, hi_i_ = 0;
  bool ints_ = false;
};

class NotNode : public Node {
 public:
  explicit NotNode(NodePtr a) : a_(std::move(a)) {}
  Result<Col> eval(Batch& b) const override {
    GTN_ASSIGN_OR_RETURN(Col a, a_->eval(b));
    uint8_t* po;
    std::vector<Shape> shapes = a.shapes;
    Col out = alloc<uint8_t>(DType::kBool, b.size(), a.uniform, a.shape, shapes, &po);
    uint64_t total = a.uniform ? b.size() * shape_numel(a.shape) : a.offs.back();
    const uint8_t* pa = a.as<uint8_t>();
    if (a.shared) {
      for (uint64_t i = 0; i < total; ++i) po[i] = !pa[i % std::max<uint64_t>(1, shape_numel(a.shape))];
    } else {
      for (uint64_t i = 0; i < total; ++i) po[i] = !pa[i];
    }
    return out;
  }

 private:
  NodePtr a_;
};

class NegNode : public Node {
 public:
  explicit NegNode(NodePtr a) : a_(std::move(a)) {}
  Result<Col> eval(Batch& b) const override {
    GTN_ASSIGN_OR_RETURN(Col a, a_->eval(b));
    uint64_t n = b.size();
    std::vector<Shape> shapes = a.shapes;
    if (is_integral(a.dtype) && a.dtype != DType::kUInt64) {
      int64_t* po;
      Col out = alloc<int64_t>(DType::kInt64, n, a.uniform, a.shape, shapes, &po);
      const int64_t* pa;
      auto k = to_i64(a, &pa);
      for (uint64_t i = 0; i < n; ++i) {
        for (uint64_t e = 0; e < out.row_numel(i); ++e) {
          po[out.row_start(i) + e] = static_cast<int64_t>(0 - static_cast<uint64_t>(pa[a.row_start(i) + e]));
        }
      }
      return out;
    }
    double* po;
    Col out = alloc<double>(DType::kFloat64, n, a.uniform, a.shape, shapes, &po);
    const double* pa;
    auto k = to_f64(a, &pa);
    for (uint64_t i = 0; i < n; ++i) {
      for (uint64_t e = 0; e < out.row_numel(i); ++e) po[out.row_start(i) + e] = -pa[a.row_start(i) + e];
    }
    return out;
  }

 private:
  NodePtr a_;
};

// ---- per-row functions ----

class IsNullNode : public Node {
 public:
  IsNullNode(NodePtr a, bool negated) : a_(std::move(a)), negated_(negated) {}
  Result<Col> eval(Batch& b) const override {
    GTN_ASSIGN_OR_RETURN(Col a, a_->eval(b));
    uint8_t* po;
    Col out = make_col<uint8_t>(DType::kBool, b.size(), {}, &po);
    for (uint64_t i = 0; i < b.size(); ++i) {
      bool empty = a.text ? a.str(i).empty() : a.row_numel(i) == 0;
      po[i] = empty != negated_;
    }
    return out;
  }
  const NodePtr& arg() const { return a_; }
  bool negated() const { return negated_; }

 private:
  NodePtr a_;
  bool negated_;
};

enum class Reduce { kMean, kSum, kMin, kMax, kAny, kAll, kL2, kL1 };

class ReduceNode : public Node {
 public:
  ReduceNode(Reduce r, NodePtr a) : r_(r), a_(std::move(a)) {}
  Result<Col> eval(Batch& b) const override {
    GTN_ASSIGN_OR_RETURN(Col a, a_->eval(b));
    uint64_t n = b.size();
    bool boolean = r_ == Reduce::kAny || r_ == Reduce::kAll;
    uint8_t* pb = nullptr;
    double* pd = nullptr;
    Col out = boolean ? make_col<uint8_t>(DType::kBool, n, {}, &pb) : make_col<double>(DType::kFloat64, n, {}, &pd);
    visit_numeric(a.dtype, [&](auto tag) {
      using T = decltype(tag);
      const T* p = a.as<T>();
      for (uint64_t i = 0; i < n; ++i) {
        uint64_t m = a.row_numel(i), s = a.row_start(i);
        switch (r_) {
          case Reduce::kAny: {
            bool v = false;
            for (uint64_t k = 0; k < m && !v; ++k) v = p[s + k] != 0;
            pb[i] = v;
            break;
          }
          case Reduce::kAll: {
            bool v = true;
            for (uint64_t k = 0; k < m && v; ++k) v = p[s + k] != 0;
            pb[i] = v;
            break;
          }
          case Reduce::kMin:
          case Reduce::kMax: {
            if (m == 0) {
              pd[i] = std::numeric_limits<double>::quiet_NaN();
              break;
            }
            double v = static_cast<double>(p[s]);
            for (uint64_t k = 1; k < m && !std::isnan(v); ++k) {
              double x = static_cast<double>(p[s + k]);
              if (std::isnan(x)) v = x;
              else v = r_ == Reduce::kMin ? std::min(v, x) : std::max(v, x);
            }
            pd[i] = v;
            break;
          }
          default: {
            double acc = 0;
            for (uint64_t k = 0; k < m; ++k) {
              double x = static_cast<double>(p[s + k]);
              acc += r_ == Reduce::kL2 ? x * x : r_ == Reduce::kL1 ? std::fabs(x) : x;
            }
            if (r_ == Reduce::kMean) acc = m ? acc / static_cast<double>(m) : std::numeric_limits<double>::quiet_NaN();
            if (r_ == Reduce::kL2) acc = std::sqrt(acc);
            pd[i] = acc;
          }
        }
      }
    });
    return out;
  }
  Reduce kind() const { return r_; }
  const NodePtr& arg() const { return a_; }

 private:
  Reduce r_;
  NodePtr a_;
};

enum class Math { kAbs, kSqrt, kLog, kExp };

class MathNode : public Node {
 public:
  MathNode(Math m, NodePtr a) : m_(m), a_(std::move(a)) {}
  Result<Col> eval(Batch& b) const override {
    GTN_ASSIGN_OR_RETURN(Col a, a_->eval(b));
    uint64_t n = b.size();
    std::vector<Shape> shapes = a.shapes;
    double* po;
    Col out = alloc<double>(DType::kFloat64, n, a.uniform, a.shape, shapes, &po);
    const double* pa;
    auto k = to_f64(a, &pa);
    for (uint64_t i = 0; i < n; ++i) {
      for (uint64_t e = 0; e < out.row_numel(i); ++e) {
        double x = pa[a.row_start(i) + e];
        po[out.row_start(i) + e] = m_ == Math::kAbs    ? std::fabs(x)
                                   : m_ == Math::kSqrt ? std::sqrt(x)
                                   : m_ == Math::kLog  ? std::log(x)
                                                       : std::exp(x);
      }
    }
    return out;
  }

 private:
  Math m_;
  NodePtr a_;
};

enum class ShapeFn { kShape, kLen, kNumel };

size_t utf8_length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

class ShapeNode : public Node {
 public:
  ShapeNode(ShapeFn f, NodePtr a) : f_(f), a_(std::move(a)) {}
  Result<Col> eval(Batch& b) const override {
    GTN_ASSIGN_OR_RETURN(Col a, a_->eval(b));
    uint64_t n = b.size();
    if (f_ != ShapeFn::kShape) {
      int64_t* po;
      Col out = make_col<int64_t>(DType::kInt64, n, {}, &po);
      for (uint64_t i = 0; i < n; ++i) {
        if (a.text) {
          po[i] = f_ == ShapeFn::kLen ? static_cast<int64_t>(utf8_length(a.str(i))) : static_cast<int64_t>(a.str(i).size());
        } else if (f_ == ShapeFn::kNumel) {
          po[i] = static_cast<int64_t>(a.row_numel(i));
        } else {
          const Shape& s = a.row_shape(i);
          po[i] = s.empty() ? 1 : s[0];
        }
      }
      return out;
    }
    if (a.text) {
      int64_t* po;
      Col out = make_col<int64_t>(DType::kInt64, n, {1}, &po);
      for (uint64_t i = 0; i < n; ++i) po[i] = static_cast<int64_t>(a.str(i).size());
      return out;
    }
    if (a.uniform) {
      int64_t* po;
      int64_t rank = static_cast<int64_t>(a.shape.size());
      Col out = make_col<int64_t>(DType::kInt64, n, {rank}, &po);
      for (uint64_t i = 0; i < n; ++i) std::copy(a.shape.begin(), a.shape.end(), po + i * rank);
      return out;
    }
    std::vector<Shape> shapes(n);
    for (uint64_t i = 0; i < n; ++i) shapes[i] = {static_cast<int64_t>(a.row_shape(i).size())};
    int64_t* po;
    Col out = make_ragged<int64_t>(DType::kInt64, shapes, &po);
    for (uint64_t i = 0; i < n; ++i) std::copy(a.row_shape(i).begin(), a.row_shape(i).end(), po + out.row_start(i));
    return out;
  }

 private:
  ShapeFn f_;
  NodePtr a_;
};

enum class Vec { kCosine, kL2, kDot };

template <typename T>
void vec_rows(Vec kind, const T* p, uint64_t n, uint64_t d, const double* q, double qn, double* out) {
  for (uint64_t i = 0; i < n; ++i) {
    const T* r = p + i * d;
    double dot = 0, rr = 0, l2 = 0;
    if (kind == Vec::kL2) {
      for (uint64_t k = 0; k < d; ++k) {
        double x = static_cast<double>(r[k]) - q[k];
        l2 += x * x;
      }
      out[i] = std::sqrt(l2);
    } else if (kind == Vec::kDot) {
      for (uint64_t k = 0; k < d; ++k) dot += static_cast<double>(r[k]) * q[k];
      out[i] = dot;
    } else {
      for (uint64_t k = 0; k < d; ++k) {
        double x = static_cast<double>(r[k]);
        dot += x * q[k];
        rr += x * x;
      }
      out[i] = dot / (std::sqrt(rr) * qn);
    }
  }
}

// float32 rows: the vectorized kernels (vector_kernels.cc), then the final step in double.
void vec_rows_f32(Vec kind, const float* p, uint64_t n, uint64_t d, const double* q, double qn, double* out) {
  std::vector<float> qf(q, q + d);
  if (kind == Vec::kL2) {
    l2sq_rows(p, n, d, qf.data(), out);
    for (uint64_t i = 0; i < n; ++i) out[i] = std::sqrt(out[i]);
  } else if (kind == Vec::kDot) {
    dot_rows(p, n, d, qf.data(), out);
  } else {
    std::vector<double> norms(n);
    dot_and_norm_rows(p, n, d, qf.data(), out, norms.data());
    for (uint64_t i = 0; i < n; ++i) out[i] = out[i] / (std::sqrt(norms[i]) * qn);
  }
}

class VecNode : public Node {
 public:
  VecNode(Vec kind, NodePtr a, NodePtr q) : kind_(kind), a_(std::move(a)), q_(std::move(q)) {}
  Result<Col> eval(Batch& b) const override {
    GTN_ASSIGN_OR_RETURN(Col a, a_->eval(b));
    GTN_ASSIGN_OR_RETURN(Col q, q_->eval(b));
    uint64_t n = b.size();
    double* po;
    Col out = make_col<double>(DType::kFloat64, n, {}, &po);
    const double* pq;
    auto kq = to_f64(q, &pq);
    if (q.shared && a.uniform && !a.shared) {
      uint64_t d = static_cast<uint64_t>(shape_numel(a.shape));
      if (d != q.row_numel(0)) {
        return run_error(*expr, "the query vector has " + std::to_string(q.row_numel(0)) + " elements, the rows " +
                                    std::to_string(d) + " (shape " + shape_to_string(a.shape) + ")");
      }
      double qn = 0;
      for (uint64_t k = 0; k < d; ++k) qn += pq[k] * pq[k];
      qn = std::sqrt(qn);
      if (a.dtype == DType::kFloat32) {
        vec_rows_f32(kind_, a.as<float>(), n, d, pq, qn, po);
      } else {
        visit_numeric(a.dtype, [&](auto tag) {
          using T = decltype(tag);
          vec_rows<T>(kind_, a.as<T>(), n, d, pq, qn, po);
        });
      }
      return out;
    }
    const double* pa;
    auto ka = to_f64(a, &pa);
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t d = a.row_numel(i);
      if (q.row_numel(i) != d) {
        return run_error(*expr, "vectors of " + std::to_string(d) + " and " + std::to_string(q.row_numel(i)) +
                                    " elements at row " + std::to_string(i));
      }
      const double* qi = pq + q.row_start(i);
      double qn = 0;
      for (uint64_t k = 0; k < d; ++k) qn += qi[k] * qi[k];
      vec_rows<double>(kind_, pa + a.row_start(i), 1, d, qi, std::sqrt(qn), po + i);
    }
    return out;
  }

 private:
  Vec kind_;
  NodePtr a_, q_;
};

// ---- text ----

enum class TextFn { kContains, kLike, kILike, kRegex, kLower, kUpper };

bool like_match(std::string_view s, std::string_view p, bool fold) {
  // Iterative wildcard match: % any run, _ one byte.
  size_t si = 0, pi = 0, star = std::string_view::npos, mark = 0;
  auto eq = [fold](char a, char b) {
    return fold ? std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b)) : a == b;
  };
  while (si < s.size()) {
    if (pi < p.size() && (p[pi] == '_' || (p[pi] != '%' && eq(p[pi], s[si])))) {
      ++si;
      ++pi;
    } else if (pi < p.size() && p[pi] == '%') {
      star = pi++;
      mark = si;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '%') ++pi;
  return pi == p.size();
}

class TextNode : public Node {
 public:
  TextNode(TextFn f, NodePtr a, std::string arg, bool negated) : f_(f), a_(std::move(a)), arg_(std::move(arg)), negated_(negated) {
    if (f_ == TextFn::kRegex) re_ = std::make_shared<std::regex>(arg_, std::regex::ECMAScript);
  }
  Result<Col> eval(Batch& b) const override {
    GTN_ASSIGN_OR_RETURN(Col a, a_->eval(b));
    uint64_t n = b.size();
    if (f_ == TextFn::kLower || f_ == TextFn::kUpper) {
      auto arena = std::make_shared<std::vector<std::string>>(n);
      Col out;
      out.text = true;
      out.dtype = DType::kText;
      out.n = n;
      out.strs.resize(n);
      for (uint64_t i = 0; i < n; ++i) {
        std::string s(a.str(i));
        for (char& c : s) c = f_ == TextFn::kLower ? std::tolower(static_cast<unsigned char>(c)) : std::toupper(static_cast<unsigned char>(c));
        (*arena)[i] = std::move(s);
      }
      for (uint64_t i = 0; i < n; ++i) out.strs[i] = (*arena)[i];
      out.str_keep.push_back(arena);
      return out;
    }
    uint8_t* po;
    Col out = make_col<uint8_t>(DType::kBool, n, {}, &po);
    for (uint64_t i = 0; i < n; ++i) {
      std::string_view s = a.str(i);
      bool v;
      switch (f_) {
        case TextFn::kContains: v = s.find(arg_) != std::string_view::npos; break;
        case TextFn::kLike: v = like_match(s, arg_, false); break;
        case TextFn::kILike: v = like_match(s, arg_, true); break;
        default: v = std::regex_search(s.begin(), s.end(), *re_); break;
      }
      po[i] = v != negated_;
    }
    return out;
  }

 private:
  TextFn f_;
  NodePtr a_;
  std::string arg_;
  bool negated_;
  std::shared_ptr<std::regex> re_;
};

class RowNumberNode : public Node {
 public:
  Result<Col> eval(Batch& b) const override {
    int64_t* po;
    Col out = make_col<int64_t>(DType::kInt64, b.size(), {}, &po);
    for (uint64_t i = 0; i < b.size(); ++i) po[i] = static_cast<int64_t>(b.position_of(i));
    return out;
  }
};

// ---- indexing ----

class IndexNode : public Node {
 public:
  IndexNode(NodePtr a, std::vector<Expr::IndexItem> items) : a_(std::move(a)), items_(std::move(items)) {}

  // The element offsets row shape `s` selects, and the result's shape.
  Status plan(const Shape& s, uint64_t row, Shape* out_shape, std::vector<uint64_t>* picks) const {
    if (items_.size() > s.size()) {
      return run_error(*expr, std::to_string(items_.size()) + " indices for a value of shape " + shape_to_string(s) +
                                  " at row " + std::to_string(row));
    }
    // Per axis, the chosen positions.
    std::vector<std::vector<int64_t>> axes;
    out_shape->clear();
    for (size_t ax = 0; ax < s.size(); ++ax) {
      int64_t dim = s[ax];
      std::vector<int64_t> pos;
      if (ax >= items_.size()) {
        for (int64_t k = 0; k < dim; ++k) pos.push_back(k);
        out_shape->push_back(dim);
      } else if (!items_[ax].slice) {
        int64_t k = *items_[ax].start;
        if (k < 0) k += dim;
        if (k < 0 || k >= dim) {
          return run_error(*expr, "index " + std::to_string(*items_[ax].start) + " is out of range for axis " +
                                      std::to_string(ax) + " of size " + std::to_string(dim) + " at row " +
                                      std::to_string(row));
        }
        pos.push_back(k);
      } else {
        // Python slice semantics.
        int64_t step = items_[ax].step.value_or(1);
        auto clamp = [&](std::optional<int64_t> v, int64_t dflt) {
          if (!v) return dflt;
          int64_t x = *v < 0 ? *v + dim : *v;
          if (step > 0) return std::clamp<int64_t>(x, 0, dim);
          return std::clamp<int64_t>(x, -1, dim - 1);
        };
        int64_t start = clamp(items_[ax].start, step > 0 ? 0 : dim - 1);
        int64_t stop = clamp(items_[ax].stop, step > 0 ? dim : -1);
        for (int64_t k = start; step > 0 ? k < stop : k > stop; k += step) pos.push_back(k);
        out_shape->push_back(static_cast<int64_t>(pos.size()));
      }
      axes.push_back(std::move(pos));
    }
    // Row-major offsets of every combination.
    std::vector<int64_t> strides(s.size(), 1);
    for (size_t ax = s.size(); ax-- > 1;) strides[ax - 1] = strides[ax] * s[ax];
    picks->assign(1, 0);
    for (size_t ax = 0; ax < s.size(); ++ax) {
      std::vector<uint64_t> next;
      next.reserve(picks->size() * axes[ax].size());
      for (uint64_t base : *picks) {
        for (int64_t k : axes[ax]) next.push_back(base + static_cast<uint64_t>(k * strides[ax]));
      }
      *picks = std::move(next);
    }
    return Status::OK();
  }

  Result<Col> eval(Batch& b) const override {
    GTN_ASSIGN_OR_RETURN(Col a, a_->eval(b));
    uint64_t n = b.size();
    if (a.text) return run_error(*expr, "text cannot be indexed; use contains(), LIKE or regexp_match()");
    size_t es = dtype_size(a.dtype);
    if (a.uniform) {
      Shape os;
      std::vector<uint64_t> picks;
      GTN_RETURN_IF_ERROR(plan(a.shape, 0, &os, &picks));
      uint8_t* po;
      Col out = make_col<uint8_t>(a.dtype, 0, os, &po);
      auto buf = std::make_shared<std::vector<uint8_t>>(n * picks.size() * es);
      for (uint64_t i = 0; i < n; ++i) {
        const uint8_t* src = a.data + a.row_start(i) * es;
        uint8_t* dst = buf->data() + i * picks.size() * es;
        for (size_t k = 0; k < picks.size(); ++k) std::memcpy(dst + k * es, src + picks[k] * es, es);
      }
      out.n = n;
      out.data = buf->data();
      out.keep = buf;
      return out;
    }
    std::vector<Shape> shapes(n);
    std::vector<std::vector<uint64_t>> all(n);
    for (uint64_t i = 0; i < n; ++i) GTN_RETURN_IF_ERROR(plan(a.row_shape(i), i, &shapes[i], &all[i]));
    uint8_t* unused;
    Col out = make_ragged<uint8_t>(a.dtype, shapes, &unused);
    auto buf = std::make_shared<std::vector<uint8_t>>(out.offs.back() * es);
    for (uint64_t i = 0; i < n; ++i) {
      const uint8_t* src = a.data + a.row_start(i) * es;
      uint8_t* dst = buf->data() + out.offs[i] * es;
      for (size_t k = 0; k < all[i].size(); ++k) std::memcpy(dst + k * es, src + all[i][k] * es, es);
    }
    out.data = buf->data();
    out.keep = buf;
    return out;
  }

 private:
  NodePtr a_;
  std::vector<Expr::IndexItem> items_;
};

// ---- model functions ----

class ModelNode : public Node {
 public:
  ModelNode(std::shared_ptr<const ml::Model> model, std::string method, int64_t column, std::vector<NodePtr> args)
      : model_(std::move(model)), method_(std::move(method)), column_(column), args_(std::move(args)) {}

  Result<Col> eval(Batch& b) const override {
    uint64_t n = b.size();
    std::vector<Col> cols;
    uint64_t features = 0;
    for (const auto& a : args_) {
      GTN_ASSIGN_OR_RETURN(Col c, a->eval(b));
      if (c.text) return run_error(*expr, "model features must be numbers; an argument is text");
      for (uint64_t i = 0; i < n; ++i) {
        if (c.row_numel(i) != c.row_numel(0)) {
          return run_error(*expr, "every row must give the model the same number of features; row " + std::to_string(i) +
                                      " gives " + std::to_string(c.row_numel(i)) + " instead of " +
                                      std::to_string(c.row_numel(0)));
        }
      }
      features += n ? c.row_numel(0) : 0;
      cols.push_back(std::move(c));
    }
    if (n == 0) {
      double* p;
      return make_col<double>(DType::kFloat64, 0, {}, &p);
    }
    if (static_cast<int64_t>(features) != model_->n_features()) {
      return run_error(*expr, "the model takes " + std::to_string(model_->n_features()) + " features, the arguments give " +
                                  std::to_string(features));
    }
    Array x;
    if (cols.size() == 1 && cols[0].uniform && !cols[0].shared && cols[0].dtype == DType::kFloat32) {
      // One float32 tensor: the model reads the rows where they are.
      GTN_ASSIGN_OR_RETURN(x, Array::View(DType::kFloat32, {static_cast<int64_t>(n), static_cast<int64_t>(features)},
                                          cols[0].data, n * features * 4, cols[0].keep));
    } else {
      x = Array::Zeros(DType::kFloat32, {static_cast<int64_t>(n), static_cast<int64_t>(features)});
      float* px = static_cast<float*>(x.mutable_data());
      uint64_t col0 = 0;
      for (const Col& c : cols) {
        uint64_t m = c.row_numel(0);
        visit_numeric(c.dtype, [&](auto tag) {
          using T = decltype(tag);
          const T* p = c.as<T>();
          for (uint64_t i = 0; i < n; ++i) {
            const T* src = p + c.row_start(i);
            float* dst = px + i * features + col0;
            for (uint64_t k = 0; k < m; ++k) dst[k] = static_cast<float>(src[k]);
          }
        });
        col0 += m;
      }
    }
    GTN_ASSIGN_OR_RETURN(Array y, model_->Predict(method_, x, /*n_threads=*/1));
    uint64_t width = y.ndim() >= 2 ? static_cast<uint64_t>(y.shape()[1]) : 1;
    if (column_ >= 0 && static_cast<uint64_t>(column_) >= width) {
      return run_error(*expr, method_ + " gives " + std::to_string(width) + " columns; column " + std::to_string(column_) +
                                  " does not exist");
    }
    bool one = column_ >= 0 || width == 1;
    double* po;
    Col out = make_col<double>(DType::kFloat64, n, one ? Shape{} : Shape{static_cast<int64_t>(width)}, &po);
    Col yc;
    yc.dtype = y.dtype();
    yc.n = n;
    yc.shape = {static_cast<int64_t>(width)};
    yc.data = static_cast<const uint8_t*>(y.data());
    const double* py;
    auto ky = to_f64(yc, &py);
    for (uint64_t i = 0; i < n; ++i) {
      if (one) {
        po[i] = py[i * width + (column_ >= 0 ? column_ : 0)];
      } else {
        for (uint64_t k = 0; k < width; ++k) po[i * width + k] = py[i * width + k];
      }
    }
    return out;
  }

 private:
  std::shared_ptr<const ml::Model> model_;
  std::string method_;
  int64_t column_;
  std::vector<NodePtr> args_;
};

// ---- the binder ----

class Binder {
 public:
  Binder(const Schema& s, std::string_view text) : s_(s), text_(text) {}

  Result<NodePtr> bind(const ExprPtr& e) {
    GTN_ASSIGN_OR_RETURN(NodePtr n, bind_inner(e));
    n->expr = e;
    return n;
  }

 private:
  Status error(const Expr& e, const std::string& msg) { return type_error(text_, e, msg); }

  template <typename N, typename... A>
  NodePtr node(Type t, A&&... a) {
    auto n = std::make_shared<N>(std::forward<A>(a)...);
    n->type = std::move(t);
    return n;
  }

  static Type num(DType d, bool fixed = true, Shape shape = {}) {
    Type t;
    t.dtype = d;
    t.fixed = fixed;
    t.shape = std::move(shape);
    return t;
  }

  std::string what(const NodePtr& n) {
    std::string s = "'" + n->expr->source + "'";
    if (n->type.tensor >= 0) {
      s = "tensor '" + s_.names[n->type.tensor] + "' (" + s_.specs[n->type.tensor].htype + ", " + n->type.describe() + ")";
    } else {
      s += " (" + n->type.describe() + ")";
    }
    return s;
  }

  Status need_numeric(const NodePtr& n, const std::string& fn) {
    if (n->type.text) return error(*n->expr, fn + " needs numbers, but " + what(n) + " is text");
    return Status::OK();
  }
  Status need_text(const NodePtr& n, const std::string& fn) {
    if (!n->type.text) return error(*n->expr, fn + " needs text, but " + what(n) + " holds numbers");
    return Status::OK();
  }
  Status need_bool(const NodePtr& n, const std::string& fn) {
    if (n->type.text || n->type.dtype != DType::kBool) {
      return error(*n->expr, fn + " needs a boolean (a comparison, IN, LIKE, ...), but " + what(n) + " is not one");
    }
    return Status::OK();
  }

  // A text literal compared with a class_label tensor becomes the class's code.
  Result<NodePtr> class_code(const NodePtr& label, const ExprPtr& lit) {
    const TensorSpec* spec = label->type.classes;
    auto it = std::find(spec->class_names.begin(), spec->class_names.end(), lit->text);
    if (it == spec->class_names.end()) {
      return error(*lit, "'" + lit->text + "' is not a class of tensor '" + spec->name + "'; " +
                             suggest(lit->text, spec->class_names, "classes"));
    }
    NodePtr c = node<ConstNode>(num(DType::kInt64), scalar_i64(it - spec->class_names.begin()));
    c->expr = lit;
    return c;
  }

  Result<NodePtr> compare(const ExprPtr& e, Op op, const ExprPtr& ea, const ExprPtr& eb) {
    GTN_ASSIGN_OR_RETURN(NodePtr a, bind(ea));
    GTN_ASSIGN_OR_RETURN(NodePtr b, bind(eb));
    if (a->type.classes && eb->kind == Expr::kString) {
      GTN_ASSIGN_OR_RETURN(b, class_code(a, eb));
    }
    if (b->type.classes && ea->kind == Expr::kString) {
      GTN_ASSIGN_OR_RETURN(a, class_code(b, ea));
    }
    if (a->type.text != b->type.text) {
      return error(*e, "cannot compare " + what(a) + " with " + what(b) +
                           (a->type.text || b->type.text ? ": one is text, the other numbers" : ""));
    }
    Type t = num(DType::kBool, a->type.fixed && b->type.fixed,
                 a->type.fixed && shape_numel(a->type.shape) != 1 ? a->type.shape : b->type.shape);
    if (a->type.text) t = num(DType::kBool);
    return node<BinaryNode>(t, op, a, b);
  }

  Result<NodePtr> bind_inner(const ExprPtr& e) {
    switch (e->kind) {
      case Expr::kNumber:
        return e->is_integer ? node<ConstNode>(num(DType::kInt64), scalar_i64(e->integer))
                             : node<ConstNode>(num(DType::kFloat64), scalar_f64(e->number));
      case Expr::kString: {
        Type t;
        t.text = true;
        t.dtype = DType::kText;
        t.fixed = true;
        return node<ConstNode>(t, scalar_text(e->text));
      }
      case Expr::kBool: return node<ConstNode>(num(DType::kBool), scalar_bool(e->flag));
      case Expr::kArray: {
        double* p;
        Col c = make_col<double>(DType::kFloat64, 1, {static_cast<int64_t>(e->args.size())}, &p);
        for (size_t i = 0; i < e->args.size(); ++i) p[i] = e->args[i]->number;
        return node<ConstNode>(num(DType::kFloat64, true, c.shape), std::move(c));
      }
      case Expr::kName: {
        auto it = std::find(s_.names.begin(), s_.names.end(), e->text);
        if (it == s_.names.end()) {
          return error(*e, "unknown tensor '" + e->text + "'; " + suggest(e->text, s_.names, "tensors"));
        }
        int t = static_cast<int>(it - s_.names.begin());
        const TensorInfo& info = s_.infos[t];
        Type ty;
        ty.tensor = t;
        ty.text = dtype_is_bytes_like(info.dtype);
        ty.dtype = info.dtype == DType::kFloat16 ? DType::kFloat32 : info.dtype;
        ty.fixed = !ty.text && info.min_shape == info.max_shape && info.length > 0;
        ty.shape = info.max_shape;
        if (s_.specs[t].htype == "class_label") ty.classes = &s_.specs[t];
        return node<TensorNode>(ty, t);
      }
      case Expr::kUnary: {
        GTN_ASSIGN_OR_RETURN(NodePtr a, bind(e->args[0]));
        if (e->text == "NOT") {
          GTN_RETURN_IF_ERROR(need_bool(a, "NOT"));
          return node<NotNode>(a->type, a);
        }
        GTN_RETURN_IF_ERROR(need_numeric(a, "unary -"));
        Type t = a->type;
        t.tensor = -1;
        t.classes = nullptr;
        t.dtype = is_integral(t.dtype) && t.dtype != DType::kUInt64 ? DType::kInt64 : DType::kFloat64;
        return node<NegNode>(t, a);
      }
      case Expr::kBinary: {
        Op op = parse_op(e->text);
        if (is_cmp(op)) return compare(e, op, e->args[0], e->args[1]);
        GTN_ASSIGN_OR_RETURN(NodePtr a, bind(e->args[0]));
        GTN_ASSIGN_OR_RETURN(NodePtr b, bind(e->args[1]));
        if (op == Op::kAnd || op == Op::kOr) {
          GTN_RETURN_IF_ERROR(need_bool(a, e->text));
          GTN_RETURN_IF_ERROR(need_bool(b, e->text));
          NodePtr n = node<BinaryNode>(num(DType::kBool, a->type.fixed && b->type.fixed,
                                           shape_numel(a->type.shape) != 1 ? a->type.shape : b->type.shape),
                                       op, a, b);
          static_cast<BinaryNode*>(n.get())->set_costly_right(costly(e->args[1]));
          return n;
        }
        GTN_RETURN_IF_ERROR(need_numeric(a, "'" + e->text + "'"));
        GTN_RETURN_IF_ERROR(need_numeric(b, "'" + e->text + "'"));
        bool ints = is_integral(a->type.dtype) && is_integral(b->type.dtype) && op != Op::kDiv &&
                    a->type.dtype != DType::kUInt64 && b->type.dtype != DType::kUInt64;
        return node<BinaryNode>(num(ints ? DType::kInt64 : DType::kFloat64, a->type.fixed && b->type.fixed,
                                    shape_numel(a->type.shape) != 1 ? a->type.shape : b->type.shape),
                                op, a, b);
      }
      case Expr::kIn: {
        // x IN (a, b, c) is x == a OR x == b OR x == c.
        NodePtr acc;
        for (size_t i = 1; i < e->args.size(); ++i) {
          GTN_ASSIGN_OR_RETURN(NodePtr eq, compare(e, Op::kEq, e->args[0], e->args[i]));
          eq->expr = e;
          acc = acc ? node<BinaryNode>(eq->type, Op::kOr, acc, eq) : eq;
          acc->expr = e;
        }
        if (e->negated) acc = node<NotNode>(acc->type, acc);
        return acc;
      }
      case Expr::kBetween: {
        GTN_ASSIGN_OR_RETURN(NodePtr lo, compare(e, Op::kGe, e->args[0], e->args[1]));
        GTN_ASSIGN_OR_RETURN(NodePtr hi, compare(e, Op::kLe, e->args[0], e->args[2]));
        lo->expr = e;
        hi->expr = e;
        NodePtr both = node<BinaryNode>(lo->type, Op::kAnd, lo, hi);
        auto* lo_c = dynamic_cast<const ConstNode*>(static_cast<BinaryNode*>(lo.get())->right().get());
        auto* hi_c = dynamic_cast<const ConstNode*>(static_cast<BinaryNode*>(hi.get())->right().get());
        NodePtr x = static_cast<BinaryNode*>(lo.get())->left();
        if (lo_c && hi_c && !x->type.text && !lo_c->value().text && !hi_c->value().text &&
            lo_c->value().scalar_rows() && hi_c->value().scalar_rows()) {
          both->expr = e;
          both = node<BetweenNode>(lo->type, both, x, lo_c->value(), hi_c->value());
        }
        if (e->negated) {
          both->expr = e;
          both = node<NotNode>(both->type, both);
        }
        return both;
      }
      case Expr::kIsNull: {
        GTN_ASSIGN_OR_RETURN(NodePtr a, bind(e->args[0]));
        return node<IsNullNode>(num(DType::kBool), a, e->negated);
      }
      case Expr::kLike: {
        GTN_ASSIGN_OR_RETURN(NodePtr a, bind(e->args[0]));
        GTN_RETURN_IF_ERROR(need_text(a, e->text));
        if (e->args[1]->kind != Expr::kString) return error(*e->args[1], e->text + " needs a 'pattern' string");
        return node<TextNode>(num(DType::kBool), e->text == "LIKE" ? TextFn::kLike : TextFn::kILike, a, e->args[1]->text,
                              e->negated);
      }
      case Expr::kIndex: {
        GTN_ASSIGN_OR_RETURN(NodePtr a, bind(e->args[0]));
        if (a->type.text) return error(*e, "text cannot be indexed; use contains(), LIKE or regexp_match()");
        Type t = a->type;
        t.tensor = -1;
        t.fixed = false;
        if (a->type.fixed) {
          // The result shape, known when the input's is.
          IndexNode probe(a, e->index);
          probe.expr = e;
          Shape os;
          std::vector<uint64_t> picks;
          Status st = probe.plan(a->type.shape, 0, &os, &picks);
          if (!st.ok()) return error(*e, st.message() + " (" + what(a) + ")");
          t.fixed = true;
          t.shape = os;
        }
        return node<IndexNode>(t, a, e->index);
      }
      case Expr::kCall: return call(e);
    }
    return error(*e, "unsupported expression");
  }

  // Reads text, runs a model, or computes over whole vectors.
  bool costly(const ExprPtr& e) const {
    if (!e) return false;
    if (e->kind == Expr::kLike) return true;
    if (e->kind == Expr::kName) {
      auto it = std::find(s_.names.begin(), s_.names.end(), e->text);
      return it != s_.names.end() && dtype_is_bytes_like(s_.infos[it - s_.names.begin()].dtype);
    }
    if (e->kind == Expr::kCall) {
      static const std::set<std::string> heavy = {"model", "predict_proba", "decision_function", "transform",
                                                  "cosine_similarity", "l2_distance", "inner_product", "contains",
                                                  "regexp_match", "lower", "upper"};
      if (heavy.count(lower(e->text))) return true;
    }
    for (const auto& a : e->args) {
      if (costly(a)) return true;
    }
    return false;
  }

  Result<NodePtr> call(const ExprPtr& e) {
    std::string name = lower(e->text);
    auto nargs = [&](size_t lo, size_t hi) -> Status {
      if (e->args.size() < lo || e->args.size() > hi) {
        std::string sig;
        for (const auto& f : function_table()) {
          if (f.name == name) sig = f.signature;
        }
        return error(*e, name + "() takes " + (lo == hi ? std::to_string(lo) : std::to_string(lo) + " to " + std::to_string(hi)) +
                             " argument" + (hi == 1 ? "" : "s") + ", got " + std::to_string(e->args.size()) +
                             (sig.empty() ? "" : "; usage: " + sig));
      }
      return Status::OK();
    };
    if (e->star) return error(*e, name + "(*) is an aggregate: use it in SELECT (with or without GROUP BY)");
    if (name == "count") return error(*e, "count() is an aggregate: use it in SELECT (with or without GROUP BY)");
    if (name == "row_number") {
      GTN_RETURN_IF_ERROR(nargs(0, 0));
      return node<RowNumberNode>(num(DType::kInt64));
    }
    static const std::map<std::string, Reduce> reductions = {
        {"mean", Reduce::kMean}, {"avg", Reduce::kMean}, {"sum", Reduce::kSum},    {"min", Reduce::kMin},
        {"max", Reduce::kMax},   {"any", Reduce::kAny},  {"all", Reduce::kAll},    {"l2_norm", Reduce::kL2},
        {"l1_norm", Reduce::kL1}};
    if (auto it = reductions.find(name); it != reductions.end()) {
      GTN_RETURN_IF_ERROR(nargs(1, 1));
      GTN_ASSIGN_OR_RETURN(NodePtr a, bind(e->args[0]));
      GTN_RETURN_IF_ERROR(need_numeric(a, name + "()"));
      bool boolean = it->second == Reduce::kAny || it->second == Reduce::kAll;
      return node<ReduceNode>(num(boolean ? DType::kBool : DType::kFloat64), it->second, a);
    }
    static const std::map<std::string, Math> maths = {
        {"abs", Math::kAbs}, {"sqrt", Math::kSqrt}, {"log", Math::kLog}, {"exp", Math::kExp}};
    if (auto it = maths.find(name); it != maths.end()) {
      GTN_RETURN_IF_ERROR(nargs(1, 1));
      GTN_ASSIGN_OR_RETURN(NodePtr a, bind(e->args[0]));
      GTN_RETURN_IF_ERROR(need_numeric(a, name + "()"));
      Type t = num(DType::kFloat64, a->type.fixed, a->type.shape);
      return node<MathNode>(t, it->second, a);
    }
    static const std::map<std::string, ShapeFn> shapes = {
        {"shape", ShapeFn::kShape}, {"len", ShapeFn::kLen}, {"numel", ShapeFn::kNumel}};
    if (auto it = shapes.find(name); it != shapes.end()) {
      GTN_RETURN_IF_ERROR(nargs(1, 1));
      GTN_ASSIGN_OR_RETURN(NodePtr a, bind(e->args[0]));
      Type t = num(DType::kInt64);
      if (it->second == ShapeFn::kShape) {
        t.fixed = a->type.fixed || a->type.text;
        t.shape = {a->type.text ? 1 : static_cast<int64_t>(a->type.shape.size())};
      }
      return node<ShapeNode>(t, it->second, a);
    }
    static const std::map<std::string, Vec> vecs = {
        {"cosine_similarity", Vec::kCosine}, {"l2_distance", Vec::kL2}, {"inner_product", Vec::kDot}};
    if (auto it = vecs.find(name); it != vecs.end()) {
      GTN_RETURN_IF_ERROR(nargs(2, 2));
      GTN_ASSIGN_OR_RETURN(NodePtr a, bind(e->args[0]));
      GTN_ASSIGN_OR_RETURN(NodePtr q, bind(e->args[1]));
      GTN_RETURN_IF_ERROR(need_numeric(a, name + "()"));
      GTN_RETURN_IF_ERROR(need_numeric(q, name + "()"));
      if (a->type.fixed && q->type.fixed && shape_numel(a->type.shape) != shape_numel(q->type.shape)) {
        return error(*e, name + "() compares vectors of equal length, but " + what(a) + " has " +
                             std::to_string(shape_numel(a->type.shape)) + " elements and " + what(q) + " has " +
                             std::to_string(shape_numel(q->type.shape)));
      }
      return node<VecNode>(num(DType::kFloat64), it->second, a, q);
    }
    if (name == "contains" || name == "regexp_match") {
      GTN_RETURN_IF_ERROR(nargs(2, 2));
      GTN_ASSIGN_OR_RETURN(NodePtr a, bind(e->args[0]));
      GTN_RETURN_IF_ERROR(need_text(a, name + "()"));
      if (e->args[1]->kind != Expr::kString) return error(*e->args[1], name + "() needs a 'string' as its second argument");
      if (name == "regexp_match") {
        try {
          std::regex probe(e->args[1]->text, std::regex::ECMAScript);
        } catch (const std::regex_error& err) {
          return error(*e->args[1], "bad regular expression '" + e->args[1]->text + "': " + err.what());
        }
      }
      return node<TextNode>(num(DType::kBool), name == "contains" ? TextFn::kContains : TextFn::kRegex, a,
                            e->args[1]->text, false);
    }
    if (name == "lower" || name == "upper") {
      GTN_RETURN_IF_ERROR(nargs(1, 1));
      GTN_ASSIGN_OR_RETURN(NodePtr a, bind(e->args[0]));
      GTN_RETURN_IF_ERROR(need_text(a, name + "()"));
      Type t;
      t.text = true;
      t.dtype = DType::kText;
      return node<TextNode>(t, name == "lower" ? TextFn::kLower : TextFn::kUpper, a, "", false);
    }
    if (name == "model") return model_call(e, e, "predict", -1);
    if (name == "predict_proba" || name == "decision_function" || name == "transform" || name == "predict") {
      if (e->args.empty() || e->args[0]->kind != Expr::kCall || lower(e->args[0]->text) != "model") {
        return error(*e, name + "() takes model('file.gtnm', features...) as its first argument");
      }
      GTN_RETURN_IF_ERROR(nargs(1, 2));
      int64_t column = -1;
      if (e->args.size() == 2) {
        if (e->args[1]->kind != Expr::kNumber || !e->args[1]->is_integer || e->args[1]->integer < 0) {
          return error(*e->args[1], name + "()'s second argument is a column number (0, 1, ...)");
        }
        column = e->args[1]->integer;
      }
      return model_call(e, e->args[0], name, column);
    }
    std::vector<std::string> names;
    for (const auto& f : function_table()) names.push_back(f.name);
    names.push_back("count");
    return error(*e, "unknown function '" + e->text + "'; " + suggest(name, names, "functions"));
  }

  Result<NodePtr> model_call(const ExprPtr& e, const ExprPtr& m, const std::string& method, int64_t column) {
    if (m->args.size() < 2 || m->args[0]->kind != Expr::kString) {
      return error(*m, "model() takes a model file and the features: model('file.gtnm', x, ...)");
    }
    std::string path = m->args[0]->text;
    if (!s_.model_dir.empty() && !path.empty() && path[0] != '/') path = s_.model_dir + "/" + path;
    auto loaded = ml::Model::Load(path);
    if (!loaded.ok()) return error(*m->args[0], "cannot load model '" + path + "': " + loaded.status().ToString());
    auto model = std::make_shared<const ml::Model>(std::move(*loaded));
    auto methods = model->methods();
    if (std::find(methods.begin(), methods.end(), method) == methods.end()) {
      std::string list;
      for (const auto& x : methods) list += (list.empty() ? "" : ", ") + x;
      return error(*e, "model '" + path + "' has no method " + method + "; it has " + list);
    }
    std::vector<NodePtr> args;
    for (size_t i = 1; i < m->args.size(); ++i) {
      GTN_ASSIGN_OR_RETURN(NodePtr a, bind(m->args[i]));
      GTN_RETURN_IF_ERROR(need_numeric(a, "model()"));
      args.push_back(a);
    }
    int64_t fixed = 0;
    bool known = true;
    for (const auto& a : args) {
      known = known && a->type.fixed;
      fixed += shape_numel(a->type.shape);
    }
    if (known && fixed != model->n_features()) {
      return error(*m, "model '" + path + "' takes " + std::to_string(model->n_features()) + " features, the arguments give " +
                           std::to_string(fixed));
    }
    return node<ModelNode>(num(DType::kFloat64, column >= 0 || method == "predict", {}), model, method, column, args);
  }

  const Schema& s_;
  std::string_view text_;
};

}  // namespace

Result<NodePtr> compile(const ExprPtr& e, const Schema& schema, std::string_view text) {
  Binder b(schema, text);
  return b.bind(e);
}

bool is_aggregate_call(const ExprPtr& e) {
  if (e->kind != Expr::kCall) return false;
  std::string n = lower(e->text);
  return n == "count" || n == "sum" || n == "mean" || n == "avg" || n == "min" || n == "max" || n == "any" || n == "all";
}

void referenced_tensors(const ExprPtr& e, const Schema& schema, std::vector<int>* out) {
  if (!e) return;
  if (e->kind == Expr::kName) {
    auto it = std::find(schema.names.begin(), schema.names.end(), e->text);
    if (it != schema.names.end()) {
      int t = static_cast<int>(it - schema.names.begin());
      if (std::find(out->begin(), out->end(), t) == out->end()) out->push_back(t);
    }
  }
  for (const auto& a : e->args) referenced_tensors(a, schema, out);
}

namespace {

// The statistics say no element of tensor node `t` compares true with constant `c`.
bool cmp_never(Op op, const ChunkStats& s, double c) {
  if (!s.known) return false;
  if (!s.has_range) return op != Op::kNe || s.nan == 0;  // only NaN or empty rows
  switch (op) {
    case Op::kGt: return s.max <= c;
    case Op::kGe: return s.max < c;
    case Op::kLt: return s.min >= c;
    case Op::kLe: return s.min > c;
    case Op::kEq:
      if (c < s.min || c > s.max) return true;
      if (s.has_classes && c == std::floor(c)) {
        return !std::binary_search(s.classes.begin(), s.classes.end(), static_cast<int64_t>(c));
      }
      return false;
    case Op::kNe: return s.min == c && s.max == c && s.nan == 0;
    default: return false;
  }
}

}  // namespace

bool never_true(const Node& n, const StatsFn& stats) {
  if (auto* b = dynamic_cast<const BinaryNode*>(&n)) {
    if (b->op() == Op::kAnd) return never_true(*b->left(), stats) || never_true(*b->right(), stats);
    if (b->op() == Op::kOr) return never_true(*b->left(), stats) && never_true(*b->right(), stats);
    if (!is_cmp(b->op())) return false;
    auto* lt = dynamic_cast<const TensorNode*>(b->left().get());
    auto* rt = dynamic_cast<const TensorNode*>(b->right().get());
    auto* lc = dynamic_cast<const ConstNode*>(b->left().get());
    auto* rc = dynamic_cast<const ConstNode*>(b->right().get());
    const TensorNode* t = lt ? lt : rt;
    const ConstNode* c = lt ? rc : lc;
    if (!t || !c || c->value().text || !c->value().scalar_rows()) return false;
    const ChunkStats* s = stats(t->tensor());
    if (!s) return false;
    double v = 0;
    visit_numeric(c->value().dtype, [&](auto tag) {
      using T = decltype(tag);
      v = static_cast<double>(c->value().as<T>()[0]);
    });
    // An integer constant beyond 2^53 is not exact in double: judge nothing.
    if (is_integral(c->value().dtype) && std::fabs(v) > 9007199254740992.0) return false;
    return cmp_never(lt ? b->op() : flip(b->op()), *s, v);
  }
  if (auto* bt = dynamic_cast<const BetweenNode*>(&n)) return never_true(*bt->both(), stats);
  if (auto* r = dynamic_cast<const ReduceNode*>(&n)) {
    // any(x) is false when x is false everywhere.
    return r->kind() == Reduce::kAny && never_true(*r->arg(), stats);
  }
  if (auto* z = dynamic_cast<const IsNullNode*>(&n)) {
    auto* t = dynamic_cast<const TensorNode*>(z->arg().get());
    if (!t) return false;
    const ChunkStats* s = stats(t->tensor());
    if (!s || !s->known) return false;
    return z->negated() ? s->empty == s->samples : s->empty == 0;
  }
  return false;
}

Status truth(const Col& c, const Expr& e, std::vector<uint8_t>* out) {
  out->resize(c.n);
  if (c.text || c.dtype != DType::kBool) {
    return Status::InvalidArgument("query error in '" + e.source + "': WHERE needs a boolean per row");
  }
  const uint8_t* p = c.as<uint8_t>();
  if (c.scalar_rows()) {
    if (c.shared) {
      std::fill(out->begin(), out->end(), p[0]);
    } else {
      std::memcpy(out->data(), p, c.n);
    }
    return Status::OK();
  }
  for (uint64_t i = 0; i < c.n; ++i) {
    uint64_t m = c.row_numel(i);
    if (m > 1) {
      return Status::InvalidArgument("query error in '" + e.source + "': WHERE needs one boolean per row, row " +
                                     std::to_string(i) + " gives " + std::to_string(m) + " (shape " +
                                     shape_to_string(c.row_shape(i)) + "); wrap it in any() or all()");
    }
    (*out)[i] = m == 1 && p[c.row_start(i)];
  }
  return Status::OK();
}

}  // namespace gtn::query
