"""``mantissa index build → search → eval`` round trip, in process."""

from __future__ import annotations

import numpy as np
import pytest

from mantissa.cli import main


def run(capsys, *args):
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def emb(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((600, 32)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    np.save(tmp_path / "emb.npy", x)
    np.save(tmp_path / "q.npy", x[:3])
    return tmp_path


def test_build_search_eval_round_trip(capsys, emb):
    code, out, err = run(capsys, "index", "build", "--input", str(emb / "emb.npy"), "--spec",
                         "binary+rescore:4", "--out", str(emb / "idx"), "--chunk", "100")
    assert code == 0, err
    assert "600 vectors" in out and "8 B/vector in memory" in out
    code, out, err = run(capsys, "index", "search", str(emb / "idx"), "--query-file", str(emb / "q.npy"),
                         "-k", "3")
    assert code == 0, err
    firsts = [line.split()[1] for line in out.splitlines() if line.strip().startswith("1 ")]
    assert firsts == ["id=0", "id=1", "id=2"]  # each query finds itself first after rescoring
    code, out, err = run(capsys, "index", "eval", "--input", str(emb / "emb.npy"), "--spec", "float32",
                         "--spec", "int8", "--holdout", "50", "--out", str(emb / "ev"))
    assert code == 0, err
    assert "float32" in out and (emb / "ev" / "index_eval.csv").is_file()
    assert (emb / "ev" / "recall_vs_bytes.png").is_file()
    rows = (emb / "ev" / "index_eval.csv").read_text().splitlines()
    assert rows[1].startswith("float32,1.0")


def test_errors_are_one_line(capsys, emb):
    code, _, err = run(capsys, "index", "build", "--input", str(emb / "emb.npy"), "--spec", "int8+hnsw",
                       "--out", str(emb / "idx"))
    assert code == 2 and err.startswith("error:") and "grammar" in err
    code, _, err = run(capsys, "index", "search", str(emb / "nothing"), "--query-file", str(emb / "q.npy"))
    assert code == 2 and "not an index folder" in err
    code, _, err = run(capsys, "index", "build", "--input", str(emb / "missing.npy"),
                       "--out", str(emb / "i2"))
    assert code == 2 and "accepted inputs" in err
    np.save(emb / "q5.npy", np.zeros((1, 5), np.float32))
    run(capsys, "index", "build", "--input", str(emb / "emb.npy"), "--out", str(emb / "idx"))
    code, _, err = run(capsys, "index", "search", str(emb / "idx"), "--query-file", str(emb / "q5.npy"))
    assert code == 2 and "dimension 5" in err


def test_text_query_needs_the_index_encoder(capsys, emb):
    run(capsys, "index", "build", "--input", str(emb / "emb.npy"), "--out", str(emb / "plain"))
    code, _, err = run(capsys, "index", "search", str(emb / "plain"), "--query", "a cat")
    assert code == 2 and err.startswith("error:") and "records no encoder" in err and err.count("\n") == 1
    run(capsys, "index", "build", "--input", str(emb / "emb.npy"), "--out", str(emb / "other"),
        "--encoder", "e5-small")
    code, _, err = run(capsys, "index", "search", str(emb / "other"), "--query", "a cat")
    assert code == 2 and "holds e5-small vectors" in err
    from mantissa.index.index_file import open_index

    assert open_index(emb / "other").encoder == {"name": "e5-small", "dim": 32}
    code, _, err = run(capsys, "index", "search", str(emb / "other"), "--query-file", str(emb / "q.npy"))
    assert code == 0, err
