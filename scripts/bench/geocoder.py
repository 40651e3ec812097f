#!/usr/bin/env python
"""Labelled benchmark of the offline geocoder on the sample city (own database, default
``geo_app_bench_geocoder``, loaded on first use).

Builds addresses from the sample gazetteer the way call-takers write them: Jl./Jln/Jalan/Gg. with and
without a space, misspelt street and area names, area names run together, Kel./Kec./Desa/Ds./Kp. or no
marker at all, RT/RW and house numbers, "depan/dekat/samping" + landmark, landmarks alone, areas alone,
streets stated only with their kecamatan, and streets named with a kelurahan they are not in. Each
address carries its truth: the kelurahan (None when the address cannot tell it), the true precision
and the caller's true point. Targets: placed in the right kelurahan >= 95 %, claimed precision higher
than true 0. Also the median error (metres) of street and exact answers and addresses per second.
Usage::

    .venv/bin/python scripts/bench/geocoder.py [--count 360] [--seed 13] [--database NAME] [--misses]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import Transformer
from sample_database import SAMPLE_CITY as CITY
from sample_database import sample_city_database

from geo_app.db import connect
from geo_app.ingest.geocode import PRECISION_RANK, Geocoder
from geo_app.settings import Settings

# Share of each style in the benchmark (they sum to 1).
STYLES = {
    "street and kelurahan": 0.30,
    "misspelt street and area": 0.14,
    "street and kecamatan": 0.07,
    "street ambiguous in kecamatan": 0.04,
    "street elsewhere": 0.07,
    "depan/dekat landmark": 0.14,
    "landmark only": 0.08,
    "area only": 0.16,
}
PREPOSITIONS = ("depan", "dekat", "samping", "di depan", "sebelah", "dpn", "dkt")


@dataclass
class Labelled:
    address: str
    style: str
    kelurahan_code: str | None
    kecamatan_code: str
    precision: str
    point: shapely.Point | None  # the caller's true place (lon/lat)


def misspell(word: str, rng: np.random.Generator) -> str:
    """One typing slip inside the word: a letter dropped, doubled, swapped with the next or replaced."""
    if len(word) < 5:
        return word
    at = int(rng.integers(1, len(word) - 2))
    slip = rng.choice(["drop", "double", "swap", "vowel"])
    if slip == "drop":
        return word[:at] + word[at + 1 :]
    if slip == "double":
        return word[: at + 1] + word[at:]
    if slip == "swap":
        return word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    vowels = [i for i in range(1, len(word) - 1) if word[i] in "aiueo"] or [at]
    i = int(rng.choice(vowels))
    return word[:i] + ("e" if word[i] != "e" else "a") + word[i + 1 :]


def written_area(name: str, markers: tuple[str, ...], rng: np.random.Generator, slips: bool) -> str:
    """An area as typed: a marker or none, the name misspelt or run together, sometimes in capitals."""
    text = misspell(name, rng) if slips and rng.random() < 0.6 else name
    if rng.random() < 0.3:
        text = text.replace(" ", "")
    marker = str(rng.choice(markers))
    glue = "" if marker and rng.random() < 0.3 else " "
    text = f"{marker}{glue}{text}" if marker else text
    return text.upper() if rng.random() < 0.1 else text


# Names of both a kelurahan and a kecamatan (Cibeber, Citangkil, Purwakarta, Grogol/Gerogol): written
# without a marker they do not say which, so the benchmark always marks them.
SHARED_NAMES: set[str] = set()


def kelurahan_text(name: str, rng, slips=False) -> str:
    unmarked = ("", "") if name not in SHARED_NAMES else ()
    return written_area(name, ("Kel.", "Kelurahan", "Kel", "Desa", "Ds.", "Kp.", *unmarked), rng, slips)


def kecamatan_text(name: str, rng, slips=False) -> str:
    unmarked = ("",) if name not in SHARED_NAMES else ()
    return written_area(name, ("Kec.", "Kecamatan", "Kec", *unmarked), rng, slips)


def written_street(name: str, rng: np.random.Generator, slips: bool) -> str:
    """A street as typed: Jl./Jln/Jalan (with or without a space), lanes often as Gg. + their name."""
    base = name.removeprefix("Jl. ")
    if base.startswith("Lingkungan ") and rng.random() < 0.5:
        return f"Gg. {misspell(base.split(' ', 1)[1], rng) if slips else base.split(' ', 1)[1]}"
    if slips:
        words = base.split()
        longest = max(range(len(words)), key=lambda i: len(words[i]))
        words[longest] = misspell(words[longest], rng)
        base = " ".join(words)
    prefix = str(rng.choice(["Jl. ", "Jl.", "Jln ", "Jalan ", "JL. "]))
    return prefix + base


def house(rng: np.random.Generator) -> str:
    """Number and RT/RW, each sometimes."""
    parts = []
    if rng.random() < 0.5:
        parts.append(str(rng.choice(["No. ", "no ", "No.", "Nomor "])) + str(rng.integers(1, 120)))
    if rng.random() < 0.5:
        rt, rw = rng.integers(1, 15), rng.integers(1, 9)
        parts.append(str(rng.choice([f"RT {rt:02d}/RW {rw:02d}", f"RT.{rt} RW.{rw}", f"rt {rt} rw {rw}"])))
    return " ".join(parts)


def join(*parts: str) -> str:
    return ", ".join(part for part in parts if part)


class City:
    """The sample city's areas and gazetteer, read from the database."""

    def __init__(self, conn):
        areas = conn.execute(
            "SELECT code, level, name, parent_code FROM admin_areas WHERE city_code = %s", (CITY,)
        ).fetchall()
        self.names = {a["code"]: a["name"] for a in areas}
        self.kelurahan = [a for a in areas if a["level"] == "kelurahan"]
        self.parent = {a["code"]: a["parent_code"] for a in self.kelurahan}
        variants = conn.execute(
            "SELECT level, name, name_variants FROM admin_areas WHERE city_code = %s", (CITY,)
        ).fetchall()
        spelt = {level: set() for level in ("kelurahan", "kecamatan")}
        for row in variants:
            if row["level"] in spelt:
                spelt[row["level"]] |= {row["name"], *(row["name_variants"] or [])}
        SHARED_NAMES.update(spelt["kelurahan"] & spelt["kecamatan"])
        rows = conn.execute(
            "SELECT kind, name, kelurahan_code, ST_AsBinary(geom) AS wkb FROM gazetteer "
            "WHERE city_code = %s AND kelurahan_code IS NOT NULL ORDER BY id",
            (CITY,),
        ).fetchall()
        for row in rows:
            row["geom"] = shapely.from_wkb(row["wkb"])
        self.streets = [r for r in rows if r["kind"] == "street"]
        self.landmarks = [r for r in rows if r["kind"] == "landmark"]
        self.street_kelurahan = defaultdict(set)
        for row in self.streets:
            self.street_kelurahan[row["name"]].add(row["kelurahan_code"])
        srid = conn.execute("SELECT metric_srid FROM cities WHERE code = %s", (CITY,)).fetchone()[
            "metric_srid"
        ]
        to_metric = Transformer.from_crs(4326, srid, always_xy=True)
        for row in self.streets:
            row["metric"] = shapely.transform(
                row["geom"], lambda xy: np.column_stack(to_metric.transform(*xy.T))
            )

    def places_in_kecamatan(self, name: str, kecamatan_code: str) -> list[set[str]]:
        """The kelurahan of each separate street of that name in the kecamatan (rows within 60 m of
        each other are one street)."""
        rows = [
            r
            for r in self.streets
            if r["name"] == name and self.parent[r["kelurahan_code"]] == kecamatan_code
        ]
        groups: list[list[dict]] = []
        for row in rows:
            joined = [g for g in groups if any(shapely.distance(row["metric"], o["metric"]) < 60 for o in g)]
            merged = [row] + [r for g in joined for r in g]
            groups = [g for g in groups if g not in joined] + [merged]
        return [{r["kelurahan_code"] for r in group} for group in groups]

    def kecamatan_of(self, kelurahan_code: str) -> str:
        return self.parent[kelurahan_code]


def on_street(row: dict, rng: np.random.Generator) -> shapely.Point:
    return shapely.line_interpolate_point(row["geom"], float(rng.random()), normalized=True)


def street_address(city: City, row: dict, rng, slips: bool, style: str) -> Labelled:
    kelurahan = row["kelurahan_code"]
    kecamatan = city.kecamatan_of(kelurahan)
    area = [kelurahan_text(city.names[kelurahan], rng, slips)]
    if rng.random() < 0.5:
        area.append(kecamatan_text(city.names[kecamatan], rng, slips))
    address = join(" ".join(filter(None, [written_street(row["name"], rng, slips), house(rng)])), *area)
    return Labelled(address, style, kelurahan, kecamatan, "street", on_street(row, rng))


def build(city: City, count: int, rng: np.random.Generator) -> list[Labelled]:
    wanted = {style: round(share * count) for style, share in STYLES.items()}
    out: list[Labelled] = []
    streets = city.streets
    for _ in range(wanted["street and kelurahan"]):
        out.append(
            street_address(city, streets[rng.integers(len(streets))], rng, False, "street and kelurahan")
        )
    for _ in range(wanted["misspelt street and area"]):
        row = streets[rng.integers(len(streets))]
        out.append(street_address(city, row, rng, True, "misspelt street and area"))
    # Stated with the kecamatan only, a street tells its kelurahan when it is one street in one kelurahan
    # there, and cannot when separate streets bear the name (a street crossing kelurahan is left out).
    places = [city.places_in_kecamatan(r["name"], city.kecamatan_of(r["kelurahan_code"])) for r in streets]
    unique = [r for r, p in zip(streets, places, strict=True) if len(p) == 1 and len(p[0]) == 1]
    shared = [r for r, p in zip(streets, places, strict=True) if len(p) > 1 and len(set.union(*p)) > 1]
    for style, rows, precision in (
        ("street and kecamatan", unique, "street"),
        ("street ambiguous in kecamatan", shared, "none"),
    ):
        for _ in range(wanted[style]):
            row = rows[rng.integers(len(rows))]
            kelurahan, kecamatan = row["kelurahan_code"], city.kecamatan_of(row["kelurahan_code"])
            address = join(
                " ".join(filter(None, [written_street(row["name"], rng, False), house(rng)])),
                kecamatan_text(city.names[kecamatan], rng),
            )
            known = precision == "street"
            point = on_street(row, rng) if known else None
            out.append(Labelled(address, style, kelurahan if known else None, kecamatan, precision, point))
    for _ in range(wanted["street elsewhere"]):
        row = streets[rng.integers(len(streets))]
        elsewhere = [k for k in city.kelurahan if k["code"] not in city.street_kelurahan[row["name"]]]
        if not elsewhere:
            continue
        stated = elsewhere[rng.integers(len(elsewhere))]
        address = join(written_street(row["name"], rng, False), kelurahan_text(stated["name"], rng))
        out.append(
            Labelled(address, "street elsewhere", stated["code"], stated["parent_code"], "kelurahan", None)
        )
    landmarks = city.landmarks
    for _ in range(wanted["depan/dekat landmark"]):
        row = landmarks[rng.integers(len(landmarks))]
        kelurahan = row["kelurahan_code"]
        name = row["name"] if rng.random() < 0.7 else misspell(row["name"], rng)
        area = kelurahan_text(city.names[kelurahan], rng) if rng.random() < 0.5 else ""
        address = join(f"{rng.choice(PREPOSITIONS)} {name}", area)
        out.append(
            Labelled(
                address, "depan/dekat landmark", kelurahan, city.kecamatan_of(kelurahan), "exact", row["geom"]
            )
        )
    for _ in range(wanted["landmark only"]):
        row = landmarks[rng.integers(len(landmarks))]
        kelurahan = row["kelurahan_code"]
        out.append(
            Labelled(
                row["name"], "landmark only", kelurahan, city.kecamatan_of(kelurahan), "exact", row["geom"]
            )
        )
    for _ in range(wanted["area only"]):
        area = city.kelurahan[rng.integers(len(city.kelurahan))]
        parts = [house(rng) if rng.random() < 0.3 else "", kelurahan_text(area["name"], rng, slips=True)]
        if rng.random() < 0.5:
            parts.append(kecamatan_text(city.names[area["parent_code"]], rng, slips=True))
        out.append(Labelled(join(*parts), "area only", area["code"], area["parent_code"], "kelurahan", None))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="geo_app_bench_geocoder")
    parser.add_argument("--count", type=int, default=360)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--misses", action="store_true", help="print every address placed wrong")
    args = parser.parse_args()
    url = sample_city_database(args.database)
    settings = Settings.from_env(database_url=url, city_code=CITY, geocoder="builtin")
    rng = np.random.default_rng(args.seed)
    with connect(url) as conn:
        city = City(conn)
        srid = conn.execute("SELECT metric_srid FROM cities WHERE code = %s", (CITY,)).fetchone()[
            "metric_srid"
        ]
        labelled = build(city, args.count, rng)
        geocoder = Geocoder(conn, settings, CITY)
        started = time.perf_counter()
        answers = [geocoder.geocode(item.address) for item in labelled]
        seconds = time.perf_counter() - started
    to_metric = Transformer.from_crs(4326, srid, always_xy=True)
    rows: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    errors: dict[str, list[float]] = {"street": [], "exact": []}
    for item, answer in zip(labelled, answers, strict=True):
        for key in (item.style, "all"):
            row = rows[key]
            row["n"] += 1
            if item.kelurahan_code is None:
                right = answer.kelurahan_code is None and answer.kecamatan_code == item.kecamatan_code
            else:
                right = answer.kelurahan_code == item.kelurahan_code
            row["right"] += right
            row["over"] += PRECISION_RANK[answer.precision] > PRECISION_RANK[item.precision]
            row["same precision"] += answer.precision == item.precision
        if answer.precision in errors and item.point is not None:
            x0, y0 = to_metric.transform(item.point.x, item.point.y)
            x1, y1 = to_metric.transform(answer.lon, answer.lat)
            errors[answer.precision].append(float(np.hypot(x1 - x0, y1 - y0)))
        if args.misses and (not right or PRECISION_RANK[answer.precision] > PRECISION_RANK[item.precision]):
            print(
                f"MISS [{item.style}] {item.address!r}: {answer.precision} {answer.matched} "
                f"{answer.kelurahan_code} (want {item.precision} {item.kelurahan_code}) {answer.note}"
            )
    print(f"{'style':32} {'n':>4} {'right area':>10} {'same precision':>14} {'claimed higher':>14}")
    for style in [*STYLES, "all"]:
        row = rows[style]
        print(
            f"{style:32} {row['n']:>4} {100 * row['right'] / row['n']:>9.1f}% "
            f"{100 * row['same precision'] / row['n']:>13.1f}% {row['over']:>14}"
        )
    for precision, values in errors.items():
        median = f"{statistics.median(values):.0f} m" if values else "-"
        print(f"median error of {precision} answers: {median} (n = {len(values)})")
    print(f"{len(labelled) / seconds:.0f} addresses per second ({seconds:.2f} s for {len(labelled)})")


if __name__ == "__main__":
    main()
