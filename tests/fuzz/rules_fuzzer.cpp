// libFuzzer harness: the input is one rule file, run through parse + check, with every
// diagnostic rendered (text and JSON) so spans are exercised too. Built by build.sh only.
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/diagnostic.h"
#include "base/source.h"
#include "check/check.h"
#include "syntax/syntax.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  crible::SourceSet sources;
  uint32_t file = sources.add("fuzz.rules", std::string(reinterpret_cast<const char*>(data), size));
  auto parsed = crible::syntax::parse(sources, file);
  for (const auto& d : parsed.diagnostics) {
    (void)crible::render_text(d, sources);
    (void)crible::render_json(d, sources);
  }
  if (parsed.value) {
    auto checked = crible::check::check(*parsed.value, sources);
    for (const auto& d : checked.diagnostics) {
      (void)crible::render_text(d, sources);
      (void)crible::render_json(d, sources);
    }
  }
  return 0;
}
