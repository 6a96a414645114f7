#!/bin/sh
# Print a Python >= 3.12 interpreter for the venv, or explain on stderr and fail.
for c in python3 python3.12 python3.13 python3.14 "$HOME"/.pyenv/versions/3.1[2-9]*/bin/python3; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
        command -v "$c"; exit 0
    fi
done
echo "pdemet needs Python >= 3.12 (the DOLFINx wheel requires it) and none was found: install one (e.g. 'pyenv install 3.12') and retry." >&2
exit 1
