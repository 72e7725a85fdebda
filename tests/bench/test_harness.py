"""The results files: what a benchmark saves is what the report reads back."""

import json

from bench.harness import emit, load_results


def test_load_results_reads_the_benchmarks_and_meta_present_and_nothing_else(tmp_path, monkeypatch):
    monkeypatch.setattr("bench.harness.RESULTS", tmp_path)
    emit("dispatch", {"rows": []}, started=0.0)
    (tmp_path / "meta.json").write_text(json.dumps({"smoke": True}))
    (tmp_path / "notes.json").write_text("{}")
    loaded = load_results(tmp_path)
    assert sorted(loaded) == ["dispatch", "meta"]
    assert loaded["dispatch"]["benchmark"] == "dispatch"
    assert loaded["dispatch"]["rows"] == []
