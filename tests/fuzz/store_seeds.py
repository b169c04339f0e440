#!/usr/bin/env python3
"""Writes the seed inputs of store_fuzzer (the format is described in store_fuzzer.cpp) into
the directory given: each column set to a text and to small integers and spliced, each
table's row deleted and duplicated, each listed statement run; on both copies of the store."""
import os
import sys

COLUMNS = 60      # len(kColumns)
TABLES = 7        # len(kTables)
STATEMENTS = 36   # len(kStatements)

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
seeds = [b'\x00', b'\x01']
for col in range(COLUMNS):
    for variant in (0, 1):
        seeds.append(bytes([variant, 0, col, 1, 3, 1]) + b'1')              # text '1'
        seeds.append(bytes([variant | 2, 3, col, 0, 0, 12, 1, 2]) + b'-1')  # splice '-1'
        seeds.append(bytes([variant | 4, 1, col, 2, 5, 0xff]))              # integer -1
for table in range(TABLES):
    seeds.append(bytes([1, 4, table, 1]))          # delete a row
    seeds.append(bytes([1, 5, table, 0, 5, 100]))  # duplicate a row as seq 100
for statement in range(STATEMENTS):
    seeds.append(bytes([0, 7, statement]))
for i, seed in enumerate(seeds):
    with open(os.path.join(out, 'seed%03d' % i), 'wb') as f:
        f.write(seed)
