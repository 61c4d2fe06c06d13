"""Phenopackets v2 export: one JSON file per person, built with the protobuf bindings."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from google.protobuf.json_format import MessageToJson
from google.protobuf.timestamp_pb2 import Timestamp
from phenopackets import (
    Age,
    Disease,
    ExternalReference,
    File,
    Individual,
    MetaData,
    OntologyClass,
    Phenopacket,
    PhenotypicFeature,
    Resource,
    Sex,
    TimeElement,
)

from gdi_pipelines.synth.clinical_catalogue import DUO_CONSENTS, HpoTerm
from gdi_pipelines.synth.national_ids import id_scheme
from gdi_pipelines.synth.persons import Person

HPO_VERSION = "2025-01-16"
RESOURCES = (
    Resource(id="hp", name="human phenotype ontology", url="http://purl.obolibrary.org/obo/hp.owl",
             version=HPO_VERSION, namespace_prefix="HP",
             iri_prefix="http://purl.obolibrary.org/obo/HP_"),
    Resource(id="ordo", name="Orphanet Rare Disease Ontology",
             url="http://www.orphadata.org/data/ORDO/ordo_orphanet.owl", version="4.5",
             namespace_prefix="ORPHA", iri_prefix="http://www.orpha.net/ORDO/Orphanet_"),
    Resource(id="omim", name="Online Mendelian Inheritance in Man", url="https://www.omim.org",
             version=HPO_VERSION, namespace_prefix="OMIM", iri_prefix="https://www.omim.org/entry/"),
    Resource(id="icd10", name="International Statistical Classification of Diseases and Related"
             " Health Problems 10th Revision", url="https://icd.who.int/browse10/2019/en",
             version="2019", namespace_prefix="ICD10",
             iri_prefix="https://icd.who.int/browse10/2019/en#/"),
    Resource(id="ncbitaxon", name="NCBI organismal classification",
             url="http://purl.obolibrary.org/obo/ncbitaxon.owl", version="2024-11-25",
             namespace_prefix="NCBITaxon", iri_prefix="http://purl.obolibrary.org/obo/NCBITaxon_"),
    Resource(id="duo", name="Data Use Ontology", url="http://purl.obolibrary.org/obo/duo.owl",
             version="2021-02-23", namespace_prefix="DUO",
             iri_prefix="http://purl.obolibrary.org/obo/DUO_"),
)  # fmt: skip


def _timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def _age(years: int) -> TimeElement:
    return TimeElement(age=Age(iso8601duration=f"P{years}Y"))


def _feature(term: HpoTerm, excluded: bool) -> PhenotypicFeature:
    return PhenotypicFeature(type=OntologyClass(id=term.id, label=term.label), excluded=excluded)


def build_phenopacket(
    person: Person, country: str, created: datetime, vcf_path: str, build: str
) -> Phenopacket:
    prefix, _ = id_scheme(country)
    subject = Individual(
        id=person.sample_id,
        alternate_ids=[f"{prefix}:{person.national_id}"],
        date_of_birth=_timestamp(datetime(person.birth_year, 1, 1, tzinfo=UTC)),
        time_at_last_encounter=_age(created.year - person.birth_year),
        sex=Sex.MALE if person.sex == "male" else Sex.FEMALE,
        taxonomy=OntologyClass(id="NCBITaxon:9606", label="Homo sapiens"),
    )
    diseases = []
    if person.disease is not None:
        d = person.disease
        term = (
            OntologyClass(id=d.omim, label=d.omim_label)
            if person.coded_with_omim
            else OntologyClass(id=d.orpha, label=d.orpha_label)
        )
        diseases = [
            Disease(term=term, onset=_age(person.onset_age or 0)),
            Disease(term=OntologyClass(id=f"ICD10:{d.icd10}", label=d.icd10_label)),
        ]
    return Phenopacket(
        id=f"{person.sample_id}-phenopacket",
        subject=subject,
        phenotypic_features=[_feature(t, False) for t in person.observed]
        + [_feature(t, True) for t in person.excluded],
        diseases=diseases,
        files=[
            File(
                uri=vcf_path,
                individual_to_file_identifiers={person.sample_id: person.sample_id},
                file_attributes={"genomeAssembly": build, "fileFormat": "vcf"},
            )
        ],
        meta_data=MetaData(
            created=_timestamp(created),
            created_by="gdi-synth",
            submitted_by=f"{country} national rare disease registry",
            resources=list(RESOURCES),
            phenopacket_schema_version="2.0",
            external_references=[
                ExternalReference(
                    id=person.consent,
                    reference=f"http://purl.obolibrary.org/obo/{person.consent.replace(':', '_')}",
                    description=f"consent: {DUO_CONSENTS[person.consent]}",
                )
            ],
        ),
    )


def write_phenopackets(
    folder: Path, persons: list[Person], country: str, created: datetime, vcf_path: str, build: str
) -> list[Path]:
    """One `{sample}.json` per person; `vcf_path` is relative to the batch folder."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for person in persons:
        packet = build_phenopacket(person, country, created, vcf_path, build)
        path = folder / f"{person.sample_id}.json"
        # sort_keys: protobuf map fields (fileAttributes) otherwise come out in random order
        text = MessageToJson(packet, indent=2, sort_keys=True, ensure_ascii=False)
        path.write_text(text + "\n", encoding="utf-8")
        paths.append(path)
    return paths
