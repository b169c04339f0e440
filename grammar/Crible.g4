// The crible rule language. Protection specialists write it; it must read like the policy.
// Layout is free (newlines are spaces); blocks close with `end`; `#` starts a comment.
// Only syntax lives here: names, types and meaning are the checker's job, so that every
// mistake gets a message in the author's words rather than a parser's.
grammar Crible;

ruleset : header? declaration* EOF ;

header : RULESET STRING ;

declaration
  : casesDecl
  | tableDecl
  | parameterDecl
  | constantDecl
  | defineDecl
  | criterionDecl
  | signalDecl
  | scoreDecl
  | dispositionDecl
  ;

// --- schemas ---------------------------------------------------------------------------
casesDecl : CASES columnDecl* END ;
tableDecl : TABLE name=IDENT columnDecl* END ;
columnDecl : name=IDENT ':' typeExpr (',' columnOption)* ;
typeExpr
  : IDENT                                        # namedType
  | ONE OF '{' STRING (',' STRING)* '}'          # enumType
  | SET OF IDENT                                 # setType
  | SET OF '{' STRING (',' STRING)* '}'          # setEnumType
  ;
columnOption : IDENT+ STRING? ;  // e.g. `required`, `blank means none`, `format "AAA"`

// --- parameters, constants, definitions ---------------------------------------------------
parameterDecl : PARAMETER name=IDENT ':' typeExpr ('=' expr)? ;
constantDecl : CONSTANT name=IDENT '=' expr ;
defineDecl : DEFINE name=IDENT ('(' param (',' param)* ')')? '=' expr ;
param : name=IDENT ':' typeExpr ;

// --- criteria and signals -----------------------------------------------------------------
criterionDecl : CRITERION id=IDENT name=IDENT description=STRING? criterionClause* END ;
criterionClause
  : PASS WHEN expr                               # passClause
  | FAIL WHEN expr                               # failClause
  | UNKNOWN WHEN expr                            # unknownClause
  | REASON STRING                                # criterionReason
  ;

signalDecl : SIGNAL id=IDENT name=IDENT description=STRING? POINTS number signalClause* END ;
signalClause
  : LET name=IDENT '=' expr                      # letClause
  | FIRES WHEN expr                              # firesClause
  | REASON STRING                                # signalReason
  ;

// --- scores and disposition ---------------------------------------------------------------
scoreDecl
  : SCORE name=IDENT '=' POINTS OF FIRED SIGNALS           # pointsScore
  | SCORE name=IDENT '=' expr                              # exprScore
  | SCORE name=IDENT scoreTerm* END                        # termsScore
  ;
scoreTerm : weight=number WHEN expr ;

dispositionDecl : DISPOSITION dispositionLine* END ;
dispositionLine
  : outcome=IDENT WHEN expr                      # whenLine
  | outcome=IDENT OTHERWISE                      # otherwiseLine
  ;

number : '-'? (INT | DECIMAL) ;

// --- expressions, loosest binding first ---------------------------------------------------
expr
  : aggregate                                                  # aggregateExpr
  | orExpr                                                     # plainExpr
  ;

aggregate
  : COUNT source filter?                                       # countRows
  | COUNT DISTINCT additive IN source filter?                  # countDistinct
  | fn=(SUM | MIN | MAX | COLLECT) additive IN source filter?   # foldValues
  ;
source : CASES | IDENT ;
filter
  : WITH SAME IDENT (',' IDENT)* (WHERE orExpr)?               # sameFilter
  | WHERE orExpr                                               # whereFilter
  ;

orExpr : andExpr (OR andExpr)* ;
andExpr : notExpr (AND notExpr)* ;
notExpr
  : NOT notExpr                                                # notOp
  | comparison                                                 # notBase
  ;
// Left-factored: the operand comes first and the operator after it. Written as one
// alternative per operator, every comparison made the parser look ahead over the whole left
// operand (parentheses and calls included) to choose, and that adaptive prediction was most
// of crible's start-up time (docs/decisions.md, "Start-up"). Same language, same tree below.
comparison
  : additive comparisonTail?                                   # compareBase
  | outcomeTest                                                # outcome
  ;
comparisonTail
  : op=('=' | '!=' | '<' | '<=' | '>' | '>=') additive         # compare
  | NOT? IN additive                                           # membership
  | INTERSECTS additive                                        # intersects
  | NOT? BETWEEN additive AND additive                         # between
  | IS (MISSING | PRESENT)                                     # presence
  ;
outcomeTest
  : quant=(ANY | ALL) kind=(CRITERION | CRITERIA | SIGNAL | SIGNALS) verb   # quantifiedOutcome
  | id=IDENT verb                                                          # namedOutcome
  ;
verb : PASSES | PASS | FAILS | FAIL | IS UNKNOWN | FIRES | FIRE ;

additive : multiplicative (op+=('+' | '-') multiplicative)* ;
multiplicative : unary (op+=('*' | '/') unary)* ;
unary
  : '-' unary                                                  # negate
  | postfix                                                    # unaryBase
  ;
postfix : primary unit=(DAYS | DAY | WEEKS)? ;
primary
  : '(' expr ')'                                               # parens
  | '{' (expr (',' expr)*)? '}'                                # setLiteral
  | fn=IDENT '(' (expr (',' expr)*)? ')'                       # call
  | THIS '.' IDENT                                             # thisRef
  | IDENT                                                      # nameRef
  | (TRUE | FALSE)                                             # boolLiteral
  | DATE                                                       # dateLiteral
  | INT                                                        # intLiteral
  | DECIMAL                                                    # decimalLiteral
  | STRING                                                     # stringLiteral
  ;

// --- lexical -----------------------------------------------------------------------------
RULESET : 'ruleset' ;
CASES : 'cases' ;
TABLE : 'table' ;
END : 'end' ;
ONE : 'one' ;
OF : 'of' ;
SET : 'set' ;
PARAMETER : 'parameter' ;
CONSTANT : 'constant' ;
DEFINE : 'define' ;
CRITERION : 'criterion' ;
CRITERIA : 'criteria' ;
SIGNAL : 'signal' ;
SIGNALS : 'signals' ;
PASS : 'pass' ;
PASSES : 'passes' ;
FAIL : 'fail' ;
FAILS : 'fails' ;
UNKNOWN : 'unknown' ;
REASON : 'reason' ;
POINTS : 'points' ;
LET : 'let' ;
FIRES : 'fires' ;
FIRE : 'fire' ;
FIRED : 'fired' ;
WHEN : 'when' ;
SCORE : 'score' ;
DISPOSITION : 'disposition' ;
OTHERWISE : 'otherwise' ;
COUNT : 'count' ;
DISTINCT : 'distinct' ;
SUM : 'sum' ;
MIN : 'min' ;
MAX : 'max' ;
COLLECT : 'collect' ;
IN : 'in' ;
WHERE : 'where' ;
WITH : 'with' ;
SAME : 'same' ;
THIS : 'this' ;
AND : 'and' ;
OR : 'or' ;
NOT : 'not' ;
IS : 'is' ;
MISSING : 'missing' ;
PRESENT : 'present' ;
BETWEEN : 'between' ;
INTERSECTS : 'intersects' ;
ANY : 'any' ;
ALL : 'all' ;
DAYS : 'days' ;
DAY : 'day' ;
WEEKS : 'weeks' ;
TRUE : 'true' ;
FALSE : 'false' ;

DATE : [0-9][0-9][0-9][0-9] '-' [0-9][0-9] '-' [0-9][0-9] ;
DECIMAL : [0-9]+ '.' [0-9]+ ;
INT : [0-9]+ ;
IDENT : [A-Za-z_] [A-Za-z0-9_]* ;
STRING : '"' (~["\\\r\n] | '\\' ~[\r\n])* '"' ;
// A string that reaches the end of its line: reported by the AST builder with a hint.
UNTERMINATED_STRING : '"' (~["\\\r\n] | '\\' ~[\r\n])* ;

COMMENT : '#' ~[\r\n]* -> skip ;
WS : [ \t\r\n]+ -> skip ;
// Anything else is one bad character, reported where it stands instead of a lexer abort.
BAD_CHAR : . ;
