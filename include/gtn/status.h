// Status: the outcome of an operation that can fail. Every fallible public call in
// GTN returns a Status or a Result<T> (result.h); nothing in the public API throws.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace gtn {

enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument,  // the caller passed something malformed (wrong dtype, rank, name, ...)
  kNotFound,         // a path, tensor, key or model that does not exist
  kAlreadyExists,    // creating something that is already there
  kOutOfRange,       // an index past the end
  kCorruption,       // bytes on disk fail a checksum or do not parse
  kIOError,          // the operating system refused a read/write
  kLocked,           // another writer holds the dataset
  kUnsupported,      // a valid request this version cannot serve (unknown model type, feature flag)
  kInternal,         // a bug in GTN
};

std::string_view status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  // An OK status; carries no allocation.
  Status() = default;
  Status(StatusCode code, std::string message);

  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string msg) { return {StatusCode::kInvalidArgument, std::move(msg)}; }
  static Status NotFound(std::string msg) { return {StatusCode::kNotFound, std::move(msg)}; }
  static Status AlreadyExists(std::string msg) { return {StatusCode::kAlreadyExists, std::move(msg)}; }
  static Status OutOfRange(std::string msg) { return {StatusCode::kOutOfRange, std::move(msg)}; }
  static Status Corruption(std::string msg) { return {StatusCode::kCorruption, std::move(msg)}; }
  static Status IOError(std::string msg) { return {StatusCode::kIOError, std::move(msg)}; }
  static Status Locked(std::string msg) { return {StatusCode::kLocked, std::move(msg)}; }
  static Status Unsupported(std::string msg) { return {StatusCode::kUnsupported, std::move(msg)}; }
  static Status Internal(std::string msg) { return {StatusCode::kInternal, std::move(msg)}; }

  // True when the operation succeeded.
  bool ok() const { return state_ == nullptr; }
  // The error category; kOk when ok().
  StatusCode code() const { return state_ ? state_->code : StatusCode::kOk; }
  // The human-readable message; empty when ok().
  const std::string& message() const;
  // "InvalidArgument: <message>", or "OK".
  std::string ToString() const;
  // Returns a copy whose message is "<context>: <message>"; OK stays OK.
  Status WithContext(std::string_view context) const;

 private:
  struct State {
    StatusCode code;
    std::string message;
  };
  std::shared_ptr<const State> state_;
};

}  // namespace gtn

// Returns early from the enclosing function when `expr` yields a non-OK Status.
#define GTN_RETURN_IF_ERROR(expr)                  \
  do {                                             \
    ::gtn::Status _gtn_status = (expr);            \
    if (!_gtn_status.ok()) return _gtn_status;     \
  } while (0)
