"""`reconcile comment [PLANFILE]`: the plan as one pull-request comment, edited on every push.

Wiring only. The body is the saved plan (`reconcile plan --out FILE`) rendered as Markdown,
or a Markdown file (`--markdown FILE`, ``-`` for stdin), behind a hidden marker naming
``--key`` (one comment per key: use the target's name). The repository, pull request and
token come from the CI's environment (`reconciler.gitops.context`); the REST calls are in
`reconciler.gitops.github` / `.azure_devops`. With ``--issue TITLE`` (GitHub) the body goes
to the one open issue with that marker instead, and ``--close`` closes it: the drift flow.
Exit 0 posted (or nothing to do), 1 on any error — one sentence and a hint, no traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click

from reconciler.commands._options import fail
from reconciler.errors import ReconcileError

DEFAULT_KEY = "default"


@click.command("comment")
@click.argument("plan_file", required=False, type=click.Path(dir_okay=False))
@click.option(
    "--markdown",
    "markdown_file",
    type=click.Path(dir_okay=False, allow_dash=True),
    default=None,
    help="Post this Markdown file (- for stdin) instead of a saved plan.",
)
@click.option(
    "--key",
    default=DEFAULT_KEY,
    show_default=True,
    help="Which comment to create or edit: one per key (use the target's name).",
)
@click.option(
    "--provider",
    type=click.Choice(["auto", "github", "azure-devops"]),
    default="auto",
    show_default=True,
    help="Where the pull request lives (auto: from the CI's environment).",
)
@click.option(
    "--pr",
    "pr_number",
    type=click.IntRange(min=1),
    default=None,
    help="The pull request number (default: from the CI's environment).",
)
@click.option(
    "--issue",
    "issue_title",
    metavar="TITLE",
    default=None,
    help="Post to the one open issue with this key instead, titled TITLE (GitHub).",
)
@click.option("--close", is_flag=True, help="With --issue: close that issue, if one is open.")
@click.option(
    "--label",
    default="reconcile-drift",
    show_default=True,
    help="With --issue: the label that marks the issue.",
)
def comment(
    plan_file: str | None,
    markdown_file: str | None,
    key: str,
    provider: str,
    pr_number: int | None,
    issue_title: str | None,
    close: bool,
    label: str,
) -> None:
    """Post PLANFILE (from `reconcile plan --out`) as the pull request's plan comment."""
    from reconciler.gitops.body import KEY_PATTERN

    if not KEY_PATTERN.match(key):
        fail(
            f"--key {key!r} is not a valid comment key",
            hint="use letters, digits, '.', '_', '/' or '-', for example the target's name",
        )
    if close and not issue_title:
        fail("--close closes a drift issue and needs --issue TITLE", hint="add --issue TITLE")
    if plan_file and markdown_file:
        fail("give either PLANFILE or --markdown FILE, not both")
    if not (plan_file or markdown_file or close):
        fail(
            "nothing to post: give PLANFILE or --markdown FILE",
            hint="save the plan with `reconcile plan --out plan.json`, then "
            "`reconcile comment plan.json`",
        )
    try:
        message = _run(
            env=os.environ,
            plan_file=plan_file,
            markdown_file=markdown_file,
            key=key,
            provider=provider,
            pr_number=pr_number,
            issue_title=issue_title,
            close=close,
            label=label,
        )
    except ReconcileError as error:
        fail(error.message, error.hint)
    click.echo(message)


def _markdown_source(plan_file: str | None, markdown_file: str | None) -> Callable[[int], str]:
    """A function from a size limit to the Markdown; read (and checked) once, up front."""
    from reconciler.gitops.body import fold

    if plan_file:
        from reconciler.plan import load_plan
        from reconciler.render import render_markdown

        plan = load_plan(plan_file)
        # The renderer summarises changes itself; that reads better than a cut.
        return lambda limit: render_markdown(plan, limit=limit)
    if markdown_file:
        if markdown_file == "-":
            text = sys.stdin.read()
        else:
            try:
                text = Path(markdown_file).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ReconcileError(
                    f"cannot read the Markdown file {markdown_file}: {exc}",
                    hint="write it with `reconcile plan --format markdown > FILE`",
                ) from None
        return lambda limit: fold(text, limit)
    return lambda limit: ""


def _footer(run_url: str | None) -> str:
    where = f" in [this run]({run_url})" if run_url else ""
    return f"<sub>Posted by `reconcile comment`{where}; edited in place on every run.</sub>"


def _run(
    *,
    env: Mapping[str, str],
    plan_file: str | None,
    markdown_file: str | None,
    key: str,
    provider: str,
    pr_number: int | None,
    issue_title: str | None,
    close: bool,
    label: str,
) -> str:
    """Post and return the sentence that says what happened."""
    from reconciler.gitops import (
        COMMENT_LIMIT,
        AzureDevOpsContext,
        CommentTooLongError,
        GitHubContext,
        Provider,
        compose,
        detect_provider,
    )

    source = _markdown_source(plan_file, markdown_file)
    which = detect_provider(env) if provider == "auto" else Provider(provider)
    if which is Provider.AZURE_DEVOPS and issue_title:
        raise ReconcileError(
            "--issue posts to GitHub issues; Azure DevOps has no issues to post to",
            hint="in Azure Pipelines, publish drift as the run's summary instead "
            "(the pipeline template does)",
        )
    context: Any = (
        GitHubContext.from_env(env, pull_request=pr_number)
        if which is Provider.GITHUB
        else AzureDevOpsContext.from_env(env, pull_request=pr_number)
    )
    footer = _footer(context.run_url)
    post = _poster(context, key=key, issue_title=issue_title, close=close, label=label)
    if close:
        return post("")
    limit = COMMENT_LIMIT
    body = ""
    for attempt in range(2):
        overhead = len(compose("", key=key, footer=footer, limit=limit))
        body = compose(source(limit - overhead), key=key, footer=footer, limit=limit)
        try:
            return post(body)
        except CommentTooLongError:
            # The service counts differently from us (bytes, UTF-16 units): fold harder once.
            if attempt:
                raise
            limit //= 2
    raise AssertionError("unreachable")


def _poster(context: Any, *, key: str, issue_title: str | None, close: bool, label: str) -> Any:
    """A function that posts a body where the options say and describes the result."""
    from reconciler.gitops.azure_devops import AzureDevOps
    from reconciler.gitops.context import GitHubContext
    from reconciler.gitops.github import GitHub

    def describe(what: str, posted: Any) -> str:
        verbs = {
            "created": "Created",
            "updated": "Updated",
            "unchanged": "Left unchanged",
            "closed": "Closed",
        }
        where = f": {posted.url}" if posted.url else ""
        return f"{verbs.get(posted.action, posted.action)} {what}{where}"

    def post(body: str) -> str:
        if isinstance(context, GitHubContext):
            with GitHub(context) as gh:
                if issue_title and close:
                    posted = gh.close_issue(
                        key, comment=_closing_note(context.run_url), label=label
                    )
                    if posted.action == "none":
                        return f"No open issue for {key!r}: nothing to close."
                    return describe(f"issue #{posted.id}", posted)
                if issue_title:
                    posted = gh.upsert_issue(key, title=issue_title, body=body, label=label)
                    return describe(f"issue #{posted.id}", posted)
                number = context.require_pull_request()
                posted = gh.upsert_comment(number, key, body)
                return describe(f"the plan comment on pull request #{number}", posted)
        with AzureDevOps(context) as ado:
            posted = ado.upsert_comment(key, body)
            return describe(f"the plan thread on pull request {context.pull_request}", posted)

    return post


def _closing_note(run_url: str | None) -> str:
    where = f" ([run]({run_url}))" if run_url else ""
    return f"Azure matches the spec again{where}: closing."
