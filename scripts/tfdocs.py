"""Generate the reference section of Terraform module READMEs (terraform-docs cannot be installed here).

The section lists the requirements (Terraform and providers, from the module's terraform blocks), every
example under examples/<name>/ verbatim (its .tf files, which `make validate` and `make tf-test` run), the
inputs and outputs, and the resources the module creates (addresses, through its local module calls).

    tfdocs.py [--write | --check] [DIR ...]

Without DIRs every module under modules/ is handled. Without a mode the generated section is printed.
--write rewrites the section between <!-- BEGIN_TF_DOCS --> and <!-- END_TF_DOCS --> in each README.md
(appending the markers when absent, creating the README when missing) and, first, the module's copies of
the files shared from modules/aws-lambda-worker (platform_inputs.tf, worker_settings.tf: see
scripts/worker_settings.py); --check exits 1 naming every README section, and every shared copy, that
differs from what the code says.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts import tfroots, worker_settings

BEGIN_MARKER = "<!-- BEGIN_TF_DOCS -->"
END_MARKER = "<!-- END_TF_DOCS -->"
README = "README.md"

_HEREDOC = re.compile(
    r"^<<(?P<trim>-?)(?P<tag>[A-Za-z_][A-Za-z0-9_]*)\n(?P<body>.*?)\n?[ \t]*(?P=tag)$", re.DOTALL
)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


class DocsError(Exception):
    """A README cannot be updated safely (broken markers)."""


@dataclass(frozen=True)
class Input:
    name: str
    description: str
    type: str
    default: str  # rendered; "n/a" when required
    required: bool


@dataclass(frozen=True)
class Output:
    name: str
    description: str


def _unescape(text: str) -> str:
    """Resolve HCL quoted-string escapes (python-hcl2 keeps them verbatim)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
            if nxt == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", text[i + 2 : i + 6]):
                out.append(chr(int(text[i + 2 : i + 6], 16)))
                i += 6
                continue
        if text.startswith(("$${", "%%{"), i):
            out.append(text[i + 1 : i + 3])
            i += 3
            continue
        out.append(char)
        i += 1
    return "".join(out)


def hcl_text(value: Any) -> str:
    """The text of an HCL string attribute: heredocs unwrapped (and dedented for <<-), escapes resolved."""
    if not isinstance(value, str):
        return "" if value is None else str(value)
    heredoc = _HEREDOC.match(value)
    if heredoc is not None:
        body = heredoc.group("body")
        return textwrap.dedent(body) if heredoc.group("trim") else body
    return _unescape(value)


def one_line(text: str) -> str:
    return " ".join(text.split())


def render_type(value: Any) -> str:
    """'${map(string)}' -> 'map(string)'; multi-line object types arrive already on one line."""
    if value is None:
        return "any"
    return one_line(tfroots.strip_interpolation(str(value)))


def render_value(value: Any) -> str:
    """A default value as HCL, on one line."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str):
        stripped = tfroots.strip_interpolation(value)
        if stripped != value:  # a whole ${...}: an expression, shown as written
            return one_line(stripped)
        return json.dumps(hcl_text(value), ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(render_value(item) for item in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = []
        for key, item in value.items():
            key_text = str(key) if _IDENTIFIER.match(str(key)) else json.dumps(str(key))
            items.append(f"{key_text} = {render_value(item)}")
        return "{ " + ", ".join(items) + " }"
    return json.dumps(str(value))


def collect(module_dir: Path) -> tuple[list[Input], list[Output]]:
    """Inputs and outputs declared in the module's top-level .tf files, sorted by name."""
    inputs: dict[str, Input] = {}
    outputs: dict[str, Output] = {}
    for path in tfroots.tf_files(module_dir):
        data = tfroots.load_hcl(path)
        for name, body in tfroots.blocks(data, "variable"):
            has_default = "default" in body
            inputs[name] = Input(
                name=name,
                description=one_line(hcl_text(body.get("description"))),
                type=render_type(body.get("type")),
                default=render_value(body["default"]) if has_default else "n/a",
                required=not has_default,
            )
        for name, body in tfroots.blocks(data, "output"):
            outputs[name] = Output(name=name, description=one_line(hcl_text(body.get("description"))))
    return [inputs[k] for k in sorted(inputs)], [outputs[k] for k in sorted(outputs)]


def requirements(module_dir: Path) -> list[tuple[str, str]]:
    """(name, version constraint) for Terraform and each required provider, from the top-level .tf files."""
    terraform: list[tuple[str, str]] = []
    providers: dict[str, tuple[str, str]] = {}
    for path in tfroots.tf_files(module_dir):
        for block in tfroots.load_hcl(path).get("terraform", []) or []:
            if not isinstance(block, dict):
                continue
            if "required_version" in block:
                terraform = [("terraform", str(block["required_version"]))]
            for entry in block.get("required_providers", []) or []:
                if not isinstance(entry, dict):
                    continue
                for name, raw in entry.items():
                    spec = raw if isinstance(raw, dict) else {"version": raw}
                    source = spec.get("source")
                    label = f"{name} ({source})" if source else str(name)
                    providers[str(name)] = (label, str(spec.get("version", "any")))
    return terraform + [providers[name] for name in sorted(providers)]


def resource_addresses(module_dir: Path, prefix: str = "", seen: frozenset[Path] = frozenset()) -> list[str]:
    """Addresses of the managed resources the module creates, its own (sorted) before those of its local
    module calls (`module.<name>.<type>.<name>`); `count`/`for_each` resources are marked as such."""
    here = module_dir.resolve()
    own: list[str] = []
    calls: list[tuple[str, Path]] = []
    for path in tfroots.tf_files(module_dir):
        data = tfroots.load_hcl(path)
        for entry in data.get("resource", []) or []:
            for kind, named in entry.items() if isinstance(entry, dict) else []:
                for name, raw in named.items() if isinstance(named, dict) else []:
                    body = raw if isinstance(raw, dict) else {}
                    repeat = " (count)" if "count" in body else " (for_each)" if "for_each" in body else ""
                    own.append(f"{prefix}{kind}.{name}{repeat}")
        for name, body in tfroots.blocks(data, "module"):
            source = body.get("source")
            if isinstance(source, str) and tfroots.is_local_source(source):
                calls.append((name, (module_dir / source).resolve()))
    addresses = sorted(own)
    for name, target in sorted(calls):
        if target not in seen and target != here and target.is_dir():
            addresses += resource_addresses(target, f"{prefix}module.{name}.", seen | {here})
    return addresses


def example_files(module_dir: Path) -> list[tuple[Path, list[Path]]]:
    """(example dir, its .tf files with main.tf first) for each example of the module."""
    found = []
    for example in sorted(tfroots.example_dirs(module_dir), key=lambda d: (d.name != "minimal", d.name)):
        files = tfroots.tf_files(example)
        found.append((example, sorted(files, key=lambda f: (f.name != "main.tf", f.name))))
    return found


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _code(text: str) -> str:
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{_cell(text)}{pad}{fence}"


def shared_note(module_dir: Path) -> list[str]:
    """A paragraph naming the files of shared inputs module_dir holds and where their source is."""
    present = [shared.file for shared in worker_settings.SHARED if (module_dir / shared.file).is_file()]
    if not present:
        return []
    names = " and ".join(f"`{name}`" for name in present)
    if module_dir.name == worker_settings.WORKER:
        text = (
            f"{names} are the source of the inputs shared with the platform modules: `make docs` copies each "
            "into every module carrying it, and its validations are tested once, in tests/ beside it."
        )
    else:
        text = (
            f"The inputs from {names} are shared: each file is a copy of the one in modules/{worker_settings.WORKER} "
            "that `make docs` writes (edit the source there), and its validations are tested there once."
        )
    return [text, ""]


def render(module_dir: Path) -> str:
    """The Markdown between (and including) the markers for one module."""
    inputs, outputs = collect(module_dir)
    lines = [BEGIN_MARKER, "## Requirements", ""]
    needs = requirements(module_dir)
    if needs:
        lines += ["| Name | Version |", "|------|---------|"]
        lines += [f"| {_cell(name)} | {_code(version)} |" for name, version in needs]
    else:
        lines.append("No requirements.")
    examples = example_files(module_dir)
    if examples:
        lines += ["", "## Examples", ""]
        checked_by = (
            "`make azurerm-check` and `make checkov` check (the azurerm provider cannot be installed offline, "
            "so `make validate` skips it)"
            if tfroots.Classifier().provider_chain(module_dir, tfroots.AZURE_PROVIDER) is not None
            else "`make validate` and `make tf-test` run (tests/ beside it)"
        )
        lines.append(
            f"Each example is a root that {checked_by}. Like its "
            "module it commits no `.terraform.lock.hcl`: a root that copies it pins providers in its own. From "
            "another repository, source the modules from git instead of `../..`."
        )
        for example, files in examples:
            lines += ["", f"### {example.name}"]
            for path in files:
                relative = path.relative_to(module_dir).as_posix()
                body = path.read_text(encoding="utf-8").rstrip("\n")
                lines += ["", f"`{relative}`:", "", "```hcl", body, "```"]
    lines += ["", "## Inputs", ""]
    lines += shared_note(module_dir)
    if inputs:
        lines += [
            "| Name | Description | Type | Default | Required |",
            "|------|-------------|------|---------|:--------:|",
        ]
        for item in inputs:
            lines.append(
                f"| {_code(item.name)} | {_cell(item.description)} | {_code(item.type)} | "
                f"{item.default if item.required else _code(item.default)} | "
                f"{'yes' if item.required else 'no'} |"
            )
    else:
        lines.append("No inputs.")
    lines += ["", "## Outputs", ""]
    if outputs:
        lines += ["| Name | Description |", "|------|-------------|"]
        lines += [f"| {_code(item.name)} | {_cell(item.description)} |" for item in outputs]
    else:
        lines.append("No outputs.")
    lines += ["", "## Resources", ""]
    addresses = resource_addresses(module_dir)
    if addresses:
        for address in addresses:
            name, _, repeat = address.partition(" ")
            lines.append(f"- `{name}` {repeat}" if repeat else f"- `{name}`")
    else:
        lines.append("No resources.")
    lines.append(END_MARKER)
    return "\n".join(lines) + "\n"


def _marker_span(text: str, readme: Path) -> tuple[int, int] | None:
    """(start, end) offsets of the marked section including the END marker line, None when absent."""
    begins = [m.start() for m in re.finditer(re.escape(BEGIN_MARKER), text)]
    ends = [m.start() for m in re.finditer(re.escape(END_MARKER), text)]
    if not begins and not ends:
        return None
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        raise DocsError(
            f"{readme}: expected exactly one {BEGIN_MARKER} followed by one {END_MARKER} "
            f"(found {len(begins)} and {len(ends)})"
        )
    end = ends[0] + len(END_MARKER)
    if text.startswith("\n", end):
        end += 1
    return begins[0], end


def current_section(readme: Path) -> str | None:
    """The marked section of an existing README (normalised like render()), or None."""
    if not readme.is_file():
        return None
    text = readme.read_text(encoding="utf-8")
    span = _marker_span(text, readme)
    if span is None:
        return None
    section = text[span[0] : span[1]]
    return section if section.endswith("\n") else section + "\n"


def _blank_line_after(text: str) -> str:
    """What to append to text so that one blank line separates it from what follows."""
    if not text or text.endswith("\n\n"):
        return ""
    return "\n" if text.endswith("\n") else "\n\n"


def updated_readme(module_dir: Path) -> str:
    """The README text with a fresh section (markers appended at the end when absent)."""
    readme = module_dir / README
    section = render(module_dir)
    if not readme.is_file():
        return f"# {module_dir.name}\n\n{section}"
    text = readme.read_text(encoding="utf-8")
    span = _marker_span(text, readme)
    if span is None:
        return f"{text}{_blank_line_after(text)}{section}"
    return text[: span[0]] + section + text[span[1] :]


def stale_reason(module_dir: Path) -> str | None:
    """Why the module's README tables are out of date, or None when they match the code."""
    readme = module_dir / README
    if not readme.is_file():
        return f"{README} is missing"
    section = current_section(readme)
    if section is None:
        return f"{README} has no {BEGIN_MARKER} / {END_MARKER} section"
    if section != render(module_dir):
        return f"{README} generated section (requirements, examples, inputs, outputs, resources) is stale: run `make docs`"
    return None


def default_dirs(repo: Path) -> list[Path]:
    return [d for d in tfroots.module_dirs(repo) if tfroots.tf_files(d)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="rewrite the marked section of each README.md")
    mode.add_argument("--check", action="store_true", help="exit 1 when a README section is stale")
    parser.add_argument("--root", type=Path, default=tfroots.REPO_ROOT, help="repository root")
    parser.add_argument("dirs", nargs="*", type=Path, help="module directories (default: modules/*)")
    args = parser.parse_args(argv)

    dirs: list[Path] = args.dirs or default_dirs(args.root)
    for directory in dirs:
        if not directory.is_dir():
            parser.error(f"not a directory: {directory}")
    if not dirs:
        print("tfdocs: no modules found")
        return 0

    problems = 0
    for directory in dirs:
        name = tfroots.display(directory, args.root)
        carried = [
            shared
            for shared in worker_settings.SHARED
            if directory.resolve() in {d.resolve() for d in worker_settings.carriers(args.root, shared)}
        ]
        try:
            if args.write:
                for shared in carried:
                    if worker_settings.write_copy(directory, args.root, shared):
                        print(f"tfdocs: updated {name}/{shared.file}")
                readme = directory / README
                new_text = updated_readme(directory)
                old_text = readme.read_text(encoding="utf-8") if readme.is_file() else None
                if new_text != old_text:
                    readme.write_text(new_text, encoding="utf-8")
                    print(f"tfdocs: updated {name}/{README}")
                else:
                    print(f"tfdocs: {name}/{README} up to date")
            elif args.check:
                for shared in carried:
                    copy_reason = worker_settings.copy_reason(directory, args.root, shared)
                    if copy_reason is not None:
                        print(f"{name}: {copy_reason}")
                        problems += 1
                reason = stale_reason(directory)
                if reason is not None:
                    print(f"{name}/{README}: {reason}")
                    problems += 1
            else:
                print(f"# {name}\n{render(directory)}")
        except (tfroots.HclError, DocsError) as exc:
            print(f"tfdocs: {exc}", file=sys.stderr)
            problems += 1
    if args.check and problems == 0:
        print(f"tfdocs: {len(dirs)} README(s) up to date")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
