// libFuzzer harness: the input is a cases CSV for the case schema of rules/mali-2019.rules
// (set CRIBLE_FUZZ_RULES to use another rule file), loaded with data::load_csv_text in one
// pass, then again in 2 to 5 parts side by side, which must give exactly the same.
// Built by build.sh only.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "base/intern.h"
#include "base/source.h"
#include "check/check.h"
#include "data/data.h"
#include "syntax/syntax.h"

namespace {

crible::TableSchema load_schema() {
  const char* env = std::getenv("CRIBLE_FUZZ_RULES");
  std::string path = env ? env : CRIBLE_FUZZ_DEFAULT_RULES;
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  crible::SourceSet sources;
  uint32_t file = sources.add(path, ss.str());
  auto parsed = crible::syntax::parse(sources, file);
  if (!parsed.value) {
    std::fprintf(stderr, "csv_fuzzer: cannot parse %s\n", path.c_str());
    std::abort();
  }
  auto checked = crible::check::check(*parsed.value, sources);
  if (!checked.value) {
    std::fprintf(stderr, "csv_fuzzer: %s does not check\n", path.c_str());
    std::abort();
  }
  return checked.value->cases;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const crible::TableSchema schema = load_schema();
  std::string text(reinterpret_cast<const char*>(data), size);
  // The input size picks the options: all columns or half of them; duplicates rejected or not.
  crible::data::LoadOptions opts;
  bool reject_dups = true;
  {
    size_t sel = size;
    if (sel & 1) {
      opts.wanted.assign(schema.columns.size(), false);
      for (size_t i = 0; i < opts.wanted.size(); i += 2) opts.wanted[i] = true;
    }
    reject_dups = !(sel & 2);
  }
  opts.threads = 1;
  crible::Interner interner;
  auto t = crible::data::load_csv_text(text, "fuzz.csv", schema, interner, opts, reject_dups);
  if (t) {
    const auto& table = t.value();
    // Invariants the evaluator relies on.
    for (const auto& c : table.columns) {
      if (!c.loaded) continue;
      if (c.size() != table.rows) std::abort();
    }
    if (table.row_line.size() != table.rows) std::abort();
  }
  // The same text cut into 2 to 5 parts loaded side by side must give exactly what one pass
  // gave: the same error, or the same rows, lines, rejects, columns and interned texts.
  crible::data::LoadOptions in_parts = opts;
  in_parts.threads = 2 + static_cast<int>((size >> 2) % 4);
  in_parts.min_part_bytes = 1;
  crible::Interner interner2;
  auto u = crible::data::load_csv_text(text, "fuzz.csv", schema, interner2, in_parts, reject_dups);
  if (t.ok() != u.ok()) std::abort();
  if (!t.ok()) {
    if (t.error().message != u.error().message) std::abort();
    return 0;
  }
  const auto& a = t.value();
  const auto& b = u.value();
  if (a.rows != b.rows || a.read != b.read || a.row_line != b.row_line || !(a.columns == b.columns))
    std::abort();
  if (a.rejects.size() != b.rejects.size()) std::abort();
  for (size_t i = 0; i < a.rejects.size(); ++i)
    if (a.rejects[i].line != b.rejects[i].line || a.rejects[i].column != b.rejects[i].column ||
        a.rejects[i].reason != b.rejects[i].reason)
      std::abort();
  if (interner.size() != interner2.size()) std::abort();
  for (uint32_t id = 0; id < interner.size(); ++id)
    if (interner.text(id) != interner2.text(id)) std::abort();
  return 0;
}
