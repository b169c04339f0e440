// Lints that reason about conditions. Each question ("can this disposition line ever decide?")
// is settled by going through a finite set of worlds that covers every real case. Conditions are
// cut into atoms: a value compared with constants, `is missing`, a rule outcome, and any other
// test taken as a free yes/no. A value ranges over one representative per interval between the
// constants it is compared with (or per allowed text), and each field that may be missing is
// missing or not. Some worlds may be impossible in reality (two atoms taken as independent when
// they are not), but every real case falls in one of them, so "never" and "always" are safe to
// claim; the price is that some dead code goes unreported.
#include "check/detail/lint.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace crible::check::detail {
namespace {

enum Tv : uint8_t { kFalse = 1, kTrue = 2, kUnknown = 4 };  // bits, so that masks collect them

Tv t_and(Tv a, Tv b) {
  if (a == kFalse || b == kFalse) return kFalse;
  return a == kUnknown || b == kUnknown ? kUnknown : kTrue;
}
Tv t_or(Tv a, Tv b) {
  if (a == kTrue || b == kTrue) return kTrue;
  return a == kUnknown || b == kUnknown ? kUnknown : kFalse;
}
Tv t_not(Tv a) { return a == kTrue ? kFalse : a == kFalse ? kTrue : kUnknown; }
Tv tv(bool b) { return b ? kTrue : kFalse; }

// Past these, a question is left unanswered rather than slow down `crible check`.
constexpr size_t kMaxWorlds = 100000;
// And for all the questions of a file together, so that a huge generated ruleset still
// checks in seconds: the questions past it are left unanswered.
constexpr double kMaxTotalWorlds = 5e6;
constexpr size_t kMaxLeaves = 16;
// `any criterion fails` is worked out from each criterion's outcome when they have at most
// this many combinations; past it, it is taken as a free yes/no.
constexpr double kMaxRuleCombinations = 1024;

bool logical(Op op) { return op == Op::And || op == Op::Or || op == Op::Not; }

std::string literal_key(const Literal& l) {
  std::string k = fmt::format("{}:{}:{}:{}", static_cast<int>(l.kind), l.i, l.d, l.text);
  for (const auto& s : l.set) k += "," + s;
  return k;
}

// Facts about nodes that do not depend on the question: which nodes compute the same value,
// and which inputs may make a node missing (its "leaves").
class Facts {
 public:
  explicit Facts(const TypedRuleset& r)
      : r_(r), canon_(r.nodes.size(), -1), leaves_(r.nodes.size()),
        leaves_done_(r.nodes.size(), false), let_value_(r.let_slots, -1) {
    for (const auto& s : r.signals)
      for (const auto& l : s.lets)
        if (l.slot >= 0 && l.slot < r.let_slots) let_value_[l.slot] = l.value;
  }

  // Equal for nodes that compute the same thing from the same inputs.
  int canon(int32_t id) {
    if (canon_[id] >= 0) return canon_[id];
    const Node& n = r_.nodes[id];
    std::string key = fmt::format("{}|{}|{}", static_cast<int>(n.op), n.index, n.aux);
    if (n.op == Op::Outcome || n.op == Op::AnyOutcome) key += fmt::format("|{}", n.b);
    if (n.op == Op::Literal) key += "|" + literal_key(r_.literals[n.index]);
    for_each_operand(r_, n, [&](int32_t c) { key += fmt::format(",{}", canon(c)); });
    auto it = ids_.try_emplace(key, static_cast<int>(ids_.size())).first;
    return canon_[id] = it->second;
  }

  // The inputs whose absence makes the node missing: fields, parameters, aggregates, and the
  // operations that can give missing on their own (division, coalesce). A node is missing iff
  // one of its leaves is (a safe over-approximation for the last kinds).
  const std::vector<int>& leaves(int32_t id) {
    if (leaves_done_[id]) return leaves_[id];
    const Node& n = r_.nodes[id];
    std::vector<int> out;
    if (n.nullable) {
      switch (n.op) {
        case Op::Definition:
          out = leaves(r_.definitions[n.index].root);
          break;
        case Op::Let:
          if (n.index < static_cast<int32_t>(let_value_.size()) && let_value_[n.index] >= 0)
            out = leaves(let_value_[n.index]);
          break;
        case Op::CaseField: case Op::RowField: case Op::Param: case Op::Score:
        case Op::Aggregate: case Op::Div: case Op::Coalesce: case Op::Literal:
          break;
        default:
          for_each_operand(r_, n, [&](int32_t c) {
            const auto& more = leaves(c);
            out.insert(out.end(), more.begin(), more.end());
          });
      }
      if (out.empty()) {  // missing for a reason of its own
        out.push_back(canon(id));
        leaf_node_.try_emplace(out.back(), id);
      }
      std::sort(out.begin(), out.end());
      out.erase(std::unique(out.begin(), out.end()), out.end());
    }
    leaves_done_[id] = true;
    leaves_[id] = std::move(out);
    return leaves_[id];
  }

  // The name an author knows a leaf by: the column, or the text written.
  std::string leaf_name(int leaf, const std::function<std::string(Span)>& text_of) const {
    auto it = leaf_node_.find(leaf);
    if (it == leaf_node_.end()) return "?";
    const Node& n = r_.nodes[it->second];
    if (n.op == Op::CaseField) return r_.cases.columns[n.index].name;
    if (n.op == Op::Param) return r_.parameters[n.index].name;
    return text_of(n.span);
  }

 private:
  const TypedRuleset& r_;
  std::vector<int> canon_;
  std::map<std::string, int> ids_;
  std::vector<std::vector<int>> leaves_;
  std::vector<bool> leaves_done_;
  std::vector<int32_t> let_value_;
  std::map<int, int32_t> leaf_node_;
};

struct Var {
  enum Kind { Bool, Ordered, Text, Criterion, Signal } kind = Bool;
  std::vector<int> leaves;  // question-local leaf indexes: missing when one is
  bool integral = true;     // Ordered: integers, dates, durations
  std::set<double> consts;  // Ordered: the constants it is compared with
  std::vector<double> points;
  std::vector<std::string> texts;  // Text: the values named (or the enum's), then "any other"
  bool other = true;
  std::vector<uint8_t> outcomes;  // Criterion: 0 pass, 1 fail, 2 unknown; Signal: 0 not, 1 fires
  size_t size() const {
    switch (kind) {
      case Bool: return 2;
      case Criterion: case Signal: return outcomes.size();
      case Ordered: return points.size();
      case Text: return texts.size() + (other ? 1 : 0);
    }
    return 1;
  }
};

struct Atom {
  enum Form { Const, VarBool, Cmp, Range, Member, Missing, Outcome, AnyOutcome } form = Const;
  Tv constant = kUnknown;
  int var = -1;
  Op op = Op::Eq;          // Cmp: the value OP x
  double x = 0, hi = 0;    // Cmp, Range [x, hi]
  std::string text;        // Cmp on a text
  std::vector<std::string> set;
  bool negated = false;
  std::vector<int> leaves;  // Missing: the operand's leaves
  OutcomeVerb verb = OutcomeVerb::Passes;
  std::vector<int> vars;  // AnyOutcome: one per criterion or signal
  bool all = false;       // AnyOutcome: "all" rather than "any"
};

// The outcomes each criterion and signal can have (bit 1 << outcome code, as in Var), so that
// a disposition line testing an outcome that cannot happen is seen as such.
struct OutcomeDomains {
  std::vector<uint8_t> criteria, signals;
};

Op flip(Op op) {
  switch (op) {
    case Op::Lt: return Op::Gt;
    case Op::Le: return Op::Ge;
    case Op::Gt: return Op::Lt;
    case Op::Ge: return Op::Le;
    default: return op;
  }
}

// One question: the atoms of some conditions, and the worlds over them.
class Question {
 public:
  Question(const TypedRuleset& r, Facts& facts, const OutcomeDomains* domains = nullptr)
      : r_(r), facts_(facts), domains_(domains), atom_of_(r.nodes.size(), -1),
        mask_(r.nodes.size(), 0) {}

  void add(int32_t root) {
    const Node& n = r_.nodes[root];
    if (logical(n.op)) {
      for_each_operand(r_, n, [&](int32_t c) { add(c); });
      return;
    }
    if (atom_of_[root] < 0) {
      Atom a = make_atom(root);
      atom_of_[root] = static_cast<int>(atoms_.size());
      atoms_.push_back(std::move(a));
    }
  }

  // Fixes the values each variable ranges over; false when there are too many worlds.
  bool finish() {
    if (leaf_nodes_.size() > kMaxLeaves) return false;
    double& worlds = worlds_;
    worlds = static_cast<double>(size_t{1} << leaf_nodes_.size());
    for (auto& v : vars_) {
      if (v.kind == Var::Ordered) {
        std::vector<double> c(v.consts.begin(), v.consts.end());
        std::set<double> pts;
        for (size_t i = 0; i < c.size(); ++i) {
          pts.insert(c[i]);
          if (v.integral) {
            // Past 2^53, c ± 1 rounds back to c in a double and the values above and below
            // c had no representative: `x > 2305843009213693951` was "always false".
            pts.insert(c[i] - 1 < c[i] ? c[i] - 1 : std::nextafter(c[i], -HUGE_VAL));
            pts.insert(c[i] + 1 > c[i] ? c[i] + 1 : std::nextafter(c[i], HUGE_VAL));
          } else if (i + 1 < c.size()) {
            pts.insert((c[i] + c[i + 1]) / 2);
          }
        }
        if (!c.empty() && !v.integral) {
          pts.insert(c.front() - 1);
          pts.insert(c.back() + 1);
        }
        if (pts.empty()) pts.insert(0);
        v.points.assign(pts.begin(), pts.end());
      }
      worlds *= static_cast<double>(v.size());
      if (worlds > kMaxWorlds) return false;
    }
    return true;
  }

  // Calls f() once per world; eval() and missing_leaves() describe the current one.
  template <class F>
  void each_world(F f) {
    missing_.assign(leaf_nodes_.size(), 0);
    choice_.assign(vars_.size(), 0);
    while (true) {
      f();
      size_t i = 0;
      for (; i < missing_.size(); ++i) {
        if (!missing_[i]) {
          missing_[i] = 1;
          break;
        }
        missing_[i] = 0;
      }
      if (i < missing_.size()) continue;
      size_t j = 0;
      for (; j < vars_.size(); ++j) {
        if (++choice_[j] < vars_[j].size()) break;
        choice_[j] = 0;
      }
      if (j == vars_.size()) return;
    }
  }

  // The truth of a condition in the current world; remembered per node in mask().
  Tv eval(int32_t id) {
    const Node& n = r_.nodes[id];
    Tv v;
    switch (n.op) {
      case Op::And: v = t_and(eval(n.a), eval(n.b)); break;
      case Op::Or: v = t_or(eval(n.a), eval(n.b)); break;
      case Op::Not: v = t_not(eval(n.a)); break;
      default: v = atom_value(atoms_[atom_of_[id]]); break;
    }
    mask_[id] |= v;
    return v;
  }
  double worlds() const { return worlds_; }
  uint8_t mask(int32_t id) const {
    return mask_[id];
  }

  std::vector<int> missing_leaves() const {
    std::vector<int> out;
    for (size_t i = 0; i < missing_.size(); ++i)
      if (missing_[i]) out.push_back(leaf_nodes_[i]);
    return out;
  }

 private:
  bool is_literal(int32_t id) const {
    const Node& n = r_.nodes[id];
    return n.op == Op::Literal && r_.literals[n.index].kind != TypeKind::Error;
  }
  const Literal& lit(int32_t id) const { return r_.literals[r_.nodes[id].index]; }
  static double number(const Literal& l) {
    return l.kind == TypeKind::Number ? l.d : static_cast<double>(l.i);
  }

  std::vector<int> local_leaves(int32_t id) {
    std::vector<int> out;
    for (int g : facts_.leaves(id)) {
      auto it = std::find(leaf_nodes_.begin(), leaf_nodes_.end(), g);
      if (it == leaf_nodes_.end()) {
        leaf_nodes_.push_back(g);
        it = leaf_nodes_.end() - 1;
      }
      out.push_back(static_cast<int>(it - leaf_nodes_.begin()));
    }
    return out;
  }

  int var_for(int category, int key, Var::Kind kind, int32_t node_for_leaves) {
    auto [it, fresh] = var_index_.try_emplace({category, key}, static_cast<int>(vars_.size()));
    if (fresh) {
      Var v;
      v.kind = kind;
      if (kind == Var::Criterion || kind == Var::Signal) {
        const std::vector<uint8_t>* known = !domains_ ? nullptr : kind == Var::Criterion ? &domains_->criteria
                                                                                         : &domains_->signals;
        uint8_t mask = known && key < static_cast<int>(known->size()) ? (*known)[key] : 0;
        if (mask == 0) mask = kind == Var::Criterion ? 7 : 3;
        for (uint8_t o = 0; o < 3; ++o)
          if (mask & (1 << o)) v.outcomes.push_back(o);
      }
      if (node_for_leaves >= 0) {
        v.leaves = local_leaves(node_for_leaves);
        const Type& t = r_.nodes[node_for_leaves].type;
        v.integral = t.kind != TypeKind::Number;
        if (kind == Var::Text && t.domain) {
          v.texts = t.domain->values;
          v.other = false;
        }
      }
      vars_.push_back(std::move(v));
    }
    return it->second;
  }

  int term_var(int32_t term) {
    const Type& t = r_.nodes[term].type;
    Var::Kind kind = t.kind == TypeKind::Text ? Var::Text : t.kind == TypeKind::Bool ? Var::Bool : Var::Ordered;
    return var_for(static_cast<int>(kind), facts_.canon(term), kind, term);
  }

  static bool ordered(const Type& t) {
    return t.is_numeric() || t.kind == TypeKind::Date || t.kind == TypeKind::Duration;
  }

  Atom opaque(int32_t id) {
    Atom a;
    a.form = Atom::VarBool;
    a.var = var_for(static_cast<int>(Var::Bool), facts_.canon(id), Var::Bool, id);
    return a;
  }

  void note_text(int var, const std::string& s) {
    Var& v = vars_[var];
    if (v.other && std::find(v.texts.begin(), v.texts.end(), s) == v.texts.end()) v.texts.push_back(s);
  }

  Atom make_atom(int32_t id) {
    const Node& n = r_.nodes[id];
    Atom a;
    switch (n.op) {
      case Op::Literal:
        a.constant = is_literal(id) && lit(id).kind == TypeKind::Bool ? tv(lit(id).i != 0) : kUnknown;
        return a;
      case Op::Eq: case Op::Ne: case Op::Lt: case Op::Le: case Op::Gt: case Op::Ge: {
        int32_t term = -1, k = -1;
        Op op = n.op;
        if (is_literal(n.b) && !is_literal(n.a)) {
          term = n.a;
          k = n.b;
        } else if (is_literal(n.a) && !is_literal(n.b)) {
          term = n.b;
          k = n.a;
          op = flip(op);
        }
        if (term < 0) return opaque(id);
        const Type& t = r_.nodes[term].type;
        if (ordered(t) && (lit(k).kind != TypeKind::Text && lit(k).kind != TypeKind::Set)) {
          a.form = Atom::Cmp;
          a.var = term_var(term);
          a.op = op;
          a.x = number(lit(k));
          vars_[a.var].consts.insert(a.x);
          return a;
        }
        if (t.kind == TypeKind::Text && lit(k).kind == TypeKind::Text && (op == Op::Eq || op == Op::Ne)) {
          a.form = Atom::Cmp;
          a.var = term_var(term);
          a.op = op;
          a.text = lit(k).text;
          note_text(a.var, a.text);
          return a;
        }
        if (t.kind == TypeKind::Bool && lit(k).kind == TypeKind::Bool && (op == Op::Eq || op == Op::Ne)) {
          a.form = Atom::Cmp;
          a.var = term_var(term);
          a.op = op;
          a.x = static_cast<double>(lit(k).i != 0);
          return a;
        }
        return opaque(id);
      }
      case Op::Between:
        if (!is_literal(n.a) && is_literal(n.b) && is_literal(n.c) && ordered(r_.nodes[n.a].type)) {
          a.form = Atom::Range;
          a.var = term_var(n.a);
          a.x = number(lit(n.b));
          a.hi = number(lit(n.c));
          a.negated = n.aux != 0;
          vars_[a.var].consts.insert(a.x);
          vars_[a.var].consts.insert(a.hi);
          return a;
        }
        return opaque(id);
      case Op::In:
        if (!is_literal(n.a) && is_literal(n.b) && r_.nodes[n.a].type.kind == TypeKind::Text) {
          a.form = Atom::Member;
          a.var = term_var(n.a);
          a.set = lit(n.b).set;
          a.negated = n.aux != 0;
          for (const auto& s : a.set) note_text(a.var, s);
          return a;
        }
        return opaque(id);
      case Op::IsMissing:
      case Op::IsPresent:
        a.form = Atom::Missing;
        a.leaves = local_leaves(n.a);
        a.negated = n.op == Op::IsPresent;
        return a;
      case Op::Outcome:
        a.form = Atom::Outcome;
        a.var = outcome_var(n.b == 1, n.index);
        a.verb = static_cast<OutcomeVerb>(n.aux);
        return a;
      case Op::AnyOutcome: {
        // Exact over the rules' own outcomes when they are few, else a free yes/no.
        const bool signals = n.b == 1;
        const size_t count = signals ? r_.signals.size() : r_.criteria.size();
        double combinations = 1;
        for (size_t i = 0; i < count; ++i) {
          const std::vector<uint8_t>* known = !domains_ ? nullptr : signals ? &domains_->signals : &domains_->criteria;
          uint8_t mask = known && i < known->size() ? (*known)[i] : 0;
          combinations *= mask ? __builtin_popcount(mask) : signals ? 2 : 3;
        }
        if (combinations > kMaxRuleCombinations) return opaque(id);
        a.form = Atom::AnyOutcome;
        for (size_t i = 0; i < count; ++i) a.vars.push_back(outcome_var(signals, static_cast<int32_t>(i)));
        a.all = n.index == 1;
        a.verb = static_cast<OutcomeVerb>(n.aux);
        return a;
      }
      default:
        return opaque(id);
    }
  }

  int outcome_var(bool signal, int32_t index) {
    return signal ? var_for(100, index, Var::Signal, -1) : var_for(101, index, Var::Criterion, -1);
  }

  bool outcome_is(int var, OutcomeVerb verb) const {
    const Var& v = vars_[var];
    uint8_t o = v.outcomes[choice_[var]];
    if (v.kind == Var::Signal) return o == 1;
    return (verb == OutcomeVerb::Passes && o == 0) || (verb == OutcomeVerb::Fails && o == 1) ||
           (verb == OutcomeVerb::IsUnknown && o == 2);
  }

  bool var_missing(int var) const {
    for (int l : vars_[var].leaves)
      if (missing_[l]) return true;
    return false;
  }

  Tv atom_value(const Atom& a) const {
    switch (a.form) {
      case Atom::Const: return a.constant;
      case Atom::VarBool: return var_missing(a.var) ? kUnknown : tv(choice_[a.var] == 1);
      case Atom::Cmp: {
        if (var_missing(a.var)) return kUnknown;
        const Var& v = vars_[a.var];
        if (v.kind == Var::Text) {
          bool eq = choice_[a.var] < v.texts.size() && v.texts[choice_[a.var]] == a.text;
          return tv(a.op == Op::Eq ? eq : !eq);
        }
        double x = v.kind == Var::Bool ? static_cast<double>(choice_[a.var]) : v.points[choice_[a.var]];
        switch (a.op) {
          case Op::Eq: return tv(x == a.x);
          case Op::Ne: return tv(x != a.x);
          case Op::Lt: return tv(x < a.x);
          case Op::Le: return tv(x <= a.x);
          case Op::Gt: return tv(x > a.x);
          default: return tv(x >= a.x);
        }
      }
      case Atom::Range: {
        if (var_missing(a.var)) return kUnknown;
        double x = vars_[a.var].points[choice_[a.var]];
        bool in = x >= a.x && x <= a.hi;
        return tv(a.negated ? !in : in);
      }
      case Atom::Member: {
        if (var_missing(a.var)) return kUnknown;
        const Var& v = vars_[a.var];
        bool in = choice_[a.var] < v.texts.size() &&
                  std::find(a.set.begin(), a.set.end(), v.texts[choice_[a.var]]) != a.set.end();
        return tv(a.negated ? !in : in);
      }
      case Atom::Missing: {
        bool missing = false;
        for (int l : a.leaves) missing = missing || missing_[l];
        return tv(a.negated ? !missing : missing);
      }
      case Atom::Outcome: return tv(outcome_is(a.var, a.verb));
      case Atom::AnyOutcome: {
        bool any = false, all = true;  // as the evaluator: "all" of no rules is true
        for (int v : a.vars) {
          bool hit = outcome_is(v, a.verb);
          any = any || hit;
          all = all && hit;
        }
        return tv(a.all ? all : any);
      }
    }
    return kUnknown;
  }

  const TypedRuleset& r_;
  Facts& facts_;
  const OutcomeDomains* domains_;
  double worlds_ = 0;
  // Per node id, not hashed: eval() reads both for every node in every world, and that lookup
  // was most of `crible check`'s lint time.
  std::vector<int> atom_of_;  // index in atoms_, -1 if the node is not an atom of this question
  std::vector<Atom> atoms_;
  std::vector<Var> vars_;
  std::map<std::pair<int, int>, int> var_index_;
  std::vector<int> leaf_nodes_;  // global leaf ids
  std::vector<uint8_t> missing_;
  std::vector<uint32_t> choice_;
  std::vector<uint8_t> mask_;  // truth values seen, per node
};

const char* clause_words(ClauseKind k) {
  return k == ClauseKind::Pass ? "pass when" : k == ClauseKind::Fail ? "fail when" : "unknown when";
}

class Linter {
 public:
  Linter(const TypedRuleset& r, const std::function<std::string(Span)>& text_of, Diagnostics& diags)
      : r_(r), text_of_(text_of), diags_(diags), facts_(r) {}

  void run() {
    for (const auto& c : r_.criteria) criterion(c);
    for (const auto& s : r_.signals) {
      if (s.fires >= 0)
        constant_condition(s.fires, fmt::format("signal {} fires for every case", s.id),
                           fmt::format("signal {} never fires", s.id));
    }
    outcome_domains();
    for (const auto& s : r_.scores)
      for (const auto& t : s.terms)
        constant_condition(t.condition, fmt::format("this weight is added to {} for every case", s.name),
                           fmt::format("this weight is never added to {}", s.name));
    disposition();
  }

 private:
  bool affordable(Question& q) {
    if (!q.finish() || spent_ + q.worlds() > kMaxTotalWorlds) return false;
    spent_ += q.worlds();
    return true;
  }

  // W0501/W0502: a condition (or a part of one) whose truth does not depend on the case.
  void constant_condition(int32_t root, const std::string& always, const std::string& never) {
    Question q(r_, facts_, &domains_);
    q.add(root);
    if (!affordable(q)) return;
    q.each_world([&] { q.eval(root); });
    report_constant(q, root, always, never);
  }

  void report_constant(const Question& q, int32_t id, const std::string& always, const std::string& never) {
    const uint8_t m = q.mask(id);
    if (m == 0) return;
    const Node& n = r_.nodes[id];
    const bool top = !always.empty();
    if (m == kTrue || !(m & kTrue)) {
      const bool is_true = m == kTrue;
      std::string message, hint;
      if ((n.op == Op::IsMissing || n.op == Op::IsPresent) && !r_.nodes[n.a].nullable) {
        const std::string name = text_of_(r_.nodes[n.a].span);
        message = fmt::format("'{}' is never missing, so this test is always {}", name, is_true ? "true" : "false");
        const Node& operand = r_.nodes[n.a];
        if (operand.op == Op::CaseField && r_.cases.columns[operand.index].blank_is_empty)
          hint = fmt::format("column '{}' is marked `blank means none`: a blank field is the empty set", name);
        else if (operand.op == Op::CaseField)
          hint = fmt::format("column '{}' is required: a case without it is rejected, not decided", name);
        else
          hint = "it is computed from values that are never missing";
      } else if (n.op == Op::Outcome) {
        const bool signal = n.b == 1;
        const std::string rule = signal ? r_.signals[n.index].id : r_.criteria[n.index].id;
        const auto verb = static_cast<OutcomeVerb>(n.aux);
        const char* base = verb == OutcomeVerb::Passes ? "pass" : verb == OutcomeVerb::Fails ? "fail"
                         : verb == OutcomeVerb::IsUnknown ? "be unknown" : "fire";
        const char* third = verb == OutcomeVerb::Passes ? "passes" : verb == OutcomeVerb::Fails ? "fails"
                          : verb == OutcomeVerb::IsUnknown ? "is unknown" : "fires";
        message = is_true ? fmt::format("{} {} always {}, so this test is always true",
                                        signal ? "signal" : "criterion", rule, third)
                          : fmt::format("{} {} can never {}, so this test is always false",
                                        signal ? "signal" : "criterion", rule, base);
        hint = fmt::format("see the conditions of {}", rule);
      } else if (n.op == Op::AnyOutcome) {
        const bool signals = n.b == 1;
        const size_t count = signals ? r_.signals.size() : r_.criteria.size();
        message = fmt::format("this test is always {}: {}", is_true ? "true" : "false",
                              count == 0 ? (signals ? "the ruleset has no signals" : "the ruleset has no criteria")
                                         : (signals ? "given what each signal can do" : "given what each criterion can decide"));
        hint = count == 0 ? "remove this test, or write the rules it is about"
               : signals  ? "see the conditions of the signals"
                          : "see the conditions of the criteria";
      } else if (n.op == Op::Literal) {
        message = fmt::format("this condition is always {}", is_true ? "true" : "false");
        hint = "it compares constants only";
      } else if (is_true) {
        message = "this condition is always true";
        hint = "it holds whatever the case's values: check what it compares";
      } else {
        message = m & kUnknown ? "this condition is never true: it is false, or unknown for lack of data"
                               : "this condition is always false";
        hint = "no case can satisfy it: check what it compares";
      }
      if (top) hint = fmt::format("{}; {}", is_true ? always : never, hint);
      diags_.warning(is_true ? "W0501" : "W0502", n.span, message, hint);
      return;
    }
    if (logical(n.op))
      for_each_operand(r_, n, [&](int32_t c) { report_constant(q, c, {}, {}); });
  }

  // Which outcomes each criterion and signal can have (0 = not worked out: any).
  void outcome_domains() {
    for (const auto& c : r_.criteria) {
      uint8_t mask = 0;
      Question q(r_, facts_);
      for (const auto& cl : c.clauses) q.add(cl.condition);
      if (!c.clauses.empty() && affordable(q)) {
        q.each_world([&] {
          std::vector<Tv> t;
          for (const auto& cl : c.clauses) t.push_back(q.eval(cl.condition));
          uint8_t o = 2;  // unknown when no clause holds
          if (c.clauses.size() == 1) {
            const ClauseKind kind = c.clauses[0].kind;
            if (kind == ClauseKind::Unknown) o = t[0] == kTrue ? 2 : 0;
            else if (t[0] != kUnknown) o = (t[0] == kTrue) == (kind == ClauseKind::Pass) ? 0 : 1;
          } else {
            for (size_t j = 0; j < t.size(); ++j) {
              if (t[j] != kTrue) continue;
              o = c.clauses[j].kind == ClauseKind::Pass ? 0 : c.clauses[j].kind == ClauseKind::Fail ? 1 : 2;
              break;
            }
          }
          mask |= static_cast<uint8_t>(1 << o);
        });
      }
      domains_.criteria.push_back(mask);
    }
    for (const auto& s : r_.signals) {
      uint8_t mask = 0;
      Question q(r_, facts_);
      if (s.fires >= 0) {
        q.add(s.fires);
        if (affordable(q)) q.each_world([&] { mask |= static_cast<uint8_t>(q.eval(s.fires) == kTrue ? 2 : 1); });
      }
      domains_.signals.push_back(mask);
    }
  }

  // Conditions tried in order, the first that holds deciding (a criterion's clauses, the
  // disposition's lines), over every world of the question: which can hold, which ever decide,
  // which earlier ones decide whenever a later one holds, and whether none may hold.
  struct FirstHolding {
    std::vector<bool> holds, decides;
    std::vector<std::set<size_t>> decided_first_by;
    bool none_holds = false;
    std::vector<int> none_witness;  // the missing leaves of the first world where none holds
  };
  static FirstHolding first_holding(Question& q, const std::vector<int32_t>& conditions) {
    const size_t k = conditions.size();
    FirstHolding out{std::vector<bool>(k, false), std::vector<bool>(k, false),
                     std::vector<std::set<size_t>>(k), false, {}};
    std::vector<size_t> true_here;  // reused: one allocation, not one per world
    q.each_world([&] {
      true_here.clear();
      for (size_t j = 0; j < k; ++j)
        if (q.eval(conditions[j]) == kTrue) true_here.push_back(j);
      if (true_here.empty()) {
        if (!out.none_holds) out.none_witness = q.missing_leaves();
        out.none_holds = true;
        return;
      }
      out.decides[true_here[0]] = true;
      for (size_t j : true_here) {
        out.holds[j] = true;
        out.decided_first_by[j].insert(true_here[0]);
      }
    });
    return out;
  }

  // W1002: a clause an earlier clause always pre-empts; W1003: a criterion that falls through
  // to unknown without saying when.
  void criterion(const Criterion& c) {
    const size_t k = c.clauses.size();
    bool has_unknown = false;
    for (size_t j = 0; j < k; ++j) {
      const Clause& cl = c.clauses[j];
      has_unknown = has_unknown || cl.kind == ClauseKind::Unknown;
      std::string always, never;
      if (k == 1) {
        const char* verb = cl.kind == ClauseKind::Pass ? "passes" : cl.kind == ClauseKind::Fail ? "fails" : "is unknown";
        always = fmt::format("criterion {} always {}", c.id, verb);
        never = cl.kind == ClauseKind::Unknown ? fmt::format("criterion {} is never unknown", c.id)
                                               : fmt::format("criterion {} never {}", c.id, verb);
      } else {
        always = fmt::format("this clause decides criterion {} for every case that reaches it", c.id);
        never = fmt::format("this clause never decides criterion {}", c.id);
      }
      constant_condition(cl.condition, always, never);
    }
    if (k < 2) return;
    Question q(r_, facts_);
    std::vector<int32_t> conditions;
    for (const auto& cl : c.clauses) {
      q.add(cl.condition);
      conditions.push_back(cl.condition);
    }
    if (!affordable(q)) return;
    const FirstHolding found = first_holding(q, conditions);
    for (size_t j = 1; j < k; ++j) {
      if (!found.holds[j] || found.decides[j]) continue;
      const Clause& cl = c.clauses[j];
      auto& d = diags_.warning(
          "W1002", r_.nodes[cl.condition].span,
          cl.kind == ClauseKind::Unknown
              ? fmt::format("the unknown branch of criterion {} can never happen: whenever this condition "
                            "holds, an earlier clause has already decided",
                            c.id)
              : fmt::format("this `{}` can never decide criterion {}: whenever it holds, an earlier "
                            "clause has already decided",
                            clause_words(cl.kind), c.id),
          "clauses are tried in order and the first that holds decides: narrow the earlier clause, "
          "or remove this one");
      for (size_t e : found.decided_first_by[j])
        d.notes.push_back({r_.nodes[c.clauses[e].condition].span,
                           fmt::format("this `{}` decides first", clause_words(c.clauses[e].kind))});
    }
    if (found.none_holds && !has_unknown) {
      std::vector<std::string> names;
      for (int l : found.none_witness) names.push_back(facts_.leaf_name(l, text_of_));
      std::string hint =
          names.empty()
              ? "its clauses do not cover every case: add `unknown when ...` to say when it is "
                "unknown, or widen a clause"
              : fmt::format("this happens for example when {} {} missing: say so with `unknown when "
                            "...`, or add a clause that decides it",
                            fmt::join(names, " and "), names.size() == 1 ? "is" : "are");
      diags_.warning("W1003", c.span,
                     fmt::format("criterion {} is unknown when none of its clauses holds, and it has "
                                 "no `unknown when` clause",
                                 c.id),
                     hint);
    }
  }

  // W1202: a disposition line that can never decide a case, because earlier lines always
  // decide first (lines after `otherwise` are W1201, reported by the checker).
  void disposition() {
    std::vector<size_t> lines;  // conditional lines before the first `otherwise`
    int otherwise = -1;
    for (size_t i = 0; i < r_.disposition.size(); ++i) {
      const auto& l = r_.disposition[i];
      if (l.condition < 0) {
        otherwise = static_cast<int>(i);
        break;
      }
      lines.push_back(i);
      constant_condition(l.condition, fmt::format("every case that reaches this line gets {}", l.outcome),
                         "this line never decides a case");
    }
    if (lines.empty()) return;
    Question q(r_, facts_, &domains_);
    std::vector<int32_t> conditions;
    for (size_t i : lines) {
      q.add(r_.disposition[i].condition);
      conditions.push_back(r_.disposition[i].condition);
    }
    if (!affordable(q)) return;
    const size_t k = lines.size();
    const FirstHolding found = first_holding(q, conditions);
    for (size_t j = 1; j < k; ++j) {
      if (!found.holds[j] || found.decides[j]) continue;
      const auto& line = r_.disposition[lines[j]];
      auto& d = diags_.warning("W1202", line.span,
                               fmt::format("this disposition line can never decide a case: whenever its "
                                           "condition holds, an earlier line has already decided"),
                               "lines are tried in order and the first that holds decides: move this "
                               "line up, or narrow the earlier one");
      for (size_t e : found.decided_first_by[j])
        d.notes.push_back({r_.disposition[lines[e]].span,
                           fmt::format("'{}' decides these cases first", r_.disposition[lines[e]].text)});
    }
    if (otherwise >= 0 && !found.none_holds) {
      diags_.warning("W1202", r_.disposition[otherwise].span,
                     "`otherwise` is never reached: the lines above decide every case",
                     "write the last of them as `OUTCOME otherwise`, or check their conditions");
    }
  }

  const TypedRuleset& r_;
  const std::function<std::string(Span)>& text_of_;
  Diagnostics& diags_;
  Facts facts_;
  OutcomeDomains domains_;
  double spent_ = 0;  // worlds gone through so far, for kMaxTotalWorlds
};

}  // namespace

void lint_conditions(const TypedRuleset& rules, const std::function<std::string(Span)>& text_of,
                     Diagnostics& diags) {
  Linter(rules, text_of, diags).run();
}

}  // namespace crible::check::detail
