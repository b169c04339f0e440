// Result<T> for loading, audit and I/O: a value or an error, shaped like std::expected.
#pragma once
#include <string>
#include <utility>
#include <variant>

namespace crible {

// The CLI's exit codes that a stage sets on an Error itself (cli/compile.h lists them all).
inline constexpr int kExitDataError = 3;
inline constexpr int kExitOutOfMemory = 5;  // as for std::bad_alloc anywhere (cli/main.cpp)

struct Error {
  std::string message;
  int exit_code = kExitDataError;  // the CLI's exit code for this failure
};

template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit like std::expected
  Result(Error error) : v_(std::move(error)) {}  // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  T* operator->() { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

struct Unit {};
using Status = Result<Unit>;
inline Status ok_status() { return Unit{}; }

}  // namespace crible
