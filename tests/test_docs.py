"""The README and the documentation site say what the code does: tables that list configs, styles, commands
and fault tests are checked against the code, and every link the README gives resolves.

``mkdocs build --strict`` (``make docs``, run by ``.ci/run``) checks the site's own links and anchors; these
tests check what it cannot: that a table still matches the files and functions it lists.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
import tomllib
import yaml

from fast_style import zoo
from fast_style.errors import EXIT_OK, EXIT_PARTIAL, EXIT_USAGE
from tests.helpers import CONFIG_DIR, REPO_ROOT

README = REPO_ROOT / "README.md"
DOCS = REPO_ROOT / "docs"
MAX_README_LINES = 250
# [text](target) outside code spans; images too. Targets with a scheme (https:, mailto:) are not files.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
# What the docs call a user's own network, once `zoo.py add` has shipped it: not in the zoo.
USER_NAMES = ("my_painting", "mine")
SPEC_WITH_NETWORK = re.compile(r"(?<![\w@.-])([a-z0-9_]+@[a-z0-9_]+(?:-[a-z0-9_]+)?)(?![\w@-])")


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _without_code(markdown: str) -> str:
    """The text outside fenced code blocks and inline code spans (links there are examples, not links)."""
    markdown = re.sub(r"^```.*?^```", "", markdown, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", markdown)


def slug(heading: str) -> str:
    """The anchor of a heading, as GitHub and MkDocs' toc extension both make it for the headings used here."""
    text = unicodedata.normalize("NFKD", heading).encode("ascii", "ignore").decode()
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def anchors(markdown: str) -> set[str]:
    """The anchors of a page's headings (outside code blocks)."""
    body = re.sub(r"^```.*?^```", "", markdown, flags=re.S | re.M)
    return {slug(match) for match in re.findall(r"^#{1,6}\s+(.+?)\s*$", body, flags=re.M)}


def broken_links(page: Path) -> list[str]:
    """Relative links of ``page`` whose file, or whose heading anchor in a Markdown file, does not exist."""
    broken = []
    for target in LINK.findall(_without_code(_text(page))):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):
            continue
        path_part, _, anchor = target.partition("#")
        resolved = (page.parent / path_part).resolve() if path_part else page
        if not resolved.exists():
            broken.append(f"{target}: no file {resolved}")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(_text(resolved)):
            broken.append(f"{target}: no heading with the anchor #{anchor} in {resolved.name}")
    return broken


def table_after(markdown: str, heading: str) -> list[list[str]]:
    """The rows (cells stripped, header and rule left out) of the first table after ``heading``."""
    start = re.search(rf"^#+\s+{re.escape(heading)}\s*$", markdown, flags=re.M)
    assert start, f"no heading {heading!r}"
    rows, in_table = [], False
    for line in markdown[start.end():].splitlines():
        if line.startswith("|"):
            in_table = True
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if not all(re.fullmatch(r":?-+:?", cell) for cell in cells):
                rows.append(cells)
        elif in_table:
            break
    assert rows, f"no table after the heading {heading!r}"
    return rows[1:]


def names_in(cell: str) -> set[str]:
    """The names a table cell lists, comma-separated, without backticks and notes in brackets; '–' is none."""
    cell = re.sub(r"\([^)]*\)", "", cell).replace("`", "")
    return {name.strip() for name in cell.split(",") if name.strip() not in ("", "–", "-")}


def nav_pages(nav) -> list[str]:
    """Every page file named in mkdocs.yml's ``nav`` (nested sections included)."""
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, dict):
        return [page for value in nav.values() for page in nav_pages(value)]
    return [page for item in nav for page in nav_pages(item)]


# --- the README --------------------------------------------------------------------------------------------------

def test_the_readme_is_short_and_starts_with_the_two_commands():
    text = _text(README)
    assert len(text.splitlines()) <= MAX_README_LINES, f"README.md has {len(text.splitlines())} lines"
    first_block = re.search(r"^```bash\n(.*?)^```", text, flags=re.S | re.M)
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines()]
    assert commands == ["make train", "make test"], commands


@pytest.mark.parametrize("page", [README, *sorted(DOCS.rglob("*.md"))], ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_relative_link_resolves(page: Path):
    assert broken_links(page) == []


def test_the_link_check_sees_a_missing_file_and_a_missing_anchor(tmp_path: Path):
    (tmp_path / "page.md").write_text("# A page\n\n## Some section (`x/`)\n")
    readme = tmp_path / "README.md"
    readme.write_text("[ok](page.md#some-section-x) [gone](nothing.md) [bad](page.md#other) `[code](nothing.md)`\n"
                      "```\n[block](nothing.md)\n```\n[web](https://example.org/x)\n")
    assert [line.split(":")[0] for line in broken_links(readme)] == ["nothing.md", "page.md#other"]


def test_the_readme_indexes_every_page_of_the_site():
    config = yaml.safe_load(_text(REPO_ROOT / "mkdocs.yml"))
    pages = set(nav_pages(config["nav"]))
    readme_links = {target.partition("#")[0] for target in LINK.findall(_text(README))}
    top_level = {page for page in pages if "/" not in page or page == "notes/index.md"}
    assert {f"docs/{page}" for page in top_level} - readme_links == set()
    on_disk = {str(path.relative_to(DOCS)) for path in DOCS.glob("*.md")} | {
        str(path.relative_to(DOCS)) for path in (DOCS / "notes").glob("*.md")}
    assert on_disk == pages, ("every page in docs/ and docs/notes/ is in mkdocs.yml's nav, and only those "
                              "(a new note: add it to the nav's Notes and to docs/notes/index.md)")


def test_the_readme_zoo_table_is_what_the_zoo_serves():
    served = zoo.served_styles()
    rows = table_after(_text(README), "The zoo")
    listed = set()
    for style, network, others in rows:
        assert served[style].network == network, f"--style {style} is served by {served[style].network}, not {network}"
        listed |= {style} | names_in(others)
    assert listed == set(served), f"missing: {sorted(set(served) - listed)}; not served: {sorted(listed - set(served))}"


STYLE_ARGUMENT = re.compile(r"""(?:--style[ =]|load_model\(["'])([^\s"'`)|]+)""")


def test_every_style_the_user_docs_pass_to_a_command_resolves():
    pages = [README, *sorted(DOCS.glob("*.md"))]
    specs = {spec for page in pages for spec in STYLE_ARGUMENT.findall(_text(page))
             if spec == spec.lower() and not re.search(r"/|\.(jpg|png|pth|ckpt|onnx)$|\.\.\.", spec)}  # not NAME, files
    assert {"candy", "candy:0.7,mosaic:0.3"} <= specs
    for spec in sorted(spec for spec in specs if not spec.startswith(USER_NAMES)):
        zoo.resolve(spec, allow_path=False)


def test_every_spec_with_a_network_in_the_user_docs_resolves():
    pages = [README, *sorted(DOCS.glob("*.md"))]  # the notes are history: they may name networks since replaced
    specs = {spec for page in pages for spec in SPEC_WITH_NETWORK.findall(_text(page))}
    assert "candy@styles15" in specs
    for spec in sorted(spec for spec in specs if not spec.startswith(USER_NAMES)):
        zoo.resolve(spec, allow_path=False)


# --- the commands and their exit codes ---------------------------------------------------------------------------

@pytest.mark.parametrize("page, heading", [(README, "Commands and exit codes"),
                                           (DOCS / "usage.md", "Commands and exit codes")])
def test_the_exit_code_tables_name_every_command(page: Path, heading: str):
    console_scripts = set(tomllib.loads(_text(REPO_ROOT / "pyproject.toml"))["project"]["scripts"])
    rows = table_after(_text(page), heading)
    named = {row[1].strip("`") for row in rows} - {"–"}
    assert named == console_scripts
    for row in rows:
        script = row[0].strip("`")
        assert (REPO_ROOT / script).is_file(), script


def test_the_readme_exit_statuses_are_the_codes_of_the_code():
    text = _text(README)
    start = text.index("| exit status | meaning |")
    codes = [int(line.split("|")[1]) for line in text[start:].splitlines()[2:] if line.startswith("|")]
    assert codes == [EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, 130]


# --- the site's pages --------------------------------------------------------------------------------------------

def test_the_config_table_lists_every_config_file():
    rows = table_after(_text(DOCS / "training.md"), "Config groups (`configs/`)")
    table = {row[0].strip("`").rstrip("/"): names_in(row[1]) for row in rows}
    on_disk = {group.name: {path.stem for path in group.glob("*.yaml")} for group in CONFIG_DIR.iterdir() if group.is_dir()}
    assert table == on_disk, "the config table of docs/training.md must list every file of configs/<group>/"


def test_the_zoo_page_lists_every_painting_and_who_serves_it():
    text = _text(DOCS / "zoo.md")
    dedicated = {row[0] for row in table_after(text, "The styles")}
    further = table_after(text[text.index("| style | work |"):].replace("| style | work |", "# x\n| style | work |", 1), "x")
    assert dedicated | {row[0] for row in further} == {path.stem for path in (CONFIG_DIR / "style").glob("*.yaml")}
    served = zoo.served_styles()
    for row in further:
        style, served_by = row[0], row[-1]
        if served_by == "held out":
            assert style not in served
        else:
            assert served[style].network == served_by, style


def test_the_development_page_names_every_fault_suite_file():
    text = _text(DOCS / "development.md")
    fault_files = sorted(path.name for path in (REPO_ROOT / "tests").glob("test_*fault*.py"))
    fault_files += ["test_checkpoint_bounds.py", "test_zoo_add.py", "test_fuzz.py"]  # fault tests by another name
    assert fault_files
    assert [name for name in fault_files if f"`tests/{name}`" not in text] == []


def test_the_zoo_page_grammar_is_the_parsers():
    text = _text(DOCS / "zoo.md")
    block = re.search(r"^## Naming a network.*?^```text\n(.*?)^```", text, flags=re.S | re.M).group(1)
    docstring = " ".join(zoo.spec.__doc__.split())
    assert [line for line in block.splitlines() if " ".join(line.split()) not in docstring] == []


def test_the_n_star_tables_list_every_dedicated_network_and_every_student():
    served = zoo.served_styles()
    dedicated = {resolved.network for spec, resolved in served.items()
                 if spec.split("@")[0] == resolved.network and "-" not in spec}
    students = {spec.removesuffix("-small") for spec in served if spec.endswith("-small")}
    assert {row[0] for row in table_after(_text(DOCS / "zoo.md"), "How good each network is")} == dedicated
    assert {row[0] for row in table_after(_text(DOCS / "distillation.md"),
                                          "The shipped students against their teachers")} == students
