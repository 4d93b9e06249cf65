#include "progress_bar.h"

#include <unistd.h>

#include <cstdio>

namespace gtn::cli {

ProgressBar::ProgressBar(std::string label)
    : label_(std::move(label)), enabled_(isatty(STDERR_FILENO) == 1), start_(std::chrono::steady_clock::now()) {}

ProgressBar* ProgressBar::active_ = nullptr;

ProgressBar::~ProgressBar() {
  end_line();
  if (active_ == this) active_ = nullptr;
}

void ProgressBar::end_line() {
  if (drawn_) std::fputc('\n', stderr);
  drawn_ = false;
}

void ProgressBar::end_active_line() {
  if (active_) active_->end_line();
}

void ProgressBar::update(uint64_t done, uint64_t total) {
  last_done_ = done;
  last_total_ = total;
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (drawn_ && done < total && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  draw(done, total);
}

void ProgressBar::finish() {
  if (!enabled_) return;
  draw(last_done_, last_total_);
  end_line();
}

void ProgressBar::draw(uint64_t done, uint64_t total) {
  constexpr int kWidth = 30;
  double frac = total ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
  frac = frac < 0 ? 0 : frac > 1 ? 1 : frac;
  int filled = static_cast<int>(frac * kWidth);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(kWidth - filled), '.');
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double rate = secs > 0 ? static_cast<double>(done) / secs : 0.0;
  std::fprintf(stderr, "\r%s [%s] %llu/%llu (%.0f/s)", label_.c_str(), bar.c_str(),
               static_cast<unsigned long long>(done), static_cast<unsigned long long>(total), rate);
  std::fflush(stderr);
  drawn_ = true;
  active_ = this;
}

}  // namespace gtn::cli
