"""The table of bad inputs for ``test_bad_inputs.py``: (command, argv template) per case.

A template names its files by placeholder, filled in by the test from the shared artifacts
(``{vec}``, ``{index}``, ``{ckpt}``, ``{base}``...) and the case's own folder (``{user}``,
``{afile}``, ``{out}``...). Every case must end with exit 2 and one ``error:`` line.
"""

from __future__ import annotations

#: a train run small enough that a silently accepted bad value finishes in a second
TINY = ("train", "add", "--train-lengths", "1-2", "--test-lengths", "3", "--steps", "2",
        "--set", "model.d_model=16", "--set", "data.n_train=20", "--set", "data.n_test=2",
        "--out", "{out}")

Case = tuple[str, tuple[str, ...]]


def _many(command: str, prefix: tuple[str, ...], variants: list[tuple[str, ...]]) -> list[Case]:
    return [(command, prefix + v) for v in variants]


_NOT_INT = ["x", "1.5", "", "nan", "inf", "--", "1e400", "0x"]
_BAD_COUNT = ["0", "-1", "-5", "-100000"]
_BAD_SEED = ["-1", str(2**64), str(2**70), "x", "1.5"]
_PATHS_BAD_VEC = ["{missing}", "{empty_npy}", "{junk_npy}", "{vec1d}", "{vec3d}", "{strs_npy}", "{empty_txt}",
                  "{csv}", "{junk_ckpt}", "{user}", "{codes_dir}/x.npy", "{empty_st}", "{junk_st}",
                  "{two_st}"]


def _global() -> list[Case]:
    return _many("global", (), [("nosuchcommand",), ("--nosuchflag",), ("--debug-x",), ("runn",),
                                ("index", "nosuch"), ("index", "build", "extra", "--input", "{vec}"),
                                ("-x",), ("index", "--bad")])


def _run() -> list[Case]:
    cases = _many("run", ("run",), [
        (), ("nosuch-exp",), ("tiny-tst",), ("tiny-test", "--all"), ("--all", "--tour", "tiny-test"),
        ("--tour", "--scale", "smoke"), ("tiny-test", "--scale", "huge"), ("tiny-test", "--scale", ""),
        ("tiny-test", "--set", "n"), ("tiny-test", "--set", "=3"), ("tiny-test", "--set", "m=3"),
        ("tiny-test", "--set", "n=x"), ("tiny-test", "--set", "n=1.5"), ("tiny-test", "--set", "noise=abc"),
        ("tiny-test", "--set", "n.sub=3"), ("tiny-test", "--out", "{afile}"),
        ("tiny-test", "--out", "{under_file}"), ("tiny-test", "--bogus"), ("tiny-test", "--set"),
        ("tiny-test", "nosuch-exp"), ("--all", "--set", "n=3"),
    ])
    cases += [("run", ("run", "tiny-test", "--seed", s)) for s in _BAD_SEED + ["nan", ""]]
    return cases


def _show_list_report_parts() -> list[Case]:
    return (_many("show", ("show",), [(), ("nosuch",), ("tiny-tst",), ("tiny-test", "--runs", "{afile}"),
                                      ("tiny-test", "--runs"), ("tiny-test", "extra"), ("--bogus",)])
            + _many("list", ("list",), [("extra",), ("--runs", "{afile}"), ("--runs",), ("--bogus",)])
            + _many("report", ("report",), [("extra",), ("--runs", "{afile}"), ("--out", "{under_file}"),
                                            ("--out", "{user}"), ("--runs",), ("--bogus",),
                                            ("--out", "{user}/sub")])
            + _many("parts", ("parts",), [("nosuch",), ("formats", "extra"), ("--bogus",)]))


def _train() -> list[Case]:
    sets = ["model.n_head=0", "model.n_head=-2", "model.n_head=3", "model.d_model=0", "model.d_model=-16",
            "model.n_layer=0", "model.n_layer=-1", "model.d_ff=-4", "model.max_len=0", "model.vocab_size=0",
            "model.dropout=1", "model.dropout=-0.1", "model.dropout=nan", "model.pe=nosuch",
            "model.attention=nosuch", "model.ffn=nosuch", "model.norm=nosuch",
            "train.lr=nan", "train.lr=inf", "train.lr=-inf", "train.lr=0", "train.lr=-1e-3",
            "train.beta1=2", "train.beta1=1", "train.beta1=-0.1", "train.beta1=nan", "train.beta2=1.5",
            "train.beta2=1", "train.beta2=nan", "train.grad_clip=nan", "train.grad_clip=-1",
            "train.grad_clip=inf", "train.weight_decay=nan", "train.weight_decay=-1",
            "train.weight_decay=inf", "train.min_lr_ratio=nan", "train.min_lr_ratio=-1",
            "train.min_lr_ratio=2", "train.warmup=-1", "train.schedule=nosuch", "train.ckpt_every=-5",
            "train.log_every=-5", "train.eval_every=-5", "train.steps=0", "train.steps=-3",
            "train.batch_size=0", "train.batch_size=-1", "train.seed=-1", f"train.seed={2**64}",
            "train.device=nosuch", "data.n_train=0", "data.n_train=-5", "data.n_test=0", "data.n_test=-1",
            "data.curriculum=nan", "data.curriculum=-0.5", "data.curriculum=2", "data.format=nosuch",
            "data.train_lengths=x", "data.train_lengths=5-2", "data.train_lengths=0",
            "data.train_lengths=-3", "data.test_lengths=", "data.test_lengths=a-b", "data.grid=maybe",
            "nosuch=1", "model.nosuch=1", "train=1", "model=3", "train.lr", "=1", "train.lr=",
            "train.steps=1.5", "train.lr=abc"]
    cases: list[Case] = [("train", TINY + ("--set", s)) for s in sets]
    cases += [("train", TINY + ("--seed", s)) for s in _BAD_SEED]
    cases += [("train", TINY + extra) for extra in [
        ("--steps", "0"), ("--steps", "-1"), ("--steps", "x"), ("--pe", "nosuch"), ("--format", "nosuch"),
        ("--train-lengths", "x"), ("--train-lengths", "9-1"), ("--test-lengths", "0-0"),
        ("--test-lengths", ""), ("--resume", "--force"), ("--bogus",)]]
    cases += [("train", tuple(a.replace("add", "nosuch-task") for a in TINY))]
    cases += [("train", tuple("{under_file}" if a == "{out}" else a for a in TINY))]
    cases += [("train", tuple("{afile}" if a == "{out}" else a for a in TINY))]
    cases += [("train", tuple("{under_file}" if a == "{out}" else a for a in TINY) + ("--resume",))]
    cases += [("train", ("train",)), ("train", ("train", "add", "extra"))]
    return cases


def _eval() -> list[Case]:
    cases = _many("eval", ("eval",), [
        (), ("{missing}",), ("{ckpt_dir}",), ("{afile}",), ("{empty_npy}",), ("{base}",), ("{ckpt_extra}",),
        ("{ckpt_nomodel}",), ("{ckpt_badmodel}",), ("{ckpt_baddata}",), ("{ckpt_badtask}",),
        ("{junk_ckpt}",), ("{empty_ckpt}",),
        ("{ckpt}", "--n", "0"), ("{ckpt}", "--n", "-1"), ("{ckpt}", "--n", "x"),
        ("{ckpt}", "--lengths", "x"), ("{ckpt}", "--lengths", "5-2"), ("{ckpt}", "--lengths", ""),
        ("{ckpt}", "--lengths", "0"), ("{ckpt}", "--lengths", "-2"), ("{ckpt}", "--lengths", "1,,x"),
        ("{ckpt}", "--csv", "{under_file}"), ("{ckpt}", "--csv", "{user}"), ("{ckpt}", "--bogus"),
        ("{ckpt}", "--csv", "{user}/sub"),
    ])
    cases += [("eval", ("eval", "{ckpt}", "--seed", s)) for s in _BAD_SEED]
    return cases


def _quantize() -> list[Case]:
    q = ("quantize",)
    rec = ("quantize", "--recipe", "int8", "--out", "{out}")
    cases = _many("quantize", q, [
        (), ("--recipe", "int8"), ("--out", "{out}"), ("--recipe", "nosuch", "--out", "{out}"),
        ("--recipe", "", "--out", "{out}"), ("--recipe", "int8:nosuch=1", "--out", "{out}"),
        ("--recipe", "int8:act_bits=1", "--out", "{out}"), ("--recipe", "int8:act_bits=-8", "--out", "{out}"),
        ("--recipe", "int8:act_bits=x", "--out", "{out}"), ("--recipe", "bcq3:group=0", "--out", "{out}"),
        ("--recipe", "bcq3:group=-128", "--out", "{out}"), ("--recipe", "bcq3:lut=maybe", "--out", "{out}"),
        ("--recipe", "bcq2:group=0", "--out", "{out}"), ("--recipe", "w4-int:group=x", "--out", "{out}"),
        ("--recipe", "w4-int:bits=0", "--out", "{out}"), ("--recipe", "w4-int:bits=-4", "--out", "{out}"),
        ("--recipe", "w4-int:group=-1", "--out", "{out}"), ("--recipe", "w4-int:bits=9", "--out", "{out}"),
        ("--recipe", "int8-outlier:threshold=nan", "--out", "{out}"),
        ("--recipe", "int8-outlier:threshold=-1", "--out", "{out}"),
        ("--recipe", "nupes4:bits=0", "--out", "{out}"), ("--recipe", "nupes4:a=nan", "--out", "{out}"),
        ("--recipe", "lmul:mantissa_bits=-1", "--out", "{out}"),
        ("--recipe", "fp8:fmt=nosuch", "--out", "{out}"), ("--recipe", "w4a4-int:bits=0", "--out", "{out}"),
        ("--recipe", "w4a4-int:calib=nosuch", "--out", "{out}"),
        ("--recipe", "int8", "--out", "{user}"), ("--recipe", "int8", "--out", "{afile}"),
        ("--recipe", "int8", "--out", "{under_file}"), ("--recipe", "int8", "--out", "{manifest_dir}"),
        ("--recipe", "int8", "--out", "{out}", "a", "b"), ("--recipe", "int8", "--out", "{out}", "{user}"),
        ("--recipe", "int8", "--out", "{out}", "{missing}"),
        ("--recipe", "int8", "--out", "{out}", "{afile}"),
        ("--compare", "--recipe", "int8"), ("--compare", "nosuch"), ("--compare", "int8:group=x"),
        ("--compare", "bcq3:group=0"), ("--compare", "int8", "--model", "{user}"),
        ("--compare", "int8", "--out", "{afile}"), ("--compare", "int8", "--texts", "0"),
        ("--compare", "int8", "--texts", "-5"), ("--compare", "int8", "--pairs", "0"),
        ("--compare", "int8", "--calibration", "0"), ("--bogus",),
    ])
    cases += [("quantize", rec + extra) for extra in [
        ("--eval", "--texts", "0"), ("--eval", "--texts", "-1"), ("--eval", "--pairs", "-1"),
        ("--eval", "--pairs", "0"), ("--calibration", "0"), ("--calibration", "-5"), ("--texts", "x"),
        ("--include", ""), ("--include", "nosuch.layer.*"), ("--exclude", "*")]]
    return cases


def _index_build() -> list[Case]:
    b = ("index", "build", "--out", "{out}")
    cases = [("index build", b + ("--input", p)) for p in _PATHS_BAD_VEC]
    cases += [("index build", b + ("--input", "{vec}", "--chunk", v)) for v in _BAD_COUNT + ["x"]]
    cases += [("index build", b + ("--input", "{vec}", "--fit-size", v)) for v in _BAD_COUNT + ["x"]]
    cases += [("index build", b + ("--input", "{vec}", "--seed", v)) for v in _BAD_SEED]
    specs = ["", "nosuch", "int8+", "+int8", "int8+int4", "pq:x", "pq:0", "pq:-4", "pq:5", "pq:4x0",
             "pq:4x99",
             "pq:4,iters=0", "bebr:7", "bebr:-1", "bebr:3,steps=-5", "bebr:3,lr=nan",
             "bebr:3,lr=-1", "bebr:3,tau=0", "bebr:3,hidden=0", "ivf:0+int8", "ivf:-3+int8",
             "ivf:4,nprobe=0+int8", "ivf:4,nprobe=-1+int8", "ivf:99999+int8", "matryoshka:0+int8",
             "matryoshka:-8+int8", "matryoshka:64+int8", "int8+rescore:0", "int8+rescore:-2",
             "int8+rescore:2,with=nosuch", "binary:kernel=nosuch", "binary:query=nosuch", "int8:nosuch=1",
             "float32:x", "int8+rescore:x"]
    cases += [("index build", b + ("--input", "{vec}", "--spec", s)) for s in specs]
    cases += [("index build", ("index", "build", "--input", "{vec}", "--out", o))
              for o in ["{user}", "{afile}", "{under_file}", "{manifest_dir}"]]
    cases += [("index build", ("index", "build", "--input", "{vec}", "--out", "{user}", "--force")),
              ("index build", ("index", "build", "--input", "{vec}")),
              ("index build", ("index", "build", "--out", "{out}")),
              ("index build", b + ("--input", "{two_st}", "--key", "nosuch")),
              ("index build", b + ("--input", "{vec}", "--key", "x")),
              ("index build", b + ("--input", "{nan_npy}",)),
              ("index build", b + ("--input", "{vec}", "--bogus"))]
    return cases


def _index_search() -> list[Case]:
    s = ("index", "search")
    cases = _many("index search", s, [
        (), ("{index}",), ("{missing}", "--query-file", "{vec}"), ("{user}", "--query-file", "{vec}"),
        ("{afile}", "--query-file", "{vec}"), ("{codes_dir_index}", "--query-file", "{vec}"),
        ("{empty_dir}", "--query-file", "{vec}"),
        ("{index}", "--query-file", "{vec16}"), ("{index}", "--query-file", "{ckpt_dir}"),
        ("{index}", "-k", "x"), ("{index}", "--no-verify", "x"), ("{index}", "--bogus"),
    ])
    cases += [("index search", s + ("{index}", "--query-file", p)) for p in _PATHS_BAD_VEC]
    cases += [("index search", s + ("{index}", "--query-file", "{vec}", "-k", k)) for k in _BAD_COUNT]
    return cases


def _index_eval() -> list[Case]:
    e = ("index", "eval", "--input", "{vec}", "--spec", "int8")
    cases = [("index eval", ("index", "eval", "--spec", "int8", "--input", p)) for p in _PATHS_BAD_VEC]
    cases += [("index eval", e + extra) for extra in [
        ("--holdout", "0"), ("--holdout", "-1"), ("--holdout", "300"), ("--holdout", "x"),
        ("-k", "0"), ("-k", "-3"), ("-k", "x"), ("--queries", "{vec16}"), ("--queries", "{empty_npy}"),
        ("--queries", "{junk_npy}"), ("--queries", "{missing}"), ("--queries", "{vec1d}"),
        ("--spec", "nosuch"), ("--spec", "pq:0"), ("--spec", "bebr:3,steps=-5"), ("--spec", ""),
        ("--out", "{afile}"), ("--out", "{under_file}"), ("--seed", "-1"), ("--seed", str(2**64)),
        ("--key", "x"), ("--bogus",)]]
    cases += [("index eval", ("index", "eval", "--input", "{vec}")),
              ("index eval", ("index", "eval", "--spec", "int8"))]
    return cases


def _merge() -> list[Case]:
    m = ("merge", "--out", "{out}")
    cases = _many("merge", m, [
        (), ("{base}",), ("{missing_st}", "{ft}"), ("{base}", "{missing_st}"), ("{base}", "{afile}"),
        ("{junk_st}", "{ft}"), ("{base}", "{junk_st}"), ("{base}", "{junk_pt}"), ("{base}", "{empty_st}"),
        ("{base}", "{nan_st}"), ("{nan_st}", "{ft}"), ("{base}", "{inf_st}"), ("{base}", "{other_keys}"),
        ("{base}", "{other_shape}"), ("{base}", "{ft}", "{other_keys}"), ("{base}", "{user}"),
        ("{user}", "{ft}"), ("{base}", "{ft}", "--method", "nosuch"),
        ("{base}", "{ft}", "--method", "task-arithmetic:scale=nan"),
        ("{base}", "{ft}", "--method", "task-arithmetic:scale=inf"),
        ("{base}", "{ft}", "--method", "task-arithmetic:scale=x"),
        ("{base}", "{ft}", "--method", "task-arithmetic:nosuch=1"),
        ("{base}", "{ft}", "--method", "ties:k=2"),
        ("{base}", "{ft}", "--method", "ties:k=-0.5"), ("{base}", "{ft}", "--method", "ties:k=nan"),
        ("{base}", "{ft}", "--method", ""), ("{base}", "{ft}", "--method", "average:x=1"),
        ("{base}", "{ft}", "--method", "atlas"), ("{base}", "{ft}", "--method", "atlas", "--model", "x:y"),
        ("{base}", "{ft}", "--method", "atlas", "--model", "nosuchmod:f", "--probe", "{probe}"),
        ("{base}", "{ft}", "--method", "atlas", "--model", "bad_input_models:nothing", "--probe", "{probe}"),
        ("{base}", "{ft}", "--method", "atlas", "--model", "bad_input_models:other_names",
         "--probe", "{probe}"),
        ("{base}", "{ft}", "--method", "atlas", "--model", "bad_input_models:linear", "--probe", "{base}"),
        ("{base}", "{ft}", "--method", "atlas", "--model", "bad_input_models:linear", "--probe", "{junk_st}"),
        ("{base}", "{ft}", "--method", "atlas", "--probe", "{probe}"),
        ("{base}", "{ft}", "--method", "self-positioning", "--model", "bad_input_models:other_names",
         "--probe", "{probe}"),
        ("{base}", "{ft}", "--method", "concrete", "--model", "bad_input_models:other_names",
         "--probe", "{probe}"),
        ("{base}", "{ft}", "--method", "self-positioning:lr=nan", "--model", "bad_input_models:linear",
         "--probe", "{probe}"),
        ("{base}", "{ft}", "--method", "self-positioning:steps=-5", "--model", "bad_input_models:linear",
         "--probe", "{probe}"),
        ("{base}", "{ft}", "--method", "atlas:steps=-5", "--model", "bad_input_models:linear",
         "--probe", "{probe}"),
        ("{base}", "{ft}", "--bogus"), ("{base_txt}", "{ft}"),
    ])
    cases += [("merge", ("merge", "{base}", "{ft}", "--out", o)) for o in ["{afile}", "{under_file}"]]
    cases += [("merge", ("merge", "{base}", "{ft}"))]
    return cases


def _demo() -> list[Case]:
    return _many("demo", ("demo",), [("extra",), ("--out", "{afile}"), ("--out", "{under_file}"),
                                     ("--out",), ("--bogus",), ("--list", "x")])


def all_cases() -> list[Case]:
    return (_global() + _run() + _show_list_report_parts() + _train() + _eval() + _quantize()
            + _index_build() + _index_search() + _index_eval() + _merge() + _demo())
