// The checker: resolves every name, gives every expression a type and a "may be unknown"
// flag, inlines user functions, classifies aggregate filters for indexing, and reports all
// problems of a file in one pass.
#include "check/check.h"

#include <fmt/format.h>

#include <sys/resource.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "base/date.h"
#include "check/detail/lint.h"

namespace crible::check {
namespace {

using syntax::ExprKind;

bool is_text(const Type& t) { return t.kind == TypeKind::Text; }
bool is_set(const Type& t) { return t.kind == TypeKind::Set; }

// The names an expression reads, in the order first read, each once: a rule's evidence.
struct Read {
  std::string name;
  int32_t node = -1;
  int32_t definition = -1;  // the definition read, if it is one
};
struct Reads {
  std::vector<Read> items;
  std::unordered_set<std::string> seen;
  // While checking a definition: only what its own body reads. A rule's evidence takes in
  // what its definitions read, and what theirs read, when it reads them (expand_definition).
  bool direct_only = false;
};

struct Scope {
  // Aggregate row scope: -2 = none, -1 = cases, >= 0 = table index.
  int32_t row_source = -2;
  bool allow_outcomes = false;
  bool allow_scores = false;
  int32_t score_limit = 0;  // scores [0, limit) may be referenced
  const std::map<std::string, int32_t>* lets = nullptr;        // name -> node (Let)
  const std::map<std::string, int32_t>* fn_params = nullptr;   // name -> node (argument)
  bool in_function = false;
  Reads* evidence = nullptr;  // names read, in order
};

class Checker {
 public:
  Checker(const syntax::Ruleset& rules, const SourceSet& sources)
      : rules_(rules), sources_(sources) {}

  Staged<TypedRuleset> run() {
    stack_base_ = static_cast<const char*>(__builtin_frame_address(0));
    struct rlimit rl {};
    size_t stack = 8u << 20;
    if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
      stack = std::min<size_t>(rl.rlim_cur, size_t{64} << 20);
    stack_budget_ = stack / 4 * 3;
    schemas();
    parameters_and_constants();
    index_definitions();
    for (size_t i = 0; i < rules_.definitions.size(); ++i) definition(static_cast<int32_t>(i));
    criteria_and_signals();
    scores();
    disposition();
    mark_fields_read();
    if (!diags_.has_errors()) bound_evaluation_depth();
    if (stack_error_) diags_.append({*stack_error_});
    // Lints only on a file without errors: an unresolved name would make its target look
    // unused, and a broken condition says nothing about which cases it decides.
    if (!diags_.has_errors()) {
      unused();
      detail::lint_conditions(r_, [this](Span s) { return source_text(s); }, diags_);
    }
    Staged<TypedRuleset> out;
    if (!diags_.has_errors()) out.value = std::move(r_);
    out.diagnostics = diags_.take_sorted();
    cap(out.diagnostics);
    return out;
  }

  // Past this many, more diagnostics help no one (the author fixes the first ones and checks
  // again), and printing a hundred thousand of them, each with its source line, takes minutes.
  static constexpr size_t kMaxDiagnostics = 100;
  static void cap(std::vector<Diagnostic>& list) {
    if (list.size() <= kMaxDiagnostics) return;
    size_t errors = 0, warnings = 0;
    for (size_t i = kMaxDiagnostics; i < list.size(); ++i)
      (list[i].severity == Severity::Error ? errors : warnings)++;
    Span at = list[kMaxDiagnostics].span;
    at.end = at.begin;
    list.resize(kMaxDiagnostics);
    std::string more = errors && warnings ? fmt::format("{} more errors and {} more warnings", errors, warnings)
                       : errors          ? fmt::format("{} more error{}", errors, errors == 1 ? "" : "s")
                                         : fmt::format("{} more warning{}", warnings, warnings == 1 ? "" : "s");
    Diagnostic d;
    d.severity = errors ? Severity::Error : Severity::Warning;
    d.code = "C0001";
    d.span = at;
    d.message = fmt::format("too many problems: {} not shown", more);
    d.hint = "fix the ones above and check again";
    list.push_back(std::move(d));
  }

 private:
  // ---------------------------------------------------------------- helpers
  // "Did you mean" for an unknown name. Past twice the diagnostics shown, no more hints are
  // sought: those errors are cut from the output anyway (sorted by position, the ones found
  // this late are nearly always past the first hundred), and a file with thousands of names
  // and thousands of typos took 17 s comparing each typo with each name.
  bool hints_wanted() const { return diags_.error_count() <= 2 * kMaxDiagnostics; }
  std::string hint_name(const std::string& name, const std::vector<std::string>& candidates) const {
    return hints_wanted() ? closest_name(name, candidates) : std::string();
  }
  std::string source_text(Span s) const {
    if (s.file >= sources_.size()) return {};
    const std::string& t = sources_.file(s.file).text;
    if (s.begin >= t.size() || s.end > t.size() || s.end < s.begin) return {};
    std::string out;
    bool space = false;
    for (uint32_t i = s.begin; i < s.end; ++i) {  // collapse line breaks and runs of spaces
      char c = t[i];
      if (c == '\n' || c == '\r' || c == ' ' || c == '\t') {
        space = true;
        continue;
      }
      if (space && !out.empty()) out += ' ';
      space = false;
      out += c;
    }
    return out;
  }

  int32_t add(Node n) {
    r_.nodes.push_back(n);
    return static_cast<int32_t>(r_.nodes.size() - 1);
  }
  int32_t literal_node(Literal lit, Type t, Span span) {
    r_.literals.push_back(std::move(lit));
    Node n;
    n.op = Op::Literal;
    n.type = t;
    n.nullable = r_.literals.back().kind == TypeKind::Error;
    n.index = static_cast<int32_t>(r_.literals.size() - 1);
    n.span = span;
    return add(n);
  }
  int32_t error_node(Span span) {
    Node n;
    n.op = Op::Literal;
    n.type = Type::of(TypeKind::Error);
    n.span = span;
    r_.literals.push_back({});
    n.index = static_cast<int32_t>(r_.literals.size() - 1);
    return add(n);
  }
  const Node& node(int32_t i) const { return r_.nodes[i]; }
  bool failed(int32_t i) const { return node(i).type.kind == TypeKind::Error; }

  std::optional<Type> type_from(const syntax::TypeSyntax& t, bool allow_set) {
    using F = syntax::TypeSyntax::Form;
    static const std::vector<std::string> kNames = {"text", "integer", "number", "bool", "date",
                                                    "duration"};
    auto named = [&](const std::string& n) -> std::optional<TypeKind> {
      if (n == "text") return TypeKind::Text;
      if (n == "integer") return TypeKind::Integer;
      if (n == "number") return TypeKind::Number;
      if (n == "bool") return TypeKind::Bool;
      if (n == "date") return TypeKind::Date;
      if (n == "duration") return TypeKind::Duration;
      return std::nullopt;
    };
    auto enum_domain = [&](const std::vector<std::string>& values) {
      auto d = std::make_shared<EnumDomain>();
      std::set<std::string> seen;
      for (const auto& v : values) {
        if (!seen.insert(v).second)
          diags_.error("C0105", t.span, fmt::format("'{}' is listed twice", v));
        d->values.push_back(v);
      }
      return d;
    };
    switch (t.form) {
      case F::Named: {
        auto k = named(t.name);
        if (!k) {
          std::string near = hint_name(t.name, kNames);
          diags_.error("C0101", t.span, fmt::format("unknown type '{}'", t.name),
                       near.empty() ? "types are text, integer, number, bool, date, one of {...}, set of text"
                                    : fmt::format("did you mean '{}'?", near));
          return std::nullopt;
        }
        return Type::of(*k);
      }
      case F::Enum: {
        Type ty = Type::of(TypeKind::Text);
        ty.domain = enum_domain(t.values);
        return ty;
      }
      case F::Set:
      case F::SetEnum: {
        if (!allow_set) {
          diags_.error("C0102", t.span, "a set is not allowed here");
          return std::nullopt;
        }
        if (t.form == F::Set && t.name != "text") {
          diags_.error("C0103", t.span, fmt::format("sets of {} are not supported", t.name),
                       "use `set of text` or `set of {\"a\", \"b\"}`");
          return std::nullopt;
        }
        Type ty = Type::set_of(TypeKind::Text);
        if (t.form == F::SetEnum) ty.domain = enum_domain(t.values);
        return ty;
      }
    }
    return std::nullopt;
  }

  // ---------------------------------------------------------------- schemas
  // `format "AAA"`: the shape of a free text (or of each element of a set of free texts).
  // A `one of` list already says which texts are allowed, and other types have their own
  // syntax, so a format anywhere else would be a second rule that the reader must reconcile.
  void column_format(const syntax::ColumnOptionSyntax& o, ColumnDecl& col) {
    if (!o.value || o.value->empty()) {
      diags_.error("C0113", o.span, "`format` needs the shape in quotes",
                   "for example `format \"AAA\"`: A an uppercase letter, a a lowercase letter, 9 "
                   "a digit, any other character itself");
      return;
    }
    const Type& t = col.type;
    const bool free_text = t.kind == TypeKind::Text && !t.domain;
    const bool free_set = t.kind == TypeKind::Set && !t.domain;
    if (!free_text && !free_set) {
      if (t.kind == TypeKind::Error) return;  // the type's own error is enough
      diags_.error("C0114", o.span,
                   fmt::format("`format` applies only to text and set of text columns, not to {}",
                               t.domain ? std::string("a `one of` list") : type_name(t)),
                   t.domain ? "a `one of` list already says which values are allowed"
                            : "the type already says how a value must be written");
      return;
    }
    if (!col.format.empty()) {
      diags_.error("C0113", o.span, fmt::format("column '{}' has two formats", col.name),
                   "keep one");
      return;
    }
    col.format = *o.value;
  }

  void schemas() {
    bool have_cases = false;
    std::map<std::string, Span> table_names;
    for (const auto& s : rules_.schemas) {
      TableSchema ts;
      ts.name = s.name;
      ts.span = s.span;
      std::map<std::string, Span> seen;
      for (const auto& c : s.columns) {
        ColumnDecl col;
        col.name = c.name;
        col.span = c.span;
        if (auto prev = seen.find(c.name); prev != seen.end()) {
          auto& d = diags_.error("C0104", c.span, fmt::format("column '{}' is declared twice", c.name));
          d.notes.push_back({prev->second, "first declared here"});
        }
        seen[c.name] = c.span;
        auto t = type_from(c.type, true);
        col.type = t ? *t : Type::of(TypeKind::Error);
        if (col.type.kind == TypeKind::Duration) {
          diags_.error("C0103", c.type.span, "a column cannot hold a duration",
                       "store a number of days as an integer");
        }
        for (const auto& o : c.options) {
          static const std::vector<std::string> kOptions = {"key", "required", "personal",
                                                            "blank means none", "format"};
          if (o.text == "format") {
            column_format(o, col);
            continue;
          }
          if (o.value) {
            diags_.error("C0113", o.span, fmt::format("the option '{}' takes no text", o.text),
                         "only `format` is followed by a text, as in `format \"AAA\"`");
          }
          if (o.text == "key") col.key = true;
          else if (o.text == "required") col.required = true;
          else if (o.text == "personal") col.personal = true;
          else if (o.text == "blank means none") {
            if (col.type.kind != TypeKind::Set)
              diags_.error("C0106", o.span, "`blank means none` applies only to sets",
                           "a blank field of any other type is missing");
            col.blank_is_empty = true;
          } else {
            std::string near = hint_name(o.text, kOptions);
            diags_.error("C0107", o.span, fmt::format("unknown column option '{}'", o.text),
                         near.empty() ? "options are key, required, personal, blank means none, format"
                                      : fmt::format("did you mean '{}'?", near));
          }
        }
        if (col.key) col.required = true;
        if (col.key) ts.key.push_back(static_cast<int>(ts.columns.size()));
        ts.columns.push_back(col);
      }
      if (s.is_cases) {
        if (have_cases) {
          diags_.error("C0108", s.span, "the case schema is declared twice",
                       "keep one `cases ... end` block");
          continue;
        }
        have_cases = true;
        if (ts.key.size() != 1) {
          diags_.error("C0109", s.span,
                       ts.key.empty() ? "the case schema has no key column"
                                      : "the case schema has more than one key column",
                       "mark exactly one column, e.g. `case_id: text, key`");
        } else {
          r_.case_key = ts.key[0];
        }
        r_.cases = std::move(ts);
      } else {
        if (auto prev = table_names.find(s.name); prev != table_names.end()) {
          auto& d = diags_.error("C0110", s.span, fmt::format("table '{}' is declared twice", s.name));
          d.notes.push_back({prev->second, "first declared here"});
          continue;
        }
        table_names[s.name] = s.span;
        if (ts.columns.empty())
          diags_.error("C0111", s.span, fmt::format("table '{}' has no columns", s.name));
        r_.tables.push_back(std::move(ts));
      }
    }
    if (!have_cases) {
      diags_.error("C0112", {rules_.file, 0, 0}, "the ruleset has no case schema",
                   "declare the columns of the case file in a `cases ... end` block, one of them "
                   "marked `key`");
      r_.cases.name = "cases";
    }
    r_.case_fields_read.assign(r_.cases.columns.size(), false);
    r_.row_fields_read.assign(r_.cases.columns.size(), false);
    r_.table_fields_read.resize(r_.tables.size());
    for (size_t i = 0; i < r_.tables.size(); ++i)
      r_.table_fields_read[i].assign(r_.tables[i].columns.size(), false);
  }

  // ---------------------------------------------------------------- constants
  // Constants and parameter defaults must be literal values (or sets of them).
  std::optional<Literal> constant_value(const syntax::Expr& e, Type& type) {
    switch (e.kind) {
      case ExprKind::Bool:
        type = Type::of(TypeKind::Bool);
        return Literal{TypeKind::Bool, e.bool_value ? 1 : 0, 0, {}, {}};
      case ExprKind::Int:
        type = Type::of(TypeKind::Integer);
        return Literal{TypeKind::Integer, e.int_value, 0, {}, {}};
      case ExprKind::Decimal:
        type = Type::of(TypeKind::Number);
        return Literal{TypeKind::Number, 0, e.number_value, {}, {}};
      case ExprKind::Text:
        type = Type::of(TypeKind::Text);
        return Literal{TypeKind::Text, 0, 0, e.name, {}};
      case ExprKind::Date: {
        auto d = parse_date(e.name);
        if (!d) {
          diags_.error("C0201", e.span, fmt::format("'{}' is not a calendar date", e.name),
                       "dates are written YYYY-MM-DD");
          return std::nullopt;
        }
        type = Type::of(TypeKind::Date);
        return Literal{TypeKind::Date, *d, 0, {}, {}};
      }
      case ExprKind::Negate: {
        if (e.args.size() == 1 && (e.args[0]->kind == ExprKind::Int || e.args[0]->kind == ExprKind::Decimal)) {
          auto v = constant_value(*e.args[0], type);
          if (v) {
            v->i = -v->i;
            v->d = -v->d;
          }
          return v;
        }
        break;
      }
      case ExprKind::SetLiteral: {
        Literal lit;
        lit.kind = TypeKind::Set;
        for (const auto& x : e.args) {
          if (x->kind != ExprKind::Text) {
            diags_.error("C0202", x->span, "a constant set holds texts in quotes");
            return std::nullopt;
          }
          lit.set.push_back(x->name);
        }
        std::sort(lit.set.begin(), lit.set.end());
        lit.set.erase(std::unique(lit.set.begin(), lit.set.end()), lit.set.end());
        type = Type::set_of(TypeKind::Text);
        return lit;
      }
      default:
        break;
    }
    diags_.error("C0203", e.span, "this must be a literal value",
                 "a constant or a parameter default is a number, a date, a text, true/false or a set of texts");
    return std::nullopt;
  }

  void parameters_and_constants() {
    std::map<std::string, Span> seen;
    auto declare = [&](const std::string& name, Span span) {
      if (auto prev = seen.find(name); prev != seen.end()) {
        auto& d = diags_.error("C0301", span, fmt::format("'{}' is declared twice", name));
        d.notes.push_back({prev->second, "first declared here"});
        return false;
      }
      seen[name] = span;
      return true;
    };
    for (const auto& p : rules_.parameters) {
      if (!declare(p.name, p.span)) continue;
      Parameter param;
      param.name = p.name;
      param.span = p.span;
      auto t = type_from(p.type, true);
      param.type = t ? *t : Type::of(TypeKind::Error);
      if (p.default_value) {
        Type vt;
        auto v = constant_value(*p.default_value, vt);
        if (v && t && !(vt == *t) && !(t->is_numeric() && vt.is_numeric())) {
          diags_.error("C0204", p.default_value->span,
                       fmt::format("the default is {}, but the parameter is {}", type_name(vt), type_name(*t)),
                       "give a default of the parameter's type, or change its type");
        } else if (v) {
          if (t && t->kind == TypeKind::Number && v->kind == TypeKind::Integer) {
            v->kind = TypeKind::Number;
            v->d = static_cast<double>(v->i);
          }
          param.default_value = v;
        }
      }
      param_index_[p.name] = static_cast<int32_t>(r_.parameters.size());
      r_.parameters.push_back(std::move(param));
    }
    for (const auto& c : rules_.constants) {
      if (!declare(c.name, c.span)) continue;
      Constant k;
      k.name = c.name;
      k.span = c.span;
      if (c.value) {
        auto v = constant_value(*c.value, k.type);
        if (v) k.value = *v;
        else k.type = Type::of(TypeKind::Error);
      }
      constant_index_[c.name] = static_cast<int32_t>(r_.constants.size());
      r_.constants.push_back(std::move(k));
    }
  }

  // ---------------------------------------------------------------- definitions
  enum class DefState { NotYet, InProgress, Done };
  void index_definitions() {
    std::map<std::string, Span> seen;
    for (size_t i = 0; i < rules_.definitions.size(); ++i) {
      const auto& d = rules_.definitions[i];
      if (auto prev = seen.find(d.name); prev != seen.end()) {
        auto& diag = diags_.error("C0301", d.span, fmt::format("'{}' is defined twice", d.name));
        diag.notes.push_back({prev->second, "first defined here"});
        continue;
      }
      if (auto p = param_index_.find(d.name); p != param_index_.end()) {
        auto& diag = diags_.error("C0302", d.span, fmt::format("'{}' is already a parameter", d.name),
                                  "choose another name for the definition");
        diag.notes.push_back({r_.parameters[p->second].span, "declared here"});
        continue;
      }
      if (auto k = constant_index_.find(d.name); k != constant_index_.end()) {
        auto& diag = diags_.error("C0302", d.span, fmt::format("'{}' is already a constant", d.name),
                                  "choose another name for the definition");
        diag.notes.push_back({r_.constants[k->second].span, "declared here"});
        continue;
      }
      if (int col = r_.cases.find(d.name); col >= 0) {
        auto& diag = diags_.error("C0303", d.span, fmt::format("'{}' is already a case field", d.name),
                                  "choose another name for the definition");
        diag.notes.push_back({r_.cases.columns[col].span, "declared here"});
        continue;
      }
      seen[d.name] = d.span;
      if (d.is_function) function_index_[d.name] = static_cast<int32_t>(i);
      else definition_index_[d.name] = static_cast<int32_t>(i);
    }
    def_state_.assign(rules_.definitions.size(), DefState::NotYet);
    def_slot_.assign(rules_.definitions.size(), -1);
    def_reads_.resize(rules_.definitions.size());
  }

  // Checks a value definition (no parameters) on first use; returns its definition slot.
  int32_t definition(int32_t i) {
    const auto& d = rules_.definitions[i];
    // Checking a definition checks the ones it uses first, recursively: bound the depth so a
    // hostile chain of thousands of definitions is an error, not a stack overflow.
    if (def_state_[i] == DefState::NotYet && def_depth_ + inline_depth_ >= kMaxDefinitionDepth) {
      diags_.error("C0306", d.span,
                   fmt::format("'{}' is reached through more than {} nested definitions", d.name,
                               kMaxDefinitionDepth),
                   "a definition may use others only this deep: flatten the chain");
      return -1;
    }
    struct Depth {
      int& n;
      explicit Depth(int& m) : n(++m) {}
      ~Depth() { --n; }
    } depth(def_depth_);
    if (d.is_function) {
      if (def_state_[i] == DefState::NotYet) {
        def_state_[i] = DefState::Done;
        context_.push_back({Entity::Definition, i});
        check_function_body(d);
        context_.pop_back();
      }
      return -1;
    }
    if (def_state_[i] == DefState::Done) return def_slot_[i];
    if (def_state_[i] == DefState::InProgress) {
      // Name the whole loop: "a -> b -> c -> a".
      std::string path;
      auto from = std::find(def_stack_.begin(), def_stack_.end(), i);
      for (auto it = from; it != def_stack_.end(); ++it) path += rules_.definitions[*it].name + " -> ";
      path += d.name;
      diags_.error("C0304", d.span, fmt::format("'{}' is defined in terms of itself: {}", d.name, path),
                   "a definition cannot depend on itself, directly or through others");
      return -1;
    }
    def_state_[i] = DefState::InProgress;
    def_stack_.push_back(i);
    context_.push_back({Entity::Definition, i});
    Scope scope;
    Reads reads;
    reads.direct_only = true;
    scope.evidence = &reads;
    int32_t root = d.body ? expr(*d.body, scope) : error_node(d.span);
    context_.pop_back();
    def_stack_.pop_back();
    def_state_[i] = DefState::Done;
    Definition def{d.name, root, d.span};
    def_slot_[i] = static_cast<int32_t>(r_.definitions.size());
    r_.definitions.push_back(def);
    def_reads_[i] = std::move(reads.items);
    return def_slot_[i];
  }

  enum class InlineLimit { None, Depth, Size };
  void inline_limit_error(InlineLimit hit, const syntax::Expr& call) {
    // A chain of functions too deep is met again from every function along it (each body is
    // checked by expanding what it calls): the first report shows the chain, the rest would
    // be a hundred copies of it. Flattening that chain is the one fix.
    if (hit == InlineLimit::Depth && inline_depth_reported_) return;
    if (hit == InlineLimit::Depth) inline_depth_reported_ = true;
    if (hit == InlineLimit::Depth)
      diags_.error("C0603", call.span,
                   fmt::format("calling {}(...) nests more than {} function calls", call.name,
                               kMaxDefinitionDepth),
                   "a function may call others only this deep: flatten the chain");
    else
      diags_.error("C0603", call.span,
                   fmt::format("expanding this call of {}(...) takes the ruleset past {} expression "
                               "nodes", call.name, kMaxInlinedNodes),
                   "functions are expanded at each call: a function that calls another twice "
                   "doubles in size at each level");
  }

  void check_function_body(const syntax::DefineSyntax& d) {
    std::map<std::string, int32_t> params;
    for (const auto& p : d.params) {
      auto t = type_from(p.type, true);
      Node n;
      n.op = Op::Literal;  // stands in for the argument while checking the body
      n.type = t ? *t : Type::of(TypeKind::Error);
      n.nullable = true;
      n.span = p.span;
      r_.literals.push_back({});
      n.index = static_cast<int32_t>(r_.literals.size() - 1);
      if (params.count(p.name))
        diags_.error("C0305", p.span, fmt::format("parameter '{}' is listed twice", p.name));
      else if (auto q = param_index_.find(p.name); q != param_index_.end())
        shadow_warning(p.span, fmt::format("'{}' of {}(...) hides the ruleset's parameter '{}' inside the function",
                                           p.name, d.name, p.name),
                       r_.parameters[q->second].span, "rename the function's parameter");
      else if (auto k = constant_index_.find(p.name); k != constant_index_.end())
        shadow_warning(p.span, fmt::format("'{}' of {}(...) hides the constant '{}' inside the function",
                                           p.name, d.name, p.name),
                       r_.constants[k->second].span, "rename the function's parameter");
      params[p.name] = add(n);
    }
    Scope scope;
    scope.fn_params = &params;
    scope.in_function = true;
    if (d.body) expr(*d.body, scope);
  }

  // ---------------------------------------------------------------- expressions
  // False when the name was read already (or nothing is collected).
  bool note_read(Scope& scope, const std::string& name, int32_t node_id, int32_t def = -1) {
    if (!scope.evidence || !scope.evidence->seen.insert(name).second) return false;
    scope.evidence->items.push_back({name, node_id, def});
    return true;
  }

  // The names behind a definition a rule reads are its evidence too ("age" is missing because
  // "birth_date" is): depth first, in the order each body reads them, each name once. A name
  // read before was expanded then, so it is not walked again: the whole walk is linear in what
  // it adds, where copying each definition's closure into the next made a chain of definitions
  // written in order cost the cube of its length (3,000 links: 24 s). No recursion: chains
  // written in order can be as long as the file.
  void expand_definition(Scope& scope, int32_t def_index) {
    std::vector<std::pair<int32_t, size_t>> stack{{def_index, 0}};
    while (!stack.empty()) {
      const int32_t d = stack.back().first;
      const size_t at = stack.back().second++;
      if (at == def_reads_[d].size()) {
        stack.pop_back();
        continue;
      }
      const Read& r = def_reads_[d][at];
      if (note_read(scope, r.name, r.node, r.definition) && r.definition >= 0)
        stack.push_back({r.definition, 0});
    }
  }

  std::vector<std::string> visible_names(const Scope& scope) const {
    std::vector<std::string> out;
    if (scope.fn_params)
      for (const auto& [n, _] : *scope.fn_params) out.push_back(n);
    if (scope.lets)
      for (const auto& [n, _] : *scope.lets) out.push_back(n);
    if (scope.row_source == -2 && !scope.in_function) {
      for (const auto& c : r_.cases.columns) out.push_back(c.name);
      for (const auto& [n, _] : definition_index_) out.push_back(n);
    } else if (scope.row_source >= -1) {
      const TableSchema& t = source_schema(scope.row_source);
      for (const auto& c : t.columns) out.push_back(c.name);
    }
    for (const auto& [n, _] : param_index_) out.push_back(n);
    for (const auto& [n, _] : constant_index_) out.push_back(n);
    if (scope.allow_scores)
      for (int32_t i = 0; i < scope.score_limit; ++i) out.push_back(r_.scores[i].name);
    return out;
  }

  int32_t case_field(int32_t col, Span span, Scope& scope, const std::string& name) {
    Node n;
    n.op = Op::CaseField;
    n.index = col;
    n.type = r_.cases.columns[col].type;
    n.nullable = !r_.cases.columns[col].required &&
                 !(r_.cases.columns[col].blank_is_empty);
    n.scope = kReadsCase;
    n.span = span;
    int32_t id = add(n);
    note_read(scope, name, id);
    return id;
  }

  int32_t definition_ref(int32_t def_index, Span span, Scope& scope, const std::string& name) {
    use(Entity::Definition, def_index);
    int32_t slot = definition(def_index);
    if (slot < 0) return error_node(span);
    const Node& root = node(r_.definitions[slot].root);
    Node n;
    n.op = Op::Definition;
    n.index = slot;
    n.type = root.type;
    n.nullable = root.nullable;
    n.scope = kReadsCase;
    n.span = span;
    int32_t id = add(n);
    if (note_read(scope, name, id, def_index) && !scope.evidence->direct_only)
      expand_definition(scope, def_index);
    return id;
  }

  // `this.x` or a bare name outside aggregates: the case under review.
  std::optional<int32_t> resolve_case_side(const std::string& name, Span span, Scope& scope) {
    if (scope.lets) {
      if (auto it = scope.lets->find(name); it != scope.lets->end()) {
        Node n = node(it->second);
        n.span = span;
        int32_t id = add(n);
        note_read(scope, name, id);
        return id;
      }
    }
    if (int col = r_.cases.find(name); col >= 0) return case_field(col, span, scope, name);
    if (auto it = definition_index_.find(name); it != definition_index_.end())
      return definition_ref(it->second, span, scope, name);
    return std::nullopt;
  }

  std::optional<int32_t> resolve_free(const std::string& name, Span span, Scope& scope) {
    if (auto it = param_index_.find(name); it != param_index_.end()) {
      use(Entity::Parameter, it->second);
      const Parameter& p = r_.parameters[it->second];
      Node n;
      n.op = Op::Param;
      n.index = it->second;
      n.type = p.type;
      n.nullable = !p.default_value.has_value();
      n.span = span;
      int32_t id = add(n);
      note_read(scope, name, id);
      return id;
    }
    if (auto it = constant_index_.find(name); it != constant_index_.end()) {
      use(Entity::Constant, it->second);
      const Constant& k = r_.constants[it->second];
      return literal_node(k.value, k.type, span);
    }
    return std::nullopt;
  }

  int32_t name_ref(const syntax::Expr& e, Scope& scope) {
    const std::string& name = e.name;
    if (scope.fn_params) {
      if (auto it = scope.fn_params->find(name); it != scope.fn_params->end()) return it->second;
    }
    if (scope.row_source >= -1) {
      const TableSchema& t = source_schema(scope.row_source);
      if (int col = t.find(name); col >= 0) {
        Node n;
        n.op = Op::RowField;
        n.index = col;
        n.aux = scope.row_source;
        n.type = t.columns[col].type;
        n.nullable = !t.columns[col].required && !t.columns[col].blank_is_empty;
        n.scope = kReadsRow;
        n.span = e.span;
        if (scope.row_source == -1) r_.row_fields_read[col] = true;
        else r_.table_fields_read[scope.row_source][col] = true;
        const std::string what = param_index_.count(name) ? "parameter" : constant_index_.count(name) ? "constant" : "";
        if (!what.empty()) {
          Span decl = what == "parameter" ? r_.parameters[param_index_[name]].span
                                          : r_.constants[constant_index_[name]].span;
          shadow_warning(e.span, fmt::format("'{}' here is the column of {}, not the {} '{}'", name,
                                             scope.row_source == -1 ? "the cases counted" : "table " + t.name,
                                             what, name),
                         decl, fmt::format("inside an aggregate a bare name is a column of the rows "
                                           "counted: rename the {} to tell them apart", what));
        }
        return add(n);
      }
    }
    if (auto id = resolve_free(name, e.span, scope)) return *id;
    if (scope.allow_scores) {
      for (int32_t i = 0; i < scope.score_limit; ++i) {
        if (r_.scores[i].name == name) {
          Node n;
          n.op = Op::Score;
          n.index = i;
          n.type = Type::of(r_.scores[i].integral ? TypeKind::Integer : TypeKind::Number);
          n.span = e.span;
          n.scope = kReadsCase;
          int32_t id = add(n);
          note_read(scope, name, id);
          return id;
        }
      }
    }
    if (scope.in_function) {
      if (r_.cases.find(name) >= 0 || definition_index_.count(name)) {
        diags_.error("C0401", e.span,
                     fmt::format("a function cannot read '{}' directly", name),
                     "pass it as an argument: a function sees only its parameters, the "
                     "ruleset's parameters and constants");
        return error_node(e.span);
      }
    } else if (scope.row_source >= -1) {
      // Inside an aggregate, bare names are the row's columns; the case under review is `this`.
      bool case_side = r_.cases.find(name) >= 0 || definition_index_.count(name) ||
                       (scope.lets && scope.lets->count(name));
      if (case_side) {
        const std::string src = scope.row_source == -1 ? "cases" : r_.tables[scope.row_source].name;
        diags_.error("C0402", e.span,
                     fmt::format("'{}' is not a column of {}", name, src),
                     fmt::format("write this.{} for the case under review", name));
        return error_node(e.span);
      }
    } else if (auto id = resolve_case_side(name, e.span, scope)) {
      return *id;
    }
    if (function_index_.count(name)) {
      diags_.error("C0403", e.span, fmt::format("'{}' is a function", name),
                   fmt::format("call it with arguments: {}(...)", name));
      return error_node(e.span);
    }
    if (!scope.allow_scores) {
      for (const auto& s : rules_.scores) {
        if (s.name == name) {
          diags_.error("C0404", e.span,
                       fmt::format("score '{}' can be used only in later scores and the disposition", name),
                       "scores add up the findings of criteria and signals, so these cannot depend on them");
          return error_node(e.span);
        }
      }
    }
    std::string near = hints_wanted() ? closest_name(name, visible_names(scope)) : std::string();
    if (scope.row_source >= -1 && !scope.in_function) {
      // Inside an aggregate: most likely a column of the rows counted.
      const TableSchema& t = source_schema(scope.row_source);
      std::vector<std::string> cols;
      for (const auto& c : t.columns) cols.push_back(c.name);
      diags_.error("C0405", e.span,
                   fmt::format("unknown name '{}': {} has no such column", name,
                               scope.row_source == -1 ? "the case schema" : "table " + t.name),
                   !near.empty() ? fmt::format("did you mean '{}'?", near)
                                 : fmt::format("columns of {}: {}", t.name, fmt::join(cols, ", ")));
      return error_node(e.span);
    }
    diags_.error("C0405", e.span, fmt::format("unknown name '{}'", name),
                 !near.empty() ? fmt::format("did you mean '{}'?", near)
                 : scope.in_function
                     ? "a function sees its parameters and the ruleset's parameters and constants"
                     : "a name is a case field, a definition, a parameter or a constant declared in "
                       "this file");
    return error_node(e.span);
  }

  int32_t unary_node(Op op, int32_t a, Type t, Span span) {
    Node n;
    n.op = op;
    n.a = a;
    n.type = t;
    n.nullable = node(a).nullable;
    n.scope = node(a).scope;
    n.span = span;
    return add(n);
  }
  int32_t binary_node(Op op, int32_t a, int32_t b, Type t, Span span) {
    Node n;
    n.op = op;
    n.a = a;
    n.b = b;
    n.type = t;
    n.nullable = node(a).nullable || node(b).nullable;
    n.scope = node(a).scope | node(b).scope;
    n.span = span;
    return add(n);
  }

  void type_error(Span span, const std::string& message, const std::string& hint = {}) {
    diags_.error("C0501", span, message, hint);
  }

  std::string tn(int32_t i) const { return type_name(node(i).type); }

  // `7` where `7 days` was meant, a date where a number of years was: the usual slips when
  // dates meet numbers, with the author's own number in the hint when there is one.
  std::string mismatch_hint(int32_t a, int32_t b) const {
    auto K = [&](int32_t i) { return node(i).type.kind; };
    auto number_text = [&](int32_t i) {
      const Node& n = node(i);
      if (n.op == Op::Literal && n.type.kind == TypeKind::Integer)
        return std::to_string(r_.literals[n.index].i);
      return std::string("N");
    };
    for (auto [x, y] : {std::pair{a, b}, std::pair{b, a}}) {
      const std::string days = number_text(y) + (number_text(y) == "1" ? " day" : " days");
      if (K(x) == TypeKind::Duration && node(y).type.is_numeric())
        return fmt::format("give the number its unit: `{}`", days);
      if (K(x) == TypeKind::Date && node(y).type.is_numeric())
        return fmt::format("a date goes with a date or a duration: write `{}` for a length of "
                           "time, or years_between(...) for an age in years",
                           days);
    }
    return {};
  }

  // The rows an aggregate reads, or a row field belongs to: the cases (-1) or a table.
  const TableSchema& source_schema(int32_t source) const {
    return source == -1 ? r_.cases : r_.tables[static_cast<size_t>(source)];
  }

  // Calls check(text, span) for a text literal, or for each text of a set literal; nothing
  // for any other node, whose values are not known before the data.
  template <typename Check>
  void for_each_literal_text(int32_t literal_side, Check&& check) const {
    const Node& l = node(literal_side);
    if (l.op == Op::Literal && l.type.kind == TypeKind::Text) {
      check(r_.literals[l.index].text, l.span);
    } else if (l.op == Op::Literal && l.type.kind == TypeKind::Set) {
      for (const auto& v : r_.literals[l.index].set) check(v, l.span);
    }
  }

  // A text literal compared with an enum must be one of its values.
  void check_enum_literal(int32_t enum_side, int32_t literal_side) {
    const Node& e = node(enum_side);
    if (!e.type.domain) return;
    for_each_literal_text(literal_side, [&](const std::string& v, Span span) {
      if (!e.type.domain->contains(v)) {
        std::vector<std::string> quoted;
        for (const auto& x : e.type.domain->values) quoted.push_back("\"" + x + "\"");
        std::string near = hint_name(v, e.type.domain->values);
        diags_.error("C0502", span, fmt::format("\"{}\" is not one of the allowed values", v),
                     near.empty() ? fmt::format("allowed: {}", fmt::join(quoted, ", "))
                                  : fmt::format("did you mean \"{}\"?", near));
      }
    });
  }

  // A text literal compared with a column that has a `format` must fit it: `nationality =
  // "Mali"` or `nationality in {"MLI", "gin"}` would never hold for a row that was loaded,
  // since the loader rejects every value of another shape. An error, as for `one of`.
  void check_format_literal(int32_t field_side, int32_t literal_side) {
    const Node& f = node(field_side);
    const TableSchema* t = nullptr;
    if (f.op == Op::CaseField) t = &r_.cases;
    else if (f.op == Op::RowField) t = &source_schema(f.aux);
    if (!t || f.index < 0 || static_cast<size_t>(f.index) >= t->columns.size()) return;
    const ColumnDecl& col = t->columns[static_cast<size_t>(f.index)];
    if (col.format.empty()) return;
    for_each_literal_text(literal_side, [&](const std::string& v, Span span) {
      if (!fits_format(v, col.format)) {
        diags_.error("C0503", span,
                     fmt::format("\"{}\" does not fit the format \"{}\" of column {}", v, col.format,
                                 col.name),
                     "rows with such a value are rejected when loaded, so this never matches; "
                     "in a format, A is an uppercase letter, a a lowercase one, 9 a digit");
      }
    });
  }

  bool comparable(const Type& a, const Type& b) const {
    if (a.is_numeric() && b.is_numeric()) return true;
    return a.kind == b.kind && a.kind != TypeKind::Set;
  }

  // Every expression is folded as soon as it is built: an operation whose operands are all
  // literals becomes a literal (`730 days`, `2 * 7`, `"a" in {"a", "b"}`), so that the
  // evaluator does not recompute it per case and the lints see plain constants.
  int32_t expr(const syntax::Expr& e, Scope& scope) { return fold(build(e, scope)); }

  const Literal* literal_of(int32_t id) const {
    const Node& n = node(id);
    if (n.op != Op::Literal || r_.literals[n.index].kind == TypeKind::Error) return nullptr;
    return &r_.literals[n.index];
  }

  // Computes a node whose operands are literals exactly as the evaluator would, and turns it
  // into a literal in place. Left alone: what would be missing (division by zero), integer
  // overflow, and operations whose operands are not all literals.
  int32_t fold(int32_t id) {
    const Node n = node(id);
    switch (n.op) {
      case Op::Literal: case Op::CaseField: case Op::RowField: case Op::Param: case Op::Definition:
      case Op::Let: case Op::Aggregate: case Op::Score: case Op::Outcome: case Op::AnyOutcome:
      case Op::SetOf:
        return id;
      default:
        break;
    }
    const Literal* a = n.a >= 0 ? literal_of(n.a) : nullptr;
    const Literal* b = n.b >= 0 ? literal_of(n.b) : nullptr;
    const Literal* c = n.c >= 0 ? literal_of(n.c) : nullptr;
    if ((n.a >= 0 && !a) || (n.b >= 0 && !b) || (n.c >= 0 && !c) || !a) return id;
    auto as_double = [](const Literal& l) { return l.kind == TypeKind::Number ? l.d : static_cast<double>(l.i); };
    // As the evaluator compares: numbers as doubles when one side is a number, texts by value,
    // everything else by its integer (bool, integer, date, duration).
    auto compare = [&](const Literal& x, const Literal& y) -> int {
      if (x.kind == TypeKind::Number || y.kind == TypeKind::Number) {
        double p = as_double(x), q = as_double(y);
        return p < q ? -1 : p > q ? 1 : 0;
      }
      if (x.kind == TypeKind::Text) return x.text < y.text ? -1 : x.text > y.text ? 1 : 0;
      return x.i < y.i ? -1 : x.i > y.i ? 1 : 0;
    };
    Literal out;
    out.kind = n.type.kind;
    auto boolean = [&](bool v) {
      out.kind = TypeKind::Bool;
      out.i = v ? 1 : 0;
    };
    switch (n.op) {
      case Op::Neg:
        if (a->kind == TypeKind::Number) out.d = -a->d;
        else if (a->i == INT64_MIN) return id;
        else out.i = -a->i;
        break;
      case Op::Not: boolean(a->i == 0); break;
      case Op::And: boolean(a->i != 0 && b->i != 0); break;
      case Op::Or: boolean(a->i != 0 || b->i != 0); break;
      case Op::Add: case Op::Sub: case Op::Mul:
        if (n.type.kind == TypeKind::Number) {
          double x = as_double(*a), y = as_double(*b);
          out.d = n.op == Op::Add ? x + y : n.op == Op::Sub ? x - y : x * y;
        } else {
          int64_t r = 0;
          bool overflow = n.op == Op::Add ? __builtin_add_overflow(a->i, b->i, &r)
                        : n.op == Op::Sub ? __builtin_sub_overflow(a->i, b->i, &r)
                                          : __builtin_mul_overflow(a->i, b->i, &r);
          if (overflow) return id;
          out.i = r;
        }
        break;
      case Op::Div:
        if (as_double(*b) == 0) return id;  // unknown at run time; the evaluator says so
        out.d = as_double(*a) / as_double(*b);
        break;
      case Op::Eq: case Op::Ne: case Op::Lt: case Op::Le: case Op::Gt: case Op::Ge: {
        int k = compare(*a, *b);
        boolean(n.op == Op::Eq ? k == 0 : n.op == Op::Ne ? k != 0 : n.op == Op::Lt ? k < 0
              : n.op == Op::Le ? k <= 0 : n.op == Op::Gt ? k > 0 : k >= 0);
        break;
      }
      case Op::In: {
        bool in = std::binary_search(b->set.begin(), b->set.end(), a->text);
        boolean(n.aux ? !in : in);
        break;
      }
      case Op::Intersects: {
        bool any = false;
        for (const auto& x : a->set) any = any || std::binary_search(b->set.begin(), b->set.end(), x);
        boolean(any);
        break;
      }
      case Op::Between: {
        bool in = compare(*a, *b) >= 0 && compare(*a, *c) <= 0;
        boolean(n.aux ? !in : in);
        break;
      }
      case Op::IsMissing: boolean(false); break;
      case Op::IsPresent: boolean(true); break;
      case Op::ToDuration:
        if (__builtin_mul_overflow(a->i, static_cast<int64_t>(n.aux), &out.i)) return id;
        break;
      case Op::YearsBetween: out.i = whole_years(a->i, b->i); break;
      case Op::DaysBetween:
        if (__builtin_sub_overflow(b->i, a->i, &out.i)) return id;
        break;
      case Op::Weekday: out.i = iso_weekday(a->i); break;
      case Op::Size: out.i = static_cast<int64_t>(a->set.size()); break;
      case Op::Abs:
        if (a->kind == TypeKind::Number) out.d = std::fabs(a->d);
        else if (a->i == INT64_MIN) return id;
        else out.i = a->i < 0 ? -a->i : a->i;
        break;
      case Op::Coalesce: out = *a; break;
      default:
        return id;
    }
    r_.literals.push_back(std::move(out));
    Node& folded = r_.nodes[id];
    folded.op = Op::Literal;
    folded.index = static_cast<int32_t>(r_.literals.size() - 1);
    folded.a = folded.b = folded.c = -1;
    folded.aux = 0;
    folded.nullable = false;
    folded.scope = 0;
    return id;
  }

  int32_t build(const syntax::Expr& e, Scope& scope) {
    // The backstop against stack overflow: nesting through definitions and inlined calls
    // multiplies the parser's per-expression limits. Reported once, outside the diagnostics
    // that inlining discards.
    if (stack_base_ - static_cast<const char*>(__builtin_frame_address(0)) >
        static_cast<std::ptrdiff_t>(stack_budget_)) {
      if (!stack_error_)
        stack_error_ = Diagnostic{Severity::Error, "C0307", e.span,
                                  "expressions nested too deeply, through definitions and function "
                                  "calls, to be checked",
                                  "split the nesting: fewer levels of definitions using definitions",
                                  {}};
      return error_node(e.span);
    }
    switch (e.kind) {
      case ExprKind::Bool:
        return literal_node({TypeKind::Bool, e.bool_value ? 1 : 0, 0, {}, {}}, Type::of(TypeKind::Bool), e.span);
      case ExprKind::Int:
        return literal_node({TypeKind::Integer, e.int_value, 0, {}, {}}, Type::of(TypeKind::Integer), e.span);
      case ExprKind::Decimal:
        return literal_node({TypeKind::Number, 0, e.number_value, {}, {}}, Type::of(TypeKind::Number), e.span);
      case ExprKind::Text:
        return literal_node({TypeKind::Text, 0, 0, e.name, {}}, Type::of(TypeKind::Text), e.span);
      case ExprKind::Date: {
        auto d = parse_date(e.name);
        if (!d) {
          diags_.error("C0201", e.span, fmt::format("'{}' is not a calendar date", e.name),
                       "dates are written YYYY-MM-DD");
          return error_node(e.span);
        }
        return literal_node({TypeKind::Date, *d, 0, {}, {}}, Type::of(TypeKind::Date), e.span);
      }
      case ExprKind::SetLiteral: return set_literal(e, scope);
      case ExprKind::Name: return name_ref(e, scope);
      case ExprKind::This: {
        if (scope.in_function) {
          diags_.error("C0401", e.span, "a function cannot read the case under review",
                       "pass the value as an argument");
          return error_node(e.span);
        }
        Scope outer = scope;
        outer.row_source = -2;
        if (auto id = resolve_case_side(e.name, e.span, outer)) return *id;
        std::vector<std::string> names;
        for (const auto& c : r_.cases.columns) names.push_back(c.name);
        for (const auto& [n, _] : definition_index_) names.push_back(n);
        std::string near = hint_name(e.name, names);
        diags_.error("C0406", e.name_span,
                     fmt::format("the case has no field or definition '{}'", e.name),
                     near.empty() ? "" : fmt::format("did you mean '{}'?", near));
        return error_node(e.span);
      }
      case ExprKind::Call: return call(e, scope);
      case ExprKind::Negate: {
        int32_t a = expr(*e.args[0], scope);
        if (failed(a)) return a;
        const Type& t = node(a).type;
        if (!t.is_numeric() && t.kind != TypeKind::Duration) {
          type_error(e.span, fmt::format("cannot negate {}", tn(a)),
                     t.kind == TypeKind::Bool ? "write `not` to negate a condition"
                                              : "only numbers and durations take a minus sign");
          return error_node(e.span);
        }
        return unary_node(Op::Neg, a, t, e.span);
      }
      case ExprKind::Not: {
        int32_t a = expr(*e.args[0], scope);
        if (failed(a)) return a;
        if (node(a).type.kind != TypeKind::Bool) {
          type_error(e.args[0]->span, fmt::format("`not` needs a condition, found {}", tn(a)));
          return error_node(e.span);
        }
        return unary_node(Op::Not, a, Type::of(TypeKind::Bool), e.span);
      }
      case ExprKind::Binary: return binary(e, scope);
      case ExprKind::In: {
        int32_t a = expr(*e.args[0], scope);
        int32_t b = expr(*e.args[1], scope);
        if (failed(a) || failed(b)) return error_node(e.span);
        if (!is_set(node(b).type)) {
          type_error(e.args[1]->span, fmt::format("`in` needs a set on its right, found {}", tn(b)),
                     "write a set like {\"a\", \"b\"} or use a set column or constant");
          return error_node(e.span);
        }
        if (!is_text(node(a).type)) {
          type_error(e.args[0]->span, fmt::format("sets hold texts; found {}", tn(a)));
          return error_node(e.span);
        }
        if (node(b).type.domain) check_enum_literal(b, a);
        if (node(a).type.domain) check_enum_literal(a, b);
        check_format_literal(b, a);
        check_format_literal(a, b);
        int32_t id = binary_node(Op::In, a, b, Type::of(TypeKind::Bool), e.span);
        r_.nodes[id].aux = e.negated ? 1 : 0;
        return id;
      }
      case ExprKind::Intersects: {
        int32_t a = expr(*e.args[0], scope);
        int32_t b = expr(*e.args[1], scope);
        if (failed(a) || failed(b)) return error_node(e.span);
        if (!is_set(node(a).type) || !is_set(node(b).type)) {
          type_error(e.span, fmt::format("`intersects` compares two sets, found {} and {}", tn(a), tn(b)));
          return error_node(e.span);
        }
        return binary_node(Op::Intersects, a, b, Type::of(TypeKind::Bool), e.span);
      }
      case ExprKind::Between: {
        int32_t a = expr(*e.args[0], scope);
        int32_t lo = expr(*e.args[1], scope);
        int32_t hi = expr(*e.args[2], scope);
        if (failed(a) || failed(lo) || failed(hi)) return error_node(e.span);
        if (!comparable(node(a).type, node(lo).type) || !comparable(node(a).type, node(hi).type) ||
            node(a).type.kind == TypeKind::Bool) {
          int32_t bad = !comparable(node(a).type, node(lo).type) ? lo : hi;
          type_error(e.span,
                     node(a).type.kind == TypeKind::Bool
                         ? "true and false have no order: `between` cannot apply"
                         : fmt::format("cannot compare {} with {}", tn(a), tn(bad)),
                     mismatch_hint(a, bad));
          return error_node(e.span);
        }
        Node n;
        n.op = Op::Between;
        n.a = a;
        n.b = lo;
        n.c = hi;
        n.aux = e.negated ? 1 : 0;
        n.type = Type::of(TypeKind::Bool);
        n.nullable = node(a).nullable || node(lo).nullable || node(hi).nullable;
        n.scope = node(a).scope | node(lo).scope | node(hi).scope;
        n.span = e.span;
        return add(n);
      }
      case ExprKind::IsMissing:
      case ExprKind::IsPresent: {
        int32_t a = expr(*e.args[0], scope);
        if (failed(a)) return a;
        int32_t id = unary_node(e.kind == ExprKind::IsMissing ? Op::IsMissing : Op::IsPresent, a,
                                Type::of(TypeKind::Bool), e.span);
        r_.nodes[id].nullable = false;
        return id;
      }
      case ExprKind::Duration: {
        int32_t a = expr(*e.args[0], scope);
        if (failed(a)) return a;
        if (node(a).type.kind != TypeKind::Integer) {
          type_error(e.args[0]->span, fmt::format("a number of {} must be a whole number, found {}", e.name, tn(a)));
          return error_node(e.span);
        }
        int32_t id = unary_node(Op::ToDuration, a, Type::of(TypeKind::Duration), e.span);
        r_.nodes[id].aux = e.name == "weeks" ? 7 : 1;
        return id;
      }
      case ExprKind::Outcome: return outcome(e, scope);
      case ExprKind::Aggregate: return aggregate(e, scope);
    }
    return error_node(e.span);
  }

  int32_t set_literal(const syntax::Expr& e, Scope& scope) {
    std::vector<int32_t> elems;
    bool all_literal = true;
    Literal lit;
    lit.kind = TypeKind::Set;
    for (const auto& x : e.args) {
      int32_t id = expr(*x, scope);
      if (failed(id)) return error_node(e.span);
      if (!is_text(node(id).type)) {
        type_error(x->span, fmt::format("sets hold texts; found {}", tn(id)));
        return error_node(e.span);
      }
      if (node(id).op == Op::Literal && !node(id).nullable) lit.set.push_back(r_.literals[node(id).index].text);
      else all_literal = false;
      elems.push_back(id);
    }
    if (all_literal) {
      std::sort(lit.set.begin(), lit.set.end());
      lit.set.erase(std::unique(lit.set.begin(), lit.set.end()), lit.set.end());
      return literal_node(std::move(lit), Type::set_of(TypeKind::Text), e.span);
    }
    Node n;
    n.op = Op::SetOf;
    n.type = Type::set_of(TypeKind::Text);
    n.index = static_cast<int32_t>(r_.lists.size());
    for (int32_t id : elems) {
      n.scope |= node(id).scope;
      n.nullable = n.nullable || node(id).nullable;
    }
    r_.lists.push_back(elems);
    n.span = e.span;
    return add(n);
  }

  int32_t binary(const syntax::Expr& e, Scope& scope) {
    using B = syntax::BinaryOp;
    int32_t a = expr(*e.args[0], scope);
    int32_t b = expr(*e.args[1], scope);
    if (failed(a) || failed(b)) return error_node(e.span);
    const Type& ta = node(a).type;
    const Type& tb = node(b).type;
    auto K = [](const Type& t) { return t.kind; };
    switch (e.op) {
      case B::And:
      case B::Or: {
        for (int32_t x : {a, b}) {
          if (node(x).type.kind != TypeKind::Bool) {
            type_error(node(x).span, fmt::format("`{}` joins conditions; this is {}",
                                                 e.op == B::And ? "and" : "or", tn(x)));
            return error_node(e.span);
          }
        }
        return binary_node(e.op == B::And ? Op::And : Op::Or, a, b, Type::of(TypeKind::Bool), e.span);
      }
      case B::Eq: case B::Ne: case B::Lt: case B::Le: case B::Gt: case B::Ge: {
        bool ordered = e.op != B::Eq && e.op != B::Ne;
        if (comparable(ta, tb) && ordered && (K(ta) == TypeKind::Bool || K(ta) == TypeKind::Text)) {
          type_error(e.name_span.end > e.name_span.begin ? e.name_span : e.span,
                     K(ta) == TypeKind::Text ? "texts have no order: they can only be equal or not"
                                             : "true and false have no order",
                     K(ta) == TypeKind::Text ? "use `=` or `!=`, or `in` with a set of texts"
                                             : "use `=` or `!=`");
          return error_node(e.span);
        }
        if (!comparable(ta, tb)) {
          type_error(e.span, fmt::format("cannot compare {} with {}", tn(a), tn(b)),
                     mismatch_hint(a, b));
          return error_node(e.span);
        }
        if (K(ta) == TypeKind::Text) {
          check_enum_literal(a, b);
          check_enum_literal(b, a);
          check_format_literal(a, b);
          check_format_literal(b, a);
        }
        Op op = e.op == B::Eq ? Op::Eq : e.op == B::Ne ? Op::Ne : e.op == B::Lt ? Op::Lt
              : e.op == B::Le ? Op::Le : e.op == B::Gt ? Op::Gt : Op::Ge;
        return binary_node(op, a, b, Type::of(TypeKind::Bool), e.span);
      }
      case B::Add:
      case B::Sub: {
        Type result;
        if (ta.is_numeric() && tb.is_numeric()) {
          result = Type::of(K(ta) == TypeKind::Integer && K(tb) == TypeKind::Integer ? TypeKind::Integer : TypeKind::Number);
        } else if (K(ta) == TypeKind::Date && K(tb) == TypeKind::Duration) {
          result = Type::of(TypeKind::Date);
        } else if (K(ta) == TypeKind::Duration && K(tb) == TypeKind::Date && e.op == B::Add) {
          result = Type::of(TypeKind::Date);
        } else if (K(ta) == TypeKind::Date && K(tb) == TypeKind::Date && e.op == B::Sub) {
          result = Type::of(TypeKind::Duration);
        } else if (K(ta) == TypeKind::Duration && K(tb) == TypeKind::Duration) {
          result = Type::of(TypeKind::Duration);
        } else {
          type_error(e.span, fmt::format("cannot {} {} and {}", e.op == B::Add ? "add" : "subtract", tn(a), tn(b)),
                     mismatch_hint(a, b));
          return error_node(e.span);
        }
        return binary_node(e.op == B::Add ? Op::Add : Op::Sub, a, b, result, e.span);
      }
      case B::Mul:
      case B::Div: {
        if (!ta.is_numeric() || !tb.is_numeric()) {
          type_error(e.span, fmt::format("cannot {} {} by {}", e.op == B::Mul ? "multiply" : "divide", tn(a), tn(b)));
          return error_node(e.span);
        }
        Type result = Type::of(e.op == B::Mul && K(ta) == TypeKind::Integer && K(tb) == TypeKind::Integer
                                   ? TypeKind::Integer : TypeKind::Number);
        int32_t id = binary_node(e.op == B::Mul ? Op::Mul : Op::Div, a, b, result, e.span);
        if (e.op == B::Div) r_.nodes[id].nullable = true;  // division by zero is unknown
        return id;
      }
    }
    return error_node(e.span);
  }

  int32_t call(const syntax::Expr& e, Scope& scope) {
    struct Builtin {
      const char* name;
      Op op;
      std::vector<TypeKind> args;
      TypeKind result;
      const char* usage;
    };
    static const std::vector<Builtin> kBuiltins = {
        {"years_between", Op::YearsBetween, {TypeKind::Date, TypeKind::Date}, TypeKind::Integer,
         "years_between(FROM_DATE, TO_DATE)"},
        {"days_between", Op::DaysBetween, {TypeKind::Date, TypeKind::Date}, TypeKind::Integer,
         "days_between(FROM_DATE, TO_DATE)"},
        {"weekday", Op::Weekday, {TypeKind::Date}, TypeKind::Integer, "weekday(DATE)"},
        {"size", Op::Size, {TypeKind::Set}, TypeKind::Integer, "size(SET)"},
        {"abs", Op::Abs, {TypeKind::Number}, TypeKind::Number, "abs(NUMBER)"},
        {"coalesce", Op::Coalesce, {TypeKind::Error, TypeKind::Error}, TypeKind::Error,
         "coalesce(VALUE, VALUE_IF_MISSING)"},
    };
    std::vector<int32_t> args;
    for (const auto& x : e.args) args.push_back(expr(*x, scope));
    for (int32_t a : args)
      if (failed(a)) return error_node(e.span);

    if (auto it = function_index_.find(e.name); it != function_index_.end()) {
      use(Entity::Definition, it->second);
      const auto& fn = rules_.definitions[it->second];
      definition(it->second);  // reports errors in the body once
      if (args.size() != fn.params.size()) {
        std::vector<std::string> params;
        for (const auto& p : fn.params) params.push_back(p.name + ": " + source_text(p.type.span));
        auto& d = diags_.error("C0601", e.span,
                               fmt::format("{} takes {} argument{}, found {}", e.name, fn.params.size(),
                                           fn.params.size() == 1 ? "" : "s", args.size()),
                               fmt::format("it is defined as {}({})", e.name, fmt::join(params, ", ")));
        d.notes.push_back({fn.span, fmt::format("{} is defined here", e.name)});
        return error_node(e.span);
      }
      std::map<std::string, int32_t> bound;
      for (size_t i = 0; i < args.size(); ++i) {
        auto t = type_from(fn.params[i].type, true);
        if (t && !(node(args[i]).type == *t) && !(t->is_numeric() && node(args[i]).type.is_numeric())) {
          type_error(e.args[i]->span, fmt::format("argument {} of {} must be {}, found {}", i + 1,
                                                  e.name, type_name(*t), tn(args[i])));
          return error_node(e.span);
        }
        bound[fn.params[i].name] = args[i];
      }
      // Inline the body with the arguments in place of the parameters, so that the planner
      // sees e.g. week_start(arrival_date) as an expression over a row it can index.
      // Inlining nests (a function calling another) and multiplies (calling one twice):
      // bound both, so a short hostile file cannot overflow the stack or expand exponentially.
      // Errors inside an inlined body are dropped (reported once by definition()), so a
      // limit hit deep inside is remembered and reported at the outermost call.
      const bool too_deep = def_depth_ + inline_depth_ >= kMaxDefinitionDepth;
      if (too_deep || r_.nodes.size() > kMaxInlinedNodes) {
        InlineLimit hit = too_deep ? InlineLimit::Depth : InlineLimit::Size;
        if (inline_depth_ == 0) inline_limit_error(hit, e);  // nothing to unwind: report now
        else if (inline_limit_ == InlineLimit::None) inline_limit_ = hit;
        return error_node(e.span);
      }
      Diagnostics saved;
      std::swap(saved, diags_);
      Scope inner;
      inner.fn_params = &bound;
      inner.in_function = true;
      inner.evidence = nullptr;
      ++inline_depth_;
      int32_t body = fn.body ? expr(*fn.body, inner) : error_node(e.span);
      --inline_depth_;
      std::swap(saved, diags_);
      if (inline_depth_ == 0 && inline_limit_ != InlineLimit::None) {
        inline_limit_error(inline_limit_, e);
        inline_limit_ = InlineLimit::None;
        return error_node(e.span);
      }
      if (saved.has_errors()) return error_node(e.span);
      return body;
    }
    for (const auto& b : kBuiltins) {
      if (e.name != b.name) continue;
      if (args.size() != b.args.size()) {
        diags_.error("C0601", e.span, fmt::format("{} takes {} argument{}, found {}", e.name,
                                                  b.args.size(), b.args.size() == 1 ? "" : "s", args.size()),
                     fmt::format("write {}", b.usage));
        return error_node(e.span);
      }
      Type result = Type::of(b.result);
      for (size_t i = 0; i < args.size(); ++i) {
        TypeKind want = b.args[i];
        const Type& got = node(args[i]).type;
        bool ok = want == TypeKind::Error || got.kind == want ||
                  (want == TypeKind::Number && got.is_numeric());
        if (!ok) {
          type_error(e.args[i]->span, fmt::format("argument {} of {} must be {}, found {}", i + 1,
                                                  e.name, type_name(Type::of(want)), tn(args[i])));
          return error_node(e.span);
        }
      }
      if (b.op == Op::Abs) result = node(args[0]).type;
      if (b.op == Op::Coalesce) {
        if (!(node(args[0]).type == node(args[1]).type)) {
          type_error(e.span, fmt::format("coalesce needs two values of one type, found {} and {}", tn(args[0]), tn(args[1])));
          return error_node(e.span);
        }
        result = node(args[0]).type;
      }
      Node n;
      n.op = b.op;
      n.a = args[0];
      n.b = args.size() > 1 ? args[1] : -1;
      n.type = result;
      for (int32_t a : args) {
        n.scope |= node(a).scope;
        n.nullable = n.nullable || node(a).nullable;
      }
      // Missing only when both are.
      if (b.op == Op::Coalesce) n.nullable = node(args[0]).nullable && node(args[1]).nullable;
      n.span = e.span;
      return add(n);
    }
    std::vector<std::string> names;
    for (const auto& b : kBuiltins) names.push_back(b.name);
    for (const auto& [n, _] : function_index_) names.push_back(n);
    std::string near = hint_name(e.name, names);
    diags_.error("C0602", e.name_span, fmt::format("unknown function '{}'", e.name),
                 near.empty() ? fmt::format("functions: {}", fmt::join(names, ", "))
                              : fmt::format("did you mean '{}'?", near));
    return error_node(e.span);
  }

  int32_t outcome(const syntax::Expr& e, Scope& scope) {
    const auto& t = *e.outcome;
    if (!scope.allow_outcomes) {
      diags_.error("C0701", e.span, "the outcome of a rule can be tested only in scores and the disposition",
                   "criteria and signals are decided independently of each other");
      return error_node(e.span);
    }
    OutcomeVerb verb = t.verb == syntax::Verb::Passes ? OutcomeVerb::Passes
                     : t.verb == syntax::Verb::Fails ? OutcomeVerb::Fails
                     : t.verb == syntax::Verb::IsUnknown ? OutcomeVerb::IsUnknown : OutcomeVerb::Fires;
    Node n;
    n.type = Type::of(TypeKind::Bool);
    n.span = e.span;
    n.aux = static_cast<int32_t>(verb);
    n.scope = kReadsCase;
    if (t.quantifier != syntax::Quantifier::None) {
      bool signals = t.about_signals;
      if (signals != (verb == OutcomeVerb::Fires)) {
        const char* quant = t.quantifier == syntax::Quantifier::All ? "all" : "any";
        diags_.error("C0702", e.span,
                     signals ? "signals fire or not; they do not pass, fail or stay unknown"
                             : "criteria pass, fail or are unknown; they do not fire",
                     signals ? fmt::format("write `{} signal fires`, or `{} criterion {}`", quant, quant,
                                           verb == OutcomeVerb::Passes ? "passes"
                                           : verb == OutcomeVerb::Fails ? "fails" : "is unknown")
                             : fmt::format("write `{} signal fires`", quant));
        return error_node(e.span);
      }
      n.op = Op::AnyOutcome;
      n.b = signals ? 1 : 0;
      n.index = t.quantifier == syntax::Quantifier::All ? 1 : 0;
      return add(n);
    }
    for (size_t i = 0; i < r_.criteria.size(); ++i) {
      if (r_.criteria[i].id == t.id || r_.criteria[i].name == t.id) {
        if (verb == OutcomeVerb::Fires) {
          diags_.error("C0702", e.span, fmt::format("{} is a criterion: it passes, fails or is unknown", t.id),
                       fmt::format("write `{} fails`, `{} passes` or `{} is unknown`", t.id, t.id, t.id));
          return error_node(e.span);
        }
        n.op = Op::Outcome;
        n.index = static_cast<int32_t>(i);
        n.b = 0;
        return add(n);
      }
    }
    for (size_t i = 0; i < r_.signals.size(); ++i) {
      if (r_.signals[i].id == t.id || r_.signals[i].name == t.id) {
        if (verb != OutcomeVerb::Fires) {
          diags_.error("C0702", e.span, fmt::format("{} is a signal: it fires or not", t.id),
                       fmt::format("write `{} fires`, or `not {} fires`", t.id, t.id));
          return error_node(e.span);
        }
        n.op = Op::Outcome;
        n.index = static_cast<int32_t>(i);
        n.b = 1;
        return add(n);
      }
    }
    std::vector<std::string> ids;
    for (const auto& c : r_.criteria) ids.push_back(c.id);
    for (const auto& s : r_.signals) ids.push_back(s.id);
    std::string near = hint_name(t.id, ids);
    diags_.error("C0703", e.name_span, fmt::format("no criterion or signal is called '{}'", t.id),
                 near.empty() ? "" : fmt::format("did you mean '{}'?", near));
    return error_node(e.span);
  }

  // ---------------------------------------------------------------- aggregates
  int32_t aggregate(const syntax::Expr& e, Scope& scope) {
    const auto& a = *e.aggregate;
    if (scope.row_source >= -1) {
      diags_.error("C0801", e.span, "an aggregate cannot be nested inside another",
                   "define the inner one with `define` and refer to it with this.NAME");
      return error_node(e.span);
    }
    if (scope.in_function) {
      diags_.error("C0802", e.span, "a function cannot count cases", "use `define` without parameters");
      return error_node(e.span);
    }
    int32_t source = -1;
    if (a.source != "cases") {
      source = -2;
      for (size_t i = 0; i < r_.tables.size(); ++i)
        if (r_.tables[i].name == a.source) source = static_cast<int32_t>(i);
      if (source == -2) {
        std::vector<std::string> names{"cases"};
        for (const auto& t : r_.tables) names.push_back(t.name);
        std::string near = hint_name(a.source, names);
        diags_.error("C0803", a.source_span, fmt::format("unknown table '{}'", a.source),
                     near.empty() ? fmt::format("tables: {}", fmt::join(names, ", "))
                                  : fmt::format("did you mean '{}'?", near));
        return error_node(e.span);
      }
      use(Entity::Table, source);
    }
    Scope row = scope;
    row.row_source = source;
    row.lets = scope.lets;
    Aggregate agg;
    agg.source = source;
    agg.span = e.span;
    using F = syntax::AggregateFn;
    agg.fn = a.fn == F::Count ? AggregateFn::Count : a.fn == F::CountDistinct ? AggregateFn::CountDistinct
           : a.fn == F::Sum ? AggregateFn::Sum : a.fn == F::Min ? AggregateFn::Min
           : a.fn == F::Max ? AggregateFn::Max : AggregateFn::Collect;
    bool ok = true;
    if (a.value) {
      agg.value = expr(*a.value, row);
      if (failed(agg.value)) ok = false;
      else if (node(agg.value).scope & kReadsCase) {
        diags_.error("C0804", a.value->span, "the counted value must come from the rows being counted");
        ok = false;
      }
    }
    // Conditions: "with same a, b" then "where ...", split at `and`.
    std::vector<int32_t> conds;
    const TableSchema& src = source_schema(source);
    for (const auto& [name, span] : a.same) {
      int col = src.find(name);
      if (col < 0 || r_.cases.find(name) < 0) {
        diags_.error("C0805", span,
                     fmt::format("`same {}` needs a column '{}' in both the case and {}", name, name, src.name));
        ok = false;
        continue;
      }
      syntax::Expr row_name;
      row_name.kind = ExprKind::Name;
      row_name.name = name;
      row_name.span = span;
      int32_t r = name_ref(row_name, row);
      Scope outer = scope;
      outer.row_source = -2;
      auto c = resolve_case_side(name, span, outer);
      if (failed(r) || !c) {
        ok = false;
        continue;
      }
      if (!comparable(node(r).type, node(*c).type)) {
        type_error(span, fmt::format("`same {}` compares {} with {}", name, tn(r), tn(*c)));
        ok = false;
        continue;
      }
      conds.push_back(binary_node(Op::Eq, r, *c, Type::of(TypeKind::Bool), span));
    }
    if (a.where) {
      int32_t w = expr(*a.where, row);
      if (failed(w)) ok = false;
      else if (node(w).type.kind != TypeKind::Bool) {
        type_error(a.where->span, fmt::format("`where` needs a condition, found {}", tn(w)));
        ok = false;
      } else {
        split_and(w, conds);
      }
    }
    if (!ok) return error_node(e.span);

    // Result type.
    switch (agg.fn) {
      case AggregateFn::Count:
      case AggregateFn::CountDistinct:
        agg.type = Type::of(TypeKind::Integer);
        break;
      case AggregateFn::Sum:
        if (!node(agg.value).type.is_numeric()) {
          type_error(a.value->span, fmt::format("cannot add up {}: `sum` needs numbers", tn(agg.value)),
                     "to count different values, write `count distinct ... in ...`");
          return error_node(e.span);
        }
        agg.type = node(agg.value).type;
        break;
      case AggregateFn::Min:
      case AggregateFn::Max: {
        const Type& t = node(agg.value).type;
        if (!t.is_numeric() && t.kind != TypeKind::Date && t.kind != TypeKind::Duration) {
          type_error(a.value->span, fmt::format("cannot take the {} of {}", agg.fn == AggregateFn::Min ? "minimum" : "maximum", tn(agg.value)));
          return error_node(e.span);
        }
        agg.type = t;
        break;
      }
      case AggregateFn::Collect:
        if (!is_text(node(agg.value).type)) {
          type_error(a.value->span, fmt::format("collect gathers texts into a set; found {}", tn(agg.value)));
          return error_node(e.span);
        }
        agg.type = Type::set_of(TypeKind::Text);
        break;
    }

    bool nullable = agg.fn == AggregateFn::Min || agg.fn == AggregateFn::Max;
    for (int32_t c : conds) classify(c, agg, nullable);
    // Conditions on the row alone (`status = "pending"`) filter the rows once, and conditions
    // on the case alone are decided once per case: with no residual the aggregate is computed
    // once (per group of keys) and shared, so only a residual costs a comparison per pair.
    const bool indexed = !agg.keys.empty() || agg.range.has_value();
    if (!agg.residual.empty()) {
      std::string message =
          source == -1
              ? indexed ? "this condition cannot use an index: it is tested for every case against "
                          "every case the indexed conditions select, up to n² steps (10¹² for a "
                          "million cases) when many cases share those values"
                        : "this aggregate compares every case with every other case: about n² "
                          "steps (10¹² for a million cases)"
          : indexed ? fmt::format("this condition cannot use an index: it is tested for every case "
                                  "against every row of {} the indexed conditions select",
                                  src.name)
                    : fmt::format("this aggregate reads the whole table {} for every case: cases "
                                  "× rows steps",
                                  src.name);
      diags_.warning("W0801", node(agg.residual[0]).span, message,
                     "compare a column with this.FIELD using `=` or `between` so that it can be indexed");
    }
    Node n;
    n.op = Op::Aggregate;
    n.index = static_cast<int32_t>(r_.aggregates.size());
    n.type = agg.type;
    n.nullable = nullable;
    n.scope = kReadsCase;
    n.span = e.span;
    r_.aggregates.push_back(std::move(agg));
    return add(n);
  }

  void split_and(int32_t id, std::vector<int32_t>& out) {
    if (node(id).op == Op::And) {
      split_and(node(id).a, out);
      split_and(node(id).b, out);
    } else {
      out.push_back(id);
    }
  }

  static bool row_only(const Node& n) { return (n.scope & kReadsRow) && !(n.scope & kReadsCase); }
  static bool case_only(const Node& n) { return !(n.scope & kReadsRow); }

  void classify(int32_t c, Aggregate& agg, bool& nullable) {
    const Node& n = node(c);
    if (case_only(n)) {
      agg.case_only.push_back(c);
      nullable = nullable || n.nullable;
      return;
    }
    if (row_only(n)) {
      agg.row_only.push_back(c);
      return;
    }
    if (n.op == Op::Eq) {
      const Node& l = node(n.a);
      const Node& r = node(n.b);
      if (row_only(l) && case_only(r)) {
        agg.keys.push_back({n.a, n.b});
        nullable = nullable || r.nullable;
        return;
      }
      if (row_only(r) && case_only(l)) {
        agg.keys.push_back({n.b, n.a});
        nullable = nullable || l.nullable;
        return;
      }
    }
    auto orderable = [&](const Node& x) {
      return x.type.is_numeric() || x.type.kind == TypeKind::Date || x.type.kind == TypeKind::Duration;
    };
    auto add_bound = [&](int32_t row_side, int32_t bound, bool is_low, bool strict) {
      if (!agg.range) agg.range = AggregateRange{row_side, -1, -1, false, false};
      else if (!same_row_expr(agg.range->row, row_side)) return false;
      int32_t& slot = is_low ? agg.range->low : agg.range->high;
      if (slot != -1) return false;
      slot = bound;
      (is_low ? agg.range->low_strict : agg.range->high_strict) = strict;
      nullable = nullable || node(bound).nullable;
      return true;
    };
    if (n.op == Op::Between && n.aux == 0 && row_only(node(n.a)) && case_only(node(n.b)) &&
        case_only(node(n.c)) && orderable(node(n.a))) {
      auto saved = agg.range;
      if (add_bound(n.a, n.b, true, false) && add_bound(n.a, n.c, false, false)) return;
      agg.range = saved;
    }
    if (n.op == Op::Lt || n.op == Op::Le || n.op == Op::Gt || n.op == Op::Ge) {
      const Node& l = node(n.a);
      const Node& r = node(n.b);
      bool strict = n.op == Op::Lt || n.op == Op::Gt;
      if (row_only(l) && case_only(r) && orderable(l)) {
        bool is_low = n.op == Op::Gt || n.op == Op::Ge;  // row > bound
        if (add_bound(n.a, n.b, is_low, strict)) return;
      } else if (row_only(r) && case_only(l) && orderable(r)) {
        bool is_low = n.op == Op::Lt || n.op == Op::Le;  // bound < row
        if (add_bound(n.b, n.a, is_low, strict)) return;
      }
    }
    agg.residual.push_back(c);
  }

  bool same_row_expr(int32_t x, int32_t y) const {
    const Node& a = node(x);
    const Node& b = node(y);
    if (a.op != b.op || a.index != b.index || a.aux != b.aux) return false;
    if (a.op == Op::Literal) return false;
    auto same_child = [&](int32_t p, int32_t q) { return (p < 0 && q < 0) || (p >= 0 && q >= 0 && same_row_expr(p, q)); };
    if (a.op == Op::RowField) return true;
    return same_child(a.a, b.a) && same_child(a.b, b.b) && same_child(a.c, b.c);
  }

  // ---------------------------------------------------------------- rules
  std::vector<TemplatePart> reason_template(const syntax::TextSyntax& t, Scope& scope) {
    std::vector<TemplatePart> parts;
    // Read the raw source between the quotes so that spans of placeholders are exact.
    const std::string& src = sources_.file(t.span.file).text;
    uint32_t b = t.span.begin + 1, e = t.span.end > 0 ? t.span.end - 1 : 0;
    std::string lit;
    for (uint32_t i = b; i < e && i < src.size(); ++i) {
      char c = src[i];
      if (c == '\\' && i + 1 < e) {
        char n = src[++i];
        lit += n == 'n' ? '\n' : n == 't' ? '\t' : n;
        continue;
      }
      if (c == '{') {
        uint32_t close = i + 1;
        while (close < e && src[close] != '}' && src[close] != '{') ++close;
        if (close >= e || src[close] == '{') {
          // Unclosed: report it and read on as text, so that later placeholders still count.
          diags_.error("C0901", {t.span.file, i, i + 1}, "this `{` is not closed in the reason",
                       "write {name} to show a value, or \\{ for a brace");
          lit += c;
          continue;
        }
        std::string name = src.substr(i + 1, close - i - 1);
        Span s{t.span.file, i, close + 1};
        if (!lit.empty()) parts.push_back({lit, -1});
        lit.clear();
        syntax::Expr ref;
        ref.kind = ExprKind::Name;
        ref.name = name;
        ref.span = s;
        size_t before = diags_.error_count();
        int32_t id = -1;
        if (name.empty() || !std::all_of(name.begin(), name.end(), [](char ch) {
              return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_';
            })) {
          diags_.error("C0902", s, fmt::format("'{{{}}}' is not a name", name),
                       "placeholders hold one name, e.g. {phone}");
        } else {
          Diagnostics saved;
          std::swap(saved, diags_);
          id = name_ref(ref, scope);
          std::swap(saved, diags_);
          if (saved.has_errors() || failed(id)) {
            std::string near = hints_wanted() ? closest_name(name, visible_names(scope)) : std::string();
            diags_.error("C0903", s, fmt::format("the reason refers to '{}', which is not defined here", name),
                         near.empty() ? "use a field, a definition, a parameter or a `let` of this rule"
                                      : fmt::format("did you mean '{}'?", near));
            id = -1;
          }
        }
        (void)before;
        // A placeholder naming a parameter or a constant is evidence too: the reason shows the
        // value it had in this run, not a `?`.
        if (id >= 0) {
          parts.push_back({name, id});
          note_read(scope, name, id);
        }
        i = close;
        continue;
      }
      lit += c;
    }
    if (!lit.empty()) parts.push_back({lit, -1});
    return parts;
  }

  int32_t condition(const syntax::Expr* e, Scope& scope, Span where) {
    if (!e) return error_node(where);
    int32_t id = expr(*e, scope);
    if (!failed(id) && node(id).type.kind != TypeKind::Bool) {
      const std::string text = source_text(e->span);
      const Type& t = node(id).type;
      std::string hint;
      if (text.size() <= 40) {
        if (t.is_numeric()) hint = fmt::format("compare it with something, e.g. `{} > 0`", text);
        else if (t.kind == TypeKind::Set) hint = fmt::format("test a value in it, e.g. `\"x\" in {}`", text);
        else if (t.kind == TypeKind::Text) hint = fmt::format("compare it with something, e.g. `{} = \"x\"`", text);
      }
      type_error(e->span, fmt::format("a condition must be true or false; this is {}", tn(id)), hint);
      return error_node(e->span);
    }
    return id;
  }

  static std::vector<Evidence> evidence_of(const Reads& reads) {
    std::vector<Evidence> out;
    for (const Read& r : reads.items) out.push_back({r.name, r.node});
    return out;
  }

  void criteria_and_signals() {
    std::map<std::string, Span> ids, names;
    auto declare = [&](const std::string& id, const std::string& name, Span span) {
      if (auto prev = ids.find(id); prev != ids.end()) {
        auto& d = diags_.error("C1001", span, fmt::format("rule id '{}' is used twice", id),
                               "every criterion and signal needs its own id");
        d.notes.push_back({prev->second, "first used here"});
      }
      ids[id] = span;
      if (auto prev = names.find(name); prev != names.end()) {
        auto& d = diags_.error("C1002", span, fmt::format("rule name '{}' is used twice", name),
                               "every criterion and signal needs its own name");
        d.notes.push_back({prev->second, "first used here"});
      }
      names[name] = span;
    };
    for (const auto& c : rules_.criteria) {
      declare(c.id, c.name, c.span);
      Criterion out;
      out.id = c.id;
      out.name = c.name;
      out.span = c.span;
      if (c.description) out.description = c.description->text;
      Reads reads;
      Scope scope;
      scope.evidence = &reads;
      if (c.clauses.empty()) {
        diags_.error("C1003", c.span, fmt::format("criterion {} has no condition", c.id),
                     "add `pass when CONDITION`");
      }
      std::set<syntax::ClauseKind> kinds;
      for (const auto& cl : c.clauses) {
        if (!kinds.insert(cl.kind).second)
          diags_.error("C1004", cl.span, "this kind of clause is already given for this criterion");
        Clause k;
        k.kind = cl.kind == syntax::ClauseKind::Pass ? ClauseKind::Pass
               : cl.kind == syntax::ClauseKind::Fail ? ClauseKind::Fail : ClauseKind::Unknown;
        k.condition = condition(cl.condition.get(), scope, cl.span);
        k.text = cl.condition ? source_text(cl.condition->span) : "";
        out.clauses.push_back(k);
      }
      if (c.reasons.size() > 1) diags_.error("C1005", c.reasons[1].span, "a rule has one reason");
      if (!c.reasons.empty()) out.reason = reason_template(c.reasons[0], scope);
      out.evidence = evidence_of(reads);
      r_.criteria.push_back(std::move(out));
    }
    for (const auto& s : rules_.signals) {
      declare(s.id, s.name, s.span);
      Signal out;
      out.id = s.id;
      out.name = s.name;
      out.span = s.span;
      out.points = s.points;
      if (s.description) out.description = s.description->text;
      Reads reads;
      std::map<std::string, int32_t> lets;
      Scope scope;
      scope.evidence = &reads;
      scope.lets = &lets;
      for (const auto& l : s.lets) {
        // A clash is reported, but the `let` still takes the name within the signal, so that
        // the lines using it are not reported as well.
        if (auto it = lets.find(l.name); it != lets.end()) {
          auto& d = diags_.error("C1006", l.span, fmt::format("'{}' is already a `let` of this signal", l.name),
                                 "choose another name for this `let`");
          d.notes.push_back({node(it->second).span, "first defined here"});
        } else if (int col = r_.cases.find(l.name); col >= 0) {
          auto& d = diags_.error("C1006", l.span, fmt::format("'{}' is already a case field", l.name),
                                 "choose another name for this `let`");
          d.notes.push_back({r_.cases.columns[col].span, "declared here"});
        } else if (auto def = definition_index_.find(l.name); def != definition_index_.end()) {
          auto& d = diags_.error("C1006", l.span, fmt::format("'{}' is already a definition", l.name),
                                 "choose another name for this `let`");
          d.notes.push_back({rules_.definitions[def->second].span, "defined here"});
        } else if (auto p = param_index_.find(l.name); p != param_index_.end()) {
          auto& d = diags_.error("C1006", l.span, fmt::format("'{}' is already a parameter", l.name),
                                 "choose another name for this `let`");
          d.notes.push_back({r_.parameters[p->second].span, "declared here"});
        } else if (auto k = constant_index_.find(l.name); k != constant_index_.end()) {
          auto& d = diags_.error("C1006", l.span, fmt::format("'{}' is already a constant", l.name),
                                 "choose another name for this `let`");
          d.notes.push_back({r_.constants[k->second].span, "declared here"});
        }
        int32_t v = l.value ? expr(*l.value, scope) : error_node(l.span);
        Node n;
        n.op = Op::Let;
        n.index = r_.let_slots++;
        n.type = node(v).type;
        n.nullable = node(v).nullable;
        n.scope = kReadsCase;
        n.span = l.span;
        int32_t let_node = add(n);
        lets[l.name] = let_node;
        out.lets.push_back({l.name, v, n.index});
        note_read(scope, l.name, let_node);
      }
      if (s.fires.empty()) {
        diags_.error("C1007", s.span, fmt::format("signal {} has no `fires when` condition", s.id),
                     "add `fires when CONDITION`");
      } else {
        if (s.fires.size() > 1)
          diags_.error("C1008", s.fires_spans[1], fmt::format("signal {} has two `fires when` conditions", s.id),
                       "join them with `and` or `or`");
        out.fires = condition(s.fires[0].get(), scope, s.fires_spans[0]);
        out.fires_text = source_text(s.fires[0]->span);
      }
      if (s.reasons.size() > 1) diags_.error("C1005", s.reasons[1].span, "a rule has one reason");
      if (!s.reasons.empty()) out.reason = reason_template(s.reasons[0], scope);
      if (s.points == 0)
        diags_.warning("W1001", s.points_span, fmt::format("signal {} has zero points", s.id),
                       "it will never change a score");
      out.evidence = evidence_of(reads);
      r_.signals.push_back(std::move(out));
    }
  }

  void scores() {
    std::set<std::string> seen;
    for (const auto& s : rules_.scores) {
      Score out;
      out.name = s.name;
      out.span = s.span;
      if (!seen.insert(s.name).second || r_.cases.find(s.name) >= 0 || definition_index_.count(s.name)) {
        diags_.error("C1101", s.span, fmt::format("'{}' is already defined", s.name));
      } else if (auto p = param_index_.find(s.name); p != param_index_.end()) {
        shadow_warning(s.span, fmt::format("score '{}' is hidden by the parameter '{}': later scores and "
                                           "the disposition will read the parameter", s.name, s.name),
                       r_.parameters[p->second].span, "rename the score or the parameter");
      } else if (auto k = constant_index_.find(s.name); k != constant_index_.end()) {
        shadow_warning(s.span, fmt::format("score '{}' is hidden by the constant '{}': later scores and "
                                           "the disposition will read the constant", s.name, s.name),
                       r_.constants[k->second].span, "rename the score or the constant");
      }
      Scope scope;
      scope.allow_outcomes = true;
      scope.allow_scores = true;
      scope.score_limit = static_cast<int32_t>(r_.scores.size());
      switch (s.form) {
        case syntax::ScoreSyntax::Form::SignalPoints:
          out.form = Score::Form::SignalPoints;
          for (const auto& sig : r_.signals) out.integral = out.integral && sig.points == static_cast<int64_t>(sig.points);
          break;
        case syntax::ScoreSyntax::Form::Expression: {
          out.form = Score::Form::Expression;
          out.expr = s.expr ? expr(*s.expr, scope) : error_node(s.span);
          if (!failed(out.expr) && !node(out.expr).type.is_numeric()) {
            type_error(s.expr->span, fmt::format("a score is a number; this is {}", tn(out.expr)));
          }
          out.integral = node(out.expr).type.kind == TypeKind::Integer;
          break;
        }
        case syntax::ScoreSyntax::Form::Terms:
          out.form = Score::Form::Terms;
          for (const auto& t : s.terms) {
            ScoreTerm term;
            term.weight = t.weight;
            term.condition = condition(t.condition.get(), scope, t.span);
            term.text = t.condition ? source_text(t.condition->span) : "";
            out.integral = out.integral && t.weight == static_cast<int64_t>(t.weight);
            out.terms.push_back(term);
          }
          break;
      }
      r_.scores.push_back(std::move(out));
    }
  }

  void disposition() {
    if (rules_.dispositions.empty()) {
      diags_.error("C1201", {rules_.file, 0, 0}, "the ruleset has no disposition",
                   "add a `disposition ... end` block whose last line is a fallback such as "
                   "`APPROVE otherwise`");
      return;
    }
    for (size_t i = 1; i < rules_.dispositions.size(); ++i)
      diags_.error("C1202", rules_.dispositions[i].span, "a ruleset has one disposition block");
    const auto& d = rules_.dispositions[0];
    Scope scope;
    scope.allow_outcomes = true;
    scope.allow_scores = true;
    scope.score_limit = static_cast<int32_t>(r_.scores.size());
    bool fallback = false;
    for (const auto& l : d.lines) {
      if (fallback) {
        diags_.warning("W1201", l.span, "this disposition line can never be reached",
                       "it comes after `otherwise`");
      }
      DispositionLine out;
      out.outcome = l.outcome;
      out.span = l.span;
      if (l.condition) {
        out.condition = condition(l.condition.get(), scope, l.span);
        out.text = l.outcome + " when " + source_text(l.condition->span);
      } else {
        out.text = l.outcome + " otherwise";
        fallback = true;
      }
      r_.disposition.push_back(out);
    }
    if (!fallback) {
      diags_.error("C1203", d.span, "the disposition has no `otherwise` line",
                   "end it with a line such as `APPROVE otherwise` so that every case gets a disposition");
    }
  }

  // What an evaluation of a node descends into, as the later stages walk it: its operands,
  // and beyond its own expression, definitions into their body and aggregates into their
  // conditions, keys and ranges.
  template <typename Visit>
  void for_each_evaluated(const Node& n, Visit&& visit) const {
    switch (n.op) {
      case Op::Definition:
        if (n.index >= 0) visit(r_.definitions[n.index].root);
        return;
      case Op::Aggregate: {
        if (n.index < 0) return;
        const Aggregate& a = r_.aggregates[n.index];
        visit(a.value);
        for (int32_t c : a.case_only) visit(c);
        for (int32_t c : a.row_only) visit(c);
        for (int32_t c : a.residual) visit(c);
        for (const auto& k : a.keys) {
          visit(k.row);
          visit(k.cased);
        }
        if (a.range) {
          visit(a.range->row);
          visit(a.range->low);
          visit(a.range->high);
        }
        return;
      }
      default:
        for_each_operand(r_, n, visit);
    }
  }

  // Planning and evaluation walk expressions recursively, following definitions into their
  // bodies. Nesting is bounded per expression and per chain of definitions checked out of
  // order, but a chain written in order (each definition using the one before) was not: a
  // hundred thousand links overflowed the evaluator's stack. So the depth an evaluation can
  // reach is measured here, without recursion, and bounded.
  void bound_evaluation_depth() {
    const size_t n = r_.nodes.size();
    std::vector<int32_t> depth(n, -1);
    std::vector<std::pair<int32_t, bool>> stack;  // node, operands done
    int32_t deepest = -1;
    for (size_t root = 0; root < n; ++root) {
      if (depth[root] >= 0) continue;
      stack.push_back({static_cast<int32_t>(root), false});
      while (!stack.empty()) {
        auto [id, done] = stack.back();
        stack.pop_back();
        if (depth[id] >= 0) continue;
        if (!done) {
          stack.push_back({id, true});
          for_each_evaluated(r_.nodes[id], [&](int32_t c) {
            if (c >= 0 && depth[c] < 0) stack.push_back({c, false});
          });
          continue;
        }
        int32_t d = 1;
        for_each_evaluated(r_.nodes[id], [&](int32_t c) {
          if (c >= 0) d = std::max(d, depth[c] + 1);
        });
        depth[id] = d;
        if (deepest < 0 || d > depth[deepest]) deepest = id;
      }
    }
    if (deepest < 0 || depth[deepest] <= kMaxEvaluationDepth) return;
    // Name the outermost expression of the deepest path: the one the author wrote.
    diags_.error("C0308", r_.nodes[deepest].span,
                 fmt::format("evaluating this expression goes {} levels deep through its "
                             "definitions and functions; crible evaluates at most {}",
                             depth[deepest], kMaxEvaluationDepth),
                 "a long chain of definitions, each using the one before, is the usual cause: "
                 "compute the value in fewer steps");
  }

  // Marks which case columns the rules read, for loading and data minimisation.
  void mark_fields_read() {
    for (const Node& n : r_.nodes)
      if (n.op == Op::CaseField && n.index >= 0) r_.case_fields_read[n.index] = true;
    if (r_.case_key >= 0) r_.case_fields_read[r_.case_key] = true;
  }

  // ---------------------------------------------------------------- lints: shadowing, unused
  void shadow_warning(Span span, const std::string& message, Span hidden, const std::string& hint) {
    auto& d = diags_.warning("W0401", span, message, hint);
    d.notes.push_back({hidden, "declared here"});
  }

  // What a definition, parameter, constant or table is used by: a rule, score or the
  // disposition (no context), or another definition (which may itself be unused).
  enum class Entity : uint8_t { Definition, Parameter, Constant, Table };
  using EntityRef = std::pair<Entity, int32_t>;
  void use(Entity kind, int32_t index) {
    EntityRef e{kind, index};
    if (context_.empty()) root_uses_.insert(e);
    else if (context_.back() != e) uses_[context_.back()].insert(e);
  }

  // W0301..W0304: declared but never read by anything that decides a case.
  void unused() {
    std::set<EntityRef> used = root_uses_;
    std::vector<EntityRef> todo(used.begin(), used.end());
    while (!todo.empty()) {
      EntityRef e = todo.back();
      todo.pop_back();
      for (const EntityRef& u : uses_[e])
        if (used.insert(u).second) todo.push_back(u);
    }
    const char* kWho = "any criterion, signal, score or the disposition";
    for (size_t i = 0; i < rules_.definitions.size(); ++i) {
      const auto& d = rules_.definitions[i];
      const auto& index = d.is_function ? function_index_ : definition_index_;
      auto it = index.find(d.name);
      if (it == index.end() || it->second != static_cast<int32_t>(i)) continue;  // a duplicate
      if (used.count({Entity::Definition, static_cast<int32_t>(i)})) continue;
      diags_.warning("W0301", d.span,
                     fmt::format("{} '{}' is not used by {}", d.is_function ? "function" : "definition",
                                 d.name, kWho),
                     "remove it, or use it in a rule");
    }
    for (size_t i = 0; i < r_.parameters.size(); ++i)
      if (!used.count({Entity::Parameter, static_cast<int32_t>(i)}))
        diags_.warning("W0302", r_.parameters[i].span,
                       fmt::format("parameter '{}' is not used by {}", r_.parameters[i].name, kWho),
                       "remove it, or use it in a rule: as it is, `--param` changes nothing");
    for (size_t i = 0; i < r_.constants.size(); ++i)
      if (!used.count({Entity::Constant, static_cast<int32_t>(i)}))
        diags_.warning("W0303", r_.constants[i].span,
                       fmt::format("constant '{}' is not used by {}", r_.constants[i].name, kWho),
                       "remove it, or use it in a rule");
    for (size_t i = 0; i < r_.tables.size(); ++i)
      if (!used.count({Entity::Table, static_cast<int32_t>(i)}))
        diags_.warning("W0304", r_.tables[i].span,
                       fmt::format("table '{}' is not read by {}", r_.tables[i].name, kWho),
                       "remove it, or read it with an aggregate such as `sum ... in TABLE where ...`");
  }

  const syntax::Ruleset& rules_;
  const SourceSet& sources_;
  Diagnostics diags_;
  std::vector<EntityRef> context_;  // the definition being checked; empty in rules and scores
  std::set<EntityRef> root_uses_;
  std::map<EntityRef, std::set<EntityRef>> uses_;
  TypedRuleset r_;
  std::unordered_map<std::string, int32_t> param_index_, constant_index_;
  std::map<std::string, int32_t> definition_index_, function_index_;
  std::vector<DefState> def_state_;
  std::vector<int32_t> def_stack_;  // definitions being checked, outermost first
  // Hostile-input limits (see docs/language.md, "Diagnostics and limits").
  // Nested checking of definitions plus nested inlining of calls, together: each level costs
  // several stack frames (more under ASan), so this bounds the checker's recursion.
  bool inline_depth_reported_ = false;
  static constexpr int kMaxDefinitionDepth = 256;
  // Planning, evaluation and the lints recurse once per level (a link of a chain of
  // definitions is two: the reference and the operator). Measured with `ulimit -s 1024`: the
  // lints need ~340 bytes a level and overflowed at 3,800 levels, evaluation at 8,000; the
  // usual stack is 8 MB. 2,000 levels leave room under 1 MB.
  static constexpr int32_t kMaxEvaluationDepth = 2000;
  static constexpr size_t kMaxInlinedNodes = 1000000;    // typed nodes, when inlining a call
  int def_depth_ = 0;
  int inline_depth_ = 0;
  InlineLimit inline_limit_ = InlineLimit::None;
  const char* stack_base_ = nullptr;
  size_t stack_budget_ = 0;
  std::optional<Diagnostic> stack_error_;
  std::vector<int32_t> def_slot_;
  std::vector<std::vector<Read>> def_reads_;  // per definition: what its body reads directly
};

}  // namespace

Staged<TypedRuleset> check(const syntax::Ruleset& rules, const SourceSet& sources) {
  return Checker(rules, sources).run();
}

std::optional<Literal> parse_param_value(const Parameter& p, const std::string& text,
                                         std::string& error) {
  Literal lit;
  switch (p.type.kind) {
    case TypeKind::Date: {
      auto d = parse_date(text);
      if (!d) {
        error = fmt::format("'{}' is not a date (expected YYYY-MM-DD)", text);
        return std::nullopt;
      }
      lit.kind = TypeKind::Date;
      lit.i = *d;
      return lit;
    }
    case TypeKind::Integer: {
      char* end = nullptr;
      errno = 0;
      long long v = std::strtoll(text.c_str(), &end, 10);
      if (text.empty() || *end || errno) {
        error = fmt::format("'{}' is not a whole number", text);
        return std::nullopt;
      }
      lit.kind = TypeKind::Integer;
      lit.i = v;
      return lit;
    }
    case TypeKind::Number: {
      char* end = nullptr;
      double v = std::strtod(text.c_str(), &end);
      if (text.empty() || *end) {
        error = fmt::format("'{}' is not a number", text);
        return std::nullopt;
      }
      lit.kind = TypeKind::Number;
      lit.d = v;
      return lit;
    }
    case TypeKind::Bool:
      if (text != "true" && text != "false") {
        error = fmt::format("'{}' is not true or false", text);
        return std::nullopt;
      }
      lit.kind = TypeKind::Bool;
      lit.i = text == "true";
      return lit;
    case TypeKind::Text:
      if (p.type.domain && !p.type.domain->contains(text)) {
        error = fmt::format("'{}' is not one of the allowed values", text);
        return std::nullopt;
      }
      lit.kind = TypeKind::Text;
      lit.text = text;
      return lit;
    case TypeKind::Set: {
      lit.kind = TypeKind::Set;
      size_t start = 0;
      while (start <= text.size()) {
        size_t semi = text.find(';', start);
        std::string part = text.substr(start, semi == std::string::npos ? std::string::npos : semi - start);
        if (!part.empty()) lit.set.push_back(part);
        if (semi == std::string::npos) break;
        start = semi + 1;
      }
      std::sort(lit.set.begin(), lit.set.end());
      lit.set.erase(std::unique(lit.set.begin(), lit.set.end()), lit.set.end());
      return lit;
    }
    default:
      error = "this parameter's type cannot be given on the command line";
      return std::nullopt;
  }
}

}  // namespace crible::check
