// Parsing with ANTLR and building the owned AST. Everything ANTLR-specific (its exceptions,
// its 4.9 runtime API, code-point token offsets) stays in this file and in the hand-written
// token source it feeds the parser (detail/rule_lexer.h); the parse tree is freed before
// `parse` returns.
#include <CribleLexer.h>
#include <CribleParser.h>
#include <antlr4-runtime.h>

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <string_view>

#include "syntax/detail/rule_lexer.h"
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

// First byte that is not UTF-8 text, or npos. Overlongs and surrogates are invalid too;
// `cut_by_end` says that the file ends in the middle of a character.
size_t first_bad_byte(const std::string& s, bool& cut_by_end) {
  cut_by_end = false;
  size_t i = 0, n = s.size();
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len = 0;
    uint32_t cp = 0;
    if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07;
    else return i;
    for (int k = 1; k < len; ++k) {
      if (i + k >= n) {
        cut_by_end = true;
        return i;
      }
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return i;
    i += len;
  }
  return std::string::npos;
}

// "8 MB", "64 KB", "100 bytes": file sizes in limits and messages.
std::string human_size(size_t bytes) {
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) return fmt::format("{} MB", bytes >> 20);
  if (bytes >= (1u << 20)) return fmt::format("{:.1f} MB", static_cast<double>(bytes) / (1u << 20));
  if (bytes >= 1024 && bytes % 1024 == 0) return fmt::format("{} KB", bytes >> 10);
  return fmt::format("{} bytes", bytes);
}

// --- Syntax errors in the author's words ---------------------------------------------------
// ANTLR reports "mismatched input X expecting {A, B, C, ...}". We say instead what was
// expected in a few words ("a value", "a clause", "`end`"), name the block an `end` is
// missing from, and point at a stray or unclosed bracket.

// Tokens that end any expression: a bracket still open when one arrives was never closed.
bool ends_expressions(size_t type);

constexpr const char* kValueHint =
    "a value is a name, a number, a date, a text in quotes, or an expression in parentheses";

// The message for an operand missing after `after` (an operator, usually).
std::string value_expected_after(std::string_view after, const std::string& found) {
  return fmt::format("expected a value after '{}', found {}", after, found);
}

// Whether a token can begin an operand (see `unary` and `primary` in the grammar).
bool starts_value(const antlr4::Token* t) {
  switch (t->getType()) {
    case CribleLexer::IDENT: case CribleLexer::THIS: case CribleLexer::TRUE:
    case CribleLexer::FALSE: case CribleLexer::DATE: case CribleLexer::INT:
    case CribleLexer::DECIMAL: case CribleLexer::STRING:
      return true;
    case antlr4::Token::EOF:
      return false;
    default: {
      const std::string text = t->getText();
      return text == "(" || text == "{" || text == "-";
    }
  }
}

bool is_declaration_keyword(size_t type) {
  switch (type) {
    case CribleLexer::CASES: case CribleLexer::TABLE: case CribleLexer::PARAMETER:
    case CribleLexer::CONSTANT: case CribleLexer::DEFINE: case CribleLexer::CRITERION:
    case CribleLexer::SIGNAL: case CribleLexer::SCORE: case CribleLexer::DISPOSITION:
    case CribleLexer::RULESET:
      return true;
    default:
      return false;
  }
}

bool ends_expressions(size_t type) {
  switch (type) {
    case antlr4::Token::EOF: case CribleLexer::END: case CribleLexer::WHEN:
    case CribleLexer::REASON: case CribleLexer::LET: case CribleLexer::OTHERWISE:
    case CribleLexer::POINTS:
      return true;
    default:
      return is_declaration_keyword(type);
  }
}

// The literal of a keyword or punctuation token as ANTLR spells it ("'end'", "'('"), or its
// symbolic name ("IDENT").
std::string token_key(const antlr4::dfa::Vocabulary& vocab, size_t type) {
  std::string lit = vocab.getLiteralName(type);
  return lit.empty() ? vocab.getSymbolicName(type) : lit;
}

std::string token_word(const antlr4::dfa::Vocabulary& vocab, size_t type) {
  switch (type) {
    case antlr4::Token::EOF: return "the end of the file";
    case CribleLexer::IDENT: return "a name";
    case CribleLexer::STRING: return "a text in quotes";
    case CribleLexer::INT: return "a whole number";
    case CribleLexer::DECIMAL: return "a number";
    case CribleLexer::DATE: return "a date";
    default: break;
  }
  std::string key = token_key(vocab, type);
  if (key.size() >= 2 && key.front() == '\'') return "`" + key.substr(1, key.size() - 2) + "`";
  return key;
}

// The token as the author wrote it, for "found 'x'".
std::string quoted_token(const antlr4::Token* t) {
  if (!t || t->getType() == antlr4::Token::EOF) return "the end of the file";
  std::string s = t->getText();
  if (s.size() > 40) {
    size_t cut = 37;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    s = s.substr(0, cut) + "...";
  }
  return "'" + s + "'";
}

// Groups of tokens that ANTLR lists one by one, said in a few words. A group is used when
// at least `min_present` of its tokens are expected.
struct TokenGroup {
  std::vector<std::string> keys;
  size_t min_present;
  const char* words;
};

const std::vector<TokenGroup>& token_groups() {
  static const std::vector<TokenGroup> kGroups = {
      {{"'cases'", "'table'", "'parameter'", "'constant'", "'define'", "'criterion'",
        "'signal'", "'score'", "'disposition'", "'ruleset'"},
       5, "a declaration (`cases`, `table`, `define`, `criterion`, `signal`, ...)"},
      {{"'('", "'{'", "'-'", "'this'", "'true'", "'false'", "DATE", "DECIMAL", "INT", "IDENT",
        "STRING", "'not'", "'count'", "'sum'", "'min'", "'max'", "'collect'", "'any'", "'all'"},
       5, "a value"},
      {{"'pass'", "'fail'", "'unknown'", "'reason'"}, 3,
       "a clause (`pass when`, `fail when`, `unknown when` or `reason`)"},
      {{"'let'", "'fires'", "'reason'"}, 3, "a line `let`, `fires when` or `reason`"},
      {{"'='", "'!='", "'<'", "'<='", "'>'", "'>='", "'+'", "'-'", "'*'", "'/'", "'and'", "'or'",
        "'in'", "'not'", "'between'", "'is'", "'intersects'", "'days'", "'day'", "'weeks'"},
       4, "an operator"},
      {{"'passes'", "'pass'", "'fails'", "'fail'", "'is'", "'fires'", "'fire'"}, 4,
       "`passes`, `fails`, `is unknown` or `fires`"},
      {{"'one'", "'set'", "IDENT"}, 3, "a type (`text`, `integer`, `date`, `one of {...}`, ...)"},
  };
  return kGroups;
}

std::string join_or(const std::vector<std::string>& items) {
  if (items.empty()) return {};
  std::string out = items[0];
  for (size_t i = 1; i < items.size(); ++i) out += (i + 1 == items.size() ? " or " : ", ") + items[i];
  return out;
}

std::vector<std::string> readable_expected(const antlr4::dfa::Vocabulary& vocab,
                                           const std::vector<size_t>& types) {
  std::vector<size_t> left;
  for (size_t t : types)
    if (t != CribleLexer::UNTERMINATED_STRING && t != CribleLexer::BAD_CHAR) left.push_back(t);
  std::vector<std::string> out;
  for (const auto& g : token_groups()) {
    size_t present = 0;
    for (size_t t : left)
      if (std::find(g.keys.begin(), g.keys.end(), token_key(vocab, t)) != g.keys.end()) ++present;
    if (present < g.min_present) continue;
    out.push_back(g.words);
    std::erase_if(left, [&](size_t t) {
      return std::find(g.keys.begin(), g.keys.end(), token_key(vocab, t)) != g.keys.end();
    });
  }
  for (size_t t : left) out.push_back(token_word(vocab, t));
  return out;
}

// The block an `end` closes, in words ("criterion E1"), with the token that opened it.
struct Block {
  std::string what;
  antlr4::Token* start = nullptr;
};

std::optional<Block> enclosing_block(antlr4::ParserRuleContext* ctx) {
  for (auto* c = ctx; c; c = dynamic_cast<antlr4::ParserRuleContext*>(c->parent)) {
    auto word = [](antlr4::Token* t) { return t ? " " + t->getText() : std::string(); };
    if (auto* x = dynamic_cast<P::CriterionDeclContext*>(c)) return Block{"criterion" + word(x->id), x->getStart()};
    if (auto* x = dynamic_cast<P::SignalDeclContext*>(c)) return Block{"signal" + word(x->id), x->getStart()};
    if (auto* x = dynamic_cast<P::TermsScoreContext*>(c)) return Block{"score" + word(x->name), x->getStart()};
    if (auto* x = dynamic_cast<P::TableDeclContext*>(c)) return Block{"table" + word(x->name), x->getStart()};
    if (dynamic_cast<P::CasesDeclContext*>(c)) return Block{"the case schema", c->getStart()};
    if (dynamic_cast<P::DispositionDeclContext*>(c)) return Block{"the disposition", c->getStart()};
  }
  return std::nullopt;
}

// How a declaration is written, for errors in its own words (not inside an expression).
std::string shape_hint(antlr4::ParserRuleContext* ctx) {
  if (!ctx) return {};
  if (dynamic_cast<P::ColumnDeclContext*>(ctx) || dynamic_cast<P::ColumnOptionContext*>(ctx))
    return "a column reads `NAME: TYPE`, then options such as `, required` or `, key`";
  if (dynamic_cast<P::TypeExprContext*>(ctx))
    return "types are text, integer, number, bool, date, one of {\"a\", \"b\"}, set of text";
  if (dynamic_cast<P::ParameterDeclContext*>(ctx))
    return "a parameter reads `parameter NAME: TYPE = DEFAULT`";
  if (dynamic_cast<P::ConstantDeclContext*>(ctx)) return "a constant reads `constant NAME = VALUE`";
  if (dynamic_cast<P::DefineDeclContext*>(ctx) || dynamic_cast<P::ParamContext*>(ctx))
    return "a definition reads `define NAME = VALUE` or `define NAME(PARAMETER: TYPE) = VALUE`";
  if (dynamic_cast<P::CriterionDeclContext*>(ctx) || dynamic_cast<P::CriterionClauseContext*>(ctx))
    return "a criterion reads `criterion ID NAME \"description\"`, then lines `pass when ...`, "
           "`fail when ...`, `unknown when ...`, `reason \"...\"`, then `end`";
  if (dynamic_cast<P::SignalDeclContext*>(ctx) || dynamic_cast<P::SignalClauseContext*>(ctx))
    return "a signal reads `signal ID NAME \"description\" points N`, then lines `let NAME = ...`, "
           "`fires when ...`, `reason \"...\"`, then `end`";
  if (dynamic_cast<P::ScoreDeclContext*>(ctx) || dynamic_cast<P::ScoreTermContext*>(ctx))
    return "a score reads `score NAME = points of fired signals`, `score NAME = VALUE`, or "
           "`score NAME` with lines `WEIGHT when CONDITION` and `end`";
  if (dynamic_cast<P::DispositionDeclContext*>(ctx) || dynamic_cast<P::DispositionLineContext*>(ctx))
    return "each line of the disposition reads `OUTCOME when CONDITION` or `OUTCOME otherwise`";
  return {};
}

// What the token scan found before parsing: tokens already reported and brackets that do not
// pair up, for the syntax error listener to say things better.
struct TokenFacts {
  std::vector<size_t> reported;          // token indexes of bad characters, open texts
  std::set<size_t> unmatched_closers;    // ')' or '}' that close nothing
  std::vector<antlr4::Token*> unclosed;  // '(' or '{' never closed, in order
  int reported_count = 0;                // errors the scan reported
  std::set<std::string> hints_given;     // each hint once per file: then the author has read it
};

class SyntaxErrors : public antlr4::BaseErrorListener {
 public:
  SyntaxErrors(Diagnostics& diags, uint32_t file, const OffsetMap& offsets, TokenFacts& facts,
               int limit)
      : diags_(diags), file_(file), offsets_(offsets), facts_(facts), limit_(limit),
        reported_(facts.reported_count) {}

  void syntaxError(antlr4::Recognizer* recognizer, antlr4::Token* offending, size_t, size_t,
                   const std::string& antlr_message, std::exception_ptr) override {
    ++raw_;
    if (stopped_) return;
    auto* parser = dynamic_cast<antlr4::Parser*>(recognizer);
    if (!parser || !offending) {
      report(Span{file_, 0, 0}, "the rule file cannot be read", "", {});
      return;
    }
    const size_t index = offending->getTokenIndex();
    bool fresh = is_fresh(parser, offending);
    last_error_ = std::max(last_error_, static_cast<long>(index));
    // Past this many errors, recovery is lost in garbage: stop rather than spend the time.
    if (raw_ > 20 * limit_) {
      stop(offending);
      return;
    }
    if (!fresh) return;
    if (offending->getType() == CribleLexer::BAD_CHAR ||
        offending->getType() == CribleLexer::UNTERMINATED_STRING)
      return;  // already reported by the token scan, in better words
    if (reported_ >= limit_) {
      stop(offending);
      return;
    }
    explain(parser, offending, antlr_message);
  }

  bool stopped() const { return stopped_; }
  Span stop_span() const { return stop_span_; }

 private:
  Span token_span(const antlr4::Token* t) const {
    if (t->getType() == antlr4::Token::EOF) {
      uint32_t b = offsets_.byte(t->getStartIndex());
      return {file_, b, b};
    }
    return {file_, offsets_.byte(t->getStartIndex()), offsets_.byte(t->getStopIndex() + 1)};
  }
  // The place just after the token before `t`: where a missing word goes.
  Span after_previous(antlr4::Parser* parser, const antlr4::Token* t) const {
    antlr4::Token* prev = previous(parser, t);
    if (!prev) return token_span(t);
    uint32_t e = offsets_.byte(prev->getStopIndex() + 1);
    return {file_, e, e};
  }
  static antlr4::Token* previous(antlr4::Parser* parser, const antlr4::Token* t) {
    size_t i = t->getTokenIndex();
    if (i == 0 || i == static_cast<size_t>(-1)) return nullptr;
    return parser->getTokenStream()->get(i - 1);
  }
  static bool starts_line(antlr4::Parser* parser, const antlr4::Token* t) {
    antlr4::Token* prev = previous(parser, t);
    return !prev || prev->getLine() != t->getLine();
  }

  // One error per stretch of confusion: after an error, the next one is reported only in a
  // declaration that begins on a fresh line after it. Recovery often resumes inside what it
  // takes for a new declaration (the `cases` of `count cases`), and what follows is noise.
  bool is_fresh(antlr4::Parser* parser, const antlr4::Token* offending) const {
    const long index = static_cast<long>(offending->getTokenIndex());
    long last = last_error_;
    for (size_t r : facts_.reported)
      if (static_cast<long>(r) <= index) last = std::max(last, static_cast<long>(r));
    if (last < 0) return true;
    const antlr4::Token* start = offending;
    for (auto* c = parser->getContext(); c; c = dynamic_cast<antlr4::ParserRuleContext*>(c->parent)) {
      if (dynamic_cast<P::DeclarationContext*>(c)) {
        start = c->getStart();
        break;
      }
    }
    if (!start || start->getType() == antlr4::Token::EOF) return false;
    return static_cast<long>(start->getTokenIndex()) > last && starts_line(parser, start);
  }

  void stop(const antlr4::Token* at) {
    stopped_ = true;
    stop_span_ = token_span(at);
  }

  void report(Span span, std::string message, std::string hint, std::vector<DiagnosticNote> notes) {
    ++reported_;
    if (!facts_.hints_given.insert(hint).second) hint.clear();
    auto& d = diags_.error("P0001", span, std::move(message), std::move(hint));
    d.notes = std::move(notes);
  }

  void explain(antlr4::Parser* parser, antlr4::Token* offending, const std::string& antlr_message) {
    std::vector<size_t> expected;
    try {
      for (auto t : parser->getExpectedTokens().toList())
        if (t >= 0) expected.push_back(static_cast<size_t>(t));
    } catch (...) {
    }
    auto expects = [&](size_t type) {
      return std::find(expected.begin(), expected.end(), type) != expected.end();
    };
    auto expects_text = [&](const char* literal) {
      for (size_t t : expected)
        if (token_key(parser->getVocabulary(), t) == literal) return true;
      return false;
    };
    const size_t type = offending->getType();
    const bool eof = type == antlr4::Token::EOF;
    const std::string found = quoted_token(offending);
    const std::string text = eof ? "" : offending->getText();
    const size_t index = offending->getTokenIndex();
    auto* ctx = parser->getContext();

    // A block left open: the next declaration (or the end of the file) arrives instead of `end`.
    if (auto block = enclosing_block(ctx);
        block && expects(CribleLexer::END) && (eof || is_declaration_keyword(type))) {
      report(after_previous(parser, offending), fmt::format("missing `end` to close {}", block->what),
             "every block (cases, table, criterion, signal, score, disposition) ends with `end`",
             {{token_span(block->start), fmt::format("{} starts here", block->what)}});
      return;
    }
    // Brackets that do not pair up, found by the token scan.
    if (facts_.unmatched_closers.count(index)) {
      const char* open = text == ")" ? "(" : "{";
      report(token_span(offending), fmt::format("this '{}' has no matching '{}'", text, open),
             fmt::format("remove it, or add the '{}' it should close", open), {});
      return;
    }
    for (auto it = facts_.unclosed.rbegin(); it != facts_.unclosed.rend(); ++it) {
      if ((*it)->getTokenIndex() >= index) continue;
      const std::string open = (*it)->getText();
      const char* close = open == "(" ? ")" : "}";
      if (!expects_text(open == "(" ? "')'" : "'}'") && !ends_expressions(type)) break;
      report(after_previous(parser, offending), fmt::format("missing '{}'", close), "",
             {{token_span(*it), fmt::format("to close this '{}'", open)}});
      return;
    }
    // `(x - )`: whether `-` continues the sum or ends it takes two tokens to decide, and when
    // neither fits ANTLR blames the `-` itself. What is missing is the operand after it.
    if ((text == "-" || text == "+") && index + 1 < parser->getTokenStream()->size()) {
      const antlr4::Token* next = parser->getTokenStream()->get(index + 1);
      if (!starts_value(next)) {
        report(next->getType() == antlr4::Token::EOF ? after_previous(parser, next) : token_span(next),
               value_expected_after(text, quoted_token(next)),
               kValueHint,
               {});
        return;
      }
    }
    if (type == CribleLexer::END && !enclosing_block(ctx)) {
      report(token_span(offending), "this `end` closes nothing",
             "remove it, or look above for a block closed twice", {});
      return;
    }

    std::vector<std::string> words = readable_expected(parser->getVocabulary(), expected);
    std::string wanted = join_or(words);
    std::string hint = shape_hint(ctx);
    std::string message;
    if (antlr_message.rfind("missing ", 0) == 0 && !wanted.empty()) {
      message = fmt::format("missing {} before {}", wanted, found);
    } else if (text == "," && !expects_text("','")) {
      message = "unexpected ','";
      hint = "to join two conditions write `and` or `or`; commas separate only the values of a "
             "set, the arguments of a function and the columns after `with same`";
    } else if (words.size() == 1 && words[0] == "a value") {
      antlr4::Token* prev = previous(parser, offending);
      message = prev ? value_expected_after(prev->getText(), found)
                     : fmt::format("expected a value, found {}", found);
      if (hint.empty())
        hint = kValueHint;
    } else if (eof) {
      message = wanted.empty() ? "the file ends too early"
                               : fmt::format("the file ends too early: expected {}", wanted);
    } else {
      message = wanted.empty() ? fmt::format("unexpected {}", found)
                               : fmt::format("expected {}, found {}", wanted, found);
    }
    report(eof ? after_previous(parser, offending) : token_span(offending), message, hint, {});
  }

  Diagnostics& diags_;
  uint32_t file_;
  const OffsetMap& offsets_;
  TokenFacts& facts_;
  int limit_;
  int reported_;
  int raw_ = 0;
  long last_error_ = -1;
  bool stopped_ = false;
  Span stop_span_;
};

// Stops parsing once the listener has stopped: past that point recovery only produces noise,
// and on garbage input it is where the time goes.
class CappedRecovery : public antlr4::DefaultErrorStrategy {
 public:
  explicit CappedRecovery(const SyntaxErrors& errors) : errors_(errors) {}
  void recover(antlr4::Parser* recognizer, std::exception_ptr e) override {
    if (errors_.stopped()) throw antlr4::ParseCancellationException("too many errors");
    DefaultErrorStrategy::recover(recognizer, e);
  }
  antlr4::Token* recoverInline(antlr4::Parser* recognizer) override {
    if (errors_.stopped()) throw antlr4::ParseCancellationException("too many errors");
    return DefaultErrorStrategy::recoverInline(recognizer);
  }
  void sync(antlr4::Parser* recognizer) override {
    if (errors_.stopped()) throw antlr4::ParseCancellationException("too many errors");
    DefaultErrorStrategy::sync(recognizer);
  }

 private:
  const SyntaxErrors& errors_;
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

  // Unescapes a quoted text token: \" \\ \n \t \{ \}; anything else after a backslash is an
  // error. (Reason templates read their braces from the source, where `\{` is still escaped.)
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
        case '{': out.text += '{'; break;
        case '}': out.text += '}'; break;
        default: {
          // The whole character after the backslash, even if it takes several bytes.
          size_t len = 1;
          while (i + len < raw.size() && (static_cast<unsigned char>(raw[i + len]) & 0xC0) == 0x80) ++len;
          Span s{file_, out.span.begin + static_cast<uint32_t>(i),
                 out.span.begin + 1 + static_cast<uint32_t>(i + len)};
          diags_.error("P0003", s, fmt::format("unknown escape '\\{}' in text", raw.substr(i, len)),
                       "use \\\" for a quote, \\\\ for a backslash, \\n for a new line, \\t for a tab, "
                       "and \\{ or \\} for a brace in a reason");
          i += len - 1;
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
      if (o->STRING()) opt.value = text(o->STRING()->getSymbol()).text;
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

  // --- expressions. Depth is the AST's, which every later stage walks recursively: a name
  // alone is 1 level, `not a` is 2, and a chain of n terms joined by `or` is n levels, since it
  // nests left-deep. Parentheses add nothing here; the token scan limits them, before ANTLR's
  // own recursion could go too deep.
  ExprPtr make(ExprKind kind, Span s) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->span = s;
    return e;
  }
  ExprPtr error_expr(Span s) { return make(ExprKind::Bool, s); }

  void report_depth(Span s, std::string message) {
    if (reported_depth_) return;  // once: the rest would repeat it
    reported_depth_ = true;
    diags_.error("P0005", s, std::move(message), "split it into named definitions with `define`");
  }

  // Builds a child `levels` below the node being built; an error expression if too deep.
  template <typename F>
  ExprPtr below(int levels, Span s, F&& build) {
    depth_ += levels;
    ExprPtr out;
    if (depth_ >= limits_.max_expression_depth) {
      report_depth(s, fmt::format("this expression nests more than {} levels deep",
                                  limits_.max_expression_depth));
      out = error_expr(s);
    } else {
      out = build();
    }
    depth_ -= levels;
    return out;
  }

  // A left-deep chain `a op b op c`: the first term sits n-1 levels down, term i (i >= 1)
  // n-i levels down.
  template <typename Ctx, typename Build, typename Op>
  ExprPtr chain(const std::vector<Ctx*>& parts, Span whole, const char* joined_by, Build&& build,
                Op&& op_of) {
    const size_t n = parts.size();
    if (n == 0) return error_expr(whole);
    if (n > static_cast<size_t>(limits_.max_expression_depth)) {
      report_depth(whole, fmt::format("this expression is too long: more than {} terms joined by {}",
                                      limits_.max_expression_depth, joined_by));
      return error_expr(whole);
    }
    if (n == 1) return build(parts[0]);
    ExprPtr acc = below(static_cast<int>(n - 1), whole, [&] { return build(parts[0]); });
    for (size_t i = 1; i < n; ++i) {
      ExprPtr rhs = below(static_cast<int>(n - i), whole, [&] { return build(parts[i]); });
      auto b = make(ExprKind::Binary, join(acc->span, rhs->span));
      op_of(i - 1, *b);
      b->args.push_back(std::move(acc));
      b->args.push_back(std::move(rhs));
      acc = std::move(b);
    }
    return acc;
  }

  ExprPtr expr(P::ExprContext* e) {
    if (!e) return error_expr({file_, 0, 0});
    if (auto* a = dynamic_cast<P::AggregateExprContext*>(e)) return aggregate(a->aggregate());
    if (auto* p = dynamic_cast<P::PlainExprContext*>(e)) return or_expr(p->orExpr());
    return error_expr(span(e));
  }

  ExprPtr aggregate(P::AggregateContext* a) {
    auto e = make(ExprKind::Aggregate, span(a));
    auto agg = std::make_unique<AggregateSyntax>();
    P::SourceContext* src = nullptr;
    P::FilterContext* filter = nullptr;
    P::AdditiveContext* value = nullptr;
    if (auto* c = dynamic_cast<P::CountRowsContext*>(a)) {
      agg->fn = AggregateFn::Count;
      src = c->source();
      filter = c->filter();
    } else if (auto* d = dynamic_cast<P::CountDistinctContext*>(a)) {
      agg->fn = AggregateFn::CountDistinct;
      value = d->additive();
      src = d->source();
      filter = d->filter();
    } else if (auto* f = dynamic_cast<P::FoldValuesContext*>(a)) {
      switch (f->fn ? f->fn->getType() : 0) {
        case CribleLexer::SUM: agg->fn = AggregateFn::Sum; break;
        case CribleLexer::MIN: agg->fn = AggregateFn::Min; break;
        case CribleLexer::MAX: agg->fn = AggregateFn::Max; break;
        default: agg->fn = AggregateFn::Collect; break;
      }
      value = f->additive();
      src = f->source();
      filter = f->filter();
    }
    if (value) agg->value = below(1, e->span, [&] { return additive(value); });
    if (src) {
      agg->source = src->getText();
      agg->source_span = span(src);
    }
    P::OrExprContext* where = nullptr;
    if (auto* same = dynamic_cast<P::SameFilterContext*>(filter)) {
      for (auto* id : same->IDENT()) agg->same.push_back({id->getText(), span(id->getSymbol())});
      where = same->orExpr();
    } else if (auto* w = dynamic_cast<P::WhereFilterContext*>(filter)) {
      where = w->orExpr();
    }
    if (where) agg->where = below(1, e->span, [&] { return or_expr(where); });
    e->aggregate = std::move(agg);
    return e;
  }

  ExprPtr or_expr(P::OrExprContext* o) {
    if (!o) return error_expr({file_, 0, 0});
    return chain(o->andExpr(), span(o), "`or`", [&](P::AndExprContext* a) { return and_expr(a); },
                 [](size_t, Expr& b) { b.op = BinaryOp::Or; });
  }

  ExprPtr and_expr(P::AndExprContext* a) {
    if (!a) return error_expr({file_, 0, 0});
    return chain(a->notExpr(), span(a), "`and`", [&](P::NotExprContext* n) { return not_expr(n); },
                 [](size_t, Expr& b) { b.op = BinaryOp::And; });
  }

  ExprPtr not_expr(P::NotExprContext* n) {
    if (!n) return error_expr({file_, 0, 0});
    if (auto* op = dynamic_cast<P::NotOpContext*>(n)) {
      auto e = make(ExprKind::Not, span(n));
      e->args.push_back(below(1, e->span, [&] { return not_expr(op->notExpr()); }));
      return e;
    }
    auto* base = dynamic_cast<P::NotBaseContext*>(n);
    return comparison(base ? base->comparison() : nullptr);
  }

  // The operands of a comparison-like node, one level below it.
  void operands(Expr& e, const std::vector<P::AdditiveContext*>& parts) {
    for (auto* p : parts) e.args.push_back(below(1, e.span, [&] { return additive(p); }));
  }

  // The grammar writes a comparison as its left operand and an optional tail (the operator
  // and what follows): the node spans both, its operands are the left one then the tail's.
  ExprPtr comparison(P::ComparisonContext* c) {
    if (!c) return error_expr({file_, 0, 0});
    if (auto* o = dynamic_cast<P::OutcomeContext*>(c)) return outcome(o->outcomeTest());
    auto* base = dynamic_cast<P::CompareBaseContext*>(c);
    if (!base) return error_expr(span(c));
    P::ComparisonTailContext* tail = base->comparisonTail();
    if (!tail) return additive(base->additive());
    auto with_operands = [&](ExprKind kind, std::vector<P::AdditiveContext*> right) {
      auto e = make(kind, span(c));
      right.insert(right.begin(), base->additive());
      operands(*e, right);
      return e;
    };
    if (auto* cmp = dynamic_cast<P::CompareContext*>(tail)) {
      std::string op = cmp->op ? cmp->op->getText() : "=";
      auto e = with_operands(ExprKind::Binary, {cmp->additive()});
      e->op = op == "=" ? BinaryOp::Eq : op == "!=" ? BinaryOp::Ne : op == "<" ? BinaryOp::Lt
            : op == "<=" ? BinaryOp::Le : op == ">" ? BinaryOp::Gt : BinaryOp::Ge;
      e->name_span = span(cmp->op);
      return e;
    }
    if (auto* m = dynamic_cast<P::MembershipContext*>(tail)) {
      auto e = with_operands(ExprKind::In, {m->additive()});
      e->negated = m->NOT() != nullptr;
      e->name_span = span(m->IN()->getSymbol());
      return e;
    }
    if (auto* x = dynamic_cast<P::IntersectsContext*>(tail)) {
      auto e = with_operands(ExprKind::Intersects, {x->additive()});
      e->name_span = span(x->INTERSECTS()->getSymbol());
      return e;
    }
    if (auto* b = dynamic_cast<P::BetweenContext*>(tail)) {
      auto e = with_operands(ExprKind::Between, b->additive());
      e->negated = b->NOT() != nullptr;
      return e;
    }
    if (auto* p = dynamic_cast<P::PresenceContext*>(tail))
      return with_operands(p->MISSING() ? ExprKind::IsMissing : ExprKind::IsPresent, {});
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
    return chain(a->multiplicative(), span(a), "`+` or `-`",
                 [&](P::MultiplicativeContext* m) { return multiplicative(m); },
                 [&](size_t i, Expr& b) {
                   b.op = i < a->op.size() && a->op[i]->getText() == "-" ? BinaryOp::Sub : BinaryOp::Add;
                   if (i < a->op.size()) b.name_span = span(a->op[i]);
                 });
  }

  ExprPtr multiplicative(P::MultiplicativeContext* m) {
    if (!m) return error_expr({file_, 0, 0});
    return chain(m->unary(), span(m), "`*` or `/`", [&](P::UnaryContext* u) { return unary(u); },
                 [&](size_t i, Expr& b) {
                   b.op = i < m->op.size() && m->op[i]->getText() == "/" ? BinaryOp::Div : BinaryOp::Mul;
                   if (i < m->op.size()) b.name_span = span(m->op[i]);
                 });
  }

  ExprPtr unary(P::UnaryContext* u) {
    if (!u) return error_expr({file_, 0, 0});
    if (auto* n = dynamic_cast<P::NegateContext*>(u)) {
      auto e = make(ExprKind::Negate, span(u));
      e->args.push_back(below(1, e->span, [&] { return unary(n->unary()); }));
      return e;
    }
    auto* b = dynamic_cast<P::UnaryBaseContext*>(u);
    return postfix(b ? b->postfix() : nullptr);
  }

  ExprPtr postfix(P::PostfixContext* p) {
    if (!p) return error_expr({file_, 0, 0});
    if (!p->unit) return primary(p->primary());
    auto e = make(ExprKind::Duration, span(p));
    e->name = p->unit->getType() == CribleLexer::WEEKS ? "weeks" : "days";
    e->name_span = span(p->unit);
    e->args.push_back(below(1, e->span, [&] { return primary(p->primary()); }));
    return e;
  }

  ExprPtr primary(P::PrimaryContext* p) {
    if (!p) return error_expr({file_, 0, 0});
    Span s = span(p);
    if (auto* par = dynamic_cast<P::ParensContext*>(p)) {
      ExprPtr inner = expr(par->expr());
      inner->span = s;  // so that messages underline the parentheses too
      return inner;
    }
    if (auto* set = dynamic_cast<P::SetLiteralContext*>(p)) {
      auto e = make(ExprKind::SetLiteral, s);
      for (auto* x : set->expr()) e->args.push_back(below(1, s, [&] { return expr(x); }));
      return e;
    }
    if (auto* call = dynamic_cast<P::CallContext*>(p)) {
      auto e = make(ExprKind::Call, s);
      e->name = name(call->fn);
      e->name_span = span(call->fn);
      for (auto* x : call->expr()) e->args.push_back(below(1, s, [&] { return expr(x); }));
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

// A better hint than "unexpected character" for what authors coming from other tools type.
std::string bad_char_hint(const std::string& c) {
  if (c == "&" || c == "&&") return "join conditions with `and`";
  if (c == "|" || c == "||") return "join conditions with `or`";
  if (c == "!") return "write `not` to negate a condition, `!=` for \"is not equal to\"";
  if (c == "'") return "texts go in double quotes: \"like this\"";
  if (c == ";") return "lines need no `;` at their end";
  if (c == "[" || c == "]") return "sets are written in braces: {\"a\", \"b\"}";
  if (static_cast<unsigned char>(c[0]) >= 0x80)
    return "names use the letters a to z, digits and '_'; other letters may appear only in "
           "texts in quotes and comments";
  return "names use letters, digits and '_'; texts go in double quotes";
}

// Runs of binary operators in one expression, per bracket level, for the safety net below.
struct Chains {
  int or_ = 0, and_ = 0, add = 0, mul = 0;
  bool between = false;  // the next `and` is the one of `between ... and ...`
};

// Reads the tokens before parsing: reports bad characters and unterminated texts in the
// author's words, pairs up brackets for the syntax errors, and stops what would make ANTLR's
// recursive descent go too deep (nesting) or slow (chains of 100,000 `or`s build a parse tree
// of millions of nodes before the AST builder can object). Returns false to skip parsing.
// The parser's vocabulary names every token type of the grammar; a parser over no input is
// the way to it before the tokens exist.
const detail::TokenTypes& token_types() {
  static const detail::TokenTypes types = [] {
    std::vector<std::unique_ptr<antlr4::Token>> eof;
    eof.push_back(std::make_unique<antlr4::CommonToken>(antlr4::Token::EOF));
    antlr4::ListTokenSource none(std::move(eof));
    antlr4::CommonTokenStream stream(&none);
    P parser(&stream);
    return detail::TokenTypes(parser.getVocabulary());
  }();
  return types;
}

bool scan_tokens(antlr4::CommonTokenStream& tokens, const std::string& src, Diagnostics& diags,
                 uint32_t file, const OffsetMap& offsets, const Limits& limits, TokenFacts& facts) {
  int prefix_run = 0;
  std::vector<antlr4::Token*> open;
  std::vector<Chains> chains(1);
  const auto& all = tokens.getTokens();
  auto span_of = [&](const antlr4::Token* t) {
    return Span{file, offsets.byte(t->getStartIndex()), offsets.byte(t->getStopIndex() + 1)};
  };
  auto once = [&](std::string hint) { return facts.hints_given.insert(hint).second ? hint : ""; };
  auto too_many = [&](const antlr4::Token* t) {
    if (facts.reported_count < limits.max_syntax_errors) return false;
    diags.error("P0009", span_of(t),
                fmt::format("too many syntax errors: stopped after {}", limits.max_syntax_errors),
                "fix these and check again");
    return true;
  };
  for (size_t i = 0; i < all.size(); ++i) {
    antlr4::Token* t = all[i];
    const size_t type = t->getType();
    if (type == antlr4::Token::EOF) break;
    Span s = span_of(t);
    if (type == CribleLexer::BAD_CHAR && t->getText() == "'") {
      // 'F': a text in single quotes, one message for both quotes.
      size_t k = i + 1;
      while (k < all.size() && all[k]->getType() != antlr4::Token::EOF &&
             all[k]->getLine() == t->getLine() && all[k]->getText() != "'")
        ++k;
      if (k < all.size() && all[k]->getType() == CribleLexer::BAD_CHAR && all[k]->getText() == "'") {
        if (too_many(t)) return false;
        for (size_t r = i; r <= k; ++r) facts.reported.push_back(r);
        s.end = offsets.byte(all[k]->getStopIndex() + 1);
        std::string inner = src.substr(s.begin + 1, s.end - s.begin - 2);
        diags.error("P0002", s, "texts go in double quotes, not single quotes",
                    inner.size() <= 40 ? fmt::format("write \"{}\"", inner) : "");
        ++facts.reported_count;
        i = k;
        continue;
      }
    }
    if (type == CribleLexer::BAD_CHAR) {
      // One message for a run of adjacent bad characters ("&&").
      size_t j = i;
      while (j + 1 < all.size() && all[j + 1]->getType() == CribleLexer::BAD_CHAR &&
             all[j + 1]->getStartIndex() == all[j]->getStopIndex() + 1)
        facts.reported.push_back(j++);
      facts.reported.push_back(j);
      if (too_many(t)) return false;
      s.end = offsets.byte(all[j]->getStopIndex() + 1);
      std::string chars = tokens.getText(t, all[j]);
      if (chars.size() > 40) chars = chars.substr(0, 40) + "...";
      const char* quote = chars.find('\'') == std::string::npos ? "'" : "\"";
      diags.error("P0002", s,
                  fmt::format("unexpected character{} {}{}{}", j > i ? "s" : "", quote, chars, quote),
                  once(bad_char_hint(chars)));
      ++facts.reported_count;
      i = j;
      continue;
    }
    if (type == CribleLexer::UNTERMINATED_STRING) {
      facts.reported.push_back(i);
      if (too_many(t)) return false;
      diags.error("P0006", s, "this text has no closing quote",
                  once("end it with '\"' on the same line: a text cannot run over several lines"));
      ++facts.reported_count;
      continue;
    }
    const std::string text = t->getText();
    // Brackets. None spans a keyword that ends expressions: such a bracket was never closed.
    if (ends_expressions(type) && !open.empty()) {
      facts.unclosed.insert(facts.unclosed.end(), open.begin(), open.end());
      open.clear();
      chains.resize(1);
    }
    if (text == "(" || text == "{") {
      open.push_back(t);
      chains.emplace_back();
    } else if (text == ")" || text == "}") {
      if (open.empty() || (open.back()->getText() == "(") != (text == ")")) {
        facts.unmatched_closers.insert(i);
      } else {
        open.pop_back();
        chains.pop_back();
      }
    }
    if (type == CribleLexer::NOT || text == "-") ++prefix_run;
    else prefix_run = 0;
    if (static_cast<int>(open.size()) + prefix_run > limits.max_nesting) {
      diags.error("P0005", s,
                  fmt::format("this expression nests more than {} levels deep: each parenthesis, "
                              "brace, `not` and `-` adds one",
                              limits.max_nesting),
                  "split it into named definitions with `define`");
      return false;
    }
    // Chains: count the operators of each precedence level in a row. Any other keyword ends
    // the expression, so a count can only fall short, never exceed the chain the AST builder
    // will see: an error here is one the builder would report too, only sooner.
    Chains& c = chains.back();
    const antlr4::Token* prev = i > 0 ? all[i - 1] : nullptr;
    const size_t pt = prev ? prev->getType() : 0;
    const bool after_value = prev && (pt == CribleLexer::IDENT || pt == CribleLexer::INT ||
                                      pt == CribleLexer::DECIMAL || pt == CribleLexer::DATE ||
                                      pt == CribleLexer::STRING || pt == CribleLexer::TRUE ||
                                      pt == CribleLexer::FALSE || pt == CribleLexer::DAYS ||
                                      pt == CribleLexer::DAY || pt == CribleLexer::WEEKS ||
                                      prev->getText() == ")" || prev->getText() == "}");
    int* counter = nullptr;
    const char* joined_by = "";
    switch (type) {
      case CribleLexer::IDENT: case CribleLexer::INT: case CribleLexer::DECIMAL:
      case CribleLexer::DATE: case CribleLexer::STRING: case CribleLexer::TRUE:
      case CribleLexer::FALSE: case CribleLexer::THIS: case CribleLexer::DAYS:
      case CribleLexer::DAY: case CribleLexer::WEEKS:
        break;
      case CribleLexer::OR:
        counter = &c.or_, joined_by = "`or`";
        c.and_ = c.add = c.mul = 0;
        c.between = false;
        break;
      case CribleLexer::AND:
        if (c.between) c.between = false;
        else counter = &c.and_, joined_by = "`and`";
        c.add = c.mul = 0;
        break;
      case CribleLexer::BETWEEN:
        c.between = true;
        c.add = c.mul = 0;
        break;
      default:
        if (text == ".") break;
        if (text == "*" || text == "/") {
          counter = &c.mul, joined_by = "`*` or `/`";
        } else if ((text == "+" || text == "-") && after_value) {
          counter = &c.add, joined_by = "`+` or `-`";
          c.mul = 0;
        } else if (text == "-" || text == "(" || text == ")" || text == "{" || text == "}") {
          // a sign, or a bracket: the level's counts live in `chains`
        } else if (text == "=" || text == "!=" || text == "<" || text == "<=" || text == ">" ||
                   text == ">=" || type == CribleLexer::IN || type == CribleLexer::NOT ||
                   type == CribleLexer::IS || type == CribleLexer::MISSING ||
                   type == CribleLexer::PRESENT || type == CribleLexer::INTERSECTS) {
          c.add = c.mul = 0;
        } else {
          c = Chains{};
        }
    }
    if (counter && ++*counter >= limits.max_expression_depth) {
      diags.error("P0005", s,
                  fmt::format("this expression is too long: more than {} terms joined by {}",
                              limits.max_expression_depth, joined_by),
                  "split it into named definitions with `define`");
      return false;
    }
  }
  for (auto* t : open) facts.unclosed.push_back(t);
  return true;
}

}  // namespace

Staged<Ruleset> parse(const SourceSet& sources, uint32_t file, const Limits& limits) {
  Staged<Ruleset> out;
  Diagnostics diags;
  const std::string& text = sources.file(file).text;
  // The whole file is at fault in these two: the empty span at 0 says so.
  if (text.size() > limits.max_file_bytes) {
    diags.error("P0007", {file, 0, 0},
                fmt::format("the file is {}; a rule file may hold at most {}", human_size(text.size()),
                            human_size(limits.max_file_bytes)),
                "a ruleset is a few kilobytes: is this the right file?");
    out.diagnostics = diags.take_sorted();
    return out;
  }
  // Byte offsets count from 0, as hex editors do.
  if (size_t nul = text.find('\0'); nul != std::string::npos) {
    uint32_t b = static_cast<uint32_t>(nul);
    diags.error("P0008", {file, b, b + 1}, fmt::format("the file holds a NUL byte at offset {}", nul),
                "a rule file is plain text: is this the right file?");
    out.diagnostics = diags.take_sorted();
    return out;
  }
  bool cut_by_end = false;
  if (size_t bad = first_bad_byte(text, cut_by_end); bad != std::string::npos) {
    uint32_t b = static_cast<uint32_t>(bad);
    const unsigned byte = static_cast<unsigned char>(text[bad]);
    diags.error("P0008", {file, b, b + 1},
                cut_by_end ? fmt::format("the file ends in the middle of a character (byte 0x{:02X} at offset {})", byte, bad)
                           : fmt::format("the file is not UTF-8 text (byte 0x{:02X} at offset {})", byte, bad),
                "save the file as UTF-8: it may have been saved as Latin-1 or Windows-1252");
    out.diagnostics = diags.take_sorted();
    return out;
  }

  OffsetMap offsets(text);
  try {
    detail::RuleChars input(text);
    detail::RuleLexer lexer(input, token_types());  // BAD_CHAR catches what no rule matches
    antlr4::CommonTokenStream tokens(&lexer);
    tokens.fill();
    TokenFacts facts;
    if (!scan_tokens(tokens, text, diags, file, offsets, limits, facts)) {
      out.diagnostics = diags.take_sorted();
      return out;
    }
    crible_gen::CribleParser parser(&tokens);
    SyntaxErrors errors(diags, file, offsets, facts, limits.max_syntax_errors);
    parser.removeErrorListeners();
    parser.addErrorListener(&errors);
    parser.setErrorHandler(std::make_shared<CappedRecovery>(errors));
    P::RulesetContext* tree = nullptr;
    try {
      tree = parser.ruleset();
    } catch (const antlr4::ParseCancellationException&) {
      tree = nullptr;
    }
    if (errors.stopped()) {
      diags.error("P0009", errors.stop_span(),
                  fmt::format("too many syntax errors: stopped after {}", limits.max_syntax_errors),
                  "fix these and check again");
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
