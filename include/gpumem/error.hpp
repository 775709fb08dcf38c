#pragma once

/**
 * @file error.hpp
 * @brief The exceptions gpumem's library throws.
 *
 * The shim never lets one of these cross its C boundary: it returns CUDA error codes.
 */

#include <iostream>  // as RMM's error header: RMM code uses std::cout without including it
#include <new>
#include <stdexcept>
#include <string>

namespace gpumem {

/// A broken precondition or a misuse of the API (a programming error).
class logic_error : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

/// A CUDA call failed for a reason other than lack of memory.
class cuda_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// An allocation failed.
class bad_alloc : public std::bad_alloc {
 public:
  /// @param message what failed; what() returns "std::bad_alloc: " followed by it
  explicit bad_alloc(const char* message)
      : what_{std::string{std::bad_alloc::what()} + ": " + message} {}
  /// @copydoc bad_alloc(const char*)
  explicit bad_alloc(const std::string& message) : bad_alloc{message.c_str()} {}
  /// The message given at construction, after "std::bad_alloc: ".
  [[nodiscard]] const char* what() const noexcept override { return what_.c_str(); }

 private:
  std::string what_;
};

/// An allocation failed because the memory (of the device, of a pool, under a limit) ran out.
class out_of_memory : public bad_alloc {
 public:
  /// @param message what failed; what() returns "std::bad_alloc: out_of_memory: " and it
  explicit out_of_memory(const char* message)
      : bad_alloc{std::string{"out_of_memory: "} + message} {}
  /// @copydoc out_of_memory(const char*)
  explicit out_of_memory(const std::string& message) : out_of_memory{message.c_str()} {}
};

/// An argument lies outside the range a function accepts.
class out_of_range : public std::out_of_range {
 public:
  using std::out_of_range::out_of_range;
};

}  // namespace gpumem
