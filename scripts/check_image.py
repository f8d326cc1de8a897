"""Check, without Docker, that the image installs requirements.txt and runs only what exists.

    python3 scripts/check_image.py

No Docker engine runs in CI, so the image is never built there. Read from the files instead:
- the Dockerfile's `pip install -r` installs requirements.txt (what check_runtime_imports.py
  and the `make run` smoke prove enough), and nothing else is installed with pip;
- its CMD and HEALTHCHECK, and the command and healthcheck of every compose service built from
  it, name only what is there: a program that requirements.txt installs (celery, granian) or
  python; a module path that exists (config.wsgi:application, -A config.celery_app); a
  manage.py command that exists (Django's or the project's); a script under /app that exists;
  Celery queues that config/settings.py declares by default.
compose.yaml's commands must be written as JSON-style lists (["celery", "-A", ...]) to be read.
Standard library only.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP_DIR = "/app"  # The Dockerfile's WORKDIR, where the code is copied.
PROGRAMS = {"celery": "celery", "granian": "granian", "python": None}  # program -> its requirement


class Problems(list):
    def add(self, where: str, message: str) -> None:
        self.append(f"{where}: {message}")


# --- what exists --------------------------------------------------------------------------------


def requirement_names() -> set[str]:
    names = set()
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if m := re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)", line.split("#", 1)[0]):
            names.add(m.group(1).lower())
    return names


def module_file(dotted: str) -> Path | None:
    base = ROOT.joinpath(*dotted.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def defines(path: Path, name: str) -> bool:
    tree = ast.parse(path.read_text())
    return any(
        isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets) for node in tree.body
    )


def manage_commands() -> set[str]:
    """The project's management commands, and Django's own (found without importing Django)."""
    roots = [ROOT]
    spec = importlib.util.find_spec("django")
    if spec and spec.origin:
        roots.append(Path(spec.origin).parent)
    else:  # Run by a python without Django: look in the checkout's virtualenv.
        roots += ROOT.glob(".venv/lib/python*/site-packages/django")
    return {
        path.stem
        for root in roots
        for path in root.glob("**/management/commands/*.py")
        if not path.stem.startswith("_")
    }


def default_queues() -> set[str]:
    """CELERY_QUEUE's and CELERY_MAINTENANCE_QUEUE's defaults, as config/settings.py writes them."""
    values: dict[str, str] = {}

    def literal(node) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.JoinedStr):  # f"{CELERY_TASK_DEFAULT_QUEUE}-maintenance"
            parts = [
                literal(v) if isinstance(v, ast.Constant) else values.get(getattr(v.value, "id", ""))
                for v in node.values
            ]
            return None if None in parts else "".join(parts)
        return None

    for node in ast.parse((ROOT / "config/settings.py").read_text()).body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and getattr(node.value.func, "id", "") == "env_str"
        ):
            default = literal(node.value.args[1]) if len(node.value.args) > 1 else None
            if default is not None:
                values[node.targets[0].id] = default
    return {values.get("CELERY_TASK_DEFAULT_QUEUE"), values.get("MAINTENANCE_QUEUE")} - {None}


# --- one command ------------------------------------------------------------------------------


def as_argv(command: list[str]) -> list[str]:
    """The argv a command runs: through `sh -c` / CMD-SHELL, without a leading `exec`."""
    if command[:1] == ["CMD"]:
        command = command[1:]
    elif command[:1] == ["CMD-SHELL"]:
        command = shlex.split(command[1])
    elif command[:2] == ["sh", "-c"]:
        command = shlex.split(command[2])
    return command[1:] if command[:1] == ["exec"] else command


def option(argv: list[str], name: str) -> str | None:
    return next((value for arg, value in zip(argv, argv[1:]) if arg == name), None)


def check_command(where: str, command: list[str], facts: dict, problems: Problems) -> None:
    argv = as_argv(command)
    program = argv[0] if argv else ""
    if program not in PROGRAMS:
        return problems.add(where, f"runs {program!r}, which is neither python nor a program requirements.txt installs")
    if PROGRAMS[program] and PROGRAMS[program] not in facts["requirements"]:
        return problems.add(where, f"runs {program}, but requirements.txt does not install {PROGRAMS[program]}")
    if program == "python":
        check_python(where, argv, facts, problems)
    elif program == "granian":
        check_wsgi(where, argv[-1], problems)
    elif program == "celery":
        check_celery(where, argv, facts, problems)


def check_python(where: str, argv: list[str], facts: dict, problems: Problems) -> None:
    script = argv[1] if len(argv) > 1 else ""
    path = ROOT / script.removeprefix(APP_DIR + "/")
    if not path.is_file():
        return problems.add(where, f"runs {script}, which does not exist")
    if path.name == "manage.py" and (len(argv) < 3 or argv[2] not in facts["commands"]):
        problems.add(where, f"runs manage.py {argv[2:3]}, which is no management command")
    if path.name == "healthcheck.py" and (len(argv) < 3 or f'"{argv[2]}"' not in path.read_text()):
        problems.add(where, f"asks healthcheck.py for {argv[2:3]}, which it does not check")


def check_wsgi(where: str, target: str, problems: Problems) -> None:
    module, _, name = target.partition(":")
    path = module_file(module)
    if path is None or not defines(path, name or "application"):
        problems.add(where, f"serves {target}, which does not exist")


def check_celery(where: str, argv: list[str], facts: dict, problems: Problems) -> None:
    app = option(argv, "-A") or ""
    if module_file(app) is None:
        problems.add(where, f"runs the Celery app {app!r}, which is no module here")
    for queue in filter(None, (option(argv, "-Q") or "").split(",")):
        if queue not in facts["queues"]:
            problems.add(where, f"consumes queue {queue!r}; config/settings.py declares {sorted(facts['queues'])}")


# --- the two files ------------------------------------------------------------------------------


def dockerfile_commands(problems: Problems) -> list[tuple[str, list[str]]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    copies = dict((dest, src) for src, dest in re.findall(r"^COPY\s+(?!--)(\S+)\s+(\S+)\s*$", text, re.M))
    installs = re.findall(r"^RUN\s+.*\bpip install\b(.*)$", text, re.M)
    files = [copies.get(f, f) for line in installs for f in re.findall(r"-r\s+(\S+)", line)]
    if files != ["requirements.txt"]:
        problems.add(
            "Dockerfile", f"pip installs {files or 'no requirements file'}; it must install requirements.txt alone"
        )
    commands = [("Dockerfile CMD", json.loads(m)) for m in re.findall(r"^CMD\s+(\[.*\])\s*$", text, re.M)]
    commands += [
        ("Dockerfile HEALTHCHECK", json.loads(m))
        for m in re.findall(r"^HEALTHCHECK\s.*?\bCMD\s+(\[.*\])\s*$", text, re.M)
    ]
    if not any(where == "Dockerfile CMD" for where, _ in commands):
        problems.add("Dockerfile", "no CMD written as a JSON list")
    return commands


def compose_commands(problems: Problems) -> list[tuple[str, list[str]]]:
    """(service, command) of the image's services: those that merge the x-app anchor (<<: *app)."""
    commands, service, in_services, ours = [], None, False, {}
    for line in (ROOT / "compose.yaml").read_text().splitlines():
        if re.match(r"^\S", line):
            in_services = line.startswith("services:")
        elif in_services and (m := re.match(r"^  ([\w-]+):\s*$", line)):
            service = m.group(1)
        elif in_services and service and re.match(r"^\s+<<:\s*\*app\s*$", line):
            ours[service] = True
        elif in_services and service and (m := re.match(r"^\s+(command|test):\s*(.*)$", line)):
            try:
                commands.append((service, f"compose {service} {m.group(1)}", json.loads(m.group(2))))
            except json.JSONDecodeError:
                problems.add(f"compose {service}", f"cannot read {m.group(1)} {m.group(2)!r}: write it as a JSON list")
    return [(where, command) for service, where, command in commands if ours.get(service)]


def main() -> int:
    problems = Problems()
    facts = {"requirements": requirement_names(), "commands": manage_commands(), "queues": default_queues()}
    commands = dockerfile_commands(problems) + compose_commands(problems)
    for where, command in commands:
        check_command(where, command, facts, problems)
    if problems:
        print("image check: FAILED", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    print(
        f"image check: ok: the Dockerfile installs requirements.txt; {len(commands)} commands of the image "
        "and its compose services name what exists"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
