"""Sphinx configuration for approvalflow's documentation site.

Build it strictly, as CI does (warnings and broken cross-references fail)::

    sphinx-build -W --keep-going -n -b html docs docs/_build/html

The pages are Markdown (MyST); the API reference comes from the docstrings
(autodoc) and the command line's reference from click (sphinx-click). No
extension reaches the network while building: no intersphinx, no external
link check.
"""

from __future__ import annotations

from typing import Any

from approvalflow import __version__

project = "approvalflow"
author = "approvalflow developers"
copyright = "approvalflow developers"
release = __version__
version = __version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx_click",
]

source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
# A page's Markdown headings become anchors (for links like page.md#emails).
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence", "deflist"]

autodoc_member_order = "bysource"
# approvalflow.testing.contracts is a pytest suite shipped to hosts (its
# fixtures, raises and skips need pytest when a host runs it), but the site
# only reads its classes and docstrings: pytest is mocked while they are
# imported, so the docs extra alone builds the site, as on Read the Docs.
# Mocked even where pytest is installed, so every venv builds the same site.
autodoc_mock_imports = ["pytest"]
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_default_options = {"members": True, "show-inheritance": True}
# Public names are documented where ``approvalflow`` exports them.
add_module_names = False

# Nitpicky mode (-n) makes every unresolved cross-reference an error. The
# build is offline (no intersphinx), so the standard library's and other
# libraries' names cannot resolve: they are the only ones ignored.
nitpick_ignore_regex = [
    ("py:.*", r"(datetime|zoneinfo|email|collections|typing|pathlib|enum)(\..*)?"),
    ("py:.*", r"(contextlib|smtplib|ssl|os|io|types|abc|_thread|sqlite3)(\..*)?"),
    ("py:.*", r"(eventsourcing|attrs|cattrs|click|jinja2|babel|psycopg)(\..*)?"),
    ("py:.*", r"(opentelemetry|holidays|uuid)(\..*)?"),
    # Names of the standard library and of eventsourcing that annotations
    # give unqualified.
    ("py:.*", r"(Any|Self|Callable|Iterator|Iterable|Sequence|Mapping|Literal|IO)"),
    ("py:.*", r"(TextIO|Protocol|NoneType|datetime|timedelta|time|date|ZoneInfo)"),
    ("py:.*", r"(EmailMessage|Path|UUID|Enum|StrEnum|Aggregate|TAggregate)"),
    # Internal collaborators in the signatures of constructors hosts do not
    # call (connect() and Approvals build them); they are not public API.
    ("py:class", r"(ApprovalLog|DeliveryPorts|Queries|Authorization|NamedLog)"),
    ("py:class", r"(DeliverySource|LogReader|Decoder|InfrastructureFactory)"),
    # Types of internal modules that public signatures mention but that are
    # not exported (yet): the type of KEEP, the application's event log, the
    # record of who was told, and a composer's recipient.
    ("py:class", r"approvalflow\._commands\.Keep|approvalflow\._log\.ApprovalLog"),
    ("py:class", r"approvalflow\.domain\.values\.NotificationReport"),
    ("py:class", r"approvalflow\.notifications\.emails\.Recipient"),
]


def _public_target(target: str) -> str | None:
    """The documented public name of ``target``, if it is one under another path.

    Docstrings and annotations name classes by their defining (internal)
    module or by their bare name; the reference documents them where hosts
    import them from.
    """
    import importlib  # noqa: PLC0415 - only needed while building

    from sphinx.ext.autodoc.mock import mock  # noqa: PLC0415 - as above

    name = target.rsplit(".", 1)[-1]
    for module_name in (
        "approvalflow",
        "approvalflow.ports",
        "approvalflow.testing",
        "approvalflow.testing.contracts",
        "approvalflow.storage",
        "approvalflow.audit_verify",
    ):
        # The same mocks as autodoc's, for the module autodoc has not
        # imported yet.
        with mock(autodoc_mock_imports):
            module = importlib.import_module(module_name)
        if name in module.__all__:
            return f"{module_name}.{name}"
    return None


def _resolve_public(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"]
    public = _public_target(target)
    if public is None or public == target:
        return None
    domain = env.get_domain("py")
    builder = app.builder
    for role in ("class", "exc", "func", "data", "obj"):
        resolved = domain.resolve_xref(
            env, node["refdoc"], builder, role, public, node, contnode
        )
        if resolved is not None:
            return resolved
    return None


def setup(app: Any) -> None:
    """Resolve internal paths of public names to their documented entries."""
    app.connect("missing-reference", _resolve_public)


html_theme = "furo"
html_title = f"approvalflow {release}"
html_static_path: list[str] = []
