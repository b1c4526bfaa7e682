// The `edgequant` command: dispatches to one verb per file (cmd_<verb>.cpp). Every failure ends
// as one line "edgequant: error: ..." on stderr and exit status 1 (2 for usage errors).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "edgequant/error.h"
#include "verbs.h"

#ifndef EDGEQUANT_VERSION
#define EDGEQUANT_VERSION "0.1.0"
#endif

namespace {

using namespace eqcli;

std::string top_help() {
  std::string s =
      "usage: edgequant <verb> [args] [options]\n"
      "       edgequant help <verb> | --help | --version\n\n"
      "Imports ONNX models into an ATen-named graph IR, runs them in fp32, evaluates and benchmarks them.\n\n"
      "verbs:\n";
  for (const Verb& v : verbs()) {
    const Command& c = v.command();
    s += "  " + c.name + std::string(c.name.size() < 10 ? 10 - c.name.size() : 1, ' ') + c.summary + "\n";
  }
  s += "\nRun 'edgequant help <verb>' for a verb's options.\n";
  return s;
}

std::string verb_list() {
  std::string s;
  for (const Verb& v : verbs()) s += (s.empty() ? "" : ", ") + v.command().name;
  return s;
}

const Verb* find_verb(const std::string& name) {
  for (const Verb& v : verbs())
    if (v.command().name == name) return &v;
  return nullptr;
}

// Messages are printed on one line whatever they contain.
std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

int fail(const std::string& msg, int code) {
  std::fflush(stdout);
  std::fprintf(stderr, "edgequant: error: %s\n", one_line(msg).c_str());
  return code;
}

int dispatch(const std::vector<std::string>& argv) {
  if (argv.empty()) throw UsageError("missing verb (verbs: " + verb_list() + "; see 'edgequant --help')");
  const std::string& first = argv[0];
  if (first == "--help" || first == "-h") {
    std::fputs(top_help().c_str(), stdout);
    return 0;
  }
  if (first == "--version" || first == "-V" || first == "version") {
    std::printf("edgequant %s\n", EDGEQUANT_VERSION);
    return 0;
  }
  if (first == "help") {
    if (argv.size() == 1) {
      std::fputs(top_help().c_str(), stdout);
      return 0;
    }
    if (argv.size() > 2) throw UsageError("'edgequant help' takes one verb");
    const Verb* v = find_verb(argv[1]);
    if (!v) throw UsageError("unknown verb '" + argv[1] + "' (verbs: " + verb_list() + ")");
    std::fputs(v->command().help_text().c_str(), stdout);
    return 0;
  }
  if (first.size() > 1 && first[0] == '-') throw UsageError("unknown option '" + first + "' (try 'edgequant --help')");
  const Verb* v = find_verb(first);
  if (!v) throw UsageError("unknown verb '" + first + "' (verbs: " + verb_list() + ")");
  const Args args = Args::parse(v->command(), std::vector<std::string>(argv.begin() + 1, argv.end()));
  if (args.help()) {
    std::fputs(v->command().help_text().c_str(), stdout);
    return 0;
  }
  return v->run(args);
}

}  // namespace

// OpenMP's default wait policy spins idle workers for a long time after each parallel region
// (libgomp: 300,000 spins, about a millisecond). On a machine with other load (a shared CI runner,
// a build in the background) the spinning worker takes the core the main thread needs: measured
// on the 2-core development machine under load, mlp batch-1 latency was 32 ms spinning against
// 0.03 ms with OMP_WAIT_POLICY=PASSIVE, calibration 900 against 14,000 images/s. PASSIVE is no
// answer either: on an idle machine every parallel region then waits for a futex wake-up (mbv2
// batch 1: 5.6 ms against 0.34 ms). A short spin (GOMP_SPINCOUNT=20000, tens of microseconds)
// kept the idle speed (0.345 ms) and most of PASSIVE's gain under load (10,000 spins: 0.8 ms,
// 5,700 images/s). libgomp reads these when it loads, before main, so when the user has set
// neither we set the short spin and re-execute ourselves once.
void choose_openmp_wait(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr) return;
  if (setenv("GOMP_SPINCOUNT", "20000", 0) != 0) return;
  execv("/proc/self/exe", argv);  // returns only on failure: then carry on with the default policy
}

int main(int argc, char** argv) {
  choose_openmp_wait(argv);
  try {
    const int rc = dispatch(std::vector<std::string>(argv + 1, argv + argc));
    if (std::fflush(stdout) != 0) return fail("cannot write to standard output", 1);
    return rc;
  } catch (const UsageError& e) {
    return fail(e.what(), 2);
  } catch (const eq::Error& e) {
    return fail(e.what(), 1);
  } catch (const std::bad_alloc&) {
    return fail("out of memory", 1);
  } catch (const std::exception& e) {
    return fail(e.what(), 1);
  } catch (...) {
    return fail("internal error: unknown exception", 1);
  }
}
