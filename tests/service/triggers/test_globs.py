"""Filter patterns, pinned to GitHub's "Filter pattern cheat sheet" (Workflow syntax for GitHub
Actions, https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax
#filter-pattern-cheat-sheet). Every row below is an example from that page unless marked ours.
"""

from __future__ import annotations

import re

import pytest

from service.triggers.globs import GlobError, PathFilter, PatternList, RefFilter, check_pattern

# (patterns, names that match, names that do not)
BRANCH_AND_TAG_EXAMPLES = [
    (["feature/*"], ["feature/my-branch", "feature/your-branch"], ["feature/your/branch"]),
    (
        ["feature/**"],
        ["feature/beta-a/my-branch", "feature/your-branch", "feature/mona/the/octocat"],
        ["features/x"],
    ),
    (["main", "releases/mona-the-octocat"], ["main", "releases/mona-the-octocat"], ["mainline"]),
    (["*"], ["main", "releases"], ["releases/x"]),
    (["**"], ["all/the/branches", "every/tag"], []),
    (["*feature"], ["mona-feature", "feature", "ver-10-feature"], ["feature-x"]),
    (["v2*"], ["v2", "v2.0", "v2.9"], ["v3"]),
    (["v[12].[0-9]+.[0-9]+"], ["v1.10.1", "v2.0.0"], ["v3.0.0", "v1.x.1", "v1.1"]),
]

PATH_EXAMPLES = [
    (["*"], ["README.md", "server.rb"], ["docs/README.md"]),
    (["*.jsx?"], ["page.js", "page.jsx"], ["page.jsxx", "a/page.js"]),
    (["**"], ["all/the/files.md"], []),
    (["*.js"], ["app.js", "index.js"], ["src/app.js"]),
    (["**.js"], ["index.js", "js/index.js", "src/js/app.js"], ["index.ts"]),
    (["docs/*"], ["docs/README.md", "docs/file.txt"], ["docs/a/b.md", "README.md"]),
    (["docs/**"], ["docs/README.md", "docs/mona/octocat.txt"], ["README.md"]),
    (
        ["docs/**/*.md"],
        ["docs/README.md", "docs/mona/hello-world.md", "docs/a/markdown/file.md"],
        ["docs/a/file.txt"],
    ),
    (
        ["**/docs/**"],
        ["docs/hello.md", "dir/docs/my-file.txt", "space/docs/plan/space.doc"],
        ["documents/x"],
    ),
    (["**/README.md"], ["README.md", "js/README.md"], ["README.markdown"]),
    (["**/*src/**"], ["a/src/app.js", "my-src/code/js/app.js"], ["a/lib/app.js"]),
    (["**/*-post.md"], ["my-post.md", "path/their-post.md"], ["post.md"]),
    (["**/migrate-*.sql"], ["migrate-10909.sql", "db/migrate-v1.0.sql"], ["migrate.sql"]),
    # Negation: later patterns override earlier ones.
    (["*.md", "!README.md"], ["hello.md"], ["README.md", "docs/hello.md"]),
    (["*.md", "!README.md", "README*"], ["hello.md", "README.md", "README.doc"], ["docs/a.md"]),
    # Ours: escapes, and a list of only negations matches nothing.
    (["a\\*b"], ["a*b"], ["axb"]),
    (["!docs/**"], [], ["docs/a.md", "src/a.py"]),
]


@pytest.mark.parametrize(
    ("patterns", "matching", "not_matching"), BRANCH_AND_TAG_EXAMPLES + PATH_EXAMPLES
)
def test_cheat_sheet(patterns: list[str], matching: list[str], not_matching: list[str]) -> None:
    compiled = PatternList(tuple(patterns))
    assert [name for name in matching if not compiled.matches(name)] == []
    assert [name for name in not_matching if compiled.matches(name)] == []


def test_order_matters_for_negation() -> None:
    # "The order that you define patterns matters": a later match wins.
    assert PatternList(("releases/**", "!releases/**-alpha")).matches("releases/10") is True
    assert PatternList(("releases/**", "!releases/**-alpha")).matches("releases/10-alpha") is False
    assert PatternList(("!releases/**-alpha", "releases/**")).matches("releases/10-alpha") is True


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("v[1-9", "unclosed '['"),
        ("[a_b]", "may only list letters and digits"),
        ("?abc", "'?' at position 1 must follow a character"),
        ("a/*+", "'+' at position 4 must follow a character"),
        ("a?+", "'+' at position 3 must follow a character"),
        ("abc\\", "ends with an escape"),
        ("!", "'!' must be followed by a pattern"),
        ("", "empty pattern"),
    ],
)
def test_invalid_patterns_are_rejected(pattern: str, problem: str) -> None:
    with pytest.raises(GlobError, match=re.escape(problem)):
        check_pattern(pattern)


@pytest.mark.parametrize(
    ("patterns", "ignore", "files", "reason"),
    [
        (("src/**",), False, ["src/a.py", "docs/x.md"], None),
        (("src/**",), False, ["docs/x.md"], "paths: none of 1 changed file matched by [src/**]"),
        (("src/**", "!src/gen/**"), False, ["src/gen/a.py"], "paths: none of 1 changed file"),
        # "the workflow will run if at least one path does not match paths-ignore"
        (("docs/**",), True, ["docs/a.md", "src/a.py"], None),
        (("docs/**",), True, ["docs/a.md", "docs/b.md"], "paths-ignore: all 2 changed files"),
        (("docs/**",), False, [], "paths: none of 0 changed files"),
    ],
)
def test_path_filter(
    patterns: tuple[str, ...], ignore: bool, files: list[str], reason: str | None
) -> None:
    outcome = PathFilter(patterns=patterns, ignore=ignore).check(files)
    if reason is None:
        assert outcome is None
    else:
        assert outcome is not None
        assert outcome.startswith(reason)


def test_path_filter_round_trips_through_json() -> None:
    original = PathFilter(patterns=("src/**", "!src/gen/**"), ignore=False)
    restored = PathFilter.from_json(original.to_json())
    assert restored == original
    assert restored.check(["src/gen/a.py"]) == original.check(["src/gen/a.py"])
    assert restored.check(["src/a.py"]) is None


def test_ref_filter_reasons() -> None:
    include = RefFilter(key="branches", patterns=PatternList(("main",)), ignore=False)
    ignore = RefFilter(key="branches-ignore", patterns=PatternList(("main",)), ignore=True)
    assert include.check(ref="main", what="base branch") is None
    assert include.check(ref="dev", what="base branch") == (
        "branches: base branch 'dev' not matched by [main]"
    )
    assert ignore.check(ref="dev", what="branch") is None
    assert (
        ignore.check(ref="main", what="branch")
        == "branches-ignore: branch 'main' matched by [main]"
    )
