// Result<T>: a value or the Status that explains why there is none.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <utility>

#include "gtn/status.h"

namespace gtn {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    if (status_.ok()) status_ = Status::Internal("Result constructed from an OK status without a value");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  // Access the value; calling these on an error prints the status to stderr and aborts
  // (a programming error: check ok() first, or use GTN_ASSIGN_OR_RETURN).
  T& value() & { check(); return *value_; }
  const T& value() const& { check(); return *value_; }
  T&& value() && { check(); return std::move(*value_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // The value, or `fallback` on error.
  T value_or(T fallback) const& { return ok() ? *value_ : std::move(fallback); }

 private:
  void check() const {
    if (!value_) {
      std::fprintf(stderr, "gtn: Result::value() called on an error: %s\n", status_.ToString().c_str());
      std::fflush(stderr);
      std::abort();
    }
  }
  Status status_;
  std::optional<T> value_;
};

}  // namespace gtn

#define GTN_CONCAT_INNER(a, b) a##b
#define GTN_CONCAT(a, b) GTN_CONCAT_INNER(a, b)

// GTN_ASSIGN_OR_RETURN(auto x, MakeX()); returns the error Status on failure.
#define GTN_ASSIGN_OR_RETURN(lhs, rexpr) \
  GTN_ASSIGN_OR_RETURN_IMPL(GTN_CONCAT(_gtn_result_, __LINE__), lhs, rexpr)
#define GTN_ASSIGN_OR_RETURN_IMPL(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                              \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(tmp).value()
