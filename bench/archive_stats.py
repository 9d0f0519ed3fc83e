#!/usr/bin/env python3
"""Shape of a `docker save` archive: layer count, tar entries, content bytes.

Usage: archive_stats.py ARCHIVE  -> prints one JSON object
(independent of layerlens, so the bench can show what it fed the tools).
"""
import json
import sys
import tarfile


def main(path):
    with tarfile.open(path, "r:") as outer:
        manifest = json.load(outer.extractfile("manifest.json"))
        layers = manifest[0]["Layers"]
        entries = files = whiteouts = 0
        content = 0
        per_layer = []
        for name in layers:
            n = 0
            with tarfile.open(fileobj=outer.extractfile(name), mode="r|") as inner:
                for m in inner:
                    n += 1
                    base = m.name.rsplit("/", 1)[-1]
                    if base.startswith(".wh."):
                        whiteouts += 1
                    elif m.isreg():
                        files += 1
                        content += m.size
            entries += n
            per_layer.append(n)
    json.dump(
        {
            "layers": len(layers),
            "entries": entries,
            "regular_files": files,
            "whiteouts": whiteouts,
            "content_bytes": content,
            "entries_per_layer": per_layer,
        },
        sys.stdout,
    )
    print()


if __name__ == "__main__":
    main(sys.argv[1])
