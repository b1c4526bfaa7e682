// A progress bar on stderr, drawn only when stderr is a terminal (never in pipes, logs or
// tests), with the rate and the time left.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace eqcli {

class Progress {
 public:
  // `unit` names what is counted in the rate ("img" -> "812 img/s").
  Progress(std::string label, int64_t total, std::string unit);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void update(int64_t done);  // redraws at most ~10 times a second
  void finish();              // clears the line
  bool enabled() const { return enabled_; }

  // "1:05", "12.3s": durations for humans.
  static std::string format_duration(double seconds);

 private:
  void draw(bool force);
  std::string label_, unit_;
  int64_t total_, done_ = 0;
  bool enabled_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace eqcli
