import textwrap

import pytest

from neurosage.core.registry import Registry, resolve


def test_register_list_get_create():
    reg = Registry("thing")
    reg.register("square", lambda x: x * x, description="x squared", citation="folklore", arity=1)

    @reg.register("cube", description="x cubed", arity=1)
    def cube(x):
        return x**3

    assert reg.names() == ["cube", "square"] and reg.create("square", 3) == 9 and reg["cube"](2) == 8
    entry = reg.get("square")
    assert (entry.description, entry.citation, entry.arity) == ("x squared", "folklore", 1)
    assert [e.name for e in reg.list("sq*")] == ["square"] and "cube" in reg and sorted(reg) == ["cube", "square"]
    with pytest.raises(ValueError, match="already registered"):
        reg.register("cube", lambda x: x)
    with pytest.raises(KeyError, match=r"did you mean \['square'\]"):
        reg.get("sqare")


def test_string_factories_are_imported_only_when_created():
    reg = Registry("thing")
    reg.register("join", "os.path:join")
    assert reg.get("join").target == "os.path:join"
    assert reg.create("join", "a", "b") in ("a/b", "a\\b")
    assert resolve("os.path:join").__name__ == "join"
    with pytest.raises(ValueError, match="module:attribute"):
        resolve("os.path.join")


def test_builtins_run_once_on_first_query():
    calls = []
    reg = Registry("thing", builtins=(lambda: calls.append(reg.register("builtin", len)),))
    assert calls == []
    assert reg.names() == ["builtin"] and reg.names() == ["builtin"] and len(calls) == 1


def test_entry_point_plugins_register_and_a_broken_one_is_skipped(tmp_path, monkeypatch, caplog):
    (tmp_path / "thingplugin.py").write_text(textwrap.dedent('''
        def register():
            from neurosage.search import SEARCHERS
            from neurosage.search.random_search import RandomSearcher
            SEARCHERS.register("plugin-random", RandomSearcher, description="from a plug-in")

        def broken():
            raise RuntimeError("boom")
    '''))
    dist = tmp_path / "thingplugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: thingplugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[neurosage.searchers]\nok = thingplugin:register\nbad = thingplugin:broken\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    from neurosage.search import SEARCHERS, make_searcher
    from neurosage.spaces import get_space

    SEARCHERS.reload_plugins()
    try:
        assert SEARCHERS.get("plugin-random").description == "from a plug-in"
        assert make_searcher("plugin-random", get_space("pnas", 2), seed=0).ask()[0] == 0
        assert "failed to load" in caplog.text and "boom" in caplog.text
    finally:
        SEARCHERS.unregister("plugin-random")
