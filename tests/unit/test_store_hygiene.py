"""The store and registries are engine code: importing them loads no front-end library and no pandas."""

import subprocess
import sys

MODULES = [
    "core.store",
    "core.store.store",
    "core.store.files",
    "core.store.schema",
    "core.tasks.versions",
    "core.environments.versions",
    "core.jobs",
]


def test_store_and_registry_import_no_front_end_library_or_pandas():
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in MODULES)
        + "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'typer', 'pandas'))\n"
        + "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
