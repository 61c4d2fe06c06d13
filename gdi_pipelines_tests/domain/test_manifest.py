from __future__ import annotations

import json

import pytest

from gdi_pipelines.domain.manifest import ManifestError, parse_manifest

GOOD = {
    "country": "SE",
    "batch_id": "b001",
    "created": "2026-01-01T00:00:00Z",
    "reference_build": "GRCh38",
    "samples": [{"sample_id": "SE-LAB-1", "reported_sex": "female"}],
    "files": [
        {
            "path": "reads/SE-LAB-1_R1.fastq.gz",
            "kind": "sequencing",
            "format": "FASTQ",
            "size": 10,
            "sha256": "0" * 64,
            "sample_id": "SE-LAB-1",
            "read": 1,
        }
    ],
}


def _with(**changes) -> str:
    return json.dumps({**GOOD, **changes})


def test_round_trip():
    manifest = parse_manifest(json.dumps(GOOD), "m.json")
    again = parse_manifest(manifest.to_json(), "m.json")
    assert again == manifest
    assert [f.path for f in manifest.files_of(manifest.files[0].kind)] == [
        "reads/SE-LAB-1_R1.fastq.gz"
    ]


def test_invalid_json_names_file_and_line():
    with pytest.raises(
        ManifestError, match=r"^s3://b/SE/b001/manifest.json: line 2: not valid JSON"
    ):
        parse_manifest('{\n  "country": SE}', "s3://b/SE/b001/manifest.json")


@pytest.mark.parametrize(
    ("changes", "where", "reason"),
    [
        ({"country": "Sweden"}, "country", "ISO 3166-1 alpha-2"),
        ({"batch_id": "../etc"}, "batch_id", "batch_id"),
        ({"samples": []}, "samples", "at least 1"),
        ({"samples": [{"sample_id": "a"}, {"sample_id": "a"}]}, "(top level)", "duplicate sample"),
        ({"files": [{**GOOD["files"][0], "sha256": "xyz"}]}, "files.0.sha256", "64 lower-case hex"),
        ({"files": [{**GOOD["files"][0], "path": "../x"}]}, "files.0.path", "relative"),
        ({"files": [{**GOOD["files"][0], "sample_id": "ghost"}]}, "(top level)", "not in samples"),
        ({"files": [{**GOOD["files"][0], "colour": "red"}]}, "files.0.colour", "Extra inputs"),
        ({"files": [{**GOOD["files"][0], "encryption": "pgp"}]}, "files.0.encryption", "crypt4gh"),
        (
            {"files": [{**GOOD["files"][0], "kind": "clinical", "encryption": "crypt4gh"}]},
            "files.0",
            "only sequencing files may be encrypted",
        ),
    ],
)
def test_invalid_manifest_names_the_field(changes: dict, where: str, reason: str):
    with pytest.raises(ManifestError) as err:
        parse_manifest(_with(**changes), "m.json")
    message = str(err.value)
    assert message.startswith(f"m.json: {where}:"), message
    assert reason in message


def test_a_crypt4gh_file_is_declared_and_kept_in_the_json():
    files = [{**GOOD["files"][0], "encryption": "crypt4gh"}]
    manifest = parse_manifest(_with(files=files), "m.json")
    assert manifest.files[0].encryption == "crypt4gh"
    assert parse_manifest(manifest.to_json(), "m.json") == manifest
    assert parse_manifest(json.dumps(GOOD), "m.json").files[0].encryption is None
