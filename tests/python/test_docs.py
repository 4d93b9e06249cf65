"""Every code block of README.md and docs/**/*.md that is fenced ```python or ```bash runs
as written, so the documentation cannot drift from the code.

The blocks of one file run in document order in one fresh Python interpreter whose working
directory is a new temporary folder: a ```python block is executed in one namespace shared
by the file's python blocks (later blocks use earlier names), a ```bash block runs with
`bash -euo pipefail` in the same folder (so it sees the files earlier blocks wrote). The
`gtn` command on PATH is the binary named by GTN_CLI when set (a developer build), else the
installed one; `python` on PATH is the interpreter running the tests.

A block runs only when its info string is exactly `python` or `bash`. Anything else is not
run: another language (```text, ```json, ```console), no language, or extra words after
the language (```bash norun; GitHub still highlights it as bash). docs/development.md says
when to use which.
"""
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNNABLE = ("python", "bash")
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
TIMEOUT_S = 600


def doc_files():
    files = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return [f for f in files if f.is_file()]


def code_blocks(text):
    """(language, first line number of the code, code, runnable) for each fenced block."""
    blocks = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m or (m.group("fence")[0] == "`" and "`" in m.group("info")):  # CommonMark: not a fence
            i += 1
            continue
        indent, fence, info = m.group("indent"), m.group("fence"), m.group("info").strip()
        start = i + 1
        j = start
        while j < len(lines):
            close = FENCE.match(lines[j])
            if close and close.group("fence")[0] == fence[0] and len(close.group("fence")) >= len(fence) \
                    and not close.group("info").strip():
                break
            j += 1
        else:
            raise ValueError(f"line {i + 1}: the code block fenced {fence}{info} is never closed")
        body = [line[len(indent):] if line.startswith(indent) else line.lstrip() for line in lines[start:j]]
        language = info.split()[0] if info else ""
        blocks.append((language, start + 1, "\n".join(body) + "\n", info in RUNNABLE))
        i = j + 1
    return blocks


# Runs in the fresh interpreter: argv[1] is a JSON list of [label, language, line, code].
DRIVER = textwrap.dedent("""
    import json, subprocess, sys, traceback
    namespace = {"__name__": "__main__"}
    for label, language, line, code in json.load(open(sys.argv[1])):
        print(f"=== {label}: {language} block", flush=True)
        if language == "python":
            try:
                exec(compile("\\n" * (line - 1) + code, label.rsplit(":", 1)[0], "exec"), namespace)
            except BaseException:
                traceback.print_exc()
                sys.stdout.flush()
                sys.exit(f"{label}: the python block starting on this line failed (traceback above)")
        else:
            sys.stdout.flush()
            rc = subprocess.run(["bash", "-euo", "pipefail", "-c", code]).returncode
            if rc != 0:
                sys.exit(f"{label}: the bash block starting on this line exited {rc}")
        sys.stdout.flush()
""")


def gtn_bin_dir(tmp_path):
    """A folder holding `gtn` (a link to GTN_CLI when set), or None to use PATH as it is."""
    cli = os.environ.get("GTN_CLI")
    if not cli:
        return None
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "gtn").symlink_to(Path(cli).resolve())
    return folder


def run_blocks(blocks, workdir, bin_dir, timeout=TIMEOUT_S):
    """Runs [label, language, line, code] blocks in one fresh interpreter in `workdir`."""
    script = workdir.parent / f"{workdir.name}-blocks.json"
    script.write_text(json.dumps(blocks))
    env = dict(os.environ)
    path = [str(Path(sys.executable).parent), env.get("PATH", "")]
    if bin_dir is not None:
        path.insert(0, str(bin_dir))
    env["PATH"] = os.pathsep.join(path)
    # Developer runs import gtn from the source tree; keep that working from another folder.
    if env.get("PYTHONPATH"):
        env["PYTHONPATH"] = os.pathsep.join(str(Path(p).resolve()) for p in env["PYTHONPATH"].split(os.pathsep) if p)
    if env.get("GTN_CORE_DIR"):
        env["GTN_CORE_DIR"] = str(Path(env["GTN_CORE_DIR"]).resolve())
    return subprocess.run([sys.executable, "-c", DRIVER, str(script)], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=timeout)


def runnable_blocks(path):
    rel = path.relative_to(ROOT).as_posix()
    return [[f"{rel}:{line}", language, line, code]
            for language, line, code, runnable in code_blocks(path.read_text()) if runnable]


DOCS_WITH_CODE = [f for f in doc_files() if runnable_blocks(f)]


@pytest.mark.parametrize("doc", DOCS_WITH_CODE, ids=[f.relative_to(ROOT).as_posix() for f in DOCS_WITH_CODE])
def test_doc_blocks_run_as_written(doc, tmp_path):
    workdir = tmp_path / "work"
    workdir.mkdir()
    p = run_blocks(runnable_blocks(doc), workdir, gtn_bin_dir(tmp_path))
    assert p.returncode == 0, f"{p.stderr.strip().splitlines()[-1] if p.stderr.strip() else 'failed'}\n" \
                              f"--- stdout\n{p.stdout[-6000:]}\n--- stderr\n{p.stderr[-6000:]}"


def test_every_doc_fence_is_closed_and_the_docs_have_code():
    for f in doc_files():
        code_blocks(f.read_text())  # raises on an unclosed fence, naming its line
    names = {f.relative_to(ROOT).as_posix() for f in DOCS_WITH_CODE}
    assert {"README.md", "docs/cli.md", "docs/python-api.md"} <= names


def test_which_blocks_run():
    text = textwrap.dedent("""\
        # Title
        ```python
        x = 1
        ```
        ```bash
        echo hi
        ```
        ```bash norun
        rm -rf /
        ```
        ```text
        not code
        ```
        ```
        bare
        ```
        1. a list item with code:

           ```python
           y = x + 1
           ```
        ````json
        {"nested": "```python"}
        ````
        ```` ```python ```` in running text is no fence
        """)
    got = [(lang, line, code, runnable) for lang, line, code, runnable in code_blocks(text)]
    assert got == [
        ("python", 3, "x = 1\n", True),
        ("bash", 6, "echo hi\n", True),
        ("bash", 9, "rm -rf /\n", False),
        ("text", 12, "not code\n", False),
        ("", 15, "bare\n", False),
        ("python", 20, "y = x + 1\n", True),
        ("json", 23, '{"nested": "```python"}\n', False),
    ]
    with pytest.raises(ValueError, match="line 2: .* never closed"):
        code_blocks("text\n```python\nx = 1\n")


def test_blocks_share_names_and_files_and_failures_name_file_and_line(tmp_path):
    doc = textwrap.dedent("""\
        ```python
        from pathlib import Path
        value = 41
        Path("made.txt").write_text("made by python")
        ```
        ```bash
        test "$(cat made.txt)" = "made by python"
        echo bash > from_bash.txt
        ```
        ```python
        assert value + 1 == 42 and Path("from_bash.txt").read_text() == "bash\\n"
        ```
        ```bash
        false
        echo never
        ```
        """)
    blocks = [[f"x.md:{line}", lang, line, code] for lang, line, code, runnable in code_blocks(doc) if runnable]
    workdir = tmp_path / "w"
    workdir.mkdir()
    p = run_blocks(blocks, workdir, None, timeout=60)
    assert p.returncode == 1
    assert "x.md:14: the bash block starting on this line exited 1" in p.stderr
    assert "never" not in p.stdout

    bad_python = [["y.md:3", "python", 3, "a = 1\nraise RuntimeError('boom')\n"]]
    workdir = tmp_path / "w2"
    workdir.mkdir()
    p = run_blocks(bad_python, workdir, None, timeout=60)
    assert p.returncode == 1 and "y.md:3: the python block" in p.stderr
    assert 'File "y.md", line 4' in p.stderr and "RuntimeError: boom" in p.stderr
