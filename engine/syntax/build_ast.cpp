// Parsing with ANTLR and building the owned AST. Everything ANTLR-specific (its exceptions,
// its 4.9 runtime API, code-point token offsets) stays in this file; the parse tree is freed
// before `parse` returns.
#include <CribleLexer.h>
#include <CribleParser.h>
#include <antlr4-runtime.h>

#include <fmt/format.h>

#include <set>

#include "syntax/syntax.h"

namespace crible::syntax {
namespace {

using P = crible_gen::CribleParser;
using crible_gen::CribleLexer;

// ANTLR counts code points; spans count bytes. Built once per file from valid UTF-8.
class OffsetMap {
 public:
  explicit OffsetMap(const std::string& text) {
    byte_of_cp_.reserve(text.size() + 1);
    for (uint32_t i = 0; i < text.size(); ++i) {
      if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) byte_of_cp_.push_back(i);
    }
    byte_of_cp_.push_back(static_cast<uint32_t>(text.size()));
  }
  uint32_t byte(size_t cp) const {
    return cp < byte_of_cp_.size() ? byte_of_cp_[cp] : byte_of_cp_.back();
  }

 private:
  std::vector<uint32_t> byte_of_cp_;
};

// First invalid UTF-8 byte (or NUL), or npos. Overlongs and surrogates are invalid too.
size_t first_bad_byte(const std::string& s, std::string& why) {
  size_t i = 0, n = s.size();
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == 0) {
      why = "a NUL byte";
      return i;
    }
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len = 0;
    uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07;
    else {
      why = fmt::format("byte 0x{:02X} is not valid UTF-8", c);
      return i;
    }
    if (i + len > n) {
      why = "a UTF-8 sequence is cut short";
      return i;
    }
    for (int k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) {
        why = fmt::format("byte 0x{:02X} is not valid UTF-8", c);
        return i;
      }
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      why = fmt::format("byte 0x{:02X} starts an invalid UTF-8 sequence", c);
      return i;
    }
    i += len;
  }
  return std::string::npos;
}

std::string describe_token(const antlr4::dfa::Vocabulary& vocab, size_t type) {
  if (type == antlr4::Token::EOF) return "the end of the file";
  switch (type) {
    case CribleLexer::IDENT: return "a name";
    case CribleLexer::STRING: return "a text in quotes";
    case CribleLexer::INT: return "a whole number";
    case CribleLexer::DECIMAL: return "a number";
    case CribleLexer::DATE: return "a date";
    default: return vocab.getDisplayName(type);
  }
}

std::string token_text_for_message(const antlr4::Token* t) {
  if (!t || t->getType() == antlr4::Token::EOF) return "the end of the file";
  std::string s = t->getText();
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return "'" + s + "'";
}

class SyntaxErrors : public antlr4::BaseErrorListener {
 public:
  SyntaxErrors(Diagnostics& diags, uint32_t file, const OffsetMap& offsets, int limit)
      : diags_(diags), file_(file), offsets_(offsets), limit_(limit) {}

  void syntaxError(antlr4::Recognizer* recognizer, antlr4::Token* offending, size_t, size_t,
                   const std::string& antlr_message, std::exception_ptr) override {
    ++count_;
    if (count_ > limit_) return;
    Span span{file_, 0, 0};
    if (offending) {
      if (offending->getType() == CribleLexer::BAD_CHAR ||
          offending->getType() == CribleLexer::UNTERMINATED_STRING)
        return;  // already reported by the token scan, in better words
      span.begin = offsets_.byte(offending->getStartIndex());
      span.end = offending->getType() == antlr4::Token::EOF
                     ? span.begin
                     : offsets_.byte(offending->getStopIndex() + 1);
      if (offending->getType() == antlr4::Token::EOF) {
        span.begin = span.end = offsets_.byte(offending->getStartIndex());
      }
    }
    std::string hint;
    auto* parser = dynamic_cast<antlr4::Parser*>(recognizer);
    if (parser) {
      antlr4::misc::IntervalSet expected;
      try {
        expected = parser->getExpectedTokens();
      } catch (...) {
      }
      std::vector<std::string> names;
      for (size_t t : expected.toList()) {
        if (t == CribleLexer::UNTERMINATED_STRING || t == CribleLexer::BAD_CHAR) continue;
        names.push_back(describe_token(parser->getVocabulary(), t));
      }
      if (!names.empty() && names.size() <= 12) {
        hint = "expected " + (names.size() == 1 ? names[0] : "one of " + fmt::format("{}", fmt::join(names, ", ")));
      }
    }
    std::string message;
    if (antlr_message.rfind("missing ", 0) == 0) {
      message = "something is missing before " + token_text_for_message(offending);
    } else {
      message = "unexpected " + token_text_for_message(offending);
    }
    diags_.error("P0001", span, message, hint);
  }

  int count() const { return count_; }

 private:
  Diagnostics& diags_;
  uint32_t file_;
  const OffsetMap& offsets_;
  int limit_;
  int count_ = 0;
};

// Stops parsing after too many errors: past that point recovery only produces noise, and on
// garbage input it is where the time goes.
class CappedRecovery : public antlr4::DefaultErrorStrategy {
 public:
  CappedRecovery(const SyntaxErrors& errors, int limit) : errors_(errors), limit_(limit) {}
  void recover(antlr4::Parser* recognizer, std::exception_ptr e) override {
    if (errors_.count() > limit_) throw antlr4::ParseCancellationException("too many errors");
    DefaultErrorStrategy::recover(recognizer, e);
  }
  antlr4::Token* recoverInline(antlr4::Parser* recognizer) override {
    if (errors_.count() > limit_) throw antlr4::ParseCancellationException("too many errors");
    return DefaultErrorStrategy::recoverInline(recognizer);
  }

 private:
  const SyntaxErrors& errors_;
  int limit_;
};

class Builder {
 public:
  Builder(Diagnostics& diags, uint32_t file, const OffsetMap& offsets, const Limits& limits)
      : diags_(diags), file_(file), offsets_(offsets), limits_(limits) {}

  Ruleset build(P::RulesetContext* ctx) {
    Ruleset r;
    r.file = file_;
    if (auto* h = ctx->header(); h && h->STRING()) r.title = text(h->STRING()->getSymbol());
    for (auto* d : ctx->declaration()) declaration(d, r);
    return r;
  }

 private:
  Span span(antlr4::Token* t) const {
    if (!t) return {file_, 0, 0};
    if (t->getType() == antlr4::Token::EOF) {
      uint32_t b = offsets_.byte(t->getStartIndex());
      return {file_, b, b};
    }
    return {file_, offsets_.byte(t->getStartIndex()), offsets_.byte(t->getStopIndex() + 1)};
  }
  Span span(antlr4::ParserRuleContext* c) const {
    if (!c || !c->getStart()) return {file_, 0, 0};
    Span s = span(c->getStart());
    auto* stop = c->getStop();
    if (stop && stop->getType() != antlr4::Token::EOF &&
        stop->getStopIndex() + 1 >= c->getStart()->getStartIndex())
      s.end = offsets_.byte(stop->getStopIndex() + 1);
    if (s.end < s.begin) s.end = s.begin;
    return s;
  }
  Span join(Span a, Span b) const { return {file_, std::min(a.begin, b.begin), std::max(a.end, b.end)}; }
  static std::string name(antlr4::Token* t) { return t ? t->getText() : std::string(); }

  // Unescapes a quoted text token: \" \\ \n \t; anything else after a backslash is an error.
  TextSyntax text(antlr4::Token* t) {
    TextSyntax out;
    out.span = span(t);
    if (!t) return out;
    std::string raw = t->getText();
    if (raw.size() >= 2) raw = raw.substr(1, raw.size() - 2);
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '\\') {
        out.text += raw[i];
        continue;
      }
      char n = i + 1 < raw.size() ? raw[i + 1] : '\0';
      ++i;
      switch (n) {
        case '"': out.text += '"'; break;
        case '\\': out.text += '\\'; break;
        case 'n': out.text += '\n'; break;
        case 't': out.text += '\t'; break;
        case '{': out.text += "\\{"; break;  // kept escaped: reason templates read it
        case '}': out.text += "\\}"; break;
        default: {
          Span s{file_, out.span.begin + 1 + static_cast<uint32_t>(i) - 1,
                 out.span.begin + 1 + static_cast<uint32_t>(i) + 1};
          diags_.error("P0003", s, fmt::format("unknown escape '\\{}' in text", n),
                       "use \\\" for a quote, \\\\ for a backslash, \\n for a new line");
        }
      }
    }
    return out;
  }

  void declaration(P::DeclarationContext* d, Ruleset& r) {
    if (auto* c = d->casesDecl()) {
      SchemaSyntax s;
      s.is_cases = true;
      s.name = "cases";
      s.span = span(c->CASES()->getSymbol());
      for (auto* col : c->columnDecl()) s.columns.push_back(column(col));
      r.schemas.push_back(std::move(s));
    } else if (auto* t = d->tableDecl()) {
      SchemaSyntax s;
      s.name = name(t->name);
      s.span = t->name ? span(t->name) : span(t->TABLE()->getSymbol());
      for (auto* col : t->columnDecl()) s.columns.push_back(column(col));
      r.schemas.push_back(std::move(s));
    } else if (auto* p = d->parameterDecl()) {
      ParameterSyntax ps;
      ps.name = name(p->name);
      ps.span = span(p->name);
      if (p->typeExpr()) ps.type = type(p->typeExpr());
      if (p->expr()) ps.default_value = expr(p->expr());
      r.parameters.push_back(std::move(ps));
    } else if (auto* k = d->constantDecl()) {
      ConstantSyntax cs;
      cs.name = name(k->name);
      cs.span = span(k->name);
      if (k->expr()) cs.value = expr(k->expr());
      r.constants.push_back(std::move(cs));
    } else if (auto* df = d->defineDecl()) {
      DefineSyntax ds;
      ds.name = name(df->name);
      ds.span = span(df->name);
      for (auto* child : df->children) {
        if (child->getText() == "(") ds.is_function = true;
        if (child->getText() == "=") break;
      }
      for (auto* prm : df->param()) {
        DefineParamSyntax dp;
        dp.name = name(prm->name);
        dp.span = span(prm->name);
        if (prm->typeExpr()) dp.type = type(prm->typeExpr());
        ds.params.push_back(std::move(dp));
      }
      if (df->expr()) ds.body = expr(df->expr());
      r.definitions.push_back(std::move(ds));
    } else if (auto* cr = d->criterionDecl()) {
      r.criteria.push_back(criterion(cr));
    } else if (auto* s = d->signalDecl()) {
      r.signals.push_back(signal(s));
    } else if (auto* sc = d->scoreDecl()) {
      r.scores.push_back(score(sc));
    } else if (auto* dd = d->dispositionDecl()) {
      DispositionSyntax ds;
      ds.span = span(dd->DISPOSITION()->getSymbol());
      for (auto* line : dd->dispositionLine()) {
        DispositionLineSyntax l;
        if (auto* w = dynamic_cast<P::WhenLineContext*>(line)) {
          l.outcome = name(w->outcome);
          l.span = span(w->outcome);
          if (w->expr()) l.condition = expr(w->expr());
        } else if (auto* o = dynamic_cast<P::OtherwiseLineContext*>(line)) {
          l.outcome = name(o->outcome);
          l.span = span(o->outcome);
        }
        ds.lines.push_back(std::move(l));
      }
      r.dispositions.push_back(std::move(ds));
    }
  }

  ColumnSyntax column(P::ColumnDeclContext* c) {
    ColumnSyntax col;
    col.name = name(c->name);
    col.span = span(c->name);
    if (c->typeExpr()) col.type = type(c->typeExpr());
    for (auto* o : c->columnOption()) {
      ColumnOptionSyntax opt;
      for (auto* word : o->IDENT()) {
        if (!opt.text.empty()) opt.text += ' ';
        opt.text += word->getText();
      }
      opt.span = span(o);
      col.options.push_back(std::move(opt));
    }
    return col;
  }

  TypeSyntax type(P::TypeExprContext* t) {
    TypeSyntax ts;
    ts.span = span(t);
    if (auto* n = dynamic_cast<P::NamedTypeContext*>(t)) {
      ts.form = TypeSyntax::Form::Named;
      ts.name = n->IDENT() ? n->IDENT()->getText() : "";
    } else if (auto* e = dynamic_cast<P::EnumTypeContext*>(t)) {
      ts.form = TypeSyntax::Form::Enum;
      for (auto* s : e->STRING()) ts.values.push_back(text(s->getSymbol()).text);
    } else if (auto* s = dynamic_cast<P::SetTypeContext*>(t)) {
      ts.form = TypeSyntax::Form::Set;
      ts.name = s->IDENT() ? s->IDENT()->getText() : "";
    } else if (auto* se = dynamic_cast<P::SetEnumTypeContext*>(t)) {
      ts.form = TypeSyntax::Form::SetEnum;
      for (auto* s2 : se->STRING()) ts.values.push_back(text(s2->getSymbol()).text);
    }
    return ts;
  }

  CriterionSyntax criterion(P::CriterionDeclContext* c) {
    CriterionSyntax cs;
    cs.id = name(c->id);
    cs.name = name(c->name);
    cs.span = c->name ? join(span(c->id), span(c->name)) : span(c->id);
    if (c->description) cs.description = text(c->description);
    for (auto* clause : c->criterionClause()) {
      if (auto* r = dynamic_cast<P::CriterionReasonContext*>(clause)) {
        if (r->STRING()) cs.reasons.push_back(text(r->STRING()->getSymbol()));
        continue;
      }
      CriterionClauseSyntax cl;
      P::ExprContext* e = nullptr;
      if (auto* p = dynamic_cast<P::PassClauseContext*>(clause)) {
        cl.kind = ClauseKind::Pass;
        e = p->expr();
      } else if (auto* f = dynamic_cast<P::FailClauseContext*>(clause)) {
        cl.kind = ClauseKind::Fail;
        e = f->expr();
      } else if (auto* u = dynamic_cast<P::UnknownClauseContext*>(clause)) {
        cl.kind = ClauseKind::Unknown;
        e = u->expr();
      }
      cl.span = join(span(clause->getStart()), span(clause->getStart()));
      if (auto* when = clause->getToken(CribleLexer::WHEN, 0)) cl.span = join(cl.span, span(when->getSymbol()));
      if (e) cl.condition = expr(e);
      cs.clauses.push_back(std::move(cl));
    }
    return cs;
  }

  SignalSyntax signal(P::SignalDeclContext* s) {
    SignalSyntax ss;
    ss.id = name(s->id);
    ss.name = name(s->name);
    ss.span = s->name ? join(span(s->id), span(s->name)) : span(s->id);
    if (s->description) ss.description = text(s->description);
    if (s->number()) {
      ss.points = number(s->number());
      ss.points_span = span(s->number());
    }
    for (auto* clause : s->signalClause()) {
      if (auto* l = dynamic_cast<P::LetClauseContext*>(clause)) {
        LetSyntax ls;
        ls.name = name(l->name);
        ls.span = span(l->name);
        if (l->expr()) ls.value = expr(l->expr());
        ss.lets.push_back(std::move(ls));
      } else if (auto* f = dynamic_cast<P::FiresClauseContext*>(clause)) {
        if (f->expr()) {
          ss.fires.push_back(expr(f->expr()));
          ss.fires_spans.push_back(span(f->FIRES()->getSymbol()));
        }
      } else if (auto* r = dynamic_cast<P::SignalReasonContext*>(clause)) {
        if (r->STRING()) ss.reasons.push_back(text(r->STRING()->getSymbol()));
      }
    }
    return ss;
  }

  ScoreSyntax score(P::ScoreDeclContext* s) {
    ScoreSyntax sc;
    if (auto* p = dynamic_cast<P::PointsScoreContext*>(s)) {
      sc.form = ScoreSyntax::Form::SignalPoints;
      sc.name = name(p->name);
      sc.span = span(p->name);
    } else if (auto* e = dynamic_cast<P::ExprScoreContext*>(s)) {
      sc.form = ScoreSyntax::Form::Expression;
      sc.name = name(e->name);
      sc.span = span(e->name);
      if (e->expr()) sc.expr = expr(e->expr());
    } else if (auto* t = dynamic_cast<P::TermsScoreContext*>(s)) {
      sc.form = ScoreSyntax::Form::Terms;
      sc.name = name(t->name);
      sc.span = span(t->name);
      for (auto* term : t->scoreTerm()) {
        ScoreTermSyntax ts;
        if (term->weight) ts.weight = number(term->weight);
        ts.span = span(term->weight);
        if (term->expr()) ts.condition = expr(term->expr());
        sc.terms.push_back(std::move(ts));
      }
    }
    return sc;
  }

  double number(P::NumberContext* n) {
    if (!n) return 0;
    std::string digits = n->INT() ? n->INT()->getText() : n->DECIMAL() ? n->DECIMAL()->getText() : "0";
    double v = std::strtod(digits.c_str(), nullptr);
    return n->getStart()->getText() == "-" ? -v : v;
  }

  // --- expressions. Depth is counted so that a chain of 100,000 `or`s is an error here
  // rather than a stack overflow in every later stage that walks the tree.
  ExprPtr make(ExprKind kind, Span s) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->span = s;
    return e;
  }
  ExprPtr error_expr(Span s) {
    auto e = make(ExprKind::Bool, s);
    return e;
  }
  struct DepthGuard {
    Builder& b;
    explicit DepthGuard(Builder& builder) : b(builder) { ++b.depth_; }
    ~DepthGuard() { --b.depth_; }
  };
  bool too_deep(Span s) {
    if (depth_ <= limits_.max_expression_depth) return false;
    if (!reported_depth_) {
      diags_.error("P0005", s,
                   fmt::format("expression nests more than {} levels deep",
                               limits_.max_expression_depth),
                   "split it into named definitions with `define`");
      reported_depth_ = true;
    }
    return true;
  }

  ExprPtr expr(P::ExprContext* e) {
    if (!e) return error_expr({file_, 0, 0});
    if (auto* a = dynamic_cast<P::AggregateExprContext*>(e)) return aggregate(a->aggregate());
    if (auto* p = dynamic_cast<P::PlainExprContext*>(e)) return or_expr(p->orExpr());
    return error_expr(span(e));
  }

  ExprPtr aggregate(P::AggregateContext* a) {
    DepthGuard g(*this);
    auto e = make(ExprKind::Aggregate, span(a));
    if (too_deep(e->span)) return e;
    auto agg = std::make_unique<AggregateSyntax>();
    P::SourceContext* src = nullptr;
    P::FilterContext* filter = nullptr;
    if (auto* c = dynamic_cast<P::CountRowsContext*>(a)) {
      agg->fn = AggregateFn::Count;
      src = c->source();
      filter = c->filter();
    } else if (auto* d = dynamic_cast<P::CountDistinctContext*>(a)) {
      agg->fn = AggregateFn::CountDistinct;
      agg->value = additive(d->additive());
      src = d->source();
      filter = d->filter();
    } else if (auto* f = dynamic_cast<P::FoldValuesContext*>(a)) {
      switch (f->fn ? f->fn->getType() : 0) {
        case CribleLexer::SUM: agg->fn = AggregateFn::Sum; break;
        case CribleLexer::MIN: agg->fn = AggregateFn::Min; break;
        case CribleLexer::MAX: agg->fn = AggregateFn::Max; break;
        default: agg->fn = AggregateFn::Collect; break;
      }
      agg->value = additive(f->additive());
      src = f->source();
      filter = f->filter();
    }
    if (src) {
      agg->source = src->getText();
      agg->source_span = span(src);
    }
    if (auto* same = dynamic_cast<P::SameFilterContext*>(filter)) {
      for (auto* id : same->IDENT()) agg->same.push_back({id->getText(), span(id->getSymbol())});
      if (same->orExpr()) agg->where = or_expr(same->orExpr());
    } else if (auto* where = dynamic_cast<P::WhereFilterContext*>(filter)) {
      if (where->orExpr()) agg->where = or_expr(where->orExpr());
    }
    e->aggregate = std::move(agg);
    return e;
  }

  ExprPtr binary_chain(BinaryOp op, std::vector<ExprPtr> parts) {
    if (parts.empty()) return error_expr({file_, 0, 0});
    ExprPtr acc = std::move(parts[0]);
    for (size_t i = 1; i < parts.size(); ++i) {
      auto b = make(ExprKind::Binary, join(acc->span, parts[i]->span));
      b->op = op;
      b->args.push_back(std::move(acc));
      b->args.push_back(std::move(parts[i]));
      acc = std::move(b);
    }
    return acc;
  }

  ExprPtr or_expr(P::OrExprContext* o) {
    if (!o) return error_expr({file_, 0, 0});
    DepthGuard g(*this);
    auto parts_ctx = o->andExpr();
    depth_ += static_cast<int>(parts_ctx.size()) - 1;  // the chain nests left-deep
    bool deep = too_deep(span(o));
    depth_ -= static_cast<int>(parts_ctx.size()) - 1;
    if (deep) return error_expr(span(o));
    std::vector<ExprPtr> parts;
    for (auto* a : parts_ctx) parts.push_back(and_expr(a));
    return binary_chain(BinaryOp::Or, std::move(parts));
  }

  ExprPtr and_expr(P::AndExprContext* a) {
    DepthGuard g(*this);
    auto parts_ctx = a->notExpr();
    depth_ += static_cast<int>(parts_ctx.size()) - 1;
    bool deep = too_deep(span(a));
    depth_ -= static_cast<int>(parts_ctx.size()) - 1;
    if (deep) return error_expr(span(a));
    std::vector<ExprPtr> parts;
    for (auto* n : parts_ctx) parts.push_back(not_expr(n));
    return binary_chain(BinaryOp::And, std::move(parts));
  }

  ExprPtr not_expr(P::NotExprContext* n) {
    DepthGuard g(*this);
    if (too_deep(span(n))) return error_expr(span(n));
    if (auto* op = dynamic_cast<P::NotOpContext*>(n)) {
      auto e = make(ExprKind::Not, span(n));
      e->args.push_back(not_expr(op->notExpr()));
      return e;
    }
    auto* base = dynamic_cast<P::NotBaseContext*>(n);
    return comparison(base ? base->comparison() : nullptr);
  }

  ExprPtr comparison(P::ComparisonContext* c) {
    if (!c) return error_expr({file_, 0, 0});
    if (auto* cmp = dynamic_cast<P::CompareContext*>(c)) {
      auto e = make(ExprKind::Binary, span(c));
      std::string op = cmp->op ? cmp->op->getText() : "=";
      e->op = op == "=" ? BinaryOp::Eq : op == "!=" ? BinaryOp::Ne : op == "<" ? BinaryOp::Lt
            : op == "<=" ? BinaryOp::Le : op == ">" ? BinaryOp::Gt : BinaryOp::Ge;
      e->name_span = span(cmp->op);
      e->args.push_back(additive(cmp->additive(0)));
      e->args.push_back(additive(cmp->additive(1)));
      return e;
    }
    if (auto* m = dynamic_cast<P::MembershipContext*>(c)) {
      auto e = make(ExprKind::In, span(c));
      e->negated = m->NOT() != nullptr;
      e->name_span = span(m->IN()->getSymbol());
      e->args.push_back(additive(m->additive(0)));
      e->args.push_back(additive(m->additive(1)));
      return e;
    }
    if (auto* x = dynamic_cast<P::IntersectsContext*>(c)) {
      auto e = make(ExprKind::Intersects, span(c));
      e->name_span = span(x->INTERSECTS()->getSymbol());
      e->args.push_back(additive(x->additive(0)));
      e->args.push_back(additive(x->additive(1)));
      return e;
    }
    if (auto* b = dynamic_cast<P::BetweenContext*>(c)) {
      auto e = make(ExprKind::Between, span(c));
      e->negated = b->NOT() != nullptr;
      for (int i = 0; i < 3; ++i) e->args.push_back(additive(b->additive(i)));
      return e;
    }
    if (auto* p = dynamic_cast<P::PresenceContext*>(c)) {
      auto e = make(p->MISSING() ? ExprKind::IsMissing : ExprKind::IsPresent, span(c));
      e->args.push_back(additive(p->additive()));
      return e;
    }
    if (auto* o = dynamic_cast<P::OutcomeContext*>(c)) return outcome(o->outcomeTest());
    if (auto* b = dynamic_cast<P::CompareBaseContext*>(c)) return additive(b->additive());
    return error_expr(span(c));
  }

  ExprPtr outcome(P::OutcomeTestContext* o) {
    auto e = make(ExprKind::Outcome, span(o));
    auto test = std::make_unique<OutcomeTest>();
    P::VerbContext* verb = nullptr;
    if (auto* q = dynamic_cast<P::QuantifiedOutcomeContext*>(o)) {
      test->quantifier = q->quant && q->quant->getType() == CribleLexer::ALL ? Quantifier::All
                                                                             : Quantifier::Any;
      int k = q->kind ? static_cast<int>(q->kind->getType()) : 0;
      test->about_signals = k == CribleLexer::SIGNAL || k == CribleLexer::SIGNALS;
      verb = q->verb();
    } else if (auto* n = dynamic_cast<P::NamedOutcomeContext*>(o)) {
      test->id = name(n->id);
      e->name_span = span(n->id);
      verb = n->verb();
    }
    if (verb) {
      if (verb->PASSES() || verb->PASS()) test->verb = Verb::Passes;
      else if (verb->FAILS() || verb->FAIL()) test->verb = Verb::Fails;
      else if (verb->UNKNOWN()) test->verb = Verb::IsUnknown;
      else test->verb = Verb::Fires;
    }
    e->outcome = std::move(test);
    return e;
  }

  ExprPtr additive(P::AdditiveContext* a) {
    if (!a) return error_expr({file_, 0, 0});
    DepthGuard g(*this);
    auto parts = a->multiplicative();
    depth_ += static_cast<int>(parts.size()) - 1;
    bool deep = too_deep(span(a));
    depth_ -= static_cast<int>(parts.size()) - 1;
    if (deep || parts.empty()) return error_expr(span(a));
    ExprPtr acc = multiplicative(parts[0]);
    for (size_t i = 1; i < parts.size(); ++i) {
      auto b = make(ExprKind::Binary, {});
      b->op = i - 1 < a->op.size() && a->op[i - 1]->getText() == "-" ? BinaryOp::Sub : BinaryOp::Add;
      if (i - 1 < a->op.size()) b->name_span = span(a->op[i - 1]);
      ExprPtr rhs = multiplicative(parts[i]);
      b->span = join(acc->span, rhs->span);
      b->args.push_back(std::move(acc));
      b->args.push_back(std::move(rhs));
      acc = std::move(b);
    }
    return acc;
  }

  ExprPtr multiplicative(P::MultiplicativeContext* m) {
    DepthGuard g(*this);
    auto parts = m->unary();
    depth_ += static_cast<int>(parts.size()) - 1;
    bool deep = too_deep(span(m));
    depth_ -= static_cast<int>(parts.size()) - 1;
    if (deep || parts.empty()) return error_expr(span(m));
    ExprPtr acc = unary(parts[0]);
    for (size_t i = 1; i < parts.size(); ++i) {
      auto b = make(ExprKind::Binary, {});
      b->op = i - 1 < m->op.size() && m->op[i - 1]->getText() == "/" ? BinaryOp::Div : BinaryOp::Mul;
      if (i - 1 < m->op.size()) b->name_span = span(m->op[i - 1]);
      ExprPtr rhs = unary(parts[i]);
      b->span = join(acc->span, rhs->span);
      b->args.push_back(std::move(acc));
      b->args.push_back(std::move(rhs));
      acc = std::move(b);
    }
    return acc;
  }

  ExprPtr unary(P::UnaryContext* u) {
    DepthGuard g(*this);
    if (too_deep(span(u))) return error_expr(span(u));
    if (auto* n = dynamic_cast<P::NegateContext*>(u)) {
      auto e = make(ExprKind::Negate, span(u));
      e->args.push_back(unary(n->unary()));
      return e;
    }
    auto* b = dynamic_cast<P::UnaryBaseContext*>(u);
    return postfix(b ? b->postfix() : nullptr);
  }

  ExprPtr postfix(P::PostfixContext* p) {
    if (!p) return error_expr({file_, 0, 0});
    ExprPtr base = primary(p->primary());
    if (!p->unit) return base;
    auto e = make(ExprKind::Duration, span(p));
    e->name = p->unit->getType() == CribleLexer::WEEKS ? "weeks" : "days";
    e->name_span = span(p->unit);
    e->args.push_back(std::move(base));
    return e;
  }

  ExprPtr primary(P::PrimaryContext* p) {
    if (!p) return error_expr({file_, 0, 0});
    DepthGuard g(*this);
    if (too_deep(span(p))) return error_expr(span(p));
    Span s = span(p);
    if (auto* par = dynamic_cast<P::ParensContext*>(p)) {
      ExprPtr inner = expr(par->expr());
      inner->span = s;  // so that messages underline the parentheses too
      return inner;
    }
    if (auto* set = dynamic_cast<P::SetLiteralContext*>(p)) {
      auto e = make(ExprKind::SetLiteral, s);
      for (auto* x : set->expr()) e->args.push_back(expr(x));
      return e;
    }
    if (auto* call = dynamic_cast<P::CallContext*>(p)) {
      auto e = make(ExprKind::Call, s);
      e->name = name(call->fn);
      e->name_span = span(call->fn);
      for (auto* x : call->expr()) e->args.push_back(expr(x));
      return e;
    }
    if (auto* t = dynamic_cast<P::ThisRefContext*>(p)) {
      auto e = make(ExprKind::This, s);
      e->name = t->IDENT() ? t->IDENT()->getText() : "";
      e->name_span = t->IDENT() ? span(t->IDENT()->getSymbol()) : s;
      return e;
    }
    if (auto* n = dynamic_cast<P::NameRefContext*>(p)) {
      auto e = make(ExprKind::Name, s);
      e->name = n->IDENT()->getText();
      e->name_span = s;
      return e;
    }
    if (auto* b = dynamic_cast<P::BoolLiteralContext*>(p)) {
      auto e = make(ExprKind::Bool, s);
      e->bool_value = b->TRUE() != nullptr;
      return e;
    }
    if (auto* d = dynamic_cast<P::DateLiteralContext*>(p)) {
      auto e = make(ExprKind::Date, s);
      e->name = d->getText();
      return e;
    }
    if (auto* i = dynamic_cast<P::IntLiteralContext*>(p)) {
      auto e = make(ExprKind::Int, s);
      std::string digits = i->getText();
      errno = 0;
      char* end = nullptr;
      e->int_value = std::strtoll(digits.c_str(), &end, 10);
      if (errno == ERANGE) {
        diags_.error("P0004", s, "this whole number is too large",
                     "whole numbers must lie between -9223372036854775808 and 9223372036854775807");
      }
      return e;
    }
    if (auto* d = dynamic_cast<P::DecimalLiteralContext*>(p)) {
      auto e = make(ExprKind::Decimal, s);
      e->number_value = std::strtod(d->getText().c_str(), nullptr);
      return e;
    }
    if (auto* str = dynamic_cast<P::StringLiteralContext*>(p)) {
      auto e = make(ExprKind::Text, s);
      e->name = text(str->STRING()->getSymbol()).text;
      return e;
    }
    return error_expr(s);
  }

  Diagnostics& diags_;
  uint32_t file_;
  const OffsetMap& offsets_;
  const Limits& limits_;
  int depth_ = 0;
  bool reported_depth_ = false;
};

// Checks, before parsing, what would make ANTLR's recursive descent go too deep, and reports
// bad characters and unterminated texts in the author's words. True when parsing is safe.
bool scan_tokens(antlr4::CommonTokenStream& tokens, Diagnostics& diags, uint32_t file,
                 const OffsetMap& offsets, const Limits& limits) {
  bool safe = true;
  int depth = 0, prefix_run = 0;
  std::vector<antlr4::Token*> open;
  for (auto* t : tokens.getTokens()) {
    size_t type = t->getType();
    if (type == antlr4::Token::EOF) break;
    Span s{file, offsets.byte(t->getStartIndex()), offsets.byte(t->getStopIndex() + 1)};
    if (type == CribleLexer::BAD_CHAR) {
      diags.error("P0002", s, fmt::format("unexpected character '{}'", t->getText()),
                  "names use letters, digits and '_'; texts go in double quotes");
      continue;
    }
    if (type == CribleLexer::UNTERMINATED_STRING) {
      diags.error("P0006", s, "this text has no closing quote",
                  "add '\"' before the end of the line");
      continue;
    }
    std::string text = t->getText();
    if (text == "(" || text == "{") {
      open.push_back(t);
      ++depth;
    } else if ((text == ")" || text == "}") && depth > 0) {
      open.pop_back();
      --depth;
    }
    if (type == CribleLexer::NOT || text == "-") ++prefix_run;
    else prefix_run = 0;
    if (depth + prefix_run > limits.max_nesting) {
      diags.error("P0005", s,
                  fmt::format("expression nests more than {} levels deep", limits.max_nesting),
                  "split it into named definitions with `define`");
      return false;
    }
  }
  return safe;
}

}  // namespace

Staged<Ruleset> parse(const SourceSet& sources, uint32_t file, const Limits& limits) {
  Staged<Ruleset> out;
  Diagnostics diags;
  const std::string& text = sources.file(file).text;
  if (text.size() > limits.max_file_bytes) {
    diags.error("P0007", {file, 0, 0},
                fmt::format("rule file is {:.1f} MB; the limit is {} MB",
                            static_cast<double>(text.size()) / (1 << 20), limits.max_file_bytes >> 20),
                "a ruleset is a few kilobytes: is this the right file?");
    out.diagnostics = diags.take_sorted();
    return out;
  }
  std::string why;
  size_t bad = first_bad_byte(text, why);
  if (bad != std::string::npos) {
    uint32_t b = static_cast<uint32_t>(bad);
    diags.error("P0008", {file, b, b + 1},
                fmt::format("rule file is not valid UTF-8 text at byte {}: {}", bad, why),
                "save the file as UTF-8");
    out.diagnostics = diags.take_sorted();
    return out;
  }

  OffsetMap offsets(text);
  try {
    antlr4::ANTLRInputStream input(text);
    CribleLexer lexer(&input);
    lexer.removeErrorListeners();  // BAD_CHAR catches everything the lexer could reject
    antlr4::CommonTokenStream tokens(&lexer);
    tokens.fill();
    if (!scan_tokens(tokens, diags, file, offsets, limits)) {
      out.diagnostics = diags.take_sorted();
      return out;
    }
    crible_gen::CribleParser parser(&tokens);
    SyntaxErrors errors(diags, file, offsets, limits.max_syntax_errors);
    parser.removeErrorListeners();
    parser.addErrorListener(&errors);
    parser.setErrorHandler(std::make_shared<CappedRecovery>(errors, limits.max_syntax_errors));
    P::RulesetContext* tree = nullptr;
    try {
      tree = parser.ruleset();
    } catch (const antlr4::ParseCancellationException&) {
      diags.error("P0009", {file, static_cast<uint32_t>(text.size()), static_cast<uint32_t>(text.size())},
                  fmt::format("too many syntax errors; stopped after {}", limits.max_syntax_errors),
                  "fix the first ones and check again");
    }
    if (tree && !diags.has_errors()) {
      Builder builder(diags, file, offsets, limits);
      Ruleset ast = builder.build(tree);
      if (!diags.has_errors()) out.value = std::move(ast);
    }
    // The parse tree and tokens are owned by `parser` and `tokens` and die here.
  } catch (const std::exception& e) {
    diags.error("P0010", {file, 0, 0}, fmt::format("the parser failed: {}", e.what()),
                "please report this with the rule file");
  }
  out.diagnostics = diags.take_sorted();
  return out;
}

}  // namespace crible::syntax
