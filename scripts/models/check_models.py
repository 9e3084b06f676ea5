#!/usr/bin/env python3
"""Exits 0 when DIR/manifest.json exists in the current format and every model file and kernel program in it matches its SHA-256."""

import hashlib
import json
import os
import sys


def main():
    directory = sys.argv[1]
    try:
        with open(os.path.join(directory, "manifest.json")) as f:
            manifest = json.load(f)
        from manifest_format import MANIFEST_FORMAT
        if manifest.get("format") != MANIFEST_FORMAT:
            print(f"manifest format {manifest.get('format')} is older than {MANIFEST_FORMAT}", file=sys.stderr)
            return 1
        files = [(m["file"], m["sha256"]) for m in manifest["models"]]
        files += [(m["kernel"]["file"], m["kernel"]["sha256"]) for m in manifest["models"] if "kernel" in m]
        for name, pin in files:
            with open(os.path.join(directory, name), "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            if digest != pin:
                print(f"{name}: SHA-256 {digest} differs from the manifest", file=sys.stderr)
                return 1
    except (OSError, ValueError, KeyError) as error:
        print(f"models not ready: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
