"""ARG and ENV of one name: whichever came later is what ``$VAR`` and RUN see, as BuildKit keeps
both in one environment in Dockerfile order; the image's Env only ever holds ENV's value."""

from __future__ import annotations

from pathlib import Path

from executor.commands import StageState, StepContext, command_for
from executor.contexts.files import BuildContextFiles
from executor.dockerfile import ShellLexer, parse_dockerfile


def _run(tmp_path: Path, text: str, build_args: dict[str, str] | None = None) -> StageState:
    (tmp_path / "context").mkdir(exist_ok=True)
    state = StageState(run_config={"Env": ["PATH=/bin"]}, build_args=build_args or {},
                       global_args={"G": "global"})
    ctx = StepContext(root=tmp_path / "root", files=BuildContextFiles.load(tmp_path / "context"),
                      runner=None,  # type: ignore[arg-type]  # metadata commands run nothing
                      state=state, lexer=ShellLexer())
    for instruction in parse_dockerfile("FROM a\n" + text).stages[0].instructions:
        command_for(instruction).execute(ctx)
    return state


def test_arg_after_env_wins_in_expansion_and_run_not_in_the_image(tmp_path: Path) -> None:
    state = _run(tmp_path, "ENV V=env\nARG V=arg\nENV SEEN=$V\n")
    assert state.expansion_env()["V"] == "arg"
    assert state.process_env()["V"] == "arg"
    assert state.run_config["Env"] == ["PATH=/bin", "V=env", "SEEN=arg"]


def test_build_arg_after_env_wins_too(tmp_path: Path) -> None:
    state = _run(tmp_path, "ENV V=env\nARG V=arg\n", build_args={"V": "cli"})
    assert state.process_env()["V"] == "cli"


def test_env_after_arg_wins(tmp_path: Path) -> None:
    state = _run(tmp_path, "ARG V=arg\nENV V=env-$V\n", build_args={"V": "cli"})
    assert state.process_env()["V"] == "env-cli"
    assert state.expansion_env()["V"] == "env-cli"


def test_arg_over_the_base_images_env(tmp_path: Path) -> None:
    assert _run(tmp_path, "ARG PATH=/opt/bin\n").process_env()["PATH"] == "/opt/bin"


def test_arg_without_a_value_changes_nothing(tmp_path: Path) -> None:
    state = _run(tmp_path, "ENV V=env\nARG V\nARG W=w\nARG W\nARG NONE\n")
    env = state.process_env()
    assert (env["V"], env["W"], "NONE" in env) == ("env", "w", False)


def test_arg_without_default_takes_the_global_value(tmp_path: Path) -> None:
    state = _run(tmp_path, "ENV G=env\nARG G\n")
    assert state.process_env()["G"] == "global"
