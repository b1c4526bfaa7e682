#include "progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace eqcli {

Progress::Progress(std::string label, int64_t total, std::string unit)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), enabled_(::isatty(STDERR_FILENO) == 1) {
  start_ = last_draw_ = std::chrono::steady_clock::now();
  if (enabled_) draw(true);
}

Progress::~Progress() { finish(); }

std::string Progress::format_duration(double s) {
  if (!(s >= 0) || s > 1e7) return "?";
  char buf[32];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", s);
  } else {
    const long t = static_cast<long>(s + 0.5);
    if (t >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
    else std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  }
  return buf;
}

void Progress::update(int64_t done) {
  done_ = done;
  if (enabled_ && !finished_) draw(false);
}

void Progress::draw(bool force) {
  const auto now = std::chrono::steady_clock::now();
  if (!force && done_ < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0;
  const double frac = total_ > 0 ? std::min(1.0, static_cast<double>(done_) / static_cast<double>(total_)) : 0;
  std::string tail;
  char buf[160];
  if (done_ > 0 && rate > 0) {
    std::snprintf(buf, sizeof buf, " %lld/%lld %3.0f%% %.0f %s/s ETA %s", static_cast<long long>(done_),
                  static_cast<long long>(total_), frac * 100, rate, unit_.c_str(),
                  format_duration(static_cast<double>(total_ - done_) / rate).c_str());
  } else {
    std::snprintf(buf, sizeof buf, " %lld/%lld %3.0f%%", static_cast<long long>(done_), static_cast<long long>(total_), frac * 100);
  }
  tail = buf;
  int cols = 80;
  struct winsize ws {};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) cols = ws.ws_col;
  // A fixed bar width (the tail's length varies as the numbers grow), shrunk on narrow terminals.
  const int fixed = static_cast<int>(label_.size() + std::max<size_t>(tail.size(), 48)) + 4;
  const int bar = std::max(0, std::min(30, cols - fixed - 1));
  const int filled = static_cast<int>(frac * bar + 0.5);
  std::string line = "\r" + label_ + " [" + std::string(static_cast<size_t>(filled), '#') +
                     std::string(static_cast<size_t>(bar - filled), '.') + "]" + tail + "\033[K";
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
}

void Progress::finish() {
  if (!enabled_ || finished_) return;
  finished_ = true;
  std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
}

}  // namespace eqcli
