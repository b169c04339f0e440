// `crible fmt`: not implemented yet; registers nothing so that --help stays truthful.
#include "cli/authoring.h"

namespace crible::cli {

AuthoringCommand register_fmt_command(CLI::App& app) {
  (void)app;
  return {};
}

}  // namespace crible::cli
