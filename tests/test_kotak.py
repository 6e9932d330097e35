"""brainnets kotak: both parts of Kotak's thesis in one summary, never over a finished one."""
import json

import pytest

from brainnets.cli import main


@pytest.mark.long_running
def test_the_quick_summary_holds_every_acceptance_key_and_is_never_overwritten(tmp_path, capsys):
    out = tmp_path / "kotak"
    assert main(["kotak", "--quick", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    for key in ("solver_agreement_max_abs", "table_2_1", "mp_port", "solver_memory", "nlif", "git_commit", "command"):
        assert key in summary, key
    assert summary["solver_agreement_max_abs"] <= 1e-9 and summary["quick"] is True
    assert summary["nlif"]["brian2"]["agreement"] == 1.0
    assert [row["D"] for row in summary["table_2_1"]] == [100, 500, 1000]
    capsys.readouterr()
    assert main(["kotak", "--quick", "--out", str(out)]) == 2
    assert "exists" in capsys.readouterr().err
