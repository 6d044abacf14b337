#!/usr/bin/env python3
"""Third-party licence notices and the SBOM for a release archive: every crate linked
into the binary for one target (no build-only or dev-only crate), with its licence
expression and the licence and notice files it ships, as cargo fetched them; and the
same list as a CycloneDX 1.5 SBOM (purl, licence, and the crate's SHA-256 from
Cargo.lock).

    install/notices.py [--manifest-path Cargo.toml] [--target TRIPLE] [--sbom FILE] > THIRD-PARTY-LICENSES.txt

Both come from `cargo metadata` for the target (with the RUSTFLAGS of the build, so
cfg(target_feature) dependencies count as they do in the binary). The SBOM is written
here rather than by cargo-cyclonedx, whose build would add minutes to every fresh CI run.

A crate that ships no licence file gets the standard text of its licence (MIT only,
with its authors as the copyright holders); any other such crate fails the run
(exit 1), since its notice would be incomplete: someone must add the text here.
"""
import argparse
import json
import os
import subprocess
import sys
import uuid

MIT_TEXT = """Copyright (c) {holders}

Permission is hereby granted, free of charge, to any person obtaining a copy of this
software and associated documentation files (the "Software"), to deal in the Software
without restriction, including without limitation the rights to use, copy, modify,
merge, publish, distribute, sublicense, and/or sell copies of the Software, and to
permit persons to whom the Software is furnished to do so, subject to the following
conditions:

The above copyright notice and this permission notice shall be included in all copies
or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED,
INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A
PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT
HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF
CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE
OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
"""

LICENSE_PREFIXES = ("license", "licence", "copying", "notice", "copyright", "unlicense")


def linked_packages(manifest, target):
    """The root package and the packages the binary links for `target`: normal
    dependencies only."""
    cmd = ["cargo", "metadata", "--format-version", "1", "--locked", "--manifest-path", manifest]
    if target:
        cmd += ["--filter-platform", target]
    meta = json.loads(subprocess.check_output(cmd))
    packages = {p["id"]: p for p in meta["packages"]}
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    root = meta["resolve"]["root"]
    seen, todo = set(), [root]
    while todo:
        node = nodes[todo.pop()]
        for dep in node["deps"]:
            if any(k["kind"] is None for k in dep["dep_kinds"]) and dep["pkg"] not in seen:
                seen.add(dep["pkg"])
                todo.append(dep["pkg"])
    linked = sorted((packages[i] for i in seen), key=lambda p: (p["name"], p["version"]))
    return packages[root], linked


def lock_checksums(manifest):
    """name@version → the SHA-256 Cargo.lock records for a crates.io package."""
    path = os.path.join(os.path.dirname(os.path.abspath(manifest)), "Cargo.lock")
    sums, name, version = {}, None, None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line == "[[package]]":
                name = version = None
            elif line.startswith('name = "'):
                name = line.split('"')[1]
            elif line.startswith('version = "'):
                version = line.split('"')[1]
            elif line.startswith("checksum = ") and name and version:
                sums[f"{name}@{version}"] = line.split('"')[1]
    return sums


def sbom(root, linked, checksums, target):
    """A CycloneDX 1.5 JSON document for the binary and what it links."""
    def component(p, kind):
        c = {
            "type": kind,
            "bom-ref": f"pkg:cargo/{p['name']}@{p['version']}",
            "name": p["name"],
            "version": p["version"],
            "purl": f"pkg:cargo/{p['name']}@{p['version']}",
        }
        if p.get("license"):
            c["licenses"] = [{"expression": p["license"]}]
        if p.get("description"):
            c["description"] = " ".join(p["description"].split())
        digest = checksums.get(f"{p['name']}@{p['version']}")
        if digest:
            c["hashes"] = [{"alg": "SHA-256", "content": digest}]
        if p.get("repository"):
            c["externalReferences"] = [{"type": "vcs", "url": p["repository"]}]
        return c

    main = component(root, "application")
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": {
            "component": main,
            "properties": [{"name": "cdx:rustc:target", "value": target or "host"}],
        },
        "components": [component(p, "library") for p in linked],
        "dependencies": [
            {"ref": main["bom-ref"], "dependsOn": [f"pkg:cargo/{p['name']}@{p['version']}" for p in linked]}
        ],
    }


def licence_files(package):
    folder = os.path.dirname(package["manifest_path"])
    found = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if name.lower().startswith(LICENSE_PREFIXES) and os.path.isfile(path):
            found.append(path)
    if package.get("license_file"):
        path = os.path.join(folder, package["license_file"])
        if os.path.isfile(path) and path not in found:
            found.append(path)
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest-path", default="Cargo.toml")
    parser.add_argument("--target")
    parser.add_argument("--sbom", help="also write the CycloneDX SBOM to this file")
    args = parser.parse_args()
    root, packages = linked_packages(args.manifest_path, args.target)
    if args.sbom:
        with open(args.sbom, "w", encoding="utf-8") as f:
            json.dump(sbom(root, packages, lock_checksums(args.manifest_path), args.target), f, indent=1)
            f.write("\n")
    out = sys.stdout
    out.write("Third-party software in docker-credential-ecr-role\n")
    out.write(f"{len(packages)} crates are linked into this binary; their licences follow.\n\n")
    missing = []
    for package in packages:
        files = licence_files(package)
        standard = None
        if not files and package.get("license") == "MIT":
            holders = ", ".join(package.get("authors") or []) or f"the {package['name']} authors"
            standard = MIT_TEXT.format(holders=holders)
        elif not files:
            missing.append(f"{package['name']} {package['version']}")
        out.write("=" * 78 + "\n")
        out.write(f"{package['name']} {package['version']}\n")
        out.write(f"License: {package.get('license') or 'see below'}\n")
        if package.get("repository"):
            out.write(f"Source: {package['repository']}\n")
        for path in files:
            out.write("-" * 78 + "\n")
            out.write(f"{os.path.basename(path)}:\n\n")
            with open(path, encoding="utf-8", errors="replace") as f:
                out.write(f.read().rstrip() + "\n")
        if standard:
            out.write("-" * 78 + "\n")
            out.write("The crate ships no licence file; the standard MIT text:\n\n" + standard)
        out.write("\n")
    if missing:
        print("notices.py: no licence file shipped by: " + ", ".join(missing), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
