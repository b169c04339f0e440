#!/usr/bin/env python3
"""Seeded generator of synthetic cases for the "Mali 2019 re-review" reference workload.

Writes cases.csv, flows.csv and languages.csv in the schema of
shared/reference-workload.md (same column order as the conformance fixture), imitating
the transit-centre registrations in Mali and Niger with injected integrity problems.
No real person is in the data. Standard library only; the output depends only on the
arguments (same --seed, --cases, --start, --end give the same bytes).

    python3 bench/generate.py --seed 2019 --cases 1500 --out rules/sample
    python3 bench/generate.py --seed 7 --cases 1000000 --out /tmp/gen1m \
        [--start 2018-08-01 --end 2019-01-17]

What is in the data (see bench/README.md, "Generating data"):
  * six centres: BKO-SOKONIKO, GAO, KIDAL (host MLI); AGADEZ, ARLIT, ASSAMAKA (host NER);
  * households (mostly single adults, some families with children), unaccompanied minors
    with and without a best-interests determination, elderly applicants, missing birth
    dates, vulnerabilities;
  * a registration surge at BKO-SOKONIKO in November 2018 whose claimed INKHALID
    crossings the flow-monitoring table does not show (S4), driven by a few
    intermediaries (S8), with more shared phones and reused documents;
  * flow-monitoring gaps (no row: S5), under-counted weeks, weeks reported in two rows;
  * shared phones across households (S1), duplicated document numbers (S2), registrar
    back-log days with more than 40 registrations (S3), intermediary convoys (S8),
    arrival dates after registration (S6), language mismatches (S7), earlier assisted
    returns (E3, S9), missing or false fit_to_travel (E6), missing consent (E1),
    nationals of the host country and nationalities outside ORIGINS (E2), missing travel
    documents (E4).
Volumes of staff, intermediaries and flows scale with --cases so that the signals with
absolute thresholds (S3 > 40, S4 > 3*observed+10, S8 > 10) keep roughly the same share of
cases at any size.
"""

import argparse
from bisect import bisect_right
import csv
import datetime as dt
import math
import os
import random
import sys

COLUMNS = [
    "case_id", "registered_on", "centre", "host_country", "nationality", "birth_date", "sex",
    "entry_point", "arrival_date", "travel_doc", "id_doc_number", "consular_confirmed",
    "consent_signed", "languages", "phone", "intermediary", "registered_by", "prior_avrr_on",
    "household_id", "household_size", "vulnerabilities", "bid_done", "fit_to_travel", "status",
]

# nationality -> (ISO alpha-2, phone country code, national number digits,
#                 languages (most common first), weight at MLI centres, weight at NER centres)
NATIONALITIES = {
    "GIN": ("GN", "224", 9, ["sus", "ful", "man", "fra"], 26.0, 20.0),
    "MLI": ("ML", "223", 8, ["bam", "son", "ful", "snk", "tmh", "fra"], 0.55, 30.0),
    "CIV": ("CI", "225", 10, ["dyu", "bci", "sef", "fra"], 13.0, 11.0),
    "SEN": ("SN", "221", 9, ["wol", "ful", "srr", "snk", "fra"], 12.0, 6.0),
    "GMB": ("GM", "220", 7, ["man", "wol", "ful", "snk", "eng"], 12.0, 5.0),
    "NGA": ("NG", "234", 10, ["hau", "yor", "ibo", "pcm", "eng"], 3.0, 10.0),
    "SLE": ("SL", "232", 8, ["kri", "tem", "men", "eng"], 7.0, 4.0),
    "BFA": ("BF", "226", 8, ["mos", "dyu", "ful", "fra"], 4.0, 4.0),
    "CMR": ("CM", "237", 9, ["ewo", "wes", "ful", "fra", "eng"], 2.5, 4.0),
    "LBR": ("LR", "231", 8, ["lir", "kpe", "bsq", "eng"], 4.0, 2.0),
    "GNB": ("GW", "245", 9, ["pov", "ful", "man", "por"], 3.5, 1.5),
    "BEN": ("BJ", "229", 8, ["fon", "yor", "bba", "fra"], 2.0, 3.0),
    "NER": ("NE", "227", 8, ["hau", "dje", "ful", "tmh", "kau", "fra"], 4.0, 0.35),
    "GHA": ("GH", "233", 9, ["aka", "ewe", "hau", "eng"], 1.0, 2.0),
    "MRT": ("MR", "222", 8, ["mey", "ara", "ful", "snk", "wol", "fra"], 2.0, 0.5),
    "TGO": ("TG", "228", 8, ["ewe", "kbp", "fra"], 0.8, 1.2),
    # outside ORIGINS (E2 fails); COD has no languages.csv rows (S7 cannot fire)
    "SDN": ("SD", "249", 9, ["apd", "ara", "eng"], 0.1, 0.6),
    "TCD": ("TD", "235", 8, ["shu", "ara", "fra"], 0.1, 0.5),
    "CAF": ("CF", "236", 8, ["sag", "fra"], 0.05, 0.15),
    "COD": ("CD", "243", 9, ["lin", "swc", "fra"], 0.15, 0.25),
}
NO_LANGUAGE_ROWS = {"COD"}

# centre -> (host country, short code, share of registrations, entry points with weights)
CENTRES = [
    ("BKO-SOKONIKO", "MLI", "BKO", 0.33,
     [("INKHALID", 48), ("GOGUI", 27), ("BORDJ-BADJI-MOKHTAR", 15), ("TIN-ZAOUATENE", 10)]),
    ("GAO", "MLI", "GAO", 0.08,
     [("INKHALID", 45), ("BORDJ-BADJI-MOKHTAR", 30), ("TIN-ZAOUATENE", 25)]),
    ("KIDAL", "MLI", "KID", 0.004,
     [("INKHALID", 40), ("TIN-ZAOUATENE", 45), ("BORDJ-BADJI-MOKHTAR", 15)]),
    ("AGADEZ", "NER", "AGZ", 0.27, [("ASSAMAKA", 50), ("SEGUEDINE", 35), ("TOUMMO", 15)]),
    ("ARLIT", "NER", "ARL", 0.11, [("ASSAMAKA", 75), ("SEGUEDINE", 25)]),
    ("ASSAMAKA", "NER", "ASM", 0.19, [("ASSAMAKA", 100)]),
]
SURGE_CENTRE = "BKO-SOKONIKO"
SURGE_ENTRY_POINT = "INKHALID"
SURGE_MULTIPLIER = 3.0  # registrations at the surge centre during the surge window
ENTRY_POINTS = ["INKHALID", "BORDJ-BADJI-MOKHTAR", "TIN-ZAOUATENE", "GOGUI", "ASSAMAKA",
                "SEGUEDINE", "TOUMMO"]
FLOW_GAP = {"TOUMMO": 0.30}  # probability that a week has no flow row (default 0.02)

LAST_NAMES = ["Diallo", "Traore", "Keita", "Toure", "Barry", "Sangare", "Coulibaly", "Diarra",
              "Camara", "Konate", "Sow", "Bah", "Dembele", "Sidibe", "Cisse", "Kone", "Doumbia",
              "Issoufou", "Maiga", "Abdou", "Moussa", "Garba", "Hama", "Oumarou", "Sylla",
              "Fofana", "Kante", "Sissoko", "Tandia", "Ag Ahmed", "Ould Sidi", "Yattara",
              "Bagayoko", "Danioko", "Soumare", "Niang", "Ndiaye", "Fall", "Mahamadou",
              "Ibrahim"]
FIRST_NAMES = ["Abdoulaye", "Amadou", "Adama", "Bakary", "Boubacar", "Seydou", "Idrissa",
               "Lassana", "Mamadou", "Moussa", "Issa", "Ibrahim", "Oumar", "Souleymane",
               "Modibo", "Sekou", "Cheick", "Youssouf", "Aliou", "Hamidou", "Fatoumata",
               "Aminata", "Mariam", "Kadiatou", "Salif", "Drissa", "Yacouba", "Harouna",
               "Abdou", "Hassane", "Mahamane", "Ousmane", "Alassane", "Baba", "Tiemoko",
               "Zakaria", "Rabiou", "Nouhou", "Aboubacar", "Siaka"]
TOWNS = ["Agadez", "Arlit", "Dirkou", "Tessalit", "Gao", "Kidal", "Tamanrasset", "Bamako",
         "Niamey", "Zinder"]
ORGANISATIONS = ["Caritas Mali", "ARACEM", "Niger Red Cross", "Croix-Rouge malienne",
                 "Commune urbaine d'Agadez", "Maison du Migrant de Gao", "AME",
                 "Association des Refoules d'Afrique Centrale au Mali"]
NICKNAMES = ['Moussa "Le Chef" Maiga', 'Garba "Passeur" Abdou', 'Sidi "Boss" Ould Sidi']

VULN_ORDER = ["uasc", "vot", "pregnant", "medical", "disability"]
DOC_TYPES = ["none", "id_card", "laissez_passer", "passport", ""]
ADULT_DOC_WEIGHTS = [30, 25, 21, 14, 10]
CHILD_DOC_WEIGHTS = [55, 0, 25, 8, 12]
MULT = 7368787  # odd, not a multiple of 5: i -> i * MULT mod 10**k is a bijection


def cumulative(weights):
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


def parse_date(s):
    try:
        return dt.date.fromisoformat(s)
    except ValueError:
        raise SystemExit(f"bad date {s!r}, expected YYYY-MM-DD")


def language_choices(langs):
    """All 1-3 language subsets of `langs` (joined in sorted order) with weights that
    favour the locally spoken (first-listed) languages and one or two languages."""
    cands, weights = [], []
    base = [1.0 / (i + 1) for i in range(len(langs))]
    n = len(langs)
    for i in range(n):
        cands.append(langs[i])
        weights.append(0.55 * base[i])
        for j in range(i + 1, n):
            cands.append(";".join(sorted((langs[i], langs[j]))))
            weights.append(0.35 * base[i] * base[j])
            for k in range(j + 1, n):
                cands.append(";".join(sorted((langs[i], langs[j], langs[k]))))
                weights.append(0.10 * base[i] * base[j] * base[k])
    return cands, cumulative(weights)


class Generator:
    def __init__(self, seed, n, start, end):
        self.rng = random.Random(seed)
        self.n = n
        self.start = start.toordinal()
        self.end = end.toordinal()
        if self.end < self.start:
            raise SystemExit("--end is before --start")
        self.rows = []
        self.hh_counter = 0
        self.doc_counters = {"passport": 0, "id_card": 0, "laissez_passer": 0}
        self.phone_counter = 0
        self.recent_docs = []  # ring of issued (travel_doc, number), for reused documents
        self.flow_base = {}  # (entry_point, week ordinal) -> non-surge claims
        # ISO strings of every day that can occur (birth dates back to ~1935)
        self.day0 = dt.date(1930, 1, 1).toordinal()
        last = self.end + 400
        self.iso = [dt.date.fromordinal(o).isoformat() for o in range(self.day0, last + 1)]
        self.nat_codes = list(NATIONALITIES)
        self.nat_cum = {
            "MLI": cumulative([NATIONALITIES[c][4] for c in self.nat_codes]),
            "NER": cumulative([NATIONALITIES[c][5] for c in self.nat_codes]),
        }
        self.lang_choices = {c: language_choices(v[3]) for c, v in NATIONALITIES.items()}
        all_langs = sorted({l for v in NATIONALITIES.values() for l in v[3]})
        self.foreign_langs = {c: [l for l in all_langs if l not in v[3]]
                              for c, v in NATIONALITIES.items()}
        self._plan()

    # ---------------------------------------------------------------- planning
    def _plan(self):
        rng, n = self.rng, self.n
        days = list(range(self.start, self.end + 1))
        nd = len(days)
        # surge window: November 2018 at the surge centre (or, if the range misses it,
        # 26 days from 55% of the range)
        s0, s1 = dt.date(2018, 11, 5).toordinal(), dt.date(2018, 11, 30).toordinal()
        if s1 < self.start or s0 > self.end:
            s0 = self.start + int(0.55 * nd)
            s1 = min(self.end, s0 + 25)
        self.surge = (max(s0, self.start), min(s1, self.end))
        weekday_factor = [1.1, 1.05, 1.0, 1.0, 0.95, 0.6, 0.3]  # Monday first
        cells = []  # (day, centre index, expected weight, surge share)
        for d in days:
            w = weekday_factor[(d - 1) % 7] * rng.uniform(0.8, 1.2)
            for ci, c in enumerate(CENTRES):
                mult = 1.0
                if c[0] == SURGE_CENTRE and self.surge[0] <= d <= self.surge[1]:
                    mult = SURGE_MULTIPLIER
                cells.append((d, ci, w * c[3] * mult, 1.0 - 1.0 / mult))
        total_w = sum(c[2] for c in cells)

        # extras: registrar back-log days (S3) and intermediary convoys (S8)
        batches = []  # (day, centre index, registrar, size)
        if n >= 400:
            count = max(1, round(n * 0.035 / 70))
            surge_ci = [c[0] for c in CENTRES].index(SURGE_CENTRE)
            surge_days = [d for d in range(self.surge[0], self.surge[1] + 1)
                          if (d - 1) % 7 < 5] or [self.surge[0]]
            for i in range(count):
                if i == 0 or rng.random() < 0.3:  # a back-log entered during the surge
                    batches.append([rng.choice(surge_days), surge_ci, None,
                                    rng.randint(45, 95)])
                else:
                    batches.append([rng.choice(days), self._pick_centre(), None,
                                    rng.randint(45, 95)])
        convoys = []  # (first day, span, centre index, intermediary, entry point, arrival, size)
        if n >= 200:
            count = max(2, round(n * 0.03 / 18))
            for _ in range(count):
                ci = self._pick_centre()
                eps, cw = self._entry_points(ci)
                d = rng.choice(days)
                convoys.append([d, min(rng.randint(1, 4), self.end - d + 1), ci, None,
                                rng.choices(eps, cum_weights=cw)[0],
                                d - rng.randint(0, 6), rng.randint(12, 24)])
        extra = sum(b[3] for b in batches) + sum(c[6] for c in convoys)
        while extra > 0.3 * n and (batches or convoys):  # tiny runs: keep it mostly normal
            if convoys:
                extra -= convoys.pop()[6]
            else:
                extra -= batches.pop()[3]
        self.n_base = n - extra

        # staff: enough registrars per centre that a normal day stays well under 40 each
        scale = self.n_base / total_w
        peak = [0.0] * len(CENTRES)
        for d, ci, w, _ in cells:
            peak[ci] = max(peak[ci], w * scale)
        self.staff = []
        for ci, c in enumerate(CENTRES):
            k = max(2, math.ceil(peak[ci] * 1.25 / 18))
            self.staff.append([f"{c[2]}-STF-{i:03d}" for i in range(1, k + 1)])
        for b in batches:
            b[2] = rng.choice(self.staff[b[1]])

        # intermediaries: enough that a normal one brings well under 10 cases a week
        weekly = 0.33 * self.n_base * 7 / nd
        k = max(16, math.ceil(weekly / 3.0))
        surge_cases = sum(w * s for _, _, w, s in cells) * scale
        surge_weeks = max(1.0, (self.surge[1] - self.surge[0] + 1) / 7)
        ns = max(2, math.ceil(surge_cases * 0.85 / surge_weeks / 25))
        names = self._person_names(k + ns + 50)
        self.inter = ORGANISATIONS + NICKNAMES + names[:k]
        self.inter_cum = cumulative([0.8] * len(ORGANISATIONS) + [0.3] * len(NICKNAMES) +
                                    [rng.uniform(0.3, 1.5) for _ in range(k)])
        self.surge_inter = names[k:k + ns]
        for c in convoys:
            c[3] = rng.choice(names[k + ns:])

        # shared phones (S1): a pool each used by about four households
        households = self.n_base / 1.1
        self.shared_phones = [self._new_phone(rng.choice(self.nat_codes), "MLI")
                              for _ in range(max(2, round(households * 0.012 / 4)))]

        self.cells = cells
        self.scale = scale
        self.batches = {}
        for b in batches:
            self.batches.setdefault((b[0], b[1]), []).append(b)
        self.convoys = {}
        for c in convoys:
            per_day = [c[6] // c[1] + (1 if i < c[6] % c[1] else 0) for i in range(c[1])]
            for i, m in enumerate(per_day):
                if m:
                    self.convoys.setdefault((c[0] + i, c[2]), []).append((c, m))

    def _person_names(self, count):
        """`count` distinct names "Last, First" or "Last, First (Town)", in random order."""
        rng = self.rng
        plain = [f"{l}, {f}" for l in LAST_NAMES for f in FIRST_NAMES]
        towns = [f"{l}, {f} ({t})" for l in LAST_NAMES for f in FIRST_NAMES for t in TOWNS]
        rng.shuffle(plain)
        rng.shuffle(towns)
        out, i, j = [], 0, 0
        while len(out) < count and (i < len(plain) or j < len(towns)):
            if i < len(plain) and (j >= len(towns) or rng.random() < 0.6):
                out.append(plain[i])
                i += 1
            else:
                out.append(towns[j])
                j += 1
        base, r = list(out), 2
        while len(out) < count:  # beyond ~17,600 names: homonyms told apart by a number
            out.extend(f"{nm} {r}" for nm in base[:count - len(out)])
            r += 1
        return out

    def _pick_centre(self):
        return self.rng.choices(range(len(CENTRES)),
                                cum_weights=cumulative([c[3] for c in CENTRES]))[0]

    def _entry_points(self, ci):
        eps = CENTRES[ci][4]
        return [e for e, _ in eps], cumulative([w for _, w in eps])

    def _new_phone(self, nat, host):
        code_nat = host if self.rng.random() < 0.65 else nat
        prefix, modulus, width = PHONE_FORMAT[code_nat]
        self.phone_counter += 1
        return prefix + str((self.phone_counter * MULT + 1234567) % modulus).zfill(width)

    def _new_doc(self, kind, iso2):
        c = self.doc_counters[kind] = self.doc_counters[kind] + 1
        if kind == "passport":
            return f"{iso2}P{(c * MULT + 4242) % 10**7:07d}"
        if kind == "id_card":
            return f"{iso2}-CNI-{(c * MULT + 777) % 10**8:08d}"
        return f"LP-{iso2}-{(c * MULT + 31) % 10**6:06d}"

    # -------------------------------------------------------------- generation
    def run(self):
        produced_base = 0
        acc = 0.0
        eps_cache = [self._entry_points(ci) for ci in range(len(CENTRES))]
        for d, ci, w, surge_share in self.cells:
            acc += w * self.scale
            target = min(self.n_base, round(acc))
            eps = eps_cache[ci]
            while produced_base < target:
                surge = surge_share > 0 and self.rng.random() < surge_share
                produced_base += self._household(d, ci, eps, self.n_base - produced_base,
                                                 surge=surge)
            for c, m in self.convoys.get((d, ci), ()):
                while m > 0:
                    m -= self._household(d, ci, eps, m, convoy=c)
            for b in self.batches.get((d, ci), ()):
                m = b[3]
                while m > 0:
                    m -= self._household(d, ci, eps, m, registrar=b[2], batch=True,
                                         surge=surge_share > 0)
        assert len(self.rows) == self.n, (len(self.rows), self.n)

    def _household(self, d, ci, eps, cap, surge=False, convoy=None, registrar=None,
                   batch=False):
        rng = self.rng
        rnd = rng.random

        # cheap equivalents of rng.choices(...)[0], rng.randint and rng.choice
        def pick(population, cum):
            return population[bisect_right(cum, rnd() * cum[-1])]

        def ri(lo, hi):
            return lo + int(rnd() * (hi - lo + 1))

        def one(seq):
            return seq[int(rnd() * len(seq))]

        iso = self.iso
        day0 = self.day0
        centre, host, code = CENTRES[ci][0], CENTRES[ci][1], CENTRES[ci][2]

        # household composition
        r = rnd()
        if r < 0.965 or batch:
            size = 1
        else:
            size = pick((2, 3, 4, 5, 6), (45, 70, 88, 96, 100))
        size = min(size, cap)
        uasc = size == 1 and rnd() < 0.013

        nat = pick(self.nat_codes, self.nat_cum[host])
        iso2, _, _, _, _, _ = NATIONALITIES[nat]

        # the journey
        if convoy is not None:
            ep = convoy[4]
            arr = convoy[5] + ri(-1, 1)
        else:
            if surge:
                ep = SURGE_ENTRY_POINT if rnd() < 0.92 else pick(eps[0], eps[1])
            elif rnd() < 0.07:
                ep = ""
            else:
                ep = pick(eps[0], eps[1])
            if rnd() < (0.09 if ep else 0.5):
                arr = None
            elif rnd() < 0.012:
                arr = d + ri(1, 25)  # data-entry error: after registration
            elif surge:
                arr = d - ri(0, 12)
            else:
                arr = d - min(150, int(rng.expovariate(1 / 9.0)))
        arrival = iso[arr - day0] if arr is not None else ""
        if ep and arr is not None and not surge:
            key = (ep, arr - (arr - 1) % 7)
            self.flow_base[key] = self.flow_base.get(key, 0) + 1

        # referral, registration, contact
        if convoy is not None:
            inter = convoy[3]
        elif surge and rnd() < 0.85:
            inter = one(self.surge_inter)
        elif rnd() < 0.33:
            inter = pick(self.inter, self.inter_cum)
        else:
            inter = ""
        reg_by = registrar or one(self.staff[ci])
        if rnd() < 0.74:
            if rnd() < (0.04 if surge else 0.012):
                phone = one(self.shared_phones)
            else:
                phone = self._new_phone(nat, host)
        else:
            phone = ""
        consent = "false" if rnd() < 0.03 else "true"
        screened = rnd() > (0.30 if batch else 0.10)
        mismatch = rnd() < 0.011
        if consent == "false" or not screened:
            status = "pending" if rnd() < 0.7 else "registered"
        else:
            r = rnd()
            status = "registered" if r < 0.74 else ("pending" if r < 0.95 else "suspended")

        self.hh_counter += 1
        hh_id = f"HH-{code}-{self.hh_counter:06d}"
        registered_on = iso[d - day0]
        lang_cands, lang_cum = self.lang_choices[nat]
        head_langs = None
        rows = self.rows

        for m in range(size):
            # person
            if uasc:
                child, sex = True, ("M" if rnd() < 0.85 else "F")
                age = ri(14, 17)
            elif m == 0:
                child = False
                r = rnd()
                sex = "M" if r < (0.95 if size == 1 else 0.85) else ("F" if r < 0.998 else "X")
            elif m == 1 and rnd() < 0.7:
                child = False
                sex = "F" if rows[-1][6] == "M" else "M"
            else:
                child = rnd() < 0.85
                sex = "M" if rnd() < 0.5 else "F"
            if child and not uasc:
                age = ri(0, 17)
            elif not child:
                r = rnd()
                if r < 0.94:
                    age = int(rng.triangular(18, 45, 25))
                elif r < 0.985:
                    age = ri(46, 59)
                else:
                    age = ri(60, 76)
            if rnd() < (0.15 if child and not uasc else 0.30):
                birth = ""
            else:
                birth = iso[d - age * 365 - (age // 4) - ri(0, 364) - day0]

            # documents
            kind = pick(DOC_TYPES, (
                CHILD_DOC_CUM if child else (SURGE_DOC_CUM if surge else ADULT_DOC_CUM)))
            if kind in ("", "none"):
                doc = ""
            elif rnd() < (0.006 if surge else 0.0012) and self.recent_docs:
                kind, doc = one(self.recent_docs)  # the same document used twice
            elif rnd() < 0.05:
                doc = ""  # number not recorded
            else:
                doc = self._new_doc(kind, iso2)
                if len(self.recent_docs) < 2000:
                    self.recent_docs.append((kind, doc))
                else:
                    self.recent_docs[ri(0, 1999)] = (kind, doc)
            confirmed = "true" if rnd() < (0.97 if kind == "laissez_passer" else 0.84) \
                else "false"

            # languages
            if rnd() < (0.30 if child else 0.15):
                langs = ""
            elif mismatch:
                langs = ";".join(sorted(rng.sample(self.foreign_langs[nat],
                                                   1 + (rnd() < 0.3))))
            elif head_langs is not None and rnd() < 0.7:
                langs = head_langs
            else:
                langs = pick(lang_cands, lang_cum)
            if m == 0:
                head_langs = langs or None

            # vulnerabilities
            v = []
            if uasc:
                v.append("uasc")
                if rnd() < 0.08:
                    v.append("vot")
            elif not child:
                if rnd() < (0.06 if sex == "F" else 0.01):
                    v.append("vot")
                if sex == "F" and age < 45 and rnd() < 0.08:
                    v.append("pregnant")
            if rnd() < (0.02 if child else 0.033):
                v.append("medical")
            if rnd() < 0.01:
                v.append("disability")
            vulns = ";".join(v) if len(v) < 2 else ";".join(x for x in VULN_ORDER if x in v)
            bid = "true" if (uasc and rnd() < 0.6) or (child and not uasc and rnd() < 0.1) \
                else "false"

            if not screened:
                fit = ""
            else:
                p = 0.025 + (0.25 if "medical" in v else 0) + (0.2 if "pregnant" in v else 0)
                fit = "false" if rnd() < p else "true"

            prior = ""
            if not child and rnd() < 0.03:
                r = rnd()
                back = (ri(60, 725) if r < 0.4 else
                        ri(735, 1800) if r < 0.8 else ri(1830, 3000))
                prior = iso[d - back - day0]

            rows.append([
                "", registered_on, centre, host, nat, birth, sex, ep, arrival, kind, doc,
                confirmed, consent, langs,
                "" if child and not uasc else (phone if m == 0 or rnd() < 0.8 else ""),
                inter, reg_by, prior, hh_id, size, vulns, bid, fit, status,
            ])
        return size

    # ------------------------------------------------------------------ output
    def write(self, out):
        os.makedirs(out, exist_ok=True)
        width = max(7, len(str(self.n)))
        rows = self.rows
        for i, row in enumerate(rows, 1):
            row[0] = f"AVR{i:0{width}d}"
        with open(os.path.join(out, "cases.csv"), "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(COLUMNS)
            w.writerows(rows)
        with open(os.path.join(out, "flows.csv"), "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["entry_point", "week", "observed"])
            w.writerows(self._flows())
        with open(os.path.join(out, "languages.csv"), "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["nationality", "language"])
            for nat, v in NATIONALITIES.items():
                if nat not in NO_LANGUAGE_ROWS:
                    w.writerows([nat, l] for l in v[3])

    def _flows(self):
        rng = self.rng
        first = self.start - (self.start - 1) % 7 - 8 * 7
        last = self.end - (self.end - 1) % 7
        surge_first = self.surge[0] - 12 - (self.surge[0] - 13) % 7
        out = []
        for week in range(first, last + 1, 7):
            for ep in ENTRY_POINTS:
                if rng.random() < FLOW_GAP.get(ep, 0.02):
                    if rng.random() < 0.2:
                        out.append((ep, self.iso[week - self.day0], 0))  # explicit zero
                    continue  # monitoring gap
                claims = self.flow_base.get((ep, week), 0)
                if ep == SURGE_ENTRY_POINT and surge_first <= week <= self.surge[1]:
                    ratio = rng.uniform(0.6, 1.0)
                elif rng.random() < 0.03:
                    ratio = rng.uniform(0.1, 0.3)  # under-counted week
                else:
                    ratio = rng.uniform(1.3, 3.5)
                observed = int(claims * ratio) + rng.randint(0, 3)
                if observed == 0:
                    continue
                day = self.iso[week - self.day0]
                if observed > 1 and rng.random() < 0.03:  # reported by two teams
                    a = rng.randint(1, observed - 1)
                    out.append((ep, day, a))
                    out.append((ep, day, observed - a))
                else:
                    out.append((ep, day, observed))
        return out


PHONE_FORMAT = {c: ("+" + v[1], 10 ** v[2], v[2]) for c, v in NATIONALITIES.items()}
ADULT_DOC_CUM = cumulative(ADULT_DOC_WEIGHTS)
CHILD_DOC_CUM = cumulative(CHILD_DOC_WEIGHTS)
SURGE_DOC_CUM = cumulative([45, 20, 15, 8, 12])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--cases", type=int, required=True)
    p.add_argument("--out", required=True, help="output directory (created if missing)")
    p.add_argument("--start", default="2018-08-01", help="first registration date")
    p.add_argument("--end", default="2019-01-17", help="last registration date")
    a = p.parse_args(argv)
    if a.cases < 1:
        p.error("--cases must be at least 1")
    g = Generator(a.seed, a.cases, parse_date(a.start), parse_date(a.end))
    g.run()
    g.write(a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
