"""One clinical person record per sequenced sample: identity, disease and phenotype."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from gdi_pipelines.synth.clinical_catalogue import (
    DISEASES,
    DUO_CONSENTS,
    OBSOLETE_TERMS,
    HpoTerm,
    RareDisease,
)
from gdi_pipelines.synth.national_ids import national_person_id
from gdi_pipelines.synth.samples import BatchSamples
from gdi_pipelines.synth.seeding import rng_for

AFFECTED_FRACTION = 0.6
OBSOLETE_USE = 0.15  # chance an obsolete term is written instead of its replacement
IMMIGRANT_ORIGINS = ("PL", "DE", "EE", "LT", "IQ", "SY", "SO", "IR", "TR", "IN")


@dataclass(frozen=True)
class Person:
    national_id: str
    sample_id: str
    sex: str  # "female" | "male", as reported to the lab
    birth_date: date
    affected: bool
    disease: RareDisease | None
    observed: tuple[HpoTerm, ...]
    excluded: tuple[HpoTerm, ...]
    onset_age: int | None  # years
    origin_country: str
    coded_with_omim: bool  # this record names the disease by OMIM rather than ORPHA
    consent: str  # DUO code

    @property
    def birth_year(self) -> int:
        return self.birth_date.year


def _pick(rng: np.random.Generator, terms: list[HpoTerm], n: int) -> list[HpoTerm]:
    return [
        terms[i] for i in sorted(rng.choice(len(terms), size=min(n, len(terms)), replace=False))
    ]


def _person(
    rng: np.random.Generator, country: str, sample_id: str, male: bool, year: int
) -> Person:
    birth_year = int(rng.integers(1930, 2023))
    born = date(birth_year, int(rng.integers(1, 13)), int(rng.integers(1, 29)))
    sex = "male" if male else "female"
    all_terms = sorted({t for d in DISEASES for t in d.hpo}, key=lambda t: t.id)
    disease, observed, onset = None, [], None
    if rng.random() < AFFECTED_FRACTION:
        eligible = [d for d in DISEASES if sex in d.sexes]
        disease = eligible[int(rng.integers(len(eligible)))]
        observed = _pick(rng, list(disease.hpo), int(rng.integers(2, 6)))
        observed = [
            OBSOLETE_TERMS[t.id] if t.id in OBSOLETE_TERMS and rng.random() < OBSOLETE_USE else t
            for t in observed
        ]
        low, high = disease.onset_years
        onset = min(int(rng.integers(low, high + 1)), year - birth_year)
    excluded: list[HpoTerm] = []
    if rng.random() < 0.3:
        own = set(disease.hpo) if disease else set()
        excluded = _pick(rng, [t for t in all_terms if t not in own], int(rng.integers(1, 3)))
    origin = country if rng.random() < 0.88 else str(rng.choice(IMMIGRANT_ORIGINS))
    return Person(
        national_id=national_person_id(country, rng, born, male),
        sample_id=sample_id,
        sex=sex,
        birth_date=born,
        affected=disease is not None,
        disease=disease,
        observed=tuple(observed),
        excluded=tuple(excluded),
        onset_age=onset,
        origin_country=origin,
        coded_with_omim=bool(rng.random() < 0.25),
        consent=str(rng.choice(list(DUO_CONSENTS))),
    )


def batch_persons(seed: int, samples: BatchSamples, export_year: int) -> list[Person]:
    """The person records of a batch, in sample order."""
    rng = rng_for(seed, "persons", samples.country, samples.batch_id)
    return [
        _person(rng, samples.country, sample_id, bool(male), export_year)
        for sample_id, male in zip(samples.sample_ids, samples.is_male, strict=True)
    ]
