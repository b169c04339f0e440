grammar Crible;
ruleset : EOF ;
WS : [ \t\r\n]+ -> skip ;
