// load_csv: a CSV text and a TableSchema in, typed columns and rejects out. One pass over the
// records (a large text: one pass over each of its parts, side by side, joined in order; see
// Loader::run); each row is first typed into a staging area and only written to the columns
// once every declared field fits, so a rejected row leaves no trace in the table.
#include <fcntl.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <deque>
#include <exception>
#include <list>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>

#include "base/date.h"
#include "base/threads.h"
#include "data/data.h"
#include "data/detail/csv_reader.h"
#include "data/detail/fields.h"
#include "data/detail/mapped_file.h"

namespace crible::data {

namespace {

using detail::CsvField;
using detail::CsvProblem;
using detail::CsvReader;
using detail::CsvRecord;
using detail::MappedFile;
using detail::ParseStatus;
using detail::shown;

// set_begin/set_end are uint32 offsets into set_pool; a file that would overflow them is
// refused rather than silently wrapped (it would take billions of set elements).
constexpr size_t kMaxSetPool = UINT32_MAX;

// Low-cardinality text columns (centre, nationality, registrar) repeat the same few values a
// million times. A small direct-mapped cache in front of the Interner answers those without
// the interner's large hash table; it gives up on columns where it keeps missing (case ids,
// phones), since there it would only add work.
class TextCache {
 public:
  // Whether the cache still serves this column; when it does not, the loader hashes the
  // column's texts itself and prefetches their interner slots (see Loader::prefetch_texts).
  bool enabled() const { return enabled_; }

  uint32_t intern(std::string_view s, Interner& interner) {
    if (!enabled_) return interner.intern(s);
    const uint64_t h = hash(s);
    Slot& slot = slots_[h & (kSlots - 1)];
    if (slot.id != Interner::kNone && slot.hash == h) {
      const std::string_view t = interner.text(slot.id);
      if (t.size() == s.size() && std::memcmp(t.data(), s.data(), s.size()) == 0) {
        ++hits_;
        return slot.id;
      }
    }
    const uint32_t id = interner.intern(s);
    slot.id = id;
    slot.hash = h;
    if (++misses_ == kProbe) {  // judge after a sample: mostly repeats, or mostly new?
      if (hits_ < misses_) enabled_ = false;
      hits_ = misses_ = 0;
    }
    return id;
  }

 private:
  static constexpr size_t kSlots = 1024;
  static constexpr uint64_t kProbe = 4096;
  struct Slot {
    uint64_t hash = 0;
    uint32_t id = Interner::kNone;
  };
  // Only a filter (a hit is confirmed by comparing the texts), so it looks at no more than
  // the first and last eight bytes: a per-byte hash cost more than the lookups it saved.
  static uint64_t hash(std::string_view s) {
    const size_t n = s.size();
    uint64_t a = 0, b = 0;
    if (n >= 8) {
      std::memcpy(&a, s.data(), 8);
      std::memcpy(&b, s.data() + n - 8, 8);
    } else if (n >= 4) {
      uint32_t x = 0, y = 0;
      std::memcpy(&x, s.data(), 4);
      std::memcpy(&y, s.data() + n - 4, 4);
      a = x;
      b = y;
    } else if (n > 0) {
      a = static_cast<unsigned char>(s[0]) | static_cast<unsigned char>(s[n / 2]) << 8 |
          static_cast<unsigned char>(s[n - 1]) << 16;
    }
    uint64_t h = (a ^ (b * 0x9E3779B97F4A7C15ull) ^ n) * 0xff51afd7ed558ccdull;
    return h ^ (h >> 32);
  }
  std::unique_ptr<Slot[]> slots_ = std::make_unique<Slot[]>(kSlots);
  uint64_t hits_ = 0, misses_ = 0;
  bool enabled_ = true;
};

// One declared column, resolved against the header.
struct ColumnPlan {
  size_t index = 0;       // in the schema
  size_t header_pos = 0;  // in each record
  const ColumnDecl* decl = nullptr;
  TypeKind kind = TypeKind::Error;
  bool loaded = false;
  bool required = false;  // required or part of the key: a blank field rejects the row
  const EnumDomain* domain = nullptr;
  std::vector<uint32_t> domain_ids;  // interned on first use; kNone until then
  TextCache cache;
};

// One set element while its row is staged: the text, or its index in the enum domain.
struct StagedElem {
  std::string_view text;
  int domain_index = -1;
};

// One field of the current row, typed but not yet written to its column. A block holds a
// thousand rows of these, typed in one pass and committed in the next, so the struct is kept
// small (48 bytes): the block is read back from cache, and the less of it the better.
struct Staged {
  union {
    int64_t i = 0;  // Bool (0/1), Integer, Date (day)
    double d;       // Number
  };
  std::string_view text;
  uint32_t elem_begin = 0, elem_end = 0;  // into the block's elems (see kMaxBlockElems)
  uint32_t id = Interner::kNone;          // Text already interned (key columns)
  uint32_t hash = 0;  // free text of a loaded column: Interner::hash(text)
  int32_t domain_index = -1;
  bool valid = false;
  bool hashed = false;  // intern with `hash` (Interner::hash(text), set when typed); prefetched
};
static_assert(sizeof(Staged) <= 48);

int domain_index_of(const EnumDomain& domain, std::string_view s) {
  for (size_t i = 0; i < domain.values.size(); ++i)
    if (domain.values[i] == s) return static_cast<int>(i);
  return -1;
}

const char* problem_reason(CsvProblem p) {
  switch (p) {
    case CsvProblem::None:
      break;
    case CsvProblem::UnterminatedQuote:
      return "unterminated quoted field";
    case CsvProblem::QuoteInUnquoted:
      return "stray '\"' in an unquoted field (quote the whole field and double the quote)";
    case CsvProblem::TextAfterQuote:
      return "unexpected text after a closing quote (a quote inside a quoted field is written "
             "\"\")";
    case CsvProblem::LoneCarriageReturn:
      return "carriage return without a line feed";
    case CsvProblem::TooManyFields:
      return "too many fields";
  }
  return "malformed record";
}

std::string unterminated_quote_text(uint64_t open_line) {
  return std::string(problem_reason(CsvProblem::UnterminatedQuote)) + ": the quote opened on line " +
         std::to_string(open_line) + " is never closed";
}

std::string problem_text(const CsvRecord& r) {
  if (r.problem == CsvProblem::UnterminatedQuote) return unterminated_quote_text(r.problem_line);
  std::string why = problem_reason(r.problem);
  if (r.problem == CsvProblem::TooManyFields)
    why += " (more than " + std::to_string(detail::kMaxFields) + " in one record)";
  return why;
}

// Threads to load a text of `bytes` with (all cores by default), one part each, each part of
// options.min_part_bytes at least. (Four parts a thread, so that a thread slowed by its host
// would leave less of the work to wait for, measured slower at a million cases: every part
// interns the texts it shares with the others again, and holds them until joined, 40 MB
// more at the peak.)
size_t parts_for(const LoadOptions& options, size_t bytes) {
  const size_t threads = options.threads > 0 ? static_cast<size_t>(options.threads)
                                             : std::max(1u, std::thread::hardware_concurrency());
  return std::max<size_t>(1, std::min(threads, bytes / std::max<size_t>(1, options.min_part_bytes)));
}

struct Part;
struct PartRun;

class Loader {
 public:
  // `mapped`: the file `text` is mapped from, if it is (see MappedFile), else null.
  Loader(std::string_view text, const std::string& name, const TableSchema& schema,
         Interner& interner, const LoadOptions& options, bool reject_duplicate_keys,
         const MappedFile* mapped = nullptr)
      : text_(text),
        name_(name),
        schema_(schema),
        interner_(interner),
        options_(options),
        reject_duplicate_keys_(reject_duplicate_keys),
        reader_(text),
        mapped_(mapped),
        end_(text.size()) {}

  // A loader for the part [begin, end) of `whole`'s text, with an interner of its own. Its
  // lines are counted from 1 at `begin`: absorb() adds the lines before it. `whole` may be
  // loading meanwhile: only what it set before its parts started is read here.
  Loader(const Loader& whole, Interner& interner, size_t begin, size_t end, PartRun& run, Part& self)
      : text_(whole.text_),
        name_(whole.name_),
        schema_(whole.schema_),
        interner_(interner),
        options_(whole.options_),
        reject_duplicate_keys_(whole.reject_duplicate_keys_),
        reader_(whole.text_, begin, 1),
        mapped_(whole.mapped_),
        begin_(begin),
        end_(end),
        run_(&run),
        self_(&self) {
    released_ = begin;
    header_ = whole.header_;
    plans_.resize(whole.plans_.size());
    for (size_t c = 0; c < plans_.size(); ++c) plans_[c].header_pos = whole.plans_[c].header_pos;
    const double share = static_cast<double>(end - begin) /
                         static_cast<double>(std::max<size_t>(1, text_.size() - whole.begin_));
    prepare(static_cast<size_t>(static_cast<double>(whole.expected_rows_) * share) + 64);
  }

  // Rows go through in blocks: `fill` scans and types a block of records (shape, field
  // count, every field's type; everything that depends on no other row), `consume` takes
  // the block's rows in input order and does the rest (rejects in order, duplicate keys,
  // interning, committing to the columns). With `parts` above 1, a large text is cut at line
  // ends into that many parts, loaded side by side on as many threads and joined in input
  // order (see run_parts, absorb): the result is the same as one pass over the whole text.
  Result<Table> run(size_t parts) {
    if (auto status = check_schema(); !status.ok()) return status.error();
    if (auto status = read_header(); !status.ok()) return status.error();
    begin_ = reader_.position();
    prepare(estimated_lines());
    released_ = 0;
    const std::vector<size_t> cuts = parts > 1 && can_cut() ? cut_points(parts) : std::vector<size_t>{};
    if (!cuts.empty()) return run_parts(cuts, parts);
    if (!load_part()) return std::move(*fatal_);
    return std::move(table_);
  }

 private:
  static constexpr size_t kBlockRows = 1024;
  // Staged rows index set elements with 32 bits: a block is closed before its elements could
  // pass that, whatever one record adds (at most kMaxFields sets of kMaxSetElements).
  static constexpr size_t kMaxBlockElems =
      UINT32_MAX - detail::kMaxFields * detail::kMaxSetElements;

  // A reject for a quote never closed names the line the quote opened on: a part after the
  // first keeps where such rejects are, to name that line over the whole text once joined.
  struct OpenQuote {
    size_t reject;  // in the block's rejects, then in table_.rejects
    uint64_t line;
  };

  struct Block {
    size_t count = 0;
    std::vector<OpenQuote> quotes;   // among `rejects`
    std::vector<uint64_t> line;      // per row: the line where its record starts
    std::vector<uint8_t> staged_ok;  // per row: 1 = typed; 0 = rejected (in `rejects`)
    std::vector<Staged> staged;      // kBlockRows x columns
    std::vector<StagedElem> elems;   // set elements of the block's rows
    std::vector<Reject> rejects;     // one per row not typed, in row order
    std::deque<std::string> owned;   // values unescaped by the reader, copied out of it
    size_t end_pos = 0;              // the reader's position after the block
  };

  // Where typing writes (filling) or committing reads (consuming) the current row.
  struct Cursor {
    Staged* row = nullptr;
    std::vector<StagedElem>* elems = nullptr;
    std::vector<Reject>* rejects = nullptr;
    uint64_t line = 0;
  };

  void init_block(Block& b) const {
    b.line.assign(kBlockRows, 0);
    b.staged_ok.assign(kBlockRows, 0);
    b.staged.assign(kBlockRows * plans_.size(), Staged{});
  }

  // Scans and types up to kBlockRows records; false when there was none left.
  bool fill(Block& b) {
    b.count = 0;
    b.elems.clear();
    b.rejects.clear();
    b.owned.clear();
    b.quotes.clear();
    in_quotes_ = &b.quotes;
    if (dropped()) return false;
    if (run_) unread_.store(end_ - std::min(end_, reader_.position()), std::memory_order_relaxed);
    while (b.count < kBlockRows && b.elems.size() <= kMaxBlockElems && !handed_over_or_at_end() &&
           reader_.next(record_)) {
      in_.row = b.staged.data() + b.count * plans_.size();
      in_.elems = &b.elems;
      in_.rejects = &b.rejects;
      in_.line = record_.line;
      b.line[b.count] = record_.line;
      const bool ok = accept_record();
      if (ok && record_.unescaped) own_unescaped(b);
      b.staged_ok[b.count] = ok ? 1 : 0;
      ++b.count;
    }
    b.end_pos = reader_.position();
    return b.count > 0;
  }

  // A value the reader unescaped lives in its scratch buffer until the next record: copy it
  // into the block. Values that are plain slices of the text stay views.
  void own_unescaped(Block& b) {
    auto own = [&](std::string_view& v) {
      if (v.empty() || (v.data() >= text_.data() && v.data() + v.size() <= text_.data() + text_.size()))
        return;
      b.owned.emplace_back(v);
      v = b.owned.back();
    };
    for (size_t c = 0; c < plans_.size(); ++c) {
      Staged& st = in_.row[c];
      if (!st.valid) continue;
      own(st.text);
      for (size_t e = st.elem_begin; e < st.elem_end; ++e) own(b.elems[e].text);
    }
  }

  // The block's rows in input order; false when a duplicate table key stops the load.
  bool consume(Block& b) {
    size_t next_reject = 0, next_quote = 0;
    out_.rejects = &table_.rejects;
    out_.elems = &b.elems;
    // Each row's texts are hashed and their slots prefetched kPrefetchRows rows before the row
    // is committed, so the interner's cache misses overlap with the work on the rows between;
    // then, for texts met before, their interned copies (see prefetch_text_positions).
    // typed_row(i): row i of the block if it exists and was typed without a reject, else null.
    auto typed_row = [&](size_t i) -> Staged* {
      return i < b.count && b.staged_ok[i] ? b.staged.data() + i * plans_.size() : nullptr;
    };
    for (size_t i = 0; i < kPrefetchRows; ++i)
      if (Staged* row = typed_row(i)) prefetch_texts(row);
    for (size_t i = 0; i < b.count; ++i) {
      if (Staged* row = typed_row(i + kPrefetchRows)) prefetch_texts(row);
      if (const Staged* row = typed_row(i + kPrefetchRows / 2)) prefetch_text_positions(row);
      if (const Staged* row = typed_row(i + 1)) prefetch_text_bytes(row);
      ++table_.read;
      if (!b.staged_ok[i]) {
        if (next_quote < b.quotes.size() && b.quotes[next_quote].reject == next_reject)
          quotes_.push_back({table_.rejects.size(), b.quotes[next_quote++].line});
        table_.rejects.push_back(std::move(b.rejects[next_reject++]));
        continue;
      }
      out_.row = b.staged.data() + i * plans_.size();
      out_.line = b.line[i];
      if (!set_pool_fits()) continue;
      if (table_.rows == kSampleRows) reserve_by_sample();
      if (!key_is_new()) {
        if (fatal_) return false;
        continue;
      }
      commit();
    }
    if (mapped_ && b.end_pos >= released_ + kReleaseStep) {
      mapped_->release(released_, b.end_pos);
      released_ = b.end_pos;
    }
    return true;
  }

  bool load_part() {
    struct Closed {  // however the load ends, a thread asking for a handover is answered
      Loader& loader;
      ~Closed() { loader.close_handover(); }
    } closed{*this};
    Block b;
    init_block(b);
    while (fill(b))
      if (!consume(b)) return false;
    // The last pages read go too: each part would otherwise keep up to kReleaseStep of the
    // file resident until the file is closed, and the parts are joined before that.
    if (mapped_) mapped_->release(released_, reader_.position());
    released_ = reader_.position();
    return true;
  }

  // Between two records: hands the unread end of this part over if a free thread asked for
  // it, then whether the part ends here (see at_part_end).
  bool handed_over_or_at_end() {
    if (handover_.asked.load(std::memory_order_relaxed)) hand_over();
    return at_part_end();
  }

  // A free thread asked for work (see PartRun::ask). The cut is made here, by the thread
  // reading the part, at the first line end past the middle of what it has not read yet: its
  // reader is between records and behind the cut, so it stops at the cut or reads over it
  // (a line end inside a quoted field), which at_part_end tells apart as for the first cuts.
  // The new part goes right after this one in the join order before the asker is answered,
  // so the joining thread cannot miss it. Too little left (under two min_part_bytes):
  // refused; the asker then waits for the parts to finish.
  void hand_over();
  // No more handovers from this part; a pending ask is refused.
  void close_handover();

  // Whether the reader is at the end of this loader's part: at its end offset, past nothing
  // but empty lines. A record read over that offset shows that the cut was not between two
  // records (a quoted field holds the line end it was made after): this part then reads on
  // to the end of the text, and the parts after it are dropped.
  bool at_part_end() {
    if (end_ == text_.size()) return false;  // the reader finds the end of the text itself
    size_t p = reader_.position();
    while (p < end_ && (text_[p] == '\n' || (text_[p] == '\r' && text_[p + 1] == '\n')))
      p += text_[p] == '\n' ? 1 : 2;
    if (p == end_) {
      end_line_ = reader_.line();
      for (size_t q = reader_.position(); q < end_; ++q) end_line_ += text_[q] == '\n';
      return true;
    }
    if (p > end_) {
      end_ = text_.size();
      drop_parts_after_this();
    }
    return false;
  }

  // This part read over its end into the parts after it, which started inside a record: it
  // reads on to the end of the text, and they are dropped (see PartRun).
  void drop_parts_after_this();

  // Whether this part was dropped, since a part before it read over its start.
  bool dropped() const;

  // Makes a part made ahead (see PartRun::ask) the part [begin, end) of the text.
  void place(size_t begin, size_t end) {
    reader_ = CsvReader(text_, begin, 1);
    begin_ = released_ = begin;
    end_ = end;
  }

  // Frees what a part's loader holds once the part is joined.
  void release() {
    table_ = Table{};
    key_seen_ = {};
    first_line_by_id_ = {};
    keys_ = {};
    duplicates_ = {};
    quotes_ = {};
  }

  // Parts are joined by their interned ids, which a duplicate key check of one text column
  // also uses; other keys (several columns, numbers) and a duplicate that stops the load are
  // left to one pass. Beyond 4 GiB of text a part's set pool could not be joined within the
  // 32-bit offsets of one column (each element takes two bytes of text at least).
  bool can_cut() const {
    const bool keys_fit = key_columns_.empty() || (single_text_key_ && reject_duplicate_keys_);
    return keys_fit && text_.size() < kMaxSetPool;
  }

  // Where parts 2..parts start: after the first line end at or past each even share of the
  // text after the header. Fewer when the text runs out of line ends.
  std::vector<size_t> cut_points(size_t parts) const {
    std::vector<size_t> cuts;
    const size_t from = begin_, size = text_.size();
    for (size_t k = 1; k < parts; ++k) {
      const size_t target = std::max(from + (size - from) / parts * k, cuts.empty() ? from : cuts.back());
      const void* nl = std::memchr(text_.data() + target, '\n', size - target);
      if (nl == nullptr) break;
      const size_t cut = static_cast<size_t>(static_cast<const char*>(nl) - text_.data()) + 1;
      if (cut >= size) break;
      cuts.push_back(cut);
    }
    return cuts;
  }

  Result<Table> run_parts(const std::vector<size_t>& cuts, size_t threads);
  void absorb(Part& part, uint64_t offset);

  Status check_schema() {
    for (const ColumnDecl& c : schema_.columns) {
      const TypeKind k = c.type.kind;
      const bool loadable = k == TypeKind::Bool || k == TypeKind::Integer ||
                            k == TypeKind::Number || k == TypeKind::Text || k == TypeKind::Date ||
                            (k == TypeKind::Set && c.type.elem == TypeKind::Text);
      if (!loadable)
        return Error{"column " + c.name + " of " + schema_.name + " has type " + type_name(c.type) +
                     ", which cannot be read from CSV"};
    }
    for (const int k : schema_.key) {
      if (k < 0 || static_cast<size_t>(k) >= schema_.columns.size())
        return Error{"key of " + schema_.name + " names no declared column"};
      if (schema_.columns[k].type.kind == TypeKind::Set)
        return Error{"key column " + schema_.columns[k].name + " of " + schema_.name + " is a set"};
    }
    return ok_status();
  }

  Status read_header() {
    if (!reader_.next(record_)) return Error{name_ + " is empty (expected a header row)"};
    if (record_.problem != CsvProblem::None)
      return Error{"bad header in " + name_ + " on line " + std::to_string(record_.line) + ": " +
                   problem_text(record_)};
    header_.reserve(record_.fields.size());
    std::unordered_map<std::string_view, size_t> positions;
    for (const CsvField& f : record_.fields) header_.emplace_back(f.value);
    for (size_t i = 0; i < header_.size(); ++i) {
      if (header_[i].empty()) continue;  // an unnamed extra column is never read
      auto [it, inserted] = positions.emplace(header_[i], i);
      if (!inserted)
        return Error{"duplicate column '" + shown(header_[i]) + "' in the header of " + name_ +
                     " (fields " + std::to_string(it->second + 1) + " and " +
                     std::to_string(i + 1) + ")"};
    }
    std::vector<std::string> missing;
    plans_.resize(schema_.columns.size());
    for (size_t c = 0; c < schema_.columns.size(); ++c) {
      auto it = positions.find(schema_.columns[c].name);
      if (it == positions.end()) {
        missing.push_back("'" + schema_.columns[c].name + "'");
        continue;
      }
      plans_[c].header_pos = it->second;
    }
    if (!missing.empty()) {
      std::string list;
      for (size_t i = 0; i < missing.size(); ++i) list += (i ? ", " : "") + missing[i];
      return Error{std::string(missing.size() == 1 ? "missing column " : "missing columns ") +
                   list + " in the header of " + name_};
    }
    return ok_status();
  }

  // `lines`: the records expected (an estimate), for reserving room.
  void prepare(size_t lines) {
    table_.name = schema_.name;
    table_.columns.resize(schema_.columns.size());
    std::vector<bool> is_key(schema_.columns.size(), false);
    for (const int k : schema_.key) is_key[k] = true;
    for (size_t c = 0; c < schema_.columns.size(); ++c) {
      ColumnPlan& p = plans_[c];
      const ColumnDecl& d = schema_.columns[c];
      p.index = c;
      p.decl = &d;
      p.kind = d.type.kind;
      // `wanted` shorter than the schema leaves the rest unwanted: minimise, don't guess.
      p.loaded = options_.wanted.empty() || (c < options_.wanted.size() && options_.wanted[c]) ||
                 is_key[c];
      p.required = d.required || is_key[c];
      p.domain = d.type.domain.get();
      if (p.domain) p.domain_ids.assign(p.domain->values.size(), Interner::kNone);
      table_.columns[c].kind = p.kind;
      table_.columns[c].loaded = p.loaded;
    }
    // Check fields left to right as they appear in the file, so a reject names the first
    // offending field a reader would see.
    order_.resize(plans_.size());
    for (size_t c = 0; c < plans_.size(); ++c) order_[c] = c;
    std::sort(order_.begin(), order_.end(),
              [&](size_t a, size_t b) { return plans_[a].header_pos < plans_[b].header_pos; });
    for (const int k : schema_.key) key_columns_.push_back(static_cast<size_t>(k));

    // Reserve once for the likely record count instead of regrowing a million times.
    // Capacity beyond the real count is never touched, so it costs address space, not memory.
    expected_rows_ = lines;
    table_.row_line.reserve(lines);
    for (size_t c = 0; c < plans_.size(); ++c)
      if (plans_[c].loaded) table_.columns[c].reserve(lines);
    single_text_key_ = key_columns_.size() == 1 && plans_[key_columns_[0]].kind == TypeKind::Text;
    for (size_t c = 0; c < plans_.size(); ++c)
      if (plans_[c].kind == TypeKind::Text && !plans_[c].domain && plans_[c].loaded)
        text_columns_.push_back(c);
    for (size_t c = 0; c < plans_.size(); ++c)
      if (plans_[c].kind == TypeKind::Set && plans_[c].loaded) set_columns_.push_back(c);
    texts_at_start_ = interner_.size();
    if (!key_columns_.empty() && !single_text_key_) keys_.reserve(lines);
  }

  // The count is estimated from the first MB rather than counted: counting would read the
  // whole file before its first row, and a mapped file would then sit in memory whole.
  size_t estimated_lines() const {
    constexpr size_t kSample = size_t{1} << 20;
    const size_t sample = std::min(text_.size(), kSample);
    size_t lines = 1;
    for (const char* p = text_.data(); (p = static_cast<const char*>(
                                            std::memchr(p, '\n', text_.data() + sample - p)));
         ++p)
      ++lines;
    if (sample == text_.size()) return lines;
    const size_t estimate =
        static_cast<size_t>(static_cast<double>(lines) * 1.1 *
                            (static_cast<double>(text_.size()) / static_cast<double>(sample))) +
        64;
    // A first MB of short lines (blank lines, broken rows) must not reserve for billions:
    // a record that fits has a byte per field at least (its commas and line end).
    return std::min(estimate, text_.size() / std::max<size_t>(1, header_.size()) + 64);
  }

  // After the first kSample rows the rate of new texts is known: room in the interner for
  // the rest of the file, so that its table does not regrow through every size (each
  // regrowth rehashes every text and briefly holds two tables). The rate only falls as the
  // file goes on (phones, households and registrars recur), so the rate of the first rows
  // overstates the rest: 3.65 new texts a row in the first 4,096 rows of the seeded 1M
  // file, 3.17 over the whole file. Reserving for all of that would double the table
  // (64 MB instead of 32 at 1M cases) for room never used; reserving for 3/4 of it fits
  // that file, and a file whose texts are all new regrows once, near its end.
  void reserve_by_sample() {
    const size_t per_row_x1000 = (interner_.size() - texts_at_start_) * 1000 / kSampleRows;
    const size_t rows = std::max(expected_rows_, kSampleRows);
    interner_.reserve(interner_.size() + (rows - kSampleRows) * per_row_x1000 / 1000 * 3 / 4);
    // Set pools, by the same sample: half as much again as its rate (address space, unless
    // used), since a pool that outgrows its room is copied whole into a block twice its size.
    // No more than the rest of the text could hold (an element takes two bytes at least, its
    // own and a separator), however large the sets of the first rows.
    const size_t left = text_.size() - reader_.position();
    for (const size_t c : set_columns_) {
      Column& col = table_.columns[c];
      const size_t used = col.set_pool().size();
      const size_t more = (rows - kSampleRows) / kSampleRows * used * 3 / 2;
      col.reserve_set_elements(used + std::min(more, left / 2));
    }
  }

  // Prefetches the interner slots of the free texts of a staged row whose columns miss the
  // small cache (case ids, phones, documents: mostly new texts), a few rows before the row
  // is committed (see consume). Their hashes were computed when the row was typed.
  void prefetch_texts(Staged* row) {
    for (const size_t c : text_columns_) {
      Staged& st = row[c];
      st.hashed = st.valid && st.domain_index < 0 && !plans_[c].cache.enabled();
      if (st.hashed) interner_.prefetch(st.hash);
    }
  }
  // Later stages for the same row (see Interner::prefetch_match_position): a text met before
  // (a registrar, an intermediary, a household) is compared with the interned one.
  void prefetch_text_positions(const Staged* row) const {
    for (const size_t c : text_columns_)
      if (row[c].hashed) interner_.prefetch_match_position(row[c].hash);
  }
  void prefetch_text_bytes(const Staged* row) const {
    for (const size_t c : text_columns_)
      if (row[c].hashed) interner_.prefetch_match_bytes(row[c].hash);
  }

  // Rejects of typing go to the block (in_), rejects of committing to the table (out_).
  void reject(std::string column, std::string reason) { reject(in_, std::move(column), std::move(reason)); }
  static void reject(Cursor& at, std::string column, std::string reason) {
    at.rejects->push_back(Reject{at.line, std::move(column), std::move(reason)});
  }

  // Shape, field count, then every declared field left to right; false after a reject.
  bool accept_record() {
    if (record_.problem != CsvProblem::None) {
      const size_t f = record_.problem_field;
      if (record_.problem == CsvProblem::UnterminatedQuote)
        in_quotes_->push_back({in_.rejects->size(), record_.problem_line});
      reject(f < header_.size() ? header_[f] : std::string(), problem_text(record_));
      return false;
    }
    if (record_.fields.size() != header_.size()) {
      reject({}, "expected " + std::to_string(header_.size()) + " fields, found " +
                     std::to_string(record_.fields.size()));
      return false;
    }
    const size_t elems_before = in_.elems->size();
    for (const size_t c : order_) {
      if (!stage_field(plans_[c], record_.fields[plans_[c].header_pos], in_.row[c])) {
        in_.elems->resize(elems_before);  // a rejected row leaves no elements behind
        return false;
      }
    }
    return true;
  }

  bool stage_field(ColumnPlan& p, const CsvField& f, Staged& s) {
    const std::string& col = p.decl->name;
    s.valid = false;
    s.i = 0;
    s.domain_index = -1;
    s.id = Interner::kNone;
    s.text = {};
    s.elem_begin = s.elem_end = 0;
    if (f.suspect) {
      // Bytes are checked in the raw field: quotes and commas are ASCII and never inside a
      // multi-byte sequence, so the raw range fails exactly where the value does, and its
      // offset is one the user can seek to in the file.
      const std::string_view raw = text_.substr(f.raw_begin, f.raw_end - f.raw_begin);
      const size_t nul = raw.find('\0');
      const size_t bad = detail::find_invalid_utf8(raw);
      if (nul != std::string_view::npos && nul <= bad) {
        reject(col, "NUL byte in column " + col + " at byte offset " +
                        std::to_string(f.raw_begin + nul));
        return false;
      }
      if (bad != std::string_view::npos) {
        reject(col, "invalid UTF-8 in column " + col + " at byte offset " +
                        std::to_string(f.raw_begin + bad));
        return false;
      }
    }
    const std::string_view v = f.value;
    s.text = v;  // as written: the value of a text, the spelling of a key in messages
    if (v.empty()) {
      if (p.kind == TypeKind::Set && p.decl->blank_is_empty) {  // "no vulnerability"
        s.valid = true;
        s.elem_begin = s.elem_end = static_cast<uint32_t>(in_.elems->size());
        return true;
      }
      if (p.required) {
        reject(col, "missing required field " + col);
        return false;
      }
      return true;  // missing, not zero
    }
    switch (p.kind) {
      case TypeKind::Bool:
        if (detail::parse_bool(v, s.i) != ParseStatus::Ok) {
          reject(col,
                 "bad boolean '" + shown(v) + "' in column " + col + " (expected true or false)");
          return false;
        }
        break;
      case TypeKind::Integer:
        switch (detail::parse_integer(v, s.i)) {
          case ParseStatus::Ok:
            break;
          case ParseStatus::OutOfRange:
            reject(col, "integer '" + shown(v) + "' in column " + col + " is out of range");
            return false;
          case ParseStatus::Bad:
            reject(col, "bad integer '" + shown(v) + "' in column " + col +
                            " (expected digits with an optional leading '-')");
            return false;
        }
        break;
      case TypeKind::Number:
        switch (detail::parse_number(v, s.d)) {
          case ParseStatus::Ok:
            break;
          case ParseStatus::OutOfRange:
            reject(col, "number '" + shown(v) + "' in column " + col + " is out of range");
            return false;
          case ParseStatus::Bad:
            reject(col, "bad number '" + shown(v) + "' in column " + col +
                            " (expected a decimal number such as -12.5)");
            return false;
        }
        break;
      case TypeKind::Date:
        if (auto day = parse_date(v)) {
          s.i = *day;
        } else {
          reject(col, "bad date '" + shown(v) + "' in column " + col + " (expected YYYY-MM-DD)");
          return false;
        }
        break;
      case TypeKind::Text:
        if (p.domain) {
          s.domain_index = domain_index_of(*p.domain, v);
          if (s.domain_index < 0) {
            reject(col, "bad value '" + shown(v) + "' in column " + col + " (expected " +
                            type_name(p.decl->type) + ")");
            return false;
          }
        } else {
          if (!p.decl->format.empty() && !fits_format(v, p.decl->format)) {
            reject(col, "bad value '" + shown(v) + "' in column " + col +
                            " (expected the format \"" + p.decl->format + "\")");
            return false;
          }
          // Hashed while the text is in cache; the slot is prefetched before committing.
          if (p.loaded) s.hash = Interner::hash(v);
        }
        break;
      case TypeKind::Set:
        if (!stage_set(p, v, s)) return false;
        break;
      default:
        return false;  // excluded by check_schema
    }
    s.valid = true;
    return true;
  }

  bool stage_set(ColumnPlan& p, std::string_view v, Staged& s) {
    const std::string& col = p.decl->name;
    std::vector<StagedElem>& elems = *in_.elems;
    s.elem_begin = static_cast<uint32_t>(elems.size());
    size_t from = 0;
    for (;;) {
      const size_t semi = v.find(';', from);
      const std::string_view e =
          v.substr(from, semi == std::string_view::npos ? std::string_view::npos : semi - from);
      if (e.empty()) {
        reject(col, "empty element in '" + shown(v) + "' in column " + col +
                        " (elements are separated by a single ';')");
        return false;
      }
      StagedElem elem{e, -1};
      if (p.domain) {
        elem.domain_index = domain_index_of(*p.domain, e);
        if (elem.domain_index < 0) {
          reject(col, "bad element '" + shown(e) + "' in column " + col + " (expected " +
                          type_name(p.decl->type) + ")");
          return false;
        }
      } else if (!p.decl->format.empty() && !fits_format(e, p.decl->format)) {
        reject(col, "bad element '" + shown(e) + "' in column " + col +
                        " (expected the format \"" + p.decl->format + "\")");
        return false;
      }
      if (elems.size() - s.elem_begin == detail::kMaxSetElements) {
        reject(col, "too many elements in column " + col + " (more than " +
                        std::to_string(detail::kMaxSetElements) + ")");
        return false;
      }
      elems.push_back(elem);
      if (semi == std::string_view::npos) break;
      from = semi + 1;
    }
    s.elem_end = static_cast<uint32_t>(elems.size());
    return true;
  }

  // A set column's pool must stay addressable by 32-bit offsets: checked when committing,
  // since the pool is the table's (the elements were typed, possibly on another thread).
  bool set_pool_fits() {
    for (const size_t c : set_columns_) {
      const ColumnPlan& p = plans_[c];
      const Staged& st = out_.row[c];
      if (!st.valid) continue;
      if (table_.columns[c].set_pool().size() + (st.elem_end - st.elem_begin) > kMaxSetPool) {
        const std::string& col = p.decl->name;
        reject(out_, col, "too many set elements in column " + col + " (a table holds at most " +
                              std::to_string(kMaxSetPool) + ")");
        return false;
      }
    }
    return true;
  }

  uint32_t text_id(ColumnPlan& p, std::string_view text, int domain_index) {
    if (domain_index >= 0) {
      uint32_t& id = p.domain_ids[domain_index];
      if (id == Interner::kNone) id = interner_.intern(p.domain->values[domain_index]);
      return id;
    }
    return p.cache.intern(text, interner_);
  }

  uint32_t text_id(ColumnPlan& p, const Staged& s) {
    if (s.hashed) return interner_.intern(s.text, s.hash);
    return text_id(p, s.text, s.domain_index);
  }

  std::string key_text() const {
    if (key_columns_.size() == 1) {
      const size_t c = key_columns_[0];
      return schema_.columns[c].name + " '" + shown(out_.row[c].text) +
             "'";
    }
    std::string names, values;
    for (size_t i = 0; i < key_columns_.size(); ++i) {
      const size_t c = key_columns_[i];
      names += (i ? ", " : "") + schema_.columns[c].name;
      values +=
          std::string(i ? ", '" : "'") + shown(out_.row[c].text) + "'";
    }
    return "key (" + names + ") (" + values + ")";
  }

  // Marks the single text key `id` as seen; false when it already was.
  bool first_sight_of_key(uint32_t id) {
    if (id / 64 >= key_seen_.size()) key_seen_.resize(interner_.size() / 64 + 1, 0);
    const uint64_t bit = uint64_t{1} << (id % 64);
    if (key_seen_[id / 64] & bit) return false;
    key_seen_[id / 64] |= bit;
    return true;
  }

  // The reason a row repeating the single text key `id` is rejected, over the rows so far.
  std::string repeated_key_reason(uint32_t id) {
    return duplicate_reason(schema_.columns[key_columns_[0]].name + " '" + shown(interner_.text(id)) + "'",
                            first_line_of(id));
  }

  static std::string duplicate_reason(const std::string& key, uint64_t first) {
    return "duplicate " + key + " (first on line " + std::to_string(first) + ")";
  }

  // True when the row's key is unseen (or there is no key). A repeat is rejected, or with
  // reject_duplicate_keys off, stops the load through fatal_.
  bool key_is_new() {
    if (key_columns_.empty()) return true;
    key_buf_.clear();
    for (const size_t c : key_columns_) {
      Staged& s = out_.row[c];
      int64_t v = plans_[c].kind == TypeKind::Number ? 0 : s.i;
      if (plans_[c].kind == TypeKind::Text) {
        s.id = text_id(plans_[c], s);  // the key is always loaded
        v = s.id;
      } else if (plans_[c].kind == TypeKind::Number) {
        const double d = s.d == 0 ? 0.0 : s.d;  // -0 and 0 are one key
        std::memcpy(&v, &d, sizeof v);
      }
      key_buf_.append(reinterpret_cast<const char*>(&v), sizeof v);
    }
    uint64_t first = 0;
    if (single_text_key_) {
      // One text key (case_id): its interned id indexes a bit per text, which spares a
      // second hash table as large as the file. Lines are only needed to report a
      // duplicate: they are looked up then, from the rows committed so far.
      const uint32_t id = out_.row[key_columns_[0]].id;
      if (first_sight_of_key(id)) return true;
      first = first_line_of(id);
    } else {
      auto [it, inserted] = keys_.try_emplace(key_buf_, out_.line);
      if (!inserted) first = it->second;
    }
    if (first == 0) return true;
    if (reject_duplicate_keys_) {
      if (single_text_key_) duplicates_.push_back({table_.rejects.size(), out_.row[key_columns_[0]].id});
      reject(out_, schema_.columns[key_columns_[0]].name, duplicate_reason(key_text(), first));
      intern_texts();
    } else {
      fatal_ = Error{"duplicate " + key_text() + " in " + name_ + " on lines " +
                     std::to_string(first) + " and " + std::to_string(out_.line)};
    }
    return false;
  }

  // The line of the committed row whose single text key is `id`. The map catches up with the
  // rows committed since the last duplicate, so many duplicates cost one pass, not one each.
  uint64_t first_line_of(uint32_t id) {
    const Column& keys = table_.columns[key_columns_[0]];
    for (; mapped_rows_ < table_.rows; ++mapped_rows_)
      first_line_by_id_.emplace(keys.text(mapped_rows_), table_.row_line[mapped_rows_]);
    auto it = first_line_by_id_.find(id);
    return it == first_line_by_id_.end() ? 0 : it->second;
  }

  // A row rejected for a repeated key has its texts interned all the same, in the order
  // commit() would: a part loaded apart from the rows before it cannot know that its key was
  // seen there and commits the row, so interning them here keeps every id the same however
  // the text is cut (a text no row holds costs its bytes, nothing else).
  void intern_texts() {
    for (size_t c = 0; c < plans_.size(); ++c) {
      ColumnPlan& p = plans_[c];
      const Staged& s = out_.row[c];
      if (!p.loaded || !s.valid) continue;
      if (p.kind == TypeKind::Text && s.id == Interner::kNone) text_id(p, s);
      if (p.kind == TypeKind::Set)
        for (size_t e = s.elem_begin; e < s.elem_end; ++e)
          text_id(p, (*out_.elems)[e].text, (*out_.elems)[e].domain_index);
    }
  }

  void commit() {
    for (size_t c = 0; c < plans_.size(); ++c) {
      ColumnPlan& p = plans_[c];
      if (!p.loaded) continue;
      const Staged& s = out_.row[c];
      Column& col = table_.columns[c];
      if (!s.valid) {
        col.append_missing();
        continue;
      }
      switch (p.kind) {
        case TypeKind::Bool:
          col.append_bool(s.i != 0);
          break;
        case TypeKind::Integer:
          col.append_integer(s.i);
          break;
        case TypeKind::Number:
          col.append_number(s.d);
          break;
        case TypeKind::Date:
          col.append_date(s.i);
          break;
        case TypeKind::Text:
          col.append_text(s.id != Interner::kNone ? s.id : text_id(p, s));
          break;
        case TypeKind::Set:
          commit_set(p, s, col);
          break;
        default:
          break;  // excluded by check_schema
      }
    }
    table_.row_line.push_back(out_.line);
    ++table_.rows;
  }

  void commit_set(ColumnPlan& p, const Staged& s, Column& col) {
    set_ids_.clear();
    for (size_t e = s.elem_begin; e < s.elem_end; ++e)
      set_ids_.push_back(text_id(p, (*out_.elems)[e].text, (*out_.elems)[e].domain_index));
    std::sort(set_ids_.begin(), set_ids_.end());
    set_ids_.erase(std::unique(set_ids_.begin(), set_ids_.end()), set_ids_.end());
    col.append_set(set_ids_.data(), set_ids_.size());
  }

  std::string_view text_;
  const std::string& name_;
  const TableSchema& schema_;
  Interner& interner_;
  const LoadOptions& options_;
  const bool reject_duplicate_keys_;
  CsvReader reader_;
  CsvRecord record_;
  std::vector<std::string> header_;
  std::vector<ColumnPlan> plans_;
  std::vector<size_t> order_;
  Cursor in_;   // the row being typed (filling)
  std::vector<OpenQuote>* in_quotes_ = nullptr;  // the filling block's
  Cursor out_;  // the row being committed (consuming)
  std::vector<size_t> key_columns_;
  std::string key_buf_;
  bool single_text_key_ = false;
  std::vector<uint64_t> key_seen_;  // single text key: one bit per text id, set once a key
  std::unordered_map<uint32_t, uint64_t> first_line_by_id_;  // built on the first duplicate
  size_t mapped_rows_ = 0;                                   // rows entered in that map
  std::unordered_map<std::string, uint64_t> keys_;  // other keys: bytes -> first line
  std::optional<Error> fatal_;
  Table table_;
  std::vector<uint32_t> set_ids_;     // one set's ids while they are sorted
  std::vector<size_t> text_columns_;  // loaded free-text columns (not enums), by schema index
  std::vector<size_t> set_columns_;   // loaded set columns: checked for each row committed
  static constexpr size_t kSampleRows = 4096;
  static constexpr size_t kPrefetchRows = 4;
  size_t expected_rows_ = 0;
  size_t texts_at_start_ = 0;
  static constexpr size_t kReleaseStep = size_t{16} << 20;
  const MappedFile* mapped_ = nullptr;
  size_t released_ = 0;  // the mapped file's pages before this offset are released
  // This loader's part of the text: [begin_, end_) (begin_: after the header for the first
  // part). end_ moves back when the part's unread end is handed over (hand_over), and on to
  // the end of the text when the part reads over it (at_part_end); only this loader's thread
  // touches it. When the text is loaded in parts, run_ is what the parts share and self_ this
  // loader's part (null for the first part, loaded by the loader the parts are joined to).
  size_t begin_ = 0;
  size_t end_ = 0;
  PartRun* run_ = nullptr;
  Part* self_ = nullptr;
  // What a free thread reads to choose whom to ask (refreshed at every block), and where it
  // asks: see PartRun::ask.
  std::atomic<size_t> unread_{0};
  struct Handover {
    std::atomic<bool> asked{false};
    std::mutex m;
    std::condition_variable cv;
    bool answered = false;  // under m, like the rest
    bool closed = false;
    std::unique_ptr<Part> offered;  // the asker's new part, still to be placed
    Part* given = nullptr;          // the part placed and taken into the join order, or null

    // Under m: whether a thread is waiting for an answer; if so, the answer is now "refused"
    // unless `given` is set before the asker is woken.
    bool take_ask() {
      if (!asked.load(std::memory_order_relaxed)) return false;
      asked.store(false, std::memory_order_relaxed);
      answered = true;
      given = nullptr;
      return true;
    }
  } handover_;
  // Rejects of a repeated single text key: where in table_.rejects, and the key's id. A part
  // after the first rewrites them when joined: the row first holding the key may then be in
  // an earlier part.
  struct Duplicate {
    size_t reject;
    uint32_t key;
  };
  std::vector<Duplicate> duplicates_;
  // Rejects of an unterminated quote (see OpenQuote), by their place in table_.rejects.
  std::vector<OpenQuote> quotes_;
  uint64_t end_line_ = 0;  // the reader's line at end_, once at_part_end found it there
  friend struct Part;
  friend struct PartRun;
};

// A part of a text after the first, loaded by whichever thread is free with an interner of
// its own: the texts it meets are in no shared table until it is joined, so the threads
// share nothing while they load (on a host whose cores are far apart, a row handed from one
// core to the other cost more than typing it).
struct Part {
  Interner interner;
  Loader loader;
  std::vector<Interner::HashedId> hashed;  // the part's texts, for the join (Interner::absorb)
  std::exception_ptr failure;
  bool claimed = false;  // under PartRun::m: a thread loads it, or has
  bool loaded = false;   // under PartRun::m
  // Set under PartRun::m, read by the part's loader between blocks without it.
  std::atomic<bool> dropped{false};

  Part(const Loader& whole, size_t begin, size_t end, PartRun& run)
      : loader(whole, interner, begin, end, run, *this) {}

  void run() {
    try {
      loader.load_part();  // no fatal error: parts are only cut where a duplicate is a reject
      if (dropped.load()) return;  // never joined (see PartRun::mark_loaded)
      hashed = interner.hashed_ids();
      // The join reads the part's texts and `hashed`, never its lookup table: freed now
      // rather than at the join, since the parts finish loading together and wait for it.
      interner.release_lookup();
    } catch (...) {  // std::bad_alloc: rethrown by the joining thread
      failure = std::current_exception();
    }
  }

  // Once joined, what the table did not take over goes (once dropped, everything it loaded);
  // the part itself stays until the load ends, since a thread choosing whom to ask for a
  // handover may still hold it.
  void release() {
    loader.release();
    interner = Interner{};  // its texts went to the joined interner, its lookup table did not
    hashed = {};
  }
};

// What the parts of one text share while they load. They are joined in text order: `order`
// holds the parts not joined yet in that order, all after the first part (the joining
// loader's own); a part handed over goes right after the part it came from. A thread with
// nothing to load asks the part with the most left to read for the end of it (a handover),
// so that the parts finish together even when the host gives one core less time than the
// other: the join waits for the last.
struct PartRun {
  Loader& first;
  size_t min_handover;  // a part keeps an unread end shorter than twice this
  LoadReport* report;
  std::mutex m;
  std::condition_variable part_loaded;  // or dropped
  std::list<Part*> order;
  std::vector<std::unique_ptr<Part>> parts;  // every part made, until the load ends

  // Where the parts after `self` begin in `order` (under m): null stands for the first part.
  std::list<Part*>::iterator after(Part* self) {
    return self ? std::next(std::find(order.begin(), order.end(), self)) : order.begin();
  }

  // A part no thread has claimed yet, else one handed over by a part being loaded; null when
  // there is neither (the caller is then done, or waits for the parts to finish). `spare`:
  // the caller's part made ahead for a handover, kept for the next ask if refused.
  Part* claim_or_ask(std::unique_ptr<Part>& spare) {
    Loader* busiest = nullptr;
    size_t most = 2 * min_handover;
    {
      std::lock_guard lock(m);
      for (Part* p : order) {
        if (!p->claimed && !p->dropped.load()) {
          p->claimed = true;
          return p;
        }
      }
      auto consider = [&](Loader& l) {
        const size_t unread = l.unread_.load(std::memory_order_relaxed);
        if (unread >= most) {
          most = unread;
          busiest = &l;
        }
      };
      consider(first);
      for (Part* p : order)
        if (p->claimed && !p->loaded && !p->dropped.load()) consider(p->loader);
    }
    if (!busiest) return nullptr;
    // Made here, on the idle thread, so that the part asked only cuts and places it.
    if (!spare) {
      try {
        spare = std::make_unique<Part>(first, 0, most / 2, *this);
      } catch (const std::bad_alloc&) {  // a handover only saves time: do without
        return nullptr;
      }
    }
    return ask(*busiest, spare);
  }

  // Asks `l` for the end of its part and waits for the answer, which comes between two of its
  // records (see Loader::hand_over), or when it stops. Null: refused, or another asked first.
  static Part* ask(Loader& l, std::unique_ptr<Part>& spare) {
    Loader::Handover& h = l.handover_;
    std::unique_lock lock(h.m);
    if (h.closed || h.answered || h.asked.load()) return nullptr;
    h.offered = std::move(spare);
    h.asked.store(true, std::memory_order_relaxed);
    h.cv.wait(lock, [&] { return h.answered; });
    h.answered = false;
    spare = std::move(h.offered);  // back unless taken
    return std::exchange(h.given, nullptr);
  }

  // A part dropped is never joined: what it loaded goes as soon as its thread is done with
  // it, here or in drop_after (whichever comes second, decided under m), not when the load
  // ends. (A part read over by the one before it may have loaded a quarter of the file.)
  void mark_loaded(Part& p) {
    bool drop;
    {
      std::lock_guard lock(m);
      p.loaded = true;
      drop = p.dropped.load();
    }
    part_loaded.notify_all();
    if (drop) p.release();
  }

  // Drops the parts after `self` (see Loader::drop_parts_after_this).
  void drop_after(Part* self) {
    std::vector<Part*> loaded_parts;
    {
      std::lock_guard lock(m);
      for (auto it = after(self); it != order.end(); ++it)
        if (!(*it)->dropped.exchange(true) && (*it)->loaded) loaded_parts.push_back(*it);
    }
    part_loaded.notify_all();  // the joining thread may be waiting for one of them
    for (Part* p : loaded_parts) p->release();
  }
};

void Loader::hand_over() {
  Handover& h = handover_;
  std::lock_guard lock(h.m);
  if (!h.take_ask()) return;  // refused unless a part is given below; the asker wakes either way
  struct Wake {
    std::condition_variable& cv;
    ~Wake() { cv.notify_all(); }
  } wake{h.cv};
  const size_t at = reader_.position();
  if (dropped() || at >= end_ || end_ - at < 2 * run_->min_handover) return;
  const size_t middle = at + (end_ - at) / 2;
  const void* nl = std::memchr(text_.data() + middle, '\n', end_ - middle);
  if (nl == nullptr) return;
  const size_t cut = static_cast<size_t>(static_cast<const char*>(nl) - text_.data()) + 1;
  if (cut >= end_) return;
  Part* part = h.offered.get();
  part->loader.place(cut, end_);
  part->claimed = true;  // by the asker
  {
    std::lock_guard order_lock(run_->m);
    if (self_ && self_->dropped.load()) return;  // dropped meanwhile: not worth splitting
    run_->parts.push_back(std::move(h.offered));
    run_->order.insert(run_->after(self_), part);
    if (run_->report) ++run_->report->handovers;
  }
  end_ = cut;
  unread_.store(cut - at, std::memory_order_relaxed);
  h.given = part;
}

void Loader::close_handover() {
  Handover& h = handover_;
  bool asked;
  {
    std::lock_guard lock(h.m);
    h.closed = true;
    unread_.store(0, std::memory_order_relaxed);
    asked = h.take_ask();
  }
  if (asked) h.cv.notify_all();
}

void Loader::drop_parts_after_this() { run_->drop_after(self_); }

bool Loader::dropped() const { return self_ && self_->dropped.load(std::memory_order_relaxed); }

// This loader reads the first part; the others are claimed in order by whichever thread is
// free, this one included, and handed over (see PartRun); this one joins each to the table
// in order as soon as it is loaded, loading or asking for work while it waits.
Result<Table> Loader::run_parts(const std::vector<size_t>& cuts, size_t threads) {
  PartRun run{*this, std::max<size_t>(1, options_.min_part_bytes), options_.report, {}, {}, {}, {}};
  run_ = &run;
  end_ = cuts[0];
  const size_t n = cuts.size();  // parts after the first
  for (size_t k = 0; k < n; ++k) {
    run.parts.push_back(std::make_unique<Part>(*this, cuts[k], k + 1 < n ? cuts[k + 1] : text_.size(), run));
    run.order.push_back(run.parts.back().get());
  }
  auto load = [&](Part& p) {
    p.run();
    run.mark_loaded(p);
  };
  std::vector<std::thread> workers;
  auto stop = [&] {  // parts not joined (dropped, or after a failure) are not worth finishing
    {
      std::lock_guard lock(run.m);
      for (const auto& p : run.parts) p->dropped.store(true);
    }
    for (std::thread& t : workers) t.join();
    workers.clear();
    run_ = nullptr;
  };
  try {
    // Parts are claimed from a queue: a thread refused (base/threads.h) leaves its parts to
    // this one and to those started.
    start_threads(workers, std::min(threads - 1, n), [&](size_t) {
      return [&] {
        std::unique_ptr<Part> spare;
        while (Part* p = run.claim_or_ask(spare)) load(*p);
      };
    });
    load_part();  // no fatal error: see can_cut
    uint64_t begin_line = end_line_;  // of the next part, over the whole text
    std::unique_ptr<Part> spare;
    for (;;) {
      Part* next = nullptr;
      {
        std::lock_guard lock(run.m);
        if (run.order.empty()) break;
        next = run.order.front();
      }
      for (;;) {  // until it is loaded (or dropped), loading what there is meanwhile
        {
          std::lock_guard lock(run.m);
          if (next->loaded || next->dropped.load()) break;
        }
        if (Part* p = run.claim_or_ask(spare)) {
          load(*p);
          continue;
        }
        std::unique_lock lock(run.m);
        run.part_loaded.wait(lock, [&] { return next->loaded || next->dropped.load(); });
        break;
      }
      // Every part before this one is joined: whether this one is dropped is known now.
      if (next->dropped.load()) break;
      if (next->failure) std::rethrow_exception(next->failure);
      const uint64_t offset = begin_line - 1;
      absorb(*next, offset);
      begin_line = next->loader.end_line_ + offset;
      next->release();
      {
        std::lock_guard lock(run.m);
        run.order.pop_front();
      }
    }
  } catch (...) {  // out of memory, or no thread to be had: stop the others first
    stop();
    throw;
  }
  stop();
  // The parts' blocks under 2 MiB came from malloc on the threads that loaded them and are
  // all freed now; malloc keeps such memory for reuse, and nothing after the load reuses it
  // (the indexes take large blocks of their own).
  ::malloc_trim(0);
  return std::move(table_);
}

// Joins the next part's rows to this loader's, as if it had read on through the part: the
// part's texts are interned here in the order the part met them, which is the order one pass
// would have met them in, so every id is the one a single pass gives. Its lines, counted from
// its start, are shifted by `offset`, the lines before it. A row whose key was seen in an
// earlier part is rejected as a duplicate here, and the part's own duplicate rejects name the
// key's first line over the whole text.
void Loader::absorb(Part& part, uint64_t offset) {
  Loader& p = part.loader;
  // While this thread joins the part's texts, the other (idle until the columns are joined)
  // makes the room the part's rows will take in the columns resident: the kernel zeroes those
  // pages there instead of in the appends. It reads nothing the text join writes.
  std::vector<uint32_t> ids;
  run_beside(
      [&] {
        for (size_t c = 0; c < plans_.size(); ++c)
          if (plans_[c].loaded) table_.columns[c].make_room_resident(p.table_.rows);
      },
      [&] { interner_.absorb(std::move(part.interner), part.hashed, ids); });

  Table& from = p.table_;
  for (uint64_t& line : from.row_line) line += offset;
  for (Reject& r : from.rejects) r.line += offset;
  for (const OpenQuote& q : p.quotes_) from.rejects[q.reject].reason = unterminated_quote_text(q.line + offset);
  std::vector<size_t> skip;  // rows of the part whose key an earlier part holds, ascending
  std::vector<Reject> repeated;
  if (single_text_key_) {
    const size_t kc = key_columns_[0];
    const Column& keys = from.columns[kc];
    for (size_t r = 0; r < from.rows; ++r) {
      const uint32_t id = ids[keys.text(r)];
      if (first_sight_of_key(id)) continue;
      skip.push_back(r);
      repeated.push_back(Reject{from.row_line[r], schema_.columns[kc].name, repeated_key_reason(id)});
    }
  }

  // The columns are appended on two threads (each column touches only its own storage):
  // the join is work the other core would otherwise wait through. Alternate columns, by
  // schema order, go to the helper.
  auto append = [&](size_t c) {
    table_.columns[c].append_rows(from.columns[c], ids, skip);
    from.columns[c] = Column{};
  };
  std::vector<size_t> loaded;
  for (size_t c = 0; c < plans_.size(); ++c)
    if (plans_[c].loaded) loaded.push_back(c);
  run_beside([&] { for (size_t i = 1; i < loaded.size(); i += 2) append(loaded[i]); },
             [&] { for (size_t i = 0; i < loaded.size(); i += 2) append(loaded[i]); });
  size_t next_skip = 0;
  for (size_t r = 0; r < from.rows; ++r) {
    if (next_skip < skip.size() && skip[next_skip] == r) {
      ++next_skip;
      continue;
    }
    table_.row_line.push_back(from.row_line[r]);
  }
  table_.rows += from.rows - skip.size();
  table_.read += from.read;

  // Now that the part's rows are here, first_line_of sees every row before each duplicate.
  for (const Duplicate& d : p.duplicates_) from.rejects[d.reject].reason = repeated_key_reason(ids[d.key]);
  const size_t before = table_.rejects.size();
  table_.rejects.resize(before + from.rejects.size() + repeated.size());
  std::merge(std::make_move_iterator(from.rejects.begin()), std::make_move_iterator(from.rejects.end()),
             std::make_move_iterator(repeated.begin()), std::make_move_iterator(repeated.end()),
             table_.rejects.begin() + static_cast<std::ptrdiff_t>(before),
             [](const Reject& a, const Reject& b) { return a.line < b.line; });
}

// The whole file in one buffer, without zero-filling it first.
struct FileBytes {
  std::unique_ptr<char[]> data;
  size_t size = 0;
};

Error io_error(const char* what, const std::string& path, int err) {
  return Error{std::string(what) + " '" + path + "': " + std::generic_category().message(err)};
}

Result<FileBytes> read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open", path, errno);
  struct stat st {};
  size_t capacity = 1 << 16;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
    capacity = static_cast<size_t>(st.st_size) + 1;  // +1: EOF is seen without regrowing
  FileBytes file;
  file.data = std::make_unique_for_overwrite<char[]>(capacity);
  for (;;) {
    if (file.size == capacity) {  // the file grew, or is a pipe
      auto bigger = std::make_unique_for_overwrite<char[]>(capacity * 2);
      std::memcpy(bigger.get(), file.data.get(), file.size);
      file.data = std::move(bigger);
      capacity *= 2;
    }
    const ssize_t got = ::read(fd, file.data.get() + file.size, capacity - file.size);
    if (got < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return io_error("cannot read", path, err);
    }
    if (got == 0) break;
    file.size += static_cast<size_t>(got);
  }
  ::close(fd);
  return file;
}

}  // namespace

Result<Table> load_csv(const std::string& path, const TableSchema& schema, Interner& interner,
                       const LoadOptions& options, bool reject_duplicate_keys) {
  // Large regular files are mapped; small ones, pipes and anything mmap refuses are read.
  constexpr size_t kMapAtLeast = size_t{1} << 20;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    struct stat st {};
    std::unique_ptr<MappedFile> mapped;
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
        static_cast<size_t>(st.st_size) >= kMapAtLeast)
      mapped = MappedFile::open(fd, static_cast<size_t>(st.st_size));  // takes fd
    else
      ::close(fd);
    if (mapped)
      return Loader(mapped->text(), path, schema, interner, options, reject_duplicate_keys,
                    mapped.get())
          .run(parts_for(options, mapped->text().size()));
  }
  auto file = read_file(path);
  if (!file.ok()) return file.error();
  const std::string_view text(file->data.get(), file->size);
  return Loader(text, path, schema, interner, options, reject_duplicate_keys)
      .run(parts_for(options, text.size()));
}

Result<Table> load_csv_text(const std::string& text, const std::string& name_for_errors,
                            const TableSchema& schema, Interner& interner,
                            const LoadOptions& options, bool reject_duplicate_keys) {
  return Loader(text, name_for_errors, schema, interner, options, reject_duplicate_keys)
      .run(parts_for(options, text.size()));
}

}  // namespace crible::data
