import pytest

from mantissa.errors import DuplicateNameError, SpecError, UnknownNameError
from mantissa.registry import REGISTRIES, Registry, Spec


@pytest.fixture
def reg():
    r = Registry("test-family")
    yield r
    REGISTRIES.pop("test-family")


def test_register_get_list(reg):
    @reg.register("alpha", aliases=("a",))
    def alpha(x=1):
        return x

    reg.add("beta", 2)
    assert reg.get("alpha") is alpha and reg.get("a") is alpha
    assert reg.list() == ["alpha", "beta"]
    assert "a" in reg and "gamma" not in reg
    assert REGISTRIES["test-family"] is reg


def test_duplicate_is_error(reg):
    reg.add("x", 1)
    with pytest.raises(DuplicateNameError):
        reg.add("x", 2)


def test_unknown_lists_close_names(reg):
    for n in ("float8_e4m3fn", "float8_e5m2", "int8"):
        reg.add(n, n)
    with pytest.raises(UnknownNameError) as exc:
        reg.get("float8_e4m3")
    msg = str(exc.value)
    assert "did you mean" in msg and "'float8_e4m3fn'" in msg and "valid names" in msg
    assert isinstance(exc.value, ValueError)


def test_spec_parse_and_build(reg):
    s = Spec.parse("int4:group=64,sym=true")
    assert s == Spec("int4", (), {"group": 64, "sym": True})
    assert str(Spec.parse("pq:48,bits=8")) == "pq:48,bits=8"
    assert Spec.parse("bebr:3").args == (3,)
    assert Spec.parse("x:0.5").args == (0.5,)

    reg.add("scaled", lambda k, scale=1.0: k * scale)
    assert reg.build("scaled:3,scale=2.0") == 6.0
    with pytest.raises(SpecError):
        reg.build("scaled:3,nope=1")


@pytest.mark.parametrize("bad", ["", ":3", "a:k=", "a:k=1,2"])
def test_spec_errors(bad):
    with pytest.raises(SpecError):
        Spec.parse(bad)


def test_duplicate_registry_name():
    Registry("test-dupe")
    try:
        with pytest.raises(DuplicateNameError):
            Registry("test-dupe")
    finally:
        REGISTRIES.pop("test-dupe")
