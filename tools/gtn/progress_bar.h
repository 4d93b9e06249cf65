// A one-line progress bar on stderr, drawn only when stderr is a terminal.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace gtn::cli {

class ProgressBar {
 public:
  explicit ProgressBar(std::string label);
  ~ProgressBar();
  // Redraws the bar for `done` of `total` (at most ~10 times a second).
  void update(uint64_t done, uint64_t total);
  // Draws the final state and ends the line.
  void finish();
  // Ends the line of the bar drawn last, if it is still open (before an error message).
  static void end_active_line();

 private:
  void draw(uint64_t done, uint64_t total);
  void end_line();
  static ProgressBar* active_;
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  uint64_t last_done_ = 0, last_total_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace gtn::cli
