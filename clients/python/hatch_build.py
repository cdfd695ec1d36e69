"""Build hook: ships the repository's one copy of the generated code (generated/finance).

The wheel gets it as the top-level `finance` package, marked typed (its .pyi stubs are what
a type checker reads), and the sdist as `generated/finance`, so a wheel built from the sdist
finds it there. Editable installs get nothing: dev-mode-dirs puts generated/ itself on the
path, and a copy would hide regenerated code.
"""

import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class GeneratedCodeHook(BuildHookInterface):  # type: ignore[type-arg]
    """Force-includes generated/finance in standard wheels and sdists."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Add the generated package to the build unless it is an editable wheel."""
        if version == "editable":
            return
        root = Path(self.root)
        candidates = (root / "generated" / "finance", root.parent.parent / "generated" / "finance")
        source = next((path for path in candidates if path.is_dir()), None)
        if source is None:
            raise FileNotFoundError(f"no generated code in any of {[str(c) for c in candidates]}")
        if self.target_name != "wheel":
            build_data["force_include"][str(source)] = "generated/finance"
            return
        build_data["force_include"][str(source)] = "finance"
        # PEP 561 marks the subpackage of a namespace package as typed. generated/ has no
        # py.typed (buf regenerates the directory from scratch), so the wheel gets a new one.
        self._marker_dir = tempfile.TemporaryDirectory(prefix="finance-tracker-client-")
        marker = Path(self._marker_dir.name) / "py.typed"
        marker.touch()
        build_data["force_include"][str(marker)] = "finance/v1/py.typed"

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        """Remove the py.typed made for the wheel."""
        marker_dir = getattr(self, "_marker_dir", None)
        if marker_dir is not None:
            marker_dir.cleanup()
