"""The Hail peer of `make bench PEERS=hail`, without Hail: its options, the commands both sides
run, the contig recoding the peer script gives Hail, the AC/AN cross-check's pairing, and that
the contest is registered only with `--peers hail`. Running Hail itself is `make bench`'s."""

from __future__ import annotations

from pathlib import Path

import pytest

from gdi_pipelines.bench import peer_hail, runner
from gdi_pipelines.bench.__main__ import parse_options
from gdi_pipelines.bench.inputs import VcfInput
from gdi_pipelines.bench.peers import (
    HAIL_VENV,
    PEER_HAIL,
    compare_counts,
    hail_argv,
    hail_python,
    ours_command,
    read_counts,
)


def _vcf(build: str, key: str = "1M-SE", catalogue: Path | None = Path("/ref")) -> VcfInput:
    return VcfInput(
        key=key,
        label=f"test {key}",
        size="1M",
        vcf=Path(f"/in/{key}.vcf.gz"),
        source_build=build,
        target_build="GRCh38" if catalogue else build,
        source_fasta=Path("/ref/genome.fa.gz"),
        catalogue=catalogue,
        manifest=None,
        country="SE",
        batch="b001",
        samples=100,
        records=10_000,
    )


def test_peers_are_off_unless_asked_and_unknown_ones_refused(tmp_path: Path) -> None:
    default = parse_options(["--out", "x/bench.json"])
    assert default.peers == () and default.hail_venv == HAIL_VENV
    asked = parse_options(["--peers", "hail", "--tasks", "", "--hail-venv", str(tmp_path)])
    assert asked.peers == ("hail",) and asked.tasks == () and asked.hail_venv == tmp_path
    assert parse_options(["--smoke", "--peers", "hail"]).peers == ("hail",)
    with pytest.raises(SystemExit):
        parse_options(["--peers", "spark"])


def test_hail_runs_the_peer_script_on_the_vcfs_own_build(tmp_path: Path) -> None:
    python = tmp_path / "bin" / "python"
    for build in ("GRCh37", "GRCh38"):
        argv = hail_argv(python, _vcf(build), tmp_path / "out.tsv", tmp_path / "tmp")
        assert argv[:3] == [str(python), str(PEER_HAIL), "/in/1M-SE.vcf.gz"]
        assert argv[argv.index("--reference-genome") + 1] == build
        assert argv[argv.index("--tmp-dir") + 1] == str(tmp_path / "tmp")
        assert argv[argv.index("--cores") + 1] == "2"
        assert peer_hail.parse_args(argv[2:]).reference_genome == build


def test_a_missing_hail_environment_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=r"install-hail\.sh"):
        hail_python(tmp_path / "no-venv")
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    (tmp_path / "venv" / "bin" / "python").touch()
    assert hail_python(tmp_path / "venv") == tmp_path / "venv" / "bin" / "python"


def test_ours_is_task_1_then_task_2_on_the_same_tables() -> None:
    command = ours_command(_vcf("GRCh37"), Path("/work/tables"))
    harmonise, summaries = command.split("; ")
    assert "gdi_pipelines.bench.ours_harmonise /in/1M-SE.vcf.gz --out /work/tables" in harmonise
    assert "--source-build GRCh37 --target-build GRCh38" in harmonise
    assert "gdi_pipelines.bench.ours_summaries /work/tables --build GRCh38" in summaries
    real = ours_command(_vcf("GRCh37", "real", catalogue=None), Path("/t"))
    assert "--fasta /ref/genome.fa.gz" in real and real.endswith("--build GRCh37")


def test_contigs_are_recoded_to_the_reference_genomes_style() -> None:
    grch38 = peer_hail.contig_recoding("GRCh38")
    assert grch38["22"] == "chr22" and grch38["MT"] == "chrM" and grch38["X"] == "chrX"
    assert not any(key.startswith("chr") for key in grch38)
    grch37 = peer_hail.contig_recoding("GRCh37")
    assert grch37["chr22"] == "22" and grch37["chrM"] == "MT"
    assert set(grch37.values()) == set(grch38)
    with pytest.raises(ValueError):
        peer_hail.contig_recoding("hg19")


def test_cross_check_pairs_left_aligned_indels_and_reports_differences() -> None:
    hail = read_counts(
        [
            "chrom\tpos\tref\talt\tAC\tAN\tAF\n",
            "chr1\t100\tA\tG\t3\t200\t0.015\n",
            "chr1\t232\tGG\tG\t1\t200\t0.005\n",  # bcftools left-aligns it to 231
            "chrX\t50\tC\tT\t2\t150\t0.013\n",
            "chrM\t7\tT\tC\t1\t100\t0.01\n",
        ],
        skip_header=True,
    )
    bcftools = read_counts(
        [
            "1\t100\tA\tG\t3\t200\n",
            "1\t231\tAG\tA\t1\t200\n",
            "X\t50\tC\tT\t4\t150\n",
            "MT\t7\tT\tC\t1\t100\n",
            "1\t900\tC\tA\t1\t200\n",
        ]
    )
    checked = compare_counts(hail, bcftools)
    assert checked["compared"] == 4 and checked["compared_left_aligned"] == 1
    assert checked["ac_an_equal"] == 3 and checked["ac_an_differ"] == 1
    assert checked["differ_examples"] == [
        {"hail": ["X", 50, "C", "T", 2, 150], "bcftools": ["X", 50, "C", "T", 4, 150]}
    ]
    assert checked["only_in_hail"] == 0 and checked["only_in_bcftools"] == 1


def test_the_hail_contest_runs_only_with_peers_hail(monkeypatch, tmp_path: Path) -> None:
    class FakeCohort:
        def vcf_input(self, country: str) -> VcfInput:
            return _vcf("GRCh38", f"1M-{country}")

    monkeypatch.setattr(runner.inputs, "prepare_cohort", lambda *a, **k: FakeCohort())
    monkeypatch.setattr(runner.inputs, "real_vcf_input", lambda: _vcf("GRCh37", "real", None))
    ran = []
    monkeypatch.setattr(runner, "hail_contest", lambda vcf, *args: ran.append(vcf.key) or vcf)
    argv = ["--tasks", "", "--sizes", "1M", "--out", str(tmp_path / "bench.json")]
    assert runner._contests(parse_options(argv), tmp_path / "work") == []
    assert ran == []
    results = runner._contests(parse_options([*argv, "--peers", "hail"]), tmp_path / "work")
    assert ran == ["real", "1M-SE"] and [r.key for r in results] == ran
