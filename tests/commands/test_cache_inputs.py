"""Commands answer the layer cache's questions: which option lets their layer come from the cache,
and which context files their key covers; the key itself is the one earlier versions wrote."""

from __future__ import annotations

from pathlib import Path

import pytest

from executor.cache.key import context_files, step_key
from executor.cache.steps import StepCache
from executor.commands import CacheInputs, StageState, StepContext, command_for
from executor.contexts.files import BuildContextFiles
from executor.dockerfile import ShellLexer, parse_dockerfile
from executor.options import CacheOptions


class _Stages:
    """``--from`` sources with known content: each ref's identity is its name reversed."""

    def root_for(self, ref: str) -> Path:
        raise AssertionError("not used")

    def identity(self, ref: str) -> str:
        return ref[::-1]


class _NoLayers:
    def lookup(self, key: str) -> None:
        return None

    def store(self, key: str, layer: object) -> None:
        raise AssertionError("not used")


@pytest.fixture
def ctx(tmp_path: Path) -> StepContext:
    context = tmp_path / "context"
    (context / "src").mkdir(parents=True)
    (context / "a.txt").write_text("a\n")
    (context / "src" / "b.txt").write_text("b\n")
    state = StageState(run_config={"Env": ["SRC=a.txt"], "User": "app"}, build_args={"V": "1"})
    state.args["V"] = "1"
    return StepContext(root=tmp_path / "root", files=BuildContextFiles.load(context),
                       runner=None,  # type: ignore[arg-type]  # nothing runs here
                       state=state, lexer=ShellLexer(), from_sources=_Stages())


def _commands(text: str):  # type: ignore[no-untyped-def]
    return [command_for(i) for i in parse_dockerfile("FROM a AS build\n" + text).stages[0].instructions]


def test_what_each_command_answers(ctx: StepContext) -> None:
    copy, add, copy_from, run, env = _commands(
        "COPY $SRC src/ /d/\nADD src /e/\nCOPY --from=build /x /y\nRUN --mount=type=cache,target=/c true\n"
        "ENV A=1\n")
    assert copy.cache_inputs(ctx) == CacheInputs(layer="copy", context_sources=("a.txt", "src/"))
    assert add.cache_inputs(ctx) == CacheInputs(layer="copy", context_sources=("src",))
    # COPY --from reads another stage: its key covers that stage's content (FromSources.identity)
    assert copy_from.cache_inputs(ctx) == CacheInputs(layer=None, context_sources=None, from_refs=("build",))
    assert run.cache_inputs(ctx) == CacheInputs(layer="run")
    assert env.cache_inputs(ctx) == CacheInputs()
    assert [c.cache_layer() for c in (copy, add, copy_from, run, env)] == ["copy", "copy", None, "run", None]


def test_cacheable_follows_the_options() -> None:
    copy, copy_from, run, env = _commands("COPY a /b\nCOPY --from=build /x /y\nRUN true\nENV A=1\n")
    default = StepCache(_NoLayers(), CacheOptions(enabled=True))
    assert [default.cacheable(c) for c in (copy, copy_from, run, env)] == [False, False, True, False]
    both = StepCache(_NoLayers(), CacheOptions(enabled=True, copy_layers=True))
    assert [both.cacheable(c) for c in (copy, copy_from, run, env)] == [True, False, True, False]
    neither = StepCache(_NoLayers(), CacheOptions(enabled=True, run_layers=False))
    assert [neither.cacheable(c) for c in (copy, copy_from, run, env)] == [False, False, False, False]


def test_keys_are_the_ones_written_before_typed_instructions(ctx: StepContext) -> None:
    """The key's JSON is what lamina always hashed: keyword, original and raw flags, the config,
    the declared ARGs and, for COPY/ADD from the context, the files read (and since COPY --from's
    key covers the stage it reads, that stage's content); existing caches hit."""
    cache = StepCache(_NoLayers(), CacheOptions(enabled=True))
    copy, run, copy_from = _commands("COPY --chmod=0644 --exclude=*.md $SRC src/ /d/\n"
                                     "RUN --mount=type=cache,target=/c --network=host make\n"
                                     "COPY --from=build --link /x /y\n")
    for command, sources, froms in ((copy, ["a.txt", "src/"], None), (run, None, None),
                                    (copy_from, None, [["build", "dliub"]])):
        instruction = command.instruction
        args: dict = {"args": {"V": "1"}} if froms is None else {"args": {"V": "1"}, "from": froms}
        expected = step_key("parent", {"keyword": instruction.keyword, "original": instruction.original,
                                       "flags": {k: list(v) for k, v in instruction.flags.items()}},
                            ctx.state.run_config, args,
                            None if sources is None else context_files(ctx.files, sources))
        assert cache.key("parent", command, ctx) == expected
    assert copy.instruction.flags == {"chmod": ["0644"], "exclude": ["*.md"]}
    # pinned: the same bytes hash to the same key as before the instructions were typed
    assert cache.key("parent", run, ctx) == "7719330c192edfec28997acf7a2ea12bbe98ee525ebd80075b8728a6bc37179f"
